//! CPython's "failing queue" tests (`FailingQueueTest` in `Lib/test/test_queue.py`), in
//! our own words: an exception raised inside a put or a get must leave the queue usable
//! and its counts consistent. The only user code a skein queue runs while it holds its
//! lock is the items' `Ord` in a [`PriorityQueue`], so the failures here are panics of
//! `Ord::cmp`, armed on demand.

use std::cmp::Ordering;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use skein_queue::PriorityQueue;

/// Generous upper bound for "wakes up promptly" on a loaded 2-core machine.
const PROMPTLY: Duration = Duration::from_secs(10);

/// An item whose next comparison panics once its shared switch is armed.
struct Touchy {
    v: i32,
    fail: Arc<AtomicBool>,
}

impl Touchy {
    fn cmp_value(&self, other: &Self) -> Ordering {
        if self.fail.swap(false, SeqCst) || other.fail.swap(false, SeqCst) {
            panic!("You Lose");
        }
        self.v.cmp(&other.v)
    }
}

impl PartialEq for Touchy {
    fn eq(&self, other: &Self) -> bool {
        self.v == other.v
    }
}
impl Eq for Touchy {}
impl PartialOrd for Touchy {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Touchy {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_value(other)
    }
}

fn quietly<R>(f: impl FnOnce() -> R) -> thread::Result<R> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + PROMPTLY * 6;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        thread::yield_now();
    }
}

/// A put whose comparison panics: whatever the heap kept, `unfinished_tasks` counts
/// exactly the items that can still be taken, and the queue goes on working.
#[test]
fn a_panicking_put_leaves_the_counts_consistent() {
    let fail = Arc::new(AtomicBool::new(false));
    let item = |v| Touchy {
        v,
        fail: Arc::clone(&fail),
    };
    let q = PriorityQueue::new(5);
    for v in [4, 2, 3, 1] {
        q.put(item(v)).unwrap();
    }
    fail.store(true, SeqCst);
    assert!(
        quietly(|| q.try_put(item(0))).is_err(),
        "the put did not panic"
    );
    assert_eq!(
        q.len(),
        q.unfinished_tasks(),
        "an item kept by the failed put must count as a task (or not be kept)"
    );
    // Still usable: fill it, drain it, mark everything done, join.
    while !q.is_full() {
        q.put(item(9)).unwrap();
    }
    let mut taken = 0;
    while let Ok(x) = q.try_get() {
        drop(x);
        q.task_done().unwrap();
        taken += 1;
    }
    assert_eq!(taken, 5);
    assert!(q.task_done().is_err());
    assert!(q.join_timeout(Duration::ZERO));
}

/// A get whose comparison panics while the heap reorders itself after removing the
/// smallest item (`heapq.heappop` raising in Python): that item is lost to the panicking
/// caller, as in Python, but the room it left is real, so a putter blocked on the full
/// queue must be woken, and the rest stays in order.
#[test]
fn a_panicking_get_wakes_a_blocked_putter() {
    let fail = Arc::new(AtomicBool::new(false));
    let item = |v| Touchy {
        v,
        fail: Arc::clone(&fail),
    };
    let q = PriorityQueue::new(3);
    for v in [1, 2, 3] {
        q.put(item(v)).unwrap();
    }
    let putter = {
        let (q, four) = (q.clone(), item(4));
        thread::spawn(move || q.put_timeout(four, PROMPTLY * 3).is_ok())
    };
    wait_until("the putter sleeps", || q.waiters() == 1);
    fail.store(true, SeqCst);
    let t = Instant::now();
    assert!(quietly(|| q.try_get()).is_err(), "the get did not panic");
    assert!(putter.join().unwrap(), "the putter was not woken");
    assert!(t.elapsed() < PROMPTLY);
    let rest: Vec<i32> = q.try_iter().map(|t| t.v).collect();
    assert_eq!(rest, [2, 3, 4]);
    assert_eq!(q.unfinished_tasks(), 4, "the lost item still counts as put");
}
