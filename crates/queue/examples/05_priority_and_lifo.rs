//! Order: Queue is FIFO, LifoQueue is LIFO, PriorityQueue hands out the smallest first.
//! Seed: 004 (queue 先进先出, 可以理解成一个特殊的list)
//! Time bound: 10 s
//!
//! The notes describe a queue as "first in, first out, like a special list". Python's
//! `queue` module has two siblings with the same API and another order: `LifoQueue`
//! (a stack) and `PriorityQueue` (a heap; put `(priority, item)` tuples, lowest first).
//! Use `std::cmp::Reverse` for highest first.

use std::cmp::Reverse;

use skein_queue::{LifoQueue, PriorityQueue, Queue};

fn main() {
    let words = ["one", "two", "three", "four"];

    println!("== Queue (FIFO) ==");
    let q = Queue::new(0);
    for w in words {
        q.put(w).unwrap();
    }
    println!("  {:?}", q.try_iter().collect::<Vec<_>>());

    println!("\n== LifoQueue (LIFO) ==");
    let q = LifoQueue::new(0);
    for w in words {
        q.put(w).unwrap();
    }
    println!("  {:?}", q.try_iter().collect::<Vec<_>>());

    println!("\n== PriorityQueue: (priority, task) tuples, lowest first ==");
    let q = PriorityQueue::new(0);
    for job in [(3, "sleep"), (1, "eat"), (4, "repeat"), (2, "code")] {
        q.put(job).unwrap();
    }
    while let Ok((priority, task)) = q.try_get() {
        println!("  {priority}: {task}");
    }

    println!("\n== PriorityQueue with Reverse: highest first ==");
    let q = PriorityQueue::new(3);
    for n in [10, 30, 20] {
        q.put(Reverse(n)).unwrap();
    }
    println!("  full() = {}", q.is_full());
    println!(
        "  {:?}",
        q.try_iter().map(|Reverse(n)| n).collect::<Vec<_>>()
    );
}
