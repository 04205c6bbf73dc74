//! ThreadPoolExecutor(3) over 50 tasks: never more than three run at once.
//! Seed: 000 (线程池: ThreadPoolExecutor(3), 每次输出三个 hello)
//! Example: 000 § 线程池 — pool = ThreadPoolExecutor(3)
//! Time bound: 30 s
//!
//! The notes submit 50 tasks that each sleep 2 s to a pool of 3 threads and watch the
//! "hello" lines come out three at a time. Here a task sleeps 40 ms. Each task records how
//! many tasks are running with it; the maximum is the pool size, 3. Dropping the executor
//! at the end is Python's `with` block: it waits for every task.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use skein_pool::{Submit, ThreadPoolExecutor};

fn main() {
    println!("== ThreadPoolExecutor(3), 50 tasks of 40 ms ==");
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    {
        let pool = ThreadPoolExecutor::new(3).expect("a pool of 3");
        for i in 0..50 {
            let (running, peak) = (running.clone(), peak.clone());
            let submitted = pool.submit(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(40));
                println!(
                    "hello! 编号: {i:2}  on {}  ({now} running)",
                    thread::current().name().unwrap_or("?")
                );
                running.fetch_sub(1, Ordering::SeqCst);
            });
            drop(submitted.expect("the pool is open"));
        }
        println!("all 50 submitted at once; the pool runs them three at a time");
    } // Drop = shutdown(wait = true)
    println!("\n== summary ==");
    println!(
        "most tasks running at once: {}",
        peak.load(Ordering::SeqCst)
    );
    println!(
        "50 tasks x 40 ms / 3 workers ~ {} ms; took {:?}",
        50 * 40 / 3,
        start.elapsed()
    );
}
