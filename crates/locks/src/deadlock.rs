//! Deadlock detection for skein locks: a wait-for graph checked whenever a thread blocks.
//!
//! # What is detected
//!
//! A deadlock among skein locks ([`Lock`](crate::Lock), [`RLock`](crate::RLock), and the
//! lock under a [`Condition`](crate::Condition) when a waiter takes it back): thread A waits
//! for a lock held by B, B waits for a lock held by C, …, and someone in the chain waits for
//! a lock held by A. Each such cycle is reported once, with the name of every thread (its
//! `std::thread` name, or its `ThreadId` when unnamed) and every lock (the name given with
//! [`Lock::named`](crate::Lock::named), or its address).
//!
//! # Design
//!
//! * **Owners live in the lock word.** Every skein lock keeps its owner's thread id in the
//!   same atomic word as its locked bit, so the uncontended path is one compare-and-swap,
//!   with or without detection. Nothing is recorded while a lock is free to take.
//! * **Edges are added only when a thread parks.** A thread that must block (after a short
//!   spin) takes the lock's queue mutex, sets the lock's "parked" bit and, when detection is
//!   on, records two facts in one global graph behind a mutex: "thread T waits for lock L"
//!   and "L is held by O". While L has parked waiters every change of its owner goes through
//!   the slow path, which keeps the graph's copy of the owner exact — so a cycle seen in the
//!   graph is a cycle that exists now, never a stale one (no false reports).
//! * **Checked when an edge is added.** A new cycle can only close when some thread starts
//!   waiting, and it must pass through that thread, so the newcomer walks the chain
//!   `T → L → owner → the lock that owner waits for → …` (each thread waits for at most one
//!   lock, so this is a path, not a search). No background thread, no periodic scan.
//! * **Only waits that cannot end by themselves count.** A wait with a timeout or deadline
//!   is in the graph but a cycle through it is not reported: it breaks when the time is up.
//! * **Reported once, by the thread that closed the cycle**, to the handler set with
//!   [`set_handler`] (default: a message on stderr), after all internal locks are released.
//! * **Errors on request.** Waiters that used an `acquire_checked` method get a
//!   [`DeadlockError`](crate::DeadlockError) holding the report instead of hanging: the one
//!   that closed the cycle returns at once, the others in the cycle are woken. Plain
//!   `acquire` keeps Python's behaviour: the report is printed and the thread waits on.
//!
//! # Cost
//!
//! Zero on the uncontended path (the owner id is written by the same CAS that takes the lock)
//! and nothing while spinning. Each time a thread actually parks, and each time a lock with
//! parked waiters changes hands, detection takes one global mutex and does work linear in
//! the length of the chain (in practice 1–3 steps). Parking already costs a system call, so
//! the overhead is small; the `locks` bench measures it ("detection on vs off").
//!
//! Detection is compiled in by the cargo feature `deadlock-detection` (on by default) and is
//! then **on in debug builds and off in release builds**; [`set_enabled`] changes that at run
//! time. Change it while no skein lock is contended (e.g. at the start of `main`): waits that
//! began while it was off are not in the graph.
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Barrier};
//! use std::thread;
//! use skein_locks::{Lock, deadlock};
//!
//! deadlock::set_enabled(true);
//! deadlock::set_handler(|report| eprintln!("found: {report}"));
//!
//! let a = Arc::new(Lock::named("a"));
//! let b = Arc::new(Lock::named("b"));
//! let both_hold_one = Arc::new(Barrier::new(2));
//!
//! let t = {
//!     let (a, b, sync) = (a.clone(), b.clone(), both_hold_one.clone());
//!     thread::Builder::new().name("left".into()).spawn(move || {
//!         let _ga = a.acquire();
//!         sync.wait();
//!         b.acquire_checked().map(drop)
//!     }).unwrap()
//! };
//! let _gb = b.acquire();
//! both_hold_one.wait();
//! let mine = a.acquire_checked().map(drop);
//! drop(_gb);
//! let theirs = t.join().unwrap();
//! // Both waits were in the cycle; both asked for an error, so neither hangs.
//! assert!(mine.is_err() || theirs.is_err());
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};

