//! Multi-producer multi-consumer stress: nothing lost, nothing duplicated, FIFO order per
//! producer, exact task counts, and shutdown racing with live traffic. Bounded in time by
//! item counts (a few seconds in a debug build on 2 cores).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use skein_queue::{LifoQueue, PriorityQueue, Queue};

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const PER_PRODUCER: usize = 20_000;

/// Items are `producer * PER_PRODUCER + seq`.
fn item(p: usize, i: usize) -> usize {
    p * PER_PRODUCER + i
}

/// Runs producers and consumers over one queue kind (given as closures over a handle that
/// is cloned per thread); consumers `task_done` each item and stop at shutdown. Returns
/// what each consumer got, in order.
macro_rules! mpmc_run {
    ($q:expr) => {{
        let q = $q;
        let start = Arc::new(Barrier::new(PRODUCERS + CONSUMERS));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let (q, start) = (q.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    for i in 0..PER_PRODUCER {
                        q.put(item(p, i)).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let (q, start) = (q.clone(), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let mut got = Vec::new();
                    for v in &q {
                        got.push(v);
                        q.task_done().unwrap();
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        q.join();
        assert_eq!(q.unfinished_tasks(), 0);
        q.shutdown();
        let got: Vec<Vec<usize>> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
        assert!(q.is_empty());
        assert_eq!(q.task_done(), Err(skein_queue::TaskDoneError));
        got
    }};
}

fn assert_exactly_once(got: &[Vec<usize>]) {
    let mut all: Vec<usize> = got.iter().flatten().copied().collect();
    assert_eq!(
        all.len(),
        PRODUCERS * PER_PRODUCER,
        "items lost or duplicated"
    );
    all.sort_unstable();
    for (want, have) in all.iter().enumerate() {
        assert_eq!(want, *have, "item {want} lost or duplicated");
    }
}

fn assert_fifo_per_producer(got: &[Vec<usize>]) {
    for consumer in got {
        let mut last = [None::<usize>; PRODUCERS];
        for &v in consumer {
            let p = v / PER_PRODUCER;
            assert!(
                last[p].is_none_or(|l| l < v),
                "producer {p}'s items out of order"
            );
            last[p] = Some(v);
        }
    }
}

#[test]
fn fifo_bounded_small_ring() {
    let got = mpmc_run!(Queue::new(8));
    assert_exactly_once(&got);
    assert_fifo_per_producer(&got);
}

#[test]
fn fifo_bounded_one_slot_parks_constantly() {
    let got = mpmc_run!(Queue::new(1));
    assert_exactly_once(&got);
    assert_fifo_per_producer(&got);
}

#[test]
fn fifo_bounded_1024() {
    let got = mpmc_run!(Queue::new(1024));
    assert_exactly_once(&got);
    assert_fifo_per_producer(&got);
}

#[test]
fn fifo_unbounded() {
    let got = mpmc_run!(Queue::unbounded());
    assert_exactly_once(&got);
    assert_fifo_per_producer(&got);
}

#[test]
fn lifo_bounded() {
    assert_exactly_once(&mpmc_run!(LifoQueue::new(16)));
}

#[test]
fn priority_bounded() {
    assert_exactly_once(&mpmc_run!(PriorityQueue::new(16)));
}

/// `shutdown_immediate` in the middle of traffic: every item whose put succeeded is either
/// received by a consumer or handed back by the shutdown, exactly once, and the task count
/// ends at zero.
fn immediate_shutdown_race(cap: usize) {
    let q = Queue::new(cap);
    let received = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                let mut put = Vec::new();
                for i in 0.. {
                    let v = p * 1_000_000_000 + i;
                    match q.put(v) {
                        Ok(()) => put.push(v),
                        Err(e) => {
                            assert_eq!(e.into_inner(), v, "the failed put hands its item back");
                            break;
                        }
                    }
                }
                put
            })
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let (q, received) = (q.clone(), Arc::clone(&received));
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(v) = q.get() {
                    got.push(v);
                    received.fetch_add(1, Ordering::Relaxed);
                    q.task_done().unwrap();
                }
                got
            })
        })
        .collect();
    while received.load(Ordering::Relaxed) < 20_000 {
        thread::sleep(Duration::from_millis(1));
    }
    let drained = q.shutdown_immediate();
    let put: Vec<usize> = producers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let got: Vec<usize> = consumers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let mut seen = HashSet::new();
    for v in got.iter().chain(&drained) {
        assert!(seen.insert(*v), "item {v} seen twice");
    }
    assert_eq!(seen.len(), put.len(), "items lost");
    assert!(put.iter().all(|v| seen.contains(v)));
    assert!(q.is_empty());
    assert_eq!(q.unfinished_tasks(), 0);
    assert!(q.join_timeout(Duration::ZERO));
}

