//! Interleaved A/B measurement of process spawn+join: raw `fork`+`waitpid` against
//! skein's `Fork` and `Forkserver` start methods, in alternating blocks within one
//! process.
//!
//! The criterion group `process/spawn_join` measures each contender in its own few
//! seconds; on a shared 2-core VM the raw peer alone swings by ±15% between runs (its
//! child lands on the parent's CPU or on the other one), and that drift lands in the
//! ratio. Alternating blocks of 100 start+joins expose both sides to the same drift,
//! so the median of the per-round ratios is the steadier figure. This complements the
//! criterion bench; it does not replace it.
//!
//! ```text
//! cargo run -p skein-benches --release --example spawn_join_ab [-- ROUNDS]
//! ```

use std::time::Instant;

use skein_process::{StartMethod, get_context};

const BLOCK: u32 = 100;

fn noop(_: ()) {}

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

/// Microseconds per start+join over one block.
fn block(f: &dyn Fn()) -> f64 {
    let t = Instant::now();
    for _ in 0..BLOCK {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(BLOCK)
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn main() {
    skein_process::init();
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(30, |s| s.parse().expect("ROUNDS is a number"));
    println!("{rounds} rounds of {BLOCK} start+joins each, raw and skein alternating");
    for method in [StartMethod::Fork, StartMethod::Forkserver] {
        let ctx = get_context(method);
        let skein = || assert_eq!(ctx.process(noop, ()).start().unwrap().join().unwrap(), 0);
        // Warm up (the forkserver starts on first use).
        block(&raw_fork_wait);
        block(&skein);
        let (mut raw_t, mut skein_t, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let r = block(&raw_fork_wait);
            let s = block(&skein);
            raw_t.push(r);
            skein_t.push(s);
            ratios.push(s / r);
        }
        let (_, raw_med, _) = quartiles(raw_t);
        let (_, skein_med, _) = quartiles(skein_t);
        let (q1, med, q3) = quartiles(ratios);
        println!(
            "{:<10} raw {raw_med:6.1} µs  skein {skein_med:6.1} µs  ratio median {med:.3} \
             (quartiles {q1:.3}–{q3:.3})",
            method.name()
        );
    }
}
