//! 100,000 green tasks alive at once on one thread, and what each one costs.
//! Seed: 001 (协程 — "创建大量协程的内存消耗较小": many coroutines cost little memory)
//! Time bound: 120 s
//!
//! The notes: a thread needs its own stack and costs much memory; coroutines are cheap,
//! so you can have very many. Here 100,000 tasks start, each parks on one `Event`, and
//! the process's resident memory is read from `/proc/self/statm` before and after.
//!
//! Every task has its own guard-paged stack (256 KiB of address space reserved with
//! `MAP_NORESERVE`), but only the pages a task touched are resident — a parked task
//! costs a page or two. On Linux 6.13+ the guard pages add no memory mapping, so the
//! kernel's `vm.max_map_count` does not cap the count; with `mprotect` guards (older
//! kernels, `SKEIN_STACK_GUARD=mprotect`) the cap is near 32k live tasks and `try_spawn`
//! reports it as an error. Pass a count to try more: `cargo run --release --example
//! 09_many_tasks -- 1000000`.

use std::time::Instant;

use skein_coroutine::hub::{self, Event};

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    // Warm the hub and the stack pool so the figure counts tasks, not set-up.
    hub::spawn(|| ()).join().expect("warm-up");
    let before = resident_bytes();
    let start = Instant::now();

    let gate = Event::new();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let gate = gate.clone();
        match hub::Builder::new().try_spawn(move || {
            gate.wait();
            i % 2
        }) {
            Ok(task) => tasks.push(task),
            Err(e) => {
                println!("spawn #{i} failed: {e}");
                break;
            }
        }
    }
    hub::sleep(std::time::Duration::ZERO); // every task runs once and parks
    let live = hub::live_tasks();
    let after = resident_bytes();
    println!(
        "== {live} green tasks alive at once (spawned and parked in {:.2} s) ==",
        start.elapsed().as_secs_f64()
    );
    if let (Some(before), Some(after)) = (before, after) {
        let per_task = after.saturating_sub(before) as f64 / live.max(1) as f64;
        println!(
            "resident memory: {:.1} MiB before, {:.1} MiB after: {:.2} KiB per parked task",
            before as f64 / 1048576.0,
            after as f64 / 1048576.0,
            per_task / 1024.0
        );
    }
    let start = Instant::now();
    gate.set();
    let odd: usize = tasks.into_iter().map(|t| t.join().expect("task")).sum();
    println!(
        "woke and joined all {live} in {:.2} s ({odd} odd ones)",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(hub::live_tasks(), 0);
}
