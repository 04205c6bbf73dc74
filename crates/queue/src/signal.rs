//! Parking for threads that found a queue full or empty, touched only when someone sleeps.
//!
//! Each sleeper queues its own [`Entry`] (a flag plus its thread handle) and parks on its
//! thread; a notifier takes entries out of the queue, sets their flags and unparks them.
//! `sleepers` counts the entries in the queue: **a sleeper stops being counted the moment a
//! notifier picks it**, not when it runs again (crossbeam-channel's waker does the same).
//! An earlier design counted a sleeper until it had woken up and decremented the count
//! itself; on a busy 2-core machine that takes a scheduler time slice, and every operation
//! on the other side meanwhile took the mutex and notified again — the bounded queue then
//! ran at 0.33–0.59× crossbeam-channel in issue 18's harness. Now the hot path of a put or
//! get is one `SeqCst` load of `sleepers`, zero unless a thread sleeps *and has not been
//! picked yet*.
//!
//! No lost wakeups: a sleeper takes the mutex, queues itself, counts itself in `sleepers`
//! (`SeqCst` read-modify-write + fence), re-checks its condition and only then parks. Either
//! the notifier's `SeqCst` load of `sleepers` (after its `SeqCst` change to the queue) sees
//! the sleeper, or the sleeper's re-check sees the change. A picked sleeper's flag is set
//! before it is unparked, and a sleeper parks only while its flag is down, so an unpark is
//! never missed (std's park token covers the window between the check and the park).
//!
//! The notifier's side relies on the single total order of `SeqCst` operations; no fence is
//! paid on the hot path (a fence doubled the cost of an uncontended put + get). Loom models
//! `SeqCst` accesses as `AcqRel`, so under `cfg(loom)` [`loom_seqcst`] puts in the fence that
//! restores that order. Loom has no clock: under `cfg(loom)` a wait with a deadline gives up
//! at once (callers see a spurious wakeup; the crate's loom models use untimed waits).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::primitive::{AtomicBool, AtomicUsize, Mutex, Ordering, fence, loom_seqcst, thread};

/// One sleeping thread.
struct Entry {
    /// Set (after the entry left the queue) by the notifier that picked it.
    notified: AtomicBool,
    thread: thread::Thread,
}

/// One reason to sleep ("not empty", "not full").
#[derive(Default)]
pub(crate) struct Signal {
    /// Entries in `queue`; changed only with `queue` locked.
    sleepers: AtomicUsize,
    queue: Mutex<VecDeque<Arc<Entry>>>,
}

impl Signal {
    /// Sleepers registered and not yet picked by a notifier (test support: see
    /// `Queue::waiters`).
    pub(crate) fn sleepers(&self) -> usize {
        self.sleepers.load(Ordering::SeqCst)
    }

    /// Wakes one sleeper, if any.
    #[inline]
    pub(crate) fn notify_one(&self) {
        loom_seqcst();
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            self.notify_slow(1);
        }
    }

    /// Wakes every sleeper.
    #[inline]
    pub(crate) fn notify_all(&self) {
        loom_seqcst();
        if self.sleepers.load(Ordering::SeqCst) != 0 {
            self.notify_slow(usize::MAX);
        }
    }

    #[cold]
    fn notify_slow(&self, n: usize) {
        let picked: Vec<Arc<Entry>> = {
            let mut q = self.queue.lock();
            let take = n.min(q.len());
            let picked: Vec<_> = q.drain(..take).collect();
            self.sleepers.fetch_sub(picked.len(), Ordering::SeqCst);
            picked
        };
        // Unparked after the mutex is released, so a woken thread never finds it held.
        for entry in picked {
            entry.notified.store(true, Ordering::Release);
            entry.thread.unpark();
        }
    }

    /// Sleeps until notified or `deadline`, unless `ready()` holds once this thread is
    /// registered as a sleeper. Callers re-try their operation afterwards (wakeups may be
    /// spurious), before they look at the deadline: a notification that reaches a thread
    /// just as it times out is then used, not lost.
    pub(crate) fn sleep_unless(&self, ready: impl FnOnce() -> bool, deadline: Option<Instant>) {
        let entry = Arc::new(Entry {
            notified: AtomicBool::new(false),
            thread: thread::current(),
        });
        {
            let mut q = self.queue.lock();
            q.push_back(Arc::clone(&entry));
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if ready() {
                // Still ours: nobody can pick it while we hold the queue.
                q.pop_back();
                self.sleepers.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        }
        while !entry.notified.load(Ordering::Acquire) {
            match deadline {
                None => thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if cfg!(loom) || now >= deadline {
                        self.cancel(&entry);
                        return;
                    }
                    thread::park_timeout(deadline - now);
                }
            }
        }
    }

    /// Takes `entry` out of the queue after a timeout, unless a notifier already picked it.
    #[cold]
    fn cancel(&self, entry: &Arc<Entry>) {
        let mut q = self.queue.lock();
        if let Some(i) = q.iter().position(|e| Arc::ptr_eq(e, entry)) {
            q.remove(i);
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The fix of issue 18: once picked, a sleeper no longer makes notifiers take the mutex,
    /// even before it has run again.
    #[test]
    fn a_picked_sleeper_is_no_longer_counted() {
        let s = Arc::new(Signal::default());
        let sleeper = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || s.sleep_unless(|| false, None))
        };
        while s.sleepers.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        s.notify_one();
        assert_eq!(s.sleepers.load(Ordering::SeqCst), 0);
        assert!(s.queue.lock().is_empty());
        sleeper.join().unwrap();
    }

    #[test]
    fn a_timed_out_sleeper_leaves_the_queue() {
        let s = Signal::default();
        s.sleep_unless(|| false, Some(Instant::now() + Duration::from_millis(1)));
        assert_eq!(s.sleepers.load(Ordering::SeqCst), 0);
        assert!(s.queue.lock().is_empty());
    }

    #[test]
    fn a_ready_sleeper_does_not_sleep() {
        let s = Signal::default();
        s.sleep_unless(|| true, None);
        assert_eq!(s.sleepers.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn notify_all_picks_every_sleeper() {
        let s = Arc::new(Signal::default());
        let sleepers: Vec<_> = (0..3)
            .map(|_| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || s.sleep_unless(|| false, None))
            })
            .collect();
        while s.sleepers.load(Ordering::SeqCst) < 3 {
            std::thread::yield_now();
        }
        s.notify_all();
        assert_eq!(s.sleepers.load(Ordering::SeqCst), 0);
        for t in sleepers {
            t.join().unwrap();
        }
    }
}
