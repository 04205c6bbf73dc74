//! skein-apalis (issue 15 item 6): the cost of going distributed. 10k tiny jobs submitted
//! one by one and all waited for, and the submit→result latency of one job, on a
//! `DistributedExecutor` with 2 worker processes (each `concurrency(1)`) through a
//! `redis-server` on loopback started by the bench itself, beside the local
//! `ProcessPoolExecutor` with 2 workers.
//!
//! Groups: `distributed/10k_tiny_jobs` (throughput in jobs/s) and
//! `distributed/submit_to_result` (one job's round trip). Needs `redis-server` on the
//! PATH (`.ci/redis`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use skein_apalis::testing::RedisServer;
use skein_apalis::{DistributedExecutor, Registry};
use skein_pool::{Call, Executor, ProcessPoolExecutor, Submit};
use skein_process::{Process, ProcessHandle};

const JOBS: u64 = 10_000;

#[inline(never)]
fn tiny(x: u64) -> u64 {
    x.wrapping_mul(2)
}

fn registry() -> Registry {
    Registry::new().register("tiny", tiny)
}

/// A worker process with one pool process.
fn worker_process(url: String) {
    let _w = skein_apalis::worker(&url, registry())
        .concurrency(1)
        .start()
        .expect("the worker connects");
    loop {
        std::thread::park();
    }
}

fn run_all<E: Submit<Call<u64, u64>, Output = u64>>(e: &E) -> u64 {
    let futures: Vec<_> = (0..JOBS)
        .map(|i| e.submit(Call::new(tiny, i)).unwrap())
        .collect();
    futures
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .fold(0, u64::wrapping_add)
}

fn throughput(c: &mut Criterion, local: &ProcessPoolExecutor, remote: &DistributedExecutor) {
    let mut g = c.benchmark_group("distributed/10k_tiny_jobs");
    g.throughput(Throughput::Elements(JOBS));
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.bench_function(
        "skein DistributedExecutor (2 worker processes, Redis)",
        |b| b.iter(|| black_box(run_all(remote))),
    );
    g.bench_function("ProcessPoolExecutor (2 workers, local)", |b| {
        b.iter(|| black_box(run_all(local)))
    });
    g.finish();
}

fn latency(c: &mut Criterion, local: &ProcessPoolExecutor, remote: &DistributedExecutor) {
    let mut g = c.benchmark_group("distributed/submit_to_result");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function(
        "skein DistributedExecutor (2 worker processes, Redis)",
        |b| {
            b.iter(|| {
                black_box(
                    remote
                        .submit(Call::new(tiny, black_box(21)))
                        .unwrap()
                        .into_result()
                        .unwrap(),
                )
            })
        },
    );
    g.bench_function("ProcessPoolExecutor (2 workers, local)", |b| {
        b.iter(|| {
            black_box(
                local
                    .submit(Call::new(tiny, black_box(21)))
                    .unwrap()
                    .into_result()
                    .unwrap(),
            )
        })
    });
    g.finish();
}

fn main() {
    skein_process::init();
    let server = RedisServer::start().unwrap_or_else(|e| {
        panic!("{e}: the distributed bench needs redis-server on the PATH (.ci/redis)")
    });
    let workers: Vec<ProcessHandle> = (0..2)
        .map(|_| {
            Process::new(worker_process, server.url().to_owned())
                .daemon(true)
                .start()
                .expect("a worker process")
        })
        .collect();
    let local = ProcessPoolExecutor::new(2).unwrap();
    let remote = DistributedExecutor::builder(server.url(), registry())
        .max_workers(2)
        .build()
        .unwrap();
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c, &local, &remote);
    latency(&mut c, &local, &remote);
    c.final_summary();
    remote.shutdown(true, false);
    local.shutdown(true, false);
    for w in &workers {
        let _ = w.kill();
        let _ = w.join();
    }
}
