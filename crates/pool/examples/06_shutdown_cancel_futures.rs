//! shutdown(wait, cancel_futures): cancel what has not started, let running tasks finish.
//! Seed: 000 (线程池: ThreadPoolExecutor, with 语句)
//! Time bound: 30 s
//!
//! One worker, one running task, five queued. `shutdown(false, true)` returns at once,
//! cancels the five queued tasks (their futures say `Cancelled`) and lets the running one
//! finish. Submitting afterwards is an error that hands the task back. `shutdown_timeout`
//! is skein's addition: it gives up waiting instead of blocking forever.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use skein_pool::{Executor, Submit, ThreadPoolExecutor};

fn main() {
    let pool = ThreadPoolExecutor::new(1).expect("a pool of 1");
    let (started_tx, started_rx) = mpsc::channel();
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(100));
            "running task finished"
        })
        .expect("the pool is open");
    started_rx.recv().unwrap();
    let queued: Vec<_> = (0..5)
        .map(|i| pool.submit(move || i).expect("open"))
        .collect();

    println!("== shutdown(wait = false, cancel_futures = true) ==");
    pool.shutdown(false, true);
    for (i, f) in queued.iter().enumerate() {
        println!(
            "queued task {i}: cancelled = {}, result = {:?}",
            f.cancelled(),
            f.result()
        );
    }
    println!("{}", running.result().unwrap());

    println!("\n== submit after shutdown ==");
    let err = pool.submit(|| "late").unwrap_err();
    println!("error: {err}");
    let task = err.into_inner();
    println!("the task comes back and still runs here: {}", task());

    println!("\n== shutdown_timeout with a slow task ==");
    let slow = ThreadPoolExecutor::new(1).expect("a pool of 1");
    let _ = slow.submit(|| thread::sleep(Duration::from_millis(300)));
    let finished = slow.shutdown_timeout(Duration::from_millis(50), false);
    println!("finished within 50 ms: {finished} (the task keeps running; Drop waits for it)");
}
