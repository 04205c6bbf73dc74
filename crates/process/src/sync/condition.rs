//! `Condition`, shared between processes.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{ConditionError, Lock, OwnerDied, RLock, ReleaseError};
use crate::shared::futex;
use crate::shared::region::{Shared, atomic_header};
use crate::shm::ShmError;

/// How many processes and threads can wait on one condition with exact notification.
/// More wait too, but a notify wakes all of those beyond (each then reports `true`).
const MAX_WAITERS: usize = 512;

/// A waiter slot is free.
const FREE: u32 = 0;
/// A waiter sleeps on its slot, not yet notified.
const WAITING: u32 = 1;
/// A `notify` chose this waiter.
const NOTIFIED: u32 = 2;

atomic_header! {
    /// The waiters, one slot each: `notify(n)` marks the `n` oldest as notified and wakes
    /// exactly them. Slots are taken, marked and freed only under the condition's lock, so
    /// "was I notified?" is decided when the waiter has the lock back: a `notify` either
    /// marked it before that (it reports `true`) or cannot pick it any more (it timed out
    /// and reports `false`).
    pub(crate) struct CondState {
        /// The next waiter's ticket (arrival order).
        next_ticket: AtomicU64,
        /// Slots in the `WAITING` state.
        waiting: AtomicU32,
        /// Waiters that found no free slot; they sleep on `overflow_seq`.
        overflow: AtomicU32,
        overflow_seq: AtomicU32,
        _reserved: AtomicU32,
        state: [AtomicU32; MAX_WAITERS],
        ticket: [AtomicU64; MAX_WAITERS],
    }
}

impl CondState {
    /// Registers a waiter (the lock is held); its slot, `None` when all are taken.
    fn register(&self) -> Option<usize> {
        let i = self
            .state
            .iter()
            .position(|s| s.load(Ordering::SeqCst) == FREE)?;
        let t = self.next_ticket.fetch_add(1, Ordering::SeqCst);
        self.ticket[i].store(t, Ordering::SeqCst);
        self.state[i].store(WAITING, Ordering::SeqCst);
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Some(i)
    }

    /// Frees slot `i` (the lock is held again); whether it had been notified.
    fn leave(&self, i: usize) -> bool {
        let was = self.state[i].swap(FREE, Ordering::SeqCst);
        if was == WAITING {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        was == NOTIFIED
    }

    /// Marks and wakes the `n` oldest waiting waiters (the lock is held).
    fn notify(&self, mut n: u32) {
        while n > 0 && self.waiting.load(Ordering::SeqCst) > 0 {
            let oldest = (0..MAX_WAITERS)
                .filter(|&i| self.state[i].load(Ordering::SeqCst) == WAITING)
                .min_by_key(|&i| self.ticket[i].load(Ordering::SeqCst));
            let Some(i) = oldest else { break };
            self.state[i].store(NOTIFIED, Ordering::SeqCst);
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            futex::wake(&self.state[i], u32::MAX);
            n -= 1;
        }
        if n > 0 && self.overflow.load(Ordering::SeqCst) > 0 {
            self.overflow_seq.fetch_add(1, Ordering::SeqCst);
            futex::wake_all(&self.overflow_seq);
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Inner {
    Lock(Lock),
    RLock(RLock),
}

/// A condition variable shared between processes — `multiprocessing.Condition(lock)`.
///
/// It owns its lock (an [`RLock`] by default, as in Python, or a [`Lock`] with
/// [`with_lock`](Self::with_lock)); `wait` and `notify` need it held.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::Condition;
///
/// let cond = Condition::new()?;
/// cond.acquire().unwrap();
/// assert!(!cond.wait_timeout(Duration::from_millis(1)).unwrap()); // nobody notifies
/// cond.notify_all().unwrap();
/// cond.release().unwrap();
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    shared: Shared<CondState>,
    lock: Inner,
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .finish()
    }
}

impl Condition {
    /// A condition over a new [`RLock`] — `Condition()`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<Condition, ShmError> {
        Ok(Condition {
            shared: Shared::new(0)?,
            lock: Inner::RLock(RLock::new()?),
        })
    }

    /// A condition over `lock` — `Condition(lock)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn with_lock(lock: Lock) -> Result<Condition, ShmError> {
        Ok(Condition {
            shared: Shared::new(0)?,
            lock: Inner::Lock(lock),
        })
    }

