//! as_completed and wait(FIRST_COMPLETED): take results as they finish, not as submitted.
//! Seed: 000 (线程池 / 回调: 结果返回后进行下个函数的调用)
//! Time bound: 30 s
//!
//! Five tasks sleep different times. `as_completed` yields each future once, the fastest
//! first; `wait(.., FirstCompleted)` returns as soon as one is done, with the indices of
//! the done and not-done futures. A lazy `map` keeps results in input order and never has
//! more than 2 x workers items in flight, so it can run over an endless iterator.

use std::thread;
use std::time::Duration;

use skein_pool::{Future, ReturnWhen, Submit, ThreadPoolExecutor, as_completed, wait};

/// One task per delay: it sleeps that many milliseconds and returns them.
fn submit_sleepers(pool: &ThreadPoolExecutor, delays: &[u64]) -> Vec<Future<u64>> {
    delays
        .iter()
        .map(|&ms| {
            pool.submit(move || {
                thread::sleep(Duration::from_millis(ms));
                ms
            })
            .expect("the pool is open")
        })
        .collect()
}

fn main() {
    let pool = ThreadPoolExecutor::new(5).expect("a pool of 5");
    let delays = [250u64, 50, 150, 10, 100];

    println!("== as_completed ==");
    let futures = submit_sleepers(&pool, &delays);
    for future in as_completed(futures) {
        println!(
            "finished: task that slept {:>3} ms",
            future.result().unwrap()
        );
    }

    println!("\n== wait(FirstCompleted) ==");
    let futures = submit_sleepers(&pool, &delays);
    let first = wait(&futures, ReturnWhen::FirstCompleted);
    println!("done: {:?}  not done: {:?}", first.done, first.not_done);
    let all = wait(&futures, ReturnWhen::AllCompleted);
    println!("after AllCompleted, done: {:?}", all.done);

    println!("\n== lazy map over an endless iterator ==");
    let squares: Vec<u64> = pool
        .map(|n: u64| n * n, 1u64..)
        .take(8)
        .map(Result::unwrap)
        .collect();
    println!("first 8 squares: {squares:?}");
}
