//! `Queue<T>`: Python's `queue.Queue`, the FIFO queue, and the workspace's hot path.

use std::sync::Arc;

use crate::api::queue_api;
use crate::blocking::Core;
use crate::flavor::Fifo;

/// A first-in first-out queue shared by any number of producer and consumer threads
/// (Python `queue.Queue(maxsize)`).
///
/// `Queue` is a handle: [`Clone`] gives another handle to the same queue (like
/// crossbeam-channel's `Sender`/`Receiver`), so each thread gets its own clone, and every
/// method takes `&self`. The queue lives until its last handle is dropped; dropping
/// handles never shuts it down (call [`shutdown`](Self::shutdown)).
///
/// Bounded queues are a lock-free ring (Vyukov's stamped slots) that allocates its
/// `maxsize` slots up front, as crossbeam-channel's `bounded` does; blocked threads spin
/// briefly, then park. Unbounded queues are a lock-free linked list of blocks of slots.
///
/// # Examples
///
/// ```
/// use skein_queue::Queue;
/// use std::thread;
///
/// let q = Queue::new(3);
/// let producer = {
///     let q = q.clone();
///     thread::spawn(move || {
///         for i in 0..10 {
///             q.put(i).unwrap();
///         }
///         q.shutdown(); // no more items: the consumer's loop ends once it drained them
///     })
/// };
/// let got: Vec<i32> = q.iter().collect();
/// producer.join().unwrap();
/// assert_eq!(got, (0..10).collect::<Vec<_>>());
/// ```
pub struct Queue<T> {
    core: Arc<Core<T, Fifo<T>>>,
}

impl<T: Send> Queue<T> {
    /// A queue holding at most `maxsize` items; `0` means unbounded, as in Python
    /// (`queue.Queue(maxsize=0)`).
    ///
    /// # Panics
    ///
    /// If `maxsize` is too large to allocate ("capacity overflow", like `Vec`).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = skein_queue::Queue::<String>::new(3);
    /// assert_eq!(q.maxsize(), 3);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self {
            core: Arc::new(Core::new(Fifo::new(maxsize))),
        }
    }

    /// An unbounded queue (Python `queue.Queue()`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

queue_api!(Queue, []);
