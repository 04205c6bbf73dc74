//! `joinall` over three tasks each sleeping 1 s: done in about 1 s, not 3.
//! Seed: 001 (协程 — 回收: `monkey.patch_all()`, `time.sleep(1)`, `gevent.joinall([...])`)
//! Example: 001 § 回收 — gevent.joinall([
//! Time bound: 30 s
//!
//! In the seed, `monkey.patch_all()` turns `time.sleep(1)` into a cooperative sleep, so
//! three greenlets sleeping at once take the time of one. skein has no patching: the
//! cooperative sleep is `hub::sleep`. While one task sleeps the hub runs the others, and
//! when all sleep it waits on its timer heap for the earliest deadline.
//!
//! Each round of the three tasks finishes in about one second; the whole run in about
//! five — the notes' point that coroutines suit IO-bound (here: waiting) work.

use std::time::{Duration, Instant};

use skein_coroutine::hub;

fn f(n: u32, start: Instant) {
    for i in 0..n {
        println!(
            "[{:>5.2} s] {} {i}",
            start.elapsed().as_secs_f64(),
            hub::getcurrent()
        );
        hub::sleep(Duration::from_secs(1));
    }
}

fn main() {
    println!("== joinall over three tasks, each sleeping 1 s ==");
    let start = Instant::now();
    let sleepers: Vec<_> = (0..3)
        .map(|_| hub::spawn(|| hub::sleep(Duration::from_secs(1))))
        .collect();
    hub::joinall(&sleepers);
    println!(
        "took {:.2} s (one after another: 3 s)\n",
        start.elapsed().as_secs_f64()
    );

    println!("== joinall([spawn(f, 5), spawn(f, 5), spawn(f, 5)]) with a 1 s green sleep ==");
    let start = Instant::now();
    let tasks = [
        hub::spawn(move || f(5, start)),
        hub::spawn(move || f(5, start)),
        hub::spawn(move || f(5, start)),
    ];
    hub::joinall(&tasks);
    for t in tasks {
        t.join().expect("task");
    }
    let took = start.elapsed();
    println!(
        "three tasks x five 1 s sleeps took {:.2} s (sequential: 15 s)",
        took.as_secs_f64()
    );

    println!("\n== joinall with a timeout: three tasks sleeping 1 s, limit 0.5 s ==");
    let start = Instant::now();
    let sleepers: Vec<_> = (0..3)
        .map(|_| hub::spawn(|| hub::sleep(Duration::from_secs(1))))
        .collect();
    let done = hub::joinall_timeout(&sleepers, Duration::from_millis(500));
    println!(
        "after {:.2} s: {done} of 3 finished",
        start.elapsed().as_secs_f64()
    );
    hub::joinall(&sleepers);
    println!(
        "after {:.2} s: all 3 finished",
        start.elapsed().as_secs_f64()
    );
}
