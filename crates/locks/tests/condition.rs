//! `Condition` over `Lock`, `RLock` and `Arc<Lock>`: notify(n), notify_all, timeouts,
//! wait_for, producer/consumer stress.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{Condition, ConditionLock, Lock};

/// Polls (bounded) until `n` threads wait on `cond`.
fn until_waiting<L: ConditionLock>(cond: &Condition<L>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while cond.n_waiting() < n {
        assert!(Instant::now() < deadline, "waiters never arrived");
        thread::yield_now();
    }
}

fn notify_counts<L: ConditionLock + Sync>(cond: Condition<L>) {
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for i in 0..3 {
            let (cond, tx) = (&cond, tx.clone());
            s.spawn(move || {
                let mut g = cond.acquire();
                g.wait();
                tx.send(i).unwrap();
            });
        }
        until_waiting(&cond, 3);
        assert_eq!(cond.acquire().notify(1), 1);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("notify(1) woke nobody");
        // There are no spurious wakeups, so nobody else may pass.
        assert!(
            rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "notify(1) woke two"
        );
        assert_eq!(cond.n_waiting(), 2);
        assert_eq!(cond.acquire().notify_all(), 2);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    assert_eq!(cond.acquire().notify_all(), 0);
    assert!(!cond.acquire().notify_one());
}

#[test]
fn notify_one_wakes_one_and_notify_all_wakes_all_with_rlock() {
    notify_counts(Condition::new());
}

#[test]
fn notify_one_wakes_one_and_notify_all_wakes_all_with_lock() {
    notify_counts(Condition::with_lock(Lock::new()));
}

#[test]
fn notify_n_wakes_n_in_fifo_order() {
    let cond = Condition::with_lock(Lock::new());
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for i in 0..4 {
            let (cond, tx) = (&cond, tx.clone());
            until_waiting(cond, i);
            s.spawn(move || {
                let mut g = cond.acquire();
                g.wait();
                tx.send(i).unwrap();
            });
        }
        until_waiting(&cond, 4);
        assert_eq!(cond.acquire().notify(2), 2);
        let mut first = vec![rx.recv().unwrap(), rx.recv().unwrap()];
        first.sort();
        assert_eq!(first, vec![0, 1], "oldest waiters first");
        assert_eq!(cond.acquire().notify(5), 2);
    });
}

#[test]
fn wait_releases_every_rlock_level_and_restores_them() {
    let cond = Condition::new();
    let flag = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            let mut g = cond.acquire();
            let _g2 = cond.acquire();
            let _g3 = cond.acquire();
            assert_eq!(cond.lock().count(), 3);
            g.wait_for(|| flag.load(Ordering::Relaxed));
            assert_eq!(cond.lock().count(), 3);
            assert!(cond.lock().is_owned());
        });
        until_waiting(&cond, 1);
        let g = cond.acquire(); // possible only if the waiter released all three levels
        flag.store(true, Ordering::Relaxed);
        g.notify_all();
    });
    assert!(!cond.lock().is_locked());
}

#[test]
fn wait_timeout_is_bounded_and_holds_the_lock_again() {
    let cond = Condition::with_lock(Lock::new());
    let mut g = cond.acquire();
    let t = Duration::from_millis(30);
    let start = Instant::now();
    assert!(!g.wait_timeout(t));
    let took = start.elapsed();
    assert!(took >= t && took < t + Duration::from_secs(5), "{took:?}");
    assert!(cond.lock().is_locked());
    assert_eq!(cond.n_waiting(), 0, "a timed-out waiter leaves the queue");
    let start = Instant::now();
    assert!(!g.wait_for_timeout(|| false, t));
    assert!(start.elapsed() >= t);
    assert!(g.wait_for_timeout(|| true, Duration::ZERO));
    assert!(!g.wait_deadline(Instant::now()));
    drop(g);
    assert!(!cond.lock().is_locked());
    assert!(cond.try_acquire().is_some());
    assert!(cond.acquire_timeout(Duration::from_millis(1)).is_some());
}

#[test]
fn a_timed_out_waiter_does_not_swallow_a_notify() {
    let cond = Condition::with_lock(Lock::new());
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        {
            let mut g = cond.acquire();
            assert!(!g.wait_timeout(Duration::from_millis(1)));
        }
        s.spawn(|| {
            let mut g = cond.acquire();
            g.wait();
            tx.send(()).unwrap();
        });
        until_waiting(&cond, 1);
        assert_eq!(cond.acquire().notify(1), 1);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
}

#[test]
fn two_conditions_share_one_lock() {
    let lock = Arc::new(Lock::named("shared"));
    let not_empty = Condition::with_lock(lock.clone());
    let not_full = Condition::with_lock(lock.clone());
    let g = not_empty.acquire();
    assert!(lock.is_locked());
    assert!(not_full.try_acquire().is_none(), "same lock");
    drop(g);
    assert!(not_full.try_acquire().is_some());
}

