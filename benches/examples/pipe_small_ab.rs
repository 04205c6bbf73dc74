//! Interleaved A/B measurement of small `Pipe` messages: 100k 8-byte messages from a
//! forked child, skein (`send_bytes` → `recv_bytes_into`, and `send` → `recv::<u64>`)
//! against a raw socketpair whose child writes one 16-byte frame per message and
//! whose parent reads with a 64 KiB buffer — the contenders of the criterion group
//! `process/pipe_small_8b`, in alternating rounds so that both see the same machine
//! drift. Prints the median of the per-round ratios (raw time / skein time: above 1.0
//! means skein is faster).
//!
//! ```text
//! cargo run -p skein-benches --release --example pipe_small_ab [-- ROUNDS]
//! ```

use skein_benches::pipe_small::{MESSAGES, raw_socketpair as raw, skein_bytes, skein_values};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Ok(which) = std::env::var("AB_ONLY") {
        let d = match which.as_str() {
            "raw" => raw(),
            "bytes" => skein_bytes(),
            _ => skein_values(),
        };
        println!("{which}: {d:?}");
        return;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |s| s.parse().expect("ROUNDS"));
    let (mut r_bytes, mut r_values) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let raw_t = raw();
        let bytes_t = skein_bytes();
        let values_t = skein_values();
        r_bytes.push(raw_t.as_secs_f64() / bytes_t.as_secs_f64());
        r_values.push(raw_t.as_secs_f64() / values_t.as_secs_f64());
        eprintln!(
            "round {round}: raw {raw_t:?}, skein bytes {bytes_t:?}, skein values {values_t:?}"
        );
    }
    println!(
        "pipe 8-byte messages, {MESSAGES} per run, {rounds} rounds: skein bytes {:.2}x raw, \
         skein values {:.2}x raw (median of per-round ratios; > 1 = skein faster)",
        median(r_bytes),
        median(r_values)
    );
}
