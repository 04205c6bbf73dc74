//! Two generators advanced in turn by `next()`: the notes' yield work1/work2, with std iterators.
//! Seed: 001 (协程: def work1(): while True: print('work1'); yield; time.sleep(1) — main calls next(w1), next(w2))
//! Example: 001 § 协程 — def work1():
//! Time bound: 20 s
//!
//! Before greenlet and gevent, the notes show multitasking inside one thread: `work1` and
//! `work2` are generators; each `next()` runs one until its `yield`, and `main` calls
//! `next(w1)`, `next(w2)` in a loop, so "work1" and "work2" alternate — on one thread, the
//! switch points chosen by the code ("切换的次数以及时间是开发者自己决定的").
//!
//! Stable Rust has no `yield` in ordinary functions, but a generator is an iterator: a
//! value that remembers where it stopped. `std::iter::from_fn` with a closure that keeps
//! that state is `work1()`; `Iterator::next` is Python's `next()`. Where the generator
//! sleeps after `yield`, the closure sleeps at the start of the next call — the same
//! order of events. The notes loop forever; here `main` runs five rounds. The stackful
//! version (coroutines with their own stacks, greenlet's `switch`) is chapter 6,
//! `crates/coroutine`.

use std::thread::sleep;
use std::time::Duration;

const STEP: Duration = Duration::from_millis(100);

/// `def work1(): while True: print('work1'); yield; time.sleep(1)`
fn work1() -> impl Iterator<Item = ()> {
    let mut resumed = false;
    std::iter::from_fn(move || {
        if resumed {
            sleep(STEP); // the line after `yield`, run when the generator is resumed
        }
        resumed = true;
        println!(
            "work1   (on thread {:?})",
            std::thread::current().name().unwrap_or("?")
        );
        Some(()) // yield
    })
}

/// `def work2(): while True: print('work2'); yield; time.sleep(1)`
fn work2() -> impl Iterator<Item = ()> {
    let mut resumed = false;
    std::iter::from_fn(move || {
        if resumed {
            sleep(STEP);
        }
        resumed = true;
        println!(
            "  work2 (on thread {:?})",
            std::thread::current().name().unwrap_or("?")
        );
        Some(())
    })
}

fn main() {
    println!("== w1 = work1(); w2 = work2(); while True: next(w1); next(w2) ==");
    let mut w1 = work1();
    let mut w2 = work2();
    println!("(creating them ran nothing: a generator starts at its first next())");
    for _ in 0..5 {
        w1.next();
        w2.next();
    }
    println!("five rounds, one thread, no locks: each next() ran one generator up to its yield");
}
