//! `ThreadPool`: the `multiprocessing.Pool` surface on threads
//! (Python's `multiprocessing.pool.ThreadPool`).

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::core::{Core, Entered, Options, Refused};
use crate::error::{
    ApplyError, BuildError, MapError, NotClosedError, NotReadyError, PoolError, ResultTimeoutError,
    SubmitError, TaskError,
};
use crate::future::{Future, deadline_after};
use crate::promise::Promise;
use crate::task::{Runnable, TaskRef};
use crate::wait::{AsCompleted, as_completed};

static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A pool of worker threads with Python's `multiprocessing.Pool` interface:
/// `multiprocessing.pool.ThreadPool`.
///
/// All workers start at once (named `ThreadPool-0_0`, `ThreadPool-0_1`, …). `close` stops
/// new work and lets queued work finish; `join` waits for the workers (an error before
/// `close`, like Python); `terminate` cancels queued work. Dropping the pool is
/// `terminate()` followed by `join()`, Python's `with Pool(...)`.
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
    core: Arc<Core>,
}

/// Configures a [`ThreadPool`] (Python's `Pool(processes, initializer)`).
#[must_use = "a builder does nothing until build() is called"]
pub struct PoolBuilder {
    options: Options,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.options.workers)
            .field("prefix", &self.options.prefix)
            .finish_non_exhaustive()
    }
}

impl PoolBuilder {
    /// Python `processes`: the number of worker threads (default: the CPU count, or 1
    /// when it cannot be known, as Python's `os.cpu_count() or 1`).
    pub fn processes(mut self, n: usize) -> Self {
        self.options.workers = Some(n);
        self
    }

    /// Workers are named `{prefix}_{n}`.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = Some(prefix.into());
        self
    }

    /// Python `initializer`: runs at the start of every worker. If it panics the pool is
    /// broken and every job fails with [`TaskError::Broken`].
    pub fn initializer(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.options.initializer = Some(Arc::new(f));
        self
    }

    /// Stack size of each worker thread, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.stack_size = Some(bytes);
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

