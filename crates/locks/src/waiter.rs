//! Per-thread identity and parking slot shared by every skein primitive.
//!
//! Each thread gets a small process-unique id (never 0) the first time it touches a skein
//! lock; locks store it in their state word as the owner. A thread that must block gets one
//! [`Waiter`] (created once per thread and reused): a one-word state that the waking side
//! flips, plus the `std::thread::Thread` handle used to unpark it. A thread waits on at most
//! one thing at a time, so a single slot per thread is enough.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8 as StdAtomicU8, AtomicU64 as StdAtomicU64, Ordering};
use std::time::Instant;

use crate::primitive::{AtomicU8, Backoff, Parker, thread};

/// The largest id that still fits in a lock's state word beside its two flag bits.
const MAX_ID: u64 = u64::MAX >> 2;

static NEXT_ID: StdAtomicU64 = StdAtomicU64::new(1);

#[cfg(not(loom))]
thread_local! {
    static THREAD_ID: Cell<u64> = const { Cell::new(0) };
    static WAITER: Arc<Waiter> = Arc::new(Waiter::for_current_thread());
}

#[cfg(loom)]
loom::thread_local! {
    static THREAD_ID: Cell<u64> = Cell::new(0);
    static WAITER: Arc<Waiter> = Arc::new(Waiter::for_current_thread());
}

/// The calling thread's skein id (non-zero, unique for the life of the process).
#[inline]
pub(crate) fn current_id() -> u64 {
    THREAD_ID.with(|id| {
        let v = id.get();
        if v != 0 { v } else { assign_id(id) }
    })
}

#[cold]
fn assign_id(cell: &Cell<u64>) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    assert!(id <= MAX_ID, "skein-locks: thread id space exhausted");
    cell.set(id);
    id
}

/// The calling thread's parking slot.
pub(crate) fn current() -> Arc<Waiter> {
    WAITER.with(Arc::clone)
}

/// The slot is in a queue and its thread is (about to be) parked.
pub(crate) const WAITING: u8 = 0;
/// A waker chose this thread: it should go on (retry the lock, or return from its wait).
pub(crate) const NOTIFIED: u8 = 1;
/// The deadlock detector woke this thread because it sits in a cycle and asked for an error.
pub(crate) const DEADLOCKED: u8 = 2;
/// Not in any queue.
pub(crate) const IDLE: u8 = 3;

/// One thread's parking slot.
pub(crate) struct Waiter {
    state: AtomicU8,
    parker: Parker,
    pub(crate) id: u64,
    /// The thread's std name, or its `ThreadId` when it has none.
    pub(crate) name: Arc<str>,
    /// Adaptive spinning: how many backoff steps this thread spins before parking (see
    /// [`Waiter::spin_until`]), and a wait counter for periodic full-length probes. Touched
    /// only by the owning thread; plain std atomics, as this is a heuristic (not modelled
    /// under loom).
    spin_budget: StdAtomicU8,
    spin_waits: StdAtomicU8,
}

/// The longest spin: crossbeam's `Backoff` busy rounds (1, 2, 4, … 64 spin hints), but not
/// its `yield_now`s, which on a busy machine can give the core away for a whole time slice.
/// None under loom.
const FULL_SPIN: u8 = if cfg!(loom) { 0 } else { 7 };
/// Every this many waits a thread whose budget has shrunk spins in full once, to notice
/// that spinning pays again. Rare, so that on a machine where spinning never pays the probes
/// cost a few percent of a park.
const PROBE_EVERY: u8 = 32;

impl Waiter {
    fn for_current_thread() -> Self {
        let thread = thread::current();
        let name: Arc<str> = match thread.name() {
            Some(n) => Arc::from(n),
            None => Arc::from(format!("{:?}", thread.id())),
        };
        Waiter {
            state: AtomicU8::new(IDLE),
            parker: Parker::for_current_thread(),
            id: current_id(),
            name,
            spin_budget: StdAtomicU8::new(FULL_SPIN),
            spin_waits: StdAtomicU8::new(0),
        }
    }

