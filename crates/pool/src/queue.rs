//! The shared job queue of a thread pool: a fixed lock-free ring (crossbeam-queue's
//! `ArrayQueue`, allocated once) with a locked overflow list behind it.
//!
//! The ring makes the common case allocation-free: a burst of submissions reuses the same
//! slots instead of allocating a block every few dozen jobs (crossbeam-deque's `Injector`
//! does, and with glibc each such block merges every freed small chunk back, which made the
//! allocator the biggest cost of `submit`). When the ring is full (workers busy with long
//! tasks), jobs go to the overflow list, and keep going there until it is empty again, so
//! the jobs of one submitter still start in the order they were submitted: everything in
//! the ring is older than everything in the overflow list.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

use crate::task::TaskRef;

/// Slots in the ring. A burst larger than this (while workers are busy) spills into the
/// overflow list.
const RING: usize = 1024;

pub(crate) struct JobQueue {
    ring: ArrayQueue<TaskRef>,
    /// Jobs in `overflow`; read without the lock by the fast paths.
    spilled: CachePadded<AtomicUsize>,
    overflow: Mutex<VecDeque<TaskRef>>,
}

impl JobQueue {
    pub(crate) fn new() -> JobQueue {
        JobQueue {
            ring: ArrayQueue::new(RING),
            spilled: CachePadded::new(AtomicUsize::new(0)),
            overflow: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn push(&self, task: TaskRef) {
        let task = if self.spilled.load(Ordering::Acquire) == 0 {
            match self.ring.push(task) {
                Ok(()) => return,
                Err(task) => task,
            }
        } else {
            task
        };
        let mut overflow = self.overflow.lock();
        overflow.push_back(task);
        self.spilled.store(overflow.len(), Ordering::Release);
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        if let Some(task) = self.ring.pop() {
            return Some(task);
        }
        if self.spilled.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut overflow = self.overflow.lock();
        let task = overflow.pop_front();
        self.spilled.store(overflow.len(), Ordering::Release);
        task
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ring.is_empty() && self.spilled.load(Ordering::Acquire) == 0
    }

    pub(crate) fn len(&self) -> usize {
        self.ring.len() + self.spilled.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cell::Cell;
    use crate::future::Future;

    fn job(i: usize) -> (TaskRef, Future<usize>) {
        Cell::create(move || i)
    }

    #[test]
    fn fifo_across_the_overflow() {
        let queue = JobQueue::new();
        let mut futures = Vec::new();
        for i in 0..RING * 2 + 10 {
            let (task, future) = job(i);
            queue.push(task);
            futures.push(future);
            // Take one now and then so the ring has room while the overflow is in use:
            // later jobs must still not overtake the spilled ones.
            if i > RING && i % 3 == 0 {
                queue.pop().unwrap().run();
            }
        }
        assert_eq!(queue.len(), futures.iter().filter(|f| !f.done()).count());
        while let Some(task) = queue.pop() {
            task.run();
        }
        assert!(queue.is_empty());
        assert!(futures.iter().all(|f| f.done()));
        for (i, f) in futures.iter().enumerate() {
            assert_eq!(*f.result().unwrap(), i);
        }
    }

    #[test]
    fn start_order_is_submission_order_through_the_overflow() {
        let queue = JobQueue::new();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        for i in 0..RING * 3 {
            let order = order.clone();
            let (task, _future) = Cell::create(move || order.lock().unwrap().push(i));
            queue.push(task);
            if i % 2 == 0 {
                queue.pop().unwrap().run();
            }
        }
        while let Some(task) = queue.pop() {
            task.run();
        }
        let order = order.lock().unwrap();
        assert_eq!(*order, (0..RING * 3).collect::<Vec<_>>());
    }

    #[test]
    fn dropping_the_queue_fails_queued_jobs() {
        let queue = JobQueue::new();
        let mut futures = Vec::new();
        for i in 0..RING + 5 {
            let (task, future) = job(i);
            queue.push(task);
            futures.push(future);
        }
        drop(queue);
        for f in futures {
            assert!(f.result().is_err());
        }
    }
}
