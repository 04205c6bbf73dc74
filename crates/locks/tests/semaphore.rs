//! `Semaphore` and `BoundedSemaphore`: limits, errors, timeouts, stress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{BoundedSemaphore, Semaphore, SemaphoreReleaseError};

#[test]
fn counts_down_and_up() {
    let sem = Semaphore::new(2);
    let a = sem.acquire();
    let b = sem.try_acquire().unwrap();
    assert_eq!(sem.value(), 0);
    assert!(sem.try_acquire().is_none());
    drop(a);
    drop(b);
    assert_eq!(sem.value(), 2);
    sem.release(5).unwrap(); // unbounded
    assert_eq!(sem.value(), 7);
    assert!(format!("{sem:?}").contains('7'));
}

#[test]
fn release_errors() {
    let sem = Semaphore::new(0);
    assert_eq!(sem.release(0), Err(SemaphoreReleaseError::ZeroCount));
    sem.release(usize::MAX).unwrap();
    assert_eq!(sem.release(1), Err(SemaphoreReleaseError::Overflow));

    let b = BoundedSemaphore::new(3);
    assert_eq!(b.bound(), 3);
    let err = b.release(1).unwrap_err();
    assert_eq!(
        err,
        SemaphoreReleaseError::TooManyReleases {
            bound: 3,
            value: 3,
            n: 1
        }
    );
    assert!(err.to_string().contains("released too many times"));
    b.acquire().leak();
    b.acquire().leak();
    assert!(b.release(3).is_err(), "1 + 3 > 3");
    assert_eq!(b.value(), 1, "a failed release changes nothing");
    b.release(2).unwrap();
    assert_eq!(b.value(), 3);
    assert_eq!(b.release(0), Err(SemaphoreReleaseError::ZeroCount));
}

#[test]
fn timeouts_are_bounded() {
    let sem = BoundedSemaphore::new(1);
    let _g = sem.acquire();
    let t = Duration::from_millis(30);
    let start = Instant::now();
    assert!(sem.acquire_timeout(t).is_none());
    let took = start.elapsed();
    assert!(took >= t && took < t + Duration::from_secs(5), "{took:?}");
    assert!(sem.acquire_deadline(Instant::now()).is_none());
}

#[test]
fn release_n_wakes_n_waiters() {
    let sem = Semaphore::new(0);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..3 {
            let tx = tx.clone();
            let sem = &sem;
            s.spawn(move || {
                sem.acquire().leak();
                tx.send(()).unwrap();
            });
        }
        sem.release(2).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        sem.release(1).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    });
    assert_eq!(sem.value(), 0);
}

#[test]
fn stress_never_admits_more_than_the_bound() {
    let sem = BoundedSemaphore::new(3);
    let inside = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..2_000 {
                    let _g = sem.acquire();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    thread::yield_now();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            });
        }
    });
    let peak = peak.load(Ordering::SeqCst);
    assert!((1..=3).contains(&peak), "peak {peak}");
    assert_eq!(sem.value(), 3);
}

#[test]
fn a_bounded_semaphore_of_zero_is_accepted_as_in_python() {
    // `threading.BoundedSemaphore(0)` is allowed: never acquirable, never releasable.
    let sem = BoundedSemaphore::new(0);
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.bound(), 0);
    assert!(sem.try_acquire().is_none());
    assert!(sem.acquire_timeout(Duration::from_millis(5)).is_none());
    assert!(matches!(
        sem.release(1),
        Err(SemaphoreReleaseError::TooManyReleases { .. })
    ));
}

#[test]
fn non_blocking_acquires_from_many_threads_get_exactly_the_free_permits() {
    // CPython BaseSemaphoreTests.test_try_acquire_contended: 4 permits, 1 held, 5 threads
    // trying twice each: exactly 3 succeed.
    let sem = Semaphore::new(4);
    let _held = sem.acquire();
    let got = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..5 {
            s.spawn(|| {
                for _ in 0..2 {
                    if let Some(g) = sem.try_acquire() {
                        g.leak();
                        got.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    assert_eq!(got.load(Ordering::SeqCst), 3);
    assert_eq!(sem.value(), 0);
}

#[test]
fn zero_timeouts_and_a_panic_inside_the_guard_scope() {
    // CPython BaseSemaphoreTests.test_acquire_timeout and test_with.
    let sem = BoundedSemaphore::new(2);
    let a = sem.acquire_timeout(Duration::ZERO).expect("a free permit");
    let b = sem.acquire_timeout(Duration::from_millis(5)).unwrap();
    assert!(sem.acquire_timeout(Duration::ZERO).is_none());
    drop(b);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _b = sem.acquire();
        assert!(sem.try_acquire().is_none());
        panic!("inside the with block");
    }));
    assert!(r.is_err());
    assert_eq!(sem.value(), 1, "the panic gave the permit back");
    drop(a);
    assert_eq!(sem.value(), 2);
}

#[test]
fn the_default_value_is_one() {
    // CPython BaseSemaphoreTests.test_default_value: Semaphore() has one permit.
    let sem = Semaphore::default();
    let g = sem.acquire();
    assert!(sem.try_acquire().is_none());
    drop(g);
    let bounded = BoundedSemaphore::default();
    assert_eq!(bounded.bound(), 1);
    assert_eq!(bounded.value(), 1);
}

#[test]
fn debug_shows_the_value_and_the_bound() {
    // CPython test_repr: Semaphore shows value=N, BoundedSemaphore value=N/bound.
    let sem = BoundedSemaphore::new(3);
    let _g = sem.acquire();
    let shown = format!("{sem:?}");
    assert!(
        shown.contains("value: 2") && shown.contains("bound: 3"),
        "{shown}"
    );
}

/// Bounded wait until `count` reaches `n`.
fn until_count(count: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while count.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < deadline, "stuck at {count:?}, wanted {n}");
        thread::yield_now();
    }
}

#[test]
fn releases_one_by_one_and_in_bulk_admit_exactly_that_many_waiters() {
    // CPython BaseSemaphoreTests.test_acquire_contended / test_multirelease: 7 permits,
    // one held; 10 threads take two each. 6 get in at first; 7 single releases admit 7
    // more; release(6) admits 6 more; then none is free until the last release.
    let sem = Semaphore::new(7);
    let _held = sem.acquire();
    let taken = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..10 {
            s.spawn(|| {
                for _ in 0..2 {
                    sem.acquire().leak();
                    taken.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        until_count(&taken, 6);
        for _ in 0..7 {
            sem.release(1).unwrap();
        }
        until_count(&taken, 13);
        sem.release(6).unwrap();
        until_count(&taken, 19);
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire().is_none());
        assert_eq!(taken.load(Ordering::SeqCst), 19, "no extra waiter got in");
        sem.release(1).unwrap();
    });
    assert_eq!(taken.load(Ordering::SeqCst), 20);
    assert_eq!(sem.value(), 0);
}

#[test]
fn permits_taken_on_some_threads_are_given_back_on_others_up_to_the_bound() {
    // CPython ThreadTests.test_BoundedSemaphore_limit.
    for limit in 1..10 {
        let sem = BoundedSemaphore::new(limit);
        thread::scope(|s| {
            for _ in 0..limit {
                s.spawn(|| sem.acquire().leak());
            }
        });
        assert_eq!(sem.value(), 0);
        thread::scope(|s| {
            for _ in 0..limit {
                s.spawn(|| sem.release(1).unwrap());
            }
        });
        assert_eq!(sem.value(), limit);
        assert!(matches!(
            sem.release(1),
            Err(SemaphoreReleaseError::TooManyReleases { .. })
        ));
    }
}
