//! `RLock`: Python's `threading.RLock`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{DeadlockError, ReleaseError};
use crate::primitive::{AtomicUsize, loom_const_fn};
use crate::raw_lock::RawLock;
use crate::waiter::current_id;

/// A reentrant lock — Python's `threading.RLock`.
///
/// The thread that holds it may take it again; it is free once every acquisition has been
/// released. Only the owner may release it. Like `parking_lot::ReentrantMutex`, but with
/// Python's explicit [`release`](RLock::release) beside the guard style, timeouts, a name,
/// and deadlock detection.
///
/// # Examples
///
/// ```
/// use skein_locks::{RLock, ReleaseError};
///
/// fn depth(lock: &RLock, n: u32) -> u32 {
///     let _g = lock.acquire(); // re-entered on every level
///     if n == 0 { lock.count() as u32 } else { depth(lock, n - 1) }
/// }
///
/// let lock = RLock::new();
/// assert_eq!(depth(&lock, 4), 5);
/// assert!(!lock.is_locked());
/// assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
/// ```
pub struct RLock {
    raw: RawLock,
    /// Acquisitions by the owner; only the owner reads or writes it.
    count: AtomicUsize,
    name: Option<Arc<str>>,
}

impl RLock {
    loom_const_fn! {
        /// A new, unlocked reentrant lock — `threading.RLock()`.
        pub fn new() -> Self {
            RLock { raw: RawLock::new(), count: AtomicUsize::new(0), name: None }
        }
    }

    /// A new reentrant lock with a name, used in deadlock reports and `Debug`.
    pub fn named(name: impl Into<Arc<str>>) -> Self {
        RLock {
            raw: RawLock::new(),
            count: AtomicUsize::new(0),
            name: Some(name.into()),
        }
    }

    /// The name given with [`named`](RLock::named).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    #[inline]
    fn enter(&self, me: u64) -> bool {
        if self.raw.owner() == me {
            let c = self.count.load(Ordering::Relaxed);
            self.count.store(
                c.checked_add(1).expect("RLock recursion count overflow"),
                Ordering::Relaxed,
            );
            true
        } else {
            false
        }
    }

