//! `Process` with a target and arguments: the notes' `run_proc`, under the default start method.
//!
//! Seed: 002 (multiprocessing.Process(target=run_proc, args=('test',)))
//! Example: 002 § multiprocessing — p = Process(target=run_proc, args=('test',))
//! Example: 004 § 案例17
//!
//! The target is a plain `fn`, the arguments a serde value (a tuple for several). The
//! default start method on Linux is `Forkserver`, so `main` calls `init()` first: the
//! child is a clean copy of this program that runs `run_proc` instead of `main`.

use skein_process::{Process, getpid, getppid};

fn run_proc((name, times): (String, u32)) {
    for i in 0..times {
        println!(
            "Run child process {name} ({}), its parent process is {} [{i}]",
            getpid(),
            getppid()
        );
    }
}

fn main() {
    skein_process::init();
    println!("== Process(target=run_proc, args=('test',)) ==");
    println!("Parent process {}.", getpid());
    let p = Process::new(run_proc, ("test".to_string(), 2))
        .start()
        .expect("start");
    println!(
        "Child process will start: {} (pid {}, {})",
        p.name(),
        p.pid(),
        p.start_method()
    );
    let code = p.join().expect("join");
    println!("Child process end, exit code {code}.");
    println!("(The forkserver forks a non-daemon child as our own: its getppid() is us.)");
}
