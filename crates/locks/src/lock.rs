//! `Lock`: Python's `threading.Lock`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{DeadlockError, ReleaseError};
use crate::primitive::loom_const_fn;
use crate::raw_lock::RawLock;
use crate::waiter::current_id;

/// A mutual-exclusion lock that guards no data — Python's `threading.Lock`.
///
/// `acquire` returns a [`LockGuard`] that releases on drop (Python's `with lock:`). As in
/// Python the lock is not tied to a thread: [`LockGuard::leak`] keeps it held with no
/// guard, and [`release`](Lock::release) may then be called from any thread. Taking it twice
/// on one thread blocks (use [`RLock`](crate::RLock) for that); with deadlock detection on,
/// that self-deadlock is reported like any other cycle.
///
/// Built on one atomic word (owner id + flags) with parking_lot's queue mutex for the slow
/// path: uncontended acquire+release is one CAS each, like `parking_lot::Mutex`.
///
/// # Python style and data-owning style
///
/// Python guards *other* variables with a lock. Safe Rust cannot share a plain variable
/// between threads unguarded, so with `Lock` the data lives in atomics or its own container.
/// When a lock protects one piece of data, prefer the data-owning style —
/// `parking_lot::Mutex<T>` or `std::sync::Mutex<T>` — where the guard *is* the access:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use skein_locks::Lock;
///
/// // Python style: the lock orders a read-modify-write of shared state.
/// let lock = Lock::new();
/// let n = AtomicU64::new(0);
/// {
///     let _g = lock.acquire();
///     n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
/// }
///
/// // Data-owning style: the mutex holds the value; no way to touch it unlocked.
/// let m = parking_lot::Mutex::new(0u64);
/// *m.lock() += 1;
/// assert_eq!(n.load(Ordering::Relaxed), *m.lock());
/// ```
///
/// Use `Lock` when the lock is the point: it must be released by another thread, timed, or
/// shared by a [`Condition`](crate::Condition) — or when porting Python code line by line.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_locks::Lock;
///
/// let lock = Lock::named("accounts");
/// let guard = lock.acquire();              // lock.acquire()
/// assert!(lock.is_locked());               // lock.locked()
/// assert!(lock.try_acquire().is_none());   // lock.acquire(blocking=False)
/// assert!(lock.acquire_timeout(Duration::from_millis(1)).is_none());
/// drop(guard);                             // lock.release()
///
/// lock.acquire().leak();                   // held with no guard …
/// std::thread::scope(|s| {
///     s.spawn(|| lock.release().unwrap()); // … released by another thread
/// });
/// assert!(lock.release().is_err());        // RuntimeError: release unlocked lock
/// ```
pub struct Lock {
    raw: RawLock,
    name: Option<Arc<str>>,
}

impl Lock {
    loom_const_fn! {
        /// A new, unlocked lock — `threading.Lock()`.
        pub fn new() -> Self {
            Lock { raw: RawLock::new(), name: None }
        }
    }

    /// A new lock with a name, used in deadlock reports and `Debug`.
    pub fn named(name: impl Into<Arc<str>>) -> Self {
        Lock {
            raw: RawLock::new(),
            name: Some(name.into()),
        }
    }

    /// The name given with [`named`](Lock::named).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Blocks until the lock is taken — `lock.acquire()` / `with lock:`.
    ///
    /// If this wait closes a deadlock cycle and detection is on, the cycle is reported and
    /// the thread keeps waiting, as Python would; use
    /// [`acquire_checked`](Lock::acquire_checked) to get an error instead.
    #[inline]
    pub fn acquire(&self) -> LockGuard<'_> {
        let me = current_id();
        self.raw.lock_until(me, None, self.name.as_ref());
        self.guard(me)
    }

    /// Like [`acquire`](Lock::acquire), but returns an error instead of hanging when the
    /// deadlock detector finds this wait in a cycle (detection must be on).
    ///
    /// # Errors
    ///
    /// [`DeadlockError`] with the cycle's report.
    pub fn acquire_checked(&self) -> Result<LockGuard<'_>, DeadlockError> {
        let me = current_id();
        self.raw
            .lock_checked(me, self.name.as_ref())
            .map_err(DeadlockError::new)?;
        Ok(self.guard(me))
    }

    /// Takes the lock only if it is free — `lock.acquire(blocking=False)`.
    #[inline]
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        let me = current_id();
        self.raw.try_lock(me).then(|| self.guard(me))
    }

    /// Waits at most `timeout` — `lock.acquire(timeout=t)`. `None` means it timed out.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<LockGuard<'_>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.acquire_deadline(deadline),
            None => Some(self.acquire()),
        }
    }

    /// Waits until `deadline` at the latest. `None` means it timed out.
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<LockGuard<'_>> {
        let me = current_id();
        self.raw
            .lock_until(me, Some(deadline), self.name.as_ref())
            .then(|| self.guard(me))
    }

    #[inline]
    fn guard(&self, me: u64) -> LockGuard<'_> {
        LockGuard { lock: self, me }
    }

    /// Releases the lock, whichever thread took it — `lock.release()`. Meant for a lock
    /// held through [`LockGuard::leak`]; releasing a lock that a live guard holds makes that
    /// guard's drop a no-op.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] if the lock is not held (Python: `RuntimeError`).
    #[inline]
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.raw.unlock_any()
    }

    /// Whether the lock is held — `lock.locked()`.
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Test support, not part of the API: whether some thread is parked waiting for this
    /// lock (past its brief spinning). Tests wait for this instead of sleeping, to force
    /// "blocked, then released".
    #[doc(hidden)]
    pub fn has_waiters(&self) -> bool {
        self.raw.has_parked()
    }

    pub(crate) fn raw(&self) -> &RawLock {
        &self.raw
    }

    pub(crate) fn name_arc(&self) -> Option<&Arc<str>> {
        self.name.as_ref()
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
            .field("name", &self.name)
            .field("locked", &self.is_locked())
            .finish()
    }
}

/// Holds a [`Lock`]; releases it when dropped (the end of Python's `with lock:` block).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
    /// The thread that took it: the drop releases only that thread's hold.
    me: u64,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }

    /// Keeps the lock held and forgets the guard, Python style: release it later with
    /// [`Lock::release`], from any thread.
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock_owned(self.me);
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard")
            .field("lock", &self.lock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::Lock;

    /// Yields (bounded) until a thread is parked on `lock`, so the test below takes the wake-up
    /// path every time instead of by luck of the scheduler.
    fn until_parked(lock: &Lock) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !lock.raw.has_parked() {
            assert!(Instant::now() < deadline, "the waiter never parked");
            thread::yield_now();
        }
    }

    #[test]
    fn release_from_another_thread_wakes_a_parked_waiter() {
        for deadline in [None, Some(Duration::from_secs(60))] {
            let lock = Lock::new();
            lock.acquire().leak();
            let (tx, rx) = mpsc::channel();
            thread::scope(|s| {
                s.spawn(|| {
                    let got = match deadline {
                        None => Some(lock.acquire()),
                        Some(t) => lock.acquire_timeout(t),
                    };
                    tx.send(got.is_some()).unwrap();
                });
                until_parked(&lock);
                assert!(rx.try_recv().is_err(), "got a held lock");
                s.spawn(|| lock.release().unwrap());
                assert!(rx.recv().unwrap(), "the parked waiter never got the lock");
            });
            assert!(!lock.is_locked());
        }
    }
}
