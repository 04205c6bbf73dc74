//! Chapter 6 benches, the hub half (gevent): skein's green tasks beside tokio's
//! current-thread runtime (what a Rust user would pick instead), one thread each.
//!
//! * `hub/spawn_join_100k`: spawn 100k tasks that return their index, then join them all
//!   and check the sum.
//! * `hub/sleep_10k_10ms`: 10k tasks each sleeping 10 ms at once; wall time of the lot
//!   (the floor is 10 ms).
//! * `hub/echo_1000_clients`: 1,000 clients on loopback, each with its own server task,
//!   do 10 round trips of 32 bytes per iteration; connections are set up once. The
//!   workload is `skein_benches::echo`, shared with the interleaved A/B runner
//!   `examples/echo_ab.rs`.
//!
//! skein's blocking detector is off in release builds, so it costs nothing here.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use skein_benches::echo::{CLIENTS, ROUNDS, SkeinEcho, TokioEcho};
use skein_coroutine::hub;

const TASKS: usize = 100_000;
const SLEEPERS: usize = 10_000;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/spawn_join_100k");
    group.throughput(Throughput::Elements(TASKS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let expected = TASKS * (TASKS - 1) / 2;

    group.bench_function("skein", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..TASKS).map(|i| hub::spawn(move || i)).collect();
            let sum: usize = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, expected);
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                let mut sum = 0;
                for t in tasks {
                    sum += t.await.unwrap();
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.finish();
}

fn sleepers(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/sleep_10k_10ms");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let nap = Duration::from_millis(10);

    group.bench_function("skein", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..SLEEPERS)
                .map(|_| hub::spawn(move || hub::sleep(nap)))
                .collect();
            hub::joinall(&tasks);
            assert!(tasks.iter().all(|t| t.is_finished()));
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|_| tokio::spawn(tokio::time::sleep(nap)))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/echo_1000_clients");
    group.throughput(Throughput::Elements((CLIENTS * ROUNDS) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    // skein: a server task per connection, clients' streams kept between iterations.
    let skein = SkeinEcho::new();
    group.bench_function("skein", |b| b.iter(|| skein.run()));
    drop(skein); // the server tasks see EOF the next time the hub runs

    // tokio: the same on a current-thread runtime.
    let tokio = TokioEcho::new();
    group.bench_function("tokio_current_thread", |b| b.iter(|| tokio.run()));
    group.finish();
}

/// `SKEIN_HUB_ECHO_ONLY=skein|tokio:<runs> <bench binary>` sets one side of the echo up
/// and runs it `runs` times, nothing else (for `strace -c -f` or `perf`). The interleaved
/// A/B of the two sides is `examples/echo_ab.rs`.
fn echo_only() -> bool {
    let Ok(spec) = std::env::var("SKEIN_HUB_ECHO_ONLY") else {
        return false;
    };
    let (side, n) = spec
        .split_once(':')
        .expect("SKEIN_HUB_ECHO_ONLY=<side>:<n>");
    let n: usize = n.parse().expect("a count");
    if side == "skein" {
        let echo = SkeinEcho::new();
        (0..n).for_each(|_| echo.run());
    } else {
        let echo = TokioEcho::new();
        (0..n).for_each(|_| echo.run());
    }
    true
}

criterion_group!(benches, spawn_join, sleepers, echo);

fn main() {
    if echo_only() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
