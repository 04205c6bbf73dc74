//! The atomics, cell, backoff, mutex and condvar the crate synchronises with: std's,
//! crossbeam's and parking_lot's, or loom's under `--cfg loom` so the model checker can
//! explore every interleaving
//! (`RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`).

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::thread;

/// Thread parking: loom's `park`/`unpark`. Loom has no clock, so there is no timed park
/// (callers give up a timed wait at once under loom instead).
#[cfg(loom)]
pub(crate) mod thread {
    pub(crate) use loom::thread::{Thread, current, park};

    /// Never reached under loom (see the module docs); parks like [`park`] to type-check.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        park();
    }
}

/// Nothing in real builds. Under loom, a `SeqCst` fence: loom models `SeqCst` loads,
/// stores and read-modify-writes as `AcqRel` (loom issue #180), weaker than the C++/Rust
/// model, where all `SeqCst` operations form one total order. The store-buffer pairs in
/// this crate rely on that order on the notifier's side; the fence gives loom the same
/// guarantee so it checks the protocol rather than its own approximation.
#[inline(always)]
pub(crate) fn loom_seqcst() {
    #[cfg(loom)]
    fence(Ordering::SeqCst);
}

/// `std::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a raw pointer to the contents; what `f` may do with it is up to the
    /// caller's synchronisation.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Spin-then-yield backoff: crossbeam's, or a plain yield under loom (which needs every
/// spin loop to yield).
#[cfg(not(loom))]
pub(crate) use crossbeam_utils::Backoff;

#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Backoff;

#[cfg(loom)]
impl Backoff {
    pub(crate) fn new() -> Self {
        Self
    }
    pub(crate) fn spin(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn snooze(&self) {
        loom::thread::yield_now();
    }
    pub(crate) fn is_completed(&self) -> bool {
        true
    }
}

/// parking_lot's `Mutex` API over loom's.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

/// Guard of [`Mutex`]; the `Option` lets [`Condvar::wait`] move the inner guard.
#[cfg(loom)]
pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(self.0.lock().unwrap()))
    }
}

#[cfg(loom)]
impl<T> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().unwrap()
    }
}

#[cfg(loom)]
impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().unwrap()
    }
}

/// parking_lot's `Condvar` API over loom's. Loom has no clock: `wait_until` waits like
/// `wait` and reports no timeout (a spurious wakeup, which callers handle anyway).
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Condvar(loom::sync::Condvar);

/// Whether a timed wait timed out.
#[cfg(loom)]
pub(crate) struct WaitTimeoutResult;

#[cfg(loom)]
impl WaitTimeoutResult {
    pub(crate) fn timed_out(&self) -> bool {
        false
    }
}

#[cfg(loom)]
impl Condvar {
    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }
    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.0.take().unwrap();
        guard.0 = Some(self.0.wait(inner).unwrap());
    }
    pub(crate) fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        _deadline: std::time::Instant,
    ) -> WaitTimeoutResult {
        self.wait(guard);
        WaitTimeoutResult
    }
}
