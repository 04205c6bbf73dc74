//! The same CPU-bound job on ThreadPoolExecutor and ProcessPoolExecutor: one line differs.
//! Seed: 000 (计算密集型: 多进程; IO密集型: 多线程)
//! Time bound: 120 s
//!
//! The notes' advice: CPU-bound work wants processes, because CPython's GIL lets one
//! thread compute at a time. Rust has no GIL, so here threads scale too — the point of the
//! demo is that the code is the same: `run` is generic over `Submit<Call<u64, u64>>`, and
//! only the line that builds the executor changes. Both timings are printed (processes pay
//! for serialising arguments and results, and for starting the workers).

use std::time::Instant;

use skein_pool::{Call, Executor, ProcessPoolExecutor, Submit, ThreadPoolExecutor};

/// Counts the primes below `n` (deliberately naive: CPU-bound).
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

fn run<E: Submit<Call<u64, u64>, Output = u64>>(executor: &E) -> u64 {
    let futures: Vec<_> = (0..16)
        .map(|i| {
            executor
                .submit(Call::new(count_primes, 60_000 + i))
                .expect("submit")
        })
        .collect();
    futures
        .into_iter()
        .map(|f| f.into_result().expect("ok"))
        .sum()
}

fn main() {
    skein_process::init();
    let t = Instant::now();
    let sequential: u64 = (0..16).map(|i| count_primes(60_000 + i)).sum();
    println!(
        "sequential:          {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let t = Instant::now();
    let executor = ThreadPoolExecutor::new(2).expect("threads"); // ← the one line
    let by_threads = run(&executor);
    executor.shutdown(true, false);
    println!(
        "ThreadPoolExecutor:  {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let t = Instant::now();
    let executor = ProcessPoolExecutor::new(2).expect("processes"); // ← the one line
    let by_processes = run(&executor);
    executor.shutdown(true, false);
    println!(
        "ProcessPoolExecutor: {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    assert_eq!(by_threads, sequential);
    assert_eq!(by_processes, sequential);
    println!("primes counted (16 ranges): {sequential}");
}
