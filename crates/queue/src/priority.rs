//! `PriorityQueue<T>`: Python's `queue.PriorityQueue`, smallest item first.

use std::sync::Arc;

use crate::api::queue_api;
use crate::blocking::Core;
use crate::flavor::locked::{Locked, MinHeap};

/// A queue that hands out its smallest item first (Python `queue.PriorityQueue(maxsize)`,
/// a `heapq` min-heap). Put `(priority, item)` tuples, as in Python, or wrap items in
/// [`std::cmp::Reverse`] to get the largest first.
///
/// Same handle model and methods as [`Queue`](crate::Queue); the storage is a binary
/// heap behind a mutex. Items of equal priority come out in no particular order (as in
/// Python).
///
/// # A panicking `Ord`
///
/// The items' `Ord` runs inside `put` and `get`. If it panics, the panic reaches the caller
/// and the queue stays usable, as CPython's queue does when `__lt__` raises: a failed put
/// may have kept its item (it then counts as put for
/// [`unfinished_tasks`](Self::unfinished_tasks), so the counts match the items one can
/// take); a failed get loses the item it was taking, as `heapq.heappop` does (it still
/// counts as put: call [`task_done`](Self::task_done) for it if you [`join`](Self::join)),
/// and a putter waiting for room is woken.
///
/// # Examples
///
/// ```
/// let q = skein_queue::PriorityQueue::new(0);
/// q.put((2, "code")).unwrap();
/// q.put((1, "eat")).unwrap();
/// q.put((3, "sleep")).unwrap();
/// assert_eq!(q.get(), Ok((1, "eat")));
/// assert_eq!(q.get(), Ok((2, "code")));
/// ```
pub struct PriorityQueue<T> {
    core: Arc<Core<T, Locked<T, MinHeap<T>>>>,
}

impl<T: Send + Ord> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items; `0` means unbounded.
    pub fn new(maxsize: usize) -> Self {
        Self {
            core: Arc::new(Core::new(Locked::new(maxsize))),
        }
    }

    /// An unbounded priority queue (Python `queue.PriorityQueue()`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

queue_api!(PriorityQueue, [+ Ord]);
