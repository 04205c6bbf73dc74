//! The `Executor` and `Submit` traits, and the lazy `Map` iterator every executor gets.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{MapError, SubmitError};
use crate::future::{Future, deadline_after};

/// The life cycle every executor shares: Python's `Executor.shutdown` and `with`.
///
/// Job submission lives in [`Submit`], generic over the kind of job an executor accepts,
/// so a thread pool (closures) and a process pool (calls of registered functions whose
/// arguments are serialised) implement the same two traits, and code written against
/// `E: Submit<J>` switches between them by changing the line that builds the executor.
pub trait Executor {
    /// The most workers this executor runs at once (Python: `max_workers`).
    fn max_workers(&self) -> usize;

    /// `true` once `shutdown` was called: new submissions are refused.
    fn is_shutdown(&self) -> bool;

    /// Python `executor.shutdown(wait, cancel_futures)`: refuse new jobs; with
    /// `cancel_futures`, cancel the jobs not started yet; with `wait`, block until every
    /// started job has finished and the workers are gone. Calling it again is harmless.
    fn shutdown(&self, wait: bool, cancel_futures: bool);

    /// Like `shutdown(true, cancel_futures)` but gives up waiting after `timeout`
    /// (beyond Python, which can only wait forever). Returns `true` if every worker
    /// finished in time; `false` leaves the stragglers to finish on their own.
    fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> bool;
}

/// Python `executor.submit(fn, *args)`: an executor that accepts jobs of type `J`.
///
/// Thread executors implement it for closures `FnOnce() -> T + Send + 'static`. A job is
/// whatever the executor can carry to its workers; nothing here assumes a closure can cross
/// into a worker (a process pool's job is a registered function plus serialisable
/// arguments), and every executor completes the returned [`Future`] the same way, through a
/// [`Promise`](crate::Promise) or its own equivalent.
pub trait Submit<J>: Executor {
    /// What the job produces.
    type Output: Send + Sync + 'static;

    /// Schedules `job` and returns its future.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] with the job handed back: the executor is shut down or broken, or
    /// it has no worker and could not start one.
    fn submit(&self, job: J) -> Result<Future<Self::Output>, SubmitError<J>>;

    /// Python `executor.map` over ready-made jobs: results in input order, computed lazily
    /// with at most `2 × max_workers` jobs in flight, so an endless iterator works
    /// (CPython submits everything first). Use [`Map::window`] and [`Map::timeout`] to
    /// tune it. Dropping the iterator cancels the jobs still queued.
    fn map_jobs<I>(&self, jobs: I) -> Map<'_, Self, J, I::IntoIter>
    where
        Self: Sized,
        I: IntoIterator<Item = J>,
    {
        Map::new(self, jobs.into_iter())
    }
}

/// The lazy, ordered iterator of [`Submit::map_jobs`] and `ThreadPoolExecutor::map`.
///
/// Yields `Ok(value)` or the item's [`MapError`], in input order. At most
/// [`window`](Map::window) items are in flight; the next ones are submitted as results are
/// taken. With a [`timeout`](Map::timeout), an item not ready by the deadline (counted from
/// the moment the timeout is set, like Python's) yields `Err(MapError::Timeout)`, the items
/// in flight are cancelled, and the iterator ends.
#[must_use = "iterators are lazy: nothing is submitted until the map is iterated"]
pub struct Map<'a, E: Submit<J>, J, I> {
    executor: &'a E,
    jobs: I,
    in_flight: VecDeque<Future<E::Output>>,
    window: usize,
    deadline: Option<Instant>,
    refused: bool,
    finished: bool,
}

impl<'a, E, J, I> Map<'a, E, J, I>
where
    E: Submit<J>,
    I: Iterator<Item = J>,
{
    pub(crate) fn new(executor: &'a E, jobs: I) -> Self {
        let window = executor.max_workers().saturating_mul(2).max(1);
        Map {
            executor,
            jobs,
            in_flight: VecDeque::new(),
            window,
            deadline: None,
            refused: false,
            finished: false,
        }
    }

    /// Sets how many items may be in flight at once (at least 1).
    pub fn window(mut self, window: usize) -> Self {
        self.window = window.max(1);
        self
    }

    /// Gives the whole map `timeout` from now (Python `map(..., timeout=)`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some(deadline_after(timeout));
        self
    }

    /// Items submitted and not yet yielded.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    fn refill(&mut self) {
        while !self.refused && self.in_flight.len() < self.window {
            let Some(job) = self.jobs.next() else { break };
            match self.executor.submit(job) {
                Ok(future) => self.in_flight.push_back(future),
                Err(_) => self.refused = true,
            }
        }
    }
}

impl<E: Submit<J>, J, I> Map<'_, E, J, I> {
    fn cancel_all(&mut self) {
        for future in self.in_flight.drain(..) {
            future.cancel();
        }
    }
}

impl<E, J, I> Iterator for Map<'_, E, J, I>
where
    E: Submit<J>,
    I: Iterator<Item = J>,
{
    type Item = Result<E::Output, MapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.refill();
        let Some(front) = self.in_flight.pop_front() else {
            self.finished = true;
            return self.refused.then_some(Err(MapError::ShutDown));
        };
        if let Some(deadline) = self.deadline {
            if !front.wait_deadline(deadline) {
                front.cancel();
                self.cancel_all();
                self.finished = true;
                return Some(Err(MapError::Timeout));
            }
        }
        Some(front.into_result().map_err(MapError::Failed))
    }
}

impl<E: Submit<J>, J, I> Drop for Map<'_, E, J, I> {
    fn drop(&mut self) {
        self.cancel_all();
    }
}

impl<E: Submit<J>, J, I> fmt::Debug for Map<'_, E, J, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.in_flight.len())
            .field("window", &self.window)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
