//! `ThreadPool`: the `multiprocessing.Pool` surface on threads
//! (Python's `multiprocessing.pool.ThreadPool`), one file per concept:
//!
//! * this file: the pool, its builder options, `apply`/`apply_async` and the life cycle
//!   (`close`, `terminate`, `join`);
//! * `map.rs`: `map`, `map_async`, `starmap` — the whole result as one vector, computed by
//!   the shared job of `map_job/` (`unsafe`: runners write results straight into place;
//!   `map_job/items.rs`: where the items come from, a gathered list or a counted range);
//! * `imap.rs`: `imap`, `imap_unordered` — lazy iterators with a bounded window;
//! * `async_result.rs`: [`AsyncResult`], what the `*_async` calls return.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use crate::builder::Builder;
use crate::core::Core;
use crate::error::{ApplyError, BuildError, NotClosedError, SubmitError, TaskError};
use crate::future::deadline_after;

mod async_result;
mod imap;
mod map;
#[allow(unsafe_code)]
mod map_job;

pub use self::async_result::AsyncResult;
pub use self::imap::{IMap, IMapUnordered};
pub use self::map::StarFn;

static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A pool of worker threads with Python's `multiprocessing.Pool` interface:
/// `multiprocessing.pool.ThreadPool`.
///
/// All workers start at once (named `ThreadPool-0_0`, `ThreadPool-0_1`, …). `close` stops
/// new work and lets queued work finish; `join` waits for the workers (an error before
/// `close`, like Python); `terminate` cancels queued work. Dropping the pool is
/// `terminate()` followed by `join()`, Python's `with Pool(...)`.
///
/// # Speed
///
/// Measured beside rayon on 2 workers and 100,000 no-op items (identity on `u64`), the
/// workloads of issue 18: `benches/examples/map_ab.rs` alternates the contenders in one
/// process and reports the median of per-round ratios (rayon's time / skein's, above 1
/// means skein is faster); the criterion groups `pool/map_100k_*` and
/// `pool/submit_wait_100k` time the same code, each contender in its own seconds. Three
/// interleaved runs on the shared 2-core machine (December 2026, load average 3.8–4.1):
///
/// | workload | peer | peer/skein |
/// |---|---|---|
/// | `pool.map(f, 0..n)` | `(0..n).into_par_iter().map(f).collect()` | 1.54× / 1.82× / 1.93× |
/// | `pool.map(f, vec)` | `vec.into_par_iter().map(f).collect()` | 1.14× / 0.93× / 1.21× |
/// | `pool.map(f, iter)` (gathered) | the range `par_iter` above | 1.02× / 0.75× / 1.10× |
/// | `pool.map_chunked(f, 0..n, 1)` | `scope.spawn` per item | 14.5× / 7.2× / 7.2× |
/// | `ThreadPoolExecutor` submit 100k + wait | `scope.spawn` per task | 1.63× / 1.42× / 1.56× |
///
/// A range of integers is split by index, as rayon does: nothing is gathered. Any other
/// iterable is gathered into a list on the caller first (Python's `list(iterable)`),
/// a serial pass of about 20 µs for 100,000 `u64` that rayon, splitting the range by
/// index, never makes — before ranges were split, that pass held `map(f, 0..n)` at
/// 0.57–0.90× rayon. Single criterion runs swing more (a window can fall on a busy
/// second of the shared machine: 0.94–1.43× for the range map in three runs).
///
/// # Examples
///
/// ```
/// use skein_pool::ThreadPool;
///
/// let pool = ThreadPool::new(4).unwrap();
/// let squares = pool.map(|x: u64| x * x, 0..10).unwrap();
/// assert_eq!(squares[9], 81);
/// let job = pool.apply_async(|| "done").unwrap();
/// assert_eq!(*job.get().unwrap(), "done");
/// pool.close();
/// pool.join().unwrap();
/// ```
pub struct ThreadPool {
    pub(crate) core: Arc<Core>,
}

/// Configures a [`ThreadPool`] (Python's `Pool(processes, initializer)`): the shared
/// [`Builder`] with `processes` as its worker count.
pub type PoolBuilder = Builder<ThreadPool>;

impl Builder<ThreadPool> {
    /// Python `processes`: the number of worker threads (default: the CPU count, or 1
    /// when it cannot be known, as Python's `os.cpu_count() or 1`).
    pub fn processes(mut self, n: usize) -> Self {
        self.options.workers = Some(n);
        self
    }

