//! Chapter 3 — queues: Python's `queue` module for Rust threads.
//!
//! The notes (seeds 001, 003, 004) teach that a queue is the thread-safe way to hand work
//! from producers to consumers: `Queue(3)` blocks a producer when full, `put_nowait`
//! raises `Full`, `get` waits for work, `task_done`/`join` tell a producer when every item
//! was processed, and a sentinel (or, since Python 3.13, `shutdown()`) stops consumers.
//! This crate gives each of those a Rust counterpart, as fast as crossbeam-channel:
//!
//! - [`Queue`] — FIFO, bounded (a lock-free ring) or unbounded (a `VecDeque` behind a spin
//!   lock that hands items straight to waiting getters);
//! - [`LifoQueue`] — a stack; [`PriorityQueue`] — smallest first;
//! - [`SimpleQueue`] — unbounded FIFO without task tracking;
//! - one typed error per operation shape ([`TryPutError`], [`PutTimeoutError`], …); a
//!   failed put always hands the item back.
//!
//! Every queue type is a cheap handle: `clone()` it into each thread, all methods take
//! `&self`.
//!
//! ```
//! use skein_queue::{Queue, TryPutError};
//! use std::time::Duration;
//!
//! // The Queue(3) walk-through of seed 001.
//! let q = Queue::new(3);
//! q.put(1).unwrap();
//! q.put(2).unwrap();
//! assert!(!q.is_full());
//! q.put(3).unwrap();
//! assert!(q.is_full());
//! assert!(q.put_timeout(4, Duration::from_millis(10)).unwrap_err().is_timeout());
//! assert_eq!(q.try_put(4), Err(TryPutError::Full(4)));
//! let drained: Vec<_> = q.try_iter().collect();
//! assert_eq!(drained, [1, 2, 3]);
//! ```
//!
//! # Python → skein
//!
//! | Python | skein |
//! |---|---|
//! | `queue.Queue(maxsize)` / `Queue()` | [`Queue::new(maxsize)`](Queue::new) (`0` = unbounded) / [`Queue::unbounded()`](Queue::unbounded) |
//! | `queue.LifoQueue(maxsize)` | [`LifoQueue::new(maxsize)`](LifoQueue::new) |
//! | `queue.PriorityQueue(maxsize)` | [`PriorityQueue::new(maxsize)`](PriorityQueue::new) (smallest first; `(prio, item)` tuples) |
//! | `queue.SimpleQueue()` | [`SimpleQueue::new()`](SimpleQueue::new) |
//! | `sq.put(item)` / `sq.put_nowait(item)` | [`sq.put(item)`](SimpleQueue::put) (never blocks, never fails) |
//! | `sq.get()` / `sq.get(timeout=t)` / `sq.get_nowait()` | [`sq.get()`](SimpleQueue::get) / [`sq.get_timeout(t)`](SimpleQueue::get_timeout) / [`sq.try_get()`](SimpleQueue::try_get) → `Option<T>` |
//! | `q.put(item)` | [`q.put(item)`](Queue::put) → `Result<(), PutError<T>>` |
//! | `q.put(item, timeout=t)` | [`q.put_timeout(item, t)`](Queue::put_timeout) / [`put_deadline(item, when)`](Queue::put_deadline) |
//! | `q.put_nowait(item)` / `q.put(item, block=False)` | [`q.try_put(item)`](Queue::try_put) |
//! | `q.get()` | [`q.get()`](Queue::get) → `Result<T, GetError>` |
//! | `q.get(timeout=t)` | [`q.get_timeout(t)`](Queue::get_timeout) / [`get_deadline(when)`](Queue::get_deadline) |
//! | `q.get_nowait()` / `q.get(block=False)` | [`q.try_get()`](Queue::try_get) |
//! | `q.qsize()` | [`q.qsize()`](Queue::qsize) / [`q.len()`](Queue::len) |
//! | `q.empty()` / `q.full()` | [`q.is_empty()`](Queue::is_empty) / [`q.is_full()`](Queue::is_full) |
//! | `q.maxsize` | [`q.maxsize()`](Queue::maxsize) (`0` = unbounded) / [`q.capacity()`](Queue::capacity) |
//! | `q.task_done()` | [`q.task_done()`](Queue::task_done) → `Result<(), TaskDoneError>` |
//! | `q.unfinished_tasks` | [`q.unfinished_tasks()`](Queue::unfinished_tasks) |
//! | `q.join()` | [`q.join()`](Queue::join); also [`join_timeout`](Queue::join_timeout) / [`join_deadline`](Queue::join_deadline) (not in Python) |
//! | `q.shutdown()` (3.13) | [`q.shutdown()`](Queue::shutdown) |
//! | `q.shutdown(immediate=True)` | [`q.shutdown_immediate()`](Queue::shutdown_immediate) → the removed items |
//! | `q.is_shutdown` | [`q.is_shutdown()`](Queue::is_shutdown) |
//! | `queue.Full` | [`TryPutError::Full`], [`PutTimeoutError::Timeout`] |
//! | `queue.Empty` | [`TryGetError::Empty`], [`GetTimeoutError::Timeout`]; `None` from [`SimpleQueue`] |
//! | `queue.ShutDown` | [`PutError`], [`TryPutError::ShutDown`], [`PutTimeoutError::ShutDown`], [`GetError`], [`TryGetError::ShutDown`], [`GetTimeoutError::ShutDown`] |
//! | `ValueError` from `task_done()` | [`TaskDoneError`] |
//! | `iter(q.get, None)` (sentinel loop) | [`q.iter()`](Queue::iter) / `for x in &q` (ends at shutdown), [`q.try_iter()`](Queue::try_iter) |
//!
//! # Differences from Python
//!
//! - **Errors are values, and a failed put returns the item** (`err.into_inner()`);
//!   Python raises and the item is simply not queued.
//! - **`shutdown(immediate=True)` hands back** the items it removes instead of dropping
//!   them, and `join` has `_timeout`/`_deadline` variants (CPython declined them).
//! - **`join` returns when the count reaches zero**, even if another item is put before
//!   the joiner wakes (Python re-checks and may keep waiting).
//! - **No GIL**: producers and consumers really run in parallel; the bounded FIFO queue is
//!   lock-free, so `qsize()` is a snapshot that was true at some instant of the call.
//! - **Handles instead of one shared object**: `clone()` the queue for each thread
//!   (an `Arc` inside); dropping handles does not shut the queue down.
//! - **`SimpleQueue::put` cannot fail and its gets return `Option`**: it has no bound and
//!   no shutdown, as in Python.
//! - A bounded [`Queue`] allocates its `maxsize` slots when created (like
//!   crossbeam-channel's `bounded`), so a huge `maxsize` costs memory up front; Python's
//!   `maxsize` is only a number. The other kinds reserve at most 4096 slots up front.
//! - **`maxsize` is fixed for the queue's life**: [`Queue::maxsize`] reads it, and
//!   nothing changes it. In CPython `q.maxsize = n` on a live queue is a plain attribute
//!   write: blocked putters are not woken when the bound grows, and a queue that already
//!   holds more than the new bound simply stays over it. skein's bounded ring is allocated
//!   at its size, and a live resize would need every handle to agree on the new ring; to
//!   change the bound, make a new queue and move the items (or drain with `shutdown`).
//!
//! # Safety
//!
//! The only `unsafe` code is in the two flavors of [`Queue`] and the lock under one of them:
//! the bounded lock-free ring (`flavor/array.rs`), the unbounded deque with its waiters on
//! the getters' stacks (`flavor/deque.rs`) and its spin lock (`spin_lock.rs`); every block
//! there carries a `SAFETY:` comment. All are stress-tested (`tests/stress.rs`) and
//! model-checked with loom together with the parking protocol
//! (`RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`).
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod api;
mod blocking;
mod error;
mod flavor;
mod iter;
mod lifo;
mod primitive;
mod priority;
mod queue;
mod signal;
mod simple;
mod spin_lock;

pub use crate::error::{
    GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};
pub use crate::iter::{Iter, TryIter};
pub use crate::lifo::LifoQueue;
pub use crate::priority::PriorityQueue;
pub use crate::queue::Queue;
pub use crate::simple::SimpleQueue;
