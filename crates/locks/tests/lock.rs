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
