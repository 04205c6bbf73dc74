//! The blocking detector fires for a task that blocks the hub, names it, says for how
//! long and where — and stays quiet for tasks that yield.
//!
//! No timing luck: the task that must be caught either blocks until the monitor has
//! reported it (a std channel released by the reporter itself), or blocks for five
//! times the threshold, which the hub measures at the switch whatever the monitor does.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use skein_coroutine::hub::{self, BacktraceOrigin, BlockingPhase, BlockingReport};

type Reports = Arc<Mutex<Vec<BlockingReport>>>;

fn collect(threshold: Duration) -> Reports {
    let reports: Reports = Arc::default();
    let r = reports.clone();
    hub::set_blocking_reporter(move |report| r.lock().unwrap().push(report.clone()));
    hub::set_blocking_threshold(Some(threshold));
    reports
}

#[test]
fn detector_is_on_by_default_in_debug_builds() {
    if cfg!(debug_assertions) && std::env::var_os("SKEIN_HUB_BLOCKING_MS").is_none() {
        assert_eq!(hub::blocking_threshold(), Some(hub::DEFAULT_THRESHOLD));
        assert_eq!(hub::DEFAULT_THRESHOLD, Duration::from_millis(100));
    }
}

#[test]
fn monitor_reports_the_blocked_task_with_a_backtrace_of_the_blocking_call() {
    let threshold = Duration::from_millis(50);
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let release_tx = Mutex::new(release_tx);
    hub::set_blocking_reporter(move |report| {
        r.lock().unwrap().push(report.clone());
        // Unblock the task once it has been caught.
        let _ = release_tx.lock().unwrap().send(());
    });
    hub::set_blocking_threshold(Some(threshold));
    let blocker = hub::Builder::new().name("blocker").spawn(move || {
        // A std blocking call inside a green task: the hub is stuck until it returns.
        release_rx.recv_timeout(Duration::from_secs(60)).is_ok()
    });
    assert!(blocker.join().unwrap(), "the reporter released the task");
    let reports = reports.lock().unwrap();
    let blocking = reports
        .iter()
        .find(|r| r.phase() == BlockingPhase::Blocking)
        .expect("the monitor reported while the task was blocked");
    assert_eq!(blocking.task_name(), "blocker");
    assert!(blocking.held() >= threshold);
    assert_eq!(blocking.backtrace_origin(), BacktraceOrigin::WhileBlocked);
    let bt = blocking.backtrace().unwrap();
    assert!(
        bt.contains("recv_timeout"),
        "the backtrace shows the blocking call:\n{bt}"
    );
    assert!(
        bt.contains("hub_detector"),
        "and the task's own code:\n{bt}"
    );
    let text = blocking.to_string();
    assert!(
        text.contains("'blocker'") && text.contains("held the hub"),
        "{text}"
    );
    let released = reports
        .iter()
        .find(|r| r.phase() == BlockingPhase::Released)
        .expect("the hub reports the release with the total time");
    assert_eq!(released.task_name(), "blocker");
    assert!(released.held() >= blocking.held());
}

#[test]
fn a_task_blocking_five_times_the_threshold_is_always_reported() {
    let threshold = Duration::from_millis(40);
    let reports = collect(threshold);
    let t = hub::Builder::new().name("sleepy").spawn(move || {
        std::thread::sleep(5 * threshold);
        hub::sleep(Duration::ZERO);
    });
    let quiet = hub::spawn(|| hub::sleep(Duration::ZERO));
    t.join().unwrap();
    quiet.join().unwrap();
    let reports = reports.lock().unwrap();
    let released: Vec<_> = reports
        .iter()
        .filter(|r| r.phase() == BlockingPhase::Released)
        .collect();
    assert_eq!(released.len(), 1, "{reports:?}");
    assert_eq!(released[0].task_name(), "sleepy");
    assert!(released[0].held() >= 5 * threshold);
    assert!(reports.iter().all(|r| r.task_name() == "sleepy"));
}

#[test]
fn tasks_that_yield_often_are_never_reported() {
    // Generous threshold: only a task holding the hub for 300 ms counts, and these
    // tasks yield every few microseconds for half a second in total.
    let reports = collect(Duration::from_millis(300));
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            hub::Builder::new().name(format!("busy-{i}")).spawn(|| {
                let end = Instant::now() + Duration::from_millis(500);
                let mut spins = 0u64;
                while Instant::now() < end {
                    for _ in 0..1_000 {
                        spins = std::hint::black_box(spins + 1);
                    }
                    hub::sleep(Duration::ZERO);
                }
                spins
            })
        })
        .collect();
    for t in tasks {
        assert!(t.join().unwrap() > 0);
    }
    // Green sleeps do not count either: the hub is free while a task sleeps.
    let sleeper = hub::spawn(|| hub::sleep(Duration::from_millis(400)));
    sleeper.join().unwrap();
    assert!(
        reports.lock().unwrap().is_empty(),
        "{:?}",
        reports.lock().unwrap()
    );
}

#[test]
fn turning_the_detector_off() {
    hub::set_blocking_threshold(None);
    assert_eq!(hub::blocking_threshold(), None);
    let t = hub::spawn(|| std::thread::sleep(Duration::from_millis(1)));
    t.join().unwrap();
    hub::set_blocking_threshold(Some(Duration::from_secs(1)));
    assert_eq!(hub::blocking_threshold(), Some(Duration::from_secs(1)));
}
