//! `LifoQueue<T>`: Python's `queue.LifoQueue`, a stack.

use std::sync::Arc;

use crate::api::queue_api;
use crate::blocking::Core;
use crate::flavor::locked::Locked;

/// A last-in first-out queue (a stack) shared between threads (Python
/// `queue.LifoQueue(maxsize)`).
///
/// Same handle model and methods as [`Queue`](crate::Queue); the storage is a `Vec`
/// behind a mutex.
///
/// # Examples
///
/// ```
/// let q = skein_queue::LifoQueue::new(0);
/// for i in 1..=3 {
///     q.put(i).unwrap();
/// }
/// assert_eq!(q.try_iter().collect::<Vec<_>>(), [3, 2, 1]);
/// ```
pub struct LifoQueue<T> {
    core: Arc<Core<T, Locked<T, Vec<T>>>>,
}

impl<T: Send> LifoQueue<T> {
    /// A stack holding at most `maxsize` items; `0` means unbounded, as in Python.
    pub fn new(maxsize: usize) -> Self {
        Self {
            core: Arc::new(Core::new(Locked::new(maxsize))),
        }
    }

    /// An unbounded stack (Python `queue.LifoQueue()`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

queue_api!(LifoQueue, []);
