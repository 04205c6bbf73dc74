//! The Queue(3) walk-through: full(), put with a timeout, put_nowait, block=False, drain.
//! Seed: 001 (multiprocessing.Queue(3) 满队列示例)
//! Example: 001 § 基础使用 — q = multiprocessing.Queue(3)
//! Time bound: 10 s
//!
//! Seed 001 fills a `Queue(3)`, shows `full()` turning true, then tries three ways of
//! putting a fourth item into the full queue — `put(4, timeout=1)`, `put_nowait(4)` and
//! `put(4, block=False)` — each raising `queue.Full`, and finally drains the queue.
//! In skein the failure is a value, `PutTimeoutError::Timeout(4)` or
//! `TryPutError::Full(4)`, and the item comes back inside it.

use std::time::{Duration, Instant};

use skein_queue::Queue;

fn main() {
    println!("== q = Queue(3) ==");
    let q = Queue::new(3);
    q.put(1).unwrap();
    q.put(2).unwrap();
    println!("after put(1), put(2): full() = {}", q.is_full());
    q.put(3).unwrap();
    println!("after put(3):         full() = {}", q.is_full());

    println!("\n== put(4, timeout=...) on a full queue ==");
    // The notes wait one second; a tenth is enough to show it.
    let start = Instant::now();
    match q.put_timeout(4, Duration::from_millis(100)) {
        Ok(()) => unreachable!("the queue is full"),
        Err(e) => {
            assert!(start.elapsed() >= Duration::from_millis(100));
            println!("{e} (waited 100 ms)");
            println!("item {} handed back", e.into_inner());
            println!(
                "The queue is full! now we have {} items in the queue",
                q.qsize()
            );
        }
    }

    println!("\n== put_nowait(4) ==");
    if let Err(e) = q.try_put(4) {
        println!("{e:?}: {e}");
        println!(
            "The queue is full! now we have {} items in the queue",
            q.qsize()
        );
    }

    println!("\n== put(4, block=False) is the same call in Rust: try_put ==");
    let back = q.try_put(4).unwrap_err().into_inner();
    println!("got {back} back; the queue still holds {} items", q.qsize());

    println!("\n== drain: for i in range(q.qsize()): print(q.get()) ==");
    if !q.is_empty() {
        for _ in 0..q.qsize() {
            println!("{}", q.get().unwrap());
        }
    }
    println!("empty() = {}", q.is_empty());
}
