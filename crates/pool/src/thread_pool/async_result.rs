//! `AsyncResult`: what `apply_async` and `map_async` return (Python's `AsyncResult`).

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{NotReadyError, ResultTimeoutError, TaskError};
use crate::future::Future;

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
    pub(crate) fn new(future: Future<T>) -> Self {
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
