//! The standard suite, run for every queue kind that has Python's full `Queue` API:
//! bounded and unbounded `Queue`, `LifoQueue`, `PriorityQueue`.
//!
//! Parts follow CPython's `Lib/test/test_queue.py` (basic order, full/empty, task_done
//! and join, shutdown), written in our own words. No test depends on timing luck: threads
//! are ordered with channels and barriers, and a test that needs a caller *blocked* before
//! it acts waits until the queue counts it among its `waiters()` (registered to sleep, so
//! only a wakeup lets it go on); time is only asserted as a strict lower bound for
//! timeouts and a generous upper bound for wakeups.

use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// Generous upper bound for "wakes up promptly" on a loaded 2-core machine.
const PROMPTLY: Duration = Duration::from_secs(10);

/// Waits, yielding, until `cond` holds; fails loudly after a generous deadline.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + PROMPTLY * 6;
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        thread::yield_now();
    }
}

macro_rules! suite {
    ($module:ident, $ty:ident, bounded = $bounded:expr, order = $order:expr) => {
        mod $module {
            use super::*;
            use skein_queue::{
                GetError, GetTimeoutError, PutError, PutTimeoutError, TaskDoneError, TryGetError,
                TryPutError, $ty,
            };

            /// A queue of this kind: bounded to `n` when the kind is bounded.
            fn make<T: Send + Ord>(n: usize) -> $ty<T> {
                if $bounded {
                    $ty::new(n)
                } else {
                    $ty::unbounded()
                }
            }

            fn expected(input: &[i32]) -> Vec<i32> {
                let order: fn(&[i32]) -> Vec<i32> = $order;
                order(input)
            }

            #[test]
            fn smoke_order() {
                let q = make(8);
                let input = [5, 1, 4, 2, 3];
                for v in input {
                    q.put(v).unwrap();
                }
                assert_eq!(q.len(), 5);
                assert_eq!(q.qsize(), 5);
                let out: Vec<i32> = (0..5).map(|_| q.get().unwrap()).collect();
                assert_eq!(out, expected(&input));
                assert!(q.is_empty());
            }

            #[test]
            fn capacity_len_empty_full() {
                let q = make::<i32>(3);
                assert!(q.is_empty());
                assert!(!q.is_full());
                if $bounded {
                    assert_eq!(q.maxsize(), 3);
                    assert_eq!(q.capacity(), Some(3));
                } else {
                    assert_eq!(q.maxsize(), 0);
                    assert_eq!(q.capacity(), None);
                }
                for i in 0..3 {
                    q.put(i).unwrap();
                }
                assert_eq!(q.len(), 3);
                assert!(!q.is_empty());
                assert_eq!(q.is_full(), $bounded);
            }

            #[test]
            fn try_put_full_hands_item_back() {
                if !$bounded {
                    return;
                }
                let q = make(2);
                q.try_put(String::from("a")).unwrap();
                q.try_put(String::from("b")).unwrap();
                match q.try_put(String::from("c")) {
                    Err(TryPutError::Full(s)) => assert_eq!(s, "c"),
                    other => panic!("expected Full, got {other:?}"),
                }
                assert_eq!(q.len(), 2);
            }

            #[test]
            fn put_timeout_on_full_waits_then_hands_item_back() {
                if !$bounded {
                    return;
                }
                let q = make(1);
                q.put(1).unwrap();
                let wait = Duration::from_millis(30);
                let start = Instant::now();
                let err = q.put_timeout(2, wait).unwrap_err();
                assert!(start.elapsed() >= wait);
                assert_eq!(err, PutTimeoutError::Timeout(2));
                let err = q.put_deadline(3, Instant::now()).unwrap_err();
                assert_eq!(err.into_inner(), 3);
            }

            #[test]
            fn put_timeout_succeeds_when_room_appears() {
                if !$bounded {
                    return;
                }
                let q = make(1);
                q.put(1).unwrap();
                let q2 = q.clone();
                let (tx, rx) = mpsc::channel();
                let h = thread::spawn(move || {
                    tx.send(()).unwrap();
                    q2.put_timeout(2, PROMPTLY * 3)
                });
                rx.recv().unwrap();
                assert_eq!(q.get(), Ok(1));
                assert_eq!(h.join().unwrap(), Ok(()));
                assert_eq!(q.get(), Ok(2));
            }

            #[test]
            fn try_get_and_get_timeout_on_empty() {
                let q = make::<i32>(4);
                assert_eq!(q.try_get(), Err(TryGetError::Empty));
                let wait = Duration::from_millis(30);
                let start = Instant::now();
                assert_eq!(q.get_timeout(wait), Err(GetTimeoutError::Timeout));
                let took = start.elapsed();
                assert!(took >= wait);
                assert!(took < PROMPTLY);
                assert_eq!(
                    q.get_deadline(Instant::now()),
                    Err(GetTimeoutError::Timeout)
                );
            }

            #[test]
            fn blocked_get_wakes_on_put() {
                let q = make::<i32>(4);
                let q2 = q.clone();
                let h = thread::spawn(move || q2.get_timeout(PROMPTLY * 3));
                // The getter is registered to sleep: only the put's wakeup gets it the item
                // (without it, it times out and the test fails).
                wait_until("the getter sleeps", || q.waiters() == 1);
                let t = Instant::now();
                q.put(42).unwrap();
                assert_eq!(h.join().unwrap(), Ok(42));
                // Without the wakeup it would take the item only after its timeout.
                assert!(t.elapsed() < PROMPTLY, "the put did not wake the getter");
                assert_eq!(q.waiters(), 0);
            }

            #[test]
            fn shutdown_fails_puts_and_hands_items_back() {
                let q = make(1);
                q.put(String::from("kept")).unwrap();
                q.shutdown();
                assert!(q.is_shutdown());
                // Full or not, a put on a shut-down queue fails with ShutDown first.
                assert_eq!(q.put(String::from("p")), Err(PutError(String::from("p"))));
                assert_eq!(
                    q.try_put(String::from("t")),
                    Err(TryPutError::ShutDown(String::from("t")))
                );
                assert_eq!(
                    q.put_timeout(String::from("w"), Duration::from_millis(1)),
                    Err(PutTimeoutError::ShutDown(String::from("w")))
                );
                // Gets drain what is left, then fail.
                assert_eq!(q.get().as_deref(), Ok("kept"));
                assert_eq!(q.get(), Err(GetError));
                assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
                assert_eq!(
                    q.get_timeout(Duration::from_secs(60)),
                    Err(GetTimeoutError::ShutDown)
                );
                q.shutdown(); // idempotent
            }

            #[test]
            fn shutdown_immediate_fails_gets_and_returns_items() {
                let q = make(4);
                for v in [3, 1, 2] {
                    q.put(v).unwrap();
                }
                assert_eq!(q.get(), Ok(expected(&[3, 1, 2])[0]));
                assert_eq!(q.unfinished_tasks(), 3);
                let mut left = q.shutdown_immediate();
                left.sort();
                let mut want = expected(&[3, 1, 2])[1..].to_vec();
                want.sort();
                assert_eq!(left, want);
                assert!(q.is_empty());
                assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
                assert_eq!(q.get(), Err(GetError));
                assert_eq!(q.try_put(9), Err(TryPutError::ShutDown(9)));
                // The two drained items count as done; the one taken is still unfinished.
                assert_eq!(q.unfinished_tasks(), 1);
                assert!(!q.join_timeout(Duration::from_millis(5)));
                q.task_done().unwrap();
                assert!(q.join_timeout(Duration::ZERO));
            }

            #[test]
            fn task_done_counts_like_python() {
                let q = make(4);
                assert_eq!(q.task_done(), Err(TaskDoneError));
                q.put(1).unwrap();
                q.put(2).unwrap();
                assert_eq!(q.unfinished_tasks(), 2);
                // Python counts puts, not gets: task_done before get is allowed.
                q.task_done().unwrap();
                q.task_done().unwrap();
                assert_eq!(q.task_done(), Err(TaskDoneError));
                assert_eq!(
                    q.unfinished_tasks(),
                    0,
                    "a failed task_done leaves the count alone"
                );
                q.put(3).unwrap();
                assert_eq!(q.unfinished_tasks(), 1);
                // A failed put adds no task.
                q.shutdown();
                assert!(q.put(4).is_err());
                assert_eq!(q.unfinished_tasks(), 1);
            }

            #[test]
            fn join_released_exactly_at_last_task_done() {
                let q = make(8);
                for i in 0..3 {
                    q.put(i).unwrap();
                }
                let (tx, rx) = mpsc::channel();
                let joiner = {
                    let q = q.clone();
                    thread::spawn(move || {
                        q.join();
                        tx.send(()).unwrap();
                    })
                };
                for _ in 0..3 {
                    q.get().unwrap();
                }
                q.task_done().unwrap();
                q.task_done().unwrap();
                // One task left: nobody may be released.
                assert!(!q.join_timeout(Duration::from_millis(30)));
                assert!(rx.try_recv().is_err());
                q.task_done().unwrap();
                rx.recv_timeout(PROMPTLY)
                    .expect("join must return after the last task_done");
                joiner.join().unwrap();
                assert!(q.join_timeout(Duration::ZERO));
            }

            #[test]
            fn join_returns_even_if_new_work_arrives_before_waking() {
                let q = make(8);
                q.put(1).unwrap();
                let joiner = {
                    let q = q.clone();
                    thread::spawn(move || q.join_timeout(PROMPTLY * 3))
                };
                // The joiner waits: reaching zero must release it, even though a new item
                // is put right after (the joiner may not have run yet; the unit test
                // `join_released_by_epoch_even_if_new_work_arrives_first` in
                // src/blocking.rs holds it asleep until the new item is in).
                wait_until("the joiner waits", || q.waiters() == 1);
                q.get().unwrap();
                q.task_done().unwrap();
                q.put(2).unwrap();
                assert!(
                    joiner.join().unwrap(),
                    "join released by the count reaching zero"
                );
                assert_eq!(q.unfinished_tasks(), 1);
                q.get().unwrap();
                q.task_done().unwrap();
            }

            #[test]
            fn shutdown_wakes_every_blocked_caller() {
                const K: usize = 3;
                // Blocked putters on a full queue.
                let full = make(1);
                full.put(0).unwrap();
                // Blocked getters on an empty queue.
                let empty = make::<i32>(4);
                let start = Arc::new(Barrier::new(2 * K + 1));
                let mut putters = Vec::new();
                let mut getters = Vec::new();
                for i in 0..K {
                    let (q, b) = (full.clone(), Arc::clone(&start));
                    // Timed (far beyond the bound asserted below) so that a missing wakeup
                    // fails the test instead of hanging it.
                    putters.push(thread::spawn(move || {
                        b.wait();
                        q.put_timeout(100 + i as i32, PROMPTLY * 3)
                    }));
                    let (q, b) = (empty.clone(), Arc::clone(&start));
                    getters.push(thread::spawn(move || {
                        b.wait();
                        q.get_timeout(PROMPTLY * 3)
                    }));
                }
                start.wait();
                // Every getter (and, bounded, every putter) blocked before the shutdown:
                // each needs the shutdown's wakeup, or its join below never returns.
                wait_until("the getters sleep", || empty.waiters() == K);
                if $bounded {
                    wait_until("the putters sleep", || full.waiters() == K);
                }
                let t = Instant::now();
                if $bounded {
                    full.shutdown();
                }
                empty.shutdown();
                for (i, h) in getters.into_iter().enumerate() {
                    assert_eq!(
                        h.join().unwrap(),
                        Err(GetTimeoutError::ShutDown),
                        "getter {i}"
                    );
                }
                if $bounded {
                    for (i, h) in putters.into_iter().enumerate() {
                        assert_eq!(
                            h.join().unwrap(),
                            Err(PutTimeoutError::ShutDown(100 + i as i32))
                        );
                    }
                } else {
                    for h in putters {
                        assert_eq!(h.join().unwrap(), Ok(()));
                    }
                }
                assert!(
                    t.elapsed() < PROMPTLY,
                    "shutdown did not wake every blocked caller"
                );
            }

            #[test]
            fn shutdown_immediate_wakes_getters_and_joiners() {
                let q = make::<i32>(4);
                q.put(1).unwrap();
                let joiner = {
                    let q = q.clone();
                    thread::spawn(move || q.join_timeout(PROMPTLY * 3))
                };
                let drained = q.shutdown_immediate();
                assert_eq!(drained, vec![1]);
                assert!(
                    joiner.join().unwrap(),
                    "join released by the immediate drain"
                );
                let getter = {
                    let q = q.clone();
                    thread::spawn(move || q.get())
                };
                assert_eq!(getter.join().unwrap(), Err(GetError));
            }

            #[test]
            fn iterators_drain() {
                let q = make(8);
                for v in [4, 2, 6] {
                    q.put(v).unwrap();
                }
                assert_eq!(q.try_iter().collect::<Vec<_>>(), expected(&[4, 2, 6]));
                assert_eq!(q.try_iter().count(), 0);
                let q2 = q.clone();
                let producer = thread::spawn(move || {
                    for v in 0..20 {
                        q2.put(v).unwrap();
                    }
                    q2.shutdown();
                });
                let mut got: Vec<i32> = (&q).into_iter().collect();
                producer.join().unwrap();
                got.sort();
                assert_eq!(got, (0..20).collect::<Vec<_>>());
                assert_eq!(q.iter().next(), None);
            }

            // CPython `basic_queue_test`'s blocking put: a putter blocked on a full queue
            // is let through by a get that makes room.
            #[test]
            fn blocked_put_wakes_on_get() {
                if !$bounded {
                    return;
                }
                let q = make(2);
                q.put(1).unwrap();
                q.put(2).unwrap();
                let q2 = q.clone();
                let h = thread::spawn(move || q2.put_timeout(3, PROMPTLY * 3));
                wait_until("the putter sleeps", || q.waiters() == 1);
                let t = Instant::now();
                let first = q.get().unwrap();
                assert_eq!(h.join().unwrap(), Ok(()));
                assert!(t.elapsed() < PROMPTLY, "the get did not wake the putter");
                let mut rest = vec![first, q.get().unwrap(), q.get().unwrap()];
                rest.sort();
                assert_eq!(rest, [1, 2, 3]);
                assert_eq!(q.unfinished_tasks(), 3);
            }

            // Python's `timeout=0` is a non-blocking try, and a huge timeout must not
            // overflow `Instant` (it means "wait as long as it takes").
            #[test]
            fn zero_and_huge_timeouts() {
                let q = make(1);
                assert_eq!(q.put_timeout(1, Duration::ZERO), Ok(()));
                assert_eq!(q.get_timeout(Duration::ZERO), Ok(1));
                assert_eq!(q.get_timeout(Duration::ZERO), Err(GetTimeoutError::Timeout));
                assert_eq!(q.put_timeout(2, Duration::MAX), Ok(()));
                if $bounded {
                    assert_eq!(
                        q.put_timeout(3, Duration::ZERO),
                        Err(PutTimeoutError::Timeout(3))
                    );
                }
                assert_eq!(q.get_timeout(Duration::MAX), Ok(2));
                // A getter waiting "forever" through the timeout path is woken by a put.
                let q2 = q.clone();
                let h = thread::spawn(move || q2.get_timeout(Duration::MAX));
                wait_until("the getter sleeps", || q.waiters() == 1);
                q.put(4).unwrap();
                assert_eq!(h.join().unwrap(), Ok(4));
            }

            // CPython `queue_join_test`: workers call task_done per item; join returns
            // once all are processed, and a queue can be joined again.
            #[test]
            fn join_waits_for_workers_and_joins_twice() {
                let q = make::<i64>(16);
                let sum = Arc::new(std::sync::atomic::AtomicI64::new(0));
                for round in 0..2 {
                    sum.store(0, std::sync::atomic::Ordering::SeqCst);
                    let workers: Vec<_> = (0..2)
                        .map(|_| {
                            let (q, sum) = (q.clone(), Arc::clone(&sum));
                            thread::spawn(move || {
                                loop {
                                    let x = q.get().unwrap();
                                    if x >= 0 {
                                        sum.fetch_add(x, std::sync::atomic::Ordering::SeqCst);
                                    }
                                    q.task_done().unwrap();
                                    if x < 0 {
                                        return;
                                    }
                                }
                            })
                        })
                        .collect();
                    for i in 0..100 {
                        q.put(i).unwrap();
                    }
                    q.join();
                    assert_eq!(
                        sum.load(std::sync::atomic::Ordering::SeqCst),
                        (0..100).sum::<i64>(),
                        "round {round}: join returned before every task was done"
                    );
                    q.put(-1).unwrap();
                    q.put(-1).unwrap();
                    q.join();
                    for w in workers {
                        w.join().unwrap();
                    }
                }
                assert_eq!(q.task_done(), Err(TaskDoneError));
            }

            // CPython `test_shutdown_allowed_transitions` and the immediate half of
            // `_shutdown_all_methods_in_one_thread`.
            #[test]
            fn shutdown_then_immediate_then_shutdown_again() {
                let q = make(2);
                assert!(!q.is_shutdown());
                q.put(1).unwrap();
                q.try_put(2).unwrap();
                q.shutdown();
                assert!(q.is_shutdown());
                // Going on to immediate still removes what is left.
                let mut left = q.shutdown_immediate();
                left.sort();
                assert_eq!(left, [1, 2]);
                assert!(q.is_shutdown());
                q.shutdown();
                assert!(q.is_shutdown());
                assert_eq!(q.put(3), Err(PutError(3)));
                assert_eq!(q.try_put(4), Err(TryPutError::ShutDown(4)));
                assert_eq!(q.get(), Err(GetError));
                assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
                // Both removed items counted as done: nothing left to mark, nothing to wait for.
                assert_eq!(q.task_done(), Err(TaskDoneError));
                assert_eq!(q.unfinished_tasks(), 0);
                q.join();
                assert!(q.shutdown_immediate().is_empty());
            }

            // CPython `_shutdown_get(immediate=False)`: after a plain shutdown, getters
            // share out what is left and exactly the surplus ones fail.
            #[test]
            fn getters_after_shutdown_share_the_rest_and_the_surplus_fail() {
                let q = make(2);
                q.put(1).unwrap();
                q.put(2).unwrap();
                q.shutdown();
                let go = Arc::new(Barrier::new(3));
                let getters: Vec<_> = (0..3)
                    .map(|_| {
                        let (q, go) = (q.clone(), Arc::clone(&go));
                        thread::spawn(move || {
                            go.wait();
                            q.get()
                        })
                    })
                    .collect();
                let got: Vec<_> = getters.into_iter().map(|h| h.join().unwrap()).collect();
                let mut items: Vec<i32> = got.iter().filter_map(|r| r.ok()).collect();
                items.sort();
                assert_eq!(items, [1, 2]);
                assert_eq!(got.iter().filter(|r| **r == Err(GetError)).count(), 1);
            }

            // CPython `_shutdown_join(False)` / `_shutdown_put_join(False)`: a plain
            // shutdown does not release joiners; the remaining items being done does.
            #[test]
            fn plain_shutdown_keeps_joiners_until_the_rest_is_done() {
                let q = make(2);
                q.put(7).unwrap();
                let joiners: Vec<_> = (0..2)
                    .map(|_| {
                        let q = q.clone();
                        thread::spawn(move || q.join_timeout(PROMPTLY * 3))
                    })
                    .collect();
                wait_until("both joiners wait", || q.waiters() == 2);
                q.shutdown();
                assert_eq!(q.put(8), Err(PutError(8)));
                assert!(!q.join_timeout(Duration::from_millis(20)));
                assert_eq!(q.waiters(), 2, "a joiner left before the work was done");
                assert_eq!(q.get(), Ok(7));
                q.task_done().unwrap();
                for j in joiners {
                    assert!(j.join().unwrap());
                }
            }

            #[test]
            fn debug_does_not_need_item_debug() {
                #[derive(PartialEq, Eq, PartialOrd, Ord)]
                struct Opaque;
                let q = make(2);
                q.put(Opaque).unwrap();
                let s = format!("{q:?}");
                assert!(s.contains("qsize: 1"), "{s}");
            }

            #[test]
            fn dropping_the_queue_drops_items() {
                #[derive(PartialEq, Eq, PartialOrd, Ord)]
                struct Counted(usize, Arc<()>);
                let token = Arc::new(());
                let q = make(8);
                for i in 0..5 {
                    q.put(Counted(i, Arc::clone(&token))).unwrap();
                }
                drop(q.get().unwrap());
                assert_eq!(Arc::strong_count(&token), 5);
                drop(q);
                assert_eq!(Arc::strong_count(&token), 1);
            }
        }
    };
}

