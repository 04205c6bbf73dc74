//! `RLock`: a process-shared reentrant lock.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{OwnerDied, ReleaseError};
use crate::shared::ident;
use crate::shared::rawlock::{Acquired, RawLock};
use crate::shared::region::{Shared, atomic_header};
use crate::shm::ShmError;

atomic_header! {
    pub(crate) struct RLockState {
        lock: RawLock,
        count: AtomicU32,
    }
}

/// A reentrant lock shared between processes — `multiprocessing.RLock()`.
///
/// The thread that holds it may acquire it again; it is free once released as many
/// times. Only the owner may release it. If the owning thread (or its process) dies,
/// the next acquirer gets [`OwnerDied`].
///
/// # Examples
///
/// ```
/// use skein_process::RLock;
///
/// let lock = RLock::new()?;
/// lock.acquire().unwrap();
/// lock.acquire().unwrap(); // reentrant
/// lock.release().unwrap();
/// lock.release().unwrap();
/// assert!(lock.release().is_err()); // one release too many
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct RLock {
    shared: Shared<RLockState>,
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's repr: `<RLock(owner, count)>`; here the owner is a thread id.
        let st = self.state();
        let owner = st.lock.owner_id();
        let count = if owner == 0 {
            0
        } else {
            st.count.load(Ordering::Relaxed)
        };
        f.debug_struct("RLock")
            .field("owner", &(owner != 0).then_some(owner))
            .field("count", &count)
            .finish()
    }
}

impl RLock {
    /// A new unlocked reentrant lock.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<RLock, ShmError> {
        Ok(RLock {
            shared: Shared::new(0)?,
        })
    }

    fn state(&self) -> &RLockState {
        self.shared.header()
    }

    fn enter(&self, deadline: Option<Option<Instant>>) -> Result<bool, OwnerDied> {
        let me = ident::thread();
        let st = self.state();
        if st.lock.held_by(me) {
            st.count.fetch_add(1, Ordering::Relaxed);
            return Ok(true);
        }
        let got = match deadline {
            None => st.lock.try_lock(me),
            Some(d) => st.lock.lock(me, d),
        };
        match got {
            None => Ok(false),
            Some(a) => {
                st.count.store(1, Ordering::Relaxed);
                if a == Acquired::OwnerDied {
                    Err(OwnerDied::new(()))
                } else {
                    Ok(true)
                }
            }
        }
    }

    /// Blocks until acquired (at once if this thread already holds it).
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] when it was taken over from a dead owner (the lock is held, count 1).
    pub fn acquire(&self) -> Result<(), OwnerDied> {
        self.enter(Some(None)).map(|_| ())
    }

    /// Acquires without waiting; `Ok(false)` if another thread holds it.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn try_acquire(&self) -> Result<bool, OwnerDied> {
        self.enter(None)
    }

    /// Waits at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, OwnerDied> {
        self.acquire_deadline(crate::shared::futex::deadline_after(timeout))
    }

    /// Waits until `deadline`.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<bool, OwnerDied> {
        self.enter(Some(Some(deadline)))
    }

    /// Releases one level.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] / [`ReleaseError::NotOwner`].
    pub fn release(&self) -> Result<(), ReleaseError> {
        let st = self.state();
        if !st.lock.is_locked() {
            return Err(ReleaseError::NotLocked);
        }
        if !st.lock.held_by(ident::thread()) {
            return Err(ReleaseError::NotOwner);
        }
        if st.count.fetch_sub(1, Ordering::Relaxed) == 1 {
            st.lock.unlock();
        }
        Ok(())
    }

    /// Whether any thread holds it.
    pub fn locked(&self) -> bool {
        self.state().lock.is_locked()
    }

    /// Acquires and returns a guard that releases one level on drop — `with rlock:`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] holding the guard.
    pub fn lock(&self) -> Result<RLockGuard<'_>, OwnerDied<RLockGuard<'_>>> {
        match self.acquire() {
            Ok(()) => Ok(RLockGuard { lock: self }),
            Err(_) => Err(OwnerDied::new(RLockGuard { lock: self })),
        }
    }

    pub(crate) fn held_by_me(&self) -> bool {
        self.state().lock.held_by(ident::thread())
    }

    /// Fully releases (for `Condition::wait`); returns the depth to restore.
    pub(crate) fn release_all(&self) -> u32 {
        let st = self.state();
        let depth = st.count.swap(0, Ordering::Relaxed);
        st.lock.unlock();
        depth
    }

    /// Re-acquires to `depth` (after `Condition::wait`).
    pub(crate) fn restore(&self, depth: u32) -> Result<(), OwnerDied> {
        let r = self.acquire();
        self.state().count.store(depth, Ordering::Relaxed);
        r
    }
}

/// Holds one level of an [`RLock`]; releases it on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}
