//! gevent's `Queue`, `LifoQueue` and `PriorityQueue`: one design, three orders.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::order::{Fifo, Lifo, Order, Priority};
use super::waitlist::WaitList;
use crate::hub::core::{Wake, hub};

/// Why a put did not happen.
enum PutFail {
    Full,
    Shut,
}

/// Why a get came back empty.
enum GetFail {
    Empty,
    Shut,
}

const PUT_SHUT: &str =
    "put on a shut-down queue (Python's queue.ShutDown): use send to get the item back";
const GET_SHUT: &str =
    "get on a shut-down, empty queue (Python's queue.ShutDown): use recv or iter";

struct Inner<T, S: Order<T>> {
    items: RefCell<S::Items>,
    capacity: Option<usize>,
    getters: WaitList,
    putters: WaitList,
    peekers: WaitList,
    len: Cell<usize>,
    /// Items put and not yet marked done with `task_done` (Python's `unfinished_tasks`).
    unfinished: Cell<usize>,
    /// `shutdown` was called (Python 3.13's `is_shutdown`).
    shut: Cell<bool>,
    joiners: WaitList,
}

/// A queue between green tasks (gevent's `gevent.queue.Queue(maxsize)`): `get` parks
/// while it is empty, `put` parks while a bounded queue is full. Clones share one
/// queue.
///
/// The order `S` is FIFO; [`LifoQueue`] (gevent's `LifoQueue`: the newest item first)
/// and [`PriorityQueue`] (gevent's `PriorityQueue`: the smallest item first, `T: Ord`)
/// are this queue with another order (`Queue<T, Lifo>`, `Queue<T, Priority>`), every
/// method below included.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::{self, Queue};
///
/// let q = Queue::bounded(2);
/// let producer = { let q = q.clone(); hub::spawn(move || for i in 0..5 { q.put(i) }) };
/// let got: Vec<i32> = (0..5).map(|_| q.get()).collect();
/// assert_eq!(got, [0, 1, 2, 3, 4]);
/// producer.join().unwrap();
/// ```
pub struct Queue<T, S: Order<T> = Fifo> {
    inner: Rc<Inner<T, S>>,
}

/// gevent's `gevent.queue.LifoQueue`: a [`Queue`] whose `get` takes the newest item;
/// it has every method of `Queue` (through `Deref`). Clones share one queue.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::LifoQueue;
///
/// let q = LifoQueue::new();
/// for i in 0..3 { q.put(i) }
/// assert_eq!([q.get(), q.get(), q.get()], [2, 1, 0]);
/// ```
pub struct LifoQueue<T>(Queue<T, Lifo>);

/// gevent's `gevent.queue.PriorityQueue`: a [`Queue`] whose `get` takes the smallest
/// item (Python's `heapq` order; wrap in `std::cmp::Reverse` for the largest first,
/// put `(priority, item)` tuples for Python's usual form); it has every method of
/// `Queue` (through `Deref`). Clones share one queue.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::PriorityQueue;
///
/// let q = PriorityQueue::new();
/// for job in [(3, "low"), (1, "urgent"), (2, "normal")] { q.put(job) }
/// assert_eq!(q.get(), (1, "urgent"));
/// assert_eq!(q.try_peek(), Some((2, "normal")));
/// ```
pub struct PriorityQueue<T: Ord>(Queue<T, Priority>);

/// [`Queue::try_put`] failed: the queue is full; the item is handed back.
#[derive(PartialEq, Eq)]
pub struct TryPutError<T>(pub T);

/// [`Queue::put_timeout`] ran out of time; the item is handed back.
#[derive(PartialEq, Eq)]
pub struct PutTimeoutError<T>(pub T);

macro_rules! put_error {
    ($name:ident, $msg:literal) => {
        impl<T> $name<T> {
            /// The item that was not put.
            pub fn into_inner(self) -> T {
                self.0
            }
        }
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($name))?;
                f.write_str("(..)")
            }
        }
        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($msg)
            }
        }
        impl<T> std::error::Error for $name<T> {}
    };
}

put_error!(TryPutError, "the queue is full");
put_error!(PutTimeoutError, "timed out waiting for room in the queue");

// After `put_error!`, which it uses.
mod shutdown;

pub use shutdown::ShutDown;

/// [`Queue::task_done`] was called more times than items were put (Python's
/// `ValueError: task_done() called too many times`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

impl<T> Queue<T> {
    /// An unbounded queue (gevent's `Queue()`).
    pub fn new() -> Self {
        Self::with_capacity(None)
    }

    /// A queue holding at most `capacity` items (gevent's `Queue(maxsize)`); a capacity
    /// of 0 is treated as 1 — for a put that waits for a get, use
    /// [`Channel`](crate::hub::Channel).
    pub fn bounded(capacity: usize) -> Self {
        Self::with_capacity(Some(capacity.max(1)))
    }
}

