//! Interleaved A/B measurement of small `Pipe` messages: 100k 8-byte messages from a
//! forked child, skein (`send_bytes` → `recv_bytes_into`, and `send` → `recv::<u64>`)
//! against a raw socketpair whose child writes one 16-byte frame per message and
//! whose parent reads with a 64 KiB buffer — the contenders of the criterion group
//! `process/pipe_small_8b`, in alternating rounds so that both see the same machine
//! drift. Prints the median of the per-round ratios (raw time / skein time: above 1.0
//! means skein is faster), then the ratio of each side's fastest run (the least
//! disturbed by other load) and the median ratio of CPU time (parent + child).
//!
//! ```text
//! cargo run -p skein-benches --release --example pipe_small_ab [-- ROUNDS]
//! ```
//!
//! `AB_REFERENCE=1` adds two references that are not the bar: a weaker peer (one
//! `recvmsg` and one allocation per message, `pipe_small::raw_per_message`) and the raw
//! peer over an OS pipe (`pipe_small::raw_os_pipe`: the cost of the carrier);
//! `AB_ONLY=raw|raw_per_message|raw_os_pipe|bytes|values` runs one contender once (for
//! `perf stat`/`strace`).

use std::time::Duration;

use skein_benches::pipe_small::{
    MESSAGES, cpu_time, raw_os_pipe, raw_per_message, raw_socketpair as raw, skein_bytes,
    skein_values,
};
use skein_benches::stats::median;

/// One contender's wall-clock and CPU time (parent + child) per round.
#[derive(Default)]
struct Times {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Times {
    fn run(&mut self, f: fn() -> Duration) -> Duration {
        let cpu0 = cpu_time();
        let wall = f();
        self.cpu.push((cpu_time() - cpu0).as_secs_f64());
        self.wall.push(wall.as_secs_f64());
        wall
    }

    /// (median of per-round wall ratios, ratio of the fastest runs, median of per-round
    /// CPU ratios) of `peer` over `self`: above 1.0 means `self` is faster / cheaper.
    fn against(&self, peer: &Times) -> (f64, f64, f64) {
        let ratios =
            |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(p, s)| p / s).collect() };
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        (
            median(&ratios(&peer.wall, &self.wall)),
            min(&peer.wall) / min(&self.wall),
            median(&ratios(&peer.cpu, &self.cpu)),
        )
    }
}

fn main() {
    if let Ok(which) = std::env::var("AB_ONLY") {
        let d = match which.as_str() {
            "raw" => raw(),
            "raw_per_message" => raw_per_message(),
            "raw_os_pipe" => raw_os_pipe(),
            "bytes" => skein_bytes(),
            _ => skein_values(),
        };
        println!("{which}: {d:?}");
        return;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |s| s.parse().expect("ROUNDS"));
    let reference = std::env::var_os("AB_REFERENCE").is_some();
    let (mut t_raw, mut t_bytes, mut t_values, mut t_ref, mut t_pipe) = Default::default();
    for round in 0..rounds {
        let raw_t = Times::run(&mut t_raw, raw);
        let bytes_t = Times::run(&mut t_bytes, skein_bytes);
        let values_t = Times::run(&mut t_values, skein_values);
        let ref_t = reference.then(|| {
            (
                Times::run(&mut t_ref, raw_per_message),
                Times::run(&mut t_pipe, raw_os_pipe),
            )
        });
        eprintln!(
            "round {round}: raw {raw_t:?}, skein bytes {bytes_t:?}, skein values {values_t:?}{}",
            ref_t.map_or(String::new(), |(r, p)| format!(
                ", raw per-message {r:?}, raw os pipe {p:?}"
            ))
        );
    }
    let (bytes, values) = (t_bytes.against(&t_raw), t_values.against(&t_raw));
    println!(
        "pipe 8-byte messages, {MESSAGES} per run, {rounds} rounds: skein bytes {:.2}x raw, \
         skein values {:.2}x raw (median of per-round ratios; > 1 = skein faster)",
        bytes.0, values.0
    );
    println!(
        "  fastest run: bytes {:.2}x, values {:.2}x; CPU (parent + child, median ratio): \
         bytes {:.2}x, values {:.2}x",
        bytes.1, values.1, bytes.2, values.2
    );
    if reference {
        let r = t_bytes.against(&t_ref);
        println!(
            "  reference (not the bar): skein bytes {:.2}x the raw per-message reader \
             (one recvmsg + one Vec per message; fastest {:.2}x, CPU {:.2}x)",
            r.0, r.1, r.2
        );
        let p = t_bytes.against(&t_pipe);
        println!(
            "  reference (not the bar): skein bytes {:.2}x the raw peer on an OS pipe \
             (the carrier's cost; fastest {:.2}x, CPU {:.2}x)",
            p.0, p.1, p.2
        );
    }
}
