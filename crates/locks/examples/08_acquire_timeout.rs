//! Lock waits with a timeout: the thread that cannot get its second lock gives up in time.
//! Seed: 004 (case 13: `lock_1.acquire(timeout=4)`; on failure "func_2 did not get lock_1")
//! Example: 004 § 案例13
//!
//! Same two locks in opposite order as the deadlock demo, but `func_2` waits for `lock_1`
//! with a timeout. When the time is up `acquire_timeout` returns `None` (Python: `False`),
//! `func_2` releases `lock_2`, and `func_1` — which was waiting for it — goes on. A timed
//! wait ends by itself, so the deadlock detector does not report it.

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::Lock;

fn main() {
    let lock_1 = Lock::named("lock_1");
    let lock_2 = Lock::named("lock_2");
    let both_hold_one = Barrier::new(2);
    println!("== func_2 waits for lock_1 at most 0.4 s ==");
    thread::scope(|s| {
        s.spawn(|| {
            let _a = lock_1.acquire();
            println!("func_1: got lock_1");
            both_hold_one.wait();
            println!("func_1: waiting for lock_2 (no timeout)");
            let _b = lock_2.acquire();
            println!("func_1: got lock_2, done");
        });
        s.spawn(|| {
            let b = lock_2.acquire();
            println!("func_2: got lock_2");
            both_hold_one.wait();
            let start = Instant::now();
            match lock_1.acquire_timeout(Duration::from_millis(400)) {
                Some(_a) => println!("func_2: got lock_1"),
                None => println!(
                    "func_2: did not get lock_1 within {:.1} s; releasing lock_2",
                    start.elapsed().as_secs_f64()
                ),
            }
            drop(b);
        });
    });
    println!("\nboth threads ended");
}
