//! `RLock` in a recursive function: the owner re-enters; a plain `Lock` would block itself.
//! Seed: 004 (case 16: a reentrant lock for recursion; also seed 001's `threading.RLock()`)
//! Example: 001 § 互斥锁 — mutex = threading.RLock()
//! Example: 004 § 案例16
//!
//! `countdown(n)` takes the lock, then calls itself: with an `RLock` each level just bumps the
//! owner's count, and the lock is free once every level has returned. Two threads run it; the
//! second waits for the first to unwind completely. With a plain `Lock` the second level
//! would wait for the first — forever; `try_acquire` shows that it is taken.

use std::thread;

use skein_locks::{Lock, RLock};

fn countdown(lock: &RLock, n: u32) {
    let _g = lock.acquire();
    let who = thread::current().name().unwrap_or("?").to_string();
    println!("{who}: level {n}, held {} time(s)", lock.count());
    if n > 1 {
        countdown(lock, n - 1);
    }
}

fn main() {
    println!("== two threads run a recursive function under one RLock ==");
    let lock = RLock::named("rlock");
    thread::scope(|s| {
        for name in ["t1", "t2"] {
            let lock = &lock;
            thread::Builder::new()
                .name(name.into())
                .spawn_scoped(s, move || countdown(lock, 4))
                .unwrap();
        }
    });
    println!("free again: locked = {}", lock.is_locked());
    assert!(!lock.is_locked());

    println!("\n== the same with a plain Lock ==");
    let plain = Lock::new();
    let _outer = plain.acquire();
    match plain.try_acquire() {
        Some(_) => unreachable!("a Lock is not reentrant"),
        None => {
            println!("second acquire by the same thread would block forever (try_acquire -> None)")
        }
    }
}