    /// Starts the pool and all its workers.
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `processes` is 0 or a worker thread could not be started (the
    /// workers already started are stopped again).
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        // Python: `os.cpu_count() or 1`.
        let cpus = || std::thread::available_parallelism().map_or(1, |n| n.get());
        let core = Core::new(
            self.options
                .into_config(cpus, "ThreadPool", &POOL_COUNTER)?,
        );
        if let Err(e) = core.spawn_all() {
            core.begin_shutdown(true);
            core.join_workers(None);
            return Err(BuildError::spawn(e));
        }
        Ok(ThreadPool { core })
    }
}

impl ThreadPool {
    /// Python `ThreadPool(processes)`.
    ///
    /// # Errors
    ///
    /// [`BuildError`] if `processes` is 0 or the threads could not be started.
    pub fn new(processes: usize) -> Result<ThreadPool, BuildError> {
        Self::builder().processes(processes).build()
    }

    /// A [`PoolBuilder`] for the other options.
    pub fn builder() -> PoolBuilder {
        Builder::new()
    }

    /// The number of worker threads.
    pub fn processes(&self) -> usize {
        self.core.max_workers()
    }

    /// Python `pool.apply(f)`: runs `f` on a worker and waits for its value.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Refused`] with the job if the pool is not running, or
    /// [`ApplyError::Failed`] if `f` panicked.
    pub fn apply<F, T>(&self, f: F) -> Result<T, ApplyError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + Sync + 'static,
    {
        let future = self.core.submit_call(f).map_err(ApplyError::Refused)?;
        future.into_result().map_err(ApplyError::Failed)
    }

    /// Python `pool.apply_async(f)`: schedules `f` and returns its [`AsyncResult`].
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the job if the pool is closed, terminated or broken.
    pub fn apply_async<F, T>(&self, f: F) -> Result<AsyncResult<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + Sync + 'static,
    {
        self.core.submit_call(f).map(AsyncResult::new)
    }

    /// Python `pool.apply_async(f, callback=, error_callback=)`: `callback` gets the value,
    /// `error_callback` the error, on the worker that finished the job, before the result
    /// is taken out by anyone.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the job if the pool is closed, terminated or broken.
    pub fn apply_async_with<F, T, C, E>(
        &self,
        f: F,
        callback: C,
        error_callback: E,
    ) -> Result<AsyncResult<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + Sync + 'static,
        C: FnOnce(&T) + Send + 'static,
        E: FnOnce(&TaskError) + Send + 'static,
    {
        let future = self.core.submit_call(f)?;
        future.add_done_callback(move |f| match f.result() {
            Ok(v) => callback(v),
            Err(e) => error_callback(&e),
        });
        Ok(AsyncResult::new(future))
    }

    /// Python `pool.close()`: no new work; the workers exit once the queue is done.
    pub fn close(&self) {
        self.core.begin_shutdown(false);
    }

    /// Python `pool.terminate()`: no new work; queued jobs are cancelled (their results
    /// say [`TaskError::Cancelled`]); waits for jobs already running (threads cannot be
    /// killed) and for the workers to exit.
    pub fn terminate(&self) {
        self.core.begin_shutdown(true);
        self.core.join_workers(None);
    }

    /// Python `pool.join()`: waits for the workers to exit.
    ///
    /// # Errors
    ///
    /// [`NotClosedError`] if neither `close` nor `terminate` was called (Python:
    /// `ValueError`).
    pub fn join(&self) -> Result<(), NotClosedError> {
        if !self.core.is_shutdown() {
            return Err(NotClosedError);
        }
        self.core.join_workers(None);
        Ok(())
    }

    /// Like [`join`](ThreadPool::join), giving up after `timeout`; `Ok(true)` if every
    /// worker exited.
    ///
    /// # Errors
    ///
    /// [`NotClosedError`] if the pool was not closed.
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, NotClosedError> {
        if !self.core.is_shutdown() {
            return Err(NotClosedError);
        }
        Ok(self.core.join_workers(Some(deadline_after(timeout))))
    }

    /// Worker threads still running.
    pub fn alive_workers(&self) -> usize {
        self.core.alive()
    }

    pub(crate) fn window(&self) -> usize {
        self.core.max_workers().saturating_mul(2).max(1)
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("processes", &self.core.max_workers())
            .field("closed", &self.core.is_shutdown())
            .finish()
    }
}