/// Python's default `chunksize` for `map`: `ceil(len / (4 × workers))`.
fn default_chunksize(len: usize, workers: usize) -> usize {
    len.div_ceil(workers * 4).max(1)
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
        PoolBuilder {
            options: Options::default(),
        }
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

    /// Python `pool.map(f, iterable)`: all results in order, with Python's default
    /// chunk size (`len / (4 × workers)`, rounded up).
    ///
    /// # Errors
    ///
    /// [`PoolError`]: the pool is not running, or the first item that failed.
    pub fn map<A, T, F, I>(&self, f: F, items: I) -> Result<Vec<T>, PoolError>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let r = self
            .map_async(f, items)
            .map_err(|_| PoolError::NotRunning)?;
        r.into_result().map_err(PoolError::Failed)
    }

    /// Python `pool.map(f, iterable, chunksize)`.
    ///
    /// # Errors
    ///
    /// As [`map`](ThreadPool::map).
    pub fn map_chunked<A, T, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<Vec<T>, PoolError>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        let r = self
            .map_async_chunked(f, items, chunksize)
            .map_err(|_| PoolError::NotRunning)?;
        r.into_result().map_err(PoolError::Failed)
    }

    /// Python `pool.map_async(f, iterable)`: an [`AsyncResult`] of all results in order.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the untouched items if the pool is not running.
    pub fn map_async<A, T, F, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<AsyncResult<Vec<T>>, SubmitError<I::IntoIter>>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(f, items.into_iter(), None)
    }

    /// Python `pool.map_async(f, iterable, chunksize)`: one task per `chunksize` items;
    /// items are moved in chunks, never allocated one by one.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the untouched items if the pool is not running.
    pub fn map_async_chunked<A, T, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<T>>, SubmitError<I::IntoIter>>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_inner(f, items.into_iter(), Some(chunksize.max(1)))
    }

    fn map_async_inner<A, T, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: Option<usize>,
    ) -> Result<AsyncResult<Vec<T>>, SubmitError<I>>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: Iterator<Item = A>,
    {
        let entered = match self.core.enter() {
            Ok(entered) => entered,
            Err(Refused::ShutDown) => return Err(SubmitError::ShutDown(items)),
            Err(Refused::Broken) => return Err(SubmitError::Broken(items)),
        };
        let (promise, future) = Promise::new();
        let (low, high) = items.size_hint();
        // Like `Vec::from_iter`, trust the lower bound for the output's first capacity.
        let collector = Arc::new(Collector::new(promise, low));
        let f: Arc<F> = Arc::new(f);
        match chunksize {
            Some(chunksize) => self.push_chunks(items, chunksize, &f, &collector, &entered),
            None if high == Some(low) => {
                let chunksize = default_chunksize(low, self.processes());
                self.push_chunks(items, chunksize, &f, &collector, &entered)
            }
            None => {
                // Python turns the iterable into a list first to size the chunks.
                let all: Vec<A> = items.collect();
                let chunksize = default_chunksize(all.len(), self.processes());
                self.push_chunks(all.into_iter(), chunksize, &f, &collector, &entered)
            }
        }
        collector.part_done();
        Ok(AsyncResult::new(future))
    }

    /// Cuts `items` into chunks as it goes (one vector per chunk, none per item) and
    /// queues one task per chunk.
    fn push_chunks<A, T, F, I>(
        &self,
        items: I,
        chunksize: usize,
        f: &Arc<F>,
        collector: &Arc<Collector<T>>,
        entered: &Entered<'_>,
    ) where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: Iterator<Item = A>,
    {
        let mut items = items;
        for index in 0.. {
            let chunk: Vec<A> = items.by_ref().take(chunksize).collect();
            if chunk.is_empty() {
                break;
            }
            collector.add_chunk();
            let task = Arc::new(ChunkTask {
                work: Mutex::new(Some((chunk, f.clone()))),
                index,
                collector: collector.clone(),
            });
            self.core.push(TaskRef::new(task), entered);
        }
    }

    /// Python `pool.starmap(f, iterable_of_tuples)`: like [`map`](ThreadPool::map) with the
    /// tuple's fields as arguments (tuples of 1 to 4 fields).
    ///
    /// # Errors
    ///
    /// As [`map`](ThreadPool::map).
    pub fn starmap<Args, F, I>(&self, f: F, items: I) -> Result<Vec<F::Output>, PoolError>
    where
        F: StarFn<Args>,
        Args: Send + 'static,
        I: IntoIterator<Item = Args>,
    {
        self.map(move |args| f.call(args), items)
    }

    /// Python `pool.starmap(f, iterable, chunksize)`.
    ///
    /// # Errors
    ///
    /// As [`map`](ThreadPool::map).
    pub fn starmap_chunked<Args, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> Result<Vec<F::Output>, PoolError>
    where
        F: StarFn<Args>,
        Args: Send + 'static,
        I: IntoIterator<Item = Args>,
    {
        self.map_chunked(move |args| f.call(args), items, chunksize)
    }

    /// Python `pool.starmap_async(f, iterable)`.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the untouched items if the pool is not running.
    pub fn starmap_async<Args, F, I>(
        &self,
        f: F,
        items: I,
    ) -> Result<AsyncResult<Vec<F::Output>>, SubmitError<I::IntoIter>>
    where
        F: StarFn<Args>,
        Args: Send + 'static,
        I: IntoIterator<Item = Args>,
    {
        self.map_async(move |args| f.call(args), items)
    }

    /// Python `pool.imap(f, iterable)`: a lazy iterator of results in order, one item per
    /// task, at most `2 × processes` tasks in flight (so an endless iterator works).
    pub fn imap<A, T, F, I>(&self, f: F, items: I) -> IMap<'_, A, T, I::IntoIter>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.imap_chunked(f, items, 1)
    }

    /// Python `pool.imap(f, iterable, chunksize)`.
    pub fn imap_chunked<A, T, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> IMap<'_, A, T, I::IntoIter>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        IMap::new(self, Arc::new(f), items.into_iter(), chunksize.max(1))
    }

    /// Python `pool.imap_unordered(f, iterable)`: like [`imap`](ThreadPool::imap) but
    /// results come as they complete.
    pub fn imap_unordered<A, T, F, I>(&self, f: F, items: I) -> IMapUnordered<'_, A, T, I::IntoIter>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// Python `pool.imap_unordered(f, iterable, chunksize)`.
    pub fn imap_unordered_chunked<A, T, F, I>(
        &self,
        f: F,
        items: I,
        chunksize: usize,
    ) -> IMapUnordered<'_, A, T, I::IntoIter>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        IMapUnordered::new(self, Arc::new(f), items.into_iter(), chunksize.max(1))
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

    fn window(&self) -> usize {
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

/// Gathers the chunks of one `map_async` into one vector.
///
/// Chunks are appended to the output as soon as they can be (in order: a chunk that
/// finishes early waits in `pending` until those before it are in), so the copying is
/// spread over the workers while the map runs instead of being one long copy at the end.
struct Collector<T: Send + Sync + 'static> {
    parts: Mutex<Assembly<T>>,
    left: AtomicUsize,
    promise: Mutex<Option<Promise<Vec<T>>>>,
}

