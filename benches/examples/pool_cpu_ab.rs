//! Interleaved A/B measurement of the CPU-bound map of issue 12 item 4 — the workload of
//! the criterion group `process/pool_cpu_map`: 16 prime counts (about 1.6 ms each, 25 ms
//! in all), `ProcessPool::map_chunked(.., Some(1))` on 2 workers against the same loop
//! run sequentially. Here a sequential run and a pool run alternate, so both see the same
//! machine load, and the median of the per-round speedups (sequential time / pool time)
//! is the steadier figure. With `TIMELINE=1` it also prints, for the last round, which
//! worker ran each item and when (milliseconds from the map's start), which shows how the
//! items were spread over the workers (`TIMELINE=N`: a summary line for each of N runs);
//! with `PARENT_CPU=1`, the CPU time and time slices per map of each thread of the parent
//! (from `/proc/self/task/*/schedstat`): what the pool's manager thread takes from the
//! workers on the cores they share.
//!
//! ```text
//! cargo run -p skein-benches --release --example pool_cpu_ab [-- ROUNDS]
//! ```

use std::time::Instant;

use skein_benches::stats::median;
use skein_pool::ProcessPool;

const WORKERS: usize = 2;

fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

/// Nanoseconds on the monotonic clock (the same in every process).
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: fills a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The item, with who ran it and when.
fn timed_count(n: u64) -> (u64, i32, u64, u64) {
    let start = now_ns();
    let count = count_primes(n);
    (count, skein_process::getpid(), start, now_ns())
}

fn main() {
    skein_process::init();
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |s| s.parse().expect("ROUNDS"));
    let items: Vec<u64> = (0..16).map(|i| 40_000 + i).collect();
    let want: u64 = items.iter().map(|&n| count_primes(n)).sum();
    let pool = ProcessPool::new(WORKERS).unwrap();
    let pool_run = || {
        let t = Instant::now();
        let out = pool
            .map_chunked(count_primes, items.iter().copied(), Some(1))
            .unwrap();
        let d = t.elapsed();
        assert_eq!(out.iter().sum::<u64>(), want);
        d
    };
    let seq_run = || {
        let t = Instant::now();
        let sum: u64 = items
            .iter()
            .map(|&n| count_primes(std::hint::black_box(n)))
            .sum();
        let d = t.elapsed();
        assert_eq!(sum, want);
        d
    };
    // Warm-up.
    pool_run();
    seq_run();
    let (mut speedups, mut seq_t, mut pool_t) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let s = seq_run();
        let p = pool_run();
        seq_t.push(s.as_secs_f64() * 1e3);
        pool_t.push(p.as_secs_f64() * 1e3);
        speedups.push(s.as_secs_f64() / p.as_secs_f64());
    }
    eprintln!("speedups: {speedups:.2?}");
    if std::env::var_os("PARENT_CPU").is_some() {
        let threads = || {
            let mut v = Vec::new();
            for e in std::fs::read_dir("/proc/self/task").unwrap() {
                let p = e.unwrap().path();
                let comm = std::fs::read_to_string(p.join("comm")).unwrap();
                let ss = std::fs::read_to_string(p.join("schedstat")).unwrap();
                let mut f = ss.split_whitespace();
                let run: f64 = f.next().unwrap().parse().unwrap();
                let _wait: f64 = f.next().unwrap().parse().unwrap();
                let slices: f64 = f.next().unwrap().parse().unwrap();
                v.push((comm.trim().to_string(), run, slices));
            }
            v
        };
        let t0 = threads();
        for _ in 0..20 {
            pool_run();
        }
        let t1 = threads();
        for ((name, r0, n0), (_, r1, n1)) in t0.iter().zip(&t1) {
            eprintln!(
                "  thread {name}: {:.0} us cpu, {:.1} slices per map",
                (r1 - r0) / 20e3,
                (n1 - n0) / 20.0
            );
        }
    }
    println!(
        "cpu map, 16 prime counts, {WORKERS} workers, {rounds} rounds: sequential {:.2} ms, \
         pool {:.2} ms, speedup {:.2}x (median of per-round ratios; min {:.2}x)",
        median(&seq_t),
        median(&pool_t),
        median(&speedups.clone()),
        speedups.iter().copied().fold(f64::INFINITY, f64::min)
    );
    if let Some(n) = std::env::var_os("TIMELINE") {
        let n: usize = n.to_str().and_then(|s| s.parse().ok()).unwrap_or(1);
        for round in 0..n {
            let t0 = now_ns();
            let out = pool
                .map_chunked(timed_count, items.iter().copied(), Some(1))
                .unwrap();
            let end = now_ns();
            let ms = |ns: u64| ns.saturating_sub(t0) as f64 / 1e6;
            if round + 1 == n {
                for (i, (_, pid, s, e)) in out.iter().enumerate() {
                    println!("item {i:2}: pid {pid} {:7.3} .. {:7.3} ms", ms(*s), ms(*e));
                }
            }
            let first = out.iter().map(|o| o.2).min().unwrap();
            let last = out.iter().map(|o| o.3).max().unwrap();
            let mut pids: Vec<i32> = out.iter().map(|o| o.1).collect();
            pids.sort();
            pids.dedup();
            let per: Vec<String> = pids
                .iter()
                .map(|p| {
                    let mine: Vec<_> = out.iter().filter(|o| o.1 == *p).collect();
                    let busy: u64 = mine.iter().map(|o| o.3 - o.2).sum();
                    let span = mine.iter().map(|o| o.3).max().unwrap() - first;
                    format!(
                        "{} items busy {:.2} span {:.2}",
                        mine.len(),
                        busy as f64 / 1e6,
                        span as f64 / 1e6
                    )
                })
                .collect();
            println!(
                "round {round}: first start {:.3} ms, last end {:.3}, returned {:.3}; {}",
                ms(first),
                ms(last),
                ms(end),
                per.join("; ")
            );
        }
    }
}
