//! The FIFO workload of issue 18, shared by the criterion groups `queue/spsc_*` and
//! `queue/mpmc_2x2_*` (`benches/queue.rs`) and the interleaved A/B runner
//! `examples/queue_ab.rs`, so both harnesses time exactly the same thing.
//!
//! 4,000,000 `u64` go from `p` producer threads (sending `TOTAL / p` each) to `k`
//! consumer threads (taking `TOTAL / k` each); every thread owns its own handle (a clone,
//! as users write it). A run is timed from the moment every thread is ready (a barrier;
//! thread start-up is not timed) to the last `get`, and checks the sum it received.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Items passed per run (one producer sends them all; two send half each).
pub const TOTAL: u64 = 4_000_000;

/// Capacity of the bounded queues.
pub const CAP: usize = 1024;

/// One run: each of `senders` sends `0..TOTAL / senders.len()`, each of `receivers` takes
/// `TOTAL / receivers.len()` items. Returns the time from the common start to the last
/// `get`.
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
    let start = Barrier::new(senders.len() + receivers.len() + 1);
    let (elapsed, sum) = thread::scope(|s| {
        for mut send in senders {
            let start = &start;
            s.spawn(move || {
                start.wait();
                for i in 0..per {
                    send(i);
                }
            });
        }
        let consumers: Vec<_> = receivers
            .into_iter()
            .map(|mut recv| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let mut sum = 0u64;
                    for _ in 0..TOTAL / k {
                        sum += recv();
                    }
                    (Instant::now(), sum)
                })
            })
            .collect();
        start.wait();
        let t0 = Instant::now();
        let ends: Vec<(Instant, u64)> = consumers.into_iter().map(|h| h.join().unwrap()).collect();
        let last = ends.iter().map(|e| e.0).max().unwrap();
        (last - t0, ends.iter().map(|e| e.1).sum::<u64>())
    });
    assert_eq!(black_box(sum), p * (per * (per - 1) / 2));
    elapsed
}

/// `n` clones of `h`, each made into a closure by `f` (one handle per thread).
pub fn handles<H: Clone, F>(h: &H, n: usize, f: impl Fn(H) -> F) -> Vec<F> {
    (0..n).map(|_| f(h.clone())).collect()
}
