//! The lock word shared by [`Lock`](crate::Lock) and [`RLock`](crate::RLock).
//!
//! One `AtomicU64` holds `owner_id << 2 | PARKED | LOCKED`. Taking a free lock is one CAS
//! from 0 that also records the owner; releasing it is one CAS back to 0. A thread that
//! finds the lock taken spins briefly (only while nobody is parked, as parking_lot does),
//! then takes the queue mutex, sets `PARKED`, queues its [`Waiter`] and parks.
//!
//! Invariant (at every point where the queue mutex is free): `PARKED` is set exactly when
//! the queue is non-empty, and while it is set the word changes only under the queue mutex.
//! That is what lets the deadlock graph keep an exact copy of the owner of every lock that
//! has parked waiters (see [`deadlock`](crate::deadlock)).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::primitive::{AtomicU64, Mutex, SpinWait, loom_const_fn, mutex};

use crate::deadlock::{self, DeadlockReport};
use crate::error::ReleaseError;
use crate::waiter::{self, DEADLOCKED, NOTIFIED, Waiter};

const LOCKED: u64 = 1;
const PARKED: u64 = 2;
const SHIFT: u32 = 2;

#[inline]
const fn token(me: u64) -> u64 {
    me << SHIFT | LOCKED
}

pub(crate) struct RawLock {
    state: AtomicU64,
    queue: Mutex<VecDeque<Arc<Waiter>>>,
}

