//! 案例01 and 案例02: two loops one after the other, then on `_thread`-style threads nobody joins.
//! Seed: 004 (案例01 顺序执行, 耗时较长; 案例p02 改用多线程, 缩短耗时, 使用_thread)
//! Example: 004 § 案例01
//! Example: 004 § 案例02
//! Time bound: 30 s
//!
//! Case 01 runs `loop1` (4 steps) and `loop2` (2 steps) in turn: 6 steps in all. Case 02
//! starts each on a thread with `_thread.start_new_thread(loop1, ())` — the low-level
//! module: no `Thread` object, no `join` — and prints "All done" at once. What happens to
//! the two threads when the main thread ends? The `_thread` module does not wait for them:
//! the interpreter exits and they die mid-loop, which is why the course's version ends
//! `main` with `while True: time.sleep(1)`.
//!
//! Rust's `std::thread::spawn` with its `JoinHandle` dropped is exactly `_thread`: the
//! thread is detached, and returning from `main` ends the process and every thread in it.
//! The difference from Python is with `threading.Thread`: Python's interpreter waits for
//! non-daemon threads at exit, Rust waits for none (skein's `ExitGuard` restores Python's
//! rule, see 05_daemon). The Rust ways to wait are to keep the handle and `join` it
//! (case 04, 01_sing_dance), or `std::thread::scope`, which joins every thread it started
//! before it returns — forgetting to wait becomes impossible. The demo runs itself as a
//! child twice to show the two endings of case 02; a step is 100 ms instead of 1 s.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

const STEP: Duration = Duration::from_millis(100);

fn at(start: Instant) -> String {
    format!("+{:.1} s", start.elapsed().as_secs_f64())
}

fn loop1(start: Instant) {
    println!("Start loop 1 at {}", at(start));
    sleep(STEP * 4);
    println!("End loop 1 at {}", at(start));
}

fn loop2(start: Instant) {
    println!("Start loop 2 at {}", at(start));
    sleep(STEP * 2);
    println!("End loop 2 at {}", at(start));
}

/// 案例02 in a child process: start both with no handle kept, then `main` returns (or,
/// with `keep_alive`, first sleeps like the course's `while True: time.sleep(1)`).
fn case02(keep_alive: bool) {
    let start = Instant::now();
    println!("Starting at {}", at(start));
    // _thread.start_new_thread(loop1, ()): the JoinHandle is dropped, the thread detached.
    drop(std::thread::spawn(move || loop1(start)));
    drop(std::thread::spawn(move || loop2(start)));
    println!("All done at {}", at(start));
    if keep_alive {
        sleep(STEP * 6);
    }
    // Returning from main exits the process: a detached thread still running dies here.
}

/// Runs this demo as a child in `mode`, shows its output, and returns how many loops
/// printed their End line.
fn show_child(mode: &str, title: &str) -> Result<usize, Box<dyn std::error::Error>> {
    println!("\n== {title} ==");
    let output = Command::new(std::env::current_exe()?).arg(mode).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        println!("  | {line}");
    }
    let ended = stdout.lines().filter(|l| l.starts_with("End loop")).count();
    println!(
        "  ({}; {ended} of 2 loops printed their End line)",
        output.status
    );
    Ok(ended)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("return") => {
            case02(false);
            return Ok(());
        }
        Some("keep-alive") => {
            case02(true);
            return Ok(());
        }
        _ => {}
    }

    println!("== 案例01: loop1(); loop2() one after the other ==");
    let start = Instant::now();
    println!("Starting at {}", at(start));
    loop1(start);
    loop2(start);
    println!("All done at {} (4 + 2 steps: the sum)", at(start));

    let ended = show_child(
        "return",
        "案例02: _thread-style threads, main returns at once (std::thread::spawn, handle dropped)",
    )?;
    if ended < 2 {
        println!(
            "  main returned first and the process exited: nobody waits for a detached thread"
        );
    }
    let ended = show_child(
        "keep-alive",
        "案例02 as the course ends it: main sleeps on (while True: time.sleep(1))",
    )?;
    if ended == 2 {
        println!("  both loops finish, in 4 steps instead of 6: they ran at the same time");
    }

    println!("\n== the Rust way: std::thread::scope joins every thread before it returns ==");
    let start = Instant::now();
    println!("Starting at {}", at(start));
    std::thread::scope(|s| {
        s.spawn(|| loop1(start));
        s.spawn(|| loop2(start));
    });
    println!("All done at {} (after both: the scope waited)", at(start));
    Ok(())
}
