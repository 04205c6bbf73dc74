//! A stack overflow inside a coroutine is caught by its guard page and reported.
//! Seed: 001 (协程: each coroutine has its own small stack)
//! Time bound: 30 s
//!
//! Every coroutine stack in skein has a guard page below it. Unbounded recursion runs
//! into that page; a signal handler recognises the address as a coroutine guard page,
//! prints `stack overflow in coroutine: ...` and aborts the process — a clean, reported
//! error, never silent memory corruption (Rust aborts on thread stack overflow too).
//!
//! Since the overflowing process dies, the demo runs the overflow in a child process
//! (this same program, re-run with `--overflow`) and prints what the parent saw: the
//! signal, and the report on the child's stderr. In Python the equivalent is
//! `RecursionError`, raised long before the C stack is at risk.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use skein_coroutine::Generator;

#[inline(never)]
fn depth(n: u64) -> u64 {
    let frame = [n; 64];
    std::hint::black_box(&frame);
    if n == u64::MAX {
        return 0;
    }
    1 + depth(n + 1) + std::hint::black_box(frame[0]) * 0
}

fn child() {
    let mut g = Generator::<u64>::builder()
        .stack_size(64 * 1024)
        .build(|co| {
            co.yield_(0);
            co.yield_(depth(0)); // never yields: runs into the guard page
        })
        .expect("stack");
    g.next();
    g.next();
    println!("unreachable: the child survived its overflow");
}

fn main() {
    if std::env::args().any(|a| a == "--overflow") {
        return child();
    }
    println!("== running a generator that recurses without end, in a child process ==");
    let out = Command::new(std::env::current_exe().expect("own path"))
        .arg("--overflow")
        .output()
        .expect("spawn the child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!(
        "child stdout: {:?}",
        String::from_utf8_lossy(&out.stdout).trim()
    );
    println!("child stderr: {}", stderr.trim());
    match out.status.signal() {
        Some(sig) => println!(
            "child ended by signal {sig} ({})",
            if sig == libc::SIGABRT {
                "SIGABRT: aborted after the report"
            } else {
                "unexpected"
            }
        ),
        None => println!("child exit code {:?}", out.status.code()),
    }
    assert!(
        stderr.contains("stack overflow in coroutine"),
        "the overflow was reported"
    );
    println!("the overflow hit the guard page and was reported; no memory was corrupted");
}
