//! add100 with the callback add1000: a done-callback gets the finished future.
//! Seed: 000 (线程池的回调函数: future.add_done_callback(add1000))
//! Example: 000 § 线程池的回调函数 — future.add_done_callback(add1000)
//! Time bound: 30 s
//!
//! `add100(num)` runs on the pool; when it is done, `add1000(future)` runs with the
//! future, reads `future.result()` and adds 1000. In Rust the callback is a closure given
//! `&Future<T>`; it runs on the worker that finished the task (or at once, if the future
//! is already done when the callback is added). The notes' callback sleeps 5 s; here 20 ms.

use std::thread;
use std::time::Duration;

use skein_pool::{Future, Submit, ThreadPoolExecutor};

fn add100(num: u32) -> u32 {
    println!(
        "我是 100  (add100({num}) on {})",
        thread::current().name().unwrap_or("?")
    );
    num + 100
}

fn add1000(future: &Future<u32>) {
    let num = *future.result().expect("add100 does not fail");
    thread::sleep(Duration::from_millis(20));
    println!("我是 + 1000 -> {}", num + 1000);
}

fn main() {
    println!("== submit add100(1..=9), each with the callback add1000 ==");
    let pool = ThreadPoolExecutor::new(3).expect("a pool of 3");
    for num in 1..10 {
        println!("开始计算数字: {num} !");
        let future = pool.submit(move || add100(num)).expect("the pool is open");
        future.add_done_callback(add1000);
    }
    drop(pool); // waits for the tasks, and so for their callbacks
    println!("\n== a callback added after completion runs at once ==");
    let pool = ThreadPoolExecutor::new(1).expect("a pool of 1");
    let done = pool.submit(|| add100(0)).expect("the pool is open");
    done.wait();
    done.add_done_callback(|f| println!("ran immediately with result {}", f.result().unwrap()));
}
