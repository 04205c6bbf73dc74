//! `BoundedSemaphore(3)` lets three threads in at a time; releasing too often is an error.
//! Seed: 000 (`threading.BoundedSemaphore(3)`: at most three threads enter; ValueError on misuse)
//! Example: 004 § 案例14
//!
//! Eight workers share a semaphore with three permits. Each enters (acquire), works a little
//! and leaves (the guard gives the permit back). We track how many are inside at once: never
//! more than three. Then the bounded part: a `BoundedSemaphore` refuses to grow past its
//! initial value, so one `release()` too many is reported as an error (Python raises
//! `ValueError: Semaphore released too many times`) instead of silently admitting a fourth.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use skein_locks::BoundedSemaphore;

fn main() {
    println!("== 8 workers, 3 permits ==");
    let sem = BoundedSemaphore::new(3);
    let inside = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    thread::scope(|s| {
        for i in 0..8 {
            let (sem, inside, peak) = (&sem, &inside, &peak);
            s.spawn(move || {
                let _permit = sem.acquire(); // with sem:
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                println!("worker {i} enters ({now} inside)");
                thread::sleep(Duration::from_millis(40));
                inside.fetch_sub(1, Ordering::SeqCst);
                println!("worker {i} leaves");
            });
        }
    });
    let peak = peak.load(Ordering::SeqCst);
    println!("at most {peak} were inside at once");
    assert!(peak <= 3);

    println!("\n== one release too many ==");
    sem.acquire().leak(); // acquire() without a guard, Python style
    println!("acquired by hand: value {}", sem.value());
    println!("release(): {:?}, value {}", sem.release(1), sem.value());
    match sem.release(1) {
        Ok(()) => unreachable!("a bounded semaphore cannot exceed its bound"),
        Err(e) => println!("release() again: error: {e}"),
    }
    assert_eq!(sem.value(), 3);
}
