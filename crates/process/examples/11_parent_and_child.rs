//! A parent and its child both print while the other runs: `mp.Process(target=test)`.
//!
//! Seed: 001 (多进程: p = mp.Process(target=test); p.start(); then the parent loops too)
//! Example: 001 § 多进程 — p = mp.Process(target=test)
//! Time bound: 30 s
//!
//! In the notes `test` loops forever printing "Hello from the child process" once a
//! second, and after `p.start()` the main process loops the same way with its own line:
//! two processes run at once, so the lines alternate. Nothing joins at once — the parent
//! keeps working while the child runs. Here the child prints five times, 100 ms apart, and
//! the parent prints for as long as the child is alive (`p.is_alive()`), then joins it.

use std::time::Duration;

use skein_process::{Process, getpid};

const STEP: Duration = Duration::from_millis(100);

/// This function will be run by a separate process.
fn test(_: ()) {
    for i in 1..=5 {
        println!(
            "    Hello from the child process  (pid {}, {i}/5)",
            getpid()
        );
        std::thread::sleep(STEP);
    }
}

fn main() {
    skein_process::init();
    println!("== p = mp.Process(target=test); p.start(); the parent goes on printing ==");
    let p = Process::new(test, ()).start().expect("start");
    let mut lines = 0;
    while p.is_alive() {
        lines += 1;
        println!("Hello from the main process   (pid {}, {lines})", getpid());
        std::thread::sleep(STEP);
    }
    let code = p.join().expect("join");
    println!("the child ended (exit code {code}) after the parent printed {lines} lines beside it");
}
