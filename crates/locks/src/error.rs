//! Error types, one per operation shape.

use std::error::Error;
use std::fmt;

use crate::deadlock::DeadlockReport;

/// Why releasing a [`Lock`](crate::Lock) or [`RLock`](crate::RLock) failed
/// (Python raises `RuntimeError` for both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The lock was not held: "release unlocked lock".
    NotLocked,
    /// An `RLock` held by another thread: "cannot release un-acquired lock".
    NotOwner,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::NotLocked => "release of a lock that is not locked",
            ReleaseError::NotOwner => "release of a reentrant lock held by another thread",
        })
    }
}

impl Error for ReleaseError {}

/// A wait that was part of a deadlock cycle and asked (with an `acquire_checked` method) to
/// fail instead of hanging. Holds the cycle's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlockError {
    report: DeadlockReport,
}

impl DeadlockError {
    pub(crate) fn new(report: DeadlockReport) -> Self {
        DeadlockError { report }
    }

    /// The cycle this wait was part of.
    pub fn report(&self) -> &DeadlockReport {
        &self.report
    }

    /// Takes the report out.
    pub fn into_report(self) -> DeadlockReport {
        self.report
    }
}

impl fmt::Display for DeadlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "acquiring would deadlock; {}", self.report)
    }
}

impl Error for DeadlockError {}

/// Why `Semaphore::release(n)` / `BoundedSemaphore::release(n)` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SemaphoreReleaseError {
    /// `release(0)`: Python raises `ValueError("n must be one or more")`.
    ZeroCount,
    /// A `BoundedSemaphore` would go above its initial value (Python: `ValueError`
    /// "Semaphore released too many times"). Nothing was released.
    TooManyReleases {
        /// The initial (and largest allowed) value.
        bound: usize,
        /// The value before this release.
        value: usize,
        /// How many permits this release tried to add.
        n: usize,
    },
    /// The counter would overflow `usize`.
    Overflow,
}

impl fmt::Display for SemaphoreReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SemaphoreReleaseError::ZeroCount => f.write_str("release count must be one or more"),
            SemaphoreReleaseError::TooManyReleases { bound, value, n } => write!(
                f,
                "semaphore released too many times: value {value} + {n} would exceed its bound \
                 {bound}"
            ),
            SemaphoreReleaseError::Overflow => f.write_str("semaphore counter would overflow"),
        }
    }
}

impl Error for SemaphoreReleaseError {}

/// Why [`Barrier::wait`](crate::Barrier::wait) failed (Python: `BrokenBarrierError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierWaitError {
    /// The barrier is broken: aborted, reset while this thread waited, or broken by another
    /// thread's timeout or panicking action. `reset()` makes it usable again.
    Broken,
    /// This wait timed out; the barrier is now broken for every party.
    TimedOut,
    /// This thread ran the barrier's action and it panicked; the barrier is now broken.
    ActionPanicked,
}

impl fmt::Display for BarrierWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BarrierWaitError::Broken => "barrier is broken",
            BarrierWaitError::TimedOut => "barrier wait timed out; the barrier is now broken",
            BarrierWaitError::ActionPanicked => {
                "barrier action panicked; the barrier is now broken"
            }
        })
    }
}

impl Error for BarrierWaitError {}

/// A barrier could not be built (Python: `ValueError` for `parties < 1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarrierBuildError {
    kind: BarrierBuildErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(loom, allow(dead_code))] // barriers are not built under loom
enum BarrierBuildErrorKind {
    ZeroParties,
}

impl BarrierBuildError {
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn zero_parties() -> Self {
        BarrierBuildError {
            kind: BarrierBuildErrorKind::ZeroParties,
        }
    }
}

impl fmt::Display for BarrierBuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BarrierBuildErrorKind::ZeroParties => f.write_str("a barrier needs at least one party"),
        }
    }
}

impl Error for BarrierBuildError {}
