//! Parking for threads that found a queue full or empty, touched only when someone sleeps.
//!
//! A notifier pays one `SeqCst` load of `sleepers` (zero on the hot path) after its
//! `SeqCst` change to the queue. A sleeper takes the mutex, counts itself in `sleepers`
//! (`SeqCst` + fence), re-checks its condition and only then waits on the condvar. Either
//! the notifier sees the sleeper (and, having to take the mutex, cannot notify before the
//! sleeper waits), or the sleeper's re-check sees the notifier's change: no lost wakeups.
//!
//! The notifier's side relies on the single total order of `SeqCst` operations (its
//! `SeqCst` CAS/`fetch_or` on the queue, then its `SeqCst` load of `sleepers`); no fence is
//! needed there, and none is paid on the hot path (a fence doubled the cost of an
//! uncontended put + get). Loom models `SeqCst` accesses as `AcqRel`, so under
//! `cfg(loom)` [`loom_seqcst`] puts in the fence that restores that order.

use std::time::Instant;

use crate::primitive::{AtomicUsize, Condvar, Mutex, Ordering, fence, loom_seqcst};

/// One reason to sleep ("not empty", "not full", "all tasks done").
#[derive(Default)]
pub(crate) struct Signal {
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Signal {
    /// Wakes one sleeper, if any.
    #[inline]
    pub(crate) fn notify_one(&self) {
        loom_seqcst();
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            self.notify_slow(false);
        }
    }

    /// Wakes every sleeper.
    #[inline]
    pub(crate) fn notify_all(&self) {
        loom_seqcst();
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            self.notify_slow(true);
        }
    }

    #[cold]
    fn notify_slow(&self, all: bool) {
        let _guard = self.lock.lock();
        if all {
            self.cond.notify_all();
        } else {
            self.cond.notify_one();
        }
    }

    /// Sleeps until notified or `deadline`, unless `ready()` holds once this thread is
    /// registered as a sleeper. Callers re-try their operation afterwards (wakeups may be
    /// spurious).
    pub(crate) fn sleep_unless(&self, ready: impl FnOnce() -> bool, deadline: Option<Instant>) {
        let mut guard = self.lock.lock();
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !ready() {
            match deadline {
                Some(deadline) => {
                    let _ = self.cond.wait_until(&mut guard, deadline);
                }
                None => self.cond.wait(&mut guard),
            }
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}
