//! Chapter 1 — threads: skein's registered threads beside `std::thread`.
//!
//! - `spawn_join`: start a thread that returns a number, join it, check the number.
//!   skein registers the thread (name, ident, registry entry, excepthook edge); the bar is
//!   ≤ 1.2× std's time.
//! - `enumerate`: `skein_threads::enumerate()` with 1, 10 and 100 live skein threads
//!   (each parked on a channel until the group ends).

use std::hint::black_box;
use std::sync::mpsc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads/spawn_join");
    group.bench_function("skein", |b| {
        b.iter(|| {
            let handle = skein_threads::Builder::new()
                .spawn(|| black_box(7u64))
                .expect("spawn");
            assert_eq!(handle.join().expect("join"), 7);
        })
    });
    group.bench_function("std", |b| {
        b.iter(|| {
            let handle = std::thread::spawn(|| black_box(7u64));
            assert_eq!(handle.join().expect("join"), 7);
        })
    });
    group.finish();
}

fn enumerate(c: &mut Criterion) {
    let mut group = c.benchmark_group("threads/enumerate");
    for live in [1usize, 10, 100] {
        // `live` skein threads, each waiting until its sender is dropped.
        let (senders, handles): (Vec<_>, Vec<_>) = (0..live)
            .map(|i| {
                let (tx, rx) = mpsc::channel::<()>();
                let handle = skein_threads::Builder::new()
                    .name(format!("bench-live-{i}"))
                    .spawn(move || {
                        let _ = rx.recv();
                    })
                    .expect("spawn");
                (tx, handle)
            })
            .unzip();
        group.bench_with_input(BenchmarkId::new("skein", live), &live, |b, &live| {
            b.iter(|| {
                let threads = skein_threads::enumerate();
                // The live threads plus the main thread (and nothing else runs here).
                assert!(threads.len() > live);
                black_box(threads)
            })
        });
        drop(senders);
        for handle in handles {
            handle.join().expect("join");
        }
    }
    group.finish();
}

criterion_group!(benches, spawn_join, enumerate);
criterion_main!(benches);
