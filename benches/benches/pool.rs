//! Chapter 4 benches: thread-pool task overhead and chunked map.
//!
//! * `pool/submit_wait_100k`: submit 100k no-op tasks to a 2-worker pool, then wait for
//!   all of them — skein `ThreadPoolExecutor` (one future per task) beside rayon
//!   (`scope` + `spawn`, and `par_iter`) on a 2-thread rayon pool, the threadpool crate
//!   with a result channel, and tokio `spawn_blocking` with 2 blocking threads.
//! * `pool/map_1m_chunked`: map 1M integers on 2 workers, chunksize 10 000 — skein
//!   `ThreadPool::map_chunked` beside rayon `par_iter().map().collect()` with the same
//!   minimum chunk length.
//!
//! * `pool/map_100k_chunksize1`: `ThreadPool::map_chunked(f, 0..100_000, 1)` with a no-op
//!   `f` (identity on `u64`) on 2 workers — one task per item — beside rayon's per-task
//!   `scope.spawn` on a 2-thread pool, both bare (the task does nothing, as in
//!   `submit_wait_100k`) and writing each result into its slot of the output (what a map
//!   does).
//! * `pool/map_100k_default`: `ThreadPool::map(f, 0..100_000)` with Python's default chunk
//!   size (`len / (4 × workers)`) beside rayon `par_iter().map(f).collect()`; and the same
//!   with the items a `Vec` handed over by value (`skein/vec` beside
//!   `rayon/vec_into_par_iter_collect`, both cloning it first).
//!
//! Every entry checks its answer (all futures done / all messages received / the sum).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use skein_pool::{Submit, ThreadPool, ThreadPoolExecutor};

const TASKS: usize = 100_000;
const ITEMS: u64 = 1_000_000;
const CHUNK: usize = 10_000;
const WORKERS: usize = 2;
const MAP_ITEMS: u64 = 100_000;

/// A rayon pool with as many threads as skein's pools have workers.
fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap()
}

fn submit_wait(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool/submit_wait_100k");
    group.throughput(Throughput::Elements(TASKS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    let skein = ThreadPoolExecutor::new(WORKERS).unwrap();
    let mut futures = Vec::with_capacity(TASKS);
    group.bench_function("skein", |b| {
        b.iter(|| {
            for _ in 0..TASKS {
                futures.push(skein.submit(|| ()).unwrap());
            }
            for f in futures.drain(..) {
                assert!(f.result().is_ok());
            }
        })
    });
    drop(skein);

    let rayon_pool = rayon_pool();
    group.bench_function("rayon/scope_spawn", |b| {
        b.iter(|| {
            rayon_pool.scope(|s| {
                for _ in 0..TASKS {
                    s.spawn(|_| ());
                }
            })
        })
    });
    group.bench_function("rayon/par_iter", |b| {
        b.iter(|| {
            rayon_pool.install(|| {
                (0..TASKS).into_par_iter().for_each(|i| {
                    black_box(i);
                })
            })
        })
    });
    drop(rayon_pool);

    let tp = threadpool::ThreadPool::new(WORKERS);
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            for _ in 0..TASKS {
                let tx = tx.clone();
                tp.execute(move || tx.send(()).unwrap());
            }
            drop(tx);
            assert_eq!(rx.iter().count(), TASKS);
        })
    });
    drop(tp);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(WORKERS)
        .build()
        .unwrap();
    group.bench_function("tokio/spawn_blocking", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut handles = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    handles.push(tokio::task::spawn_blocking(|| ()));
                }
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    drop(rt);
    group.finish();
}

fn map_chunked(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool/map_1m_chunked");
    group.throughput(Throughput::Elements(ITEMS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let expected: u64 = (0..ITEMS).map(|x| x * 2).sum();

    let skein = ThreadPool::new(WORKERS).unwrap();
    group.bench_function("skein", |b| {
        b.iter(|| {
            let out = skein.map_chunked(|x: u64| x * 2, 0..ITEMS, CHUNK).unwrap();
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(skein);

    let rayon_pool = rayon_pool();
    group.bench_function("rayon/par_iter", |b| {
        b.iter(|| {
            let out: Vec<u64> = rayon_pool.install(|| {
                (0..ITEMS as usize)
                    .into_par_iter()
                    .with_min_len(CHUNK)
                    .map(|x| x as u64 * 2)
                    .collect()
            });
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(rayon_pool);
    group.finish();
}

fn map_chunksize_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool/map_100k_chunksize1");
    group.throughput(Throughput::Elements(MAP_ITEMS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    let expected: u64 = (0..MAP_ITEMS).sum();

    let skein = ThreadPool::new(WORKERS).unwrap();
    group.bench_function("skein", |b| {
        b.iter(|| {
            let out = skein.map_chunked(|x: u64| x, 0..MAP_ITEMS, 1).unwrap();
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(skein);

    let rayon_pool = rayon_pool();
    group.bench_function("rayon/scope_spawn", |b| {
        b.iter(|| {
            rayon_pool.scope(|s| {
                for _ in 0..MAP_ITEMS {
                    s.spawn(|_| ());
                }
            })
        })
    });
    group.bench_function("rayon/scope_spawn_into_slots", |b| {
        b.iter(|| {
            let mut out = vec![0u64; MAP_ITEMS as usize];
            rayon_pool.scope(|s| {
                for (slot, x) in out.iter_mut().zip(0..MAP_ITEMS) {
                    s.spawn(move |_| *slot = black_box(x));
                }
            });
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(rayon_pool);
    group.finish();
}

fn map_default(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool/map_100k_default");
    group.throughput(Throughput::Elements(MAP_ITEMS));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(3));
    let expected: u64 = (0..MAP_ITEMS).sum();

    let list: Vec<u64> = (0..MAP_ITEMS).collect();
    let skein = ThreadPool::new(WORKERS).unwrap();
    group.bench_function("skein", |b| {
        b.iter(|| {
            let out = skein.map(|x: u64| x, 0..MAP_ITEMS).unwrap();
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    group.bench_function("skein/vec", |b| {
        b.iter(|| {
            let out = skein.map(|x: u64| x, list.clone()).unwrap();
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(skein);

    let rayon_pool = rayon_pool();
    group.bench_function("rayon/par_iter_collect", |b| {
        b.iter(|| {
            let out: Vec<u64> =
                rayon_pool.install(|| (0..MAP_ITEMS).into_par_iter().map(|x| x).collect());
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    group.bench_function("rayon/vec_into_par_iter_collect", |b| {
        b.iter(|| {
            let out: Vec<u64> =
                rayon_pool.install(|| list.clone().into_par_iter().map(|x| x).collect());
            assert_eq!(out.iter().sum::<u64>(), expected);
        })
    });
    drop(rayon_pool);
    group.finish();
}

criterion_group!(
    benches,
    submit_wait,
    map_chunked,
    map_chunksize_one,
    map_default
);
criterion_main!(benches);
