//! Stopping consumers: one sentinel, a sentinel per consumer, then shutdown() with none.
//! Seed: 004 (案例21 队列中哨兵的使用, 案例22 哨兵的改进)
//! Example: 004 § 案例21
//! Example: 004 § 案例22
//! Time bound: 10 s
//!
//! Case 21 puts a single `None` after the work: the consumer that takes it stops, but
//! with two consumers the other waits forever (here: until a timeout shows it). Case 22
//! fixes it with one sentinel per consumer. `shutdown()` replaces sentinels: consumers
//! drain what is left and their `get` then fails with ShutDown; `shutdown_immediate()`
//! stops them at once and hands the unprocessed items back.

use std::thread;
use std::time::Duration;

use skein_queue::{GetTimeoutError, Queue};

fn consumer(name: &'static str, q: Queue<Option<u32>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        loop {
            match q.get_timeout(Duration::from_millis(300)) {
                Ok(Some(item)) => println!("  {name} consumed {item}"),
                Ok(None) => {
                    println!("  {name} got the sentinel, stops");
                    return;
                }
                Err(GetTimeoutError::Timeout) => {
                    println!(
                        "  {name} still waiting for a sentinel... gives up (a hang in Python)"
                    );
                    return;
                }
                Err(GetTimeoutError::ShutDown) => unreachable!("not shut down in this part"),
            }
        }
    })
}

fn main() {
    println!("== case 21: one sentinel, two consumers ==");
    let q = Queue::new(0);
    let consumers = [consumer("C1", q.clone()), consumer("C2", q.clone())];
    for i in 0..4 {
        q.put(Some(i)).unwrap();
    }
    q.put(None).unwrap();
    for c in consumers {
        c.join().unwrap();
    }

    println!("\n== case 22: one sentinel per consumer ==");
    let q = Queue::new(0);
    let consumers = [consumer("C1", q.clone()), consumer("C2", q.clone())];
    for i in 0..4 {
        q.put(Some(i)).unwrap();
    }
    for _ in &consumers {
        q.put(None).unwrap();
    }
    for c in consumers {
        c.join().unwrap();
    }

    println!("\n== shutdown(): no sentinel, consumers drain then stop ==");
    let q = Queue::new(0);
    let consumers: Vec<_> = ["C1", "C2"]
        .into_iter()
        .map(|name| {
            let q = q.clone();
            thread::spawn(move || {
                let mut n = 0;
                while let Ok(item) = q.get() {
                    println!("  {name} consumed {item}");
                    n += 1;
                }
                println!("  {name}: get() says the queue is shut down and empty, stops");
                n
            })
        })
        .collect();
    for i in 0..4 {
        q.put(i).unwrap();
    }
    q.shutdown();
    println!("  put after shutdown: {:?}", q.put(99).unwrap_err());
    let total: i32 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    println!("  all {total} items consumed");

    println!("\n== shutdown(immediate=True): stop now, get the leftovers back ==");
    let q = Queue::new(0);
    for i in 0..5 {
        q.put(i).unwrap();
    }
    let first = q.get().unwrap();
    println!("  a worker took {first}");
    let left = q.shutdown_immediate();
    println!("  shutdown_immediate handed back {left:?} (Python would drop them)");
    println!("  get now: {:?}", q.get());
    q.task_done().unwrap();
    println!(
        "  after the worker's task_done, unfinished tasks = {}",
        q.unfinished_tasks()
    );
}
