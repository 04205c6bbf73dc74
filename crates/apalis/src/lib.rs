//! Past one machine: skein's [`Executor`](skein_pool::Executor) backed by Redis — what
//! Python users reach for as Celery (a broker plus workers).
//!
//! When CPU-bound work outgrows one machine's
//! [`ProcessPoolExecutor`](skein_pool::ProcessPoolExecutor), the code should not change:
//! [`DistributedExecutor`] implements the same [`Executor`](skein_pool::Executor) and
//! [`Submit<Call<A, R>>`](skein_pool::Submit) for the same plain functions with serde
//! arguments, and returns the same skein [`Future`](skein_pool::Future)s
//! (`add_done_callback`, `as_completed`, `wait`, lazy `map` with backpressure). Jobs go to
//! a Redis server; [`worker`]s on any number of machines take them and run each in a
//! local skein process pool, so a task that crashes its process fails only itself.
//!
//! ```no_run
//! use skein_apalis::{DistributedExecutor, Registry};
//! use skein_pool::{Call, Submit, as_completed};
//!
//! fn cpu_bound(n: u64) -> u64 {
//!     (0..n).map(|i| i * i % 7).sum()
//! }
//!
//! // Both binaries (submitter and workers) build the same registry.
//! fn registry() -> Registry {
//!     Registry::new().register("cpu_bound", cpu_bound)
//! }
//!
//! // was: let pool = ProcessPoolExecutor::new(4)?;
//! let pool = DistributedExecutor::new("redis://10.0.0.5:6379/", registry())?;
//! let futures: Vec<_> = (0..8)
//!     .map(|i| pool.submit(Call::new(cpu_bound, 1_000_000 + i).named("cpu_bound")))
//!     .collect::<Result<_, _>>()?;
//! for f in as_completed(futures) {
//!     println!("{}", f.result()?);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The engine: Redis Streams, not apalis
//!
//! The crate is named for apalis, the maintained Rust job engine its issue named first;
//! it is built on **Redis Streams consumer groups** (`XADD`, `XREADGROUP`, `XACK`,
//! `XPENDING`/`XCLAIM`) through the maintained [`redis`] crate's blocking API instead,
//! because apalis could not give the guarantees below:
//!
//! * apalis acknowledges a job in its own layer after the handler returns and keeps the
//!   result apart from the acknowledgement; skein needs the reply stored **in the same
//!   atomic step** as the acknowledgement, so a worker killed between the two cannot lose
//!   a result or run a job twice. Here one Lua script does both.
//! * apalis re-enqueues an orphaned job unconditionally; skein must *fail* it instead
//!   when retries are off (never run twice), and count attempts across workers.
//! * removing one queued job by id (`cancel()`) and an idempotent submit are not part of
//!   apalis's storage API.
//! * apalis is async (tokio), while skein's executors are blocking; a runtime inside every
//!   executor and worker would be all cost here.
//!
//! Other backends: only Redis (or a Redis-protocol server with Streams, e.g. Valkey) is
//! supported. apalis's Postgres, SQLite, AMQP and NATS backends are not reachable through
//! this crate; switching engines means another `Executor` implementation, not an option.
//!
//! # Architecture: who holds what, what is acknowledged when
//!
//! Everything of a queue `q` lives in Redis under `skein:{q}:`:
//!
//! | key | what | written by |
//! |---|---|---|
//! | `skein:{q}:jobs` | the job stream: one entry per queued job (`id`, `fn` name, postcard `args`, `reply` stream, time `limit` in µs or empty); consumer group `skein-workers` | submitters (`XADD`), workers (`XREADGROUP`, `XACK`, `XDEL`) |
//! | `skein:{q}:job:ID` | the job's state: `queued` → `running` (which worker, how many attempts) → `done`/`cancelled`/`failed` (kept an hour) | the four scripts below |
//! | `skein:{q}:reply:EXEC` | one stream per executor: the outcomes of its jobs | workers; read and deleted by the executor's reply thread |
//! | `skein:{q}:alive:WORKER` | a worker's lease (a key with a time-to-live, renewed every third of it) | the worker |
//!
//! 1. **`submit`** (the caller's thread) serialises the argument, then one script adds the
//!    stream entry and the job's hash together. When the script's reply arrives, the job
//!    is *acknowledged*: it is in Redis, and (with the append-only file) on disk. The
//!    future is held in the executor's pending table until a reply names it.
//! 2. **A worker** reads entries with `XREADGROUP` (at most as many as its pool has free
//!    processes). An entry delivered is in the worker's *pending list* until acknowledged.
//!    The `take` script marks the job `running` here and counts the attempt; then the job
//!    runs in the worker's [`ProcessPoolExecutor`](skein_pool::ProcessPoolExecutor).
//! 3. **The outcome** (value, panic message, or failure) is stored by the `finish` script:
//!    reply entry, `XACK`, `XDEL` of the job entry, and the job marked `done` — in one
//!    atomic step, and only if this worker still holds the job. Nothing is acknowledged
//!    before its outcome is stored.
//! 4. **The executor's reply thread** reads its reply stream (`XREAD BLOCK`), completes
//!    the futures, and deletes the entries it delivered.
//!
//! # Failure semantics
//!
//! | what happens | what the future says |
//! |---|---|
//! | the job panics | [`TaskError::Panicked`](skein_pool::TaskError::Panicked) with the message; the worker goes on |
//! | the job crashes its pool process (abort, `SIGKILL`) | with retries left: run again (on any worker); else [`WorkerLost`] |
//! | the **worker process** is killed (`SIGKILL`), or its machine goes | its lease expires; another worker takes its pending entries (`XPENDING` + `XCLAIM`) and re-queues each job (retries left) or fails it with [`WorkerLost`] — never lost; with [`max_retries(0)`](WorkerBuilder::max_retries) (the default) never run twice |
//! | `future.cancel()` while the job is queued | removed from the stream by the `cancel` script; `true`, the future is cancelled. Once a worker took it: `false` |
//! | `future.result_timeout(d)` | [`ResultTimeoutError`](skein_pool::ResultTimeoutError) after `d`; the job goes on |
//! | an argument that does not serialise, a function missing from the [`Registry`], a call [`named`](skein_pool::Call::named) for another function, or an unnamed call whose function's address is registered under two names (the compiler merges functions with the same body) | [`SubmitError::Encode`](skein_pool::SubmitError::Encode) at `submit`, the call handed back whole |
//! | [`Call::timeout`](skein_pool::Call::timeout) | carried with the job; the worker's pool terminates a run past it ([`JobFailed`] naming the limit, not retried) |
//! | Redis unreachable at `submit` | [`SubmitError::Engine`](skein_pool::SubmitError::Engine) after the [`timeout`](DistributedExecutorBuilder::timeout) (default 5 s), the call handed back — never a hang |
//! | Redis restarts mid-run | every acknowledged job survives (append-only file, `appendfsync always` recommended); workers and the reply thread reconnect and resume; a worker re-examines its own pending entries |
//! | a worker is slow past its lease (stopped, cut off) | its jobs are taken over as if it died; if it comes back, its late outcome is dropped (the `finish` script checks it still holds the job) |
//! | the worker does not know the function's name | [`JobFailed`] |
//!
//! Limits: the pending table lives in the submitter; a submitter that dies loses its
//! futures (the jobs still run and their replies stay in its reply stream). If the server
//! stops answering *during* a `submit` the call is handed back with `SubmitError::Engine`
//! although the job may have been queued (submit retries once on a dropped connection,
//! and that retry is idempotent).
//!
//! # Deploying workers on other machines
//!
//! 1. Put the job functions and `fn registry() -> Registry` in a library crate that the
//!    submitting program and the worker program both use; build both from the same source
//!    (names must mean the same functions; the value types must agree).
//! 2. Run Redis where every machine reaches it (`bind` its address, `requirepass`, and
//!    `appendonly yes` + `appendfsync always` for the restart guarantee). The URL is
//!    `redis://:password@host:6379/0`.
//! 3. On each worker machine run a binary like `examples/worker.rs`:
//!    `skein_process::init()` first in `main`, then
//!    `skein_apalis::worker(url, registry()).concurrency(cpus).start()?.join()`.
//! 4. Submit from anywhere with [`DistributedExecutor::new`]`(url, registry())`. Workers
//!    can be added or killed at any time; give every worker of a queue the same
//!    [`lease`](WorkerBuilder::lease) and [`max_retries`](WorkerBuilder::max_retries).
//!
//! # Python → skein
//!
//! | Python (Celery) | skein |
//! |---|---|
//! | `app = Celery(broker="redis://…", backend="redis://…")` | [`DistributedExecutor::new`]`(url, registry)` |
//! | `@app.task(name="square")` | [`Registry::register`]`("square", square)` |
//! | `square.delay(7)` / `apply_async((7,))` | `pool.submit(Call::new(square, 7))` ([`Submit`](skein_pool::Submit)); `.named("square")` finds it by name rather than by address ([`Registry::resolve`]) |
//! | `apply_async(time_limit=5)` | `Call::new(square, 7).timeout(Duration::from_secs(5))` |
//! | `apply_async(queue="cpu")` | [`DistributedExecutorBuilder::queue`] |
//! | `AsyncResult.get()` / `get(timeout=5)` | [`Future::result`](skein_pool::Future::result) / [`result_timeout`](skein_pool::Future::result_timeout) |
//! | `AsyncResult.ready()` | [`Future::done`](skein_pool::Future::done) |
//! | `AsyncResult.revoke()` (queued task) | [`Future::cancel`](skein_pool::Future::cancel) (removes it from Redis) |
//! | `AsyncResult.then(callback)` | [`Future::add_done_callback`](skein_pool::Future::add_done_callback) |
//! | `group(...)()` + iterate results | [`as_completed`](skein_pool::as_completed), [`wait`](skein_pool::wait), [`DistributedExecutor::map`] |
//! | `celery -A app worker --concurrency 4` | [`worker`]`(url, registry).concurrency(4).start()` |
//! | `task_acks_late = True`, `task_reject_on_worker_lost` | always acks late (with the reply); [`WorkerBuilder::max_retries`] |
//! | `broker_transport_options={"visibility_timeout": …}` | [`WorkerBuilder::lease`] |
//! | `worker.stop()` (warm shutdown) | [`Worker::stop`] + [`Worker::join`] |
//! | `kombu.exceptions.OperationalError` at `delay` | [`SubmitError::Engine`](skein_pool::SubmitError::Engine) |
//! | `WorkerLostError` | [`WorkerLost`] |
//! | the task's exception | [`TaskError::Panicked`](skein_pool::TaskError::Panicked) |
//!
//! Dependency direction: this crate uses `skein-pool` (the executor traits, the process
//! pool) and `skein-process`; nothing in skein depends on it.
//!
//! [`testing`] starts a throwaway `redis-server` (tests, demo, bench).

#![deny(unsafe_code)]

mod engine;
mod error;
mod executor;
mod registry;
mod stream;
pub mod testing;
mod worker;

pub use crate::error::{ConnectError, JobFailed, WorkerLost};
pub use crate::executor::{DistributedExecutor, DistributedExecutorBuilder};
pub use crate::registry::Registry;
pub use crate::worker::{Worker, WorkerBuilder, worker};

/// A random 64-bit id in hex (executor and worker names).
pub(crate) fn unique_id() -> String {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No entropy source: fall back to time and pid (unique enough for names).
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        b = (t ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
    }
    format!("{:016x}", u64::from_le_bytes(b))
}
