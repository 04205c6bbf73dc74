//! Interleaved measurement of the CPU-bound scenario (`scenarios/cpu_primes`): count the
//! primes below 1,000,000 in 32 chunks sequentially, on a fresh `ThreadPoolExecutor(2)`
//! (and on one made once, to separate the pool's start-up from the work), on a fresh
//! fork `ProcessPool(2)` (`map`, chunk size 1) and on 2 std threads, one after the other
//! in every round, so that all of them see the same machine load.
//!
//! Prints, per contender, the median time and the median (and quartiles) of the
//! per-round speedup `sequential ÷ contender` — the figure the SPEC.md bar (≥ 1.8× on
//! 2 cores for threads and processes) is about. This complements the criterion group,
//! which measures each contender in its own seconds.
//!
//! ```text
//! cargo run -p skein-benches --release --example cpu_scenario_ab [-- ROUNDS]
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use skein_benches::scenarios::{CPU_WORKERS, PRIMES_BELOW_N, chunks, count_primes_in};
use skein_pool::{ProcessPool, Submit, ThreadPoolExecutor};
use skein_process::StartMethod;

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

/// Milliseconds one run of `f` takes; checks its answer.
fn time_ms(f: &dyn Fn() -> u64) -> f64 {
    let t = Instant::now();
    let n = f();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(n, PRIMES_BELOW_N);
    ms
}

fn main() {
    skein_process::init();
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(10, |s| s.parse().expect("ROUNDS is a number"));
    let items = chunks();
    let sequential = || items.iter().map(|&r| count_primes_in(r)).sum::<u64>();
    let threads = || {
        let pool = ThreadPoolExecutor::new(CPU_WORKERS).unwrap();
        let futures: Vec<_> = items
            .iter()
            .map(|&r| pool.submit(move || count_primes_in(r)).unwrap())
            .collect();
        futures.iter().map(|f| *f.result().unwrap()).sum()
    };
    let processes = || {
        let pool = ProcessPool::builder()
            .processes(CPU_WORKERS)
            .start_method(StartMethod::Fork)
            .build()
            .unwrap();
        let out = pool
            .map_chunked(count_primes_in, items.iter().copied(), Some(1))
            .unwrap();
        out.iter().sum()
    };
    let std_threads = || {
        let next = AtomicU64::new(0);
        let total = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..CPU_WORKERS {
                s.spawn(|| {
                    let mut mine = 0;
                    while let Some(&r) = items.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                        mine += count_primes_in(r);
                    }
                    total.fetch_add(mine, Ordering::Relaxed);
                });
            }
        });
        total.into_inner()
    };
    let reused = ThreadPoolExecutor::new(CPU_WORKERS).unwrap();
    let threads_reused = || {
        let futures: Vec<_> = items
            .iter()
            .map(|&r| reused.submit(move || count_primes_in(r)).unwrap())
            .collect();
        futures.iter().map(|f| *f.result().unwrap()).sum()
    };
    let contenders: [(&str, &dyn Fn() -> u64); 4] = [
        ("skein/threads", &threads),
        ("skein/threads, pool reused", &threads_reused),
        ("skein/processes", &processes),
        ("std/threads", &std_threads),
    ];
    // Warm-up: one run of each.
    time_ms(&sequential);
    for (_, f) in &contenders {
        time_ms(*f);
    }
    let mut seq_ms = Vec::new();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    let mut speedups: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for _ in 0..rounds {
        let s = time_ms(&sequential);
        seq_ms.push(s);
        for (i, (_, f)) in contenders.iter().enumerate() {
            let t = time_ms(*f);
            times[i].push(t);
            speedups[i].push(s / t);
        }
    }
    println!(
        "{rounds} rounds; sequential median {:.1} ms",
        quartiles(seq_ms).1
    );
    for (i, (name, _)) in contenders.iter().enumerate() {
        let (_, t, _) = quartiles(times[i].clone());
        let (q1, med, q3) = quartiles(speedups[i].clone());
        println!(
            "{name:<27} median {t:6.1} ms  speedup median {med:.2}× (quartiles {q1:.2}–{q3:.2})"
        );
    }
}
