//! Interleaved A/B measurement of `ThreadPool::map` against rayon, the workloads of
//! issue 18 item 2: 100,000 no-op items (identity on `u64`) on 2 workers,
//!
//! * `chunksize 1`: `pool.map_chunked(f, items, 1)` against rayon's per-task
//!   `scope.spawn` (bare no-op tasks, and tasks that write their result into a slot);
//! * `default`: `pool.map(f, items)` (Python's default chunk size) against
//!   `par_iter().map(f).collect()`, the items a range (both split it by index), any
//!   other iterator (skein gathers it into a list on the caller first, as Python does:
//!   what a range cost too before skein split ranges) and a `Vec` handed over by value;
//! * `submit_wait`: submit 100,000 no-op tasks to a `ThreadPoolExecutor`, then wait for
//!   every future, against the same tasks spawned in one rayon `scope` (the
//!   `pool/submit_wait_100k` group).
//!
//! The criterion groups `pool/map_100k_chunksize1` and `pool/map_100k_default` measure
//! each contender in its own seconds; here blocks of each alternate within one process,
//! so both see the same machine load, and the median of the per-round ratios
//! (rayon time / skein time: above 1 means skein is faster) is the steadier figure.
//!
//! ```text
//! cargo run -p skein-benches --release --example map_ab [-- ROUNDS [LABEL-FILTER]]
//! ```

use std::hint::black_box;
use std::time::Instant;

use rayon::prelude::*;
use skein_pool::{Submit, ThreadPool, ThreadPoolExecutor};

const ITEMS: u64 = 100_000;
const WORKERS: usize = 2;

/// Microseconds per call over a block of `n` calls.
fn block(n: u32, f: &dyn Fn()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn compare(label: &str, rounds: usize, n: u32, skein: &dyn Fn(), peer: &dyn Fn()) {
    let only = std::env::args().nth(2).unwrap_or_default();
    if !label.contains(&only) {
        return;
    }
    block(n, skein);
    block(n, peer);
    let (mut s_t, mut p_t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let s = block(n, skein);
        let p = block(n, peer);
        s_t.push(s);
        p_t.push(p);
        ratios.push(p / s);
    }
    let (s_lo, s_med, s_hi) = quartiles(s_t);
    let (p_lo, p_med, p_hi) = quartiles(p_t);
    let (q1, med, q3) = quartiles(ratios);
    println!(
        "{label:<44} skein {s_med:9.1} µs ({s_lo:.1}–{s_hi:.1})  peer {p_med:9.1} µs \
         ({p_lo:.1}–{p_hi:.1})  peer/skein median {med:.2} (quartiles {q1:.2}–{q3:.2})"
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |s| s.parse().expect("ROUNDS is a number"));
    let expected: u64 = (0..ITEMS).sum();
    let pool = ThreadPool::new(WORKERS).unwrap();
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap();
    println!("{rounds} rounds, {ITEMS} items, {WORKERS} workers; skein and rayon alternating");

    let executor = ThreadPoolExecutor::new(WORKERS).unwrap();
    let futures = std::cell::RefCell::new(Vec::with_capacity(ITEMS as usize));
    let skein_submit = || {
        let mut futures = futures.borrow_mut();
        for _ in 0..ITEMS {
            futures.push(executor.submit(|| ()).unwrap());
        }
        for f in futures.drain(..) {
            assert!(f.result().is_ok());
        }
    };
    let rayon_submit = || {
        rayon.scope(|s| {
            for _ in 0..ITEMS {
                s.spawn(|_| ());
            }
        })
    };
    compare(
        "submit_wait vs rayon scope.spawn",
        rounds,
        3,
        &skein_submit,
        &rayon_submit,
    );

    let skein_one = || {
        let out = pool.map_chunked(|x: u64| x, 0..ITEMS, 1).unwrap();
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    let rayon_spawn = || {
        rayon.scope(|s| {
            for _ in 0..ITEMS {
                s.spawn(|_| ());
            }
        })
    };
    let rayon_spawn_slots = || {
        let mut out = vec![0u64; ITEMS as usize];
        rayon.scope(|s| {
            for (slot, x) in out.iter_mut().zip(0..ITEMS) {
                s.spawn(move |_| *slot = black_box(x));
            }
        });
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    compare(
        "chunksize 1 vs rayon scope.spawn",
        rounds,
        3,
        &skein_one,
        &rayon_spawn,
    );
    compare(
        "chunksize 1 vs rayon scope.spawn into slots",
        rounds,
        3,
        &skein_one,
        &rayon_spawn_slots,
    );

    let skein_default = || {
        let out = pool.map(|x: u64| x, 0..ITEMS).unwrap();
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    let rayon_collect = || {
        let out: Vec<u64> = rayon.install(|| (0..ITEMS).into_par_iter().map(|x| x).collect());
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    compare(
        "default chunks vs par_iter().map().collect()",
        rounds,
        200,
        &skein_default,
        &rayon_collect,
    );

    // Any other iterator is gathered into a list first, on the caller (Python's way, and
    // what `map` did with a range too before it split ranges by index): the cost of that
    // gathering, against the same rayon map over the range.
    #[allow(clippy::map_identity)]
    let skein_iter = || {
        let out = pool.map(|x: u64| x, (0..ITEMS).map(|x| x)).unwrap();
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    compare(
        "default chunks, iterator gathered, vs par_iter",
        rounds,
        200,
        &skein_iter,
        &rayon_collect,
    );

    // The items as a list, handed over by value (Python's `pool.map(f, a_list)`): both
    // sides start from the same clone.
    let list: Vec<u64> = (0..ITEMS).collect();
    let skein_list = || {
        let out = pool.map(|x: u64| x, list.clone()).unwrap();
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    let rayon_list = || {
        let out: Vec<u64> = rayon.install(|| list.clone().into_par_iter().map(|x| x).collect());
        assert_eq!(out.iter().sum::<u64>(), expected);
    };
    compare(
        "default chunks, Vec by value, vs rayon",
        rounds,
        200,
        &skein_list,
        &rayon_list,
    );
}
