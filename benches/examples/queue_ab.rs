//! Interleaved A/B measurement of the FIFO `Queue` against crossbeam-channel, kanal and
//! flume, the workloads of issue 18 item 1: 4,000,000 `u64` through a queue of capacity
//! 1024 (or unbounded), one producer and one consumer (SPSC) or two of each sending and
//! taking 2,000,000 each (2P/2C), each thread with its own handle, timed from a common
//! start to the last `get` (the workload is `skein_benches::fifo`, the same code the
//! criterion groups `queue/spsc_*` and `queue/mpmc_2x2_*` time).
//!
//! One round runs every contender once, in an order that rotates from round to round, so
//! all of them see the same machine drift; a whole run (tens of milliseconds) is one
//! sample. Printed per workload: each contender's median throughput and the median (and
//! the lowest) of the per-round ratios skein / peer (above 1 means skein is faster).
//!
//! ```text
//! cargo run -p skein-benches --release --example queue_ab [-- ROUNDS [WORKLOAD-FILTER]]
//! ```

use std::time::Duration;

use skein_benches::fifo::{CAP, TOTAL, handles, timed};
use skein_benches::stats::{median, sorted};

const CONTENDERS: [&str; 4] = ["skein", "crossbeam-channel", "kanal", "flume"];

/// One run of `contender` (capacity `cap`, 0 = unbounded) with `p` producers and `k`
/// consumers.
fn run(contender: &str, cap: usize, p: usize, k: usize) -> Duration {
    match contender {
        "skein" => {
            let q = skein_queue::Queue::new(cap);
            timed(
                handles(&q, p, |q| move |i| q.put(i).unwrap()),
                handles(&q, k, |q| move || q.get().unwrap()),
            )
        }
        "crossbeam-channel" => {
            let (tx, rx) = if cap > 0 {
                crossbeam_channel::bounded(cap)
            } else {
                crossbeam_channel::unbounded()
            };
            timed(
                handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                handles(&rx, k, |rx| move || rx.recv().unwrap()),
            )
        }
        "kanal" => {
            let (tx, rx) = if cap > 0 {
                kanal::bounded(cap)
            } else {
                kanal::unbounded()
            };
            timed(
                handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                handles(&rx, k, |rx| move || rx.recv().unwrap()),
            )
        }
        "flume" => {
            let (tx, rx) = if cap > 0 {
                flume::bounded(cap)
            } else {
                flume::unbounded()
            };
            timed(
                handles(&tx, p, |tx| move |i| tx.send(i).unwrap()),
                handles(&rx, k, |rx| move || rx.recv().unwrap()),
            )
        }
        _ => unreachable!("unknown contender {contender}"),
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(7, |s| s.parse().expect("ROUNDS is a number"));
    let only = std::env::args().nth(2).unwrap_or_default();
    println!(
        "{rounds} rounds of {TOTAL} u64 per workload; contenders rotate within each round; \
         M msg/s medians, ratios = skein / peer throughput (median, lowest)"
    );
    let workloads = [
        ("spsc_bounded_1024", CAP, 1, 1),
        ("2p2c_bounded_1024", CAP, 2, 2),
        ("spsc_unbounded", 0, 1, 1),
        ("2p2c_unbounded", 0, 2, 2),
    ];
    for (name, cap, p, k) in workloads {
        if !name.contains(&only) {
            continue;
        }
        // secs[c][round]
        let mut secs = vec![Vec::with_capacity(rounds); CONTENDERS.len()];
        // Warm-up: one untimed run each.
        for c in CONTENDERS {
            run(c, cap, p, k);
        }
        for round in 0..rounds {
            for j in 0..CONTENDERS.len() {
                let c = (round + j) % CONTENDERS.len();
                secs[c].push(run(CONTENDERS[c], cap, p, k).as_secs_f64());
            }
        }
        let mps = |c: usize| TOTAL as f64 / median(&secs[c]) / 1e6;
        let mut line = format!("{name:<18}");
        for (c, who) in CONTENDERS.iter().enumerate() {
            line += &format!(" {who} {:6.1}", mps(c));
        }
        println!("{line}");
        let mut line = format!("{:<18}", "");
        for (c, who) in CONTENDERS.iter().enumerate().skip(1) {
            let ratios: Vec<f64> = (0..rounds).map(|r| secs[c][r] / secs[0][r]).collect();
            let low = sorted(ratios.clone())[0];
            line += &format!(" skein/{who} {:.2}x (low {low:.2})", median(&ratios));
        }
        println!("{line}");
        let all: Vec<String> = secs[0]
            .iter()
            .map(|s| format!("{:.0}", TOTAL as f64 / s / 1e6))
            .collect();
        println!("{:<18} skein per round: {}", "", all.join(" "));
    }
}
