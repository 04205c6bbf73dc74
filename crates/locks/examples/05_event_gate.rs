//! An `Event` as a gate: ten threads wait until the main thread opens it.
//! Seed: 000 (`lock = threading.Event()`; threads `lock.wait()`; main calls `lock.set()` on input "1")
//! Example: 000 § 事件Event — lock = threading.Event()
//!
//! Every worker blocks in `event.wait()` while the flag is down. The seed's main thread waits
//! for the user to type `1`; here it waits a moment instead, then calls `set()` and all ten
//! go through at once, in no particular order. `clear()` closes the gate again: a later
//! `wait_timeout` returns `false`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use skein_locks::Event;

fn main() {
    let gate = Event::new();
    let passed = AtomicUsize::new(0);
    println!("== ten threads wait at the gate ==");
    thread::scope(|s| {
        for arg in 0..10 {
            let (gate, passed) = (&gate, &passed);
            s.spawn(move || {
                gate.wait(); // lock.wait()
                passed.fetch_add(1, Ordering::SeqCst);
                println!("{arg}");
            });
        }
        thread::sleep(Duration::from_millis(200));
        println!(
            ">>: 1   (is_set = {}, passed so far = {})",
            gate.is_set(),
            passed.load(Ordering::SeqCst)
        );
        gate.set(); // lock.set(): open the gate
    });
    println!("all {} threads passed", passed.load(Ordering::SeqCst));
    assert_eq!(passed.load(Ordering::SeqCst), 10);

    println!("\n== clear() closes the gate again ==");
    gate.clear();
    let opened = gate.wait_timeout(Duration::from_millis(100));
    println!("wait(timeout=0.1) -> {opened}");
    assert!(!opened);
}
