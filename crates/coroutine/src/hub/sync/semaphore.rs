//! gevent's `Semaphore` and `BoundedSemaphore`.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::waitlist::WaitList;
use crate::hub::core::{Wake, hub};

struct Inner {
    permits: Cell<usize>,
    bound: Option<usize>,
    waiters: WaitList,
}

/// A counter of permits green tasks wait for (gevent's `gevent.lock.Semaphore`;
/// [`Semaphore::bounded`] is `BoundedSemaphore`). A release hands its permit straight to
/// the longest waiter, so waiters are served in order. Clones share one semaphore.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::{self, Semaphore};
///
/// let sem = Semaphore::new(2);
/// let a = sem.acquire();
/// let _b = sem.acquire();
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert!(sem.try_acquire().is_some());
/// ```
#[derive(Clone)]
pub struct Semaphore {
    inner: Rc<Inner>,
}

/// A held permit; dropping it releases the permit (Python's `with sem:`).
#[must_use = "the permit is released as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

/// A bounded semaphore was released more times than it was acquired (Python's
/// `ValueError: Semaphore released too many times`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseError;

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}

impl Semaphore {
    /// A semaphore with `permits` permits; `release` may raise the count past it.
    pub fn new(permits: usize) -> Self {
        Self::with_bound(permits, None)
    }

    /// A semaphore whose count may never exceed `permits` (gevent's `BoundedSemaphore`).
    pub fn bounded(permits: usize) -> Self {
        Self::with_bound(permits, Some(permits))
    }

    fn with_bound(permits: usize, bound: Option<usize>) -> Self {
        Semaphore {
            inner: Rc::new(Inner {
                permits: Cell::new(permits),
                bound,
                waiters: WaitList::default(),
            }),
        }
    }

    /// Permits free now (Python's `_value`, gevent's `counter`).
    pub fn available(&self) -> usize {
        self.inner.permits.get()
    }

    /// Waits for a permit.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever release one
    /// (gevent's `LoopExit`).
    pub fn acquire(&self) -> SemaphoreGuard<'_> {
        // Without a deadline a wait ends without the permit only when an interruption
        // could not unwind (a destructor waits during unwinding): wait again.
        while !self.acquire_raw(None) {}
        SemaphoreGuard { sem: self }
    }

    /// A permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        let permits = self.inner.permits.get();
        if permits > 0 {
            self.inner.permits.set(permits - 1);
            Some(SemaphoreGuard { sem: self })
        } else {
            None
        }
    }

    /// Waits at most `timeout` for a permit.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
        self.acquire_deadline(Instant::now() + timeout)
    }

    /// Waits until `deadline` at most for a permit.
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<SemaphoreGuard<'_>> {
        // `then`, not `then_some`: a guard built for a failed wait would release a
        // permit nobody took when it is dropped.
        self.acquire_raw(Some(deadline))
            .then(|| SemaphoreGuard { sem: self })
    }

    /// Takes a permit without a guard (release it with [`release`](Self::release));
    /// false on timeout.
    pub(crate) fn acquire_raw(&self, deadline: Option<Instant>) -> bool {
        let permits = self.inner.permits.get();
        if permits > 0 {
            self.inner.permits.set(permits - 1);
            return true;
        }
        let hub = hub();
        // A release hands its permit to the woken waiter: `Woken` means we hold it.
        matches!(self.inner.waiters.park(&hub, deadline), Wake::Woken)
    }

    /// Releases a permit taken with a forgotten guard or by another task (Python's
    /// `release()`).
    ///
    /// # Errors
    ///
    /// [`ReleaseError`] when a bounded semaphore would go past its bound.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let hub = hub();
        if self.inner.waiters.wake_one(&hub) {
            return Ok(());
        }
        let permits = self.inner.permits.get() + 1;
        if self.inner.bound.is_some_and(|bound| permits > bound) {
            return Err(ReleaseError);
        }
        self.inner.permits.set(permits);
        Ok(())
    }
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken; release it later with [`Semaphore::release`].
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // A guard's permit is always owed back, so this cannot exceed a bound.
        let _ = self.sem.release();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.available())
            .field("bound", &self.inner.bound)
            .finish()
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