use crate::waiter::Waiter;

/// One edge of a deadlock cycle: a thread, the lock it waits for, and that lock's holder.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitEdge {
    /// The waiting thread's name (its `std::thread` name, or its `ThreadId`).
    pub thread: String,
    /// The waiting thread's skein id.
    pub thread_id: u64,
    /// The lock's name (from [`Lock::named`](crate::Lock::named)), or its address.
    pub lock: String,
    /// The name of the thread that holds the lock.
    pub held_by: String,
    /// The skein id of the thread that holds the lock.
    pub held_by_id: u64,
}

/// A deadlock cycle found among skein locks.
///
/// `Display` prints one line per thread in the cycle:
/// `thread 'left' waits for lock 'b' held by thread 'right'`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlockReport {
    edges: Vec<WaitEdge>,
}

impl DeadlockReport {
    /// The edges of the cycle, starting with the thread that closed it; each edge's
    /// `held_by` is the next edge's `thread`, and the last one's is the first's.
    pub fn edges(&self) -> &[WaitEdge] {
        &self.edges
    }

    /// The names of the threads in the cycle, in cycle order.
    pub fn threads(&self) -> Vec<&str> {
        self.edges.iter().map(|e| e.thread.as_str()).collect()
    }

    /// The names of the locks in the cycle, in cycle order.
    pub fn locks(&self) -> Vec<&str> {
        self.edges.iter().map(|e| e.lock.as_str()).collect()
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deadlock among {} threads:", self.edges.len())?;
        for e in &self.edges {
            write!(
                f,
                "\n  thread '{}' waits for lock '{}' held by thread '{}'",
                e.thread, e.lock, e.held_by
            )?;
        }
        Ok(())
    }
}

type Handler = Arc<dyn Fn(&DeadlockReport) + Send + Sync>;

static ENABLED: AtomicBool = AtomicBool::new(cfg!(debug_assertions));
static HANDLER: RwLock<Option<Handler>> = parking_lot::const_rwlock(None);

/// Whether deadlock detection was compiled in (cargo feature `deadlock-detection`).
pub const fn is_available() -> bool {
    cfg!(feature = "deadlock-detection")
}

/// Turns detection on or off for the whole process (default: on in debug builds, off in
/// release builds). Without the `deadlock-detection` feature this does nothing.
///
/// Call it while no skein lock is contended; waits already under way are not tracked.
pub fn set_enabled(on: bool) {
    ENABLED.store(on && is_available(), Ordering::SeqCst);
    if !on {
        let mut g = GRAPH.lock();
        g.waiting.clear();
        g.owners.clear();
        g.victims.clear();
    }
}

/// Whether detection is on now.
#[inline]
pub fn is_enabled() -> bool {
    is_available() && !cfg!(loom) && ENABLED.load(Ordering::Relaxed)
}

/// Replaces the report handler (default: print the report to stderr). The handler runs on
/// the thread that closed the cycle, after skein has released its internal locks, so it may
/// log, count, or panic to abort the program.
pub fn set_handler<F>(handler: F)
where
    F: Fn(&DeadlockReport) + Send + Sync + 'static,
{
    *HANDLER.write() = Some(Arc::new(handler));
}

/// Puts back the default handler (print to stderr).
pub fn reset_handler() {
    *HANDLER.write() = None;
}

pub(crate) fn report(report: &DeadlockReport) {
    let handler = HANDLER.read().clone();
    match handler {
        Some(h) => h(report),
        None => eprintln!("skein-locks: {report}"),
    }
}

struct Entry {
    thread: u64,
    lock: usize,
    lock_name: Option<Arc<str>>,
    waiter: Arc<Waiter>,
    wants_error: bool,
    /// A wait with a deadline ends by itself, so a cycle through it is not a deadlock.
    timed: bool,
}

struct Graph {
    /// Threads parked on a skein lock: at most one entry per thread.
    waiting: Vec<Entry>,
    /// For each lock with parked waiters: its owner (0 while it is free).
    owners: Vec<(usize, u64)>,
    /// Reports for woken victims that asked for an error, by thread id.
    victims: Vec<(u64, DeadlockReport)>,
}