#[test]
fn immediate_shutdown_races_with_traffic_bounded() {
    immediate_shutdown_race(16);
}

#[test]
fn immediate_shutdown_races_with_traffic_unbounded() {
    immediate_shutdown_race(0);
}

#[test]
fn many_timeouts_under_contention_all_return() {
    let q: Queue<u32> = Queue::new(2);
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let q = q.clone();
            thread::spawn(move || {
                (0..20)
                    .filter(|_| q.get_timeout(Duration::from_millis(1)).is_err())
                    .count()
            })
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 20);
    }
}

/// `task_done` racing with `put` and with itself, called far more often than items are
/// put: exactly as many calls succeed as items were put, the count never goes below zero
/// (it would wrap to a huge number), and the last success releases `join`.
#[test]
fn task_done_never_overtakes_put() {
    const ITEMS: usize = 50_000;
    for q in [Queue::new(64), Queue::unbounded()] {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..ITEMS {
                    // Keep the bounded ring from filling: nobody gets.
                    if q.is_full() {
                        let _ = q.try_get();
                    }
                    q.put(i).unwrap();
                }
            })
        };
        let doners: Vec<_> = (0..3)
            .map(|_| {
                let (q, stop) = (q.clone(), Arc::clone(&stop));
                thread::spawn(move || {
                    let mut ok = 0usize;
                    while !stop.load(Ordering::Relaxed) {
                        if q.task_done().is_ok() {
                            ok += 1;
                        }
                        assert!(
                            q.unfinished_tasks() <= ITEMS,
                            "unfinished count went negative"
                        );
                    }
                    ok
                })
            })
            .collect();
        producer.join().unwrap();
        while q.unfinished_tasks() != 0 {
            thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        let ok: usize = doners.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(ok, ITEMS);
        assert_eq!(q.unfinished_tasks(), 0);
        assert!(q.join_timeout(Duration::ZERO));
    }
}

/// CPython `test_shutdown_all_methods_in_many_threads` (plain shutdown): producers put
/// until the queue refuses, consumers take until it is shut down and empty, and a
/// shutdown lands in the middle of the traffic. Every item whose put succeeded is taken
/// exactly once (the getters drain what was left), every thread ends, and the tasks are
/// all done.
macro_rules! plain_shutdown_race {
    ($name:ident, $q:expr) => {
        #[test]
        fn $name() {
            let q = $q;
            let received = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..3)
                .map(|p| {
                    let q = q.clone();
                    thread::spawn(move || {
                        let mut put = Vec::new();
                        for i in 0.. {
                            let v = p * 1_000_000_000 + i;
                            match q.put(v) {
                                Ok(()) => put.push(v),
                                Err(e) => {
                                    assert_eq!(e.into_inner(), v);
                                    break;
                                }
                            }
                        }
                        put
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let (q, received) = (q.clone(), Arc::clone(&received));
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(v) = q.get() {
                            got.push(v);
                            received.fetch_add(1, Ordering::Relaxed);
                            q.task_done().unwrap();
                        }
                        got
                    })
                })
                .collect();
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while received.load(Ordering::Relaxed) < 10_000 {
                assert!(std::time::Instant::now() < deadline, "no traffic");
                thread::yield_now();
            }
            q.shutdown();
            let put: Vec<usize> = producers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            let got: Vec<usize> = consumers
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            let mut seen = HashSet::new();
            for v in &got {
                assert!(seen.insert(*v), "item {v} taken twice");
            }
            assert_eq!(seen.len(), put.len(), "items lost");
            assert!(put.iter().all(|v| seen.contains(v)));
            assert!(q.is_empty());
            assert_eq!(q.unfinished_tasks(), 0);
            assert!(q.join_timeout(Duration::ZERO));
        }
    };
}

plain_shutdown_race!(plain_shutdown_races_with_traffic_bounded, Queue::new(16));
plain_shutdown_race!(
    plain_shutdown_races_with_traffic_unbounded,
    Queue::unbounded()
);
plain_shutdown_race!(plain_shutdown_races_with_traffic_lifo, LifoQueue::new(16));
plain_shutdown_race!(
    plain_shutdown_races_with_traffic_priority,
    PriorityQueue::new(16)
);
