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
