//! Ten processes started without `join`: the parent's `main` finishes first, and exit waits for them.
//!
//! Seed: 000 (for i in range(10): Process(target=task).start(); print('主进程结束'))
//! Example: 000 § 多进程 — p = Process(target=task)
//!
//! Nothing orders the children with each other or with the parent: their lines
//! interleave. As in Python, returning from `main` waits for non-daemon children (an
//! exit hook joins them), so no child is orphaned. Daemon children would instead be
//! terminated at exit.
//! Time bound: 30 s

use std::time::Duration;

use skein_process::{Process, active_children, getpid};

fn task(i: u32) {
    std::thread::sleep(Duration::from_millis(100 + 20 * u64::from(i % 3)));
    println!("  task {i} runs in process {}", getpid());
}

fn main() {
    skein_process::init();
    println!("== ten processes, no join ==");
    for i in 0..10 {
        let _ = Process::new(task, i).start().expect("start");
        // p.join() would make them run one after another
    }
    println!("main: {} children still running", active_children().len());
    println!("主进程结束！！！ (main is done; exit will wait for the children)");
}
