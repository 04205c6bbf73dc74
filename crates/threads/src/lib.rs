//! Chapter 1 — threads: Python's `threading` thread surface for Rust.
//!
//! The chapter teaches what a thread is and how to drive one: start a function on its own
//! thread and wait for it (`start`/`join`), pass it arguments, name it and find it again
//! (`current_thread`, `enumerate`), write a thread as a type with a `run` method (and see
//! why calling `run` yourself is not concurrency), decide what happens to threads when
//! `main` ends (daemon or not), run something later (`Timer`), keep a value per thread
//! (`local()`), and learn what happens when a thread fails (`excepthook`).
//!
//! ```
//! use std::sync::mpsc;
//! use skein_threads::{Builder, current_thread, enumerate};
//!
//! // t = threading.Thread(target=loop, name="LoopThread"); t.start(); t.join()
//! let (go, wait) = mpsc::channel::<()>();
//! let t = Builder::new()
//!     .name("LoopThread")
//!     .spawn(move || {
//!         wait.recv().unwrap();
//!         for n in 1..=3 {
//!             println!("thread {} >>> {n}", current_thread().name());
//!         }
//!         "done"
//!     })
//!     .unwrap();
//! // threading.enumerate() lists it while it runs…
//! let thread = t.thread().clone();
//! assert!(enumerate().contains(&thread));
//! assert_eq!(thread.name(), "LoopThread");
//! go.send(()).unwrap();
//! assert_eq!(t.join().unwrap(), "done");
//! // …and not once it has been joined.
//! assert!(!enumerate().contains(&thread));
//! ```
//!
//! # Python → skein
//!
//! | Python (`threading`) | skein |
//! |---|---|
//! | `Thread(target=f, args=(a, b), kwargs={"k": v})` | [`Builder::new()`](Builder::new)`.spawn(move \|\| f(a, b, v))` — the closure carries the arguments |
//! | `Thread(name="n")`, `Thread(daemon=True)` | [`Builder::name`], [`Builder::daemon`] |
//! | `t.start()` | [`Builder::spawn`] (configure, then start) or [`spawn`] → [`JoinHandle`] |
//! | `t.run()` (called directly) | [`Run::run`] — an ordinary call on the caller's thread |
//! | `class T(Thread): def run(self)` + `T().start()` | `impl` [`Run`] `for T` + [`Run::start`] / [`Builder::start`]; `join` gives the object back |
//! | `t.join()` | [`JoinHandle::join`] (returns the value, or the panic as [`JoinError`]) · [`Thread::join`] |
//! | `t.join(timeout)` then `t.is_alive()` | [`JoinHandle::join_timeout`] (the handle comes back in [`JoinTimeoutError::Timeout`]) · [`Thread::join_timeout`] ([`JoinError::is_timeout`]) · `_deadline` variants |
//! | `t.join()` from `t` itself → `RuntimeError` | [`JoinError::is_current_thread`] — an error, never a deadlock |
//! | joining a `_DummyThread` → `RuntimeError("cannot join a dummy thread")` | [`JoinError::is_not_joinable`] — immediate, for a thread started outside skein |
//! | `t.is_alive()` / `t.isAlive()` | [`Thread::is_alive`] · [`JoinHandle::is_alive`] |
//! | `t.name`, `t.getName()` | [`Thread::name`] |
//! | `t.name = "x"`, `t.setName("x")` | [`Thread::set_name`] (before start: [`Builder::name`]) |
//! | `t.ident` | [`Thread::ident`] |
//! | `t.native_id` | [`Thread::native_id`] |
//! | `t.daemon`, `t.isDaemon()` | [`Thread::is_daemon`] |
//! | `t.daemon = True`, `t.setDaemon(True)` (before start) | [`Builder::daemon`] |
//! | interpreter exit waits for non-daemon threads | [`ExitGuard`] / [`run_main`] / [`join_non_daemon`] (`_timeout`, `_deadline`) |
//! | `threading._after_fork` (run by `os.fork()` in the child), `os.register_at_fork` | [`before_fork`] → [`ForkGuard::after_in_child`] / [`ForkGuard::after_in_parent`] (skein-process calls them around its forks) |
//! | `threading.current_thread()` / `currentThread()` | [`current_thread`] |
//! | `threading.main_thread()` | [`main_thread`] (named `MainThread`) |
//! | `threading.enumerate()` | [`enumerate`] |
//! | `threading.active_count()` / `activeCount()` | [`active_count`] |
//! | `threading.get_ident()` | [`get_ident`] |
//! | `threading.get_native_id()` | [`get_native_id`] |
//! | `repr(t)` → `<Thread(name, started 123)>` | `Display` for [`Thread`] |
//! | `threading.Timer(interval, f)` + `start()` | [`Timer::start`] · [`Builder::spawn_timer`] |
//! | `timer.cancel()` | [`Timer::cancel`] (true ⇒ `f` never runs) |
//! | `threading.local()`; `local.x = v`; `local.x`; `del local.x` | [`Local::new`]; [`Local::set`]; [`Local::get`] / [`Local::with`] / [`Local::with_mut`]; [`Local::take`] |
//! | `class L(threading.local): def __init__` | [`Local::with_init`] |
//! | `threading.excepthook = hook` | [`set_excepthook`] |
//! | `threading.__excepthook__` | [`default_excepthook`], [`reset_excepthook`] |
//! | `threading.ExceptHookArgs` (`thread`, `exc_value`) | [`ExceptHookArgs`] ([`thread`](ExceptHookArgs::thread), [`payload`](ExceptHookArgs::payload), [`message`](ExceptHookArgs::message)) |
//! | `threading.stack_size()` / `stack_size(n)` | [`stack_size`] / [`set_stack_size`]; per thread [`Builder::stack_size`] |
//! | `RuntimeError("can't start new thread")` | [`SpawnError`] |
//! | `ValueError` from `stack_size(n)` | [`StackSizeError`]; [`SpawnError::is_invalid_stack_size`] |
//!
//! # Threads and the registry
//!
//! Every thread started through skein is *registered*: [`enumerate`] lists it, with its
//! name, from the moment `spawn` returns until its closure returns or panics, and
//! [`active_count`] is always `enumerate().len()`. A thread leaves the registry before
//! anyone waiting in `join` wakes up, so after `join` it is never listed — also when it
//! panicked. The main thread is listed as `MainThread` (ident 1). A thread skein did not
//! start (`std::thread::spawn`, the test harness) is listed once it asks for its
//! [`current_thread`], as a daemon carrying its std name (Python's `_DummyThread`), and
//! leaves the list when it exits.
//!
//! # Exit: daemon and non-daemon threads
//!
//! Python waits for every non-daemon thread when the main thread is done, and abandons
//! daemon threads. **Rust does not wait for anything**: when `main` returns the process
//! exits and every other thread stops mid-step, daemon or not. skein keeps Rust's default
//! (it cannot change what returning from `main` does) and gives Python's rule as an
//! explicit choice:
//!
//! ```no_run
//! // at the top of `main`:
//! let _guard = skein_threads::ExitGuard::new(); // Python's exit rule from here on
//! skein_threads::Builder::new().daemon(false).spawn(|| { /* finishes */ }).unwrap();
//! skein_threads::Builder::new().daemon(true).spawn(|| loop { /* abandoned */ }).unwrap();
//! // end of `main`: the guard waits for the non-daemon thread; the daemon one dies
//! // with the process
//! ```
//!
//! A child process started by `skein-process` (any start method) follows Python's rule
//! by itself, as `multiprocessing`'s `Process._bootstrap` does: when its target returns
//! (or panics), it waits for the non-daemon threads the target started and left running,
//! and abandons the daemon ones.
//!
//! As in Python, a new thread inherits the daemon flag of the thread that creates it
//! unless [`Builder::daemon`] says otherwise; threads skein did not start count as daemons.
//!
//! # Threads and `fork`
//!
//! `fork` copies only the thread that calls it. Around a fork, [`before_fork`] and its
//! [`ForkGuard`] do what CPython's `threading._after_fork` does: in the child, the
//! registry holds only the forking thread, which becomes the [`main_thread`]; the
//! parent's other threads are ended there (not alive, [`Thread::join`] returns at once,
//! so [`join_non_daemon`] does not wait for them); and no registry lock is left held by
//! a thread that did not cross the fork. `skein-process` calls them around every fork.
//!
//! # Panics in threads
//!
//! A panic that escapes a thread's closure is caught at the thread's edge, reported to the
//! excepthook with the thread's name (by default: `Exception in thread NAME:` on stderr,
//! after Rust's own panic message), and returned by [`JoinHandle::join`] as a
//! [`JoinError`] holding the payload. The thread leaves the registry either way.
//!
//! # Differences from Python
//!
//! - **No GIL**: threads run Rust code in parallel on every core, so CPU-bound work
//!   speeds up with threads (in CPython it does not). Data races are compile errors.
//! - **Configure, then start**: a Python `Thread` object exists before `start()`; here the
//!   [`Builder`] is the not-yet-started thread and [`Thread`] the started one. Daemon flag
//!   and stack size are fixed at start (Python also refuses to change `daemon` after
//!   `start()`); `ident`/`native_id` therefore always exist (never `None`).
//! - **Results**: `join` returns the closure's value, and a panic as an error; Python's
//!   `join` returns `None` and only the excepthook hears about the exception.
//! - **Exit**: see above — opt in with [`ExitGuard`]/[`run_main`].
//! - **Idents** are skein's own numbers (main = 1, then start order), never reused;
//!   [`Thread::native_id`] is the OS's id (Linux; `None` elsewhere).
//! - **`set_name`** renames the thread in skein; the OS name is fixed at start.
//! - **Default names** are `Thread-N` (also for an empty name, as in Python); Python adds
//!   the target function's name (`Thread-3 (func)`), which a Rust closure does not have.
//! - **Subclassing** is the [`Run`] trait; `start` consumes the object and `join` gives it
//!   back, since the object moves to the other thread.
//! - **`local()`** holds one typed value per [`Local`] rather than free attributes; use a
//!   struct for several fields. Values never cross threads, so `T` need not be `Send`.
//! - **Stack size** below 32 KiB is refused, as in Python.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod builder;
mod error;
mod excepthook;
mod exit;
mod fork;
mod handle;
mod local;
mod native;
mod registry;
mod run;
mod thread;
mod timer;

pub use crate::builder::{Builder, set_stack_size, spawn, stack_size};
pub use crate::error::{JoinError, JoinTimeoutError, MIN_STACK_SIZE, SpawnError, StackSizeError};
pub use crate::excepthook::{ExceptHookArgs, default_excepthook, reset_excepthook, set_excepthook};
pub use crate::exit::{
    ExitGuard, exit_waiters, join_non_daemon, join_non_daemon_deadline, join_non_daemon_timeout,
    run_main,
};
#[doc(hidden)]
pub use crate::fork::{__forks_waiting, __with_registry_locked};
pub use crate::fork::{ForkGuard, before_fork, before_fork_single_threaded};
pub use crate::handle::JoinHandle;
pub use crate::local::Local;
pub use crate::registry::{
    active_count, current_thread, enumerate, get_ident, get_native_id, main_thread,
};
pub use crate::run::Run;
pub use crate::thread::Thread;
pub use crate::timer::Timer;
