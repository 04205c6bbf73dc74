//! Daemon vs non-daemon threads at exit: Python waits for non-daemon threads, Rust waits for none.
//! Seed: 000 (setDaemon: 后台线程 / 前台线程)
//! Example: 004 § 案例05
//! Time bound: 30 s
//!
//! The notes: with a non-daemon ("foreground") thread, the program waits for it after the
//! main thread is done; a daemon ("background") thread is stopped when the main thread
//! ends. Rust's own rule is harsher: when `main` returns the process exits, and *every*
//! thread stops mid-step. `skein_threads::ExitGuard` restores Python's rule.
//!
//! The demo runs itself twice as a child process and shows each child's output:
//! `05_daemon python` (with the guard) and `05_daemon rust` (without). In both, a
//! non-daemon thread waits until `main` is returning, sleeps, and prints its last line; a
//! daemon thread waits for something that never comes and would then print its own; and
//! a non-daemon "watcher" joins the main thread, which ends when `main` is over.

use std::process::Command;
use std::sync::mpsc;
use std::thread::sleep;
use std::time::Duration;

use skein_threads::{Builder, ExitGuard};

/// How long the non-daemon thread works after `main` starts returning.
const LAST_STEP: Duration = Duration::from_millis(800);

fn scenario(python_rules: bool) -> Result<(), Box<dyn std::error::Error>> {
    let _guard = python_rules.then(ExitGuard::new);

    let (main_returning_tx, main_returning) = mpsc::channel::<()>();
    let worker = Builder::new().name("worker").daemon(false).spawn(move || {
        println!("non-daemon: started");
        let _ = main_returning.recv();
        sleep(LAST_STEP);
        println!("non-daemon: last line, printed after main returned");
    })?;

    let (never_tx, never) = mpsc::channel::<()>();
    std::mem::forget(never_tx); // nobody will ever send, nor hang up
    let ticker = Builder::new().name("ticker").daemon(true).spawn(move || {
        println!("daemon: started");
        let _ = never.recv();
        println!("daemon: last line");
    })?;

    // Python's `threading.main_thread().join()` from another thread: it returns once
    // main is over — which the guard marks before it waits.
    let watcher = Builder::new().name("watcher").daemon(false).spawn(|| {
        let main = skein_threads::main_thread();
        let _ = main.join();
        println!(
            "watcher: MainThread has ended (is_alive = {})",
            main.is_alive()
        );
    })?;

    println!(
        "main: started {}, {} and {}",
        worker.thread(),
        ticker.thread(),
        watcher.thread()
    );
    // No thread is joined: what happens to them is up to the exit rule.
    drop((worker, ticker, watcher));
    println!("main: returning from main now");
    main_returning_tx.send(())?;
    Ok(())
    // With python rules, `_guard` drops here: main is marked ended (releasing "watcher"),
    // then it waits for "worker" and "watcher".
}

fn show_child(mode: &str, title: &str) -> Result<(), Box<dyn std::error::Error>> {
    println!("== {title} ==");
    let output = Command::new(std::env::current_exe()?).arg(mode).output()?;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        println!("  | {line}");
    }
    println!("  (child exited with {})\n", output.status);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("python") => scenario(true),
        Some("rust") => scenario(false),
        _ => {
            show_child(
                "python",
                "Python's rule (ExitGuard): main returns, the program waits for the non-daemon thread",
            )?;
            show_child(
                "rust",
                "Rust's default (no guard): main returns, the process exits at once",
            )?;
            println!(
                "With the guard the non-daemon thread's last line appears after main returned;"
            );
            println!("without it, that line is lost. The daemon thread's last line never appears.");
            Ok(())
        }
    }
}
