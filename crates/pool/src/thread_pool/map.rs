//! `ThreadPool::map`, `map_async` and `starmap`: the whole result as one vector, the
//! items cut into chunks (Python's `chunksize`).

use super::map_job;
use super::{AsyncResult, ThreadPool};
use crate::core::Refused;
use crate::error::{PoolError, SubmitError, TaskError};
use crate::promise::Promise;

impl ThreadPool {
    /// Python `pool.map(f, iterable)`: all results in order, with Python's default
    /// chunk size (`len / (4 × workers)`, rounded up).
    ///
    /// Like Python, the iterable is consumed on the caller's thread before any result is
    /// in (it is gathered into a list, once); a range of integers (`0..n` of any integer
    /// type) is not gathered but split by index, its items computed by the workers.
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

    /// Python `pool.map_async(f, iterable, callback=, error_callback=)`: like
    /// [`map_async`](ThreadPool::map_async), and once the map is done exactly one of
    /// `callback` (with all the results, in order) and `error_callback` (with the first
    /// failure) runs, on the worker that finished it, before the result is taken out by
    /// anyone. For a chunk size, use [`map_async_chunked`](ThreadPool::map_async_chunked)
    /// and [`AsyncResult::into_future`] + [`add_done_callback`](crate::Future::add_done_callback).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the untouched items if the pool is not running (no callback
    /// runs).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = skein_pool::ThreadPool::new(2).unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// let tx2 = tx.clone();
    /// let r = pool
    ///     .map_async_with(
    ///         |x: u32| x * x,
    ///         0..4,
    ///         move |squares: &[u32]| tx.send(format!("{squares:?}")).unwrap(),
    ///         move |e| tx2.send(e.to_string()).unwrap(),
    ///     )
    ///     .unwrap();
    /// assert_eq!(r.get().unwrap(), &[0, 1, 4, 9]);
    /// assert_eq!(rx.recv().unwrap(), "[0, 1, 4, 9]");
    /// ```
    pub fn map_async_with<A, T, F, I, C, E>(
        &self,
        f: F,
        items: I,
        callback: C,
        error_callback: E,
    ) -> Result<AsyncResult<Vec<T>>, SubmitError<I::IntoIter>>
    where
        F: Fn(A) -> T + Send + Sync + 'static,
        A: Send + 'static,
        T: Send + Sync + 'static,
        I: IntoIterator<Item = A>,
        C: FnOnce(&[T]) + Send + 'static,
        E: FnOnce(&TaskError) + Send + 'static,
    {
        let future = self
            .map_async_inner(f, items.into_iter(), None)?
            .into_future();
        future.add_done_callback(move |f| match f.result() {
            Ok(values) => callback(values),
            Err(e) => error_callback(&e),
        });
        Ok(AsyncResult::new(future))
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
        // Workers that went to sleep take a while to wake: start that now, while the job
        // is set up (and a non-range iterable gathered).
        self.core.wake_sleepers();
        let (promise, future) = Promise::new();
        // Python turns the iterable into a list first (to size the chunks); so do we, once,
        // except for a range, which is split by index; the runners move the items out of
        // the list or count them (see `map_job`).
        map_job::start(
            items,
            f,
            chunksize,
            self.processes(),
            promise,
            self.core.cancel_flag(),
            &mut |task| self.core.push(task, &entered),
        );
        Ok(AsyncResult::new(future))
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
    use super::map_job::default_chunksize;

    #[test]
    fn default_chunksize_matches_python() {
        // Python: chunksize, extra = divmod(len, workers * 4); if extra: chunksize += 1
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(32, 4), 2);
        assert_eq!(default_chunksize(0, 4), 1);
        assert_eq!(default_chunksize(1, 8), 1);
    }
}
