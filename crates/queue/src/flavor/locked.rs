//! A mutex around a plain collection: the storage of the LIFO and priority queues
//! (Python's own design for all its queues).
//!
//! No allocation per operation beyond what the collection needs to hold the item: bounded
//! queues reserve their room up front (up to a limit), unbounded ones grow amortised.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{self, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::{PopError, PushError, RawQueue};

/// How much room a bounded locked queue reserves when created.
const MAX_PREALLOC: usize = 4096;

/// The collection a [`Locked`] queue keeps its items in; decides the order.
pub(crate) trait Store<T>: Send {
    /// Whether `push`/`pop` run user code (the items' `Ord`) that may panic.
    const RUNS_USER_CODE: bool;
    /// An empty store with room for `n` items.
    fn with_capacity(n: usize) -> Self;
    /// Adds an item.
    fn push(&mut self, value: T);
    /// Removes the next item in this store's order.
    fn pop(&mut self) -> Option<T>;
    /// Number of items.
    fn len(&self) -> usize;
}

impl<T: Send> Store<T> for Vec<T> {
    const RUNS_USER_CODE: bool = false;
    fn with_capacity(n: usize) -> Self {
        Vec::with_capacity(n)
    }
    fn push(&mut self, value: T) {
        Vec::push(self, value);
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn len(&self) -> usize {
        Vec::len(self)
    }
}

/// A min-heap: the smallest item comes out first, as with Python's `heapq`.
pub(crate) struct MinHeap<T>(BinaryHeap<Reverse<T>>);

impl<T: Ord + Send> Store<T> for MinHeap<T> {
    const RUNS_USER_CODE: bool = true;
    fn with_capacity(n: usize) -> Self {
        MinHeap(BinaryHeap::with_capacity(n))
    }
    fn push(&mut self, value: T) {
        self.0.push(Reverse(value));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(v)| v)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// What the mutex guards.
struct State<S> {
    store: S,
    closed: bool,
}

/// A queue that is a [`Store`] behind a mutex.
pub(crate) struct Locked<T, S> {
    state: Mutex<State<S>>,
    cap: Option<usize>,
    /// Successful pushes, only written under the mutex.
    pushes: AtomicUsize,
    _items: PhantomData<fn(T) -> T>,
}

impl<T, S: Store<T>> Locked<T, S> {
    /// `maxsize == 0` means unbounded, as in Python (and as for [`super::Fifo::new`]).
    pub(crate) fn new(maxsize: usize) -> Self {
        let cap = (maxsize != 0).then_some(maxsize);
        let room = maxsize.min(MAX_PREALLOC);
        Self {
            state: Mutex::new(State {
                store: S::with_capacity(room),
                closed: false,
            }),
            cap,
            pushes: AtomicUsize::new(0),
            _items: PhantomData,
        }
    }
}

impl<T, S> Locked<T, S> {
    /// Counts one successful push; only called under the mutex, so a plain store does.
    fn count_push(&self) {
        let pushes = self.pushes.load(Ordering::Relaxed);
        self.pushes.store(pushes.wrapping_add(1), Ordering::Relaxed);
    }
}

impl<T: Send, S: Store<T>> RawQueue<T> for Locked<T, S> {
    const RUNS_USER_CODE: bool = S::RUNS_USER_CODE;

    fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        {
            let mut state = self.state.lock();
            if state.closed {
                return Err(PushError::Closed(value));
            }
            if self.cap.is_some_and(|cap| state.store.len() >= cap) {
                return Err(PushError::Full(value));
            }
            if S::RUNS_USER_CODE {
                // A panicking `Ord` may unwind out of the heap's push with the item kept
                // (std's heap puts it back in place): count it then too, so that
                // `unfinished_tasks` still matches the items one can take.
                let before = state.store.len();
                if let Err(panic) =
                    panic::catch_unwind(AssertUnwindSafe(|| state.store.push(value)))
                {
                    if state.store.len() > before {
                        self.count_push();
                    }
                    drop(state);
                    atomic::fence(Ordering::SeqCst);
                    panic::resume_unwind(panic);
                }
            } else {
                state.store.push(value);
            }
            self.count_push();
        }
        // Pairs with the sleeper counters of the blocking layer (see `RawQueue`).
        atomic::fence(Ordering::SeqCst);
        Ok(())
    }

    fn try_pop(&self) -> Result<T, PopError> {
        let value = {
            let mut state = self.state.lock();
            match state.store.pop() {
                Some(v) => v,
                None if state.closed => return Err(PopError::Closed),
                None => return Err(PopError::Empty),
            }
        };
        atomic::fence(Ordering::SeqCst);
        Ok(value)
    }

    fn len(&self) -> usize {
        self.state.lock().store.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_full(&self) -> bool {
        self.cap.is_some_and(|cap| self.len() >= cap)
    }

    fn capacity(&self) -> Option<usize> {
        self.cap
    }

    fn close(&self) -> bool {
        let first = !std::mem::replace(&mut self.state.lock().closed, true);
        atomic::fence(Ordering::SeqCst);
        first
    }

    fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    fn pushes(&self) -> usize {
        self.pushes.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders() {
        let lifo: Locked<i32, Vec<i32>> = Locked::new(3);
        let prio: Locked<i32, MinHeap<i32>> = Locked::new(3);
        for v in [2, 3, 1] {
            lifo.try_push(v).ok().unwrap();
            prio.try_push(v).ok().unwrap();
        }
        assert!(matches!(lifo.try_push(9), Err(PushError::Full(9))));
        fn drain(q: &impl RawQueue<i32>) -> Vec<i32> {
            std::iter::from_fn(|| q.try_pop().ok()).collect()
        }
        assert_eq!(drain(&lifo), [1, 3, 2]);
        assert_eq!(drain(&prio), [1, 2, 3]);
        assert_eq!(prio.pushes(), 3);
        assert!(prio.close());
        assert_eq!(prio.try_pop().err(), Some(PopError::Closed));
        assert!(matches!(prio.try_push(1), Err(PushError::Closed(1))));
    }
}
