//! Lost updates: threads doing an unguarded read-modify-write on a shared counter.
//! Seed: 000 (a global `n` incremented by 20 threads — here first without any lock)
//! Example: 000 § 未加锁 — n += 1
//! Example: 004 § 案例09
//!
//! In Python `n += 1` on a global is three steps (load, add, store) and the GIL may switch
//! threads between them, so two threads can read the same value and one update is lost.
//!
//! In Rust the plain version does not even compile:
//!
//! ```text
//! let mut n = 0;
//! thread::scope(|s| for _ in 0..2 { s.spawn(|| n += 1); });
//! // error[E0499]: cannot borrow `n` as mutable more than once at a time
//! ```
//!
//! Safe Rust forbids data races, so to *show* the race we spell the three steps out with an
//! atomic: `load`, add, `store`. Each step is atomic, the whole is not — exactly Python's
//! situation. First the notes' program as written: 20 threads (`Thread-1` … `Thread-20`),
//! each printing `number: n, threading name: …` and doing `n += 1` once. The print sits
//! between the read of `n` and the write, so even here two threads often print the same
//! number and one increment is lost; a run may also lose none — which is how this bug
//! hides. So then four threads do it 200,000 times each, and with real parallelism (no
//! GIL) updates go missing every time. The fix is a lock (next demo) or a single atomic `fetch_add`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 200_000;

/// The notes' `MyThread.run`: print n and the thread's name, then `n += 1` — unguarded.
fn run(n: &AtomicU64) {
    let v = n.load(Ordering::Relaxed); // global n
    let name = thread::current().name().unwrap_or("?").to_string();
    println!("number: {v},  threading name: {name}");
    n.store(v + 1, Ordering::Relaxed); // n += 1 (written back from the value read above)
}

fn main() {
    println!("== the notes' program: 20 threads, each prints and does n += 1 once, no lock ==");
    let n = AtomicU64::new(0);
    thread::scope(|s| {
        let thread_list: Vec<_> = (1..=20)
            .map(|i| thread::Builder::new().name(format!("Thread-{i}")))
            .collect();
        for t in thread_list {
            t.spawn_scoped(s, || run(&n)).expect("spawn");
        }
    });
    let got = n.load(Ordering::Relaxed);
    println!(
        "n = {got} after 20 increments: {} lost (a repeated number is two threads that read the same n)\n",
        20 - got
    );

    println!("== {THREADS} threads x {PER_THREAD} increments, load + store (no lock) ==");
    let n = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for i in 0..PER_THREAD {
                    let v = n.load(Ordering::Relaxed); // read
                    if i % 1024 == 0 {
                        thread::yield_now(); // a "thread switch" between read and write
                    }
                    n.store(v + 1, Ordering::Relaxed); // write back: may overwrite others
                }
            });
        }
    });
    let expected = THREADS * PER_THREAD;
    let got = n.load(Ordering::Relaxed);
    println!(
        "expected {expected}, got {got}: {} updates lost",
        expected - got
    );
    if got == expected {
        println!("(this run happened to lose none — the race is still there; run it again)");
    }

    println!("\n== the same with one atomic read-modify-write (fetch_add) ==");
    let n = AtomicU64::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..PER_THREAD {
                    n.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    println!("expected {expected}, got {}", n.load(Ordering::Relaxed));
    assert_eq!(n.load(Ordering::Relaxed), expected);
}
