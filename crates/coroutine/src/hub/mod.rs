//! The hub: gevent on stackful coroutines — a per-thread scheduler of green tasks with a
//! ready queue, timers and an IO poller, cooperative sockets, green synchronisation, a
//! bounded pool and a blocking detector.
//!
//! # Entering the hub
//!
//! Every thread has its own hub, created on first use; it runs on the thread's own
//! stack. [`spawn`] only queues a task. The tasks run when the thread's ordinary code
//! (the *main context*, gevent's main greenlet) makes a blocking hub call —
//! [`JoinHandle::join`], [`joinall`], [`sleep`], [`Queue::get`], [`TcpStream`] IO, … —
//! which runs the hub until that call can return, exactly as `g1.join()` does in gevent.
//! [`run`] is the other door: `hub::run(|| …)` runs a closure as a task and returns its
//! result; [`wait`] runs the hub until every task has finished.
//!
//! Tasks that are still ready when the main context's call returns wait until it blocks
//! again; tasks still parked when the thread exits are abandoned (not unwound), as
//! gevent's are at interpreter exit.
//!
//! # Green tasks are pinned to their thread
//!
//! A task runs only on the thread that spawned it; its [`JoinHandle`], the sockets and
//! the synchronisation types are `!Send`, so the compiler stops them from crossing
//! threads (thread-locals seen by a task stay its thread's: the flaw of may#6 cannot
//! happen). To talk to other threads, use a thread-safe channel and a non-blocking poll
//! (`try_recv` + [`sleep`]).
//!
//! ```compile_fail
//! // A task handle cannot go to another thread:
//! let task = skein_coroutine::hub::spawn(|| 1);
//! std::thread::spawn(move || task.join());
//! ```
//!
//! ```compile_fail
//! // Nor can a green queue:
//! let q: skein_coroutine::hub::Queue<u8> = skein_coroutine::hub::Queue::new();
//! std::thread::spawn(move || q.put(1));
//! ```
//!
//! # What blocks the hub
//!
//! Rust cannot monkey-patch std, so a green task blocks its whole thread — every other
//! task of the hub — whenever it calls something that blocks the OS thread:
//! `std::thread::sleep`, `std::net`/`std::fs`/`std::io::stdin` reads and writes,
//! `std::sync::Mutex::lock`/`Condvar::wait`/`mpsc::Receiver::recv`/`Barrier::wait` on a
//! busy primitive, `std::process::Command::output`, `JoinHandle::join` of a thread, DNS
//! lookups (`ToSocketAddrs` with a name), and long computations without a yield. Use
//! this module instead: [`sleep`], [`TcpListener`]/[`TcpStream`], [`Queue`], [`Event`],
//! [`Lock`], [`Semaphore`]; yield with `sleep(Duration::ZERO)` inside long loops; and send
//! blocking work to a thread pool, polling its result with `try_recv` + `sleep`.
//! The [blocking detector](set_blocking_threshold) names the task that does it anyway.
//!
//! # Killing and timeouts
//!
//! [`JoinHandle::kill`] and [`with_timeout`] interrupt a task at its next hub call: the
//! call unwinds (like gevent's `GreenletExit` and `Timeout` exceptions), running the
//! task's destructors. A `catch_unwind` in a task will see that unwinding; let it
//! continue with `resume_unwind`.

pub(crate) mod core;
mod detector;
mod error;
mod io;
mod net;
mod pool;
mod stack;
mod sync;
mod task;
mod timeout;
mod timer;

pub use detector::{
    BacktraceOrigin, BlockingPhase, BlockingReport, DEFAULT_THRESHOLD, blocking_threshold,
    set_blocking_reporter, set_blocking_threshold,
};
pub use error::{JoinError, SpawnError, Timeout};
pub use net::{TcpListener, TcpStream};
pub use pool::Pool;
pub use sync::{
    Event, Lock, LockGuard, PutTimeoutError, Queue, ReleaseError, Semaphore, SemaphoreGuard,
    TryPutError,
};
pub use task::{
    Builder, JoinHandle, TaskRef, getcurrent, joinall, joinall_timeout, killall, live_tasks, run,
    sleep, spawn, spawn_later, wait,
};
pub use timeout::with_timeout;