    #[inline]
    fn guard(&self, me: u64) -> RLockGuard<'_> {
        RLockGuard {
            lock: self,
            me,
            _not_send: PhantomData,
        }
    }

    /// Undoes one acquisition by `me`, the owner.
    #[inline]
    fn exit(&self, me: u64) {
        let c = self.count.load(Ordering::Relaxed) - 1;
        self.count.store(c, Ordering::Relaxed);
        if c == 0 {
            self.raw.unlock_owned(me);
        }
    }

    /// Blocks until this thread holds the lock (again) — `rlock.acquire()` / `with rlock:`.
    ///
    /// Taking a free lock is one compare-and-swap (it records the owner too); only when it
    /// fails does the lock look at who holds it, to re-enter or to wait.
    #[inline]
    pub fn acquire(&self) -> RLockGuard<'_> {
        let me = current_id();
        if self.raw.try_lock_fast(me) {
            self.count.store(1, Ordering::Relaxed);
        } else {
            self.acquire_held(me);
        }
        self.guard(me)
    }

    /// `acquire` when the lock was not free: re-enter it, or wait for it.
    #[inline(never)]
    fn acquire_held(&self, me: u64) {
        self.acquire_as(me, None);
    }

    #[inline]
    pub(crate) fn acquire_raw(&self, deadline: Option<Instant>) -> bool {
        self.acquire_as(current_id(), deadline)
    }

    #[inline]
    fn acquire_as(&self, me: u64, deadline: Option<Instant>) -> bool {
        if self.enter(me) {
            return true;
        }
        let taken = self.raw.lock_until(me, deadline, self.name.as_ref());
        if taken {
            self.count.store(1, Ordering::Relaxed);
        }
        taken
    }

    /// Like [`acquire`](RLock::acquire), but returns an error instead of hanging when the
    /// deadlock detector finds this wait in a cycle.
    ///
    /// # Errors
    ///
    /// [`DeadlockError`] with the cycle's report.
    pub fn acquire_checked(&self) -> Result<RLockGuard<'_>, DeadlockError> {
        let me = current_id();
        if !self.enter(me) {
            self.raw
                .lock_checked(me, self.name.as_ref())
                .map_err(DeadlockError::new)?;
            self.count.store(1, Ordering::Relaxed);
        }
        Ok(self.guard(me))
    }

    /// Takes the lock if it is free or already ours — `rlock.acquire(blocking=False)`.
    #[inline]
    pub fn try_acquire(&self) -> Option<RLockGuard<'_>> {
        let me = current_id();
        if self.enter(me) {
            return Some(self.guard(me));
        }
        if self.raw.try_lock(me) {
            self.count.store(1, Ordering::Relaxed);
            return Some(self.guard(me));
        }
        None
    }

    /// Waits at most `timeout` — `rlock.acquire(timeout=t)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.acquire_deadline(deadline),
            None => Some(self.acquire()),
        }
    }

    /// Waits until `deadline` at the latest.
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<RLockGuard<'_>> {
        let me = current_id();
        self.acquire_as(me, Some(deadline)).then(|| self.guard(me))
    }

    /// Undoes one acquisition — `rlock.release()` — for one kept with
    /// [`RLockGuard::leak`].
    ///
    /// # Errors
    ///
    /// [`ReleaseError::NotLocked`] if nobody holds it, [`ReleaseError::NotOwner`] if another
    /// thread does (Python: `RuntimeError: cannot release un-acquired lock`).
    pub fn release(&self) -> Result<(), ReleaseError> {
        let me = current_id();
        match self.raw.owner() {
            0 => Err(ReleaseError::NotLocked),
            o if o != me => Err(ReleaseError::NotOwner),
            _ => {
                self.exit(me);
                Ok(())
            }
        }
    }

    /// Releases every acquisition by this thread and returns how many there were (for
    /// `Condition::wait`). Returns 0 if this thread does not hold it.
    pub(crate) fn release_all(&self) -> usize {
        let me = current_id();
        if self.raw.owner() != me {
            return 0;
        }
        let c = self.count.swap(0, Ordering::Relaxed);
        self.raw.unlock_owned(me);
        c
    }

    /// Takes the lock back with `count` acquisitions (after `release_all`).
    pub(crate) fn reacquire(&self, count: usize) {
        if count == 0 {
            return;
        }
        let me = current_id();
        self.raw.lock_after_wait(me, self.name.as_ref());
        self.count.store(count, Ordering::Relaxed);
    }

    /// Whether any thread holds it.
    #[inline]
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Whether the calling thread holds it (Python's private `_is_owned()`).
    #[inline]
    pub fn is_owned(&self) -> bool {
        self.raw.owner() == current_id()
    }

    /// How many times the calling thread holds it (0 if it does not).
    pub fn count(&self) -> usize {
        if self.is_owned() {
            self.count.load(Ordering::Relaxed)
        } else {
            0
        }
    }
}

impl Default for RLock {
    fn default() -> Self {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Python's repr shows the owner's count to any thread; the count is the owner's
        // to write, so another thread may see a value a moment old.
        let count = if self.is_locked() {
            self.count.load(Ordering::Relaxed)
        } else {
            0
        };
        f.debug_struct("RLock")
            .field("name", &self.name)
            .field("locked", &self.is_locked())
            .field("count", &count)
            .finish()
    }
}

/// Holds one acquisition of an [`RLock`]; undoes it when dropped. Not `Send`: only the
/// owning thread may release.
#[must_use = "the acquisition is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    me: u64,
    _not_send: PhantomData<*const ()>,
}

impl<'a> RLockGuard<'a> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &'a RLock {
        self.lock
    }

    /// Keeps this acquisition and forgets the guard: undo it later with
    /// [`RLock::release`] on this thread.
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // A guard exists only while its thread owns the lock (guards are not `Send`), unless
        // someone released levels by hand with `release` (after `leak`): then the lock may
        // be free, or another thread's, and this guard has nothing left to undo. The one
        // owner check below covers that; the count is only read once.
        let lock = self.lock;
        if lock.raw.owner() == self.me {
            let c = lock.count.load(Ordering::Relaxed);
            if c == 1 {
                lock.count.store(0, Ordering::Relaxed);
                lock.raw.unlock_owned(self.me);
            } else if c > 1 {
                lock.count.store(c - 1, Ordering::Relaxed);
            }
        }
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard")
            .field("lock", &self.lock)
            .finish()
    }
}
