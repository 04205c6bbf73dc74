//! Parity with gevent's own test suite (`src/gevent/tests/test__queue.py`,
//! `test__event.py`, `test__semaphore.py`, `test__pool.py`, `test__timeout.py`,
//! `test__greenlet.py`): the behaviours those tests check, in skein's words.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use skein_coroutine::hub::{self, AsyncResult, Channel, Event, Lock, Pool, Queue, Semaphore};

// --- test__queue.py ---------------------------------------------------------------

/// test_max_size: a producer runs ahead of the consumer only up to the bound, and
/// each get lets exactly one more put through.
#[test]
fn bounded_queue_lets_one_put_through_per_get() {
    let q = Queue::bounded(2);
    let log = Rc::new(RefCell::new(Vec::new()));
    let producer = {
        let (q, log) = (q.clone(), log.clone());
        hub::spawn(move || {
            for item in ["a", "b", "c"] {
                q.put(item);
                log.borrow_mut().push(item);
            }
            "OK"
        })
    };
    hub::sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), ["a", "b"]);
    assert_eq!(q.get(), "a");
    hub::sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), ["a", "b", "c"]);
    assert_eq!(q.get(), "b");
    assert_eq!(q.get(), "c");
    assert_eq!(producer.try_join().unwrap().unwrap(), "OK");
}

/// test_put_nowait_simple / test_get_nowait_*: the non-blocking forms never park.
#[test]
fn nowait_forms_report_full_and_empty() {
    let q = Queue::bounded(1);
    assert_eq!(q.try_put(2), Ok(()));
    assert_eq!(q.try_put(3).unwrap_err().into_inner(), 3);
    assert_eq!(q.try_get(), Some(2));
    assert_eq!(q.try_get(), None);
}

/// test_waiters_that_cancel / test_two_bogus_waiters / test_two_waiters_one_dies: a getter
/// whose timeout fired leaves no trace; the next item goes to a live getter or stays.
#[test]
fn getters_that_time_out_do_not_take_the_next_item() {
    let q: Queue<&str> = Queue::new();
    let bogus = |q: &Queue<&'static str>| {
        let q = q.clone();
        hub::spawn(move || hub::with_timeout(Duration::ZERO, || q.get()))
    };
    let b1 = bogus(&q);
    let b2 = bogus(&q);
    let live = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    let b3 = bogus(&q);
    hub::sleep(Duration::from_millis(20));
    q.put("hi");
    q.put("sent");
    assert!(b1.join().unwrap().is_err());
    assert!(b2.join().unwrap().is_err());
    assert!(b3.join().unwrap().is_err());
    assert_eq!(live.join().unwrap(), "hi");
    assert_eq!(q.get(), "sent");
}

/// test_multiple_waiters: each put wakes exactly one getter, in arrival order.
#[test]
fn each_put_serves_one_waiting_getter_in_order() {
    let q: Queue<u32> = Queue::new();
    let got = Rc::new(RefCell::new(Vec::new()));
    let getters: Vec<_> = (0..4)
        .map(|i| {
            let (q, got) = (q.clone(), got.clone());
            hub::spawn(move || {
                let item = q.get();
                got.borrow_mut().push((i, item));
            })
        })
        .collect();
    hub::sleep(Duration::ZERO);
    q.put(10);
    hub::sleep(Duration::ZERO);
    assert_eq!(*got.borrow(), [(0, 10)]);
    q.put(11);
    q.put(12);
    q.put(13);
    hub::joinall(&getters);
    assert_eq!(*got.borrow(), [(0, 10), (1, 11), (2, 12), (3, 13)]);
}

/// test_send_first / test_senders_that_die: a put from a task that then ends is kept.
#[test]
fn items_outlive_the_task_that_put_them() {
    let q = Queue::new();
    let sender = {
        let q = q.clone();
        hub::spawn(move || q.put("sent"))
    };
    assert_eq!(q.get(), "sent");
    sender.join().unwrap();
}

// --- test__semaphore.py -----------------------------------------------------------

