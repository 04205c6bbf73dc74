//! Pool(4) with apply_async: four tasks start at once, the fifth waits for a free worker.
//! Seed: 002 (Pool(4): 前 4 个 task 是立刻执行的, 第五个是后执行的)
//! Time bound: 30 s
//!
//! The notes' `multiprocessing.Pool(4)` runs five `long_time_task`s of 1 s each; the
//! fifth starts only when one of the first four ends. skein's `ThreadPool` has the same
//! interface on threads (Python's `multiprocessing.pool.ThreadPool`); a task here takes
//! 200 ms. `close()` then `join()` waits for everything, as in the notes (`join` before
//! `close` is an error).

use std::thread;
use std::time::{Duration, Instant};

use skein_pool::ThreadPool;

fn main() {
    let origin = Instant::now();
    println!("== Pool(4), five tasks of 200 ms ==");
    let pool = ThreadPool::new(4).expect("a pool of 4");
    let results: Vec<_> = (0..5)
        .map(|i| {
            pool.apply_async(move || {
                let start = origin.elapsed();
                println!(
                    "Run task {i} ({}) at {:>4} ms",
                    thread::current().name().unwrap_or("?"),
                    start.as_millis()
                );
                thread::sleep(Duration::from_millis(200));
                println!(
                    "Task {i} runs {:.2} seconds.",
                    (origin.elapsed() - start).as_secs_f64()
                );
                start
            })
            .expect("the pool is open")
        })
        .collect();
    println!("Waiting for all subthreads done...");
    println!("join() before close(): {}", pool.join().unwrap_err());
    pool.close();
    pool.join().expect("closed");
    println!("All subthreads done.");
    println!("\n== start times ==");
    for (i, r) in results.iter().enumerate() {
        println!("task {i} started at {:>4} ms", r.get().unwrap().as_millis());
    }
    let fifth = results[4].get().unwrap();
    let first_four = results[..4]
        .iter()
        .map(|r| *r.get().unwrap())
        .max()
        .unwrap();
    println!(
        "the fifth started after all of the first four: {}",
        *fifth > first_four
    );
}