    /// Marks the slot as waiting; call before putting it in a queue.
    #[inline]
    pub(crate) fn prepare(&self) {
        self.state.store(WAITING, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Moves the slot from `WAITING` to `to` and unparks its thread. Returns `false` (and does
    /// nothing) if someone else moved it first.
    pub(crate) fn wake(&self, to: u8) -> bool {
        let ok = self.mark(to);
        if ok {
            self.parker.unpark();
        }
        ok
    }

    /// Moves the slot from `WAITING` to `to` without unparking (a spinning thread sees it at
    /// once); the caller must call [`unpark`](Waiter::unpark) afterwards if this returns true.
    pub(crate) fn mark(&self, to: u8) -> bool {
        self.state
            .compare_exchange(WAITING, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Unparks the slot's thread (after [`mark`](Waiter::mark)).
    pub(crate) fn unpark(&self) {
        self.parker.unpark();
    }

    /// Spins (adaptively, see [`spin_until`](Waiter::spin_until)) for the state to leave
    /// `WAITING`, then parks. Returns the new state, or `WAITING` if the deadline passed.
    pub(crate) fn spin_then_park(&self, deadline: Option<Instant>) -> u8 {
        if self.spin_until(|| self.state() != WAITING) {
            return self.state();
        }
        self.park(deadline)
    }

    /// Spins until `done()` or the thread's spin budget runs out; returns whether `done()`.
    /// Must be called by the slot's own thread.
    ///
    /// Spinning before parking makes a hand-off between two running threads cost no system
    /// call (crossbeam-channel does the same), but it is wasted when the other thread is not
    /// running, e.g. on an oversubscribed machine. So the budget adapts: a spin that succeeds
    /// raises the budget to one step more than it needed, one that fails lowers it by one
    /// step, and every 32nd wait probes with a full spin.
    pub(crate) fn spin_until(&self, mut done: impl FnMut() -> bool) -> bool {
        let waits = self.spin_waits.load(Ordering::Relaxed).wrapping_add(1);
        self.spin_waits.store(waits, Ordering::Relaxed);
        let budget = self.spin_budget.load(Ordering::Relaxed);
        let limit = if waits % PROBE_EVERY == 0 {
            FULL_SPIN
        } else {
            budget
        };
        let backoff = Backoff::new();
        let mut step = 0;
        let ok = loop {
            if done() {
                break true;
            }
            if step >= limit {
                break false;
            }
            backoff.snooze();
            step += 1;
        };
        // Success: allow one step more than this wait needed (at least the old budget);
        // failure: one step less. The budget settles near what hand-offs need when they are
        // fast, and at zero when they keep failing; one hiccup does not stop the spinning.
        let budget = if ok {
            (budget.max(step) + 1).min(FULL_SPIN)
        } else {
            budget.saturating_sub(1)
        };
        self.spin_budget.store(budget, Ordering::Relaxed);
        ok
    }

    /// Parks until the state leaves `WAITING` or the deadline passes (then returns `WAITING`).
    pub(crate) fn park(&self, deadline: Option<Instant>) -> u8 {
        loop {
            let s = self.state();
            if s != WAITING {
                return s;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return WAITING;
            }
            self.parker.park(|| self.state() == WAITING, deadline);
            #[cfg(loom)]
            if deadline.is_some() && self.state() == WAITING {
                return WAITING; // loom has no clock: a timed wait may time out at any moment
            }
        }
    }
}

#[cfg(test)]
impl Waiter {
    /// A slot with a made-up id, for graph tests (it unparks the current thread).
    pub(crate) fn fake(id: u64, name: &str) -> Self {
        Waiter {
            state: AtomicU8::new(IDLE),
            parker: Parker::for_current_thread(),
            id,
            name: Arc::from(name),
            spin_budget: StdAtomicU8::new(FULL_SPIN),
            spin_waits: StdAtomicU8::new(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_nonzero_stable_and_unique_per_thread() {
        let me = current_id();
        assert_ne!(me, 0);
        assert_eq!(me, current_id());
        let other = thread::spawn(current_id).join().unwrap();
        assert_ne!(other, 0);
        assert_ne!(other, me);
        assert_eq!(current().id, me);
    }

    #[test]
    fn wake_only_moves_a_waiting_slot() {
        let w = Waiter::fake(u64::MAX >> 3, "w");
        assert!(!w.wake(NOTIFIED), "an idle slot is not woken");
        w.prepare();
        assert!(w.wake(NOTIFIED));
        assert_eq!(w.state(), NOTIFIED);
        assert!(!w.wake(DEADLOCKED), "the first waker wins");
        assert_eq!(w.park(None), NOTIFIED, "park returns at once once woken");
    }

    #[test]
    fn the_spin_budget_adapts() {
        let w = Waiter::fake(u64::MAX >> 3, "w");
        let budget = || w.spin_budget.load(Ordering::Relaxed);
        // Counts how often `done` is checked by one `spin_until` that never succeeds.
        let checks = || {
            let mut calls = 0;
            assert!(!w.spin_until(|| {
                calls += 1;
                false
            }));
            calls
        };
        assert!(w.spin_until(|| true)); // wait 1
        assert_eq!(budget(), FULL_SPIN);
        assert_eq!(checks(), usize::from(FULL_SPIN) + 1); // wait 2: a full spin fails
        assert_eq!(budget(), FULL_SPIN - 1);
        for _ in 3..=8 {
            checks();
        }
        assert_eq!(budget(), 0);
        assert_eq!(checks(), 1, "no budget: one check, then park"); // wait 9
        assert!(w.spin_until(|| true)); // wait 10
        assert_eq!(budget(), 1, "a success grows the budget by one step");
        assert!(w.spin_until(|| true)); // wait 11
        assert_eq!(budget(), 2);
        for _ in 12..=31 {
            checks();
        }
        assert_eq!(budget(), 0);
        assert_eq!(
            checks(),
            usize::from(FULL_SPIN) + 1,
            "every 32nd wait probes in full"
        );
    }

    #[test]
    fn park_with_a_past_deadline_returns_waiting() {
        let w = Waiter::fake(u64::MAX >> 3, "w");
        w.prepare();
        assert_eq!(w.park(Some(Instant::now())), WAITING);
        assert_eq!(w.spin_then_park(Some(Instant::now())), WAITING);
    }

    #[test]
    fn unnamed_threads_are_named_by_their_thread_id() {
        let name = thread::spawn(|| current().name.to_string()).join().unwrap();
        assert!(name.starts_with("ThreadId("), "{name}");
        let name = thread::Builder::new()
            .name("worker".into())
            .spawn(|| current().name.to_string())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(name, "worker");
    }
}