fn fifo(v: &[i32]) -> Vec<i32> {
    v.to_vec()
}

fn lifo(v: &[i32]) -> Vec<i32> {
    v.iter().rev().copied().collect()
}

fn smallest_first(v: &[i32]) -> Vec<i32> {
    let mut v = v.to_vec();
    v.sort();
    v
}

suite!(queue_bounded, Queue, bounded = true, order = fifo);
suite!(queue_unbounded, Queue, bounded = false, order = fifo);
suite!(lifo_bounded, LifoQueue, bounded = true, order = lifo);
suite!(lifo_unbounded, LifoQueue, bounded = false, order = lifo);
suite!(
    priority_bounded,
    PriorityQueue,
    bounded = true,
    order = smallest_first
);
suite!(
    priority_unbounded,
    PriorityQueue,
    bounded = false,
    order = smallest_first
);

#[test]
#[should_panic(expected = "capacity overflow")]
fn absurd_bounded_fifo_capacity_panics_clearly() {
    let _ = skein_queue::Queue::<u64>::new(1 << 60);
}

#[test]
fn huge_maxsize_for_locked_kinds_allocates_little() {
    let q = skein_queue::LifoQueue::<u8>::new(usize::MAX);
    q.put(1).unwrap();
    assert_eq!(q.maxsize(), usize::MAX);
    assert!(!q.is_full());
}