static GRAPH: Mutex<Graph> = parking_lot::const_mutex(Graph {
    waiting: Vec::new(),
    owners: Vec::new(),
    victims: Vec::new(),
});

impl Graph {
    fn owner_of(&self, lock: usize) -> u64 {
        self.owners
            .iter()
            .find(|(l, _)| *l == lock)
            .map_or(0, |(_, o)| *o)
    }

    fn entry(&self, thread: u64) -> Option<&Entry> {
        self.waiting.iter().find(|e| e.thread == thread)
    }

    fn set_owner(&mut self, lock: usize, owner: u64) {
        match self.owners.iter_mut().find(|(l, _)| *l == lock) {
            Some(slot) => slot.1 = owner,
            None => self.owners.push((lock, owner)),
        }
    }

    fn lock_label(lock: usize, name: &Option<Arc<str>>) -> String {
        match name {
            Some(n) => n.to_string(),
            None => format!("lock@{lock:#x}"),
        }
    }
}

/// What `register` found: a report to hand to the handler, and whether the caller (which
/// asked for an error) should return one now.
pub(crate) struct Found {
    pub(crate) report: DeadlockReport,
    pub(crate) error_now: bool,
}

/// Records that `waiter`'s thread parks on `lock`, held by `owner`, and checks for a cycle.
/// Call with the lock's queue mutex held and its parked bit set.
pub(crate) fn register(
    lock: usize,
    lock_name: Option<&Arc<str>>,
    owner: u64,
    waiter: &Arc<Waiter>,
    wants_error: bool,
    timed: bool,
) -> Option<Found> {
    let mut g = GRAPH.lock();
    g.set_owner(lock, owner);
    let me = waiter.id;
    g.waiting.retain(|e| e.thread != me);
    g.waiting.push(Entry {
        thread: me,
        lock,
        lock_name: lock_name.cloned(),
        waiter: Arc::clone(waiter),
        wants_error,
        timed,
    });
    if timed {
        return None;
    }

    // Walk me → lock → owner → the lock that owner waits for → … until the chain ends or
    // comes back to me.
    let mut path: Vec<u64> = vec![me];
    let mut cur = owner;
    loop {
        if cur == 0 || path.len() > g.waiting.len() {
            return None;
        }
        if cur == me {
            break;
        }
        let entry = g.entry(cur)?;
        if entry.timed {
            return None;
        }
        path.push(cur);
        cur = g.owner_of(entry.lock);
    }

    let edges: Vec<WaitEdge> = path
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let e = g.entry(t).expect("every thread on the path is waiting");
            let next = path[(i + 1) % path.len()];
            let next_name = g
                .entry(next)
                .map_or_else(String::new, |n| n.waiter.name.to_string());
            WaitEdge {
                thread: e.waiter.name.to_string(),
                thread_id: t,
                lock: Graph::lock_label(e.lock, &e.lock_name),
                held_by: next_name,
                held_by_id: next,
            }
        })
        .collect();
    let report = DeadlockReport { edges };

    // Wake the other members that asked for an error; they find their report in `victims`.
    let victims: Vec<Arc<Waiter>> = path[1..]
        .iter()
        .filter_map(|&t| {
            g.entry(t)
                .filter(|e| e.wants_error)
                .map(|e| Arc::clone(&e.waiter))
        })
        .collect();
    for v in victims {
        g.victims.retain(|(t, _)| *t != v.id);
        g.victims.push((v.id, report.clone()));
        if !v.wake(crate::waiter::DEADLOCKED) {
            g.victims.retain(|(t, _)| *t != v.id);
        }
    }
    Some(Found {
        report,
        error_now: wants_error,
    })
}

/// Records a new owner (0: free) for a lock that has parked waiters.
pub(crate) fn set_owner(lock: usize, owner: u64) {
    GRAPH.lock().set_owner(lock, owner);
}

/// Removes `thread`'s wait (it got the lock, timed out, or was woken), and forgets `lock`'s
/// owner when `lock_has_waiters` is false.
pub(crate) fn unregister(thread: u64, lock: usize, lock_has_waiters: bool) {
    let mut g = GRAPH.lock();
    g.waiting.retain(|e| e.thread != thread);
    if !lock_has_waiters {
        g.owners.retain(|(l, _)| *l != lock);
    }
}

