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
