//! gevent's `LifoQueue` and `PriorityQueue` for the hub, after gevent's
//! `test__queue.py` TestLifoQueue / TestPriorityQueue and CPython's `test_queue.py`
//! (`simple_queue_test`, which gevent's suite runs), and Python 3.13's
//! `Queue.shutdown` (`test_queue.py` test_shutdown_*, gevent's test_shutdown_*).
//! Interleavings are forced with `sleep(ZERO)` (FIFO ready queue).

use std::cmp::Reverse;
use std::time::Duration;

use skein_coroutine::hub::{self, LifoQueue, PriorityQueue, Queue};

// --- LifoQueue / PriorityQueue ------------------------------------------------------

/// CPython's simple_queue_test: 111, 333, 222 come out FIFO as put, LIFO reversed,
/// priority sorted.
#[test]
fn the_three_orders_of_simple_queue_test() {
    let fifo = Queue::new();
    let lifo = LifoQueue::new();
    let prio = PriorityQueue::new();
    for n in [111, 333, 222] {
        fifo.put(n);
        lifo.put(n);
        prio.put(n);
    }
    let drain = |get: &dyn Fn() -> Option<i32>| std::iter::from_fn(get).collect::<Vec<_>>();
    assert_eq!(drain(&|| fifo.try_get()), [111, 333, 222]);
    assert_eq!(drain(&|| lifo.try_get()), [222, 333, 111]);
    assert_eq!(drain(&|| prio.try_get()), [111, 222, 333]);
}

/// TestLifoQueue: a bounded LIFO queue parks the producer when full, hands the item
/// back from the try and timed forms, and a parked getter gets the next put.
#[test]
fn a_bounded_lifo_queue_parks_and_hands_items_back() {
    let q = LifoQueue::bounded(2);
    q.put("a");
    q.put("b");
    assert!(q.is_full());
    assert_eq!(q.try_put("c").unwrap_err().into_inner(), "c");
    assert_eq!(
        q.put_timeout("c", Duration::from_millis(1))
            .unwrap_err()
            .into_inner(),
        "c"
    );
    assert_eq!(q.try_peek(), Some("b"));
    let producer = {
        let q = q.clone();
        hub::spawn(move || q.put("c"))
    };
    hub::sleep(Duration::ZERO);
    assert!(!producer.is_finished(), "the put waits for room");
    assert_eq!(q.get(), "b");
    producer.join().unwrap();
    assert_eq!([q.get(), q.get()], ["c", "a"]);
    assert_eq!(q.get_timeout(Duration::from_millis(1)), None);
    let getter = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    hub::sleep(Duration::ZERO);
    q.put("late");
    assert_eq!(getter.join().unwrap(), "late");
    assert_eq!(format!("{q:?}"), "LifoQueue { len: 0, capacity: Some(2) }");
}

/// TestPriorityQueue: `(priority, item)` tuples come out by priority; `Reverse` gives
/// the largest first; peek shows the next; task_done/join work as on every Queue.
#[test]
fn a_priority_queue_gives_the_smallest_first() {
    let q = PriorityQueue::new();
    for job in [(3, "low"), (1, "urgent"), (2, "normal"), (1, "urgent too")] {
        q.put(job);
    }
    assert_eq!(q.peek(), (1, "urgent"));
    assert_eq!(q.len(), 4);
    let order: Vec<_> = (0..4).map(|_| q.get()).collect();
    assert_eq!(
        order,
        [(1, "urgent"), (1, "urgent too"), (2, "normal"), (3, "low")]
    );
    for _ in 0..4 {
        q.task_done().unwrap();
    }
    assert!(q.join_timeout(Duration::ZERO));
    let max_first = PriorityQueue::new();
    for n in [1, 5, 3] {
        max_first.put(Reverse(n));
    }
    assert_eq!(max_first.get().0, 5);
    let worker = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    hub::sleep(Duration::ZERO);
    q.put((0, "woke the getter"));
    assert_eq!(worker.join().unwrap(), (0, "woke the getter"));
}
