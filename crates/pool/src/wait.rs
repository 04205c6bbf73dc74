//! `wait` and `as_completed`: blocking on many futures at once.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::TimeoutError;
use crate::future::{Future, Waiter, deadline_after};

/// When [`wait`] returns: Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`, `ALL_COMPLETED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any future is done (or cancelled).
    FirstCompleted,
    /// As soon as any future fails (panics, is lost or broken; a cancel does not count),
    /// or when all are done.
    FirstException,
    /// When all futures are done.
    AllCompleted,
}

/// What [`wait`] found: indices into the slice it was given (Python returns two sets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Done {
    /// Indices of the futures that are done, ascending.
    pub done: Vec<usize>,
    /// Indices of the futures that are not done, ascending.
    pub not_done: Vec<usize>,
}

/// Python `concurrent.futures.wait(fs, return_when=...)`: blocks until the condition holds.
///
/// # Examples
///
/// ```
/// use skein_pool::{ReturnWhen, Submit, ThreadPoolExecutor, wait};
///
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let futures = vec![
///     pool.submit(move || { rx.recv().ok(); 1 }).unwrap(),
///     pool.submit(|| 2).unwrap(),
/// ];
/// let found = wait(&futures, ReturnWhen::FirstCompleted);
/// assert_eq!(found.done, vec![1]);
/// tx.send(()).unwrap();
/// ```
pub fn wait<T>(futures: &[Future<T>], return_when: ReturnWhen) -> Done {
    wait_until(futures, return_when, None)
}

/// Python `wait(fs, timeout, return_when)`: like [`wait`], returning after `timeout` with
/// whatever is done by then.
pub fn wait_timeout<T>(futures: &[Future<T>], return_when: ReturnWhen, timeout: Duration) -> Done {
    wait_until(futures, return_when, Some(deadline_after(timeout)))
}

/// Like [`wait_timeout`] with an absolute deadline.
pub fn wait_deadline<T>(futures: &[Future<T>], return_when: ReturnWhen, deadline: Instant) -> Done {
    wait_until(futures, return_when, Some(deadline))
}

fn split<T>(futures: &[Future<T>]) -> Done {
    let mut out = Done::default();
    for (i, f) in futures.iter().enumerate() {
        if f.done() {
            out.done.push(i)
        } else {
            out.not_done.push(i)
        }
    }
    out
}

fn satisfied<T>(futures: &[Future<T>], return_when: ReturnWhen) -> bool {
    match return_when {
        ReturnWhen::FirstCompleted => futures.is_empty() || futures.iter().any(Future::done),
        ReturnWhen::FirstException => {
            futures.iter().any(Future::is_err) || futures.iter().all(Future::done)
        }
        ReturnWhen::AllCompleted => futures.iter().all(Future::done),
    }
}

fn wait_until<T>(
    futures: &[Future<T>],
    return_when: ReturnWhen,
    deadline: Option<Instant>,
) -> Done {
    if return_when == ReturnWhen::AllCompleted {
        // No need to watch them all at once: wait for each in turn.
        for f in futures {
            match deadline {
                None => f.wait(),
                Some(d) => {
                    if !f.wait_deadline(d) {
                        break;
                    }
                }
            }
        }
        return split(futures);
    }
    if satisfied(futures, return_when) {
        return split(futures);
    }
    let waiter = Waiter::new();
    for (i, f) in futures.iter().enumerate() {
        if !f.add_waiter(&waiter, i) {
            waiter.notify(i);
        }
    }
    loop {
        if satisfied(futures, return_when) {
            break;
        }
        let ready = waiter.take(deadline);
        if ready.is_empty() {
            break; // deadline passed
        }
    }
    for f in futures {
        f.remove_waiter(&waiter);
    }
    split(futures)
}

/// Python `concurrent.futures.as_completed(fs)`: yields each future once, as it completes
/// (those already done first).
///
/// # Examples
///
/// ```
/// use skein_pool::{Submit, ThreadPoolExecutor, as_completed};
///
/// let pool = ThreadPoolExecutor::new(3).unwrap();
/// let futures: Vec<_> = (0..5).map(|i| pool.submit(move || i * i).unwrap()).collect();
/// let mut squares: Vec<i32> = as_completed(futures).map(|f| *f.result().unwrap()).collect();
/// squares.sort();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// ```
pub fn as_completed<T, I>(futures: I) -> AsCompleted<T>
where
    I: IntoIterator<Item = Future<T>>,
{
    let mut it = AsCompleted {
        futures: Vec::new(),
        pending: 0,
        total: 0,
        ready: VecDeque::new(),
        free: Vec::new(),
        waiter: Waiter::new(),
    };
    for f in futures {
        it.push(f);
    }
    it
}

/// The iterator of [`as_completed`]. Python's `timeout` is [`next_timeout`] /
/// [`next_deadline`].
///
/// [`next_timeout`]: AsCompleted::next_timeout
/// [`next_deadline`]: AsCompleted::next_deadline
#[must_use = "iterators are lazy"]
pub struct AsCompleted<T> {
    futures: Vec<Option<Future<T>>>,
    pending: usize,
    /// Futures ever given (Python's `len(fs)`, for the timeout message).
    total: usize,
    ready: VecDeque<usize>,
    free: Vec<usize>,
    waiter: Arc<Waiter>,
}

impl<T> AsCompleted<T> {
    /// Adds one more future to watch.
    pub fn push(&mut self, future: Future<T>) {
        self.push_indexed(future);
    }

    /// Adds a future and returns its slot (slots of yielded futures are reused, so an
    /// endless stream of pushes stays bounded).
    pub(crate) fn push_indexed(&mut self, future: Future<T>) -> usize {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.futures.push(None);
                self.futures.len() - 1
            }
        };
        if !future.add_waiter(&self.waiter, index) {
            self.ready.push_back(index);
        }
        self.futures[index] = Some(future);
        self.pending += 1;
        self.total += 1;
        index
    }

    /// Futures not yet yielded.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// The next future to complete, waiting at most until `deadline`.
    ///
    /// # Errors
    ///
    /// [`TimeoutError`] if none completed in time (Python raises `TimeoutError`); it
    /// counts the futures still unfinished.
    pub fn next_deadline(&mut self, deadline: Instant) -> Result<Option<Future<T>>, TimeoutError> {
        self.next_until(Some(deadline))
    }

    /// The next future to complete, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`TimeoutError`] if none completed in time.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Future<T>>, TimeoutError> {
        self.next_deadline(deadline_after(timeout))
    }

    /// The futures not yet yielded, in the order they were given.
    pub fn into_pending(mut self) -> Vec<Future<T>> {
        let mut out = Vec::new();
        for f in self.futures.iter_mut().filter_map(Option::take) {
            f.remove_waiter(&self.waiter);
            out.push(f);
        }
        self.pending = 0;
        out
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Result<Option<Future<T>>, TimeoutError> {
        Ok(self.next_indexed_until(deadline)?.map(|(_, f)| f))
    }

    /// The next completed future with its position in push order.
    pub(crate) fn next_indexed(&mut self) -> Option<(usize, Future<T>)> {
        self.next_indexed_until(None).unwrap_or(None)
    }

    fn next_indexed_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<(usize, Future<T>)>, TimeoutError> {
        loop {
            while let Some(index) = self.ready.pop_front() {
                if let Some(f) = self.futures.get_mut(index).and_then(Option::take) {
                    self.pending -= 1;
                    self.free.push(index);
                    return Ok(Some((index, f)));
                }
            }
            if self.pending == 0 {
                return Ok(None);
            }
            let ready = self.waiter.take(deadline);
            if ready.is_empty() {
                return Err(TimeoutError::new(self.pending, self.total));
            }
            self.ready.extend(ready);
        }
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Future<T>;

    fn next(&mut self) -> Option<Future<T>> {
        self.next_until(None).unwrap_or(None)
    }
}

impl<T> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        for f in self.futures.iter().flatten() {
            f.remove_waiter(&self.waiter);
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("pending", &self.pending)
            .finish()
    }
}