macro_rules! ordered_queue {
    ($name:ident<$t:ident $(: $bound:path)?>, $order:ty) => {
        impl<$t $(: $bound)?> $name<$t> {
            #[doc = concat!("An unbounded queue (gevent's `", stringify!($name), "()`).")]
            pub fn new() -> Self {
                $name(Queue::with_capacity(None))
            }

            #[doc = concat!("A queue holding at most `capacity` items (gevent's `", stringify!($name), "(maxsize)`);")]
            /// a capacity of 0 is treated as 1.
            pub fn bounded(capacity: usize) -> Self {
                $name(Queue::with_capacity(Some(capacity.max(1))))
            }
        }

        impl<$t $(: $bound)?> std::ops::Deref for $name<$t> {
            type Target = Queue<$t, $order>;
            fn deref(&self) -> &Queue<$t, $order> {
                &self.0
            }
        }

        impl<$t $(: $bound)?> Clone for $name<$t> {
            fn clone(&self) -> Self {
                $name(self.0.clone())
            }
        }

        impl<$t $(: $bound)?> Default for $name<$t> {
            fn default() -> Self {
                $name::new()
            }
        }

        impl<$t $(: $bound)?> fmt::Debug for $name<$t> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

ordered_queue!(LifoQueue<T>, Lifo);
ordered_queue!(PriorityQueue<T: Ord>, Priority);

impl<T, S: Order<T>> Queue<T, S> {
    fn with_capacity(capacity: Option<usize>) -> Self {
        Queue {
            inner: Rc::new(Inner {
                items: RefCell::new(S::Items::default()),
                capacity,
                getters: WaitList::default(),
                putters: WaitList::default(),
                peekers: WaitList::default(),
                len: Cell::new(0),
                unfinished: Cell::new(0),
                shut: Cell::new(false),
                joiners: WaitList::default(),
            }),
        }
    }

    /// Items in the queue (Python's `qsize()`).
    pub fn len(&self) -> usize {
        self.inner.len.get()
    }

    /// True when the queue holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when a bounded queue is at capacity.
    pub fn is_full(&self) -> bool {
        self.inner.capacity.is_some_and(|c| self.len() >= c)
    }

    /// The bound, if any (Python's `maxsize`).
    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity
    }

    fn push(&self, item: T) {
        S::push(&mut self.inner.items.borrow_mut(), item);
        self.inner.len.set(self.inner.len.get() + 1);
        self.inner.unfinished.set(self.inner.unfinished.get() + 1);
        let hub = hub();
        self.inner.peekers.wake_all(&hub);
        self.inner.getters.wake_one(&hub);
    }

    fn pop(&self) -> Option<T> {
        let item = S::pop(&mut self.inner.items.borrow_mut())?;
        self.inner.len.set(self.inner.len.get() - 1);
        if self.inner.capacity.is_some() {
            self.inner.putters.wake_one(&hub());
        }
        Some(item)
    }

    /// Puts an item, waiting while a bounded queue is full.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever make room
    /// (gevent's `LoopExit`); when the queue is [shut down](Self::shutdown) (Python's
    /// `ShutDown`; the item is dropped — [`send`](Self::send) hands it back).
    pub fn put(&self, item: T) {
        match self.put_deadline_opt(item, None) {
            Ok(()) => {}
            Err((_, PutFail::Shut)) => panic!("{PUT_SHUT}"),
            Err((_, PutFail::Full)) => unreachable!("no deadline"),
        }
    }

    /// Puts an item if there is room now (Python's `put_nowait`).
    ///
    /// # Errors
    ///
    /// [`TryPutError`] with the item when the queue is full or shut down.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        if self.is_full() || self.inner.shut.get() {
            return Err(TryPutError(item));
        }
        self.push(item);
        Ok(())
    }

    /// Puts an item, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError`] with the item when no room came in time, or the queue is
    /// shut down.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.put_deadline(item, Instant::now() + timeout)
    }

    /// Puts an item, waiting until `deadline` at most for room.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError`] with the item when no room came in time, or the queue is
    /// shut down.
    pub fn put_deadline(&self, item: T, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        self.put_deadline_opt(item, Some(deadline))
            .map_err(|(item, _)| PutTimeoutError(item))
    }

    fn put_deadline_opt(&self, item: T, deadline: Option<Instant>) -> Result<(), (T, PutFail)> {
        let hub = hub();
        loop {
            if self.inner.shut.get() {
                return Err((item, PutFail::Shut));
            }
            if !self.is_full() {
                self.push(item);
                return Ok(());
            }
            // Without a deadline, `TimedOut` is an interruption that could not unwind (a
            // destructor waits during unwinding): wait again.
            if self.inner.putters.park(&hub, deadline) == Wake::TimedOut
                && deadline.is_some()
                && self.is_full()
                && !self.inner.shut.get()
            {
                return Err((item, PutFail::Full));
            }
        }
    }

    /// Takes the next item — the oldest; the newest for a [`LifoQueue`], the smallest
    /// for a [`PriorityQueue`] — waiting while the queue is empty.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever put one
    /// (gevent's `LoopExit`); when the queue is [shut down](Self::shutdown) and empty
    /// (Python's `ShutDown`; [`recv`](Self::recv) returns it as an error).
    pub fn get(&self) -> T {
        match self.get_deadline_opt(None) {
            Ok(item) => item,
            Err(GetFail::Shut) => panic!("{GET_SHUT}"),
            Err(GetFail::Empty) => unreachable!("no deadline"),
        }
    }

    /// The next item if there is one now (Python's `get_nowait`).
    pub fn try_get(&self) -> Option<T> {
        self.pop()
    }

    /// Takes the next item, waiting at most `timeout`; `None` when none came (or the
    /// queue is shut down and empty).
    pub fn get_timeout(&self, timeout: Duration) -> Option<T> {
        self.get_deadline(Instant::now() + timeout)
    }

    /// Takes the next item, waiting until `deadline` at most.
    pub fn get_deadline(&self, deadline: Instant) -> Option<T> {
        self.get_deadline_opt(Some(deadline)).ok()
    }

    fn get_deadline_opt(&self, deadline: Option<Instant>) -> Result<T, GetFail> {
        let hub = hub();
        loop {
            if let Some(item) = self.pop() {
                return Ok(item);
            }
            if self.inner.shut.get() {
                return Err(GetFail::Shut);
            }
            if self.inner.getters.park(&hub, deadline) == Wake::TimedOut && deadline.is_some() {
                return self.pop().ok_or(GetFail::Empty);
            }
        }
    }
}

