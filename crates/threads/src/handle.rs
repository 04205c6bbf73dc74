//! `JoinHandle<T>`: the owner of a spawned thread's result.

use std::any::Any;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{JoinError, JoinTimeoutError, panic_message};
use crate::registry;
use crate::thread::Thread;

type Outcome<T> = Result<T, Box<dyn Any + Send + 'static>>;

/// Owns a spawned thread's result: [`join`](JoinHandle::join) waits for the thread and
/// returns what its closure returned, or its panic as a [`JoinError`].
///
/// Dropping the handle detaches the thread (it keeps running; it stays in
/// [`enumerate`](crate::enumerate) until it ends). [`thread`](JoinHandle::thread) gives
/// the clonable [`Thread`] for names, liveness and timed joins.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let handle = skein_threads::Builder::new().name("adder").spawn(|| 2 + 2).unwrap();
/// assert_eq!(handle.thread().name(), "adder");
/// let four = handle.join_timeout(Duration::from_secs(60)).unwrap();
/// assert_eq!(four, 4);
/// ```
#[must_use = "dropping a JoinHandle detaches the thread; call `join` to wait for it"]
pub struct JoinHandle<T> {
    thread: Thread,
    native: std::thread::JoinHandle<Outcome<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(thread: Thread, native: std::thread::JoinHandle<Outcome<T>>) -> Self {
        JoinHandle { thread, native }
    }

    /// The thread this handle owns.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Whether the thread is still running (Python's `is_alive()`).
    pub fn is_alive(&self) -> bool {
        self.thread.is_alive()
    }

    /// Whether the thread has ended, so [`join`](JoinHandle::join) will not wait (long).
    pub fn is_finished(&self) -> bool {
        !self.thread.is_alive()
    }

    /// The underlying std handle, e.g. for `std::thread::Thread::unpark`.
    pub fn as_std(&self) -> &std::thread::JoinHandle<Result<T, Box<dyn Any + Send + 'static>>> {
        &self.native
    }

    /// Waits for the thread to end and returns its closure's value (Python's `join()`,
    /// plus the result Python leaves to you to pass around).
    ///
    /// # Errors
    ///
    /// - the thread panicked: [`JoinError::is_panic`], with the payload
    ///   ([`JoinError::try_into_panic`]);
    /// - the handle is joined from its own thread: [`JoinError::is_current_thread`] — an
    ///   error, not a deadlock (the thread is then detached, as when the handle is
    ///   dropped);
    /// - the handle is joined in a child made by `fork` and its thread is one of the
    ///   parent's ([`JoinError::is_lost_in_fork`]): the thread does not exist here.
    pub fn join(self) -> Result<T, JoinError> {
        if registry::is_current(&self.thread) {
            return Err(JoinError::current_thread(self.thread.name()));
        }
        if !self.thread.exists_here() {
            let name = self.thread.name();
            // The OS thread is not in this process: its handle is neither joined nor
            // detached (either would touch a thread descriptor the C library reclaimed
            // at the fork).
            std::mem::forget(self.native);
            return Err(JoinError::lost_in_fork(name));
        }
        match self.native.join() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) | Err(payload) => {
                let message = panic_message(&*payload).to_owned();
                Err(JoinError::panicked(
                    self.thread.name(),
                    message,
                    Some(payload),
                ))
            }
        }
    }

    /// Waits at most `timeout` for the thread to end (Python's `join(timeout)`), and
    /// returns its value if it did.
    ///
    /// # Errors
    ///
    /// [`JoinTimeoutError::Timeout`] with this handle inside when the thread is still
    /// running; [`JoinTimeoutError::Failed`] as [`join`](JoinHandle::join) fails.
    pub fn join_timeout(self, timeout: Duration) -> Result<T, JoinTimeoutError<T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.join_deadline(deadline),
            // Too large for an `Instant`: no deadline at all.
            None => self.join().map_err(JoinTimeoutError::Failed),
        }
    }

    /// Waits until `deadline` at most for the thread to end, and returns its value if it
    /// did.
    ///
    /// # Errors
    ///
    /// As [`join_timeout`](JoinHandle::join_timeout).
    pub fn join_deadline(self, deadline: Instant) -> Result<T, JoinTimeoutError<T>> {
        if registry::is_current(&self.thread) {
            return Err(JoinTimeoutError::Failed(JoinError::current_thread(
                self.thread.name(),
            )));
        }
        if self.thread.wait_ended(Some(deadline)) {
            // The closure is over; the OS thread only has its exit left to do.
            self.join().map_err(JoinTimeoutError::Failed)
        } else {
            Err(JoinTimeoutError::Timeout(self))
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}