struct Assembly<T> {
    /// Chunks `0..next`, in order.
    out: Vec<T>,
    next: usize,
    /// Chunk `next + i` is `pending[i]` once it is done.
    pending: VecDeque<Option<Vec<T>>>,
}

impl<T: Send + Sync + 'static> Collector<T> {
    fn new(promise: Promise<Vec<T>>, capacity: usize) -> Collector<T> {
        Collector {
            parts: Mutex::new(Assembly {
                out: Vec::with_capacity(capacity),
                next: 0,
                pending: VecDeque::new(),
            }),
            left: AtomicUsize::new(1), // the submitter's token, released after the last chunk
            promise: Mutex::new(Some(promise)),
        }
    }

    /// Registers the next chunk, before its task is queued.
    fn add_chunk(&self) {
        self.parts.lock().pending.push_back(None);
        self.left.fetch_add(1, Ordering::AcqRel);
    }

    fn put(&self, index: usize, part: Vec<T>) {
        {
            let mut parts = self.parts.lock();
            let Assembly { out, next, pending } = &mut *parts;
            pending[index - *next] = Some(part);
            // `append` moves a whole chunk with one `memcpy`.
            while let Some(Some(_)) = pending.front() {
                if let Some(Some(mut part)) = pending.pop_front() {
                    out.append(&mut part);
                    *next += 1;
                }
            }
        }
        self.part_done();
    }

    /// One chunk (or the submitter's token) is done; the last one hands over the result.
    fn part_done(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            let Some(promise) = self.promise.lock().take() else {
                return;
            };
            let out = std::mem::take(&mut self.parts.lock().out);
            promise.set_result(out);
        }
    }

    fn fail(&self, error: TaskError) {
        // Python fails the whole map on the first error.
        if let Some(promise) = self.promise.lock().take() {
            promise.set_error(error);
        }
    }
}

type ChunkWork<A, F> = (Vec<A>, Arc<F>);

/// One chunk of a `map_async`.
struct ChunkTask<A, T: Send + Sync + 'static, F> {
    work: Mutex<Option<ChunkWork<A, F>>>,
    index: usize,
    collector: Arc<Collector<T>>,
}

impl<A, T, F> Runnable for ChunkTask<A, T, F>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    F: Fn(A) -> T + Send + Sync + 'static,
{
    fn run(self: Arc<Self>) {
        let Some((chunk, f)) = self.work.lock().take() else {
            return;
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            chunk.into_iter().map(|a| f(a)).collect::<Vec<T>>()
        }));
        match outcome {
            Ok(part) => self.collector.put(self.index, part),
            Err(payload) => self.collector.fail(TaskError::from_panic(payload)),
        }
    }

    fn fail(self: Arc<Self>, error: TaskError) {
        drop(self.work.lock().take());
        self.collector.fail(error);
    }
}

/// The result of `apply_async` / `map_async`: Python's `AsyncResult`.
///
/// # Examples
///
/// ```
/// use skein_pool::ThreadPool;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let r = pool.apply_async(|| 7).unwrap();
/// r.wait();
/// assert!(r.ready());
/// assert_eq!(r.successful(), Ok(true));
/// assert_eq!(*r.get().unwrap(), 7);
/// ```
#[must_use = "an AsyncResult does nothing by itself; get() its value or drop it"]
pub struct AsyncResult<T> {
    future: Future<T>,
}

impl<T> AsyncResult<T> {
    fn new(future: Future<T>) -> Self {
        AsyncResult { future }
    }

    /// Python `get()`: waits for the value.
    ///
    /// # Errors
    ///
    /// The job's [`TaskError`].
    pub fn get(&self) -> Result<&T, TaskError> {
        self.future.result()
    }

    /// Python `get(timeout)`.
    ///
    /// # Errors
    ///
    /// [`ResultTimeoutError::Timeout`] if not ready in time, or the job's error.
    pub fn get_timeout(&self, timeout: Duration) -> Result<&T, ResultTimeoutError> {
        self.future.result_timeout(timeout)
    }

