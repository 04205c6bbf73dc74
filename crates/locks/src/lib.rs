//! Chapter 2 — locks and synchronisation: Python's `threading` locks, rebuilt in Rust.
//!
//! Threads that share data must agree on who touches it when. The chapter's notes show the
//! problem (a counter that loses updates, a bank balance that drifts) and Python's tools for
//! it: a [`Lock`] that one thread holds at a time, a reentrant [`RLock`], counting
//! [`Semaphore`]s, an [`Event`] flag, a [`Condition`] to wait for a state change, a
//! [`Barrier`] where threads meet — and the danger they bring, the **deadlock**, which skein
//! goes beyond Python to detect and report ([`deadlock`]).
//!
//! Everything is built on parking_lot: one atomic word per lock, parking_lot's mutexes for
//! the queues of sleeping threads. Guards release on drop, which is Python's `with` block.
//!
//! # Python → skein
//!
//! | Python (`threading`) | skein-locks |
//! |---|---|
//! | `Lock()` | [`Lock::new()`], [`Lock::named("a")`](Lock::named) |
//! | `lock.acquire()` / `with lock:` | [`lock.acquire()`](Lock::acquire) → [`LockGuard`] (drop = release) |
//! | `lock.acquire(blocking=False)` | [`lock.try_acquire()`](Lock::try_acquire) → `Option` |
//! | `lock.acquire(timeout=t)` | [`lock.acquire_timeout(t)`](Lock::acquire_timeout), [`acquire_deadline(i)`](Lock::acquire_deadline) |
//! | `lock.release()` (any thread) | [`lock.release()`](Lock::release) after [`LockGuard::leak`] → `Result<(), ReleaseError>` |
//! | `RuntimeError: release unlocked lock` | [`ReleaseError::NotLocked`] |
//! | `lock.locked()` | [`lock.is_locked()`](Lock::is_locked) |
//! | `RLock()` | [`RLock::new()`], [`RLock::named`] |
//! | `rlock.acquire(...)` / `with rlock:` | [`acquire`](RLock::acquire), [`try_acquire`](RLock::try_acquire), [`acquire_timeout`](RLock::acquire_timeout), [`acquire_deadline`](RLock::acquire_deadline) → [`RLockGuard`] |
//! | `rlock.release()` | [`rlock.release()`](RLock::release); by a non-owner → [`ReleaseError::NotOwner`] |
//! | `rlock._is_owned()` | [`rlock.is_owned()`](RLock::is_owned), [`rlock.count()`](RLock::count) |
//! | `Semaphore(n)` / `Semaphore()` | [`Semaphore::new(n)`](Semaphore::new) / [`Semaphore::default()`] (one permit) |
//! | `BoundedSemaphore(n)` | [`BoundedSemaphore::new(n)`](BoundedSemaphore::new) |
//! | `sem.acquire(blocking, timeout)` / `with sem:` | [`acquire`](Semaphore::acquire), [`try_acquire`](Semaphore::try_acquire), [`acquire_timeout`](Semaphore::acquire_timeout), [`acquire_deadline`](Semaphore::acquire_deadline) → [`SemaphoreGuard`] |
//! | `sem.release(n)` | [`sem.release(n)`](Semaphore::release) → `Result<(), SemaphoreReleaseError>` |
//! | `ValueError: Semaphore released too many times` | [`SemaphoreReleaseError::TooManyReleases`] |
//! | `sem._value` | [`sem.value()`](Semaphore::value) |
//! | `Event()` | [`Event::new()`] |
//! | `event.set()` / `clear()` / `is_set()` (`isSet()`) | [`set`](Event::set) / [`clear`](Event::clear) / [`is_set`](Event::is_set) |
//! | `event.wait()` / `event.wait(timeout)` | [`wait()`](Event::wait) / [`wait_timeout(t)`](Event::wait_timeout) → `bool`, [`wait_deadline`](Event::wait_deadline) |
//! | `Condition()` / `Condition(lock)` | [`Condition::new()`] (over an `RLock`) / [`Condition::with_lock(lock)`](Condition::with_lock) |
//! | `with cond:` / `cond.acquire(...)` | [`cond.acquire()`](Condition::acquire) → [`ConditionGuard`], [`try_acquire`](Condition::try_acquire), [`acquire_timeout`](Condition::acquire_timeout) |
//! | `cond.wait()` / `cond.wait(timeout)` | [`guard.wait()`](ConditionGuard::wait) / [`guard.wait_timeout(t)`](ConditionGuard::wait_timeout) → `bool` |
//! | `cond.wait_for(pred, timeout)` | [`guard.wait_for(pred)`](ConditionGuard::wait_for), [`wait_for_timeout`](ConditionGuard::wait_for_timeout) |
//! | `cond.notify(n)` / `cond.notify_all()` | [`guard.notify(n)`](ConditionGuard::notify), [`notify_one()`](ConditionGuard::notify_one) / [`notify_all()`](ConditionGuard::notify_all) |
//! | `RuntimeError: cannot wait on un-acquired lock` | impossible: waits are methods of the guard |
//! | `Barrier(parties, action, timeout)` | [`Barrier::new(parties)`](Barrier::new), [`Barrier::builder(parties)`](Barrier::builder)`.action(f).timeout(t).build()` |
//! | `ValueError` for `parties < 1` | [`BarrierBuildError`] |
//! | `barrier.wait(timeout)` → index | [`wait()`](Barrier::wait), [`wait_timeout(t)`](Barrier::wait_timeout), [`wait_deadline`](Barrier::wait_deadline) → `Result<usize, BarrierWaitError>` |
//! | `BrokenBarrierError` | [`BarrierWaitError`] (`Broken`, `TimedOut`, `ActionPanicked`) |
//! | `barrier.abort()` / `reset()` | [`abort()`](Barrier::abort) / [`reset()`](Barrier::reset) |
//! | `barrier.parties` / `n_waiting` / `broken` | [`parties()`](Barrier::parties) / [`n_waiting()`](Barrier::n_waiting) / [`is_broken()`](Barrier::is_broken) |
//! | (deadlock: the program hangs) | [`deadlock`]: cycle reported with thread and lock names; [`Lock::acquire_checked`] → [`DeadlockError`] |
//!
//! # Python style and data-owning style
//!
//! In Python a lock guards *other* variables, by convention. Rust's type system enforces the
//! convention instead: the usual tool is a `Mutex<T>` (std or parking_lot) that *owns* the
//! data, so the data cannot be reached without the lock.
//!
//! ```
//! use std::sync::atomic::{AtomicI64, Ordering};
//! use skein_locks::Lock;
//!
//! // Python style (skein): the lock orders a read-modify-write done through an atomic.
//! let lock = Lock::new();
//! let balance = AtomicI64::new(0);
//! std::thread::scope(|s| {
//!     for n in [5, 8] {
//!         let (lock, balance) = (&lock, &balance);
//!         s.spawn(move || {
//!             for _ in 0..1000 {
//!                 let _g = lock.acquire();
//!                 balance.store(balance.load(Ordering::Relaxed) + n, Ordering::Relaxed);
//!                 balance.store(balance.load(Ordering::Relaxed) - n, Ordering::Relaxed);
//!             }
//!         });
//!     }
//! });
//! assert_eq!(balance.load(Ordering::Relaxed), 0);
//!
//! // Data-owning style (parking_lot): the mutex is the only way to the balance.
//! let balance = parking_lot::Mutex::new(0i64);
//! std::thread::scope(|s| {
//!     for n in [5, 8] {
//!         let balance = &balance;
//!         s.spawn(move || {
//!             for _ in 0..1000 {
//!                 let mut b = balance.lock();
//!                 *b += n;
//!                 *b -= n;
//!             }
//!         });
//!     }
//! });
//! assert_eq!(*balance.lock(), 0);
//! ```
//!
//! **Which to use?** Data-owning `Mutex<T>` whenever one lock protects one value: it cannot
//! be misused. skein's Python-style primitives when the synchronisation itself is the point:
//! a lock released by another thread, an `RLock` for re-entrant code, a `Condition` over a
//! shared lock, a semaphore, an event, a barrier, deadlock reports with names, or a line-by-
//! line port of Python code.
//!
//! # Differences from Python
//!
//! * **No GIL.** Python threads take turns; Rust threads run truly in parallel, so a race
//!   loses updates far more often — and safe Rust refuses to compile the unguarded `n += 1`
//!   on shared data at all (the race demo has to use atomics to show it).
//! * **Guards instead of `with`.** `acquire` returns a guard that releases on drop. Python's
//!   explicit `release` is still there, via `leak()` + `release()`.
//! * **Waits cannot be called without the lock**: `Condition` waits and notifies are methods
//!   of the guard, so `RuntimeError: cannot wait on un-acquired lock` has no counterpart.
//! * **Timeouts are `Duration`/`Instant`**, and every blocking call has `try_`, `_timeout`
//!   and `_deadline` forms. Timeouts that run out return `None`/`false`, not an exception.
//! * **Errors are values**: `release` of an unlocked lock, a non-owner `RLock` release, a
//!   `BoundedSemaphore` over-release, and a zero-party barrier return typed errors.
//! * **`BrokenBarrierError` says why**: broken by someone else, this wait timed out, or this
//!   thread's action panicked (a panic in the action is caught, as Python catches the
//!   exception, and breaks the barrier).
//! * **Deadlocks are found**: with detection on (debug builds by default), a cycle of waits
//!   among skein locks is reported with thread and lock names, and `acquire_checked` turns it
//!   into an error instead of a hang.
//! * **Counts are unsigned**: `Semaphore::new(-1)` (Python's `ValueError`) cannot be written.
//! * **Fairness**: like parking_lot, locks let a running thread barge ahead of a woken one;
//!   `Condition` waiters are woken in FIFO order, as in CPython.
//!
//! # Cargo features
//!
//! * `deadlock-detection` (default): compiles in the wait-for graph; see [`deadlock`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(not(loom))]
mod barrier;
mod condition;
pub mod deadlock;
mod error;
mod event;
mod lock;
mod primitive;
mod raw_lock;
mod rlock;
#[cfg(not(loom))]
mod semaphore;
mod waiter;

#[cfg(not(loom))]
pub use crate::barrier::{Barrier, BarrierBuilder};
pub use crate::condition::{Condition, ConditionGuard, ConditionLock};
pub use crate::deadlock::{DeadlockReport, WaitEdge};
pub use crate::error::{
    BarrierBuildError, BarrierWaitError, DeadlockError, ReleaseError, SemaphoreReleaseError,
};
pub use crate::event::Event;
pub use crate::lock::{Lock, LockGuard};
pub use crate::rlock::{RLock, RLockGuard};
#[cfg(not(loom))]
pub use crate::semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
