//! gevent's `AsyncResult`: an event that carries a value or an error.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::event::Event;
use crate::hub::LinkId;
use crate::hub::core::hub;

type Callback<T, E> = Box<dyn FnOnce(&Result<T, E>)>;

struct Inner<T, E> {
    result: RefCell<Option<Result<T, E>>>,
    ready: Event,
    links: RefCell<Vec<(u64, Callback<T, E>)>>,
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
                links: RefCell::new(Vec::new()),
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
        let links = std::mem::take(&mut *self.inner.links.borrow_mut());
        if links.is_empty() {
            return;
        }
        let hub = hub();
        for (_, callback) in links {
            hub.run_hook(|| {
                if let Some(result) = self.inner.result.borrow().as_ref() {
                    callback(result);
                }
            });
        }
    }

    /// Runs `callback` with the result once it is set (gevent's `rawlink`): in the
    /// setter's [`set`](Self::set) / [`set_error`](Self::set_error) call, after the
    /// waiters are woken, or at once when the result is set already. It runs once (a
    /// later `set` does not run it again). As a task's rawlink it must not block and
    /// must not set this result again (a blocking hub call panics); a panic in it is
    /// reported and stops only that callback.
    pub fn rawlink(&self, callback: impl FnOnce(&Result<T, E>) + 'static) -> LinkId {
        let hub = hub();
        if self.is_ready() {
            hub.run_hook(|| {
                if let Some(result) = self.inner.result.borrow().as_ref() {
                    callback(result);
                }
            });
            return LinkId(hub.link_id());
        }
        let id = hub.link_id();
        self.inner.links.borrow_mut().push((id, Box::new(callback)));
        LinkId(id)
    }

    /// Removes a callback that has not run yet; true when it was removed.
    pub fn unlink(&self, id: LinkId) -> bool {
        let mut links = self.inner.links.borrow_mut();
        let before = links.len();
        links.retain(|(link, _)| *link != id.0);
        links.len() != before
    }

    /// True once a value or an error is set (gevent's `ready()`).
    pub fn is_ready(&self) -> bool {
        self.inner.result.borrow().is_some()
    }

    /// True once a value is set (gevent's `successful()`).
    pub fn is_successful(&self) -> bool {
        matches!(*self.inner.result.borrow(), Some(Ok(_)))
    }

    /// The event set with the result (for `iwait`).
    pub(crate) fn ready_event(&self) -> &Event {
        &self.inner.ready
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

impl<T: Clone + 'static, E: Clone + 'static> AsyncResult<T, E> {
    /// Runs `callback` in a new green task with a clone of the result once it is set
    /// (gevent's `link`, which spawns a greenlet): it may block on the hub. Linked
    /// when the result is set already, the task is spawned at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::{self, AsyncResult, Queue};
    ///
    /// let answer: AsyncResult<u32, String> = AsyncResult::new();
    /// let told: Queue<u32> = Queue::new();
    /// let t = told.clone();
    /// answer.link(move |result| t.put(*result.as_ref().unwrap()));
    /// answer.set(7);
    /// assert_eq!(told.get(), 7);
    /// ```
    pub fn link(&self, callback: impl FnOnce(&Result<T, E>) + 'static) -> LinkId {
        self.rawlink(move |result| {
            let result = result.clone();
            drop(crate::hub::spawn(move || callback(&result)));
        })
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
