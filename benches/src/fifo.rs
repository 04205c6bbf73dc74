//! The FIFO workload of issue 18, shared by the criterion groups `queue/spsc_*` and
//! `queue/mpmc_2x2_*` (`benches/queue.rs`) and the interleaved A/B runner
//! `examples/queue_ab.rs`, so both harnesses time exactly the same thing.
//!
//! 4,000,000 `u64` go from `p` producer threads (sending `TOTAL / p` each) to `k`
//! consumer threads (taking `TOTAL / k` each); every thread owns its own handle (a clone,
//! as users write it). A run is timed as a user pays for it: from before the threads are
//! started to after the last one is joined (the same for every contender), and checks the
//! sum it received.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

/// Items passed per run (one producer sends them all; two send half each).
pub const TOTAL: u64 = 4_000_000;

/// Capacity of the bounded queues.
pub const CAP: usize = 1024;

/// One run: each of `senders` sends `0..TOTAL / senders.len()`, each of `receivers` takes
/// `TOTAL / receivers.len()` items. Returns the time from before the first thread is
/// started to after the last one is joined.
///
/// # Panics
///
/// If the items received do not add up to the items sent.
pub fn timed<S, R>(senders: Vec<S>, receivers: Vec<R>) -> Duration
where
    S: FnMut(u64) + Send,
    R: FnMut() -> u64 + Send,
{
    let (p, k) = (senders.len() as u64, receivers.len() as u64);
    let per = TOTAL / p;
    let t0 = Instant::now();
    let sum = thread::scope(|s| {
        for mut send in senders {
            s.spawn(move || {
                for i in 0..per {
                    send(i);
                }
            });
        }
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|mut recv| {
                s.spawn(move || {
                    let mut sum = 0u64;
                    for _ in 0..TOTAL / k {
                        sum += recv();
                    }
                    sum
                })
            })
            .collect();
        consumers
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum::<u64>()
    });
    let elapsed = t0.elapsed();
    assert_eq!(black_box(sum), p * (per * (per - 1) / 2));
    elapsed
}

/// `n` clones of `h`, each made into a closure by `f` (one handle per thread).
pub fn handles<H: Clone, F>(h: &H, n: usize, f: impl Fn(H) -> F) -> Vec<F> {
    (0..n).map(|_| f(h.clone())).collect()
}
