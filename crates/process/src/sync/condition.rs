//! `Condition`, shared between processes.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{ConditionError, Lock, OwnerDied, RLock, ReleaseError};
use crate::shared::futex;
use crate::shared::region::{AtomicHeader, Shared};
use crate::shm::ShmError;

#[repr(C)]
pub(crate) struct CondState {
    seq: AtomicU32,
    sleepers: AtomicU32,
}

// SAFETY: atomics only; zero is a valid initial state.
unsafe impl AtomicHeader for CondState {}

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
        let seq = st.seq.load(Ordering::SeqCst);
        st.sleepers.fetch_add(1, Ordering::SeqCst);
        let depth = match &self.lock {
            Inner::Lock(l) => {
                l.unlock_raw();
                0
            }
            Inner::RLock(l) => l.release_all(),
        };
        let notified = loop {
            if st.seq.load(Ordering::SeqCst) != seq {
                break true;
            }
            match futex::remaining(deadline) {
                None => break false,
                Some(left) => futex::wait(&st.seq, seq, left),
            }
        };
        st.sleepers.fetch_sub(1, Ordering::SeqCst);
        let reacquired = match &self.lock {
            Inner::Lock(l) => l.acquire(),
            Inner::RLock(l) => l.restore(depth),
        };
        match reacquired {
            Ok(()) => Ok(notified),
            Err(_) => Err(ConditionError::OwnerDied),
        }
    }

    /// Wakes at most `n` waiters — `notify(n)`.
    ///
    /// # Errors
    ///
    /// [`ConditionError::NotOwner`] without the lock.
    pub fn notify(&self, n: u32) -> Result<(), ConditionError> {
        if !self.held() {
            return Err(ConditionError::NotOwner);
        }
        let st = self.shared.header();
        st.seq.fetch_add(1, Ordering::SeqCst);
        if st.sleepers.load(Ordering::SeqCst) > 0 {
            futex::wake(&st.seq, n);
        }
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
