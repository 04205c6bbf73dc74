//! `Lock`: acquire/release, Python's release-from-any-thread, errors, timeouts, stress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{Lock, ReleaseError};

#[test]
fn smoke() {
    let lock = Lock::new();
    assert!(!lock.is_locked());
    let g = lock.acquire();
    assert!(lock.is_locked());
    assert!(std::ptr::eq(g.lock(), &lock));
    drop(g);
    assert!(!lock.is_locked());
    assert_eq!(Lock::named("x").name(), Some("x"));
    assert!(format!("{:?}", Lock::named("x")).contains("\"x\""));
}

#[test]
fn try_acquire_fails_while_held() {
    let lock = Lock::new();
    let g = lock.try_acquire().expect("free lock");
    assert!(lock.try_acquire().is_none());
    thread::scope(|s| {
        s.spawn(|| assert!(lock.try_acquire().is_none()));
    });
    drop(g);
    assert!(lock.try_acquire().is_some());
}

#[test]
fn release_unlocked_is_an_error() {
    let lock = Lock::new();
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    lock.acquire().leak();
    assert_eq!(lock.release(), Ok(()));
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    assert_eq!(
        ReleaseError::NotLocked.to_string(),
        "release of a lock that is not locked"
    );
}

#[test]
fn release_from_another_thread_wakes_a_waiter() {
    let lock = Arc::new(Lock::new());
    lock.acquire().leak();
    let (tx, rx) = mpsc::channel();
    let waiter = {
        let lock = lock.clone();
        thread::spawn(move || {
            let _g = lock.acquire();
            tx.send(()).unwrap();
        })
    };
    assert!(
        rx.recv_timeout(Duration::from_millis(50)).is_err(),
        "got a held lock"
    );
    let releaser = {
        let lock = lock.clone();
        thread::spawn(move || lock.release())
    };
    assert_eq!(releaser.join().unwrap(), Ok(()));
    rx.recv_timeout(Duration::from_secs(10))
        .expect("waiter never got the lock");
    waiter.join().unwrap();
    assert!(!lock.is_locked());
}

#[test]
fn guard_after_manual_release_does_not_release_someone_else() {
    let lock = Arc::new(Lock::new());
    let g = lock.acquire();
    lock.release().unwrap();
    let other = {
        let lock = lock.clone();
        thread::spawn(move || lock.acquire().leak())
    };
    other.join().unwrap();
    drop(g); // must not release the other thread's acquisition
    assert!(lock.is_locked());
    lock.release().unwrap();
}

#[test]
fn acquire_timeout_returns_in_bounded_time() {
    let lock = Lock::new();
    let _g = lock.acquire();
    thread::scope(|s| {
        s.spawn(|| {
            let t = Duration::from_millis(30);
            let start = Instant::now();
            assert!(lock.acquire_timeout(t).is_none());
            let took = start.elapsed();
            assert!(took >= t, "returned early: {took:?}");
            assert!(took < t + Duration::from_secs(5), "returned late: {took:?}");
            let start = Instant::now();
            assert!(lock.acquire_deadline(start + t).is_none());
            assert!(start.elapsed() >= t);
            assert!(lock.acquire_deadline(Instant::now()).is_none());
        });
    });
}

#[test]
fn acquire_timeout_succeeds_when_released_in_time() {
    let lock = Lock::new();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let g = lock.acquire();
        s.spawn(|| {
            tx.send(()).unwrap();
            assert!(lock.acquire_timeout(Duration::from_secs(30)).is_some());
        });
        rx.recv().unwrap();
        drop(g);
    });
    assert!(lock.acquire_timeout(Duration::MAX).is_some());
}

#[test]
fn stress_counter_loses_no_update() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 20_000;
    let lock = Lock::new();
    let n = AtomicU64::new(0);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (lock, n) = (&lock, &n);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    // Mix every acquire form; each must exclude the others.
                    let _g = match (t + i) % 3 {
                        0 => lock.acquire(),
                        1 => loop {
                            if let Some(g) = lock.try_acquire() {
                                break g;
                            }
                            thread::yield_now();
                        },
                        _ => lock
                            .acquire_timeout(Duration::from_secs(60))
                            .expect("timed out"),
                    };
                    n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(n.load(Ordering::Relaxed), THREADS * ROUNDS);
}

#[test]
fn stress_timeouts_and_waiters_leave_the_lock_usable() {
    let lock = Lock::new();
    let got = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..300 {
                    if let Some(_g) = lock.acquire_timeout(Duration::from_micros(50)) {
                        got.fetch_add(1, Ordering::Relaxed);
                        thread::yield_now();
                    }
                }
            });
        }
    });
    assert!(got.load(Ordering::Relaxed) > 0);
    assert!(!lock.is_locked());
    assert!(lock.try_acquire().is_some());
}

/// Bounded wait until a thread is parked on `lock` (forces "blocked, then released").
fn until_parked(lock: &Lock) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !lock.has_waiters() {
        assert!(Instant::now() < deadline, "the waiter never parked");
        thread::yield_now();
    }
}

#[test]
fn a_thread_taking_its_own_lock_again_waits_for_another_to_release_it() {
    // CPython LockTests.test_reacquire: a Lock is not reentrant; the second acquire by the
    // same thread blocks until some other thread releases the lock.
    let lock = Lock::named("reacquired");
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            lock.acquire().leak();
            tx.send(1).unwrap();
            lock.acquire().leak(); // blocks (the detector reports a self-deadlock meanwhile)
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv().unwrap(), 1);
        until_parked(&lock);
        assert!(rx.try_recv().is_err(), "the second acquire did not block");
        lock.release().unwrap();
        assert_eq!(rx.recv().unwrap(), 2);
    });
    assert!(lock.is_locked());
    lock.release().unwrap();
}

#[test]
fn the_lock_is_usable_after_a_timed_out_acquire() {
    // CPython LockTests.test_state_after_timeout (bpo-11618).
    let lock = Lock::new();
    let g = lock.acquire();
    assert!(lock.acquire_timeout(Duration::from_millis(10)).is_none());
    assert!(lock.acquire_timeout(Duration::ZERO).is_none());
    drop(g);
    assert!(!lock.is_locked());
    assert!(lock.try_acquire().is_some());
    assert!(
        lock.acquire_timeout(Duration::ZERO).is_some(),
        "timeout 0 on a free lock"
    );
}

#[test]
fn a_panic_inside_the_guard_scope_releases_the_lock() {
    // CPython BaseLockTests.test_with: an exception in `with lock:` leaves it unlocked.
    let lock = Lock::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _g = lock.acquire();
        panic!("inside the with block");
    }));
    assert!(r.is_err());
    assert!(!lock.is_locked());
    thread::scope(|s| {
        s.spawn(|| drop(lock.acquire()));
    });
}

#[test]
fn debug_says_whether_it_is_locked() {
    // CPython BaseLockTests.test_repr / test_locked_repr.
    let lock = Lock::new();
    assert!(format!("{lock:?}").contains("locked: false"));
    let _g = lock.acquire();
    assert!(format!("{lock:?}").contains("locked: true"));
}