    /// Like [`get_timeout`](AsyncResult::get_timeout) with an absolute deadline.
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](AsyncResult::get_timeout).
    pub fn get_deadline(&self, deadline: Instant) -> Result<&T, ResultTimeoutError> {
        self.future.result_deadline(deadline)
    }

    /// Waits, then moves the value out.
    ///
    /// # Errors
    ///
    /// The job's [`TaskError`].
    pub fn into_result(self) -> Result<T, TaskError> {
        self.future.into_result()
    }

    /// Python `wait()`.
    pub fn wait(&self) {
        self.future.wait()
    }

    /// Python `wait(timeout)`; `true` if ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.future.wait_timeout(timeout)
    }

    /// Python `ready()`.
    pub fn ready(&self) -> bool {
        self.future.done()
    }

    /// Python `successful()`: whether the job produced a value.
    ///
    /// # Errors
    ///
    /// [`NotReadyError`] if it is not ready yet (Python: `ValueError`).
    pub fn successful(&self) -> Result<bool, NotReadyError> {
        match self.future.try_result() {
            None => Err(NotReadyError),
            Some(r) => Ok(r.is_ok()),
        }
    }

    /// The underlying [`Future`].
    pub fn into_future(self) -> Future<T> {
        self.future
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .finish()
    }
}

/// A function called with a tuple's fields as arguments: what `starmap` takes.
pub trait StarFn<Args>: Send + Sync + 'static {
    /// What the function returns.
    type Output: Send + Sync + 'static;
    /// Calls the function with the fields of `args`.
    fn call(&self, args: Args) -> Self::Output;
}

macro_rules! star_fn {
    ($($arg:ident),+) => {
        impl<Func, Out, $($arg),+> StarFn<($($arg,)+)> for Func
        where
            Func: Fn($($arg),+) -> Out + Send + Sync + 'static,
            Out: Send + Sync + 'static,
        {
            type Output = Out;
            #[allow(non_snake_case)]
            fn call(&self, ($($arg,)+): ($($arg,)+)) -> Out {
                self($($arg),+)
            }
        }
    };
}

star_fn!(A);
star_fn!(A, B);
star_fn!(A, B, C);
star_fn!(A, B, C, D);

type ChunkOut<T> = Vec<Result<T, TaskError>>;

/// A chunk's future and its length.
type SubmittedChunk<T> = (Future<ChunkOut<T>>, usize);

fn run_chunk<A, T>(f: &(dyn Fn(A) -> T + Send + Sync), chunk: Vec<A>) -> ChunkOut<T> {
    chunk
        .into_iter()
        .map(|a| panic::catch_unwind(AssertUnwindSafe(|| f(a))).map_err(TaskError::from_panic))
        .collect()
}

/// The input side of [`IMap`] and [`IMapUnordered`]: cuts `items` into chunks and submits
/// them while fewer than the pool's window are in flight.
struct Feed<'a, A, T, I> {
    pool: &'a ThreadPool,
    f: Arc<dyn Fn(A) -> T + Send + Sync>,
    items: I,
    chunksize: usize,
    /// The pool refused a chunk: nothing more is submitted.
    refused: bool,
}

impl<'a, A, T, I> Feed<'a, A, T, I>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    fn new(
        pool: &'a ThreadPool,
        f: Arc<dyn Fn(A) -> T + Send + Sync>,
        items: I,
        chunksize: usize,
    ) -> Self {
        Feed {
            pool,
            f,
            items,
            chunksize,
            refused: false,
        }
    }

    /// Submits the next chunk if `in_flight` is below the window; `None` when the window
    /// is full, `items` is exhausted, or the pool refused (which sets `refused`).
    fn next_chunk(&mut self, in_flight: usize) -> Option<SubmittedChunk<T>> {
        if self.refused || in_flight >= self.pool.window() {
            return None;
        }
        let chunk: Vec<A> = self.items.by_ref().take(self.chunksize).collect();
        if chunk.is_empty() {
            return None;
        }
        let len = chunk.len();
        let f = self.f.clone();
        match self.pool.core.submit_call(move || run_chunk(&*f, chunk)) {
            Ok(future) => Some((future, len)),
            Err(_) => {
                self.refused = true;
                None
            }
        }
    }
}

fn chunk_results<T>(future: Future<ChunkOut<T>>, len: usize) -> VecDeque<Result<T, MapError>> {
    match future.into_result() {
        Ok(items) => items
            .into_iter()
            .map(|r| r.map_err(MapError::Failed))
            .collect(),
        Err(e) => (0..len).map(|_| Err(MapError::Failed(e.clone()))).collect(),
    }
}

/// The lazy, ordered iterator of [`ThreadPool::imap`].
///
/// Items that fail yield their error; if the pool is closed before the rest are
/// submitted, those yield [`MapError::ShutDown`] and the iterator ends. Dropping it cancels
/// the chunks still queued.
#[must_use = "iterators are lazy: nothing is submitted until iterated"]
pub struct IMap<'a, A, T: Send + Sync + 'static, I> {
    feed: Feed<'a, A, T, I>,
    in_flight: VecDeque<SubmittedChunk<T>>,
    current: VecDeque<Result<T, MapError>>,
    finished: bool,
}

