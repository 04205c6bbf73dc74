//! ProcessPoolExecutor(5): submit ten tasks, then the same with add_done_callback on each future.
//! Seed: 000 (进程池: pool = PPE(5); pool.submit(task, i) — then 进程池回调: obj.add_done_callback(call))
//! Example: 000 § 进程池 — pool = PPE(5)
//! Example: 000 § 进程池回调 — obj.add_done_callback(call)
//! Time bound: 60 s
//!
//! First the notes' basic use (基本用法): ten tasks that sleep a second and print their
//! argument go to five worker processes, so they finish in two waves of five, about two
//! seconds in all. Then the notes' process-pool callback: `task(arg)` prints `arg` in a worker process and
//! returns `arg + 100`; `call(future)` reads `future.result()` in the parent. The job is a
//! `Call` of a plain function (a spawned or forkserver worker must find it by name), and
//! the executor is used through the same `Submit` trait as `ThreadPoolExecutor`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use skein_pool::{Call, Future, ProcessPoolExecutor, Submit};

fn sleepy_task(arg: u64) {
    std::thread::sleep(std::time::Duration::from_secs(1));
    println!("{arg} (pid {})", skein_process::getpid());
}

fn task(arg: u64) -> u64 {
    println!("task {arg} in pid {}", skein_process::getpid());
    arg + 100
}

fn main() {
    skein_process::init();

    println!("== 基本用法: PPE(5), ten tasks of one second ==");
    let started = std::time::Instant::now();
    let pool = ProcessPoolExecutor::new(5).expect("PPE(5)");
    for i in 0..10 {
        let _detached = pool.submit(Call::new(sleepy_task, i)).expect("submit");
    }
    drop(pool); // the end of the `with` block waits for every task
    println!(
        "ten one-second tasks on five processes took {:.1} s",
        started.elapsed().as_secs_f64()
    );

    println!("== 进程池回调: add_done_callback ==");
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
