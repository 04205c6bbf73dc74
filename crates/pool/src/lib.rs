//! # skein-pool — chapter 4: executors, futures, thread pools and process pools
//!
//! Python's `concurrent.futures` and `multiprocessing.pool.ThreadPool`, rebuilt in Rust.
//! The chapter teaches that creating a thread per task is wasteful: a **pool** keeps a
//! fixed number of workers and feeds them tasks from a queue ("每次同时执行的个数是设置的
//! 个数" — at most `max_workers` run at once). Submitting a task returns a **future**, a
//! handle to a result that does not exist yet: you can wait for it, poll it, cancel it
//! before it starts, or attach a **callback** that runs when it is done (the notes'
//! `add100` → `add1000`).
//!
//! ```
//! use skein_pool::{Submit, ThreadPoolExecutor};
//!
//! let pool = ThreadPoolExecutor::new(3).unwrap();
//! let future = pool.submit(|| 1 + 100).unwrap();           // add100(1)
//! future.add_done_callback(|f| {                           // add1000
//!     assert_eq!(f.result().unwrap() + 1000, 1101);
//! });
//! assert_eq!(*future.result().unwrap(), 101);
//! // Drop = `with ThreadPoolExecutor(...)`: waits for every task.
//! ```
//!
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|
//! | `concurrent.futures.Executor` | [`Executor`] (life cycle) + [`Submit<J>`](Submit) (jobs of type `J`) |
//! | `ThreadPoolExecutor(max_workers)` | [`ThreadPoolExecutor::new`]`(n)` |
//! | `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer)` | [`ThreadPoolExecutor::builder`]`().max_workers(n).thread_name_prefix(p).initializer(f).build()` |
//! | `executor.submit(fn, *args)` | [`executor.submit(move \|\| fn(args))`](Submit::submit) → `Result<Future<T>, SubmitError<F>>` |
//! | `RuntimeError: cannot schedule new futures after shutdown` | [`SubmitError::ShutDown`] (the job handed back) |
//! | `executor.map(fn, iterable)` | [`ThreadPoolExecutor::map`]`(f, iter)` (lazy, bounded: see [`Map`]) |
//! | `executor.map(fn, iterable, timeout=t)` | `executor.map(f, iter).timeout(t)` |
//! | `executor.shutdown(wait=True, cancel_futures=False)` | [`Executor::shutdown`]`(true, false)` |
//! | — (cannot give up waiting) | [`Executor::shutdown_timeout`]`(t, cancel)` |
//! | `with ThreadPoolExecutor() as ex:` | `let ex = ThreadPoolExecutor::new(n)?;` (Drop = `shutdown(wait=True)`) |
//! | `Future` | [`Future<T>`](Future) |
//! | `future.result()` / `future.result(timeout)` | [`Future::result`] → `Result<&T, TaskError>` / [`Future::result_timeout`] |
//! | `future.exception()` | [`Future::exception`] |
//! | `future.done()` / `running()` / `cancelled()` | [`Future::done`] / [`Future::running`] / [`Future::cancelled`] |
//! | `future.cancel()` | [`Future::cancel`] |
//! | `future.add_done_callback(fn)` | [`Future::add_done_callback`]`(\|f\| ...)` |
//! | `future.set_result(v)` / `set_exception(e)` / `set_running_or_notify_cancel()` | [`Promise::set_result`] / [`Promise::set_error`] / [`Promise::set_running`] |
//! | `await asyncio.wrap_future(future)` | `future.await` ([`Future`] is [`IntoFuture`]: [`Awaiting`], woken on completion) |
//! | `await loop.run_in_executor(executor, fn)` | `executor.submit(fn)?.await` (dropping the awaiting task cancels a job not yet started) |
//! | `CancelledError` / a task's exception / `BrokenThreadPool` | [`TaskError::Cancelled`] / [`TaskError::Panicked`] / [`TaskError::Broken`] |
//! | `TimeoutError` | [`ResultTimeoutError::Timeout`], [`MapError::Timeout`], [`TimeoutError`] |
//! | `concurrent.futures.wait(fs, timeout, return_when)` | [`wait`]`(&fs, when)` / [`wait_timeout`] / [`wait_deadline`] → [`Done`] |
//! | `FIRST_COMPLETED` / `FIRST_EXCEPTION` / `ALL_COMPLETED` | [`ReturnWhen::FirstCompleted`] / [`ReturnWhen::FirstException`] / [`ReturnWhen::AllCompleted`] |
//! | `concurrent.futures.as_completed(fs, timeout)`; `TimeoutError: 2 (of 4) futures unfinished` | [`as_completed`]`(fs)` ([`AsCompleted::next_timeout`]) → [`TimeoutError`] ([`unfinished`](TimeoutError::unfinished), [`total`](TimeoutError::total)) |
//! | `multiprocessing.pool.ThreadPool(processes, initializer)` | [`ThreadPool::new`]`(n)` / [`ThreadPool::builder`] |
//! | `pool.apply(fn, args)` | [`ThreadPool::apply`]`(move \|\| fn(args))` |
//! | `pool.apply_async(fn, args, callback=, error_callback=)` | [`ThreadPool::apply_async`] / [`ThreadPool::apply_async_with`] → [`AsyncResult`] |
//! | `AsyncResult.get()` / `get(timeout)` / `wait()` / `ready()` / `successful()` | [`AsyncResult::get`] / [`AsyncResult::get_timeout`] / [`AsyncResult::wait`] / [`AsyncResult::ready`] / [`AsyncResult::successful`] |
//! | `pool.map(fn, it)` / `map(fn, it, chunksize)` | [`ThreadPool::map`] / [`ThreadPool::map_chunked`] |
//! | `pool.map_async(fn, it, chunksize)` | [`ThreadPool::map_async`] / [`ThreadPool::map_async_chunked`] |
//! | `pool.map_async(fn, it, callback=, error_callback=)` | [`ThreadPool::map_async_with`] |
//! | `pool.starmap(fn, it)` / `starmap_async` | [`ThreadPool::starmap`] / [`ThreadPool::starmap_chunked`] / [`ThreadPool::starmap_async`] |
//! | `pool.imap(fn, it, chunksize)` | [`ThreadPool::imap`] / [`ThreadPool::imap_chunked`] → [`IMap`] |
//! | `pool.imap_unordered(fn, it, chunksize)` | [`ThreadPool::imap_unordered`] / [`ThreadPool::imap_unordered_chunked`] |
//! | `pool.close()` / `pool.join()` / `pool.terminate()` | [`ThreadPool::close`] / [`ThreadPool::join`] ([`NotClosedError`] before close) / [`ThreadPool::terminate`] |
//! | `with Pool() as p:` | Drop = `terminate()` + `join()` |
//! | `initializer=f, initargs=(a,)` | `.initializer(move \|\| f(a))` (the closure captures the arguments) |
//! | `Pool(maxtasksperchild=n)` | thread pools: — (a thread pool never recycles workers); process pools: see below |
//! | `threading.current_thread().name` in a task | `std::thread::current().name()` → `"ThreadPoolExecutor-0_0"`; listed by `skein_threads::enumerate()` |
//! | **Process pools** (workers are [`skein_process`] children; module `process_pool`) | |
//! | `ProcessPoolExecutor(max_workers)` | [`ProcessPoolExecutor::new`]`(n)` |
//! | `ProcessPoolExecutor(max_workers, mp_context, initializer, initargs, max_tasks_per_child)` | [`ProcessPoolExecutor::builder`]`().max_workers(n).start_method(m)`/[`.context(ctx)`](ProcessPoolExecutorBuilder::context)`.initializer(f, args).max_tasks_per_child(k).build()` → [`ProcessPoolExecutorBuilder`] |
//! | `executor.submit(fn, arg)` (processes *or* threads) | [`executor.submit(Call::new(f, arg))`](Call) — [`Submit<Call<A, R>>`](Submit) for both [`ProcessPoolExecutor`] and [`ThreadPoolExecutor`] |
//! | pickling error (raised late, at `result()`) | [`SubmitError::Encode`] at `submit`, the call handed back; [`EncodeError`] |
//! | `executor.map(fn, iterable)` | [`ProcessPoolExecutor::map`]`(f, iter)` → [`ProcessMap`] (over [`CallJobs`]) |
//! | `BrokenProcessPool` (whole pool dead after one worker dies) | only that task fails: [`TaskError::Failed`] with [`WorkerDied`] (signal, pid); a replacement starts |
//! | `BrokenProcessPool` / `PicklingError` / `UnpicklingError` when a task's arguments or result fail to (un)pickle in the worker or the result handler | only that task fails, its worker lives on: [`TaskError::Failed`] with [`CodecFailure`], whose [`CodecStage`] names the stage (a panicking serde impl included); an initializer that crashes (exit, abort, signal) breaks the pool ([`TaskError::Broken`]) as one that panics does |
//! | `future.cancel()` of a running task (`False` in Python) | [`Future::cancel`] terminates the worker (SIGTERM, SIGKILL after [`kill_grace`](ProcessPoolExecutorBuilder::kill_grace)) → `cancelled()`; [`Promise::on_cancel_running`] for other executors |
//! | `executor.terminate_workers()` / `kill_workers()` (3.14): shut down, signal every worker; waiting futures `CancelledError`, running ones `BrokenProcessPool` | [`ProcessPoolExecutor::terminate_workers`] / [`kill_workers`](ProcessPoolExecutor::kill_workers): every unresolved future fails with [`TaskError::Failed`] holding [`ForcedShutdown`] (which call, signal, whether it ran); returns once every worker is reaped |
//! | pebble `schedule(fn, timeout=t)`, `TimeoutError` | [`Call::new(f, a).timeout(t)`](Call::timeout) → [`TaskTimedOut`] |
//! | billiard `max_memory_per_child` | [`.max_memory_per_child(bytes)`](ProcessPoolExecutorBuilder::max_memory_per_child) |
//! | `multiprocessing.Pool(processes, initializer, initargs, maxtasksperchild, context)` | [`ProcessPool::new`]`(n)` / [`ProcessPool::builder`]`().processes(n).initializer(f, a).max_tasks_per_child(k).start_method(m)` → [`ProcessPoolBuilder`] |
//! | `pool.apply(f, (a,))` / `apply_async(f, (a,), callback, error_callback)` | [`ProcessPool::apply`] / [`ProcessPool::apply_async`] / [`ProcessPool::apply_async_with`] (callbacks run in the parent) / [`ProcessPool::submit`] |
//! | `ApplyResult` / `MapResult`: `get`, `wait`, `ready`, `successful` | [`ApplyResult`] / [`MapResult`]: [`get`](ApplyResult::get), [`get_timeout`](ApplyResult::get_timeout), [`wait`](ApplyResult::wait), [`ready`](ApplyResult::ready), [`successful`](ApplyResult::successful) |
//! | `pool.map(f, it, chunksize)` / `map_async` | [`ProcessPool::map`] / [`ProcessPool::map_chunked`] / [`ProcessPool::map_async`] / [`ProcessPool::map_async_chunked`] (default chunk size as Python's) |
//! | mpire `progress_bar=True` | [`ProcessPool::map_async_progress`]`(f, it, chunksize, \|done, total\| ..)`; [`ApplyResult::completed`] / [`ApplyResult::total`]; [`IMapIterator::completed`] |
//! | `pool.starmap(f, [(a, b)])` / `starmap_async` | [`ProcessPool::starmap`] / [`ProcessPool::starmap_async`] (two-argument `f`) |
//! | `pool.imap(f, it, chunksize)` / `imap_unordered` (`IMapIterator`, `IMapUnorderedIterator`) | [`ProcessPool::imap`] / [`ProcessPool::imap_chunked`] / [`ProcessPool::imap_unordered`] / [`ProcessPool::imap_unordered_chunked`] → [`IMapIterator`] / [`IMapUnorderedIterator`] (lazy) |
//! | `pool.close()` / `join()` / `terminate()` | [`ProcessPool::close`] / [`ProcessPool::join`] / [`ProcessPool::join_timeout`] / [`ProcessPool::terminate`] |
//! | a task's arguments or result that fails to (de)serialise in the worker or the caller | [`TaskError::Failed`] with [`CodecFailure`] ([`CodecStage`] says where) |
//! | `os.fork` limit reached (`EAGAIN`) starting a worker | [`BuildError`] at build; [`SubmitError::Start`] / [`PoolError::Start`] ([`WorkerStartError`]) when no worker can start |
//!
//! ## Differences from Python
//!
//! * **Errors are values.** `result()` returns `Result<&T, TaskError>`; a panicking task
//!   fails only its own future ([`TaskError::Panicked`] keeps the message); the worker
//!   lives on. A refused submission hands the job back inside [`SubmitError`].
//! * **`map` is lazy with backpressure**: at most `2 × max_workers` items are in flight
//!   (tunable with [`Map::window`]), so an endless iterator works; CPython submits the
//!   whole iterable first. Dropping the iterator cancels what is still queued.
//!   [`ThreadPool::imap`] behaves the same way.
//! * **`shutdown_timeout` returns** even when a task never ends, and dropping an executor
//!   is the only implicit wait: the process never blocks at exit on a forgotten pool
//!   (CPython joins every executor thread at exit).
//! * **No work stealing onto blocked stacks.** A worker blocked in `result()`, a lock or
//!   a queue only blocks; it never runs unrelated tasks on its stack (rayon's `join` can,
//!   rayon#1174/#835). A task that waits for another task of the same pool finishes as
//!   long as one worker is free.
//! * **Values are read by reference** (`&T`, any number of times, from any thread), so
//!   results must be `Send + Sync`; [`Future::into_result`] moves the value out.
//! * `ThreadPool` callbacks run on the worker that finished the job (CPython uses a
//!   result-handler thread); `wait` returns indices into the slice instead of sets.
//!
//! ## Design: one abstraction for thread and process pools
//!
//! * [`Future<T>`](Future) is executor-neutral. It reads a shared state (outcome cell,
//!   phase, hooks); whoever holds the write side completes it. That write side is public:
//!   [`Promise<T>`](Promise) (`set_running`, `set_result`, `set_error`, `cancel`), and a
//!   promise dropped unfinished fails its future with [`TaskError::Lost`], so no executor
//!   can leave a waiter hanging.
//! * [`Executor`] holds the life cycle (`shutdown`, `shutdown_timeout`, `max_workers`),
//!   and [`Submit<J>`](Submit) the submission of jobs of type `J`, with `map_jobs` built on
//!   top. Nothing assumes a job is a closure that can move into the worker: a process pool
//!   implements `Submit<Call>` where `Call` names a registered function and carries
//!   serialised arguments, keeps a `Promise` per job id, and completes it from the thread
//!   that reads its workers' replies. `Future`, `wait`, `as_completed`, `Map` and
//!   `AsyncResult` work unchanged on its futures.
//! * Thread pools use a faster private path: one `Arc` per task holds both the closure
//!   and the future's state (the queue sees it as a type-erased runnable), so a task costs
//!   one allocation; a queued task that is dropped without running fails its future. The
//!   outcome is written in place under one atomic phase word (`unsafe` code, in the
//!   private `outcome` and `cell` modules, model-checked with loom): starting a task is
//!   one compare-and-swap, publishing its result one read-modify-write.
//! * `ThreadPool::map` gathers the items once (a range of integers it splits by index
//!   instead, as rayon does, so nothing is gathered) and queues one runner task per worker
//!   for one shared job; runners claim chunks with one `fetch_add` and write results
//!   straight into the output (in place over the items when both have the same layout). So a map
//!   allocates a fixed handful of times, even at `chunksize = 1`. This is the crate's
//!   third and last `unsafe` module, the private `thread_pool::map_job`.
//! * Workers take jobs from one shared queue in submission order (Python's FIFO start
//!   order): a fixed lock-free ring (crossbeam-queue's `ArrayQueue`, so a burst of
//!   submissions allocates nothing but the tasks) with a locked overflow list behind it.
//!   Idle workers poll briefly (yielding) and then sleep; a submitter wakes a worker only
//!   when one sleeps. `shutdown` closes a submission gate, waits for submitters inside
//!   it, then wakes the workers, which leave once the queue is empty, so no task is
//!   orphaned. Workers start inside `submit` (while idle workers are fewer than queued
//!   jobs), before the task is queued, so a failed thread spawn is an error that hands
//!   the task back. See the `core` module.
//!
//! ## Process pools that heal
//!
//! [`ProcessPoolExecutor`] and [`ProcessPool`] (module `process_pool`, which depends on
//! skein-process; nothing there depends on this crate) run plain `fn(A) -> R` with serde
//! arguments in long-lived worker processes, under fork, spawn or forkserver. Each worker
//! has a work socket and a reply socket; a manager thread in this process sends tasks in
//! batches (a `map` chunk is one list, mapped in one call), reads replies, completes the
//! futures, and runs the callbacks. A worker writes the id of the task it runs into a
//! shared slot, so when one dies (EOF on its reply socket) the pool knows exactly which
//! task to fail — with [`WorkerDied`] naming the signal and pid — and requeues the tasks
//! it had been sent ahead; a replacement starts. A panic is caught in the worker, which
//! keeps serving; the future gets the message and the worker's backtrace. Tasks are
//! resolved exactly once: whoever removes a task from the pool's table completes it.
//! `Future::cancel` and [`Call::timeout`] stop a running task by terminating its worker.
//! See [`ProcessPoolExecutor`] for the guarantees and `process_pool/engine.rs` for the
//! design.
//!
//! Under `Fork`, the first workers are forked by the manager thread while the thread
//! that builds the pool waits for them, holding nothing; when those two are the
//! process's only threads, no multi-threaded-fork warning is printed
//! ([`skein_process::with_parked_threads`]). A replacement forked later while other
//! threads run the program's code still warns, as CPython 3.12+ does for its pool.
//!
//! **Speed** (`benches/benches/process.rs`, `process/pool_*`, 2 workers, forkserver, on
//! a shared 2-core VM; `benches/examples/apply_ab.rs` and `pool_cpu_ab.rs` interleave the
//! same workloads): one `apply` round trip to a warm pool takes 15–20 µs (was 105–122 µs
//! before the manager, the workers and `ApplyResult` polled briefly before sleeping,
//! `process_pool/spin.rs`, then 19–25 µs before a submitter with nothing queued wrote its
//! task straight to an idle worker, `process_pool/engine.rs`): 10.6–14.1× procspawn's warm
//! `Pool::spawn+join` (180–240 µs; criterion 17.5 µs vs 220 µs, 12.6×; a new procspawn
//! process per job is ~2.4 ms) in quiet runs; when other programs keep both cores busy,
//! procspawn's wake-ups get cheap (60–90 µs) and the ratio falls to ~4× (20 µs vs
//! 80 µs). The reply still passes through the manager thread, so three threads share the
//! two cores. `map` of 100k tiny tasks: 2.5–2.7 ms, 1.3–1.4× procspawn's pool fed
//! the same chunks (CPython's `Pool(2).map`: 24–28 ms). A CPU-bound map (16 × 1.6 ms):
//! 1.85–1.87× faster than sequential (medians of interleaved rounds; 1.47× in a run
//! disturbed by other programs; criterion 1.70–1.79×, load 1.5–1.8).
//!
//! **Unsafe boundary**: besides the `cell`, `outcome` and `thread_pool::map_job` modules,
//! one call in `future.rs` (`Future::take_done`, behind `into_result` and `.await`) moves
//! the value out of a finished future through a shared reference
//! (`outcome::take_shared`), once its done-callbacks — the only other readers — have
//! returned (it waits for them on the state's condition variable, or leaves a waker); and
//! the private `process_pool::trust` module holds the one `unsafe` call of the process
//! pools — a worker rebuilding a function reference
//! ([`skein_process::FnRef::from_bytes`]) from the bytes its own pool sent over a
//! private socket pair.
//!
//! skein-pool uses crossbeam-queue, crossbeam-utils and parking_lot directly on its hot
//! path rather than skein-queue, because task overhead is the point of a pool. Workers are
//! skein-threads daemon threads, so they appear in `skein_threads::enumerate()`.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod builder;
#[allow(unsafe_code)]
mod cell;
pub mod core;
mod error;
mod executor;
mod future;
#[allow(unsafe_code)]
mod outcome;
mod process_pool;
mod promise;
mod queue;
mod spawn;
mod task;
mod thread_executor;
mod thread_pool;
mod wait;

pub use crate::builder::Builder;
pub use crate::error::{
    ApplyError, BuildError, EncodeError, EngineError, MapError, NotClosedError, NotReadyError,
    PoolError, ResultTimeoutError, SubmitError, TaskError, TimeoutError, WorkerStartError,
};
pub use crate::executor::{Executor, Map, Submit};
pub use crate::future::{Awaiting, Future};
pub use crate::process_pool::{
    ApplyResult, Call, CallJobs, CodecFailure, CodecStage, ForcedShutdown, IMapIterator,
    IMapUnorderedIterator, MapResult, ProcessMap, ProcessPool, ProcessPoolBuilder,
    ProcessPoolExecutor, ProcessPoolExecutorBuilder, TaskTimedOut, WorkerDied,
};
pub use crate::promise::Promise;
pub use crate::thread_executor::{ExecutorMap, MapJob, MapJobs, ThreadPoolExecutor};
pub use crate::thread_pool::{AsyncResult, IMap, IMapUnordered, PoolBuilder, StarFn, ThreadPool};
pub use crate::wait::{
    AsCompleted, Done, ReturnWhen, as_completed, wait, wait_deadline, wait_timeout,
};
