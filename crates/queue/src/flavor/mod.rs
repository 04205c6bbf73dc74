//! The storage behind each queue kind, all with one non-blocking interface.
//!
//! A flavor only pushes and pops without waiting and knows whether it is closed; the
//! blocking layer in [`crate::blocking`] adds spinning, parking, task counting and shutdown on
//! top. Flavors:
//! - [`array`]: a bounded lock-free ring (Vyukov's stamped slots) for the bounded `Queue`.
//! - [`deque`]: a `VecDeque` behind a spin lock, with items handed straight to waiting
//!   getters, for the unbounded `Queue` and `SimpleQueue`.
//! - [`locked`]: a mutex around a [`locked::Store`] (`Vec`, min-heap) for the LIFO and
//!   priority queues.
//!
//! `array` and `deque` (with [`crate::spin_lock`]) are the only modules with `unsafe` code.

pub(crate) mod array;
pub(crate) mod deque;
pub(crate) mod locked;

use array::Array;
use deque::Deque;

/// Why a non-blocking push failed; the value comes back.
pub(crate) enum PushError<T> {
    /// No room.
    Full(T),
    /// The queue is closed (shut down).
    Closed(T),
}

/// Why a non-blocking pop failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PopError {
    /// Nothing to pop right now.
    Empty,
    /// Closed and empty: nothing will ever come.
    Closed,
}

/// Non-blocking queue storage.
///
/// Orderings: `try_push`/`try_pop` end their successful path with a `SeqCst` read-modify-
/// write (or a `SeqCst` fence) after the change became visible, and every query below is
/// `SeqCst`, so the blocking layer's sleeper counters (also `SeqCst`) pair with them in the
/// store-buffer pattern and no wakeup is lost.
pub(crate) trait RawQueue<T>: Send + Sync {
    /// Whether `try_push`/`try_pop` run user code (a priority queue's `Ord`) that may
    /// panic after the queue changed; the blocking layer then wakes a sleeper on unwind.
    const RUNS_USER_CODE: bool = false;
    /// Pushes without waiting.
    fn try_push(&self, value: T) -> Result<(), PushError<T>>;
    /// Pops without waiting (may spin briefly while a claimed slot is being written).
    fn try_pop(&self) -> Result<T, PopError>;
    /// Waits for an item inside the flavor (`Some`), if it has its own way to make getters
    /// wait (the unbounded deque hands items to waiting getters); `Some(Err(Empty))` once
    /// `deadline` passed. `None`: the blocking layer's signal does the waiting.
    #[inline]
    fn pop_wait(&self, _deadline: Option<std::time::Instant>) -> Option<Result<T, PopError>> {
        None
    }
    /// Getters waiting inside the flavor (see `pop_wait`), for the test hook `waiters()`.
    fn waiters(&self) -> usize {
        0
    }
    /// Number of items in the queue.
    fn len(&self) -> usize;
    /// Whether nothing is in the queue.
    fn is_empty(&self) -> bool;
    /// Whether the queue holds its capacity (never for unbounded ones).
    fn is_full(&self) -> bool;
    /// `Some(maxsize)` for bounded queues.
    fn capacity(&self) -> Option<usize>;
    /// Closes the queue to pushes; returns whether this call closed it.
    fn close(&self) -> bool;
    /// Whether the queue is closed.
    fn is_closed(&self) -> bool;
    /// How many pushes ever succeeded (wrapping), read `SeqCst`. Task counting is
    /// `pushes - task_done calls`, so a put costs no extra atomic operation.
    fn pushes(&self) -> usize;
}

/// The FIFO `Queue`'s storage: a lock-free ring when bounded, the deque otherwise.
#[allow(
    clippy::large_enum_variant,
    reason = "lives once inside an Arc; boxing would add an indirection to the hot path"
)]
pub(crate) enum Fifo<T> {
    Bounded(Array<T>),
    Unbounded(Deque<T>),
}

impl<T: Send> Fifo<T> {
    /// `maxsize == 0` means unbounded, as in Python.
    pub(crate) fn new(maxsize: usize) -> Self {
        if maxsize == 0 {
            Self::Unbounded(Deque::new())
        } else {
            Self::Bounded(Array::with_capacity(maxsize))
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $q:ident => $e:expr) => {
        match $self {
            Fifo::Bounded($q) => $e,
            Fifo::Unbounded($q) => $e,
        }
    };
}

impl<T: Send> RawQueue<T> for Fifo<T> {
    #[inline]
    fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        dispatch!(self, q => q.try_push(value))
    }
    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        dispatch!(self, q => q.try_pop())
    }
    fn len(&self) -> usize {
        dispatch!(self, q => q.len())
    }
    fn is_empty(&self) -> bool {
        dispatch!(self, q => q.is_empty())
    }
    #[inline]
    fn pop_wait(&self, deadline: Option<std::time::Instant>) -> Option<Result<T, PopError>> {
        dispatch!(self, q => q.pop_wait(deadline))
    }
    fn waiters(&self) -> usize {
        dispatch!(self, q => q.waiters())
    }
    fn is_full(&self) -> bool {
        dispatch!(self, q => q.is_full())
    }
    fn capacity(&self) -> Option<usize> {
        dispatch!(self, q => q.capacity())
    }
    fn close(&self) -> bool {
        dispatch!(self, q => q.close())
    }
    fn is_closed(&self) -> bool {
        dispatch!(self, q => q.is_closed())
    }
    fn pushes(&self) -> usize {
        dispatch!(self, q => q.pushes())
    }
}
