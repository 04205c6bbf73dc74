//! The same counter guarded by a `Lock`: 20 threads, no update lost.
//! Seed: 000 (`mylock = threading.Lock()`; each `MyThread.run` does acquire, print, n += 1, release)
//! Example: 000 § 加线程锁 — mylock = threading.Lock()
//! Example: 001 § 互斥锁 — mutex = threading.Lock()
//! Example: 004 § 案例10
//!
//! Each thread takes the lock, prints the counter and its own name, increments, and releases.
//! The Python version calls `acquire()`/`release()` by hand; in Rust `acquire()` returns a
//! guard and the release happens when the guard goes out of scope — Python's `with mylock:`.
//! Thread names follow Python's default `Thread-N`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use skein_locks::Lock;

static MYLOCK: Lock = Lock::new();
static N: AtomicU64 = AtomicU64::new(0);

fn run() {
    let _guard = MYLOCK.acquire(); // if mylock.acquire():
    let n = N.load(Ordering::Relaxed);
    let name = thread::current().name().unwrap_or("?").to_string();
    println!("number: {n},  threading name: {name}");
    N.store(n + 1, Ordering::Relaxed); // n += 1, safe: only the lock holder is here
} // mylock.release()

fn main() {
    println!("== 20 threads, each increments n once under the lock ==");
    let threads: Vec<_> = (1..=20)
        .map(|i| {
            thread::Builder::new()
                .name(format!("Thread-{i}"))
                .spawn(run)
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    println!("\nfinal n = {} (always 20)", N.load(Ordering::Relaxed));
    assert_eq!(N.load(Ordering::Relaxed), 20);
}
