//! task1 puts five letters, task2 polls `q.empty()` forever: the parent's `p2.join()` never returns.
//!
//! Seed: 001 (进程间通信: task1(q) puts 'a'…'e'; task2(q) loops `if not q.empty(): q.get()`)
//! Example: 001 § 进程间通信 — def task2(q):
//! Time bound: 30 s
//!
//! As in the notes, the parent makes one `Queue` and passes it to both processes as an
//! argument; task1 puts 'a' to 'e' with random pauses, task2 loops forever, taking a value
//! whenever the queue is not empty. The notes then call `p1.join()` and `p2.join()` and
//! print "Done" — which never happens: task2's `while True` has no exit, so `p2.join()`
//! waits forever. Here the parent joins p1, waits for the queue to be drained, then shows
//! that `join` would block (`join_timeout` returns `None`), and ends task2 with
//! `terminate()` before printing "Done". (task2's `if not q.empty()` also spins on the
//! CPU while the queue is empty; a blocking `q.get()` would sleep instead.)

use std::time::Duration;

use skein_process::{Process, Queue};

fn pause(state: &mut u64) {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    std::thread::sleep(Duration::from_millis(20 + (*state >> 33) % 100));
}

fn task1(q: Queue<char>) {
    let mut state = u64::from(skein_process::getpid().unsigned_abs());
    for value in ['a', 'b', 'c', 'd', 'e'] {
        println!("Task1 is putting value:  {value}");
        pause(&mut state);
        q.put(value).expect("the queue is open");
    }
}

fn task2(q: Queue<char>) {
    let mut state = u64::from(skein_process::getpid().unsigned_abs()) * 7;
    loop {
        if !q.is_empty() {
            let value = q.get().expect("the queue is open");
            println!("    task2 is get value:  {value}");
            pause(&mut state);
        }
    }
}

fn main() {
    skein_process::init();
    println!("== q = Queue(); p1 = Process(target=task1, args=(q,)); p2 = … task2 ==");
    let q = Queue::new().expect("shared memory");
    let p1 = Process::new(task1, q.clone()).start().expect("start p1");
    let p2 = Process::new(task2, q.clone()).start().expect("start p2");
    println!("p1.join(): {:?}", p1.join().expect("join p1"));
    while !q.is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    match p2
        .join_timeout(Duration::from_millis(500))
        .expect("join p2")
    {
        None => println!(
            "p2.join(): still waiting after 500 ms — task2 never ends, the notes' program hangs here"
        ),
        Some(code) => println!("p2 ended by itself with exit code {code}?"),
    }
    p2.terminate().expect("terminate p2");
    println!(
        "p2.terminate(); p2.join(): {:?} (-15 = SIGTERM)",
        p2.join().expect("join p2")
    );
    println!("Done");
}
