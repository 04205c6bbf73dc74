//! Python's exit rule made explicit: `ExitGuard` waits for non-daemon threads and abandons
//! daemon ones — checked end to end on the `05_daemon` demo binary as a child process,
//! and in process for the waiting functions.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use skein_threads::{Builder, ExitGuard, join_non_daemon_timeout};

static SERIAL: Mutex<()> = parking_lot::const_mutex(());

/// The `05_daemon` example binary beside this test binary, brought up to date with cargo
/// first (a no-op after `cargo test`, which builds examples; needed when this test is run
/// alone with `--test exit`, which does not).
fn daemon_demo() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap();
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "skein-threads",
                    "--example",
                    "05_daemon",
                ])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if profile_dir.file_name() == Some("release".as_ref()) {
                cargo.arg("--release");
            }
            let built = cargo.status().is_ok_and(|s| s.success());
            let demo = profile_dir
                .join("examples")
                .join(format!("05_daemon{}", std::env::consts::EXE_SUFFIX));
            assert!(
                demo.exists(),
                "no example binary at {} (cargo build succeeded: {built})",
                demo.display()
            );
            demo
        })
        .clone()
}

fn run_demo(mode: &str) -> Vec<String> {
    let child = Command::new(daemon_demo())
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hang (say, the guard deadlocking with a thread joining main) fails the test
    // instead of stalling it: the child is killed after a generous bound.
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let output = child.wait_with_output().unwrap();
    drop(done_tx);
    killer.join().unwrap();
    assert!(output.status.success(), "{mode}: {:?}", output);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn position(lines: &[String], needle: &str) -> Option<usize> {
    lines.iter().position(|l| l.starts_with(needle))
}

#[test]
fn with_the_guard_the_non_daemon_thread_finishes_after_main_returns() {
    let lines = run_demo("python");
    let returning = position(&lines, "main: returning").expect("main's line");
    let last =
        position(&lines, "non-daemon: last line").expect("the non-daemon thread's last line");
    assert!(returning < last, "{lines:#?}");
    assert_eq!(position(&lines, "daemon: last line"), None, "{lines:#?}");
    // The guard marked main as ended before waiting, so the watcher joining main was
    // released (no deadlock) and saw it dead.
    let watcher = position(&lines, "watcher: MainThread has ended (is_alive = false)")
        .expect("the watcher's line");
    assert!(returning < watcher, "{lines:#?}");
}

#[test]
fn without_the_guard_rust_abandons_every_thread() {
    let lines = run_demo("rust");
    assert!(position(&lines, "main: returning").is_some(), "{lines:#?}");
    // The non-daemon thread sleeps 800 ms after main starts returning; the process is
    // long gone by then.
    assert_eq!(
        position(&lines, "non-daemon: last line"),
        None,
        "{lines:#?}"
    );
    assert_eq!(position(&lines, "daemon: last line"), None, "{lines:#?}");
    assert_eq!(position(&lines, "watcher:"), None, "{lines:#?}");
}

#[test]
fn the_guard_waits_for_non_daemon_threads_only() {
    let _serial = SERIAL.lock();
    let finished = Arc::new(AtomicBool::new(false));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (daemon_tx, daemon_rx) = mpsc::channel::<()>();
    let daemon = Builder::new()
        .name("guard-daemon")
        .daemon(true)
        .spawn(move || daemon_rx.recv())
        .unwrap();
    let worker = {
        let finished = finished.clone();
        Builder::new()
            .name("guard-worker")
            .daemon(false)
            .spawn(move || {
                release_rx.recv().unwrap();
                finished.store(true, Ordering::SeqCst);
            })
            .unwrap()
    };
    let worker_thread = worker.thread().clone();
    drop(worker); // detached, as threads usually are at exit
    {
        let _guard = ExitGuard::new();
        release_tx.send(()).unwrap();
    } // waits for guard-worker, not for guard-daemon (which is still blocked)
    assert!(finished.load(Ordering::SeqCst));
    assert!(!worker_thread.is_alive());
    assert!(daemon.is_alive());
    drop(daemon_tx);
    daemon.join().unwrap().unwrap_err();
}

#[test]
fn join_non_daemon_timeout_reports_a_thread_still_running() {
    let _serial = SERIAL.lock();
    let (tx, rx) = mpsc::channel::<()>();
    let worker = Builder::new()
        .daemon(false)
        .spawn(move || rx.recv())
        .unwrap();
    assert!(!join_non_daemon_timeout(Duration::from_millis(30)));
    assert!(worker.is_alive());
    tx.send(()).unwrap();
    assert!(join_non_daemon_timeout(Duration::from_secs(60)));
    worker.join().unwrap().unwrap();
}

#[test]
fn run_main_returns_the_value_after_waiting() {
    let _serial = SERIAL.lock();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let value = skein_threads::run_main(move || {
        drop(Builder::new().daemon(false).spawn(move || {
            // Ends only once run_main waits for it (a run_main that did not wait would
            // return first and find `done` unset; this thread would then give up).
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while skein_threads::exit_waiters() == 0 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "run_main never waited"
                );
                std::thread::yield_now();
            }
            d.store(true, Ordering::SeqCst);
        }));
        "value"
    });
    assert_eq!(value, "value");
    assert!(done.load(Ordering::SeqCst));
}
