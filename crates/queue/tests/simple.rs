//! `SimpleQueue`: unbounded FIFO, put never fails, gets return `Option`.

use std::thread;
use std::time::{Duration, Instant};

use skein_queue::SimpleQueue;

#[test]
fn fifo_and_len() {
    let q = SimpleQueue::new();
    assert!(q.is_empty());
    for i in 0..5 {
        q.put(i);
    }
    assert_eq!(q.len(), 5);
    assert_eq!(q.qsize(), 5);
    assert_eq!(q.try_iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
    assert_eq!(q.try_get(), None);
}

#[test]
fn get_timeout_waits_at_least_the_timeout() {
    let q: SimpleQueue<u8> = SimpleQueue::default();
    let wait = Duration::from_millis(30);
    let start = Instant::now();
    assert_eq!(q.get_timeout(wait), None);
    assert!(start.elapsed() >= wait);
    assert_eq!(q.get_deadline(Instant::now()), None);
}

#[test]
fn blocked_get_wakes_on_put_from_a_clone() {
    let q = SimpleQueue::new();
    let q2 = q.clone();
    let h = thread::spawn(move || q2.get_timeout(Duration::from_secs(60)));
    // The getter is registered to sleep: only the put's wakeup lets it go on.
    let deadline = Instant::now() + Duration::from_secs(60);
    while q.waiters() != 1 {
        assert!(Instant::now() < deadline, "the getter never went to sleep");
        thread::yield_now();
    }
    let t = Instant::now();
    q.put("hello");
    assert_eq!(h.join().unwrap(), Some("hello"));
    // Without the wakeup it would take the item only after its timeout.
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the put did not wake the getter"
    );
    assert!(format!("{q:?}").contains("qsize: 0"));
}

#[test]
fn blocking_iter_with_sentinel() {
    let q = SimpleQueue::new();
    let q2 = q.clone();
    let h = thread::spawn(move || q2.iter().take_while(|v: &Option<i32>| v.is_some()).count());
    for i in 0..10 {
        q.put(Some(i));
    }
    q.put(None);
    assert_eq!(h.join().unwrap(), 10);
}

/// How consumers take items in [`many_producers_and_consumers`].
#[derive(Clone, Copy)]
enum Take {
    Blocking,
    NonBlocking,
    ShortTimeouts,
}

/// CPython's `test_order` / `test_many_threads*` for `SimpleQueue`: `n` producers share one
/// list of inputs and end with a sentinel each; `n` consumers stop at a sentinel. Every
/// input comes out exactly once (and in order with one producer and one consumer).
fn many_producers_and_consumers(n: usize, inputs: usize, take: Take) -> Vec<usize> {
    use std::sync::{Arc, Mutex};
    let q = SimpleQueue::new();
    let todo = Arc::new(Mutex::new((0..inputs).rev().collect::<Vec<_>>()));
    let producers: Vec<_> = (0..n)
        .map(|_| {
            let (q, todo) = (q.clone(), Arc::clone(&todo));
            thread::spawn(move || {
                loop {
                    let next = todo.lock().unwrap().pop();
                    q.put(next);
                    if next.is_none() {
                        return;
                    }
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..n)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let item = match take {
                        Take::Blocking => q.get(),
                        Take::NonBlocking => loop {
                            if let Some(v) = q.try_get() {
                                break v;
                            }
                            thread::yield_now();
                        },
                        Take::ShortTimeouts => loop {
                            if let Some(v) = q.get_timeout(Duration::from_micros(10)) {
                                break v;
                            }
                        },
                    };
                    match item {
                        Some(v) => got.push(v),
                        None => return got,
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let results: Vec<usize> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
    results
}

#[test]
fn one_producer_one_consumer_keeps_order() {
    let got = many_producers_and_consumers(1, 100, Take::Blocking);
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn many_threads_lose_and_duplicate_nothing() {
    for take in [Take::Blocking, Take::NonBlocking, Take::ShortTimeouts] {
        let mut got = many_producers_and_consumers(8, 4000, take);
        got.sort_unstable();
        assert_eq!(got, (0..4000).collect::<Vec<_>>());
    }
}

/// CPython `test_references`: the queue keeps no reference to an item once it was taken.
#[test]
fn a_taken_item_is_no_longer_held() {
    use std::sync::Arc;
    let token = Arc::new(());
    let q = SimpleQueue::new();
    for _ in 0..20 {
        q.put(Arc::clone(&token));
    }
    for left in (0..20).rev() {
        drop(q.get());
        assert_eq!(Arc::strong_count(&token), 1 + left);
    }
}
