//! `Condition` producer/consumer: producers wait on "not full", consumers on "not empty".
//! Seed: 004 (case 11: the producer–consumer model)
//! Example: 004 § 案例11
//!
//! Two conditions share one lock, like Python's `queue.Queue` does internally: `not_full`
//! for producers, `not_empty` for consumers. Each side checks its predicate with
//! `wait_for` (the lock held), changes the buffer, and notifies the other side. The seed's
//! endless loops become 2 producers x 10 items and 2 consumers that stop after 20 in all.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use skein_locks::{Condition, Lock};

const CAPACITY: usize = 3;
const PER_PRODUCER: usize = 10;

fn main() {
    let lock = Arc::new(Lock::named("buffer"));
    let not_full = Condition::with_lock(lock.clone());
    let not_empty = Condition::with_lock(lock);
    // The buffer is only touched with the condition's lock held; the Mutex just makes it
    // `Sync` for the compiler (it is never contended).
    let buffer = Mutex::new(VecDeque::new());
    let consumed = AtomicUsize::new(0);

    println!("== 2 producers, 2 consumers, buffer of {CAPACITY} ==");
    thread::scope(|s| {
        for p in 0..2 {
            let (not_full, not_empty, buffer) = (&not_full, &not_empty, &buffer);
            s.spawn(move || {
                for i in 0..PER_PRODUCER {
                    let item = format!("p{p}-{i}");
                    let mut g = not_full.acquire();
                    g.wait_for(|| buffer.lock().unwrap().len() < CAPACITY);
                    buffer.lock().unwrap().push_back(item.clone());
                    println!(
                        "producer {p}: put {item} (size {})",
                        buffer.lock().unwrap().len()
                    );
                    drop(g);
                    not_empty.acquire().notify_one();
                    thread::sleep(Duration::from_millis(5));
                }
            });
        }
        for c in 0..2 {
            let (not_full, not_empty, buffer, consumed) =
                (&not_full, &not_empty, &buffer, &consumed);
            s.spawn(move || {
                loop {
                    let mut g = not_empty.acquire();
                    let total = 2 * PER_PRODUCER;
                    g.wait_for(|| {
                        !buffer.lock().unwrap().is_empty()
                            || consumed.load(Ordering::SeqCst) >= total
                    });
                    let Some(item) = buffer.lock().unwrap().pop_front() else {
                        break; // everything has been consumed
                    };
                    let n = consumed.fetch_add(1, Ordering::SeqCst) + 1;
                    println!("consumer {c}: got {item} ({n} so far)");
                    if n == total {
                        g.notify_all(); // wake the other consumer so it can stop
                    }
                    drop(g);
                    not_full.acquire().notify_one();
                }
            });
        }
    });
    println!("\nconsumed {} items", consumed.load(Ordering::SeqCst));
    assert_eq!(consumed.load(Ordering::SeqCst), 2 * PER_PRODUCER);
}