/// test_acquire_returns_false_after_timeout (gevent issue 39): a timed-out acquire
/// returns `None` and leaves the count as it was (it used to add a permit).
#[test]
fn semaphore_acquire_times_out_with_none_and_no_phantom_permit() {
    let sem = Semaphore::new(0);
    assert!(sem.acquire_timeout(Duration::from_millis(10)).is_none());
    assert_eq!(sem.available(), 0);
    assert!(sem.acquire_timeout(Duration::ZERO).is_none());
    assert_eq!(sem.available(), 0);
    assert!(sem.try_acquire().is_none());
    let one = Semaphore::new(1);
    assert!(one.acquire_timeout(Duration::ZERO).is_some());
    assert_eq!(one.available(), 1);
}

/// Python's `lock.acquire(timeout=t)` returning False leaves the lock held by its owner.
#[test]
fn a_timed_out_lock_acquire_leaves_the_lock_held() {
    let lock = Lock::new();
    let held = lock.acquire();
    assert!(lock.acquire_timeout(Duration::ZERO).is_none());
    assert!(lock.locked());
    assert!(lock.try_acquire().is_none());
    let other = {
        let lock = lock.clone();
        hub::spawn(move || lock.acquire_timeout(Duration::from_millis(5)).is_some())
    };
    assert!(!other.join().unwrap());
    assert!(lock.locked(), "the holder still holds it");
    drop(held);
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}

/// test_fair_or_hangs (gevent issue 1487): a task that releases and at once acquires
/// again goes behind the tasks already waiting.
#[test]
fn semaphore_is_fair_to_waiters_against_a_releasing_reacquirer() {
    let sem = Semaphore::new(1);
    let order = Rc::new(RefCell::new(Vec::new()));
    let spinner = {
        let (sem, order) = (sem.clone(), order.clone());
        hub::spawn(move || {
            for _ in 0..3 {
                let _p = sem.acquire();
                order.borrow_mut().push("spin");
                hub::sleep(Duration::ZERO);
            }
        })
    };
    let other = {
        let (sem, order) = (sem.clone(), order.clone());
        hub::spawn(move || {
            let _p = sem.acquire();
            order.borrow_mut().push("other");
        })
    };
    spinner.join().unwrap();
    other.join().unwrap();
    assert_eq!(*order.borrow(), ["spin", "other", "spin", "spin"]);
}

// --- test__event.py ---------------------------------------------------------------

/// TestEvent_SetThenClear (1, 100, 1000 waiters): a set followed at once by a clear
/// still wakes every waiter, and each sees `true`.
#[test]
fn set_then_clear_wakes_every_waiter() {
    for n in [1, 100, 1000] {
        let ev = Event::new();
        let waiters: Vec<_> = (0..n)
            .map(|_| {
                let ev = ev.clone();
                hub::spawn(move || ev.wait())
            })
            .collect();
        hub::sleep(Duration::ZERO);
        ev.set();
        ev.clear();
        for w in waiters {
            assert!(w.join().unwrap());
        }
    }
}

/// test_set_during_wait (gevent issue 771): after a set, a clear and a timed wait
/// time out — the waiter is not woken by the earlier set.
#[test]
fn a_cleared_event_makes_a_new_wait_time_out() {
    let ev = Event::new();
    let waiter = {
        let ev = ev.clone();
        hub::spawn(move || {
            let setter = {
                let ev = ev.clone();
                hub::spawn(move || ev.set())
            };
            assert!(ev.wait());
            setter.join().unwrap();
            ev.clear();
            let again = ev.wait_timeout(Duration::from_millis(10));
            (again, ev.is_set())
        })
    };
    assert_eq!(waiter.join().unwrap(), (false, false));
}

/// test_gevent_wait_twice_when_already_set.
#[test]
fn waiting_twice_on_a_set_event_returns_at_once() {
    let ev = Event::new();
    ev.set();
    assert!(ev.wait());
    assert!(ev.wait());
    assert!(ev.wait_timeout(Duration::ZERO));
}

// --- kill and cleanup (test__greenlet.py TestKill) ------------------------------------