impl<'a, A, T, I> IMap<'a, A, T, I>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    fn new(
        pool: &'a ThreadPool,
        f: Arc<dyn Fn(A) -> T + Send + Sync>,
        items: I,
        chunksize: usize,
    ) -> Self {
        IMap {
            feed: Feed::new(pool, f, items, chunksize),
            in_flight: VecDeque::new(),
            current: VecDeque::new(),
            finished: false,
        }
    }
}

impl<A, T, I> Iterator for IMap<'_, A, T, I>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    type Item = Result<T, MapError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.pop_front() {
                return Some(item);
            }
            while let Some(chunk) = self.feed.next_chunk(self.in_flight.len()) {
                self.in_flight.push_back(chunk);
            }
            match self.in_flight.pop_front() {
                Some((future, len)) => self.current = chunk_results(future, len),
                None if self.feed.refused && !self.finished => {
                    self.finished = true;
                    return Some(Err(MapError::ShutDown));
                }
                None => return None,
            }
        }
    }
}

impl<A, T: Send + Sync + 'static, I> Drop for IMap<'_, A, T, I> {
    fn drop(&mut self) {
        for (future, _) in self.in_flight.drain(..) {
            future.cancel();
        }
    }
}

impl<A, T: Send + Sync + 'static, I> fmt::Debug for IMap<'_, A, T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMap")
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

/// The lazy iterator of [`ThreadPool::imap_unordered`]: results as chunks complete.
#[must_use = "iterators are lazy: nothing is submitted until iterated"]
pub struct IMapUnordered<'a, A, T: Send + Sync + 'static, I> {
    feed: Feed<'a, A, T, I>,
    in_flight: AsCompleted<ChunkOut<T>>,
    lens: Vec<usize>,
    current: VecDeque<Result<T, MapError>>,
    done: bool,
}

impl<'a, A, T, I> IMapUnordered<'a, A, T, I>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    fn new(
        pool: &'a ThreadPool,
        f: Arc<dyn Fn(A) -> T + Send + Sync>,
        items: I,
        chunksize: usize,
    ) -> Self {
        IMapUnordered {
            feed: Feed::new(pool, f, items, chunksize),
            in_flight: as_completed(Vec::new()),
            lens: Vec::new(),
            current: VecDeque::new(),
            done: false,
        }
    }
}

impl<A, T, I> Iterator for IMapUnordered<'_, A, T, I>
where
    A: Send + 'static,
    T: Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    type Item = Result<T, MapError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            while let Some((future, len)) = self.feed.next_chunk(self.in_flight.pending()) {
                let slot = self.in_flight.push_indexed(future);
                if slot >= self.lens.len() {
                    self.lens.resize(slot + 1, 0);
                }
                self.lens[slot] = len;
            }
            match self.in_flight.next_indexed() {
                Some((index, future)) => {
                    self.current = chunk_results(future, self.lens[index]);
                }
                None => {
                    self.done = true;
                    if self.feed.refused {
                        return Some(Err(MapError::ShutDown));
                    }
                    return None;
                }
            }
        }
    }
}

impl<A, T: Send + Sync + 'static, I> Drop for IMapUnordered<'_, A, T, I> {
    fn drop(&mut self) {
        let in_flight = std::mem::replace(&mut self.in_flight, as_completed(Vec::new()));
        for future in in_flight.into_pending() {
            future.cancel();
        }
    }
}

impl<A, T: Send + Sync + 'static, I> fmt::Debug for IMapUnordered<'_, A, T, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMapUnordered")
            .field("in_flight", &self.in_flight.pending())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::{Collector, default_chunksize};
    use crate::promise::Promise;

    #[test]
    fn chunks_finishing_out_of_order_are_assembled_in_order() {
        let (promise, future) = Promise::new();
        let collector = Collector::new(promise, 0);
        for _ in 0..4 {
            collector.add_chunk();
        }
        collector.put(2, vec![4, 5]);
        collector.put(0, vec![0, 1]);
        assert_eq!(
            collector.parts.lock().out,
            [0, 1],
            "chunk 2 waits for chunk 1"
        );
        collector.put(3, vec![6]);
        collector.put(1, vec![2, 3]);
        assert!(!future.done(), "the submitter's token is still out");
        collector.part_done();
        assert_eq!(*future.result().unwrap(), [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn default_chunksize_matches_python() {
        // Python: chunksize, extra = divmod(len, workers * 4); if extra: chunksize += 1
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(32, 4), 2);
        assert_eq!(default_chunksize(0, 4), 1);
        assert_eq!(default_chunksize(1, 8), 1);
    }
}
