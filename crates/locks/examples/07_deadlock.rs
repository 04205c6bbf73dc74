//! Deadlock: two threads take two locks in opposite order; skein detects and reports it.
//! Seed: 004 (case 12: the deadlock problem — func_1 takes lock_1 then lock_2, func_2 the reverse)
//! Time bound: 20 s
//!
//! Thread `func_1` holds `lock_1` and wants `lock_2`; thread `func_2` holds `lock_2` and
//! wants `lock_1`. In Python both wait forever. skein keeps a wait-for graph of its locks:
//! the moment the second thread starts waiting, the cycle closes, and the detector reports
//! it with the thread and lock names. Because both threads used `acquire_checked`, each gets
//! a `DeadlockError` instead of hanging, lets go of the lock it holds, and the program ends.
//! (Detection is on by default in debug builds; this demo turns it on for release builds.)

use std::sync::Barrier;
use std::thread;

use skein_locks::{Lock, deadlock};

fn main() {
    deadlock::set_enabled(true);
    deadlock::set_handler(|report| {
        println!("\n== the detector found a cycle ==\n{report}\n");
    });
    let lock_1 = Lock::named("lock_1");
    let lock_2 = Lock::named("lock_2");
    let both_hold_one = Barrier::new(2);

    println!("== two threads, two locks, opposite order ==");
    thread::scope(|s| {
        let f1 = thread::Builder::new()
            .name("func_1".into())
            .spawn_scoped(s, || {
                let _a = lock_1.acquire();
                println!("func_1: got lock_1, now asking for lock_2");
                both_hold_one.wait();
                match lock_2.acquire_checked() {
                    Ok(_b) => println!("func_1: got lock_2"),
                    Err(e) => println!(
                        "func_1: no lock_2: DeadlockError ({} threads)",
                        e.report().edges().len()
                    ),
                }
            });
        let f2 = thread::Builder::new()
            .name("func_2".into())
            .spawn_scoped(s, || {
                let _b = lock_2.acquire();
                println!("func_2: got lock_2, now asking for lock_1");
                both_hold_one.wait();
                match lock_1.acquire_checked() {
                    Ok(_a) => println!("func_2: got lock_1"),
                    Err(e) => println!(
                        "func_2: no lock_1: DeadlockError ({} threads)",
                        e.report().edges().len()
                    ),
                }
            });
        f1.unwrap().join().unwrap();
        f2.unwrap().join().unwrap();
    });
    println!("\nboth threads ended; no hang");
}
