//! `Semaphore` and `BoundedSemaphore`, shared between processes.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::ReleaseError;
use crate::shared::futex;
use crate::shared::region::{Shared, atomic_header};
use crate::shm::ShmError;

atomic_header! {
    pub(crate) struct SemState {
        value: AtomicU32,
        sleepers: AtomicU32,
        bound: AtomicU32,
        /// 1 for a `BoundedSemaphore` (whose bound may be 0).
        bounded: AtomicU32,
    }
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Sem {
    shared: Shared<SemState>,
}

impl Sem {
    fn new(value: u32, bound: Option<u32>) -> Result<Sem, ShmError> {
        let shared = Shared::<SemState>::new(0)?;
        let st = shared.header();
        st.value.store(value, Ordering::Relaxed);
        if let Some(bound) = bound {
            st.bound.store(bound, Ordering::Relaxed);
            st.bounded.store(1, Ordering::Relaxed);
        }
        Ok(Sem { shared })
    }

    fn st(&self) -> &SemState {
        self.shared.header()
    }

    fn try_take(&self) -> bool {
        let st = self.st();
        let mut v = st.value.load(Ordering::Relaxed);
        while v > 0 {
            match st
                .value
                .compare_exchange_weak(v, v - 1, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    fn take(&self, deadline: Option<Instant>) -> bool {
        loop {
            if self.try_take() {
                return true;
            }
            let Some(left) = futex::remaining(deadline) else {
                return false;
            };
            let st = self.st();
            futex::wait_counted(&st.value, &st.sleepers, 0, left);
        }
    }

    fn give(&self, n: u32) -> Result<(), ReleaseError> {
        let st = self.st();
        let bound =
            (st.bounded.load(Ordering::Relaxed) != 0).then(|| st.bound.load(Ordering::Relaxed));
        let mut v = st.value.load(Ordering::Relaxed);
        loop {
            let next = v.checked_add(n).ok_or(ReleaseError::TooManyReleases)?;
            if bound.is_some_and(|b| next > b) {
                return Err(ReleaseError::TooManyReleases);
            }
            match st
                .value
                .compare_exchange_weak(v, next, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => v = now,
            }
        }
        if st.sleepers.load(Ordering::SeqCst) > 0 {
            futex::wake(&st.value, n);
        }
        Ok(())
    }
}

macro_rules! semaphore_api {
    () => {
        /// Blocks until a unit is available and takes it — `acquire()`.
        pub fn acquire(&self) {
            self.sem.take(None);
        }

        /// Takes a unit if one is available now — `acquire(blocking=False)`.
        pub fn try_acquire(&self) -> bool {
            self.sem.try_take()
        }

        /// Waits at most `timeout` for a unit; `false` if none came.
        pub fn acquire_timeout(&self, timeout: Duration) -> bool {
            self.sem.take(Some(futex::deadline_after(timeout)))
        }

        /// Waits until `deadline` for a unit; `false` if none came.
        pub fn acquire_deadline(&self, deadline: Instant) -> bool {
            self.sem.take(Some(deadline))
        }

        /// The current value — `get_value()`.
        pub fn value(&self) -> u32 {
            self.sem.st().value.load(Ordering::Relaxed)
        }
    };
}

/// A counting semaphore shared between processes — `multiprocessing.Semaphore(n)`.
///
/// # Examples
///
/// ```
/// use skein_process::Semaphore;
///
/// let sem = Semaphore::new(2)?;
/// sem.acquire();
/// assert!(sem.try_acquire());
/// assert!(!sem.try_acquire());
/// sem.release();
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Semaphore {
    sem: Sem,
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .finish()
    }
}

impl Semaphore {
    /// A semaphore holding `value` units.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(value: u32) -> Result<Semaphore, ShmError> {
        Ok(Semaphore {
            sem: Sem::new(value, None)?,
        })
    }

    semaphore_api!();

    /// Gives one unit back, waking one waiter — `release()`.
    pub fn release(&self) {
        self.release_n(1);
    }

    /// Gives `n` units back — `release(n)`. Saturates at `u32::MAX` units.
    pub fn release_n(&self, n: u32) {
        if self.sem.give(n).is_err() {
            // Only overflow can fail here: clamp instead of losing the wake-up.
            self.sem.st().value.store(u32::MAX, Ordering::SeqCst);
            futex::wake(&self.sem.st().value, n);
        }
    }
}

/// A semaphore that refuses to be released above its initial value —
/// `multiprocessing.BoundedSemaphore(n)`.
///
/// # Examples
///
/// ```
/// use skein_process::{BoundedSemaphore, ReleaseError};
///
/// let sem = BoundedSemaphore::new(1)?;
/// sem.acquire();
/// sem.release()?;
/// assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct BoundedSemaphore {
    sem: Sem,
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .finish()
    }
}

impl BoundedSemaphore {
    /// A semaphore holding (and bounded by) `value` units. 0 is allowed, as in Python
    /// (such a semaphore can never be acquired or released).
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new(value: u32) -> Result<BoundedSemaphore, ShmError> {
        Ok(BoundedSemaphore {
            sem: Sem::new(value, Some(value))?,
        })
    }

    semaphore_api!();

    /// Gives one unit back.
    ///
    /// # Errors
    ///
    /// [`ReleaseError::TooManyReleases`] above the bound (Python's `ValueError`).
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.sem.give(1)
    }
}