impl RawLock {
    loom_const_fn! {
        pub(crate) fn new() -> Self {
            RawLock { state: AtomicU64::new(0), queue: mutex(VecDeque::new()) }
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// The owner's thread id, or 0 when free.
    #[inline]
    pub(crate) fn owner(&self) -> u64 {
        let s = self.state.load(Ordering::Relaxed);
        if s & LOCKED == 0 { 0 } else { s >> SHIFT }
    }

    /// Whether some thread is parked in the queue (for tests that must wait until it is).
    pub(crate) fn has_parked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & PARKED != 0
    }

    #[inline]
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// One CAS from free to held by `me`.
    #[inline]
    pub(crate) fn try_lock_fast(&self, me: u64) -> bool {
        self.state
            .compare_exchange(0, token(me), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock if it is free, without blocking.
    #[inline]
    pub(crate) fn try_lock(&self, me: u64) -> bool {
        match self
            .state
            .compare_exchange(0, token(me), Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => true,
            // Free, but a woken waiter has not come back yet: take it through the queue.
            Err(s) if s & LOCKED == 0 => self.try_lock_slow(me),
            Err(_) => false,
        }
    }

    #[cold]
    fn try_lock_slow(&self, me: u64) -> bool {
        let q = self.queue.lock();
        self.take_under_queue(&q, me)
    }

    /// With the queue mutex held: takes the lock if free. Returns whether it did.
    fn take_under_queue(&self, q: &VecDeque<Arc<Waiter>>, me: u64) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & LOCKED == 0 {
            let new = token(me) | if q.is_empty() { 0 } else { PARKED };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => {
                    if !q.is_empty() && deadlock::is_enabled() {
                        deadlock::set_owner(self.addr(), me);
                    }
                    return true;
                }
                Err(x) => s = x,
            }
        }
        false
    }

    /// Blocks until the lock is taken (`Ok(true)`), the deadline passes (`Ok(false)`), or —
    /// only when `checked` — a deadlock cycle through this wait is found (`Err`).
    #[inline]
    fn lock(
        &self,
        me: u64,
        deadline: Option<Instant>,
        checked: bool,
        name: Option<&Arc<str>>,
    ) -> Result<bool, DeadlockReport> {
        if self
            .state
            .compare_exchange_weak(0, token(me), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Ok(true);
        }
        self.lock_slow(me, deadline, checked, name, true)
    }

    /// Blocks until the lock is taken (`true`) or the deadline passes (`false`); no deadlock
    /// error (an unchecked wait reports a cycle and waits on, as Python would).
    #[inline]
    pub(crate) fn lock_until(
        &self,
        me: u64,
        deadline: Option<Instant>,
        name: Option<&Arc<str>>,
    ) -> bool {
        loop {
            match self.lock(me, deadline, false, name) {
                Ok(true) => return true,
                Ok(false) if deadline.is_some() => return false,
                // An unchecked wait never fails and an untimed one never times out.
                _ => {}
            }
        }
    }

    /// Blocks until the lock is taken, or returns the report of a deadlock cycle through
    /// this wait (detection must be on).
    pub(crate) fn lock_checked(
        &self,
        me: u64,
        name: Option<&Arc<str>>,
    ) -> Result<(), DeadlockReport> {
        while !self.lock(me, None, true, name)? {}
        Ok(())
    }

    /// Blocks until the lock is taken, spinning without `yield_now` first: for a thread
    /// coming back from a `Condition` wait, whose notifier is often still finishing its
    /// critical section — yielding there can hand the core away for a whole time slice.
    pub(crate) fn lock_after_wait(&self, me: u64, name: Option<&Arc<str>>) {
        if self.try_lock_fast(me) {
            return;
        }
        while !matches!(self.lock_slow(me, None, false, name, false), Ok(true)) {}
    }

    #[cold]
    fn lock_slow(
        &self,
        me: u64,
        deadline: Option<Instant>,
        checked: bool,
        name: Option<&Arc<str>>,
        may_yield: bool,
    ) -> Result<bool, DeadlockReport> {
        // Spin while nobody is parked: the holder is probably about to let go. Same schedule
        // as parking_lot's mutex.
        let mut spin = SpinWait::new(may_yield);
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s == 0 {
                if self
                    .state
                    .compare_exchange_weak(0, token(me), Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return Ok(true);
                }
                continue;
            }
            if s & PARKED != 0 || !spin.spin() {
                break;
            }
        }

        let waiter = waiter::current();
        let addr = self.addr();
        loop {
            let mut q = self.queue.lock();
            if self.take_under_queue(&q, me) {
                return Ok(true);
            }
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                continue;
            }
            if s & PARKED == 0
                && self
                    .state
                    .compare_exchange(s, s | PARKED, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                if q.is_empty() {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
                return Ok(false);
            }
            waiter.prepare();
            q.push_back(Arc::clone(&waiter));
            let found = if deadlock::is_enabled() {
                deadlock::register(addr, name, s >> SHIFT, &waiter, checked, deadline.is_some())
            } else {
                None
            };
            drop(q);

            if let Some(found) = found {
                deadlock::report(&found.report);
                if found.error_now {
                    self.cancel_wait(&waiter);
                    return Err(found.report);
                }
            }
            match waiter.park(deadline) {
                NOTIFIED => {}
                DEADLOCKED => {
                    self.cancel_wait(&waiter);
                    if let Some(report) = deadlock::take_victim_report(me) {
                        return Err(report);
                    }
                }
                _ => {
                    // Timed out. If we were still queued we give up; otherwise a release
                    // chose us just now, so go round once more (the deadline check above
                    // returns if the lock is taken again).
                    if self.cancel_wait(&waiter) {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Takes `w` out of the queue if it is still there; returns whether it was.
    fn cancel_wait(&self, w: &Arc<Waiter>) -> bool {
        let mut q = self.queue.lock();
        let pos = q.iter().position(|x| Arc::ptr_eq(x, w));
        if let Some(i) = pos {
            q.remove(i);
        }
        if q.is_empty() {
            self.state.fetch_and(!PARKED, Ordering::Relaxed);
        }
        if deadlock::is_enabled() {
            deadlock::unregister(w.id, self.addr(), !q.is_empty());
        }
        pos.is_some()
    }

    /// Releases a lock taken by `me` (guards, `RLock`). Does nothing if `me` no longer owns it.
    #[inline]
    pub(crate) fn unlock_owned(&self, me: u64) {
        if self
            .state
            .compare_exchange(token(me), 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            let _ = self.unlock_slow(Some(me));
        }
    }

    /// Releases the lock whoever holds it (Python's `Lock.release` from any thread).
    pub(crate) fn unlock_any(&self) -> Result<(), ReleaseError> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return Err(ReleaseError::NotLocked);
            }
            if s & PARKED != 0 {
                return self.unlock_slow(None);
            }
            match self
                .state
                .compare_exchange_weak(s, 0, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(x) => s = x,
            }
        }
    }

    #[cold]
    fn unlock_slow(&self, owner: Option<u64>) -> Result<(), ReleaseError> {
        let mut q = self.queue.lock();
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return Err(ReleaseError::NotLocked);
            }
            if owner.is_some_and(|me| s >> SHIFT != me) {
                return Err(ReleaseError::NotOwner);
            }
            if s & PARKED != 0 {
                break;
            }
            // Nobody parked (and nobody can park: we hold the queue): a plain release.
            match self
                .state
                .compare_exchange_weak(s, 0, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(x) => s = x,
            }
        }
        // PARKED is set, so the word is stable while we hold the queue. Wake the first
        // waiter that is still waiting (deadlock victims leave by themselves).
        let mut woken = None;
        while let Some(w) = q.pop_front() {
            if w.wake(NOTIFIED) {
                woken = Some(w);
                break;
            }
        }
        if deadlock::is_enabled() {
            deadlock::released(self.addr(), woken.map(|w| w.id), !q.is_empty());
        }
        let new = if q.is_empty() { 0 } else { PARKED };
        self.state.store(new, Ordering::Release);
        Ok(())
    }
}
