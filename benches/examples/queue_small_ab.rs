//! Interleaved A/B measurement of the cross-process `Queue` with small messages: 100k
//! `u64`s from a forked child to its parent, skein's `Queue` against iceoryx2
//! publish-subscribe (blocking, woken through an event listener; and busy-polling),
//! ipc-channel, a raw socketpair and, as the in-process limit, crossbeam-channel between
//! two threads — the contenders of the criterion group `process/queue_100k_small`
//! (`workloads/queue_small.rs`, the same code). One round runs every contender once, in
//! an order that rotates from round to round, so all of them see the same machine drift.
//! Prints each contender's median throughput and the median (and lowest) of the
//! per-round ratios skein / peer in speed (above 1.0 means skein is faster).
//!
//! ```text
//! cargo run -p skein-benches --release --example queue_small_ab [-- ROUNDS [CONTENDERS]]
//! ```
//!
//! CONTENDERS is a comma-separated subset of the names below (skein always runs).

use std::time::Duration;

#[path = "../workloads/queue_small.rs"]
mod queue_small;

use queue_small::{MESSAGES, Wake};
use skein_benches::stats::{median, sorted};

const CONTENDERS: [&str; 6] = [
    "skein",
    "iceoryx2 blocking",
    "iceoryx2 busy-poll",
    "ipc-channel",
    "raw socketpair",
    "crossbeam-channel in-process",
];

fn run(contender: &str) -> Duration {
    match contender {
        "skein" => queue_small::skein(),
        "iceoryx2 blocking" => queue_small::iceoryx2(Wake::Blocking),
        "iceoryx2 busy-poll" => queue_small::iceoryx2(Wake::BusyPoll),
        "ipc-channel" => queue_small::ipc_channel(),
        "raw socketpair" => queue_small::raw_socketpair(),
        "crossbeam-channel in-process" => queue_small::crossbeam_in_process(),
        _ => panic!("unknown contender {contender}; known: {CONTENDERS:?}"),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(11, |s| s.parse().expect("ROUNDS"));
    let chosen: Vec<&str> = match args.next() {
        Some(list) => {
            let mut v = vec!["skein"];
            for name in list.split(',').map(str::trim) {
                let known = CONTENDERS
                    .iter()
                    .find(|c| **c == name)
                    .unwrap_or_else(|| panic!("unknown contender {name}; known: {CONTENDERS:?}"));
                if !v.contains(known) {
                    v.push(known);
                }
            }
            v
        }
        None => CONTENDERS.to_vec(),
    };
    // One untimed warm-up round (page faults, iceoryx2's first node, lazy statics).
    for c in &chosen {
        run(c);
    }
    let mut secs: Vec<Vec<f64>> = vec![Vec::new(); chosen.len()];
    for round in 0..rounds {
        for k in 0..chosen.len() {
            let i = (round + k) % chosen.len();
            secs[i].push(run(chosen[i]).as_secs_f64());
        }
    }
    println!(
        "process/queue_100k_small: {MESSAGES} u64 child → parent, {rounds} interleaved rounds"
    );
    for (i, c) in chosen.iter().enumerate() {
        let rate = MESSAGES as f64 / median(&secs[i]) / 1e6;
        if i == 0 {
            println!("  {c:<30} {rate:>7.2} M msg/s");
            continue;
        }
        let ratios: Vec<f64> = secs[i].iter().zip(&secs[0]).map(|(p, s)| p / s).collect();
        println!(
            "  {c:<30} {rate:>7.2} M msg/s   skein/peer {:.2}x (lowest {:.2}x)",
            median(&ratios),
            sorted(ratios.clone())[0]
        );
    }
}
