//! Chapter 3 — queues: skein's queues beside kanal, crossbeam-channel, flume, std and
//! lock-based baselines. Every run checks the sum of what it received.
//!
//! Groups (each entry's throughput is items per second):
//! - `queue/spsc_bounded_1024`, `queue/mpmc_2x2_bounded_1024`: the FIFO hot path, as the
//!   independent harness of issue 18 runs it: 4,000,000 `u64` (one producer, or two sending
//!   2,000,000 each), each thread with its own handle, timed from before the threads start
//!   to after the last is joined (what a user pays; see `skein_benches::fifo`).
//! - `queue/spsc_unbounded`, `queue/mpmc_2x2_unbounded`: the same, unbounded.
//! - `queue/lifo_priority_spsc_1024`: LifoQueue / PriorityQueue beside a
//!   `Mutex<BinaryHeap>` + two `Condvar`s.
//! - `queue/task_done_join_1p2c`: put + get + task_done + join beside crossbeam-channel
//!   with an atomic unfinished counter and a condvar for join.
//!
//! `std` has no multi-consumer channel: in the MPMC groups its receiver sits behind a
//! `Mutex` (what people write by hand).

use std::collections::BinaryHeap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

use skein_benches::fifo::{CAP, TOTAL, handles, timed as timed_fifo};

/// `iters` runs of [`timed_fifo`], summed (criterion's `iter_custom`).
fn fifo_runs<S, R>(iters: u64, mut make: impl FnMut() -> (Vec<S>, Vec<R>)) -> Duration
where
    S: FnMut(u64) + Send,
    R: FnMut() -> u64 + Send,
{
    (0..iters)
        .map(|_| {
            let (tx, rx) = make();
            timed_fifo(tx, rx)
        })
        .sum()
}

fn fifo_group(c: &mut Criterion, name: &str, bounded: bool, p: usize, k: usize) {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(TOTAL));
    // One sample = one whole run (tens of milliseconds), as in `examples/queue_ab.rs`.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    let cap = if bounded { CAP } else { 0 };

    g.bench_function(if bounded { "skein" } else { "skein/unbounded" }, |b| {
        b.iter_custom(|iters| {
            fifo_runs(iters, || {
                let q = skein_queue::Queue::new(cap);
                (
                    handles(&q, p, |q| move |i| q.put(i).unwrap()),
                    handles(&q, k, |q| move || q.get().unwrap()),
                )
            })
        })
    });
    g.bench_function("crossbeam-channel", |b| {
        b.iter_custom(|iters| {
            fifo_runs(iters, || {
                let (tx, rx) = if bounded {
                    crossbeam_channel::bounded(CAP)
                } else {
                    crossbeam_channel::unbounded()
                };
                (
                    handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                    handles(&rx, k, |rx| move || rx.recv().unwrap()),
                )
            })
        })
    });
    g.bench_function("kanal", |b| {
        b.iter_custom(|iters| {
            fifo_runs(iters, || {
                let (tx, rx) = if bounded {
                    kanal::bounded(CAP)
                } else {
                    kanal::unbounded()
                };
                (
                    handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                    handles(&rx, k, |rx| move || rx.recv().unwrap()),
                )
            })
        })
    });
    g.bench_function("flume", |b| {
        b.iter_custom(|iters| {
            fifo_runs(iters, || {
                let (tx, rx) = if bounded {
                    flume::bounded(CAP)
                } else {
                    flume::unbounded()
                };
                (
                    handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                    handles(&rx, k, |rx| move || rx.recv().unwrap()),
                )
            })
        })
    });
    g.bench_function("std", |b| {
        // std's receiver is single-consumer: with several consumers it sits behind a
        // `Mutex` (what people write by hand).
        b.iter_custom(|iters| {
            fifo_runs(iters, || {
                let (tx, rx) = if bounded {
                    let (tx, rx) = mpsc::sync_channel(CAP);
                    (StdTx::Bounded(tx), rx)
                } else {
                    let (tx, rx) = mpsc::channel();
                    (StdTx::Unbounded(tx), rx)
                };
                let rx = Arc::new(Mutex::new(rx));
                (
                    handles(&tx, p, |tx| move |i| tx.send(i)),
                    handles(&rx, k, |rx| move || rx.lock().unwrap().recv().unwrap()),
                )
            })
        })
    });
    g.finish();
}

/// Either kind of std sender.
#[derive(Clone)]
enum StdTx {
    Bounded(mpsc::SyncSender<u64>),
    Unbounded(mpsc::Sender<u64>),
}

impl StdTx {
    fn send(&self, v: u64) {
        match self {
            StdTx::Bounded(tx) => tx.send(v).unwrap(),
            StdTx::Unbounded(tx) => tx.send(v).unwrap(),
        }
    }
}

fn fifo(c: &mut Criterion) {
    fifo_group(c, "queue/spsc_bounded_1024", true, 1, 1);
    fifo_group(c, "queue/mpmc_2x2_bounded_1024", true, 2, 2);
    fifo_group(c, "queue/spsc_unbounded", false, 1, 1);
    fifo_group(c, "queue/mpmc_2x2_unbounded", false, 2, 2);
}

/// Items per measured run in the other groups.
const N: usize = 200_000;
const EXPECTED: usize = N * (N - 1) / 2;

