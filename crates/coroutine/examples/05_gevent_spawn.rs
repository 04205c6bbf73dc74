//! Three green tasks taking turns with `sleep(0)`: gevent's `spawn(f, 5)` x3.
//! Seed: 001 (协程 — 使用gevent: `gevent.spawn(f, 5)` three times, `g1.join()`)
//! Example: 001 § 使用gevent — g1 = gevent.spawn(f, 5)
//!
//! `hub::spawn` only queues a task. The first blocking call of the main context —
//! `g1.join()` here, as in gevent — runs the hub: each task prints one line and yields
//! with `sleep(Duration::ZERO)`, which puts it at the back of the ready queue, so the
//! three interleave `0 0 0 1 1 1 …` exactly as the seed's output shows.
//!
//! Python prints `<Greenlet at 0x…: f(5)>`; skein's `getcurrent()` shows the task's name.
//! Unlike gevent no patching is involved: `hub::sleep` is cooperative by construction,
//! and `std::thread::sleep` would block the whole hub (demo 08 catches that).

use std::time::Duration;

use skein_coroutine::hub;

fn f(n: u32) {
    for i in 0..n {
        println!("{} {i}", hub::getcurrent());
        hub::sleep(Duration::ZERO);
    }
}

fn main() {
    println!("== gevent.spawn(f, 5) x3, then g1.join(), g2.join(), g3.join() ==");
    let g1 = hub::spawn(|| f(5));
    let g2 = hub::spawn(|| f(5));
    let g3 = hub::spawn(|| f(5));
    g1.join().expect("g1");
    g2.join().expect("g2");
    g3.join().expect("g3");
    println!("all three finished; live tasks: {}", hub::live_tasks());
}
