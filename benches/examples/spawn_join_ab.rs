//! Interleaved A/B measurement of process spawn+join: raw `fork`+`waitpid` against
//! skein's `Fork` and `Forkserver` start methods, and procspawn against skein's `Spawn`
//! (both re-execute this binary), in alternating blocks within one process.
//!
//! The criterion group `process/spawn_join` measures each contender in its own few
//! seconds; on a shared 2-core VM the raw peer alone swings by ±15% between runs (its
//! child lands on the parent's CPU or on the other one), and that drift lands in the
//! ratio. Alternating blocks of 100 start+joins expose both sides to the same drift,
//! so the median of the per-round ratios is the steadier figure. This complements the
//! criterion bench; it does not replace it.
//!
//! ```text
//! cargo run -p skein-benches --release --example spawn_join_ab [-- ROUNDS [METHODS]]
//! ```
//!
//! `METHODS` is a comma-separated subset of `fork,forkserver,spawn` (default: all, in
//! that order). Keep `fork` before `spawn`: procspawn leaves a thread running, after
//! which a `Fork` start takes its multi-threaded path (stdio locks held across the
//! fork), a different measurement.
//! The bars (SPEC.md): fork ≤ 1.1× raw, forkserver ≤ 1.5× raw, spawn ≤ 0.7× procspawn.

use std::time::Instant;

use skein_process::{StartMethod, get_context};

const BLOCK: u32 = 100;
/// A spawn+join costs ~10× a fork+join: smaller blocks keep the rounds as fine.
const SPAWN_BLOCK: u32 = 10;

fn noop(_: ()) {}

fn procspawn_noop(_: ()) -> u32 {
    7
}

fn raw_fork_wait() {
    // SAFETY: the child only calls `_exit`, which is async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: `_exit` never returns and runs no Rust code.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork failed");
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert_eq!(status, 0);
}

/// Microseconds per start+join over one block of `n`.
fn block_of(n: u32, f: &dyn Fn()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

/// Alternates blocks of `a` and `b`; prints the medians and the median ratio b ÷ a.
fn interleave(label: &str, (a_name, a): (&str, &dyn Fn()), b: &dyn Fn(), n: u32, rounds: usize) {
    // Warm up (the forkserver starts on first use).
    block_of(n, a);
    block_of(n, b);
    let (mut a_t, mut b_t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let x = block_of(n, a);
        let y = block_of(n, b);
        a_t.push(x);
        b_t.push(y);
        ratios.push(y / x);
    }
    let (_, a_med, _) = quartiles(a_t);
    let (_, b_med, _) = quartiles(b_t);
    let (q1, med, q3) = quartiles(ratios);
    println!(
        "{label:<10} {a_name} {a_med:6.1} µs  skein {b_med:6.1} µs  ratio median {med:.3} \
         (quartiles {q1:.3}–{q3:.3})"
    );
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn main() {
    // Both libraries re-execute this binary for their children: let each claim its own.
    skein_process::init();
    procspawn::init();
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(30, |s| s.parse().expect("ROUNDS is a number"));
    let methods = args
        .next()
        .unwrap_or_else(|| "fork,forkserver,spawn".into());
    println!("{rounds} rounds of {BLOCK} (spawn: {SPAWN_BLOCK}) start+joins each, alternating");
    for name in methods.split(',') {
        let method = StartMethod::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .unwrap_or_else(|| panic!("unknown start method {name}"));
        let ctx = get_context(method);
        let skein = || assert_eq!(ctx.process(noop, ()).start().unwrap().join().unwrap(), 0);
        match method {
            StartMethod::Spawn => {
                let peer = || assert_eq!(procspawn::spawn((), procspawn_noop).join().unwrap(), 7);
                interleave(name, ("procspawn", &peer), &skein, SPAWN_BLOCK, rounds);
            }
            _ => interleave(name, ("raw", &raw_fork_wait), &skein, BLOCK, rounds),
        }
    }
}
