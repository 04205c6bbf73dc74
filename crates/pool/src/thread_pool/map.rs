//! `ThreadPool::map`, `map_async` and `starmap`: the whole result as one vector, the
//! items cut into chunks (Python's `chunksize`).

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::{AsyncResult, ThreadPool};
use crate::core::{Entered, Refused};
use crate::error::{PoolError, SubmitError, TaskError};
use crate::promise::Promise;
use crate::task::{Runnable, TaskRef};

/// Python's default `chunksize` for `map`: `ceil(len / (4 × workers))`.
fn default_chunksize(len: usize, workers: usize) -> usize {
    len.div_ceil(workers * 4).max(1)
}

impl ThreadPool {
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
