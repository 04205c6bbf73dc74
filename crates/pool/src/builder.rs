//! `Builder<P>`: the one builder of both thread pools. The options they share (thread
//! names, initializer, stack size) are set here once; each pool adds its own worker-count
//! setter (Python's `max_workers` / `processes`) and its `build` in its own module.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::core::Options;
use crate::thread_executor::ThreadPoolExecutor;

/// Configures a thread pool: [`ThreadPoolExecutor::builder`] (Python's
/// `ThreadPoolExecutor(max_workers, thread_name_prefix, initializer)`) or, as
/// [`PoolBuilder`](crate::PoolBuilder), [`ThreadPool::builder`](crate::ThreadPool::builder)
/// (Python's `ThreadPool(processes, initializer)`).
///
/// `P` is the pool it builds; the shared setters are the same for both, the worker count
/// is `max_workers` for the executor and `processes` for the pool, as in Python.
///
/// # Examples
///
/// ```
/// use skein_pool::{ThreadPool, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(4)
///     .thread_name_prefix("io")
///     .initializer(|| println!("worker up"))
///     .build()
///     .unwrap();
/// let mp = ThreadPool::builder().processes(2).stack_size(1 << 20).build().unwrap();
/// # drop((pool, mp));
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct Builder<P = ThreadPoolExecutor> {
    pub(crate) options: Options,
    pool: PhantomData<fn() -> P>,
}

impl<P> Builder<P> {
    pub(crate) fn new() -> Self {
        Builder {
            options: Options::default(),
            pool: PhantomData,
        }
    }

    /// Python `thread_name_prefix`: workers are named `{prefix}_{n}` (default:
    /// `ThreadPoolExecutor-{k}` or `ThreadPool-{k}`, `k` counting pools of that kind).
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = Some(prefix.into());
        self
    }

    /// Python `initializer`: runs at the start of every worker (the closure captures what
    /// Python passes as `initargs`). If it panics the pool is broken: pending and later
    /// jobs fail with [`TaskError::Broken`](crate::TaskError::Broken) (Python:
    /// `BrokenThreadPool`).
    pub fn initializer(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.options.initializer = Some(Arc::new(f));
        self
    }

    /// Stack size of each worker thread, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.stack_size = Some(bytes);
        self
    }
}

impl<P> fmt::Debug for Builder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.options.workers)
            .field("thread_name_prefix", &self.options.prefix)
            .field("stack_size", &self.options.stack_size)
            .finish_non_exhaustive()
    }
}
