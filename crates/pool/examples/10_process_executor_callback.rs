//! ProcessPoolExecutor(5): submit ten tasks, add_done_callback on each future.
//! Seed: 000 (进程池回调: obj = pool.submit(task, i); obj.add_done_callback(call))
//! Time bound: 60 s
//!
//! The notes' process-pool callback: `task(arg)` prints `arg` in a worker process and
//! returns `arg + 100`; `call(future)` reads `future.result()` in the parent. The job is a
//! `Call` of a plain function (a spawned or forkserver worker must find it by name), and
//! the executor is used through the same `Submit` trait as `ThreadPoolExecutor`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use skein_pool::{Call, Future, ProcessPoolExecutor, Submit};

fn task(arg: u64) -> u64 {
    println!("task {arg} in pid {}", skein_process::getpid());
    arg + 100
}

fn main() {
    skein_process::init();
    let pool = ProcessPoolExecutor::new(5).expect("PPE(5)");
    let sum = Arc::new(AtomicU64::new(0));
    let futures: Vec<Future<u64>> = (0..10)
        .map(|i| {
            let obj = pool.submit(Call::new(task, i)).expect("submit");
            let sum = sum.clone();
            obj.add_done_callback(move |f| {
                let data = *f.result().expect("task ran");
                println!(
                    "call: {data} (in the parent, pid {})",
                    skein_process::getpid()
                );
                sum.fetch_add(data, Ordering::SeqCst);
            });
            obj
        })
        .collect();
    for f in &futures {
        f.wait();
    }
    drop(pool); // `with` block: shutdown(wait=True)
    assert_eq!(
        sum.load(Ordering::SeqCst),
        (0..10).map(|i| i + 100).sum::<u64>()
    );
    println!("sum of results: {}", sum.load(Ordering::SeqCst));
}
