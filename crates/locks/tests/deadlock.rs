//! Deadlock detection: 2- and 3-thread cycles with names, errors on request, victims woken,
//! the report handler, and no false cycle under a stress of deadlock-free lock orders.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, Once};
use std::thread;
use std::time::Duration;

use skein_locks::{Condition, DeadlockReport, Lock, RLock, deadlock};

static REPORTS: Mutex<Vec<DeadlockReport>> = Mutex::new(Vec::new());
static SETUP: Once = Once::new();

/// Detection on and one shared handler that records every report (tests run in parallel in
/// one process, so each test looks only for its own lock names).
fn setup() {
    SETUP.call_once(|| {
        deadlock::set_enabled(true);
        deadlock::set_handler(|r| REPORTS.lock().unwrap().push(r.clone()));
    });
}

fn reports_mentioning(lock: &str) -> Vec<DeadlockReport> {
    REPORTS
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.locks().contains(&lock))
        .cloned()
        .collect()
}

fn sorted(v: Vec<&str>) -> Vec<String> {
    let mut v: Vec<String> = v.into_iter().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn detection_is_available_and_on() {
    setup();
    assert!(deadlock::is_available());
    assert!(deadlock::is_enabled());
}

/// Each of `n` threads takes lock i, then (once all hold theirs) asks for lock i+1 mod n.
fn ring(prefix: &str, n: usize) -> Vec<Result<(), skein_locks::DeadlockError>> {
    let locks: Vec<Arc<Lock>> = (0..n)
        .map(|i| Arc::new(Lock::named(format!("{prefix}-l{i}"))))
        .collect();
    let all_hold = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let mine = locks[i].clone();
            let next = locks[(i + 1) % n].clone();
            let all_hold = all_hold.clone();
            thread::Builder::new()
                .name(format!("{prefix}-t{i}"))
                .spawn(move || {
                    let _g = mine.acquire();
                    all_hold.wait();
                    next.acquire_checked().map(drop)
                })
                .unwrap()
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn check_ring(prefix: &str, n: usize) {
    setup();
    let results = ring(prefix, n);
    // Every wait asked for an error: the closer fails at once, the others are woken.
    for r in &results {
        let err = r.as_ref().unwrap_err();
        assert_eq!(err.report().edges().len(), n);
    }
    let err = results[0].as_ref().unwrap_err();
    let report = err.report();
    let threads: Vec<String> = (0..n).map(|i| format!("{prefix}-t{i}")).collect();
    let locks: Vec<String> = (0..n).map(|i| format!("{prefix}-l{i}")).collect();
    assert_eq!(sorted(report.threads()), threads);
    assert_eq!(sorted(report.locks()), locks);
    // Edges chain: each holder is the next edge's thread.
    let e = report.edges();
    for i in 0..n {
        assert_eq!(e[i].held_by, e[(i + 1) % n].thread);
        assert_eq!(e[i].held_by_id, e[(i + 1) % n].thread_id);
    }
    let text = err.to_string();
    assert!(
        text.contains(&format!("deadlock among {n} threads")),
        "{text}"
    );
    assert!(
        text.contains(&format!("waits for lock '{prefix}-l")),
        "{text}"
    );
    // Reported once, to the handler.
    assert_eq!(reports_mentioning(&format!("{prefix}-l0")).len(), 1);
}

#[test]
fn finds_a_two_thread_cycle_with_names() {
    check_ring("two", 2);
}

#[test]
fn finds_a_three_thread_cycle_with_names() {
    check_ring("three", 3);
}

#[test]
fn a_plain_acquire_closing_the_cycle_is_reported_and_the_checked_victim_gets_the_error() {
    setup();
    let a = Arc::new(Lock::named("victim-a"));
    let b = Arc::new(RLock::named("victim-b"));
    let both = Arc::new(Barrier::new(2));
    let checked = {
        let (a, b, both) = (a.clone(), b.clone(), both.clone());
        thread::Builder::new()
            .name("victim-checked".into())
            .spawn(move || {
                let _ga = a.acquire();
                both.wait();
                b.acquire_checked().map(drop)
            })
            .unwrap()
    };
    let plain = {
        let (a, b, both) = (a.clone(), b.clone(), both.clone());
        thread::Builder::new()
            .name("victim-plain".into())
            .spawn(move || {
                let _gb = b.acquire();
                both.wait();
                // Blocks until the checked thread gives up and drops `a`.
                drop(a.acquire());
            })
            .unwrap()
    };
    let err = checked.join().unwrap().unwrap_err();
    plain.join().unwrap();
    assert_eq!(
        sorted(err.report().threads()),
        vec!["victim-checked", "victim-plain"]
    );
    assert_eq!(reports_mentioning("victim-a").len(), 1);
}

#[test]
fn self_deadlock_on_a_lock_is_a_one_thread_cycle() {
    setup();
    let lock = Lock::named("self-lock");
    let _g = lock.acquire();
    let err = lock.acquire_checked().unwrap_err();
    assert_eq!(err.report().locks(), vec!["self-lock"]);
    assert_eq!(
        err.report().edges()[0].thread_id,
        err.report().edges()[0].held_by_id
    );
    // An RLock re-enters instead.
    let r = RLock::named("self-rlock");
    let _r1 = r.acquire();
    assert!(r.acquire_checked().is_ok());
}

#[test]
fn timed_waits_are_not_reported() {
    setup();
    let lock = Lock::named("timed-self");
    let _g = lock.acquire();
    assert!(lock.acquire_timeout(Duration::from_millis(10)).is_none());
    assert!(reports_mentioning("timed-self").is_empty());
}

#[test]
fn the_lock_under_a_condition_takes_part() {
    setup();
    let lock = Arc::new(Lock::named("cond-lock"));
    let cond = Condition::with_lock(lock.clone());
    let other = Arc::new(Lock::named("cond-other"));
    let both = Arc::new(Barrier::new(2));
    thread::scope(|s| {
        let h = {
            let (cond, other, both) = (&cond, other.clone(), both.clone());
            thread::Builder::new()
                .name("cond-t1".into())
                .spawn_scoped(s, move || {
                    let _g = cond.acquire();
                    both.wait();
                    other.acquire_checked().map(drop)
                })
                .unwrap()
        };
        let _go = other.acquire();
        both.wait();
        let r = lock.acquire_checked().map(drop);
        drop(_go);
        let r2 = h.join().unwrap();
        assert!(r.is_err() && r2.is_err());
    });
}

/// Threads take random subsets of locks, always in ascending order (so no deadlock is
/// possible), under heavy contention. The detector must stay silent.
#[test]
fn stress_no_false_cycle_for_ordered_locking() {
    setup();
    const LOCKS: usize = 4;
    const THREADS: usize = 6;
    const ROUNDS: u64 = 4_000;
    let locks: Vec<Lock> = (0..LOCKS)
        .map(|i| Lock::named(format!("ordered-{i}")))
        .collect();
    let rlocks: Vec<RLock> = (0..LOCKS)
        .map(|i| RLock::named(format!("ordered-r{i}")))
        .collect();
    let failed = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    thread::scope(|s| {
        for t in 0..THREADS {
            let (locks, rlocks, failed, done) = (&locks, &rlocks, &failed, &done);
            thread::Builder::new()
                .name(format!("ordered-t{t}"))
                .spawn_scoped(s, move || {
                    let mut x = (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    for _ in 0..ROUNDS {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let mut held_l = Vec::new();
                        let mut held_r = Vec::new();
                        for (i, (l, r)) in locks.iter().zip(rlocks).enumerate() {
                            if x >> i & 1 == 1 {
                                match l.acquire_checked() {
                                    Ok(g) => held_l.push(g),
                                    Err(_) => failed.store(true, Ordering::SeqCst),
                                }
                            }
                            if x >> (i + 8) & 1 == 1 {
                                match r.acquire_checked() {
                                    Ok(g) => held_r.push(g),
                                    Err(_) => failed.store(true, Ordering::SeqCst),
                                }
                            }
                        }
                        if x & 0x30000 != 0 {
                            thread::yield_now(); // hold the locks a while: others park
                        }
                        drop(held_r);
                        drop(held_l);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .unwrap();
        }
    });
    assert!(
        !failed.load(Ordering::SeqCst),
        "a checked acquire reported a false deadlock"
    );
    assert_eq!(done.load(Ordering::Relaxed), THREADS as u64 * ROUNDS);
    let false_reports: Vec<_> = REPORTS
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.locks().iter().any(|l| l.starts_with("ordered-")))
        .cloned()
        .collect();
    assert!(false_reports.is_empty(), "false cycles: {false_reports:?}");
}

/// Child half of `default_handler_prints_to_stderr`: run only as a child process.
#[test]
#[ignore = "run as a child process by default_handler_prints_to_stderr"]
fn child_two_thread_cycle_with_default_handler() {
    deadlock::set_enabled(true);
    let results = ring("child", 2);
    assert!(results.iter().all(|r| r.is_err()));
}

/// Runs the ignored test `name` of this binary in a child process; returns its stderr after
/// checking that it passed.
fn run_child(name: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn default_handler_prints_to_stderr() {
    let stderr = run_child("child_two_thread_cycle_with_default_handler");
    assert!(
        stderr.contains("skein-locks: deadlock among 2 threads"),
        "{stderr}"
    );
    assert!(
        stderr.contains("thread 'child-t0' waits for lock 'child-l1'"),
        "{stderr}"
    );
}

#[test]
fn set_enabled_false_turns_detection_off_in_a_child() {
    let stderr = run_child("child_disabled_detection_times_out_instead");
    assert!(!stderr.contains("deadlock among"), "{stderr}");
}

/// Child half of `set_enabled_false_turns_detection_off_in_a_child`: a real cycle that the
/// main thread breaks after a while with Python's release-from-any-thread. With detection
/// on both checked acquires would fail; off, both succeed and nothing is printed.
#[test]
#[ignore = "run as a child process by set_enabled_false_turns_detection_off_in_a_child"]
fn child_disabled_detection_times_out_instead() {
    deadlock::set_enabled(false);
    assert!(!deadlock::is_enabled());
    let a = Lock::named("off-a");
    let b = Lock::named("off-b");
    let both = Barrier::new(3);
    thread::scope(|s| {
        let t1 = s.spawn(|| {
            let _ga = a.acquire();
            both.wait();
            b.acquire_checked().map(drop)
        });
        let t2 = s.spawn(|| {
            b.acquire().leak();
            both.wait();
            a.acquire_checked().map(drop)
        });
        both.wait(); // both hold their first lock
        // The cycle forms: both threads park (with detection on, their checked acquires
        // would fail instead of parking, and this wait would give up).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !(a.has_waiters() && b.has_waiters()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the two threads never both waited"
            );
            thread::yield_now();
        }
        b.release().unwrap();
        assert!(t1.join().unwrap().is_ok());
        assert!(t2.join().unwrap().is_ok());
    });
}
