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
//! situation, and with real parallelism (no GIL) updates go missing quickly. The fix is a
//! lock (next demo) or a single atomic `fetch_add`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

const THREADS: u64 = 4;
const PER_THREAD: u64 = 200_000;

fn main() {
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
