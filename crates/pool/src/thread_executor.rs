//! `ThreadPoolExecutor`: Python's `concurrent.futures.ThreadPoolExecutor`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use crate::builder::Builder;
use crate::core::Core;
use crate::error::{BuildError, SubmitError};
use crate::executor::{Executor, Map, Submit};
use crate::future::{Future, deadline_after};
use crate::task::Call;

static EXECUTOR_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A pool of worker threads that runs closures and returns [`Future`]s: Python's
/// `concurrent.futures.ThreadPoolExecutor`.
///
/// Workers start lazily, one per submission while none is idle, up to `max_workers`, and
/// are named like Python's: `ThreadPoolExecutor-0_0`, `ThreadPoolExecutor-0_1`, … (or
/// `{thread_name_prefix}_{n}`). Dropping the executor is `shutdown(wait = true)`, Python's
/// `with` block.
///
/// # Examples
///
/// ```
/// use skein_pool::{Submit, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(3).unwrap();
/// let future = pool.submit(|| 1 + 100).unwrap();
/// future.add_done_callback(|f| println!("{}", f.result().unwrap() + 1000));
/// let doubled: Vec<i32> = pool.map(|x| x * 2, 0..5).map(Result::unwrap).collect();
/// assert_eq!(doubled, [0, 2, 4, 6, 8]);
/// ```
pub struct ThreadPoolExecutor {
    core: Arc<Core>,
}

impl Builder<ThreadPoolExecutor> {
    /// Python `max_workers`; the default is Python's `min(32, cpus + 4)`.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.options.workers = Some(n);
        self
    }

    /// Builds the executor (no thread starts until the first submission).
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `max_workers` is 0 (Python: `ValueError`).
    pub fn build(self) -> Result<ThreadPoolExecutor, BuildError> {
        let config =
            self.options
                .into_config(default_workers, "ThreadPoolExecutor", &EXECUTOR_COUNTER)?;
        Ok(ThreadPoolExecutor {
            core: Core::new(config),
        })
    }
}

/// Python's default `max_workers`: `min(32, os.cpu_count() + 4)`.
pub(crate) fn default_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus + 4).min(32)
}

impl ThreadPoolExecutor {
    /// Python `ThreadPoolExecutor(max_workers)`.
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `max_workers` is 0.
    pub fn new(max_workers: usize) -> Result<ThreadPoolExecutor, BuildError> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A [`Builder`] for the other options.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Python `executor.map(fn, iterable)`: `f` over `items`, lazily, results in order,
    /// at most `2 × max_workers` items in flight (see [`Map`]).
    pub fn map<A, T, F, I>(&self, f: F, items: I) -> ExecutorMap<'_, A, T, I::IntoIter>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let f: Arc<dyn Fn(A) -> T + Send + Sync> = Arc::new(f);
        self.map_jobs(MapJobs {
            f,
            items: items.into_iter(),
        })
    }

    /// Worker threads started so far.
    pub fn worker_count(&self) -> usize {
        self.core.spawned()
    }
}

/// The iterator returned by [`ThreadPoolExecutor::map`].
pub type ExecutorMap<'a, A, T, I> = Map<'a, ThreadPoolExecutor, MapJob<A, T>, MapJobs<A, T, I>>;

/// One item of [`ThreadPoolExecutor::map`]: the shared function and its argument.
pub struct MapJob<A, T> {
    f: Arc<dyn Fn(A) -> T + Send + Sync>,
    arg: A,
}

impl<A, T> fmt::Debug for MapJob<A, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapJob").finish_non_exhaustive()
    }
}

/// The jobs of [`ThreadPoolExecutor::map`]: pairs each item with the function.
pub struct MapJobs<A, T, I> {
    f: Arc<dyn Fn(A) -> T + Send + Sync>,
    items: I,
}

impl<A, T, I: Iterator<Item = A>> Iterator for MapJobs<A, T, I> {
    type Item = MapJob<A, T>;

    fn next(&mut self) -> Option<MapJob<A, T>> {
        let arg = self.items.next()?;
        Some(MapJob {
            f: self.f.clone(),
            arg,
        })
    }
}

impl<A, T, I> fmt::Debug for MapJobs<A, T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapJobs").finish_non_exhaustive()
    }
}

impl<A, T> Submit<MapJob<A, T>> for ThreadPoolExecutor
where
    A: Send + 'static,
    T: Send + Sync + 'static,
{
    type Output = T;

    fn submit(&self, job: MapJob<A, T>) -> Result<Future<T>, SubmitError<MapJob<A, T>>> {
        self.core.submit_call(job)
    }
}

impl<A: Send + 'static, T: 'static> Call for MapJob<A, T> {
    type Output = T;

    fn call(self) -> T {
        (self.f)(self.arg)
    }
}

impl<F, T> Submit<F> for ThreadPoolExecutor
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + Sync + 'static,
{
    type Output = T;

    fn submit(&self, job: F) -> Result<Future<T>, SubmitError<F>> {
        self.core.submit_call(job)
    }
}

impl Executor for ThreadPoolExecutor {
    fn max_workers(&self) -> usize {
        self.core.max_workers()
    }

    fn is_shutdown(&self) -> bool {
        self.core.is_shutdown()
    }

    fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.core.begin_shutdown(cancel_futures);
        if wait {
            self.core.join_workers(None);
        }
    }

    fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> bool {
        self.core.begin_shutdown(cancel_futures);
        self.core.join_workers(Some(deadline_after(timeout)))
    }
}

impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor")
            .field("max_workers", &self.core.max_workers())
            .field("workers", &self.core.spawned())
            .field("shutdown", &self.core.is_shutdown())
            .finish()
    }
}