/// gevent raises GreenletExit once; cleanup code (`finally:`) may then block on the hub
/// again: take a lock, put on a full queue, sleep, join.
#[test]
fn cleanup_of_a_killed_task_can_block_on_the_hub() {
    struct Cleanup {
        lock: Lock,
        q: Queue<u32>,
        log: Rc<RefCell<Vec<&'static str>>>,
    }
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let held = self.lock.acquire();
            self.log.borrow_mut().push("locked");
            hub::sleep(Duration::from_millis(1));
            self.q.put(99);
            self.log.borrow_mut().push("put");
            drop(held);
        }
    }
    let lock = Lock::new();
    let q = Queue::bounded(1);
    q.put(1);
    let log = Rc::new(RefCell::new(Vec::new()));
    let started = Event::new();
    let victim = {
        let c = Cleanup {
            lock: lock.clone(),
            q: q.clone(),
            log: log.clone(),
        };
        let started = started.clone();
        hub::spawn(move || {
            let _c = c;
            started.set();
            hub::sleep(Duration::from_secs(60));
        })
    };
    started.wait();
    let held = lock.acquire();
    victim.kill_nowait();
    hub::sleep(Duration::ZERO);
    // The victim unwinds and waits for the lock held here.
    assert!(log.borrow().is_empty());
    assert!(lock.locked());
    drop(held);
    // It takes the lock, sleeps, then waits for room in the full queue.
    hub::sleep(Duration::from_millis(5));
    assert_eq!(*log.borrow(), ["locked"]);
    assert_eq!(q.get(), 1);
    assert!(victim.join().unwrap_err().is_killed());
    assert_eq!(*log.borrow(), ["locked", "put"]);
    assert_eq!(q.get(), 99);
    assert!(!lock.locked());
}

// --- test__pool.py ----------------------------------------------------------------

/// TestSpawn: spawn into a full pool waits until a slot frees.
#[test]
fn spawn_into_a_full_pool_waits_for_a_slot() {
    let pool = Pool::new(1);
    let gate = Event::new();
    let first = {
        let gate = gate.clone();
        pool.spawn(move || gate.wait())
    };
    assert!(pool.is_full());
    let opener = {
        let gate = gate.clone();
        hub::spawn(move || gate.set())
    };
    let second = pool.spawn(|| 2);
    assert!(first.is_finished());
    assert_eq!(second.join().unwrap(), 2);
    opener.join().unwrap();
    pool.join();
    assert_eq!(pool.free_count(), 1);
}

/// TestJoinEmpty: joining an empty pool returns at once.
#[test]
fn joining_an_empty_pool_returns_at_once() {
    let pool = Pool::new(3);
    pool.join();
    assert!(pool.join_timeout(Duration::ZERO));
    assert_eq!(pool.map(Vec::<u32>::new(), |x| x).len(), 0);
}

// --- test__timeout.py ---------------------------------------------------------------

/// test_cancel / test_context_manager: a scope that finished in time never fires later.
#[test]
fn a_finished_timeout_scope_never_fires_later() {
    let r = hub::with_timeout(Duration::from_millis(5), || 1);
    assert_eq!(r, Ok(1));
    hub::sleep(Duration::from_millis(20));
    let still = Rc::new(Cell::new(false));
    let s = still.clone();
    hub::spawn(move || s.set(true)).join().unwrap();
    assert!(still.get());
}

/// A second kill while the task's cleanup waits does nothing, and an outer `Timeout`
/// that runs out during that cleanup is dropped (it cannot unwind out of a destructor):
/// the cleanup finishes and the task ends killed.
#[test]
fn a_second_kill_or_a_timeout_during_cleanup_lets_the_cleanup_finish() {
    struct WaitForGate(Event, Rc<Cell<bool>>);
    impl Drop for WaitForGate {
        fn drop(&mut self) {
            assert!(self.0.wait());
            self.1.set(true);
        }
    }
    let gate = Event::new();
    let done = Rc::new(Cell::new(false));
    let started = Event::new();
    let victim = {
        let (gate, done, started) = (gate.clone(), done.clone(), started.clone());
        hub::spawn(move || {
            hub::with_timeout(Duration::from_millis(5), move || {
                let _cleanup = WaitForGate(gate, done);
                started.set();
                hub::sleep(Duration::from_secs(60));
            })
        })
    };
    started.wait();
    victim.kill_nowait();
    hub::sleep(Duration::ZERO);
    victim.kill_nowait();
    // Past the victim's 5 ms limit, its cleanup still waits for the gate.
    hub::sleep(Duration::from_millis(20));
    assert!(!victim.is_finished());
    assert!(!done.get());
    gate.set();
    victim.kill();
    assert!(done.get());
    assert!(victim.join().unwrap_err().is_killed());
}

