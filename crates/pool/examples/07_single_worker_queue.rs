//! The notes' hand-made single-thread worker pool, and the same with a pool of one.
//! Seed: 003 (MyThread: 子线程从队列取任务, apply_async 往队列放任务)
//! Example: 003 § 3.进程池 — class MyThread(Thread):
//! Time bound: 30 s
//!
//! Seed 003 builds a worker by hand: a thread that loops on `queue.get()` and calls each
//! task, and an `apply_async(task)` that puts tasks on the queue. A pool of one worker is
//! exactly that, with futures, shutdown and error handling added; tasks run in the order
//! they were queued. The notes' tasks sleep 1 s; here 50 ms.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use skein_pool::{Submit, ThreadPool, ThreadPoolExecutor};

fn task_1() {
    println!("任务一开始");
    thread::sleep(Duration::from_millis(50));
    println!("任务一完成");
}

fn task_2() {
    println!("任务二开始");
    thread::sleep(Duration::from_millis(50));
    println!("任务二完成");
}

fn main() {
    println!("== by hand: a thread looping on a queue ==");
    let (tx, rx) = mpsc::sync_channel::<fn()>(5);
    let worker = thread::spawn(move || {
        for task in rx {
            println!("拿到了: a task");
            task();
        }
    });
    tx.send(task_1).unwrap();
    tx.send(task_2).unwrap();
    drop(tx); // the notes loop forever; closing the queue ends the demo
    worker.join().unwrap();

    println!("\n== ThreadPoolExecutor(1) ==");
    let pool = ThreadPoolExecutor::new(1).expect("a pool of 1");
    let a = pool.submit(task_1).expect("open");
    let b = pool.submit(task_2).expect("open");
    a.wait();
    b.wait();

    println!("\n== ThreadPool(1).apply_async ==");
    let pool = ThreadPool::new(1).expect("a pool of 1");
    let a = pool.apply_async(task_1).expect("open");
    let b = pool.apply_async(task_2).expect("open");
    pool.close();
    pool.join().expect("closed");
    println!("both ready: {}", a.ready() && b.ready());
}
