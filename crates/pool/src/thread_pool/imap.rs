//! `ThreadPool::imap` and `imap_unordered`: lazy iterators that submit chunks while fewer
//! than the pool's window are in flight.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use super::ThreadPool;
use crate::error::{MapError, TaskError};
use crate::future::Future;
use crate::wait::{AsCompleted, as_completed};

impl ThreadPool {
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
}

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