/// test_apply / test_apply_raises: `apply` runs the function on the pool and gives its
/// value or its panic.
#[test]
fn pool_apply_returns_the_value_or_the_panic() {
    let pool = Pool::new(2);
    assert_eq!(pool.apply(|| ("foo", 1)).unwrap(), ("foo", 1));
    let err = pool.apply(|| -> u8 { panic!("expected") }).unwrap_err();
    assert_eq!(err.panic_message(), Some("expected"));
    assert_eq!(pool.free_count(), 2);
}

/// test_reentrant: `apply` from a task of a full pool runs in place instead of waiting
/// for a slot it holds itself.
#[test]
fn pool_apply_from_inside_a_full_pool_does_not_deadlock() {
    let pool = Pool::new(1);
    let inner = pool.clone();
    let n = pool.apply(move || inner.apply(|| 5 + 1).unwrap()).unwrap();
    assert_eq!(n, 6);
    let inner = pool.clone();
    let err = pool
        .apply(move || inner.apply(|| -> u8 { panic!("inner") }).unwrap_err())
        .unwrap();
    assert_eq!(err.panic_message(), Some("inner"));
    assert_eq!(pool.free_count(), 1);
    let ev = Event::new();
    let set = ev.clone();
    drop(pool.spawn(move || set.set()));
    assert!(ev.wait());
}

/// test_add_method_timeout / test_start_method_timeout: a spawn that finds no free slot
/// in time hands the closure back (gevent's PoolFull).
#[test]
fn pool_spawn_timeout_hands_the_closure_back_when_full() {
    let pool = Pool::new(1);
    let gate = Event::new();
    let first = {
        let gate = gate.clone();
        pool.spawn(move || gate.wait())
    };
    let back = pool
        .spawn_timeout(Duration::from_millis(10), || 7)
        .unwrap_err();
    assert_eq!(back(), 7);
    assert_eq!(pool.len(), 1);
    assert!(matches!(pool.try_spawn(|| 8), Err(f) if f() == 8));
    gate.set();
    assert!(first.join().unwrap());
    let Ok(second) = pool.spawn_timeout(Duration::ZERO, || 9) else {
        panic!("a slot is free");
    };
    assert_eq!(second.join().unwrap(), 9);
}

/// gevent's Group: an unbounded pool still joins all its tasks.
#[test]
fn an_unbounded_pool_is_a_group() {
    let group = Pool::unbounded();
    let gate = Event::new();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let gate = gate.clone();
            group.spawn(move || {
                gate.wait();
                i
            })
        })
        .collect();
    assert_eq!(group.len(), 100);
    assert!(!group.is_full());
    assert!(!group.join_timeout(Duration::ZERO));
    gate.set();
    group.join();
    assert!(group.is_empty());
    assert_eq!(
        tasks.into_iter().map(|t| t.join().unwrap()).sum::<i32>(),
        4950
    );
}

/// Gates for items that finish in an order the test chooses.
fn gates(n: usize) -> Vec<Event> {
    (0..n).map(|_| Event::new()).collect()
}

/// test_imap / test_imap_unordered: `imap` keeps the items' order, `imap_unordered`
/// follows the order the tasks finish in; at most `size` run at once.
#[test]
fn imap_keeps_order_and_imap_unordered_follows_completion() {
    for ordered in [true, false] {
        let pool = Pool::new(3);
        let gs = gates(3);
        let running = Rc::new(Cell::new(0));
        let most = Rc::new(Cell::new(0));
        let work = {
            let (gs, running, most) = (gs.clone(), running.clone(), most.clone());
            move |i: usize| {
                running.set(running.get() + 1);
                most.set(most.get().max(running.get()));
                gs[i].wait();
                running.set(running.get() - 1);
                i * 10
            }
        };
        let mut results = if ordered {
            pool.imap(0..3, work)
        } else {
            pool.imap_unordered(0..3, work)
        };
        // Finish the items last to first.
        let opener = {
            let gs = gs.clone();
            hub::spawn(move || {
                for g in gs.iter().rev() {
                    g.set();
                    hub::sleep(Duration::ZERO);
                }
            })
        };
        let got: Vec<usize> = results.by_ref().map(Result::unwrap).collect();
        opener.join().unwrap();
        if ordered {
            assert_eq!(got, [0, 10, 20]);
        } else {
            assert_eq!(got, [20, 10, 0]);
        }
        assert!(most.get() <= 3);
        assert!(results.next().is_none());
    }
}

