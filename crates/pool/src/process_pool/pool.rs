//! `ProcessPool`: Python's `multiprocessing.Pool`, healing.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_process::FnRef;

use super::call::Call;
use super::engine::Engine;
use super::results::{ApplyResult, IMapIterator, IMapUnorderedIterator, MapResult};
use super::settings::ProcessPoolBuilder;
use super::submit::{self, ProgressHook, submit_call};
use crate::error::{ApplyError, BuildError, NotClosedError, PoolError, SubmitError, TaskError};
use crate::future::deadline_after;

/// A pool of worker processes with Python's `multiprocessing.Pool` surface: `apply`,
/// `apply_async` (with callbacks), `map`/`map_async`/`starmap`/`imap`/`imap_unordered`
/// with `chunksize`, `close`/`join`/`terminate`, `initializer`, `maxtasksperchild`.
///
/// Tasks are plain functions with serde arguments and results (see [`Call`]); a map's items
/// are serialised when it is submitted, in chunks (Python's default chunk size,
/// `ceil(len / (4 × processes))`, unless given). It heals like
/// [`ProcessPoolExecutor`](crate::ProcessPoolExecutor): a dead worker fails only its task
/// (a map chunk: the chunk's items), where CPython's `Pool` hangs (cpython#96062).
///
/// Dropping the pool is Python's `with Pool() as p:` exit: `terminate()` then `join()`.
///
/// # Examples
///
/// ```
/// use skein_pool::ProcessPool;
///
/// fn f(x: i64) -> i64 {
///     x * x
/// }
///
/// let pool = ProcessPool::builder()
///     .processes(2)
///     .start_method(skein_process::StartMethod::Fork)
///     .build()
///     .unwrap();
/// assert_eq!(pool.map(f, [1, 2, 3]).unwrap(), [1, 4, 9]);
/// assert_eq!(pool.apply(f, 10).unwrap(), 100);
/// pool.close();
/// pool.join().unwrap();
/// ```
pub struct ProcessPool {
    pub(crate) engine: Arc<Engine>,
}

impl ProcessPool {
    /// Python `Pool(processes)`, with the default start method.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for 0 processes or when a worker cannot start.
    pub fn new(processes: usize) -> Result<ProcessPool, BuildError> {
        Self::builder().processes(processes).build()
    }

    /// A builder for the other options (start method, initializer, maxtasksperchild).
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// The number of worker processes.
    pub fn processes(&self) -> usize {
        self.engine.opts.workers
    }

