//! Pool(4) of processes: four tasks start at once, the fifth waits and reuses a worker.
//! Seed: 002 (Pool(4): 前 4 个 task 是立刻执行的, 第五个是后执行的)
//! Example: 002 § Pool — p = Pool(4)
//! Time bound: 60 s
//!
//! The notes' `long_time_task` runs five times on `Pool(4)`: tasks 0–3 start at once in
//! four worker processes; task 4 starts when one of them is free, in the same process
//! (same pid). Tasks take 300 ms here instead of 1 s. Each task returns its pid and its
//! start and end times, measured from a clock both sides share (`SystemTime`).

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use skein_pool::ProcessPool;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn long_time_task(name: u32) -> (u32, i32, u128, u128) {
    println!("Run task {name} ({})...", skein_process::getpid());
    let start = now_ms();
    std::thread::sleep(Duration::from_millis(300));
    let end = now_ms();
    println!(
        "Task {name} runs {:.2} seconds.",
        (end - start) as f64 / 1000.0
    );
    (name, skein_process::getpid(), start, end)
}

fn main() {
    skein_process::init();
    println!("Parent process {}.", skein_process::getpid());
    let p = ProcessPool::new(4).expect("Pool(4)");
    let origin = now_ms();
    let results: Vec<_> = (0..5)
        .map(|i| p.apply_async(long_time_task, i).expect("submit"))
        .collect();
    println!("Waiting for all subprocesses done...");
    p.close();
    p.join().expect("closed");
    println!("All subprocesses done.");
    let mut pids = HashSet::new();
    let mut first_end = u128::MAX;
    for r in &results {
        let (name, pid, start, end) = *r.get().expect("task ran");
        println!(
            "task {name}: pid {pid}, from {:>4} ms to {:>4} ms",
            start - origin,
            end - origin
        );
        if name < 4 {
            pids.insert(pid);
            first_end = first_end.min(end);
        }
    }
    let (_, pid4, start4, _) = *results[4].get().expect("task 4 ran");
    assert_eq!(pids.len(), 4, "the first four ran in four processes");
    assert!(pids.contains(&pid4), "the fifth reused one of them");
    assert!(
        start4 + 5 >= first_end,
        "the fifth started after one of the first four ended"
    );
    println!("task 4 reused worker pid {pid4}");
}