/// Records the release of a lock that had parked waiters, in one visit to the graph: the
/// `woken` thread no longer waits, and the lock is free — its owner is forgotten when
/// `lock_has_waiters` is false.
pub(crate) fn released(lock: usize, woken: Option<u64>, lock_has_waiters: bool) {
    let mut g = GRAPH.lock();
    if let Some(thread) = woken {
        g.waiting.retain(|e| e.thread != thread);
    }
    if lock_has_waiters {
        g.set_owner(lock, 0);
    } else {
        g.owners.retain(|(l, _)| *l != lock);
    }
}

/// Takes the report left for a victim woken with `DEADLOCKED`.
pub(crate) fn take_victim_report(thread: u64) -> Option<DeadlockReport> {
    let mut g = GRAPH.lock();
    let i = g.victims.iter().position(|(t, _)| *t == thread)?;
    Some(g.victims.swap_remove(i).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made-up thread ids and lock addresses, far from real ones, so these tests can share
    // the global graph with the rest of the suite.
    const T: u64 = 1 << 60;
    const L: usize = usize::MAX - 0xffff;

    fn fake(id: u64, name: &str) -> Arc<Waiter> {
        Arc::new(Waiter::fake(id, name))
    }

    #[test]
    fn a_chain_is_not_a_cycle_until_it_closes() {
        let (a, b, c) = (fake(T + 1, "a"), fake(T + 2, "b"), fake(T + 3, "c"));
        let name: Arc<str> = Arc::from("first");
        assert!(register(L + 1, Some(&name), b.id, &a, false, false).is_none());
        assert!(register(L + 2, None, c.id, &b, false, false).is_none());
        let found = register(L + 3, None, a.id, &c, true, false).expect("a → b → c → a");
        assert!(found.error_now);
        let r = found.report;
        assert_eq!(r.threads(), vec!["c", "a", "b"]);
        assert_eq!(r.locks()[1], "first");
        assert!(r.locks()[0].starts_with("lock@0x"));
        assert_eq!(r.edges()[0].held_by, "a");
        let text = r.to_string();
        assert!(text.starts_with("deadlock among 3 threads:"), "{text}");
        assert!(
            text.contains("thread 'a' waits for lock 'first' held by thread 'b'"),
            "{text}"
        );
        for (t, l) in [(a.id, L + 1), (b.id, L + 2), (c.id, L + 3)] {
            unregister(t, l, false);
        }
    }

    #[test]
    fn a_released_lock_breaks_the_chain() {
        let (a, b) = (fake(T + 11, "a"), fake(T + 12, "b"));
        assert!(register(L + 11, None, b.id, &a, false, false).is_none());
        set_owner(L + 11, 0); // b let go of it; a is about to be woken
        assert!(register(L + 12, None, a.id, &b, false, false).is_none());
        unregister(a.id, L + 11, false);
        unregister(b.id, L + 12, false);
    }

    #[test]
    fn timed_waits_never_close_a_cycle() {
        let (a, b) = (fake(T + 21, "a"), fake(T + 22, "b"));
        assert!(register(L + 21, None, b.id, &a, false, true).is_none());
        assert!(register(L + 22, None, a.id, &b, false, false).is_none());
        unregister(a.id, L + 21, false);
        unregister(b.id, L + 22, false);
    }

    #[test]
    fn victims_that_asked_for_an_error_are_woken_with_the_report() {
        let (a, b) = (fake(T + 31, "a"), fake(T + 32, "b"));
        a.prepare();
        assert!(register(L + 31, None, b.id, &a, true, false).is_none());
        let found = register(L + 32, None, a.id, &b, false, false).unwrap();
        assert!(!found.error_now, "b did not ask for an error");
        assert_eq!(a.state(), crate::waiter::DEADLOCKED);
        assert_eq!(take_victim_report(a.id), Some(found.report));
        assert_eq!(take_victim_report(a.id), None);
        unregister(a.id, L + 31, false);
        unregister(b.id, L + 32, false);
    }
}
