//! `Queue(3)` across processes: full, put with a timeout, put_nowait, then drain.
//!
//! Seed: 001 (q = multiprocessing.Queue(3): full(), put(4, timeout=1), put_nowait(4))
//! Example: 001 § 基础使用 — q = multiprocessing.Queue(3)
//!
//! A child process fills the three places; the parent sees the queue full, and each way
//! of putting a fourth item fails — and hands the item back, so nothing is lost. Then
//! it drains the queue in order.

use std::time::Duration;

use skein_process::{Process, Queue};

fn fill(q: Queue<i32>) {
    q.put(1).unwrap();
    q.put(2).unwrap();
    println!("child: full after two puts? {}", q.is_full());
    q.put(3).unwrap();
    println!("child: full after three puts? {}", q.is_full());
}

fn main() {
    skein_process::init();
    let q = Queue::bounded(3).expect("shared memory"); // 3 is the maximum number of items
    let child = Process::new(fill, q.clone()).start().expect("start");
    child.join().expect("join");

    println!("== put(4, timeout=1) ==");
    if let Err(e) = q.put_timeout(4, Duration::from_millis(300)) {
        println!("{e}; the queue is full! now we have {} items", q.qsize());
        println!("the item comes back inside the error: {}", e.into_inner());
    }
    println!("== put_nowait(4) ==");
    if let Err(e) = q.try_put(4) {
        println!("{e}; the queue is full! now we have {} items", q.qsize());
    }
    println!("== put(4, block=False) is put_nowait: try_put again ==");
    if let Err(e) = q.try_put(4) {
        println!("{e}; the queue is full! now we have {} items", q.qsize());
    }
    println!("== drain ==");
    while let Ok(v) = q.try_get() {
        println!("{v}");
    }
}
