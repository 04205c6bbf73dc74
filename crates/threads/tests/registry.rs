//! The registry tells the truth: `enumerate()` / `active_count()` while threads run, after
//! they end, after a panic, and for threads skein did not start.
//!
//! The tests of this file count threads exactly, so they run one at a time (a lock) and
//! this binary holds nothing else.

use std::sync::mpsc;
use std::sync::{Arc, Barrier};

use parking_lot::Mutex;
use skein_threads::{Builder, Thread, active_count, enumerate, main_thread};

static SERIAL: Mutex<()> = parking_lot::const_mutex(());

fn names() -> Vec<String> {
    enumerate().iter().map(Thread::name).collect()
}

fn count_named(prefix: &str) -> usize {
    names().iter().filter(|n| n.starts_with(prefix)).count()
}

#[test]
fn counts_follow_threads_while_running_after_ending_and_after_panic() {
    let _serial = SERIAL.lock();
    skein_threads::set_excepthook(|_| {});
    let baseline = active_count();
    assert_eq!(enumerate().len(), baseline);
    assert_eq!(
        enumerate()[0],
        main_thread(),
        "the main thread is listed first"
    );
    assert_eq!(enumerate()[0].name(), "MainThread");

    // Three threads, held alive until we release them.
    let mut releases = Vec::new();
    let mut handles = Vec::new();
    for i in 0..3 {
        let (tx, rx) = mpsc::channel::<bool>();
        releases.push(tx);
        handles.push(
            Builder::new()
                .name(format!("reg-{i}"))
                .spawn(move || {
                    if rx.recv().unwrap_or(false) {
                        panic!("asked to panic");
                    }
                })
                .unwrap(),
        );
    }
    // Listed from the moment spawn returned, with their names, once each, in start order.
    assert_eq!(active_count(), baseline + 3);
    assert_eq!(enumerate().len(), baseline + 3);
    let listed: Vec<String> = names()
        .into_iter()
        .filter(|n| n.starts_with("reg-"))
        .collect();
    assert_eq!(listed, ["reg-0", "reg-1", "reg-2"]);
    for handle in &handles {
        assert!(enumerate().contains(handle.thread()));
    }

    // reg-1 panics, the others end normally.
    for (i, tx) in releases.into_iter().enumerate() {
        tx.send(i == 1).unwrap();
    }
    let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
    assert!(results[0].is_ok());
    assert!(results[1].as_ref().is_err_and(|e| e.is_panic()));
    assert!(results[2].is_ok());

    // After join, none is listed — the panicked one included.
    assert_eq!(count_named("reg-"), 0);
    assert_eq!(active_count(), baseline);
    assert_eq!(enumerate().len(), baseline);
    skein_threads::reset_excepthook();
}

#[test]
fn a_thread_is_gone_from_the_registry_before_thread_join_wakes() {
    let _serial = SERIAL.lock();
    // Thread::join (not the JoinHandle) waits only for the closure to end; even so, the
    // thread must already be unlisted when it returns.
    for round in 0..50 {
        let name = format!("gone-{round}");
        let handle = Builder::new().name(name.clone()).spawn(|| ()).unwrap();
        handle.thread().join().unwrap();
        assert!(
            !names().contains(&name),
            "round {round}: still listed after join"
        );
        handle.join().unwrap();
    }
}

#[test]
fn threads_skein_did_not_start_are_listed_as_daemons_until_they_exit() {
    let _serial = SERIAL.lock();
    let baseline = active_count();
    let (tx, rx) = mpsc::channel::<()>();
    let (seen_tx, seen_rx) = mpsc::channel::<Thread>();
    let foreign = std::thread::Builder::new()
        .name("plain-std".into())
        .spawn(move || {
            seen_tx.send(skein_threads::current_thread()).unwrap();
            let _ = rx.recv();
        })
        .unwrap();
    let me = seen_rx.recv().unwrap();
    assert_eq!(me.name(), "plain-std");
    assert!(me.is_daemon(), "like Python's _DummyThread");
    assert!(me.is_alive());
    assert!(enumerate().contains(&me));
    assert_eq!(active_count(), baseline + 1);

    drop(tx);
    foreign.join().unwrap(); // its thread-local destructors have run
    assert!(!enumerate().contains(&me));
    assert!(!me.is_alive());
    assert_eq!(active_count(), baseline);
}

#[test]
fn many_threads_come_and_go_and_the_count_returns_to_baseline() {
    let _serial = SERIAL.lock();
    let baseline = active_count();
    let start = Arc::new(Barrier::new(33));
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let start = start.clone();
            Builder::new()
                .name(format!("crowd-{i}"))
                .spawn(move || {
                    start.wait();
                    // Each spawns and joins a child of its own.
                    Builder::new()
                        .name(format!("crowd-{i}-child"))
                        .spawn(|| ())
                        .unwrap()
                        .join()
                })
                .unwrap()
        })
        .collect();
    assert!(count_named("crowd-") >= 32);
    start.wait();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    assert_eq!(count_named("crowd-"), 0);
    assert_eq!(active_count(), baseline);
}

#[test]
fn stress_joined_threads_are_never_listed_even_under_contention() {
    // Bounded: 4 spawners × 100 children, and a reader that enumerates throughout.
    let _serial = SERIAL.lock();
    let baseline = active_count();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        Builder::new()
            .name("stress-reader")
            .spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let threads = enumerate();
                    assert!(threads.len() >= baseline);
                    assert_eq!(threads[0], main_thread());
                    reads += 1;
                }
                reads
            })
            .unwrap()
    };
    let spawners: Vec<_> = (0..4)
        .map(|w| {
            Builder::new()
                .name(format!("stress-spawner-{w}"))
                .spawn(move || {
                    for k in 0..100 {
                        let child = Builder::new()
                            .name(format!("stress-{w}-{k}"))
                            .spawn(|| ())
                            .unwrap();
                        let thread = child.thread().clone();
                        child.join().unwrap();
                        assert!(
                            !enumerate().contains(&thread),
                            "stress-{w}-{k} listed after join"
                        );
                        assert!(!thread.is_alive());
                    }
                })
                .unwrap()
        })
        .collect();
    for spawner in spawners {
        spawner.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(count_named("stress-"), 0);
    assert_eq!(active_count(), baseline);
}
