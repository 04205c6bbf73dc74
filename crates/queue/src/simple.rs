//! `SimpleQueue<T>`: Python's `queue.SimpleQueue`, unbounded FIFO without task tracking.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::blocking::{Core, deadline_after};
use crate::flavor::deque::Deque;
use crate::{Iter, TryIter};

/// An unbounded FIFO queue with no `maxsize`, `task_done`/`join` or shutdown (Python
/// `queue.SimpleQueue`): `put` never blocks and never fails.
///
/// A handle like [`Queue`](crate::Queue): clone it to share.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let q = skein_queue::SimpleQueue::new();
/// q.put("a");
/// assert_eq!(q.get(), "a");
/// assert_eq!(q.get_timeout(Duration::from_millis(1)), None);
/// ```
pub struct SimpleQueue<T> {
    core: Arc<Core<T, Deque<T>>>,
}

impl<T: Send> SimpleQueue<T> {
    /// An empty queue (Python `queue.SimpleQueue()`).
    pub fn new() -> Self {
        Self {
            core: Arc::new(Core::new(Deque::new())),
        }
    }

    /// Adds an item (Python `put(item)` / `put_nowait(item)`); never blocks.
    pub fn put(&self, item: T) {
        if self.core.try_put(item).is_err() {
            unreachable!("a SimpleQueue is unbounded and never shut down");
        }
    }

    /// Takes the next item, waiting as long as it takes (Python `get()`).
    pub fn get(&self) -> T {
        match self.core.get() {
            Ok(v) => v,
            Err(_) => unreachable!("a SimpleQueue is never shut down"),
        }
    }

    /// Takes the next item if there is one (Python `get_nowait()`; `None` is `Empty`).
    pub fn try_get(&self) -> Option<T> {
        self.core.try_get().ok()
    }

    /// Takes the next item, waiting at most `timeout` (Python `get(timeout=t)`; `None` is
    /// `Empty`).
    pub fn get_timeout(&self, timeout: Duration) -> Option<T> {
        self.core.get_until(deadline_after(timeout)).ok()
    }

    /// Takes the next item, waiting until `deadline`.
    pub fn get_deadline(&self, deadline: Instant) -> Option<T> {
        self.core.get_until(Some(deadline)).ok()
    }

    /// Number of items now (Python `qsize()`).
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Python's name for [`len`](Self::len).
    pub fn qsize(&self) -> usize {
        self.core.len()
    }

    /// Whether the queue holds no item now (Python `empty()`).
    pub fn is_empty(&self) -> bool {
        self.core.is_empty()
    }

    /// A non-blocking iterator over what is in the queue now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { src: &*self.core }
    }

    /// Test support, not part of the API: how many callers are blocked in `get` and need
    /// a `put` to go on (counted once they stopped spinning and registered to sleep, until
    /// a `put` picks them). Tests wait for this count instead of sleeping, so that "blocked,
    /// then woken" is forced rather than made likely.
    #[doc(hidden)]
    pub fn waiters(&self) -> usize {
        self.core.waiters()
    }

    /// A blocking iterator; it never ends by itself (a `SimpleQueue` has no shutdown), so
    /// stop it with a sentinel value or `take(n)`.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { src: &*self.core }
    }
}

impl<T: Send> Default for SimpleQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for SimpleQueue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Self {
        Self {
            core: Arc::clone(&self.core),
        }
    }
}

impl<T: Send> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue")
            .field("qsize", &self.len())
            .finish()
    }
}
