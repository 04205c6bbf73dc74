//! gevent's `Lock`.

use std::fmt;
use std::time::{Duration, Instant};

use super::semaphore::{Semaphore, SemaphoreGuard};

/// A green mutual-exclusion lock (gevent's `gevent.lock.Lock`, a semaphore of one):
/// a task waiting for it parks, others run. Clones share one lock.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::{self, Lock};
///
/// let lock = Lock::new();
/// let tasks: Vec<_> = (0..3).map(|i| {
///     let lock = lock.clone();
///     hub::spawn(move || {
///         let _held = lock.acquire();
///         hub::sleep(std::time::Duration::ZERO); // others run, but cannot enter
///         i
///     })
/// }).collect();
/// for t in tasks { t.join().unwrap(); }
/// assert!(!lock.locked());
/// ```
#[derive(Clone)]
pub struct Lock {
    sem: Semaphore,
}

/// A held [`Lock`]; dropping it releases the lock.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    _permit: SemaphoreGuard<'a>,
}

impl Lock {
    /// A new, unlocked lock.
    pub fn new() -> Self {
        Lock {
            sem: Semaphore::bounded(1),
        }
    }

    /// Waits for the lock.
    ///
    /// # Panics
    ///
    /// In the main context, when nothing could ever release it (gevent's `LoopExit`).
    pub fn acquire(&self) -> LockGuard<'_> {
        LockGuard {
            _permit: self.sem.acquire(),
        }
    }

    /// The lock if it is free now (Python's `acquire(blocking=False)`).
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.sem.try_acquire().map(|p| LockGuard { _permit: p })
    }

    /// Waits at most `timeout` for the lock (Python's `acquire(timeout=…)`).
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<LockGuard<'_>> {
        self.sem
            .acquire_timeout(timeout)
            .map(|p| LockGuard { _permit: p })
    }

    /// Waits until `deadline` at most for the lock.
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<LockGuard<'_>> {
        self.sem
            .acquire_deadline(deadline)
            .map(|p| LockGuard { _permit: p })
    }

    /// True while some task holds the lock (Python's `locked()`).
    pub fn locked(&self) -> bool {
        self.sem.available() == 0
    }
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish()
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}
