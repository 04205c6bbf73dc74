//! `Timer`: fires after its interval; once `cancel` returns true the function never runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skein_threads::{Builder, Timer};

#[test]
fn a_timer_fires_no_earlier_than_its_interval() {
    let interval = Duration::from_millis(60);
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let timer = Timer::start(interval, move || tx.send(Instant::now()).unwrap()).unwrap();
    let fired_at = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(fired_at - started >= interval);
    assert!(timer.join().unwrap());
}

#[test]
fn a_timer_cancelled_before_it_fires_never_runs() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let timer = Timer::start(Duration::from_secs(3600), move || {
        flag.store(true, Ordering::SeqCst)
    })
    .unwrap();
    assert!(timer.is_alive());
    assert!(timer.cancel());
    assert!(timer.is_cancelled());
    assert!(!timer.cancel(), "a second cancel has nothing to stop");
    // The thread ends at once instead of sleeping an hour.
    timer.join_timeout(Duration::from_secs(60)).unwrap();
    assert!(!timer.has_fired());
    assert!(!timer.join().unwrap());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn cancel_racing_the_deadline_keeps_its_promise() {
    // Whatever the race's outcome, `cancel() == true` means the function never ran and
    // `cancel() == false` means it did. No timing assumption.
    let runs = Arc::new(AtomicUsize::new(0));
    let (mut cancelled, mut fired) = (0, 0);
    for i in 0..200u64 {
        let counter = runs.clone();
        let before = runs.load(Ordering::SeqCst);
        let timer = Timer::start(Duration::from_micros(i * 10), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        if i % 3 == 0 {
            std::thread::yield_now();
        }
        let stopped = timer.cancel();
        let ran = timer.join().unwrap();
        let after = runs.load(Ordering::SeqCst);
        assert_eq!(stopped, !ran, "round {i}");
        assert_eq!(after - before, usize::from(ran), "round {i}");
        if stopped { cancelled += 1 } else { fired += 1 }
    }
    assert_eq!(cancelled + fired, 200);
}

#[test]
fn a_named_daemon_timer_from_the_builder() {
    let timer = Builder::new()
        .name("alarm")
        .daemon(true)
        .spawn_timer(Duration::from_millis(1), || ())
        .unwrap();
    assert_eq!(timer.thread().name(), "alarm");
    assert!(timer.thread().is_daemon());
    assert!(timer.join().unwrap());
}

#[test]
fn a_panicking_timer_function_fails_the_join() {
    skein_threads::set_excepthook(|_| {});
    let timer = Builder::new()
        .name("bad-alarm")
        .spawn_timer(Duration::from_millis(1), || panic!("alarm broke"))
        .unwrap();
    let err = timer.join().unwrap_err();
    skein_threads::reset_excepthook();
    assert_eq!(err.panic_message(), Some("alarm broke"));
    assert_eq!(err.thread_name(), "bad-alarm");
}

#[test]
fn a_timer_with_an_interval_too_large_for_an_instant_waits_until_cancelled() {
    // No overflow panic: a `Duration::MAX` interval is "never, unless cancelled".
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let timer = Timer::start(Duration::MAX, move || flag.store(true, Ordering::SeqCst)).unwrap();
    assert!(timer.is_alive());
    assert!(timer.cancel());
    assert!(!timer.join().unwrap());
    assert!(!ran.load(Ordering::SeqCst));
}