/// Runs `producers` threads sending their share of `0..N` and `consumers` threads taking
/// `N / consumers` items each; returns the sum received.
fn run<S, R>(producers: usize, consumers: usize, send: S, recv: R) -> usize
where
    S: Fn(usize) + Sync,
    R: Fn() -> usize + Sync,
{
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for p in 0..producers {
            let send = &send;
            s.spawn(move || {
                for i in (p..N).step_by(producers) {
                    send(i);
                }
            });
        }
        for _ in 0..consumers {
            let (recv, total) = (&recv, &total);
            s.spawn(move || {
                let mut sum = 0;
                for _ in 0..N / consumers {
                    sum += recv();
                }
                total.fetch_add(sum, Ordering::Relaxed);
            });
        }
    });
    total.into_inner()
}

/// The hand-written baseline: a bounded max-heap with "not empty" / "not full" condvars.
struct HeapQueue {
    heap: Mutex<BinaryHeap<usize>>,
    not_empty: Condvar,
    not_full: Condvar,
}

impl HeapQueue {
    fn put(&self, v: usize) {
        let mut h = self.heap.lock().unwrap();
        while h.len() >= CAP {
            h = self.not_full.wait(h).unwrap();
        }
        h.push(v);
        drop(h);
        self.not_empty.notify_one();
    }

    fn get(&self) -> usize {
        let mut h = self.heap.lock().unwrap();
        loop {
            if let Some(v) = h.pop() {
                drop(h);
                self.not_full.notify_one();
                return v;
            }
            h = self.not_empty.wait(h).unwrap();
        }
    }
}

fn lifo_priority(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue/lifo_priority_spsc_1024");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("skein/priority", |b| {
        b.iter(|| {
            let q = skein_queue::PriorityQueue::new(CAP);
            let sum = run(1, 1, |i| q.put(i).unwrap(), || q.get().unwrap());
            assert_eq!(black_box(sum), EXPECTED);
        })
    });
    g.bench_function("skein/lifo", |b| {
        b.iter(|| {
            let q = skein_queue::LifoQueue::new(CAP);
            let sum = run(1, 1, |i| q.put(i).unwrap(), || q.get().unwrap());
            assert_eq!(black_box(sum), EXPECTED);
        })
    });
    g.bench_function("mutex-binaryheap-condvar", |b| {
        b.iter(|| {
            let q = HeapQueue {
                heap: Mutex::new(BinaryHeap::with_capacity(CAP)),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
            };
            let sum = run(1, 1, |i| q.put(i), || q.get());
            assert_eq!(black_box(sum), EXPECTED);
        })
    });
    g.finish();
}

/// crossbeam-channel plus what a user adds for `task_done`/`join`: an atomic counter of
/// unfinished items and a mutex + condvar to wait for zero.
struct Joinable {
    tx: crossbeam_channel::Sender<usize>,
    rx: crossbeam_channel::Receiver<usize>,
    unfinished: AtomicUsize,
    lock: Mutex<()>,
    zero: Condvar,
}

impl Joinable {
    fn put(&self, v: usize) {
        self.unfinished.fetch_add(1, Ordering::SeqCst);
        self.tx.send(v).unwrap();
    }

    fn task_done(&self) {
        if self.unfinished.fetch_sub(1, Ordering::SeqCst) == 1 {
            let _g = self.lock.lock().unwrap();
            self.zero.notify_all();
        }
    }

    fn join(&self) {
        let mut g = self.lock.lock().unwrap();
        while self.unfinished.load(Ordering::SeqCst) != 0 {
            g = self.zero.wait(g).unwrap();
        }
    }
}

/// One producer puts `N` items then joins; two consumers get and `task_done` each.
fn run_joinable<P, G, D, J>(put: P, get: G, done: D, join: J) -> usize
where
    P: Fn(usize) + Sync,
    G: Fn() -> usize + Sync,
    D: Fn() + Sync,
    J: Fn() + Sync,
{
    let total = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..2 {
            let (get, done, total) = (&get, &done, &total);
            s.spawn(move || {
                let mut sum = 0;
                for _ in 0..N / 2 {
                    sum += get();
                    done();
                }
                total.fetch_add(sum, Ordering::Relaxed);
            });
        }
        for i in 0..N {
            put(i);
        }
        join();
    });
    total.into_inner()
}

fn task_done_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("queue/task_done_join_1p2c");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("skein", |b| {
        b.iter(|| {
            let q = skein_queue::Queue::new(CAP);
            let sum = run_joinable(
                |i| q.put(i).unwrap(),
                || q.get().unwrap(),
                || q.task_done().unwrap(),
                || q.join(),
            );
            assert_eq!(black_box(sum), EXPECTED);
            assert_eq!(q.unfinished_tasks(), 0);
        })
    });
    g.bench_function("crossbeam-channel+counter", |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded(CAP);
            let q = Joinable {
                tx,
                rx,
                unfinished: AtomicUsize::new(0),
                lock: Mutex::new(()),
                zero: Condvar::new(),
            };
            let sum = run_joinable(
                |i| q.put(i),
                || q.rx.recv().unwrap(),
                || q.task_done(),
                || q.join(),
            );
            assert_eq!(black_box(sum), EXPECTED);
        })
    });
    g.finish();
}

criterion_group!(benches, fifo, lifo_priority, task_done_join);
criterion_main!(benches);
