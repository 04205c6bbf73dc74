//! Errors of the process-shared primitives.

use std::fmt;

/// The lock was acquired, but its previous owner died holding it (Linux's
/// `EOWNERDEAD`): whatever it protected may be half-updated.
///
/// Holds what a successful acquire would have returned (a guard, or `()`);
/// [`into_inner`](Self::into_inner) takes it to carry on, like `PoisonError`.
pub struct OwnerDied<G = ()> {
    inner: G,
}

impl<G> OwnerDied<G> {
    pub(crate) fn new(inner: G) -> Self {
        OwnerDied { inner }
    }

    /// The guard (or `()`): the lock is held.
    pub fn into_inner(self) -> G {
        self.inner
    }

    /// A reference to the guard.
    pub fn get_ref(&self) -> &G {
        &self.inner
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerDied { .. }")
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the lock's previous owner died holding it; the data it protects may be inconsistent",
        )
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

/// A release that Python would reject with `ValueError`/`RuntimeError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseError {
    /// The lock is not held.
    NotLocked,
    /// The lock is held by another thread or process (`RLock`, `Condition`).
    NotOwner,
    /// A `BoundedSemaphore` released more times than it was acquired.
    TooManyReleases,
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseError::NotLocked => "release of an unlocked lock",
            ReleaseError::NotOwner => "cannot release a lock owned by another thread or process",
            ReleaseError::TooManyReleases => "semaphore released too many times",
        })
    }
}

impl std::error::Error for ReleaseError {}

/// A `Condition` operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionError {
    /// `wait`/`notify` without holding the condition's lock (Python's `RuntimeError`).
    NotOwner,
    /// The lock was re-acquired after the wait, but its previous owner had died holding
    /// it. The lock is held.
    OwnerDied,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConditionError::NotOwner => "cannot wait on or notify an un-acquired condition",
            ConditionError::OwnerDied => {
                "the condition's lock was re-acquired from an owner that died holding it"
            }
        })
    }
}

impl std::error::Error for ConditionError {}

/// The barrier is broken (aborted, reset, timed out, or a participant died) —
/// Python's `BrokenBarrierError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrierError {}
