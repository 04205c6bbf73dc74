//! Interleaved A/B measurement of `hub/echo_1000_clients`: skein's hub and tokio's
//! current-thread runtime, both set up once in this process (1,000 loopback
//! connections each, a server task per connection), then one run of each in turn.
//!
//! On a shared 2-core VM a criterion run of one contender and then the other sees
//! load drift of ±10 % between them; alternating single runs exposes both to the same
//! drift, and the per-round ratio (tokio's time ÷ skein's, both in the same round)
//! cancels what is slower than a round. The order alternates each round (skein first
//! in even rounds, tokio first in odd ones) so neither always runs on the other's
//! leftovers in the caches. Prints the medians of wall and thread CPU time and the
//! median and quartiles of the per-round throughput ratio (> 1: skein faster).
//!
//! ```text
//! cargo run -p skein-benches --release --example echo_ab [-- ROUNDS]
//! ```

use std::time::Instant;

use skein_benches::echo::{CLIENTS, MSG, ROUNDS, SkeinEcho, TokioEcho, thread_cpu_ms};

/// Wall and CPU milliseconds of one run of `f`.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let cpu = thread_cpu_ms();
    let t = Instant::now();
    f();
    let wall = t.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu.zip(thread_cpu_ms()).map_or(f64::NAN, |(a, b)| b - a);
    (wall, cpu)
}

fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: usize| v[(v.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(9, |s| s.parse().expect("ROUNDS is a number"));
    let skein = SkeinEcho::new();
    let tokio = TokioEcho::new();
    // One warm-up run each (stacks, buffers and the kernel's socket state).
    skein.run();
    tokio.run();
    let (mut s, mut t) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            s.push(timed(|| skein.run()));
            t.push(timed(|| tokio.run()));
        } else {
            t.push(timed(|| tokio.run()));
            s.push(timed(|| skein.run()));
        }
    }
    let ratios: Vec<f64> = s.iter().zip(&t).map(|(s, t)| t.0 / s.0).collect();
    let cpu_ratios: Vec<f64> = s.iter().zip(&t).map(|(s, t)| t.1 / s.1).collect();
    let (_, s_wall, _) = quartiles(s.iter().map(|x| x.0).collect());
    let (_, t_wall, _) = quartiles(t.iter().map(|x| x.0).collect());
    let (_, s_cpu, _) = quartiles(s.iter().map(|x| x.1).collect());
    let (_, t_cpu, _) = quartiles(t.iter().map(|x| x.1).collect());
    let (q1, med, q3) = quartiles(ratios);
    let (c1, cmed, c3) = quartiles(cpu_ratios);
    println!(
        "echo {CLIENTS} clients x {ROUNDS} round trips of {MSG} B, {rounds} rounds alternating"
    );
    println!("  skein  wall {s_wall:7.2} ms  cpu {s_cpu:7.2} ms (medians)");
    println!("  tokio  wall {t_wall:7.2} ms  cpu {t_cpu:7.2} ms (medians)");
    println!(
        "  skein throughput / tokio's, per round: wall {med:.3}x (quartiles {q1:.3}-{q3:.3}), \
         cpu {cmed:.3}x ({c1:.3}-{c3:.3})"
    );
}
