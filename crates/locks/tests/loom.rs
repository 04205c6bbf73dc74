//! loom model checks of the lock word, the wait queues and the parking slots: every
//! interleaving (up to 3 preemptions) of a few threads, looking for lost wake-ups (loom
//! reports a deadlock when every thread is parked), broken mutual exclusion, or a
//! notification that goes nowhere. Timed waits may time out at any point under loom.
//!
//! Run (about a minute on 2 cores; a separate target dir because `--cfg loom` rebuilds the
//! dependencies):
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p skein-locks --release --test loom
//! ```
#![cfg(loom)]

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;
use skein_locks::{Condition, Event, Lock, RLock};

/// loom with a preemption bound, so the three-thread models finish in seconds.
fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(f);
}

#[test]
fn lock_excludes_and_hands_over() {
    model(|| {
        let shared = Arc::new((Lock::new(), AtomicUsize::new(0)));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let s = shared.clone();
                thread::spawn(move || {
                    let _g = s.0.acquire();
                    let v = s.1.load(Ordering::Relaxed);
                    s.1.store(v + 1, Ordering::Relaxed);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(shared.1.load(Ordering::Relaxed), 2);
        assert!(!shared.0.is_locked());
    });
}

#[test]
fn release_from_another_thread_wakes_the_waiter() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire().leak();
        let l2 = lock.clone();
        let waiter = thread::spawn(move || drop(l2.acquire()));
        lock.release().unwrap();
        waiter.join().unwrap();
        assert!(!lock.is_locked());
    });
}

#[test]
fn a_timed_waiter_never_strands_a_plain_one() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let g = lock.acquire();
        let l1 = lock.clone();
        let timed = thread::spawn(move || {
            let _ = l1.acquire_timeout(std::time::Duration::from_secs(1));
        });
        let l2 = lock.clone();
        let plain = thread::spawn(move || drop(l2.acquire()));
        drop(g);
        timed.join().unwrap();
        plain.join().unwrap();
        assert!(!lock.is_locked());
    });
}

#[test]
fn rlock_reenters_and_excludes() {
    model(|| {
        let shared = Arc::new((RLock::new(), AtomicUsize::new(0)));
        let s = shared.clone();
        let t = thread::spawn(move || {
            let _a = s.0.acquire();
            let _b = s.0.acquire();
            let v = s.1.load(Ordering::Relaxed);
            s.1.store(v + 1, Ordering::Relaxed);
        });
        {
            let _a = shared.0.acquire();
            let v = shared.1.load(Ordering::Relaxed);
            shared.1.store(v + 1, Ordering::Relaxed);
        }
        t.join().unwrap();
        assert_eq!(shared.1.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn event_set_reaches_every_waiter() {
    model(|| {
        let e = Arc::new(Event::new());
        let e1 = e.clone();
        let plain = thread::spawn(move || e1.wait());
        let e2 = e.clone();
        let timed = thread::spawn(move || {
            let _ = e2.wait_timeout(std::time::Duration::from_secs(1));
        });
        e.set();
        plain.join().unwrap();
        timed.join().unwrap();
        assert!(e.is_set());
    });
}

#[test]
fn condition_notify_is_never_lost() {
    model(|| {
        let shared = Arc::new((Condition::with_lock(Lock::new()), AtomicBool::new(false)));
        let s = shared.clone();
        let waiter = thread::spawn(move || {
            let mut g = s.0.acquire();
            g.wait_for(|| s.1.load(Ordering::Relaxed));
        });
        {
            let g = shared.0.acquire();
            shared.1.store(true, Ordering::Relaxed);
            g.notify_one();
        }
        waiter.join().unwrap();
    });
}

#[test]
fn condition_over_an_rlock_with_a_timed_waiter() {
    model(|| {
        let shared = Arc::new((Condition::new(), AtomicUsize::new(0)));
        let s = shared.clone();
        let consumer = thread::spawn(move || {
            let mut g = s.0.acquire();
            g.wait_for(|| s.1.load(Ordering::Relaxed) > 0);
            s.1.fetch_sub(1, Ordering::Relaxed);
        });
        let s = shared.clone();
        let timed = thread::spawn(move || {
            let mut g = s.0.acquire();
            let _ = g.wait_timeout(std::time::Duration::from_secs(1));
        });
        {
            let g = shared.0.acquire();
            shared.1.fetch_add(1, Ordering::Relaxed);
            g.notify_all();
        }
        consumer.join().unwrap();
        timed.join().unwrap();
        assert_eq!(shared.1.load(Ordering::Relaxed), 0);
    });
}
