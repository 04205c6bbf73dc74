//! Python's exit rule made explicit: `ExitGuard` waits for non-daemon threads and abandons
//! daemon ones — checked end to end on the `05_daemon` demo binary as a child process,
//! and in process for the waiting functions.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::Mutex;
use skein_threads::{Builder, ExitGuard, join_non_daemon_timeout};

static SERIAL: Mutex<()> = parking_lot::const_mutex(());

/// The `05_daemon` example binary, built beside this test (`cargo test` builds examples);
/// built here with cargo when this test was run on its own.
fn daemon_demo() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let demo = profile_dir
        .join("examples")
        .join(format!("05_daemon{}", std::env::consts::EXE_SUFFIX));
    if !demo.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "skein-threads",
                "--example",
                "05_daemon",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "could not build the 05_daemon example");
    }
    assert!(demo.exists(), "no example binary at {}", demo.display());
    demo
}

fn run_demo(mode: &str) -> Vec<String> {
    let output = Command::new(daemon_demo()).arg(mode).output().unwrap();
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
            std::thread::sleep(Duration::from_millis(20));
            d.store(true, Ordering::SeqCst);
        }));
        "value"
    });
    assert_eq!(value, "value");
    assert!(done.load(Ordering::SeqCst));
}
