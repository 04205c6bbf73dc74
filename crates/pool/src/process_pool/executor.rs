//! `ProcessPoolExecutor`: Python's `concurrent.futures.ProcessPoolExecutor`, healing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::call::Call;
use super::engine::Engine;
use super::settings::ProcessPoolExecutorBuilder;
use super::submit::submit_call;
use crate::error::{BuildError, SubmitError};
use crate::executor::{Executor, Map, Submit};
use crate::future::{Future, deadline_after};

/// A pool of worker *processes* that runs [`Call`]s and returns [`Future`]s: Python's
/// `concurrent.futures.ProcessPoolExecutor`, for CPU-bound work ("计算密集型: 多进程").
///
/// It implements the same [`Executor`] + [`Submit`] traits as
/// [`ThreadPoolExecutor`](crate::ThreadPoolExecutor), which also accepts `Call`s: code
/// written against `E: Submit<Call<A, R>>` switches between threads and processes by the
/// line that builds the executor. Workers are skein-process children under any start method
/// (fork, spawn, forkserver; [`builder`](ProcessPoolExecutor::builder)`().start_method(m)`),
/// started when the executor is built; tasks travel to them in batches over a socket pair,
/// and a thread of this process completes the futures from their replies.
///
/// **It heals.** A worker that panics keeps serving (the task fails with
/// [`TaskError::Panicked`](crate::TaskError::Panicked), message and the worker's backtrace).
/// A worker that dies — `abort`, out of memory, `SIGKILL` — fails only the task it was
/// running, with [`WorkerDied`](crate::WorkerDied) naming the signal and pid; the tasks it
/// had been sent ahead are requeued, a replacement starts, and later submissions work.
/// [`Future::cancel`] stops a *running* task (its worker is terminated and replaced), and
/// [`Call::timeout`] gives a task a time limit the same way.
///
/// Dropping the executor is `shutdown(wait = true)`.
///
/// # Examples
///
/// ```
/// use skein_pool::{Call, ProcessPoolExecutor, Submit};
///
/// fn add100(x: u64) -> u64 {
///     x + 100
/// }
///
/// let pool = ProcessPoolExecutor::builder()
///     .max_workers(2)
///     .start_method(skein_process::StartMethod::Fork)
///     .build()
///     .unwrap();
/// let future = pool.submit(Call::new(add100, 1)).unwrap();
/// assert_eq!(*future.result().unwrap(), 101);
/// let doubled: Vec<u64> = pool.map(add100, 0..3).map(Result::unwrap).collect();
/// assert_eq!(doubled, [100, 101, 102]);
/// ```
pub struct ProcessPoolExecutor {
    pub(crate) engine: Arc<Engine>,
}

impl ProcessPoolExecutor {
    /// Python `ProcessPoolExecutor(max_workers)`, with the default start method.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for 0 workers or when a worker cannot start.
    pub fn new(max_workers: usize) -> Result<ProcessPoolExecutor, BuildError> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A builder for the other options (start method, initializer, recycling).
    pub fn builder() -> ProcessPoolExecutorBuilder {
        ProcessPoolExecutorBuilder::default()
    }

    /// Python `executor.map(fn, iterable)`: `f` over `items`, lazily, results in order
    /// (see [`Map`]).
    pub fn map<A, R, I>(&self, f: fn(A) -> R, items: I) -> ProcessMap<'_, A, R, I::IntoIter>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_jobs(CallJobs {
            f,
            items: items.into_iter(),
        })
    }

    /// The pids of the live workers.
    pub fn worker_pids(&self) -> Vec<i32> {
        self.engine.pids()
    }

    /// Workers started so far (replacements included).
    pub fn workers_started(&self) -> usize {
        self.engine
            .stats
            .started
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Python 3.14's `executor.terminate_workers()`: shuts the executor down by force.
    /// New submissions are refused (as after [`shutdown`](Executor::shutdown)); every
    /// future not yet resolved — running or waiting — fails with
    /// [`TaskError::Failed`](crate::TaskError::Failed) holding a [`ForcedShutdown`](crate::ForcedShutdown)
    /// (futures already resolved keep their results); every worker gets `SIGTERM`, and
    /// `SIGKILL` if it is still there after the grace period. Returns once every worker
    /// is reaped (no process or zombie is left). After a shutdown, or a second time, it
    /// does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_pool::{Call, Executor, ForcedShutdown, ProcessPoolExecutor, Submit, TaskError};
    ///
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(std::time::Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// let pool = ProcessPoolExecutor::builder()
    ///     .max_workers(1)
    ///     .start_method(skein_process::StartMethod::Fork)
    ///     .build()?;
    /// let long = pool.submit(Call::new(nap, 60_000))?;
    /// pool.terminate_workers();
    /// let Err(TaskError::Failed(e)) = long.result() else { panic!("not stopped") };
    /// assert!(e.downcast_ref::<ForcedShutdown>().is_some());
    /// assert!(pool.is_shutdown());
    /// assert!(pool.worker_pids().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn terminate_workers(&self) {
        self.force_shutdown(false);
    }

    /// Python 3.14's `executor.kill_workers()`: as
    /// [`terminate_workers`](ProcessPoolExecutor::terminate_workers), with `SIGKILL` at
    /// once (a worker cannot catch or ignore it).
    pub fn kill_workers(&self) {
        self.force_shutdown(true);
    }

    fn force_shutdown(&self, kill: bool) {
        self.engine.force_shutdown(kill);
        self.engine.join_manager(None);
    }

    /// Tasks submitted and not yet resolved.
    pub fn pending(&self) -> usize {
        self.engine.pending()
    }
}

/// The iterator of [`ProcessPoolExecutor::map`].
pub type ProcessMap<'a, A, R, I> = Map<'a, ProcessPoolExecutor, Call<A, R>, CallJobs<A, R, I>>;

/// The jobs of [`ProcessPoolExecutor::map`]: each item with the function.
pub struct CallJobs<A, R, I> {
    f: fn(A) -> R,
    items: I,
}

impl<A, R, I: Iterator<Item = A>> Iterator for CallJobs<A, R, I> {
    type Item = Call<A, R>;

    fn next(&mut self) -> Option<Call<A, R>> {
        self.items.next().map(|a| Call::new(self.f, a))
    }
}

impl<A, R, I> fmt::Debug for CallJobs<A, R, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallJobs").finish_non_exhaustive()
    }
}

impl<A, R> Submit<Call<A, R>> for ProcessPoolExecutor
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Output = R;

    fn submit(&self, job: Call<A, R>) -> Result<Future<R>, SubmitError<Call<A, R>>> {
        submit_call(&self.engine, job)
    }
}

impl Executor for ProcessPoolExecutor {
    fn max_workers(&self) -> usize {
        self.engine.opts.workers
    }

    fn is_shutdown(&self) -> bool {
        self.engine.is_closed()
    }

    fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.engine.close(cancel_futures);
        if wait {
            self.engine.join_manager(None);
        }
    }

    fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> bool {
        self.engine.close(cancel_futures);
        self.engine.join_manager(Some(deadline_after(timeout)))
    }
}

impl Drop for ProcessPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ProcessPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPoolExecutor")
            .field("max_workers", &self.engine.opts.workers)
            .field("context", &self.engine.opts.context)
            .field("shutdown", &self.engine.is_closed())
            .finish_non_exhaustive()
    }
}
