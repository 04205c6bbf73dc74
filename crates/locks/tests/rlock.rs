//! `RLock`: recursion depth, ownership, errors, timeouts, stress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{RLock, ReleaseError};

fn recurse(lock: &RLock, depth: usize, max: &mut usize) {
    let _g = lock.acquire();
    *max = (*max).max(lock.count());
    if depth > 0 {
        recurse(lock, depth - 1, max);
    }
}

#[test]
fn recursion_depth_is_counted_and_unwound() {
    let lock = RLock::named("r");
    let mut max = 0;
    recurse(&lock, 99, &mut max);
    assert_eq!(max, 100);
    assert!(!lock.is_locked());
    assert_eq!(lock.count(), 0);
    assert_eq!(lock.name(), Some("r"));
}

#[test]
fn other_threads_wait_until_every_level_is_released() {
    let lock = RLock::new();
    let g1 = lock.acquire();
    let g2 = lock.acquire();
    assert!(lock.is_owned());
    thread::scope(|s| {
        s.spawn(|| {
            assert!(!lock.is_owned());
            assert_eq!(lock.count(), 0);
            assert!(lock.try_acquire().is_none());
        });
    });
    drop(g2);
    thread::scope(|s| {
        s.spawn(|| assert!(lock.try_acquire().is_none()));
    });
    drop(g1);
    thread::scope(|s| {
        s.spawn(|| assert!(lock.try_acquire().is_some()));
    });
}

#[test]
fn release_errors() {
    let lock = RLock::new();
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    lock.acquire().leak();
    lock.acquire().leak();
    thread::scope(|s| {
        s.spawn(|| assert_eq!(lock.release(), Err(ReleaseError::NotOwner)));
    });
    assert_eq!(lock.count(), 2);
    lock.release().unwrap();
    lock.release().unwrap();
    assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    assert!(
        ReleaseError::NotOwner
            .to_string()
            .contains("another thread")
    );
}

#[test]
fn timeouts_are_bounded_and_reentry_never_waits() {
    let lock = RLock::new();
    let g = lock.acquire();
    assert!(
        lock.acquire_timeout(Duration::ZERO).is_some(),
        "owner re-enters at once"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            let t = Duration::from_millis(30);
            let start = Instant::now();
            assert!(lock.acquire_timeout(t).is_none());
            let took = start.elapsed();
            assert!(took >= t && took < t + Duration::from_secs(5), "{took:?}");
            tx.send(()).unwrap();
            let _g = lock.acquire_deadline(Instant::now() + Duration::from_secs(30));
            assert!(lock.is_owned());
        });
        rx.recv().unwrap();
        drop(g);
    });
    assert!(!lock.is_locked());
}

#[test]
fn stress_reentrant_counter() {
    let lock = RLock::new();
    let n = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    let _a = lock.acquire();
                    let _b = lock.try_acquire().expect("owner re-enters");
                    n.store(n.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(n.load(Ordering::Relaxed), 40_000);
    assert!(!lock.is_locked());
}

/// A guard whose level was undone by hand (`release`) has nothing left to undo: dropping it
/// while another thread holds the lock leaves that thread's levels alone.
#[test]
fn a_guard_released_by_hand_leaves_another_owner_alone() {
    let lock = RLock::new();
    let g = lock.acquire();
    lock.release().unwrap();
    assert!(!lock.is_locked());
    let (taken_tx, taken_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    thread::scope(|s| {
        let lock = &lock;
        s.spawn(move || {
            let _a = lock.acquire();
            let _b = lock.acquire();
            taken_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            assert!(lock.is_owned());
            assert_eq!(lock.count(), 2, "the stale guard took nothing away");
        });
        taken_rx.recv().unwrap();
        drop(g);
        go_tx.send(()).unwrap();
    });
    assert!(!lock.is_locked());
}

#[test]
fn is_owned_is_per_thread_and_follows_every_level() {
    // CPython RLockTests.test__is_owned and test_recursion_count.
    let lock = RLock::new();
    assert!(!lock.is_owned());
    let a = lock.acquire();
    assert!(lock.is_owned());
    let b = lock.acquire();
    assert_eq!(lock.count(), 2);
    thread::scope(|s| {
        s.spawn(|| {
            assert!(!lock.is_owned());
            assert_eq!(lock.count(), 0);
            assert!(lock.try_acquire().is_none());
        });
    });
    drop(b);
    assert!(lock.is_owned());
    assert_eq!(lock.count(), 1);
    drop(a);
    assert!(!lock.is_owned());
    assert!(!lock.is_locked());
}

#[test]
fn a_panic_inside_nested_guards_releases_every_level() {
    // CPython BaseLockTests.test_with for RLock.
    let lock = RLock::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _a = lock.acquire();
        let _b = lock.acquire();
        panic!("inside the with block");
    }));
    assert!(r.is_err());
    assert!(!lock.is_locked());
    thread::scope(|s| {
        s.spawn(|| drop(lock.acquire()));
    });
}

#[test]
fn debug_shows_the_recursion_count() {
    // CPython RLockTests.test_repr_count: the repr shows count=0, 1, 2.
    let lock = RLock::new();
    assert!(format!("{lock:?}").contains("count: 0"), "{lock:?}");
    let a = lock.acquire();
    assert!(format!("{lock:?}").contains("count: 1"), "{lock:?}");
    let b = lock.acquire();
    let shown = format!("{lock:?}");
    assert!(
        shown.contains("count: 2") && shown.contains("locked: true"),
        "{shown}"
    );
    drop((b, a));
    assert!(format!("{lock:?}").contains("count: 0"));
}
