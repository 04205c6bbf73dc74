//! Green synchronisation and the bounded pool: Queue, Event, Lock, Semaphore, Pool.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use skein_coroutine::hub::{self, Event, Lock, Pool, Queue, Semaphore};

#[test]
fn queue_smoke_fifo_and_len() {
    let q = Queue::new();
    assert!(q.is_empty());
    q.put(1);
    q.put(2);
    assert_eq!(q.len(), 2);
    assert_eq!(q.get(), 1);
    assert_eq!(q.try_get(), Some(2));
    assert_eq!(q.try_get(), None);
    assert_eq!(q.capacity(), None);
}

#[test]
fn bounded_queue_parks_the_producer_and_hands_items_back_on_failure() {
    let q = Queue::bounded(2);
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert!(q.is_full());
    assert_eq!(q.try_put(3).unwrap_err().into_inner(), 3);
    assert_eq!(
        q.put_timeout(4, Duration::from_millis(5))
            .unwrap_err()
            .into_inner(),
        4
    );
    let log = Rc::new(RefCell::new(Vec::new()));
    let (q2, l) = (q.clone(), log.clone());
    let producer = hub::spawn(move || {
        for i in 3..6 {
            q2.put(i);
            l.borrow_mut().push(format!("put {i}"));
        }
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(q.get());
        log.borrow_mut().push("got".into());
    }
    producer.join().unwrap();
    assert_eq!(got, [1, 2, 3, 4, 5]);
    // The producer could never run more than two puts ahead of the consumer.
    let mut ahead = 2i32;
    for entry in log.borrow().iter() {
        ahead += if entry == "got" { -1 } else { 1 };
        assert!((0..=2).contains(&ahead), "{:?}", log.borrow());
    }
}

#[test]
fn queue_get_timeout_and_many_consumers_each_get_one() {
    let q: Queue<u32> = Queue::new();
    assert_eq!(q.get_timeout(Duration::from_millis(5)), None);
    let consumers: Vec<_> = (0..10)
        .map(|_| {
            let q = q.clone();
            hub::spawn(move || q.get())
        })
        .collect();
    hub::sleep(Duration::ZERO); // all ten park
    for i in 0..10 {
        q.put(i);
    }
    let mut got: Vec<u32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn killed_consumer_does_not_swallow_the_wakeup() {
    let q: Queue<u32> = Queue::new();
    let a = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    let b = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    hub::sleep(Duration::ZERO);
    a.kill();
    q.put(7);
    assert_eq!(b.join().unwrap(), 7);
    assert!(a.join().unwrap_err().is_killed());
}

#[test]
fn event_wakes_every_waiter_and_wait_timeout_reports_unset() {
    let ev = Event::new();
    assert!(!ev.wait_timeout(Duration::from_millis(5)));
    let woken = Rc::new(Cell::new(0));
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let (ev, w) = (ev.clone(), woken.clone());
            hub::spawn(move || {
                assert!(ev.wait());
                w.set(w.get() + 1);
            })
        })
        .collect();
    hub::sleep(Duration::ZERO);
    assert_eq!(woken.get(), 0);
    ev.set();
    assert!(ev.is_set());
    hub::joinall(&waiters);
    assert_eq!(woken.get(), 5);
    ev.clear();
    assert!(!ev.is_set());
}

#[test]
fn lock_excludes_across_switches_and_times_out() {
    let lock = Lock::new();
    let inside = Rc::new(Cell::new(0));
    let max = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (lock, inside, max) = (lock.clone(), inside.clone(), max.clone());
            hub::spawn(move || {
                for _ in 0..3 {
                    let _held = lock.acquire();
                    inside.set(inside.get() + 1);
                    max.set(max.get().max(inside.get()));
                    hub::sleep(Duration::ZERO);
                    inside.set(inside.get() - 1);
                }
            })
        })
        .collect();
    hub::joinall(&tasks);
    assert_eq!(max.get(), 1);
    let held = lock.acquire();
    assert!(lock.locked());
    assert!(lock.try_acquire().is_none());
    assert!(lock.acquire_timeout(Duration::from_millis(5)).is_none());
    drop(held);
    assert!(!lock.locked());
}

#[test]
fn semaphore_serves_waiters_in_order_and_bounded_rejects_over_release() {
    let sem = Semaphore::new(1);
    let order = Rc::new(RefCell::new(Vec::new()));
    let first = sem.acquire();
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let (sem, order) = (sem.clone(), order.clone());
            hub::spawn(move || {
                let _p = sem.acquire();
                order.borrow_mut().push(i);
                hub::sleep(Duration::ZERO);
            })
        })
        .collect();
    hub::sleep(Duration::ZERO); // all four queue up, in spawn order
    drop(first);
    hub::joinall(&tasks);
    assert_eq!(*order.borrow(), [0, 1, 2, 3]);

    let bounded = Semaphore::bounded(1);
    assert!(bounded.release().is_err());
    bounded.acquire().forget();
    assert_eq!(bounded.available(), 0);
    bounded.release().unwrap();
    assert_eq!(bounded.available(), 1);
    let unbounded = Semaphore::new(0);
    unbounded.release().unwrap();
    assert_eq!(unbounded.available(), 1);
}

#[test]
fn a_killed_waiter_leaves_the_semaphore_consistent() {
    let sem = Semaphore::new(1);
    let held = sem.acquire();
    let waiter = {
        let sem = sem.clone();
        hub::spawn(move || {
            let _p = sem.acquire();
        })
    };
    hub::sleep(Duration::ZERO);
    waiter.kill();
    drop(held);
    assert_eq!(sem.available(), 1);
}

#[test]
fn pool_bounds_concurrency_and_joins() {
    let pool = Pool::new(3);
    let running = Rc::new(Cell::new(0));
    let max = Rc::new(Cell::new(0));
    let mut handles = Vec::new();
    for i in 0..10 {
        let (running, max) = (running.clone(), max.clone());
        handles.push(pool.spawn(move || {
            running.set(running.get() + 1);
            max.set(max.get().max(running.get()));
            hub::sleep(Duration::from_millis(1));
            running.set(running.get() - 1);
            i
        }));
        assert!(pool.len() <= 3);
    }
    pool.join();
    assert!(pool.is_empty());
    assert_eq!(max.get(), 3);
    assert_eq!(pool.free_count(), 3);
    let values: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(values, (0..10).collect::<Vec<_>>());
}

#[test]
fn pool_slot_comes_back_after_a_panic_or_kill_and_try_spawn_hands_back() {
    let pool = Pool::new(1);
    let bad = pool.spawn(|| -> () { panic!("pool task fails") });
    assert!(bad.join().unwrap_err().is_panic());
    assert_eq!(pool.free_count(), 1);
    let parked = pool.spawn(|| hub::sleep(Duration::from_secs(3600)));
    let refused = pool.try_spawn(|| 5).unwrap_err();
    assert_eq!(refused(), 5);
    assert!(!pool.join_timeout(Duration::from_millis(5)));
    parked.kill();
    assert!(pool.join_timeout(Duration::from_secs(60)));
    let results = pool.map(0..4, |i| i * 2);
    let results: Vec<i32> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, [0, 2, 4, 6]);
}

#[test]
#[should_panic(expected = "LoopExit")]
fn main_context_waiting_on_nothing_is_reported_not_hung() {
    let q: Queue<u8> = Queue::new();
    q.get();
}
