//! `Lock`: a process-shared mutual-exclusion lock.

use std::fmt;
use std::time::{Duration, Instant};

use super::{OwnerDied, ReleaseError};
use crate::shared::ident;
use crate::shared::rawlock::{Acquired, RawLock};
use crate::shared::region::Shared;
use crate::shm::ShmError;

/// A lock shared between processes — `multiprocessing.Lock()`.
///
/// Like Python's, it is not reentrant and may be released by any thread or process.
/// Its owner is a process: if the process holding it dies, the next acquirer takes it
/// over and gets [`OwnerDied`] instead of waiting forever.
///
/// | Python | skein |
/// |---|---|
/// | `lock.acquire()` | [`acquire`](Self::acquire) |
/// | `lock.acquire(False)` | [`try_acquire`](Self::try_acquire) |
/// | `lock.acquire(timeout=t)` | [`acquire_timeout`](Self::acquire_timeout) / [`acquire_deadline`](Self::acquire_deadline) |
/// | `lock.release()` | [`release`](Self::release) |
/// | `with lock:` | [`lock`](Self::lock) (a guard) |
///
/// # Examples
///
/// ```
/// use skein_process::Lock;
///
/// let lock = Lock::new()?;
/// {
///     let _guard = lock.lock().unwrap();
///     assert!(lock.locked());
///     assert!(!lock.try_acquire().unwrap());
/// }
/// assert!(!lock.locked());
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Lock {
    shared: Shared<RawLock>,
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's repr names the owner (`<Lock(owner=MainProcess)>`); here: its pid.
        let owner = self.shared.header().owner_id();
        f.debug_struct("Lock")
            .field("owner", &(owner != 0).then_some(owner))
            .finish()
    }
}

fn outcome(a: Option<Acquired>) -> Result<bool, OwnerDied> {
    match a {
        None => Ok(false),
        Some(Acquired::Clean) => Ok(true),
        Some(Acquired::OwnerDied) => Err(OwnerDied::new(())),
    }
}

impl Lock {
    /// A new unlocked lock.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<Lock, ShmError> {
        Ok(Lock {
            shared: Shared::new(0)?,
        })
    }

    /// The lock at the start of `shared` (a `Value`/`Array` cell's own lock).
    pub(crate) fn from_shared(shared: Shared<RawLock>) -> Lock {
        Lock { shared }
    }

    pub(crate) fn raw(&self) -> &RawLock {
        self.shared.header()
    }

    /// Blocks until the lock is acquired.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] when it was taken over from a dead owner (the lock is held).
    pub fn acquire(&self) -> Result<(), OwnerDied> {
        outcome(self.raw().lock(ident::process(), None)).map(|_| ())
    }

    /// Acquires the lock if that needs no waiting — `acquire(blocking=False)`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] as for [`acquire`](Self::acquire).
    pub fn try_acquire(&self) -> Result<bool, OwnerDied> {
        outcome(self.raw().try_lock(ident::process()))
    }

    /// Waits at most `timeout`; `Ok(false)` if the lock stayed taken.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] as for [`acquire`](Self::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, OwnerDied> {
        self.acquire_deadline(crate::shared::futex::deadline_after(timeout))
    }

    /// Waits until `deadline`; `Ok(false)` if the lock stayed taken.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] as for [`acquire`](Self::acquire).
    pub fn acquire_deadline(&self, deadline: Instant) -> Result<bool, OwnerDied> {
        outcome(self.raw().lock(ident::process(), Some(deadline)))
    }

    /// Releases the lock (from any thread or process).
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] when it is not held.
    pub fn release(&self) -> Result<(), ReleaseError> {
        if !self.raw().is_locked() {
            return Err(ReleaseError::NotLocked);
        }
        self.raw().unlock();
        Ok(())
    }

    /// Whether some process holds the lock.
    pub fn locked(&self) -> bool {
        self.raw().is_locked()
    }

    /// Acquires the lock and returns a guard that releases it — `with lock:`.
    ///
    /// # Errors
    ///
    /// [`OwnerDied`] holding the guard, as for [`acquire`](Self::acquire).
    pub fn lock(&self) -> Result<LockGuard<'_>, OwnerDied<LockGuard<'_>>> {
        match self.acquire() {
            Ok(()) => Ok(LockGuard { lock: self }),
            Err(_) => Err(OwnerDied::new(LockGuard { lock: self })),
        }
    }

    /// Whether this process holds the lock (for `Condition`).
    pub(crate) fn held_by_me(&self) -> bool {
        self.raw().held_by(ident::process())
    }

    pub(crate) fn unlock_raw(&self) {
        self.raw().unlock();
    }
}

/// Holds a [`Lock`]; releases it on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        self.lock.unlock_raw();
    }
}
