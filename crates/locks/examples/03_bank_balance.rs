//! The bank balance: 100,000 deposit/withdraw pairs per thread; with a lock it stays 0.
//! Seed: 002 (`balance`, `change_it(n)` deposits then withdraws; threads t1 (5) and t2 (8))
//! Example: 002 § 多线程 — balance = balance + n
//!
//! `change_it` adds `n` and subtracts it again, so the balance should always be 0. Without a
//! lock the two threads interleave their load/store steps and the balance drifts; with the
//! lock (acquire, `try: change_it(n) finally: release()`) it never does. In Rust the guard's
//! `Drop` is the `finally`. The seed prints the balance on every iteration; we print a few.

use std::sync::Barrier;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread;

use skein_locks::Lock;

const ROUNDS: u32 = 100_000;

static BALANCE: AtomicI64 = AtomicI64::new(0);
static LOCK: Lock = Lock::new();

fn change_it(n: i64) {
    // balance = balance + n; balance = balance - n   (each a separate load and store; the
    // short spin stands for the work Python does between reading and writing)
    let b = BALANCE.load(Ordering::Relaxed);
    spin();
    BALANCE.store(b + n, Ordering::Relaxed);
    let b = BALANCE.load(Ordering::Relaxed);
    spin();
    BALANCE.store(b - n, Ordering::Relaxed);
}

fn spin() {
    for _ in 0..8 {
        std::hint::spin_loop();
    }
}

fn run_thread(n: i64, locked: bool, start: &Barrier) {
    start.wait(); // t1.start(); t2.start() — let both really run at the same time
    for i in 0..ROUNDS {
        if locked {
            let _g = LOCK.acquire(); // lock.acquire(); try: ... finally: lock.release()
            change_it(n);
        } else {
            change_it(n);
            if i % 512 == 0 {
                thread::yield_now(); // give the other thread a chance to interleave
            }
        }
        if locked && i % 25_000 == 0 {
            let name = thread::current().name().unwrap_or("?").to_string();
            println!(
                "current thread is {name}, balance = {}",
                BALANCE.load(Ordering::Relaxed)
            );
        }
    }
}

fn run(locked: bool) -> i64 {
    BALANCE.store(0, Ordering::Relaxed);
    let start = Barrier::new(2);
    thread::scope(|s| {
        let start = &start;
        let t1 = thread::Builder::new().name("t1".into());
        let t2 = thread::Builder::new().name("t2".into());
        t1.spawn_scoped(s, move || run_thread(5, locked, start))
            .unwrap();
        t2.spawn_scoped(s, move || run_thread(8, locked, start))
            .unwrap();
    });
    BALANCE.load(Ordering::Relaxed)
}

fn main() {
    println!("== without a lock ==");
    let drift = run(false);
    println!("final balance = {drift} (should be 0; any other value is lost updates)");
    if drift == 0 {
        println!("(this run happened to come out at 0 — the race is still there; run it again)");
    }

    println!("\n== with lock.acquire() / release() around change_it ==");
    let balance = run(true);
    println!("final balance = {balance}");
    assert_eq!(balance, 0);
}
