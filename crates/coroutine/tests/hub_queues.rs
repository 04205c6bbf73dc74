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

// --- Queue.shutdown (Python 3.13) -------------------------------------------------

/// test_shutdown_empty / test_shutdown_nonempty: after shutdown, puts fail with the
/// item back, gets go on until the queue is empty and then fail.
#[test]
fn shutdown_stops_puts_and_lets_gets_drain() {
    let q = Queue::new();
    q.put(1);
    q.put(2);
    assert!(!q.is_shutdown());
    q.shutdown();
    assert!(q.is_shutdown());
    assert_eq!(q.send(3).unwrap_err().into_inner(), 3);
    assert_eq!(q.try_put(4).unwrap_err().into_inner(), 4);
    assert_eq!(
        q.put_timeout(5, Duration::from_secs(1))
            .unwrap_err()
            .into_inner(),
        5
    );
    assert_eq!(q.recv(), Ok(1));
    assert_eq!(q.get(), 2);
    assert!(q.recv().unwrap_err() == hub::ShutDown(()));
    assert_eq!(q.try_get(), None);
    assert_eq!(
        q.get_timeout(Duration::from_secs(1)),
        None,
        "no wait once shut and empty"
    );
    assert_eq!(q.peek_timeout(Duration::from_secs(1)), None);
    assert_eq!(q.len(), 0);
    // Shutting down again does nothing more.
    q.shutdown();
    assert!(q.shutdown_immediate().is_empty());
}

/// put/get/peek on a shut-down queue panic as Python raises ShutDown, with a message
/// that says so; the task fails, not the hub.
#[test]
fn put_get_and_peek_on_a_shut_down_queue_panic_in_their_task() {
    let q: Queue<u8> = Queue::new();
    q.shutdown();
    let put = {
        let q = q.clone();
        hub::spawn(move || q.put(1))
    };
    let get = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    let peek = {
        let q = q.clone();
        hub::spawn(move || q.peek())
    };
    let msg = put.join().unwrap_err();
    assert!(msg.panic_message().unwrap().contains("shut-down"), "{msg}");
    assert!(
        get.join()
            .unwrap_err()
            .panic_message()
            .unwrap()
            .contains("ShutDown")
    );
    assert!(peek.join().unwrap_err().is_panic());
}

/// test_shutdown_[all_methods_]in_many_threads: parked putters of a full queue and
/// parked getters/peekers of an empty one wake at shutdown and fail; the putter gets
/// its item back.
#[test]
fn shutdown_wakes_parked_putters_getters_and_peekers() {
    let full = Queue::bounded(1);
    full.put("kept");
    let putter = {
        let q = full.clone();
        hub::spawn(move || q.send("blocked").map_err(|e| e.into_inner()))
    };
    let empty: Queue<u32> = Queue::new();
    let getter = {
        let q = empty.clone();
        hub::spawn(move || q.recv())
    };
    let peeker = {
        let q = empty.clone();
        hub::spawn(move || q.peek_timeout(Duration::from_secs(60)))
    };
    let consumer = {
        let q = empty.clone();
        hub::spawn(move || q.iter().count())
    };
    hub::sleep(Duration::ZERO);
    assert!(!putter.is_finished() && !getter.is_finished() && !peeker.is_finished());
    full.shutdown();
    empty.shutdown();
    assert_eq!(putter.join().unwrap(), Err("blocked"));
    assert!(getter.join().unwrap().is_err());
    assert_eq!(peeker.join().unwrap(), None);
    assert_eq!(consumer.join().unwrap(), 0);
    assert_eq!(
        full.get(),
        "kept",
        "a plain shutdown leaves the items to get"
    );
}

/// test_shutdown_immediate / test_shutdown_immediate_join: the items are removed (and
/// handed back, in get order), each counts as task_done so join returns; a bounded
/// LIFO or priority queue shuts down the same way.
#[test]
fn shutdown_immediate_empties_the_queue_and_releases_join() {
    let q = Queue::new();
    for n in [1, 2, 3] {
        q.put(n);
    }
    assert_eq!(q.get(), 1);
    q.task_done().unwrap();
    let joiner = {
        let q = q.clone();
        hub::spawn(move || q.join())
    };
    hub::sleep(Duration::ZERO);
    assert!(!joiner.is_finished());
    assert_eq!(q.shutdown_immediate(), [2, 3]);
    assert_eq!(q.unfinished_tasks(), 0);
    joiner.join().unwrap();
    assert!(q.recv().is_err());
    let lifo = LifoQueue::bounded(3);
    let prio = PriorityQueue::bounded(3);
    for n in [2, 3, 1] {
        lifo.put(n);
        prio.put(n);
    }
    assert_eq!(lifo.shutdown_immediate(), [1, 3, 2]);
    assert_eq!(prio.shutdown_immediate(), [1, 2, 3]);
    assert!(lifo.is_shutdown() && prio.send(0).is_err());
}

/// A producer/consumer pair that ends by shutdown instead of a sentinel.
#[test]
fn a_consumer_loop_ends_at_shutdown() {
    let q = Queue::bounded(2);
    let consumer = {
        let q = q.clone();
        hub::spawn(move || q.iter().collect::<Vec<u32>>())
    };
    for n in 0..6 {
        q.send(n).unwrap();
    }
    q.shutdown();
    assert_eq!(consumer.join().unwrap(), [0, 1, 2, 3, 4, 5]);
}

// --- imap(maxsize) --------------------------------------------------------------------

/// test_imap_unordered_bounded_queue / test_imap_no_stop: with `maxsize`, a consumer
/// that does not read holds the items back — at most maxsize + size − 1 run before
/// it reads — and every result still comes, in order; without it, all items run.
#[test]
fn imap_maxsize_holds_the_producers_back() {
    use std::cell::Cell;
    use std::rc::Rc;

    use skein_coroutine::hub::Pool;

    for unordered in [false, true] {
        let pool = Pool::new(3);
        let started = Rc::new(Cell::new(0));
        let s = started.clone();
        let f = move |n: u32| {
            s.set(s.get() + 1);
            n * 10
        };
        let results = if unordered {
            pool.imap_unordered_maxsize(0..30, 2, f)
        } else {
            pool.imap_maxsize(0..30, 2, f)
        };
        hub::sleep(Duration::from_millis(5));
        assert!(started.get() >= 2, "the first items run");
        assert!(
            started.get() <= 4,
            "ran {} with nobody reading",
            started.get()
        );
        let mut got: Vec<u32> = results.map(Result::unwrap).collect();
        if unordered {
            got.sort_unstable();
        }
        assert_eq!(got, (0..30).map(|n| n * 10).collect::<Vec<_>>());
        assert_eq!(started.get(), 30);
    }
    // Without maxsize every item runs while nobody reads.
    let pool = Pool::new(3);
    let started = Rc::new(Cell::new(0));
    let s = started.clone();
    let results = pool.imap(0..30, move |n: u32| {
        s.set(s.get() + 1);
        n
    });
    hub::sleep(Duration::from_millis(5));
    assert_eq!(started.get(), 30);
    assert_eq!(results.count(), 30);
}
