//! # skein-coroutine — chapter 6: generators, greenlets and the hub
//!
//! Python's generators (`yield`, `send`, `throw`, `close`), greenlet and gevent, rebuilt
//! in Rust as stackful coroutines. The chapter teaches the notes' last model of
//! concurrency: one thread, many tasks, each giving up the CPU at a point it chooses
//! (协程: "a function that can pause and resume"), so switching costs nanoseconds and
//! needs no lock.
//!
//! - [`Generator`]: a function that pauses at `co.yield_(v)`; an [`Iterator`] when
//!   nothing is sent; `send`, `throw`, `close` as in Python. Because it runs on its own
//!   stack it can yield from any call depth (Python needs `yield from`).
//! - [`Greenlet`]: symmetric coroutines — `g.switch(v)` names where control goes;
//!   when a greenlet's function returns, control and the value go to its parent.
//! - [`stack`]: every coroutine stack comes from a per-thread pool of guard-paged,
//!   lazily committed stacks; an overflow is reported, never memory corruption.
//!
//! ```
//! use skein_coroutine::{Generator, Greenlet};
//!
//! // Seed 001: two `yield` workers advanced in turn.
//! let mut order = Vec::new();
//! let mut w1 = Generator::<&str>::new(|co| loop { co.yield_("work1"); });
//! let mut w2 = Generator::<&str>::new(|co| loop { co.yield_("work2"); });
//! for _ in 0..2 {
//!     order.push(w1.next().unwrap());
//!     order.push(w2.next().unwrap());
//! }
//! assert_eq!(order, ["work1", "work2", "work1", "work2"]);
//!
//! // greenlet: a child switches back to main, then finishes into it.
//! let main = Greenlet::<i32>::current();
//! let g = Greenlet::new(move |x| main.switch(x + 1) * 10);
//! assert_eq!(g.switch(1), 2);
//! assert_eq!(g.switch(4), 40);
//! assert!(g.is_dead());
//! ```
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
//! | `def gen(): ... yield v ...`; `g = gen()` | `let g = Generator::new(\|co\| { ... co.yield_(v); ... })` |
//! | `x = yield v` | `let x = co.yield_(v)` |
//! | `next(g)` / `for v in g` | `g.next()` / `for v in g` (`Iterator` when `S: Default`) |
//! | first `next(g)` of a send-driven generator | `g.start()` |
//! | `g.send(x)` | `g.send(x)` → `Result<GeneratorState, SendError<S>>` |
//! | `StopIteration.value` | `GeneratorState::Complete(r)`, or `g.return_value()` after iterating |
//! | `g.throw(e)` | `g.throw(e)` → `Err(e)` back when uncaught |
//! | `try: x = yield v` / `except E:` | `match co.try_yield(v) { Err(t) if t.is::<E>() => … }` |
//! | `g.close()` / `GeneratorExit` | `g.close()` or `drop(g)`: unwinds, destructors run |
//! | `inspect.getgeneratorstate(g)` | `g.is_started()`, `g.is_finished()`, `{g:?}` |
//! | `greenlet(run)` / `greenlet(run, parent)` | `Greenlet::new(run)` / `Greenlet::builder().parent(&p).build(run)` |
//! | `g.switch(x)` | `g.switch(x)` |
//! | `greenlet.getcurrent()` | `Greenlet::current()` / `greenlet::getcurrent()` |
//! | `g.parent` / `g.parent = p` | `g.parent()` / `g.set_parent(&p)` |
//! | `g.dead` / `bool(g)` | `g.is_dead()` / `g.is_active()` |
//! | `repr(g)` | `{g:?}`: `<Greenlet #1 suspended active>` (`current`, `created`, `dead`, `root`) |
//! | `g.throw(e)` | `g.throw(e)` |
//! | `g.throw(GreenletExit)` (kill) | `g.kill()` (unwinds in place) |
//! | `RecursionError` | stack overflow into the guard page: reported, process aborts |
//! | `gevent.spawn(f, 5)` | [`hub::spawn`]`(move \|\| f(5))` → [`hub::JoinHandle`] |
//! | `Greenlet(run)` with a name | [`hub::Builder`]`::new().name("w").spawn(f)`; `try_spawn` reports the map-count cap at spawn |
//! | `gevent.spawn_later(s, f)` | [`hub::spawn_later`]`(dur, f)` |
//! | `gevent.sleep(0)` / `gevent.sleep(s)` | [`hub::sleep`]`(Duration::ZERO)` (yield) / `hub::sleep(dur)` |
//! | `g.join(); g.value` / `g.get()` | `h.join()` → `Result<T, `[`hub::JoinError`]`>` |
//! | `g.join(timeout)` | `h.wait_timeout(dur)` → `bool` |
//! | `g.dead` / `g.ready()` | `h.is_finished()` |
//! | `g.exception` (a failed greenlet) | `Err(JoinError::Panicked { .. })` — the panic stays in its task |
//! | `gevent.joinall(gs)` / `joinall(gs, timeout)` | [`hub::joinall`]`(&hs)` / [`hub::joinall_timeout`]`(&hs, dur)` → how many finished |
//! | `joinall(gs, timeout=t, raise_error=True, count=n)` | [`hub::JoinAll`]`::new().timeout(dur).raise_error(true).count(n).wait(&hs)` → indices in finishing order, or `Err(`[`hub::JoinAllError`]`)` naming the first failure |
//! | `g.successful()` / `g.exception` | `h.is_successful()` / `h.error_message()` |
//! | `gevent.wait(objects, timeout, count)` / `gevent.iwait(objects, timeout)` | [`hub::wait_ready`]`(&objs, count, timeout)` → indices / [`hub::iwait`]`(&objs, timeout)` → [`hub::Iwait`] of indices in the order they became ready; tasks, `Event`s, `AsyncResult`s ([`hub::Waitable`]; mix them as `&dyn Waitable`) |
//! | `g.link(cb)` / `g.link_value(cb)` / `g.link_exception(cb)` (cb spawned in a new greenlet) | `h.link(\|outcome\| …)` / `h.link_value(\|v\| …)` / `h.link_exception(\|e\| …)` → [`hub::LinkId`]: a new task, may block; `join` waits for it |
//! | `g.rawlink(cb)` / `g.unlink(cb)` | `h.rawlink(\|outcome\| …)` (run by the hub as the task ends, must not block) / `h.unlink(id)` |
//! | `g.kill()` / `g.kill(block=False)` / `gevent.killall(gs)` | `h.kill()` / `h.kill_nowait()` / [`hub::killall`]`(&hs)` |
//! | `gevent.getcurrent()` | [`hub::getcurrent`]`()` → [`hub::TaskRef`] (`<Greenlet "task-1">`) |
//! | `with gevent.Timeout(s):` / `except gevent.Timeout` | [`hub::with_timeout`]`(dur, \|\| …)` → `Err(`[`hub::Timeout`]`)` |
//! | `gevent.wait()` / `gevent.wait(timeout=t)` | [`hub::wait`]`()` / [`hub::wait_timeout`]`(dur)` → `bool` |
//! | `monkey.patch_all()` (cooperative `socket`) | [`hub::TcpListener`], [`hub::TcpStream`] (no patching: use them; the detector names what still blocks) |
//! | `sock.accept()` / `sock.settimeout(t)` | `listener.accept()` / `accept_timeout(dur)`; `stream.set_read_timeout(Some(dur))` |
//! | `gevent.queue.Queue()` / `Queue(maxsize)` | [`hub::Queue`]`::new()` / `Queue::bounded(n)` |
//! | `gevent.queue.LifoQueue(maxsize)` / `PriorityQueue(maxsize)` | [`hub::LifoQueue`]`::new()` / `bounded(n)` (newest first), [`hub::PriorityQueue`]`::new()` / `bounded(n)` (smallest first, `T: Ord`; `(priority, item)` tuples): every `Queue` method |
//! | `q.put(x)` / `q.put_nowait(x)` / `q.put(x, timeout=t)` | `q.put(x)` / `q.try_put(x)` / `q.put_timeout(x, dur)` (the item comes back on failure) |
//! | `q.get()` / `q.get_nowait()` / `q.get(timeout=t)` | `q.get()` / `q.try_get()` / `q.get_timeout(dur)` |
//! | `gevent.queue.Channel()` (a put meets a get) | [`hub::Channel`]: `put`, `get`, `try_put`, `try_get`, `put_timeout`, `get_timeout` |
//! | `q.peek()` / `q.peek_nowait()` / `q.peek(timeout=t)` | `q.peek()` / `q.try_peek()` / `q.peek_timeout(dur)` (a clone, `T: Clone`) |
//! | `q.shutdown()` / `q.shutdown(immediate=True)` / `q.is_shutdown` (3.13) | `q.shutdown()` / `q.shutdown_immediate()` → the removed items / `q.is_shutdown()`; `q.send(x)` / `q.recv()` → `Err(`[`hub::ShutDown`]`)`, `q.iter()` ends at shutdown; `put`/`get` panic as Python raises `ShutDown` |
//! | `JoinableQueue`: `q.task_done()`, `q.join()`, `unfinished_tasks` | every [`hub::Queue`]: `q.task_done()` → `Err(`[`hub::TaskDoneError`]`)` when called too often, `q.join()` / `join_timeout(dur)`, `q.unfinished_tasks()` |
//! | `gevent.event.Event()`: `set`, `clear`, `is_set`, `wait(t)` | [`hub::Event`]: `set`, `clear`, `is_set`, `wait` / `wait_timeout(dur)` |
//! | `AsyncResult()`: `set(v)`, `set_exception(e)`, `get()`, `get_nowait()`, `get(timeout=t)`, `ready()`, `successful()` | [`hub::AsyncResult`]`<T, E>`: `set(v)`, `set_error(e)`, `get()` → `Result<T, E>`, `try_get()`, `get_timeout(dur)`, `is_ready()`, `is_successful()` |
//! | `result.rawlink(cb)` / `result.link(cb)` / `result.unlink(cb)` | `ar.rawlink(\|r\| …)` (in `set`, must not block) / `ar.link(\|r\| …)` (a new task, a clone) / `ar.unlink(id)` |
//! | `gevent.lock.Lock()`, `with lock:` | [`hub::Lock`], `let _held = lock.acquire();` |
//! | `gevent.lock.Semaphore(n)` / `BoundedSemaphore(n)` | [`hub::Semaphore`]`::new(n)` / `Semaphore::bounded(n)` |
//! | `gevent.pool.Pool(n)`: `spawn`, `map`, `join`, `free_count` | [`hub::Pool`]`::new(n)`: `spawn`, `map`, `join`, `free_count` |
//! | `pool.apply(f)` / `pool.imap(f, xs)` / `pool.imap_unordered(f, xs)` | `pool.apply(f)` / `pool.imap(xs, f)` / `pool.imap_unordered(xs, f)` → [`hub::Imap`] |
//! | `pool.imap(f, xs, maxsize=n)` / `pool.imap_unordered(f, xs, maxsize=n)` | `pool.imap_maxsize(xs, n, f)` / `pool.imap_unordered_maxsize(xs, n, f)`: no new item starts while `n` finished results wait |
//! | `pool.add(g, timeout=t)` / `PoolFull` / `gevent.pool.Group()` / `pool.kill()` | `pool.spawn_timeout(dur, f)` → `Err(f)` / `Pool::unbounded()` / `pool.kill()` |
//! | `gevent.config.monitor_thread = True`, `max_blocking_time` | on by default in debug builds; [`hub::set_blocking_threshold`], [`hub::set_blocking_reporter`] |
//!
//! ## Differences from Python
//!
//! - **Values are typed.** A generator is `Generator<Y, R, S>` (yielded, returned,
//!   sent); greenlets that switch to each other share one value type `T`.
//! - **Priming is explicit.** `send` to a fresh generator hands the value back in
//!   [`SendError::NotStarted`] (Python raises `TypeError`); call [`Generator::start`].
//! - **Exceptions are panics.** `throw` raises its value at the paused `yield_` as a
//!   panic payload (without running the panic hook); uncaught, it comes back to the
//!   thrower as `Err(e)` for generators, and goes to the parent for greenlets.
//!   [`Co::try_yield`] is the `try`/`except` around a `yield`.
//! - **`kill` stays put.** [`Greenlet::kill`] unwinds a paused greenlet in place and
//!   returns to the caller; Python's `throw(GreenletExit)` jumps into it and then to its
//!   parent.
//! - **No re-entrance and no migration, checked by the compiler.** `send`/`next` take
//!   `&mut self` (Python raises "generator already executing" at run time); handles are
//!   `!Send`, so a coroutine never moves between threads (thread-locals stay sound).
//! - **`'static` bodies.** A suspended coroutine that borrows from its creator's frame
//!   could outlive the borrow if the handle were leaked with `mem::forget`
//!   (corosensei#27), so generators and greenlets own what they use (`move` closures,
//!   `Rc`). Forgetting one only leaks its stack.
//! - **Reference cycles are not collected.** Two greenlets holding handles to each other
//!   while both are paused stay alive (Python's GC would collect them): `kill` one.
//! - **Switching from inside a generator** that runs inside a greenlet panics (greenlet
//!   allows it); switch from the greenlet's own code. Calling `yield_`/`switch` from a
//!   destructor while the coroutine is being closed or killed aborts.
//! - **Stack overflow aborts** with a report (`stack overflow in coroutine: ...`), as
//!   Rust does for threads; Python raises `RecursionError` long before.
//!
//! ## Why corosensei
//!
//! Stackful coroutines need a context switch written in assembly for each CPU and a
//! careful unwinding story. corosensei (maintained, used by Wasmer) provides exactly
//! that: a switch of a few nanoseconds on x86-64, AArch64, RISC-V, LoongArch, ARM and
//! x86; panics that propagate to the resumer; forced unwinding of a dropped coroutine
//! (which is how `close`, `kill` and drop run destructors); a pluggable
//! `Stack` trait (fed by [`stack`]'s pool); and `ScopedCoroutine` plus the `'static`
//! bound on `Coroutine`, which make its soundness argument explicit (corosensei#27).
//! The alternatives were weaker: `context`/`generator` (older, unsound with
//! thread-locals, no guarded pooled stacks), `may` (migrates coroutines between threads:
//! may#6), `genawaiter` (stackless: no yield from nested calls).
//!
//! ## Figures (2-core machine, December 2026)
//!
//! - Resident memory per live, idle generator: **4,148 bytes** (one touched stack page;
//!   `tests/limits.rs::resident_memory_per_idle_generator`, 20,000 generators, debug
//!   build). Bar: ≤ 8 KiB.
//! - Live stacks: with `MADV_GUARD_INSTALL` guards (Linux ≥ 6.13) 20,000 live generators
//!   add 4 memory mappings in all, so `vm.max_map_count` no longer caps them; with
//!   `mprotect` guards the cap is reached at **32,746** live generators under the default
//!   `vm.max_map_count = 65,530`, as a typed [`StackError::MapCountLimit`]
//!   (`tests/limits.rs`).
//! - Generator resume+yield beside raw corosensei's (same run, interleaved medians,
//!   3 quiet runs): `next` **1.18× / 0.99× / 1.06×**, `send` **1.01× / 0.99× / 1.08×**
//!   (raw: 3.8–5.4 ns). Bar: ≤ 1.3×. Instructions per resume (callgrind): raw 38,
//!   `next` 44, `send` 50 — one tag compare per resume beside corosensei's own work.
//! - Greenlet round trip (two switches, no allocation: the value waits in the receiver's
//!   reused inbox): main → child → main 80–110 ns, child → child → child 109–136 ns
//!   (CPython's greenlet: ~360 ns). See the `coroutine` bench
//!   (`cargo bench -p skein-benches --bench coroutine`; `SKEIN_CORO_AB=<rounds>` for the
//!   interleaved figures, `SKEIN_CORO_LOOP=<kind>:<n>` for instruction counts).
//!
//! ## Unsafe boundary
//!
//! `#![deny(unsafe_code)]` holds everywhere but in `stack/` (memory mappings, guard
//! pages, the stack-overflow signal handler), `greenlet/current.rs` (suspending the
//! running greenlet through its corosensei `Yielder`) and three files of the hub:
//! `hub/core.rs` (a running task suspends through a pointer to its corosensei `Yielder`),
//! `hub/prefetch.rs` (the x86_64 cache-prefetch hint) and `hub/detector/signal.rs` (the
//! blocking detector's `SIGURG` sampling handler).
//! Every block has a `// SAFETY:`.
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