    /// Acquires the underlying lock.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] when taken over from a dead owner (the lock is held).
    pub fn acquire(&self) -> Result<(), OwnerDied> {
        match &self.lock {
            Inner::Lock(l) => l.acquire(),
            Inner::RLock(l) => l.acquire(),
        }
    }

    /// Releases the underlying lock.
    ///
    /// # Errors
    ///
    /// As the lock's `release`.
    pub fn release(&self) -> Result<(), ReleaseError> {
        match &self.lock {
            Inner::Lock(l) => l.release(),
            Inner::RLock(l) => l.release(),
        }
    }

    fn held(&self) -> bool {
        match &self.lock {
            Inner::Lock(l) => l.held_by_me(),
            Inner::RLock(l) => l.held_by_me(),
        }
    }

    /// Releases the lock, waits for a notify, re-acquires — `wait()`.
    ///
    /// # Errors
    ///
    /// [`ConditionError::NotOwner`] without the lock; [`ConditionError::OwnerDied`] when
    /// the re-acquired lock's previous owner died (the lock is held).
    pub fn wait(&self) -> Result<(), ConditionError> {
        self.wait_until(None).map(|_| ())
    }

    /// As [`wait`](Self::wait), at most `timeout`; `Ok(false)` when it timed out.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, ConditionError> {
        self.wait_until(Some(futex::deadline_after(timeout)))
    }

    /// As [`wait`](Self::wait), until `deadline`; `Ok(false)` when it timed out.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_deadline(&self, deadline: Instant) -> Result<bool, ConditionError> {
        self.wait_until(Some(deadline))
    }

    /// Waits until `predicate()` holds (checked under the lock) — `wait_for(pred)`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool) -> Result<(), ConditionError> {
        while !predicate() {
            self.wait()?;
        }
        Ok(())
    }

    /// As [`wait_for`](Self::wait_for), at most `timeout`; returns the predicate's last
    /// value — `wait_for(pred, timeout)`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_for_timeout(
        &self,
        mut predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<bool, ConditionError> {
        let deadline = futex::deadline_after(timeout);
        loop {
            if predicate() {
                return Ok(true);
            }
            if !self.wait_until(Some(deadline))? {
                return Ok(predicate());
            }
        }
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool, ConditionError> {
        if !self.held() {
            return Err(ConditionError::NotOwner);
        }
        let st = self.shared.header();
        let slot = st.register();
        let seq = st.overflow_seq.load(Ordering::SeqCst);
        if slot.is_none() {
            st.overflow.fetch_add(1, Ordering::SeqCst);
        }
        let depth = match &self.lock {
            Inner::Lock(l) => {
                l.unlock_raw();
                0
            }
            Inner::RLock(l) => l.release_all(),
        };
        loop {
            let (word, expected) = match slot {
                Some(i) => (&st.state[i], WAITING),
                None => (&st.overflow_seq, seq),
            };
            if word.load(Ordering::SeqCst) != expected {
                break;
            }
            match futex::remaining(deadline) {
                None => break,
                Some(left) => futex::wait(word, expected, left),
            }
        }
        let reacquired = match &self.lock {
            Inner::Lock(l) => l.acquire(),
            Inner::RLock(l) => l.restore(depth),
        };
        // Decided under the lock: see `CondState`.
        let notified = match slot {
            Some(i) => st.leave(i),
            None => {
                st.overflow.fetch_sub(1, Ordering::SeqCst);
                st.overflow_seq.load(Ordering::SeqCst) != seq
            }
        };
        match reacquired {
            Ok(()) => Ok(notified),
            Err(_) => Err(ConditionError::OwnerDied),
        }
    }

    /// Wakes at most `n` waiters, the longest-waiting first — `notify(n)`. Exactly the
    /// waiters it wakes report `true` from a timed wait.
    ///
    /// # Errors
    ///
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify(&self, n: u32) -> Result<(), ConditionError> {
        if !self.held() {
            return Err(ConditionError::NotOwner);
        }
        self.shared.header().notify(n);
        Ok(())
    }

    /// Wakes every waiter — `notify_all()`.
    ///
    /// # Errors
    ///
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify_all(&self) -> Result<(), ConditionError> {
        self.notify(u32::MAX)
    }
}
