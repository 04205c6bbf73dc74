//! Deadlock: two threads take two locks in opposite order; skein detects and reports it.
//! Seed: 004 (case 12: the deadlock problem — func_1 takes lock_1 then lock_2, func_2 the reverse)
//! Example: 004 § 案例12
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

/// Takes `first`, waits until the other thread holds its first lock too, then asks for
/// `second` with `acquire_checked` (func_1 and func_2 of the seed, with the locks swapped).
fn take_both(me: &str, first: &Lock, second: &Lock, both_hold_one: &Barrier) {
    let (a, b) = (first.name().unwrap(), second.name().unwrap());
    let _first = first.acquire();
    println!("{me}: got {a}, now asking for {b}");
    both_hold_one.wait();
    match second.acquire_checked() {
        Ok(_second) => println!("{me}: got {b}"),
        Err(e) => println!(
            "{me}: no {b}: DeadlockError ({} threads)",
            e.report().edges().len()
        ),
    }
}

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
        let threads = [("func_1", &lock_1, &lock_2), ("func_2", &lock_2, &lock_1)].map(
            |(name, first, second)| {
                let both_hold_one = &both_hold_one;
                thread::Builder::new()
                    .name(name.into())
                    .spawn_scoped(s, move || take_both(name, first, second, both_hold_one))
                    .unwrap()
            },
        );
        for t in threads {
            t.join().unwrap();
        }
    });
    println!("\nboth threads ended; no hang");
}
