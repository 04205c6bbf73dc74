//! A joinable work queue: workers call task_done() for each item, the producer join()s.
//! Seed: 004 (JoinableQueue, 生产者消费者模型 案例20)
//! Example: 004 § 案例20
//! Time bound: 10 s
//!
//! Python's `queue.Queue` (and `multiprocessing.JoinableQueue`) counts unfinished tasks:
//! every `put` adds one, every `task_done` removes one, `join` waits for zero. The
//! producer learns that every item was *processed*, not just taken. skein adds
//! `join_timeout` (CPython declined it) and turns a `task_done` too many into an error.

use std::thread;
use std::time::{Duration, Instant};

use skein_queue::Queue;

fn main() {
    println!("== 3 workers, 9 jobs, producer joins ==");
    let q = Queue::new(4);
    let workers: Vec<_> = (1..=3)
        .map(|id| {
            let q = q.clone();
            thread::spawn(move || {
                for job in &q {
                    thread::sleep(Duration::from_millis(10 * job)); // the work
                    println!("  worker {id} finished job {job}");
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    let start = Instant::now();
    for job in 1..=9u64 {
        q.put(job).unwrap();
    }
    println!(
        "  all 9 jobs put; unfinished tasks = {}",
        q.unfinished_tasks()
    );
    q.join();
    println!(
        "  join() returned after {:?}: every job is done",
        round(start.elapsed())
    );
    println!("  unfinished tasks = {}", q.unfinished_tasks());

    println!("\n== join_timeout while a slow job runs ==");
    q.put(30u64).unwrap();
    let done = q.join_timeout(Duration::from_millis(5));
    println!("  join_timeout(5 ms) -> {done} (the 300 ms job is still running)");
    let done = q.join_timeout(Duration::from_secs(5));
    println!("  join_timeout(5 s)  -> {done}");

    println!("\n== task_done called too often ==");
    match q.task_done() {
        Ok(()) => unreachable!(),
        Err(e) => println!("  error: {e} (Python: ValueError)"),
    }

    q.shutdown();
    for w in workers {
        w.join().unwrap();
    }
    println!("\nworkers stopped after shutdown()");
}

fn round(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64 / 10 * 10)
}
