//! Producer/consumer with a `JoinableQueue`: task_done/join, then sentinels.
//!
//! Seed: 004 (案例20-22: 生产者消费者, JoinableQueue, 哨兵)
//! Example: 004 § 案例20
//! Example: 004 § 案例21
//! Example: 004 § 案例22
//!
//! Case 20: consumers mark each item done, and the producer's `join` returns when all
//! were processed. Case 21: one sentinel (`None`) per consumer tells it to stop. Case 22:
//! the improvement — the parent puts the sentinels after joining the producers, so no
//! consumer can stop early.

use skein_process::{JoinableQueue, Process, ProcessHandle};

fn consumer((name, q): (String, JoinableQueue<Option<String>>)) {
    loop {
        let item = q.get().unwrap();
        match item {
            None => {
                q.task_done().unwrap();
                println!("{name}: got the sentinel, stopping");
                break;
            }
            Some(food) => {
                println!("{name} ate {food}");
                q.task_done().unwrap();
            }
        }
    }
}

fn producer((name, q): (String, JoinableQueue<Option<String>>)) {
    for i in 0..3 {
        q.put(Some(format!("{name}-bun-{i}"))).unwrap();
    }
    q.join().expect("no consumer died"); // case 20: wait until the consumers processed everything
    println!("{name}: all my buns were eaten");
}

/// Starts one `role` process per name, each with its name and the queue.
fn start_each(
    names: [&str; 2],
    role: fn((String, JoinableQueue<Option<String>>)),
    q: &JoinableQueue<Option<String>>,
) -> Vec<ProcessHandle> {
    names
        .iter()
        .map(|n| {
            Process::new(role, (n.to_string(), q.clone()))
                .start()
                .expect("start")
        })
        .collect()
}

fn main() {
    skein_process::init();
    let q = JoinableQueue::bounded(4).expect("shared memory");
    let consumers = start_each(["c1", "c2"], consumer, &q);
    let producers = start_each(["p1", "p2"], producer, &q);
    for p in producers {
        p.join().expect("join");
    }
    println!("== producers done: one sentinel per consumer (case 22) ==");
    for _ in &consumers {
        q.put(None).unwrap();
    }
    for c in consumers {
        c.join().expect("join");
    }
    q.join().expect("no consumer died");
    println!("unfinished tasks: {}", q.unfinished_tasks());
}