#[test]
fn stress_producer_consumer() {
    const ITEMS: usize = 20_000;
    const CAP: usize = 8;
    let lock = Arc::new(Lock::new());
    let not_empty = Condition::with_lock(lock.clone());
    let not_full = Condition::with_lock(lock.clone());
    let queue = Mutex::new(VecDeque::new());
    let sum = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..ITEMS / 2 {
                    let mut g = not_empty.acquire();
                    g.wait_for(|| !queue.lock().unwrap().is_empty());
                    let v: usize = queue.lock().unwrap().pop_front().unwrap();
                    sum.fetch_add(v, Ordering::Relaxed);
                    drop(g);
                    not_full.acquire().notify_one();
                }
            });
        }
        for p in 0..2 {
            let (not_empty, not_full, queue) = (&not_empty, &not_full, &queue);
            s.spawn(move || {
                for i in 0..ITEMS / 2 {
                    let mut g = not_full.acquire();
                    g.wait_for(|| queue.lock().unwrap().len() < CAP);
                    queue.lock().unwrap().push_back(p * ITEMS / 2 + i);
                    drop(g);
                    not_empty.acquire().notify_one();
                }
            });
        }
    });
    assert_eq!(sum.load(Ordering::Relaxed), (0..ITEMS).sum::<usize>());
}

#[test]
fn acquiring_the_condition_takes_its_lock() {
    // CPython ConditionTests.test_acquire: the default lock is reentrant; a given lock is
    // the one taken.
    let cond = Condition::new();
    let a = cond.acquire();
    let b = cond.acquire();
    drop((b, a));
    let lock = Arc::new(Lock::new());
    let cond = Condition::with_lock(lock.clone());
    let g = cond.acquire();
    assert!(lock.try_acquire().is_none());
    drop(g);
    let held = lock.try_acquire().unwrap();
    assert!(cond.try_acquire().is_none());
    drop(held);
    assert!(cond.try_acquire().is_some());
}

#[test]
fn wait_for_sees_each_notified_state_and_returns_once_it_holds() {
    // CPython ConditionTests.test_waitfor / test_waitfor_timeout.
    let cond = Condition::with_lock(Lock::new());
    let state = AtomicUsize::new(0);
    let checks = AtomicUsize::new(0);
    thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut g = cond.acquire();
            g.wait_for(|| {
                checks.fetch_add(1, Ordering::SeqCst);
                state.load(Ordering::SeqCst) == 4
            });
            state.load(Ordering::SeqCst)
        });
        for _ in 0..4 {
            until_waiting(&cond, 1);
            let g = cond.acquire();
            state.fetch_add(1, Ordering::SeqCst);
            g.notify_one();
        }
        assert_eq!(waiter.join().unwrap(), 4);
    });
    assert_eq!(
        checks.load(Ordering::SeqCst),
        5,
        "checked first, then once per notify"
    );
    // Never true: false after the timeout, holding the lock again.
    let mut g = cond.acquire();
    let start = Instant::now();
    assert!(!g.wait_for_timeout(
        || state.load(Ordering::SeqCst) == 5,
        Duration::from_millis(20)
    ));
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(cond.lock().is_locked());
}

/// Bounded wait until `v` holds `n` entries.
fn until_len(v: &Mutex<Vec<usize>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.lock().unwrap().len() < n {
        assert!(
            Instant::now() < deadline,
            "only {:?}, wanted {n}",
            v.lock().unwrap()
        );
        thread::yield_now();
    }
}

/// CPython ConditionTests._check_notify: five threads wait twice; notify(3), notify(5)
/// and notify_all wake exactly the waiters they should, each seeing the phase set while
/// the notifier still held the lock.
fn notify_phases<L: ConditionLock + Sync>(cond: &Condition<L>) {
    let phase = AtomicUsize::new(0);
    let first = Mutex::new(Vec::new());
    let second = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..5 {
            s.spawn(|| {
                let mut g = cond.acquire();
                g.wait();
                first.lock().unwrap().push(phase.load(Ordering::SeqCst));
                drop(g);
                let mut g = cond.acquire();
                g.wait();
                second.lock().unwrap().push(phase.load(Ordering::SeqCst));
            });
        }
        until_waiting(cond, 5);
        {
            let g = cond.acquire();
            assert_eq!(g.notify(3), 3);
            phase.store(1, Ordering::SeqCst);
        }
        until_len(&first, 3);
        until_waiting(cond, 5); // 2 in their first wait, 3 in their second
        assert_eq!(*first.lock().unwrap(), [1, 1, 1]);
        assert!(second.lock().unwrap().is_empty());
        {
            let g = cond.acquire();
            assert_eq!(g.notify(5), 5);
            phase.store(2, Ordering::SeqCst);
        }
        until_len(&first, 5);
        until_len(&second, 3);
        until_waiting(cond, 2);
        assert_eq!(*first.lock().unwrap(), [1, 1, 1, 2, 2]);
        assert_eq!(*second.lock().unwrap(), [2, 2, 2]);
        {
            let g = cond.acquire();
            assert_eq!(g.notify_all(), 2);
            phase.store(3, Ordering::SeqCst);
        }
    });
    assert_eq!(*second.lock().unwrap(), [2, 2, 2, 3, 3]);
    assert_eq!(cond.n_waiting(), 0);
}

#[test]
fn notify_n_and_notify_all_across_two_waits_each_with_rlock() {
    let cond = Condition::new();
    notify_phases(&cond);
    notify_phases(&cond); // again: the internal state is still right
}

#[test]
fn notify_n_and_notify_all_across_two_waits_each_with_lock() {
    let cond = Condition::with_lock(Lock::new());
    notify_phases(&cond);
    notify_phases(&cond);
}
