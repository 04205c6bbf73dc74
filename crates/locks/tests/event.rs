//! `Event`: flag semantics, waking every waiter, timeouts, ping-pong stress.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::Event;

#[test]
fn set_clear_is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    assert!(e.is_set());
    e.wait(); // returns at once
    assert!(e.wait_timeout(Duration::ZERO));
    e.clear();
    assert!(!e.is_set());
    assert!(format!("{e:?}").contains("false"));
}

#[test]
fn wait_timeout_is_bounded_and_false() {
    let e = Event::new();
    let t = Duration::from_millis(30);
    let start = Instant::now();
    assert!(!e.wait_timeout(t));
    let took = start.elapsed();
    assert!(took >= t && took < t + Duration::from_secs(5), "{took:?}");
    assert!(!e.wait_deadline(Instant::now()));
}

#[test]
fn set_opens_the_gate_for_every_waiter() {
    let e = Event::new();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for i in 0..10 {
            let (e, tx) = (&e, tx.clone());
            s.spawn(move || {
                e.wait();
                tx.send(i).unwrap();
            });
        }
        // Nobody passes a closed gate.
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        e.set();
        let mut got: Vec<i32> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
    });
}

// "A set during a timed wait is seen" is a unit test in src/event.rs: it waits until the
// waiter is queued, which only the crate can see, instead of sleeping and hoping.

#[test]
fn stress_ping_pong() {
    let (ping, pong) = (Event::new(), Event::new());
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..5_000 {
                ping.wait();
                ping.clear();
                pong.set();
            }
        });
        for _ in 0..5_000 {
            ping.set();
            pong.wait();
            pong.clear();
        }
    });
    assert!(!ping.is_set() && !pong.is_set());
}

#[test]
fn a_set_then_clear_during_a_timed_wait_still_returns_true() {
    // CPython EventTests.test_set_and_clear (bpo-13502): a waiter that a `set` released
    // returns true even if the flag was cleared again before it looked. A waiter hammered
    // with set/clear pairs must never report a timeout long before its 60 s are up.
    const WAITS: usize = 200_000;
    let e = Event::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let falses = thread::scope(|s| {
        let waiter = s.spawn(|| {
            let mut falses = 0;
            for _ in 0..WAITS {
                if !e.wait_timeout(Duration::from_secs(60)) {
                    falses += 1;
                }
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            falses
        });
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            e.set();
            e.clear();
        }
        waiter.join().unwrap()
    });
    assert_eq!(
        falses, 0,
        "timed waits returned false although a set released them"
    );
}
