//! The notes' CPU-bound job on workers in two other processes, through Redis: one line
//! differs from the local process pool.
//! Seed: 000 (计算密集型: 多进程 — past one machine)
//! Time bound: 120 s
//!
//! The demo starts its own `redis-server` on a free loopback port (it fails with a clear
//! message if there is none: `.ci/redis` installs it), then two worker *processes* — each
//! could be on another machine, pointed at the same URL — and submits the CPU-bound job of
//! the notes through a `DistributedExecutor`. `run` is generic over
//! `Submit<Call<u64, u64>>`: the same code runs on a local `ProcessPoolExecutor` first.
//! Then one worker process is SIGKILLed while it holds a job: the survivor takes the job
//! over when the dead worker's lease expires and, with retries off, fails it as
//! `WorkerLost` (never running it twice); the other jobs complete.

use std::time::{Duration, Instant};

use skein_apalis::testing::RedisServer;
use skein_apalis::{DistributedExecutor, Registry, WorkerLost};
use skein_pool::{Call, Executor, ProcessPoolExecutor, Submit, TaskError};

/// Counts the primes below `n` (deliberately naive: CPU-bound).
#[inline(never)]
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

/// Writes this process's pid to `path`, then works for a long time.
#[inline(never)]
fn stuck(path: String) -> u64 {
    std::fs::write(&path, skein_process::getpid().to_string()).expect("write the marker");
    std::thread::sleep(Duration::from_secs(60));
    0
}

/// The functions both sides know, by name.
fn registry() -> Registry {
    Registry::new()
        .register("count_primes", count_primes)
        .register("stuck", stuck)
}

/// A worker process: what `examples/02_worker.rs` is on another machine.
fn worker_process((url, name): (String, String)) {
    let _worker = skein_apalis::worker(&url, registry())
        .name(&name)
        .concurrency(1)
        .lease(Duration::from_secs(1))
        .start()
        .expect("the worker connects");
    loop {
        std::thread::park();
    }
}

/// The parent, grandparent, … of `pid` (from `/proc`).
fn ancestors(mut pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    while let Some(ppid) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
    {
        if ppid <= 1 || out.len() > 8 {
            break;
        }
        out.push(ppid);
        pid = ppid;
    }
    out
}

fn run<E: Submit<Call<u64, u64>, Output = u64>>(executor: &E) -> u64 {
    let futures: Vec<_> = (0..16)
        .map(|i| {
            executor
                .submit(Call::new(count_primes, 60_000 + i))
                .expect("submit")
        })
        .collect();
    futures
        .into_iter()
        .map(|f| f.into_result().expect("ok"))
        .sum()
}

fn main() {
    skein_process::init();
    let server = match RedisServer::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}\nthis demo needs redis-server on the PATH (.ci/redis installs it)");
            std::process::exit(1);
        }
    };
    println!("redis-server at {}", server.url());

    let t = Instant::now();
    let local = ProcessPoolExecutor::new(2).expect("processes"); // ← the one line
    let by_pool = run(&local);
    local.shutdown(true, false);
    println!(
        "ProcessPoolExecutor(2):              {by_pool} primes in {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    let workers: Vec<_> = ["worker-a", "worker-b"]
        .into_iter()
        .map(|name| {
            skein_process::Process::new(worker_process, (server.url().to_owned(), name.into()))
                .daemon(true)
                .start()
                .expect("a worker process")
        })
        .collect();
    for w in &workers {
        println!("worker process pid {}", w.pid());
    }

    let t = Instant::now();
    let remote = DistributedExecutor::new(server.url(), registry()).expect("Redis"); // ← the one line
    let by_workers = run(&remote);
    println!(
        "DistributedExecutor (2 processes):   {by_workers} primes in {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(by_pool, by_workers);

    // Kill a worker process while it holds a job.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let marker = dir.path().join("stuck");
    let held = remote
        .submit(Call::new(stuck, marker.to_string_lossy().into_owned()))
        .expect("submit");
    while !marker.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid: i32 = std::fs::read_to_string(&marker)
        .expect("marker")
        .parse()
        .expect("a pid");
    // The job runs in a pool process of one of the workers; kill that whole worker.
    let victim = workers
        .iter()
        .find(|w| ancestors(pid).contains(&w.pid()))
        .expect("the job runs under one of the worker processes");
    println!("SIGKILL worker process {} (it holds the job)", victim.pid());
    victim.kill().expect("kill");
    let more: Vec<_> = (0..4)
        .map(|i| {
            remote
                .submit(Call::new(count_primes, 10_000 * (i + 1)))
                .expect("submit")
        })
        .collect();
    match held.result() {
        Err(TaskError::Failed(e)) if e.downcast_ref::<WorkerLost>().is_some() => {
            println!("the held job: {e}")
        }
        other => panic!("expected WorkerLost, got {other:?}"),
    }
    let counts: Vec<u64> = more
        .into_iter()
        .map(|f| f.into_result().expect("ok"))
        .collect();
    println!("jobs submitted after the kill, run by the survivor: {counts:?}");
    remote.shutdown(true, false);
    for w in &workers {
        let _ = w.kill();
    }
}
