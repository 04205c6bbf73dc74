//! A child that panics and one that is killed: what the parent sees.
//!
//! Seed: 002 (pr.terminate(): the endless reader is killed)
//!
//! A panicking child prints the panic under its process name and exits with code 1
//! (Python's uncaught exception). A child killed by a signal reports minus the signal
//! number (`-9` for SIGKILL, `-15` for SIGTERM), as Python's `exitcode` does.

use std::time::Duration;

use skein_process::Process;

fn crash(msg: String) {
    panic!("{msg}");
}

fn endless(_: ()) {
    loop {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn main() {
    skein_process::init();
    println!("== a child that panics ==");
    let p = Process::new(crash, "division by zero (on purpose)".to_string())
        .name("crasher")
        .start()
        .unwrap();
    println!("crasher exit code: {} (1 = panicked)", p.join().unwrap());

    println!("\n== a child that is killed ==");
    let p = Process::new(endless, ()).name("endless").start().unwrap();
    println!("endless alive: {}", p.is_alive());
    println!("join(timeout=100ms) -> {:?} (still running)", p.join_timeout(Duration::from_millis(100)).unwrap());
    p.terminate().unwrap();
    println!("after terminate(): exit code {} (-SIGTERM)", p.join().unwrap());

    let p = Process::new(endless, ()).name("endless-2").start().unwrap();
    p.kill().unwrap();
    println!("after kill(): exit code {} (-SIGKILL)", p.join().unwrap());
}