/// imap over a bounded pool never runs more than its size at once, and empty inputs
/// give empty results (test_empty_imap, test_empty_imap_unordered).
#[test]
fn imap_is_bounded_by_the_pool_and_empty_is_empty() {
    let pool = Pool::new(2);
    let running = Rc::new(Cell::new(0));
    let most = Rc::new(Cell::new(0));
    let (r, m) = (running.clone(), most.clone());
    let got: Vec<u32> = pool
        .imap(0..20u32, move |i| {
            r.set(r.get() + 1);
            m.set(m.get().max(r.get()));
            hub::sleep(Duration::ZERO);
            r.set(r.get() - 1);
            i
        })
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    assert_eq!(most.get(), 2);
    assert_eq!(pool.imap(Vec::<u32>::new(), |x| x).count(), 0);
    assert_eq!(pool.imap_unordered(Vec::<u32>::new(), |x| x).count(), 0);
}

/// TestErrorInHandler: a panicking item is that item's `Err`; the others go on.
#[test]
fn imap_gives_a_panicking_item_as_its_err_and_goes_on() {
    let pool = Pool::new(1);
    let divide = |x: u32| 100 / x;
    let mut it = pool.imap([1u32, 0, 2], divide);
    assert_eq!(it.next().unwrap().unwrap(), 100);
    assert!(it.next().unwrap().unwrap_err().is_panic());
    assert_eq!(it.next().unwrap().unwrap(), 50);
    assert!(it.next().is_none());
    let mut it = pool.imap_unordered([1u32, 0, 2], divide);
    assert_eq!(it.next().unwrap().unwrap(), 100);
    assert!(it.next().unwrap().unwrap_err().is_panic());
    assert_eq!(it.next().unwrap().unwrap(), 50);
    assert!(it.next().is_none());
    assert_eq!(pool.free_count(), 1);
}

/// TestErrorInIterator: a panic of the items' iterator comes out of `next` after the
/// results of the items before it.
#[test]
fn a_panic_of_the_items_iterator_reaches_the_consumer() {
    let pool = Pool::new(3);
    let items = (1..=3u32).map(|i| if i == 3 { panic!("expected") } else { i });
    let mut it = pool.imap_unordered(items, |x| x);
    let mut got = vec![it.next().unwrap().unwrap(), it.next().unwrap().unwrap()];
    got.sort_unstable();
    assert_eq!(got, [1, 2]);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| it.next())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"expected"));
}

/// Dropping the iterator early stops the feeding of further items.
#[test]
fn dropping_an_imap_stops_feeding() {
    let pool = Pool::new(1);
    let started = Rc::new(Cell::new(0));
    let s = started.clone();
    let mut it = pool.imap(0..1000u32, move |i| {
        s.set(s.get() + 1);
        i
    });
    assert_eq!(it.next().unwrap().unwrap(), 0);
    drop(it);
    pool.join();
    hub::sleep(Duration::from_millis(1));
    assert!(hub::wait());
    assert!(started.get() < 10, "{} items ran", started.get());
}

// --- test__queue.py: peek and JoinableQueue --------------------------------------------

/// test_peek_empty: peeking an empty queue with nothing to fill it is gevent's
/// LoopExit in the main context, and a timeout in a task.
#[test]
fn peek_of_an_empty_queue_times_out_or_reports_the_deadlock() {
    let q: Queue<u8> = Queue::new();
    let peeker = {
        let q = q.clone();
        hub::spawn(move || q.peek_timeout(Duration::from_millis(5)))
    };
    assert_eq!(peeker.join().unwrap(), None);
    assert_eq!(q.try_peek(), None);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| q.peek())).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("LoopExit"), "{msg}");
}

