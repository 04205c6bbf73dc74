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
//!
//! As gevent raises `GreenletExit` once, a kill is delivered once: the destructors it
//! runs may block on the hub again (take a [`Lock`], put on a [`Queue`], [`sleep`],
//! join), and a second kill meanwhile does nothing but wait. A [`with_timeout`] scope
//! opened inside that cleanup fires as usual; nothing may unwind out of a destructor,
//! so a limit set before the kill that runs out during the cleanup is dropped, and other
//! interruptions wait while any task of the thread is unwinding.
//!
//! # Links
//!
//! Callbacks run when a task ends ([`JoinHandle::link`], gevent's `link`), in two kinds:
//!
//! - a **rawlink** callback is run by the hub itself, at the moment the task ends (after
//!   its result is stored, before the tasks joining it wake). It runs in whichever
//!   context ends the task, so it must not block: a blocking hub call in it (`sleep`,
//!   `join`, a parking `Queue::get`, …) panics. Non-blocking calls are fine (`spawn`,
//!   `Event::set`, `Queue::try_put`, `AsyncResult::set`).
//! - a **link** callback (also `link_value`, `link_exception`) runs in a new green task
//!   spawned when the task ends, as gevent spawns a greenlet for each `link`; it may
//!   block on the hub. It reads the task's result in place, so the task's
//!   [`join`](JoinHandle::join) returns only after every link callback has returned
//!   (and [`try_join`](JoinHandle::try_join) hands the handle back until then).
//!
//! Both get the task's outcome by reference (`&Result<T, JoinError>`; gevent passes
//! the greenlet, whose `value`/`exception` the callback reads). A callback linked after
//! the task ended still runs: a rawlink at once, in the caller; a link in a new task.
//! Each runs once. A panicking callback is reported on standard error and stops only
//! that callback: the hub and the other callbacks go on. [`unlink`](JoinHandle::unlink)
//! removes a callback that has not run yet.
//!
//! # The blocking detector
//!
//! gevent's monitor thread is opt-in; skein's detector is on by default in debug builds
//! (threshold 100 ms, gevent's `max_blocking_time` default) and off in release builds;
//! `SKEIN_HUB_BLOCKING_MS=N` sets it for every thread (`0`: off),
//! [`set_blocking_threshold`] per thread, [`set_blocking_reporter`] redirects the
//! reports (standard error by default). A report names the task (its id and name), says
//! how long it held the hub, and where:
//!
//! - a monitor thread notices a *slice* (one run of a task between two switches) past the
//!   threshold and samples the hub thread's stack with a signal while the task is still
//!   blocked — the only moment the blocking call is on the stack — then reports
//!   ([`BlockingPhase::Blocking`]); the backtrace is trimmed to the task's own frames;
//! - the hub measures every slice when it switches back, and always reports one past the
//!   threshold ([`BlockingPhase::Released`], with the total time); if the monitor did not
//!   sample it in time it attaches a backtrace taken at that switch, on the task's stack.
//!
//! Detection therefore never depends on the monitor thread being scheduled in time (a
//! task that holds the hub for 5× the threshold is always reported), and a task that
//! never yields at all is still reported while it runs. What it costs: two clock reads
//! and a few atomic stores per switch, in builds where it is on.
//!
//! # Differences from gevent
//!
//! - No monkey-patching: the cooperative versions are this module's types; std's
//!   blocking calls block the thread (see above), and the detector says so.
//! - A task takes its stack (256 KiB of address space, guard page below, only touched
//!   pages resident) when it first runs, from the thread's stack pool; short tasks reuse
//!   a few warm stacks. [`Builder::try_spawn`] takes it at spawn, to see the map-count cap
//!   as an error there.
//! - Killing and [`with_timeout`] unwind the task (destructors run) rather than raise an
//!   exception object; a panic stays in its task and is its `join`'s `Err`.
//! - A wait the main context can never finish is reported, not hung: `join` returns
//!   [`JoinError::WouldBlockForever`], the primitives panic with gevent's `LoopExit`
//!   message.
//!
//! # Figures
//!
//! Measured on the project's 2-core Linux 6.18 VM, release build (the commands are in
//! the crate's closing note; ratios from one criterion run, beside tokio's
//! current-thread runtime, see `benches/benches/hub.rs`):
//!
//! | workload | skein | tokio current-thread | ratio (3 runs) | bar |
//! |---|---|---|---|---|
//! | spawn + join of 100k tasks | 23–28 ms (3.6–4.3 M tasks/s) | 38–45 ms | **1.62× / 1.63× / 1.68×** tokio's throughput | ≥ 1.0× |
//! | 10k tasks sleeping 10 ms at once | 16.5–17.1 ms | 15.8–17.0 ms | **1.01× / 1.06× / 0.99×** tokio's time | ≤ 1.2× |
//! | 1,000 loopback clients × 10 echo round trips | 210–213 ms | 194–227 ms | **0.91× / 1.06× / 1.07×** tokio's throughput (wide intervals: syscall-bound) | ≥ 1.0× |
//!
//! The echo, interleaved with tokio in one process (`examples/echo_ab.rs` of
//! skein-benches: 9 rounds alternating which side goes first, median of the per-round
//! throughput ratios; 2 quiet sessions × 3 runs, load averages 1.25 and 5.05):
//! **1.02× / 1.04× / 1.04×** and **0.98× / 1.10× / 1.06×** tokio's throughput, against
//! 0.99× / 0.99× / 0.94× and 1.02× / 1.00× / 0.99× for the hub before two changes made
//! in the same sessions. Both runtimes make the same sends and the kernel's TCP path is
//! ~90 % of the cycles; small reads park without the failing syscall tokio makes (a
//! third fewer syscalls), and the hub's own share was cut from ~11 % to ~8 % of the
//! cycles (tokio: ~9 %) by (1) prefetching, while one task runs, the stack window of
//! the next ready task and the record of the one after it — with a thousand live tasks
//! each is resumed a thousand switches after it parked, long out of the cache — and
//! (2) keeping a socket's first parked task inline in its entry, so parking and waking
//! it touch no separate allocation. Single runs still spread ±10 % on the shared VM.
//! The scenario `scenarios/io_echo` (200 green clients connecting to a tokio echo server
//! in another process, 10 round trips each, hanging up; bar ≤ 1.1× tokio's time), two
//! criterion runs each, old and new hub alternating in one quiet session (load 1.93):
//! before 1.15× / 1.30×, after **0.97× / 1.07×** tokio's time.
//!
//! - gevent 26.9 on CPython 3.11, same workloads (`benches/python/gevent_hub.py`):
//!   spawn + join of 100k 3,551 ms, 10k sleepers 366 ms, the echo run 530 ms.
//! - Resident memory per live, parked task: **4.4 KiB** (100,000 tasks parked on one
//!   `Event`: 2 MiB → 430 MiB; 1,000,000 tasks: 4,267 MiB) — demo `09_many_tasks`.
//! - Most live tasks reached: **1,000,000** at once on one thread (the stack pool's guard
//!   pages use `MADV_GUARD_INSTALL` on Linux ≥ 6.13, so `vm.max_map_count` does not cap
//!   them). With `mprotect` guard pages (older kernels, `SKEIN_STACK_GUARD=mprotect`) each
//!   live stack costs two mappings and the default `vm.max_map_count` of 65,530 stops a
//!   process at **32,746** live stacks: [`Builder::try_spawn`] then returns a
//!   [`SpawnError`] whose message says to raise it (`sysctl -w vm.max_map_count=262144`),
//!   and a lazily spawned task that cannot get a stack fails with [`JoinError::Stack`].

pub(crate) mod core;
mod detector;
mod error;
mod io;
mod link;
mod net;
mod pool;
mod prefetch;
mod stack;
mod sync;
mod task;
mod timeout;
mod timer;
mod wait;

pub use detector::{
    BacktraceOrigin, BlockingPhase, BlockingReport, DEFAULT_THRESHOLD, blocking_threshold,
    set_blocking_reporter, set_blocking_threshold,
};
pub use error::{JoinError, SpawnError, Timeout};
pub use link::LinkId;
pub use net::{TcpListener, TcpStream};
pub use pool::{Imap, Pool};
pub use sync::{
    AsyncResult, Channel, Event, Fifo, Lifo, LifoQueue, Lock, LockGuard, Order, Priority,
    PriorityQueue, PutTimeoutError, Queue, ReleaseError, Semaphore, SemaphoreGuard, ShutDown,
    TaskDoneError, TryPutError,
};
pub use task::{
    Builder, JoinHandle, TaskRef, getcurrent, joinall, joinall_timeout, killall, live_tasks, run,
    sleep, spawn, spawn_later, wait, wait_timeout,
};
pub use timeout::with_timeout;
pub use wait::{Iwait, JoinAll, JoinAllError, Waitable, iwait, wait_ready};