    /// Python `pool.apply(f, (args,))`: runs `f(args)` in a worker and waits.
    ///
    /// # Errors
    ///
    /// [`ApplyError::Refused`] (the call handed back) or [`ApplyError::Failed`].
    pub fn apply<A, R>(&self, f: fn(A) -> R, args: A) -> Result<R, ApplyError<Call<A, R>>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let r = self.apply_async(f, args).map_err(ApplyError::Refused)?;
        r.into_result().map_err(ApplyError::Failed)
    }

    /// Python `pool.apply_async(f, (args,))`.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the call handed back: the pool is closed or broken, the
    /// arguments cannot be serialised, or no worker can start.
    pub fn apply_async<A, R>(
        &self,
        f: fn(A) -> R,
        args: A,
    ) -> Result<ApplyResult<R>, SubmitError<Call<A, R>>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        self.submit(Call::new(f, args))
    }

    /// Like [`apply_async`](ProcessPool::apply_async) for a ready-made [`Call`] (with a
    /// [`timeout`](Call::timeout), say).
    ///
    /// # Errors
    ///
    /// As [`apply_async`](ProcessPool::apply_async).
    pub fn submit<A, R>(&self, call: Call<A, R>) -> Result<ApplyResult<R>, SubmitError<Call<A, R>>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let future = submit_call(&self.engine, call)?;
        Ok(ApplyResult {
            future,
            progress: None,
        })
    }

    /// Python `apply_async(f, args, callback=, error_callback=)`: `callback` gets the value,
    /// `error_callback` the error; both run in this process (on the pool's result thread,
    /// as in Python), exactly one of them once.
    ///
    /// # Errors
    ///
    /// As [`apply_async`](ProcessPool::apply_async) (no callback runs then).
    pub fn apply_async_with<A, R, C, E>(
        &self,
        f: fn(A) -> R,
        args: A,
        callback: C,
        error_callback: E,
    ) -> Result<ApplyResult<R>, SubmitError<Call<A, R>>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        C: FnOnce(&R) + Send + 'static,
        E: FnOnce(&TaskError) + Send + 'static,
    {
        let r = self.apply_async(f, args)?;
        r.future.add_done_callback(move |f| match f.result() {
            Ok(v) => callback(v),
            Err(e) => error_callback(&e),
        });
        Ok(r)
    }

    /// Python `pool.map(f, items)`: blocks until every item is done; values in order.
    ///
    /// # Errors
    ///
    /// [`PoolError::Failed`] with the first failed item's error (by position),
    /// [`PoolError::Encode`] if an item cannot be serialised (nothing ran),
    /// [`PoolError::NotRunning`] after `close`/`terminate`.
    pub fn map<A, R, I>(&self, f: fn(A) -> R, items: I) -> Result<Vec<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_chunked(f, items, None)
    }

    /// Python `pool.map(f, items, chunksize)`; `None` is Python's default chunk size.
    ///
    /// # Errors
    ///
    /// As [`map`](ProcessPool::map).
    pub fn map_chunked<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<Vec<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let r = self.map_async_chunked(f, items, chunksize)?;
        r.into_result().map_err(PoolError::Failed)
    }

    /// Python `pool.map_async(f, items)`.
    ///
    /// # Errors
    ///
    /// [`PoolError::Encode`] or [`PoolError::NotRunning`] at submission.
    pub fn map_async<A, R, I>(&self, f: fn(A) -> R, items: I) -> Result<MapResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_chunked(f, items, None)
    }

    /// Python `pool.map_async(f, items, chunksize)`.
    ///
    /// # Errors
    ///
    /// As [`map_async`](ProcessPool::map_async).
    pub fn map_async_chunked<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<MapResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let items: Vec<A> = items.into_iter().collect();
        submit::submit_map(
            &self.engine,
            FnRef::of_map(f).to_bytes(),
            items,
            chunksize,
            None,
        )
    }

    /// `map` with a progress hook (mpire's `progress_bar`): `progress(done, total)` runs in
    /// this process each time a chunk finishes. The returned [`MapResult`] also counts
    /// ([`completed`](ApplyResult::completed) / [`total`](ApplyResult::total)).
    ///
    /// # Errors
    ///
    /// As [`map_async`](ProcessPool::map_async).
    pub fn map_async_progress<A, R, I, P>(
        &self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
        progress: P,
    ) -> Result<MapResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        P: Fn(usize, usize) + Send + Sync + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let hook: ProgressHook = Box::new(progress);
        submit::submit_map(
            &self.engine,
            FnRef::of_map(f).to_bytes(),
            items,
            chunksize,
            Some(hook),
        )
    }

    /// Python `pool.starmap(f, [(a, b), …])` for a two-argument `f`.
    ///
    /// # Errors
    ///
    /// As [`map`](ProcessPool::map).
    pub fn starmap<A, B, R, I>(&self, f: fn(A, B) -> R, items: I) -> Result<Vec<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        B: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = (A, B)>,
    {
        self.starmap_async(f, items, None)?
            .into_result()
            .map_err(PoolError::Failed)
    }

    /// Python `pool.starmap_async(f, items, chunksize)`.
    ///
    /// # Errors
    ///
    /// As [`map_async`](ProcessPool::map_async).
    pub fn starmap_async<A, B, R, I>(
        &self,
        f: fn(A, B) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<MapResult<R>, PoolError>
    where
        A: Serialize + DeserializeOwned + 'static,
        B: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = (A, B)>,
    {
        let items: Vec<(A, B)> = items.into_iter().collect();
        submit::submit_map(
            &self.engine,
            FnRef::of_map2(f).to_bytes(),
            items,
            chunksize,
            None,
        )
    }

    /// Python `pool.imap(f, items)`: lazy, in order (see [`IMapIterator`]). The chunk size
    /// is Python's `map` default when the input's length is known, else 1.
    pub fn imap<'a, A, R, I>(&'a self, f: fn(A) -> R, items: I) -> IMapIterator<'a, R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.imap_chunked(f, items, None)
    }

    /// Python `pool.imap(f, items, chunksize)`.
    pub fn imap_chunked<'a, A, R, I>(
        &'a self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> IMapIterator<'a, R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        submit::imap(
            &self.engine,
            FnRef::of_map(f).to_bytes(),
            items.into_iter(),
            chunksize,
            true,
        )
    }

    /// Python `pool.imap_unordered(f, items)`: results as they finish.
    pub fn imap_unordered<'a, A, R, I>(
        &'a self,
        f: fn(A) -> R,
        items: I,
    ) -> IMapUnorderedIterator<'a, R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        self.imap_unordered_chunked(f, items, None)
    }

    /// Python `pool.imap_unordered(f, items, chunksize)`.
    pub fn imap_unordered_chunked<'a, A, R, I>(
        &'a self,
        f: fn(A) -> R,
        items: I,
        chunksize: Option<usize>,
    ) -> IMapUnorderedIterator<'a, R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'a,
    {
        submit::imap(
            &self.engine,
            FnRef::of_map(f).to_bytes(),
            items.into_iter(),
            chunksize,
            false,
        )
    }

    /// Python `pool.close()`: no more tasks; the workers leave once the queued ones are done.
    pub fn close(&self) {
        self.engine.close(false);
    }

    /// Python `pool.terminate()`: stops the workers now (`SIGTERM`, then `SIGKILL` after the
    /// grace period); queued tasks are cancelled and running ones fail.
    pub fn terminate(&self) {
        self.engine.terminate();
        self.engine.join_manager(None);
    }

    /// Python `pool.join()`: waits for the workers to leave, after `close` or `terminate`.
    ///
    /// # Errors
    ///
    /// [`NotClosedError`] if the pool is still open (Python: `ValueError`).
    pub fn join(&self) -> Result<(), NotClosedError> {
        if !self.engine.is_closed() {
            return Err(NotClosedError);
        }
        self.engine.join_manager(None);
        Ok(())
    }

    /// `join` with a time limit; `Ok(false)` if the workers are still running.
    ///
    /// # Errors
    ///
    /// [`NotClosedError`] if the pool is still open.
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, NotClosedError> {
        if !self.engine.is_closed() {
            return Err(NotClosedError);
        }
        Ok(self.engine.join_manager(Some(deadline_after(timeout))))
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

    /// `true` once the initializer failed in a worker.
    pub fn is_broken(&self) -> bool {
        self.engine.is_broken()
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        if !self.engine.is_finished() {
            self.engine.terminate();
        }
        self.engine.join_manager(None);
    }
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool")
            .field("processes", &self.engine.opts.workers)
            .field("context", &self.engine.opts.context)
            .field("closed", &self.engine.is_closed())
            .finish_non_exhaustive()
    }
}