/// test_peek_multi_greenlet: a parked peeker sees the item a later put brings, and the
/// item stays for the getter; a peeker does not take a getter's wakeup.
#[test]
fn a_parked_peeker_sees_the_item_and_leaves_it() {
    let q = Queue::new();
    let peeker = {
        let q = q.clone();
        hub::spawn(move || q.peek())
    };
    let getter = {
        let q = q.clone();
        hub::spawn(move || q.get())
    };
    hub::sleep(Duration::ZERO);
    q.put(1);
    assert_eq!(peeker.join().unwrap(), 1);
    assert_eq!(getter.join().unwrap(), 1);
    assert!(q.is_empty());
    q.put(2);
    assert_eq!(q.peek(), 2);
    assert_eq!(q.len(), 1);
}

/// TestQueue.test_task_done (JoinableQueue): `join` waits until every item put has been
/// marked done; marking more than were put is a typed error.
#[test]
fn queue_join_waits_for_every_task_done() {
    let q: Queue<u32> = Queue::new();
    assert_eq!(q.task_done(), Err(skein_coroutine::hub::TaskDoneError));
    q.join();
    let sum = Rc::new(Cell::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (q, sum) = (q.clone(), sum.clone());
            hub::spawn(move || {
                loop {
                    let n = q.get();
                    hub::sleep(Duration::ZERO);
                    sum.set(sum.get() + n);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    for n in 1..=100 {
        q.put(n);
    }
    assert_eq!(q.unfinished_tasks(), 100);
    q.join();
    assert_eq!(sum.get(), 5050);
    assert_eq!(q.unfinished_tasks(), 0);
    q.put(7);
    assert!(q.join_timeout(Duration::from_secs(10)));
    assert_eq!(sum.get(), 5057);
    hub::killall(&workers);
}

// --- test__greenlet.py TestKill, TestKillAfterStart(Later), TestKillWhileRunning -------

/// Every way to kill (blocking, non-blocking then a loop turn, killall) of a task that
/// is spawned (gevent's started), scheduled later, or parked mid-run: its body never
/// gets past the kill, `join` says Killed, and a second kill does no harm.
#[test]
fn every_kill_of_every_kind_of_task() {
    #[derive(Clone, Copy, Debug)]
    enum Start {
        Spawned,
        Later,
        Parked,
    }
    #[derive(Clone, Copy, Debug)]
    enum How {
        Block,
        NoBlock,
        Killall,
    }
    for start in [Start::Spawned, Start::Later, Start::Parked] {
        for how in [How::Block, How::NoBlock, How::Killall] {
            let ran = Rc::new(Cell::new(false));
            let r = ran.clone();
            let body = move || {
                if matches!(start, Start::Parked) {
                    hub::sleep(Duration::from_secs(10));
                }
                r.set(true);
            };
            let task = match start {
                Start::Later => hub::spawn_later(Duration::from_millis(50), body),
                _ => hub::spawn(body),
            };
            if matches!(start, Start::Parked) {
                hub::sleep(Duration::ZERO);
            }
            let kill = |task: &hub::JoinHandle<()>| match how {
                How::Block => task.kill(),
                How::NoBlock => {
                    task.kill_nowait();
                    hub::sleep(Duration::from_millis(1));
                }
                How::Killall => hub::killall(std::slice::from_ref(task)),
            };
            kill(&task);
            assert!(task.is_finished(), "{start:?} {how:?}");
            kill(&task);
            hub::sleep(Duration::from_millis(1));
            assert!(!ran.get(), "{start:?} {how:?}: the body ran past the kill");
            assert!(task.join().unwrap_err().is_killed(), "{start:?} {how:?}");
        }
    }
    assert_eq!(hub::live_tasks(), 0);
}

/// test_with_timeout / test_context_manager: in the main context, a wait nothing else
/// could end (gevent would raise LoopExit) is ended by the limit instead, and
/// `timeout_value=X` is `unwrap_or(X)`.
#[test]
fn a_timeout_ends_a_main_context_wait_on_nothing() {
    let ev = Event::new();
    let r = hub::with_timeout(Duration::from_millis(5), || ev.wait());
    assert_eq!(r.unwrap_err().duration(), Duration::from_millis(5));
    let q: Queue<u8> = Queue::new();
    let r = hub::with_timeout(Duration::from_millis(5), || q.get()).unwrap_or(42);
    assert_eq!(r, 42);
    let r = hub::with_timeout(Duration::from_secs(10), || {
        hub::sleep(Duration::from_millis(1));
    });
    assert_eq!(r, Ok(()));
}

/// A time limit that the cleanup of a killed task sets on its own wait still works
/// (gevent: `finally: with Timeout(t): lock.acquire()` raises Timeout there).
#[test]
fn a_timeout_opened_inside_cleanup_still_fires() {
    struct BoundedCleanup(Lock, Rc<Cell<Option<bool>>>);
    impl Drop for BoundedCleanup {
        fn drop(&mut self) {
            let got = hub::with_timeout(Duration::from_millis(5), || {
                let _held = self.0.acquire();
            });
            self.1.set(Some(got.is_ok()));
        }
    }
    let lock = Lock::new();
    let outcome = Rc::new(Cell::new(None));
    let started = Event::new();
    let victim = {
        let (lock, outcome, started) = (lock.clone(), outcome.clone(), started.clone());
        hub::spawn(move || {
            let _cleanup = BoundedCleanup(lock, outcome);
            started.set();
            hub::sleep(Duration::from_secs(60));
        })
    };
    started.wait();
    let held = lock.acquire();
    victim.kill();
    assert!(victim.is_finished());
    assert_eq!(
        outcome.get(),
        Some(false),
        "the cleanup's own limit ran out"
    );
    drop(held);
    assert!(victim.join().unwrap_err().is_killed());
}

// --- test__event.py TestAsyncResult ---------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct MyError(&'static str);

/// test_set_exc: every waiter gets the error.
#[test]
fn async_result_error_reaches_every_waiter() {
    let r: AsyncResult<u32, MyError> = AsyncResult::new();
    assert!(!r.is_ready());
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let r = r.clone();
            hub::spawn(move || r.get())
        })
        .collect();
    hub::sleep(Duration::ZERO);
    r.set_error(MyError("boom"));
    for w in waiters {
        assert_eq!(w.join().unwrap(), Err(MyError("boom")));
    }
    assert!(r.is_ready());
    assert!(!r.is_successful());
}

/// test_set / test_set_with_timeout / test_nonblocking_get: a value set later reaches
/// a waiter; an unset result times out or is `None` at once.
#[test]
fn async_result_value_timeout_and_nowait() {
    let r: AsyncResult<&str, MyError> = AsyncResult::new();
    assert_eq!(r.try_get(), None);
    assert_eq!(r.get_timeout(Duration::from_millis(5)), None);
    assert!(hub::with_timeout(Duration::ZERO, || r.get()).is_err());
    let setter = {
        let r = r.clone();
        hub::spawn_later(Duration::from_millis(1), move || r.set("hello event1"))
    };
    assert_eq!(r.get(), Ok("hello event1"));
    assert_eq!(r.get_timeout(Duration::ZERO), Some(Ok("hello event1")));
    assert!(r.is_successful());
    setter.join().unwrap();
    r.set("again");
    assert_eq!(r.get(), Ok("again"));
    r.wait();
    assert!(r.wait_timeout(Duration::ZERO));
}

/// test_terminate: `pool.kill()` ends every task of the pool — running, parked, not yet
/// started, or spawned while it kills — and the pool is empty and usable again.
#[test]
fn pool_kill_ends_every_task_of_the_pool() {
    let pool = Pool::new(2);
    let ran = Rc::new(Cell::new(0));
    let gate = Event::new();
    let mut handles = Vec::new();
    for _ in 0..2 {
        let (ran, gate) = (ran.clone(), gate.clone());
        handles.push(pool.spawn(move || {
            ran.set(ran.get() + 1);
            gate.wait();
        }));
    }
    hub::sleep(Duration::ZERO);
    assert_eq!(ran.get(), 2);
    // A feeder waits for a slot to spawn more.
    let feeder = {
        let (pool, ran) = (pool.clone(), ran.clone());
        hub::spawn(move || {
            let late = pool.spawn(move || ran.set(ran.get() + 100));
            late.join()
        })
    };
    hub::sleep(Duration::ZERO);
    pool.kill();
    assert!(pool.is_empty());
    for h in handles {
        assert!(h.join().unwrap_err().is_killed());
    }
    // The feeder got a slot freed by the kill; the task it spawned then was killed too.
    assert!(feeder.join().unwrap().unwrap_err().is_killed());
    assert_eq!(ran.get(), 2);
    assert_eq!(pool.apply(|| 1).unwrap(), 1);
    // From inside: the others die, then the caller.
    let inner = pool.clone();
    let other = {
        let gate = gate.clone();
        pool.spawn(move || gate.wait())
    };
    let killer = pool.spawn(move || {
        inner.kill();
        unreachable!("kill from inside ends the caller");
    });
    assert!(killer.join().unwrap_err().is_killed());
    assert!(other.join().unwrap_err().is_killed());
    assert!(pool.is_empty());
}

// --- test__queue.py TestChannel ---------------------------------------------------------

/// test_zero_max_size: a put waits until a get takes the item.
#[test]
fn channel_put_waits_for_a_getter() {
    let ch = Channel::new();
    let sent = Rc::new(Cell::new(false));
    let sender = {
        let (ch, sent) = (ch.clone(), sent.clone());
        hub::spawn(move || {
            ch.put("hi");
            sent.set(true);
        })
    };
    hub::sleep(Duration::from_millis(1));
    assert!(!sent.get(), "no getter yet");
    assert!(ch.has_putters());
    assert_eq!(ch.get(), "hi");
    sender.join().unwrap();
    assert!(sent.get());
}

/// test_send: a put to a waiting getter lets the getter run before the putter goes on.
#[test]
fn channel_send_order() {
    let ch = Channel::new();
    let events = Rc::new(RefCell::new(Vec::new()));
    let receiver = {
        let (ch, events) = (ch.clone(), events.clone());
        hub::spawn(move || {
            for _ in 0..2 {
                let got = ch.get();
                events.borrow_mut().push(got);
            }
        })
    };
    events.borrow_mut().push("sending");
    ch.put("hello");
    events.borrow_mut().push("sent hello");
    ch.put("world");
    events.borrow_mut().push("sent world");
    assert_eq!(
        *events.borrow(),
        ["sending", "hello", "sent hello", "world", "sent world"]
    );
    receiver.join().unwrap();
}

/// test_wait: a get waits for a putter; the putter goes on after the getter took it.
#[test]
fn channel_wait_order() {
    let ch = Channel::new();
    let events = Rc::new(RefCell::new(Vec::new()));
    let sender = {
        let (ch, events) = (ch.clone(), events.clone());
        hub::spawn(move || {
            events.borrow_mut().push("sending hello");
            ch.put("hello");
            events.borrow_mut().push("sending world");
            ch.put("world");
            events.borrow_mut().push("sent world");
        })
    };
    events.borrow_mut().push("waiting");
    let a = ch.get();
    events.borrow_mut().push(a);
    let b = ch.get();
    events.borrow_mut().push(b);
    assert_eq!(
        *events.borrow(),
        [
            "waiting",
            "sending hello",
            "hello",
            "sending world",
            "world"
        ]
    );
    hub::sleep(Duration::ZERO);
    assert_eq!(events.borrow().last(), Some(&"sent world"));
    sender.join().unwrap();
}

/// put_nowait / get_nowait on a channel succeed only against a waiting party; timed
/// forms hand the item back; a timed-out or killed party is skipped.
#[test]
fn channel_nowait_and_timeouts() {
    let ch: Channel<u32> = Channel::new();
    assert_eq!(ch.try_put(1).unwrap_err().into_inner(), 1);
    assert_eq!(ch.try_get(), None);
    assert_eq!(
        ch.put_timeout(2, Duration::from_millis(2))
            .unwrap_err()
            .into_inner(),
        2
    );
    assert_eq!(ch.get_timeout(Duration::from_millis(2)), None);
    let getter = {
        let ch = ch.clone();
        hub::spawn(move || ch.get())
    };
    let dead = {
        let ch = ch.clone();
        hub::spawn(move || ch.get())
    };
    hub::sleep(Duration::ZERO);
    assert!(ch.has_getters());
    assert_eq!(ch.try_put(3), Ok(()));
    dead.kill();
    assert_eq!(getter.join().unwrap(), 3);
    assert!(!ch.has_getters(), "the killed getter is not a party");
    let putter = {
        let ch = ch.clone();
        hub::spawn(move || ch.put(4))
    };
    hub::sleep(Duration::ZERO);
    assert_eq!(ch.try_get(), Some(4));
    putter.join().unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ch.get())).unwrap_err();
    assert!(err.downcast_ref::<String>().unwrap().contains("LoopExit"));
}
