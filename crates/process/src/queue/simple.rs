//! `SimpleQueue<T>`: the minimal cross-process queue.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{GetError, PutError, Queue};
use crate::shm::ShmError;

/// A minimal queue between processes — `multiprocessing.SimpleQueue()`: `put`, `get`,
/// `empty`. Bounded by its ring like every skein queue (a put waits for room).
///
/// # Examples
///
/// ```
/// use skein_process::SimpleQueue;
///
/// let q = SimpleQueue::new()?;
/// q.put((1, "one".to_string()))?;
/// assert_eq!(q.get()?, (1, "one".to_string()));
/// assert!(q.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct SimpleQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for SimpleQueue<T> {
    fn clone(&self) -> Self {
        SimpleQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SimpleQueue").field(&self.queue).finish()
    }
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// A new queue.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<SimpleQueue<T>, ShmError> {
        Ok(SimpleQueue {
            queue: Queue::new()?,
        })
    }

    /// Puts `item` — `put(item)`.
    ///
    /// # Errors
    ///
    /// As [`Queue::put`].
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.queue.put(item)
    }

    /// Takes the oldest item, waiting for one — `get()`.
    ///
    /// # Errors
    ///
    /// As [`Queue::get`].
    pub fn get(&self) -> Result<T, GetError> {
        self.queue.get()
    }

    /// Whether the queue is empty — `empty()`.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Shuts the queue down — as [`Queue::shutdown`] (Python's `close()` is dropping).
    pub fn shutdown(&self, immediate: bool) {
        self.queue.shutdown(immediate);
    }
}
