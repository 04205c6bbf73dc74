//! A worker binary to deploy on other machines: `02_worker redis://host:6379/ [concurrency]`.
//! Seed: 000 (计算密集型: 多进程 — past one machine)
//! Time bound: 60 s
//!
//! Given a Redis URL (argument or `SKEIN_REDIS_URL`), it runs a worker for the queue
//! `default` until killed — the `celery worker` of skein. Every machine that runs it must
//! be built from the same source as the submitters, since functions travel by the names of
//! `registry()`. Killing it (even `SIGKILL`) loses no job: after its lease (10 s) another
//! worker takes its jobs over.
//!
//! Run without a URL (as `cargo xtask demos` does) it shows itself: it starts its own
//! `redis-server`, a worker in this process with two pool processes, submits a few jobs,
//! prints where each ran, stops the worker (warm: jobs under way finish) and exits.

use skein_apalis::testing::RedisServer;
use skein_apalis::{DistributedExecutor, Registry};
use skein_pool::{Call, Executor, Submit, as_completed};

/// Counts the primes below `n` (deliberately naive: CPU-bound); also says which process
/// ran it.
#[inline(never)]
fn count_primes(n: u64) -> (u64, i32) {
    let count = (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64;
    (count, skein_process::getpid())
}

/// What submitters and workers agree on: the functions, by name.
fn registry() -> Registry {
    Registry::new().register("count_primes", count_primes)
}

fn main() {
    skein_process::init();
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .or_else(|| std::env::var("SKEIN_REDIS_URL").ok());
    let concurrency: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    if let Some(url) = url {
        let worker = skein_apalis::worker(&url, registry())
            .concurrency(concurrency)
            .start()
            .unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            });
        println!("{} serving queue `default` at {url}", worker.name());
        worker.join(); // until the process is killed
        return;
    }

    // No URL: a self-contained run.
    let server = match RedisServer::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}\nthis demo needs redis-server on the PATH (.ci/redis installs it)");
            std::process::exit(1);
        }
    };
    let worker = skein_apalis::worker(server.url(), registry())
        .concurrency(2)
        .start()
        .expect("the worker connects");
    println!(
        "{} serving queue `default` at {}",
        worker.name(),
        server.url()
    );
    let pool = DistributedExecutor::new(server.url(), registry()).expect("Redis");
    let futures: Vec<_> = (1..=6u64)
        .map(|i| {
            pool.submit(Call::new(count_primes, 20_000 * i))
                .expect("submit")
        })
        .collect();
    for f in as_completed(futures) {
        let (count, pid) = f.result().expect("ok");
        println!("{count:>6} primes, computed by pool process {pid}");
    }
    pool.shutdown(true, false);
    worker.stop();
    let done = worker.completed();
    worker.join();
    println!("worker stopped after {done} jobs");
}
