//! # skein-coroutine — chapter 6: generators, greenlets and the hub
//!
//! Python's generators (`yield`, `send`, `throw`, `close`), greenlet and gevent, rebuilt
//! in Rust as stackful coroutines. The chapter teaches the notes' last model of
//! concurrency: one thread, many tasks, each giving up the CPU at a point it chooses
//! (协程: "a function that can pause and resume"), so switching costs nanoseconds and
//! needs no lock.
//!
//! The crate is being built; its modules and the full `Python → skein` table arrive with
//! them.
//!
//! ## Unsafe boundary
//!
//! `#![deny(unsafe_code)]` holds everywhere but in `stack/` (memory mappings, guard
//! pages, the stack-overflow signal handler) and two files of the hub: `hub/core.rs`
//! (a running task suspends through a pointer to its corosensei `Yielder`) and
//! `hub/detector/signal.rs` (the blocking detector's `SIGURG` sampling handler).
//!
//! ## The hub (gevent)
//!
//! [`hub`] is gevent on these coroutines: a per-thread scheduler with a ready queue, a
//! timer heap and an epoll poller (mio), entered when the thread's ordinary code blocks
//! in a hub call (`join`, `sleep`, …) or through [`hub::run`]; cooperative
//! [`hub::TcpListener`]/[`hub::TcpStream`]; green [`hub::Queue`], [`hub::Event`],
//! [`hub::Lock`], [`hub::Semaphore`] and a bounded [`hub::Pool`]; and a blocking
//! detector, on by default in debug builds, that names a task holding the hub. See the
//! module docs for what blocks the hub and for the measured figures.
//!
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|
//! | `gevent.spawn(f, 5)` | [`hub::spawn`]`(move \|\| f(5))` → [`hub::JoinHandle`] |
//! | `Greenlet(run)` with a name | [`hub::Builder`]`::new().name("w").spawn(f)`; `try_spawn` reports the map-count cap at spawn |
//! | `gevent.spawn_later(s, f)` | [`hub::spawn_later`]`(dur, f)` |
//! | `gevent.sleep(0)` / `gevent.sleep(s)` | [`hub::sleep`]`(Duration::ZERO)` (yield) / `hub::sleep(dur)` |
//! | `g.join(); g.value` / `g.get()` | `h.join()` → `Result<T, `[`hub::JoinError`]`>` |
//! | `g.join(timeout)` | `h.wait_timeout(dur)` → `bool` |
//! | `g.dead` / `g.ready()` | `h.is_finished()` |
//! | `g.exception` (a failed greenlet) | `Err(JoinError::Panicked { .. })` — the panic stays in its task |
//! | `gevent.joinall(gs)` / `joinall(gs, timeout)` | [`hub::joinall`]`(&hs)` / [`hub::joinall_timeout`]`(&hs, dur)` → how many finished |
//! | `g.kill()` / `g.kill(block=False)` / `gevent.killall(gs)` | `h.kill()` / `h.kill_nowait()` / [`hub::killall`]`(&hs)` |
//! | `gevent.getcurrent()` | [`hub::getcurrent`]`()` → [`hub::TaskRef`] (`<Greenlet "task-1">`) |
//! | `with gevent.Timeout(s):` / `except gevent.Timeout` | [`hub::with_timeout`]`(dur, \|\| …)` → `Err(`[`hub::Timeout`]`)` |
//! | `gevent.wait()` | [`hub::wait`]`()` |
//! | `monkey.patch_all()` (cooperative `socket`) | [`hub::TcpListener`], [`hub::TcpStream`] (no patching: use them; the detector names what still blocks) |
//! | `sock.accept()` / `sock.settimeout(t)` | `listener.accept()` / `accept_timeout(dur)`; `stream.set_read_timeout(Some(dur))` |
//! | `gevent.queue.Queue()` / `Queue(maxsize)` | [`hub::Queue`]`::new()` / `Queue::bounded(n)` |
//! | `q.put(x)` / `q.put_nowait(x)` / `q.put(x, timeout=t)` | `q.put(x)` / `q.try_put(x)` / `q.put_timeout(x, dur)` (the item comes back on failure) |
//! | `q.get()` / `q.get_nowait()` / `q.get(timeout=t)` | `q.get()` / `q.try_get()` / `q.get_timeout(dur)` |
//! | `gevent.event.Event()`: `set`, `clear`, `is_set`, `wait(t)` | [`hub::Event`]: `set`, `clear`, `is_set`, `wait` / `wait_timeout(dur)` |
//! | `gevent.lock.Lock()`, `with lock:` | [`hub::Lock`], `let _held = lock.acquire();` |
//! | `gevent.lock.Semaphore(n)` / `BoundedSemaphore(n)` | [`hub::Semaphore`]`::new(n)` / `Semaphore::bounded(n)` |
//! | `gevent.pool.Pool(n)`: `spawn`, `map`, `join`, `free_count` | [`hub::Pool`]`::new(n)`: `spawn`, `map`, `join`, `free_count` |
//! | `gevent.config.monitor_thread = True`, `max_blocking_time` | on by default in debug builds; [`hub::set_blocking_threshold`], [`hub::set_blocking_reporter`] |
#![deny(unsafe_code)]

mod error;
mod generator;
pub mod greenlet;
#[allow(unsafe_code)]
pub mod hub;
#[allow(unsafe_code)]
pub mod stack;

pub use error::{KillError, ParentError, SendError, StackError, StartError};
pub use generator::{Co, Generator, GeneratorBuilder, GeneratorState, Thrown};
pub use greenlet::{Greenlet, GreenletBuilder};
