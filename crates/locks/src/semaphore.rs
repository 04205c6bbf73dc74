//! `Semaphore` and `BoundedSemaphore`: Python's counting semaphores.

use std::fmt;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::SemaphoreReleaseError;

/// The counter and its waiters, shared by both semaphore types.
struct RawSemaphore {
    value: Mutex<usize>,
    cv: Condvar,
    bound: Option<usize>,
}

impl RawSemaphore {
    const fn new(value: usize, bound: Option<usize>) -> Self {
        RawSemaphore {
            value: parking_lot::const_mutex(value),
            cv: Condvar::new(),
            bound,
        }
    }

    fn try_acquire(&self) -> bool {
        let mut v = self.value.lock();
        if *v > 0 {
            *v -= 1;
            true
        } else {
            false
        }
    }

    fn acquire(&self, deadline: Option<Instant>) -> bool {
        let mut v = self.value.lock();
        while *v == 0 {
            match deadline {
                None => self.cv.wait(&mut v),
                Some(d) => {
                    if self.cv.wait_until(&mut v, d).timed_out() && *v == 0 {
                        return false;
                    }
                }
            }
        }
        *v -= 1;
        true
    }

    fn release(&self, n: usize) -> Result<(), SemaphoreReleaseError> {
        if n == 0 {
            return Err(SemaphoreReleaseError::ZeroCount);
        }
        let mut v = self.value.lock();
        let new = v.checked_add(n).ok_or(SemaphoreReleaseError::Overflow)?;
        if let Some(bound) = self.bound {
            if new > bound {
                return Err(SemaphoreReleaseError::TooManyReleases {
                    bound,
                    value: *v,
                    n,
                });
            }
        }
        *v = new;
        drop(v);
        // Wake up to `n` waiters, stopping at the first notify that finds nobody.
        for _ in 0..n {
            if !self.cv.notify_one() {
                break;
            }
        }
        Ok(())
    }

    fn value(&self) -> usize {
        *self.value.lock()
    }
}

fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

macro_rules! semaphore_methods {
    ($ty:ident) => {
        impl $ty {
            /// Takes one permit, blocking while there are none — `sem.acquire()` /
            /// `with sem:`.
            pub fn acquire(&self) -> SemaphoreGuard<'_> {
                self.raw.acquire(None);
                SemaphoreGuard { raw: &self.raw }
            }

            /// Takes a permit only if one is free — `sem.acquire(blocking=False)`.
            pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
                self.raw
                    .try_acquire()
                    .then(|| SemaphoreGuard { raw: &self.raw })
            }

            /// Waits at most `timeout` for a permit — `sem.acquire(timeout=t)`.
            pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
                self.raw
                    .acquire(deadline_after(timeout))
                    .then(|| SemaphoreGuard { raw: &self.raw })
            }

            /// Waits until `deadline` at the latest for a permit.
            pub fn acquire_deadline(&self, deadline: Instant) -> Option<SemaphoreGuard<'_>> {
                self.raw
                    .acquire(Some(deadline))
                    .then(|| SemaphoreGuard { raw: &self.raw })
            }

            /// The number of free permits now (Python's `_value`).
            pub fn value(&self) -> usize {
                self.raw.value()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct(stringify!($ty));
                d.field("value", &self.value());
                if let Some(bound) = self.raw.bound {
                    d.field("bound", &bound);
                }
                d.finish()
            }
        }

        /// One permit, as Python's `Semaphore()` / `BoundedSemaphore()` with no value.
        impl Default for $ty {
            fn default() -> Self {
                $ty::new(1)
            }
        }
    };
}

/// A counting semaphore — Python's `threading.Semaphore(value)`.
///
/// `acquire` takes a permit (blocking at zero) and returns a guard that gives it back on
/// drop; `release(n)` adds permits with no upper limit.
///
/// # Examples
///
/// ```
/// use skein_locks::Semaphore;
///
/// let sem = Semaphore::new(2);
/// let a = sem.acquire();
/// let _b = sem.acquire();
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert_eq!(sem.value(), 1);
/// sem.release(3).unwrap(); // unbounded: value 4
/// assert_eq!(sem.value(), 4);
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// A semaphore with `value` permits — `threading.Semaphore(value)`.
    pub const fn new(value: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::new(value, None),
        }
    }

    /// Adds `n` permits and wakes up to `n` waiters — `sem.release(n)`.
    ///
    /// # Errors
    ///
    /// [`SemaphoreReleaseError::ZeroCount`] for `n == 0`, [`SemaphoreReleaseError::Overflow`]
    /// if the count would overflow.
    pub fn release(&self, n: usize) -> Result<(), SemaphoreReleaseError> {
        self.raw.release(n)
    }
}

semaphore_methods!(Semaphore);

/// A semaphore that refuses to grow past its initial value — Python's
/// `threading.BoundedSemaphore(value)`. Over-releasing is a bug in the caller, reported as
/// an error instead of silently raising the limit.
///
/// # Examples
///
/// ```
/// use skein_locks::{BoundedSemaphore, SemaphoreReleaseError};
///
/// let sem = BoundedSemaphore::new(3);
/// let g = sem.acquire();
/// g.leak();                        // keep the permit, Python style
/// sem.release(1).unwrap();         // give it back
/// assert!(matches!(
///     sem.release(1),              // ValueError: Semaphore released too many times
///     Err(SemaphoreReleaseError::TooManyReleases { bound: 3, .. })
/// ));
/// ```
pub struct BoundedSemaphore {
    raw: RawSemaphore,
}

impl BoundedSemaphore {
    /// A semaphore with `value` permits that never holds more —
    /// `threading.BoundedSemaphore(value)`.
    pub const fn new(value: usize) -> Self {
        BoundedSemaphore {
            raw: RawSemaphore::new(value, Some(value)),
        }
    }

    /// The initial value, which the count may never exceed.
    pub fn bound(&self) -> usize {
        self.raw.bound.unwrap_or(usize::MAX)
    }

    /// Adds `n` permits — `sem.release(n)`.
    ///
    /// # Errors
    ///
    /// [`SemaphoreReleaseError::TooManyReleases`] if the count would exceed the initial value
    /// (nothing is released then); [`SemaphoreReleaseError::ZeroCount`] for `n == 0`.
    pub fn release(&self, n: usize) -> Result<(), SemaphoreReleaseError> {
        self.raw.release(n)
    }
}

semaphore_methods!(BoundedSemaphore);

/// Holds one permit of a [`Semaphore`] or [`BoundedSemaphore`]; gives it back on drop.
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    raw: &'a RawSemaphore,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit and forgets the guard, Python style: give it back later with
    /// `release(1)`, from any thread.
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // Can only fail if someone released a permit this guard still held (a bounded
        // semaphore then stays at its bound, which is the count Python would keep).
        let _ = self.raw.release(1);
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
