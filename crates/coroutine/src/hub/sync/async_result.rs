//! gevent's `AsyncResult`: an event that carries a value or an error.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::event::Event;

struct Inner<T, E> {
    result: RefCell<Option<Result<T, E>>>,
    ready: Event,
}

/// A value, or an error, that green tasks wait for (gevent's
/// `gevent.event.AsyncResult`): [`set`](Self::set) or [`set_error`](Self::set_error)
/// wakes every waiter, and each gets a clone. Setting again replaces the result. Clones
/// share one result.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub::{self, AsyncResult};
///
/// let answer: AsyncResult<u32, String> = AsyncResult::new();
/// let setter = { let a = answer.clone(); hub::spawn_later(Duration::from_millis(1), move || a.set(42)) };
/// assert_eq!(answer.get(), Ok(42));
/// assert!(answer.is_successful());
/// setter.join().unwrap();
/// ```
pub struct AsyncResult<T, E> {
    inner: Rc<Inner<T, E>>,
}

impl<T, E> AsyncResult<T, E> {
    /// A result not yet set.
    pub fn new() -> Self {
        AsyncResult {
            inner: Rc::new(Inner {
                result: RefCell::new(None),
                ready: Event::new(),
            }),
        }
    }

    /// Stores a value and wakes every waiter (gevent's `set(value)`).
    pub fn set(&self, value: T) {
        self.put(Ok(value));
    }

    /// Stores an error and wakes every waiter (gevent's `set_exception(e)`).
    pub fn set_error(&self, error: E) {
        self.put(Err(error));
    }

    fn put(&self, result: Result<T, E>) {
        *self.inner.result.borrow_mut() = Some(result);
        self.inner.ready.set();
    }

    /// True once a value or an error is set (gevent's `ready()`).
    pub fn is_ready(&self) -> bool {
        self.inner.result.borrow().is_some()
    }

    /// True once a value is set (gevent's `successful()`).
    pub fn is_successful(&self) -> bool {
        matches!(*self.inner.result.borrow(), Some(Ok(_)))
    }

    /// Waits until the result is set (gevent's `wait()` without its return value).
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever set it
    /// (gevent's `LoopExit`).
    pub fn wait(&self) {
        self.inner.ready.wait();
    }

    /// Waits at most `timeout`; true when the result is set.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner.ready.wait_timeout(timeout)
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// Waits for the result and returns a clone of it (gevent's `get()`: the value, or
    /// the error raised).
    ///
    /// # Errors
    ///
    /// The error stored with [`set_error`](Self::set_error).
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever set it
    /// (gevent's `LoopExit`).
    pub fn get(&self) -> Result<T, E> {
        loop {
            if let Some(result) = self.try_get() {
                return result;
            }
            self.inner.ready.wait();
        }
    }

    /// The result if it is set now (gevent's `get_nowait()`, which raises `Timeout`
    /// otherwise).
    pub fn try_get(&self) -> Option<Result<T, E>> {
        self.inner.result.borrow().clone()
    }

    /// Waits at most `timeout` for the result (gevent's `get(timeout=t)`); `None` when
    /// it was not set in time.
    pub fn get_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(result) = self.try_get() {
                return Some(result);
            }
            if !self.inner.ready.wait_deadline(deadline) {
                return self.try_get();
            }
        }
    }
}

impl<T, E> Clone for AsyncResult<T, E> {
    fn clone(&self) -> Self {
        AsyncResult {
            inner: self.inner.clone(),
        }
    }
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match *self.inner.result.borrow() {
            None => "unset",
            Some(Ok(_)) => "value",
            Some(Err(_)) => "error",
        };
        f.debug_struct("AsyncResult")
            .field("state", &state)
            .finish()
    }
}
