//! Process pools that heal: [`ProcessPoolExecutor`] (Python's
//! `concurrent.futures.ProcessPoolExecutor`) and [`ProcessPool`] (`multiprocessing.Pool`).
//!
//! * `call.rs` — [`Call`], the job both executors accept (threads and processes).
//! * `settings.rs` — options and builders.
//! * `submit.rs` — calls and map inputs into tasks (serialised in the caller).
//! * `engine.rs` — the task table, the queue, and the manager thread: starts workers,
//!   dispatches batches, completes futures from replies, heals.
//! * `worker.rs` — the worker process's loop.
//! * `wire.rs` — the frames between them.
//! * `spin.rs` — the brief polling before a sleep that keeps short round trips short.
//! * `results.rs` — `ApplyResult`/`MapResult`, the imap iterators, the completers.
//! * `error.rs` — [`WorkerDied`], [`TaskTimedOut`], [`CodecFailure`], [`ForcedShutdown`].
//! * `trust.rs` — the one `unsafe` call (a worker rebuilding a function reference).

mod call;
mod engine;
mod error;
mod executor;
mod pool;
mod results;
mod settings;
mod spin;
mod submit;
#[allow(unsafe_code)]
mod trust;
mod wire;
mod worker;

pub use call::Call;
pub use error::{CodecFailure, CodecStage, ForcedShutdown, TaskTimedOut, WorkerDied};
pub use executor::{CallJobs, ProcessMap, ProcessPoolExecutor};
pub use pool::ProcessPool;
pub use results::{ApplyResult, IMapIterator, IMapUnorderedIterator, MapResult};
pub use settings::{ProcessPoolBuilder, ProcessPoolExecutorBuilder};
