//! Per-thread identity and parking slot shared by every skein primitive.
//!
//! Each thread gets a small process-unique id (never 0) the first time it touches a skein
//! lock; locks store it in their state word as the owner. A thread that must block gets one
//! [`Waiter`] (created once per thread and reused): a one-word state that the waking side
//! flips, plus the `std::thread::Thread` handle used to unpark it. A thread waits on at most
//! one thing at a time, so a single slot per thread is enough.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering};
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

/// Spins until `done()` or crossbeam's `Backoff` completes (busy spins growing from 1 to 64
/// hints, then a few `yield_now`s — the schedule crossbeam-channel uses before it parks);
/// returns whether `done()`. No spinning under loom.
///
/// Spinning first makes a hand-off between two running threads cost no system call. It is
/// wasted when the other thread is not running (an oversubscribed machine); an adaptive
/// budget was tried and dropped: once both sides of a ping-pong stop spinning they cannot
/// find out that spinning would pay again, and on an idle machine each wake-up then costs the
/// full futex wake latency.
pub(crate) fn spin_until(mut done: impl FnMut() -> bool) -> bool {
    let backoff = Backoff::new();
    loop {
        if done() {
            return true;
        }
        if backoff.is_completed() {
            return false;
        }
        backoff.snooze();
    }
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
}

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

    /// Spins for the state to leave `WAITING` — two rounds of [`spin_until`] — then
    /// parks. Returns the new state, or `WAITING` if the deadline passed.
    ///
    /// Two rounds because this is the `Condition` wait: in a hand-off the other side takes
    /// the lock, checks its predicate, notifies and releases before this thread's turn comes,
    /// about twice a channel's work, and one round ran out often enough that the
    /// ping-pong parked (~0.04 voluntary context switches per round trip, 1.3–1.7× a
    /// crossbeam-channel `bounded(1)` pair); with two it hardly ever parks (~0.004).
    pub(crate) fn spin_then_park(&self, deadline: Option<Instant>) -> u8 {
        if spin_until(|| self.state() != WAITING) || spin_until(|| self.state() != WAITING) {
            return self.state();
        }
        self.park(deadline)
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
    fn spin_until_checks_a_bounded_number_of_times() {
        assert!(spin_until(|| true));
        let mut calls = 0;
        assert!(!spin_until(|| {
            calls += 1;
            false
        }));
        assert!(calls > 1 || cfg!(loom), "it spins before giving up");
        assert!(calls < 100, "and gives up: {calls}");
        let mut calls = 0;
        assert!(spin_until(|| {
            calls += 1;
            calls == 3
        }));
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