impl<T, S: Order<T>> Queue<T, S> {
    /// Marks one item taken from the queue as processed (Python's `task_done()`, on
    /// `queue.Queue` and gevent's `JoinableQueue`); when every item put has been marked,
    /// [`join`](Self::join) returns.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] when more items were marked than put (Python's `ValueError`).
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let unfinished = self.inner.unfinished.get();
        if unfinished == 0 {
            return Err(TaskDoneError);
        }
        self.inner.unfinished.set(unfinished - 1);
        if unfinished == 1 {
            self.inner.joiners.wake_all(&hub());
        }
        Ok(())
    }

    /// Items put and not yet marked with [`task_done`](Self::task_done) (Python's
    /// `unfinished_tasks`).
    pub fn unfinished_tasks(&self) -> usize {
        self.inner.unfinished.get()
    }

    /// Waits until every item put has been marked with [`task_done`](Self::task_done)
    /// (Python's `q.join()`).
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever mark them
    /// (gevent's `LoopExit`).
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::{self, Queue};
    ///
    /// let q = Queue::new();
    /// let worker = { let q = q.clone(); hub::spawn(move || loop {
    ///     let n: u32 = q.get();
    ///     q.task_done().unwrap();
    ///     if n == 0 { break; }
    /// }) };
    /// for n in [3, 2, 1, 0] { q.put(n); }
    /// q.join();
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// worker.join().unwrap();
    /// ```
    pub fn join(&self) {
        self.join_deadline_opt(None);
    }

    /// Waits at most `timeout` for every item to be marked done; true when they were.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.join_deadline_opt(Some(Instant::now() + timeout))
    }

    fn join_deadline_opt(&self, deadline: Option<Instant>) -> bool {
        let hub = hub();
        loop {
            if self.inner.unfinished.get() == 0 {
                return true;
            }
            if self.inner.joiners.park(&hub, deadline) == Wake::TimedOut && deadline.is_some() {
                return self.inner.unfinished.get() == 0;
            }
        }
    }
}

impl<T: Clone, S: Order<T>> Queue<T, S> {
    /// A copy of the next item, left in the queue; waits while the queue is empty
    /// (gevent's `q.peek()`).
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever put one
    /// (gevent's `LoopExit`); when the queue is shut down and empty.
    pub fn peek(&self) -> T {
        self.peek_deadline_opt(None).expect(GET_SHUT)
    }

    /// A copy of the next item if there is one now (gevent's `peek_nowait`).
    pub fn try_peek(&self) -> Option<T> {
        S::peek(&self.inner.items.borrow()).cloned()
    }

    /// A copy of the next item, waiting at most `timeout` for one.
    pub fn peek_timeout(&self, timeout: Duration) -> Option<T> {
        self.peek_deadline_opt(Some(Instant::now() + timeout))
    }

    fn peek_deadline_opt(&self, deadline: Option<Instant>) -> Option<T> {
        let hub = hub();
        loop {
            if let Some(item) = self.try_peek() {
                return Some(item);
            }
            if self.inner.shut.get() {
                return None;
            }
            if self.inner.peekers.park(&hub, deadline) == Wake::TimedOut && deadline.is_some() {
                return self.try_peek();
            }
        }
    }
}

impl<T, S: Order<T>> Clone for Queue<T, S> {
    fn clone(&self) -> Self {
        Queue {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T, S: Order<T>> fmt::Debug for Queue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(S::NAME)
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}
