//! `LockProxy`: Python's `Manager().Lock()`.

use std::fmt;
use std::time::Duration;

use crate::manager::client::unexpected;
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Op, Reply};
use crate::manager::proxy::{Core, boolean, proxy_common, unit};

/// A lock held by a manager (Python's `Manager().Lock()`), shared by every process
/// that has the proxy.
///
/// As with Python's `Lock`, whoever holds the proxy may release it, not only the
/// process that acquired it. Unlike Python's, a lock whose holder's connection ends
/// (its process died) does not stay locked forever: it passes to the next process to
/// acquire it, which is told with [`ManagerError::OwnerDied`] (the lock is then held:
/// check what it protects, then release as usual).
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let lock = m.lock()?;
/// {
///     let _held = lock.lock()?;
///     assert!(lock.locked()?);
///     assert!(!lock.try_acquire()?);
/// }
/// assert!(!lock.locked()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LockProxy {
    core: Core,
    _t: std::marker::PhantomData<()>,
}

proxy_common!(LockProxy);

/// What an acquire answered: acquired (`Ok(true)`), not in time (`Ok(false)`).
fn acquired(r: Reply) -> Result<bool, ManagerError> {
    match r {
        Reply::Acquired { owner_died: false } => Ok(true),
        Reply::Acquired { owner_died: true } => Err(ManagerError::OwnerDied),
        Reply::Bool(false) => Ok(false),
        other => Err(unexpected(&other)),
    }
}

impl LockProxy {
    pub(crate) fn new(core: Core) -> Self {
        LockProxy {
            core,
            _t: std::marker::PhantomData,
        }
    }

    fn acquire_ms(&self, timeout_ms: Option<u64>) -> Result<bool, ManagerError> {
        acquired(self.core.call(Op::Acquire {
            obj: self.core.obj(),
            timeout_ms,
        })?)
    }

    /// `lock.acquire()`: waits until the lock is free and takes it.
    ///
    /// # Errors
    ///
    /// [`ManagerError::OwnerDied`] (the lock is held); [`ManagerError::Disconnected`]
    /// if the server is gone.
    pub fn acquire(&self) -> Result<(), ManagerError> {
        self.acquire_ms(None).map(drop)
    }

    /// `lock.acquire(timeout=t)`: whether it was taken within `timeout`.
    ///
    /// # Errors
    ///
    /// As [`acquire`](LockProxy::acquire).
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, ManagerError> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.acquire_ms(Some(ms))
    }

    /// `lock.acquire(blocking=False)`: takes the lock if it is free now.
    ///
    /// # Errors
    ///
    /// As [`acquire`](LockProxy::acquire).
    pub fn try_acquire(&self) -> Result<bool, ManagerError> {
        self.acquire_ms(Some(0))
    }

    /// `lock.release()`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::NotLocked`] if it is not held; [`ManagerError::Disconnected`].
    pub fn release(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Release {
            obj: self.core.obj(),
        })?)
    }

    /// `lock.locked()`: whether someone holds it now.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn locked(&self) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::Locked {
            obj: self.core.obj(),
        })?)
    }

    /// `with lock:` — acquires, and releases when the guard is dropped. A lock taken
    /// over from a holder that ended is held too: the guard's
    /// [`previous_owner_died`](LockProxyGuard::previous_owner_died) says so.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn lock(&self) -> Result<LockProxyGuard<'_>, ManagerError> {
        let owner_died = match self.acquire() {
            Ok(()) => false,
            Err(ManagerError::OwnerDied) => true,
            Err(e) => return Err(e),
        };
        Ok(LockProxyGuard {
            lock: self,
            owner_died,
        })
    }
}

/// Holds a [`LockProxy`] until dropped (a release that fails because the server is
/// gone is ignored: the lock is gone with it).
pub struct LockProxyGuard<'a> {
    lock: &'a LockProxy,
    owner_died: bool,
}

impl LockProxyGuard<'_> {
    /// Whether the lock was taken over from a holder that ended while holding it.
    pub fn previous_owner_died(&self) -> bool {
        self.owner_died
    }
}

impl Drop for LockProxyGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.release();
    }
}

impl fmt::Debug for LockProxyGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockProxyGuard")
            .field("lock", self.lock)
            .finish_non_exhaustive()
    }
}
