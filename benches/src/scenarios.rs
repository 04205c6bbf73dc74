//! The CPU-bound job of the scenario benches (`benches/benches/scenarios.rs`) and of the
//! interleaved runner `examples/cpu_scenario_ab.rs`: count the primes below [`N`] by
//! trial division, the range cut into [`CHUNKS`] equal chunks. CPython's
//! `benches/python/scenarios.py` runs the same job with the same numbers.

/// Primes are counted below this bound.
pub const N: u64 = 1_000_000;
/// π(1,000,000): the answer every run must find.
pub const PRIMES_BELOW_N: u64 = 78_498;
/// The job is cut into this many equal ranges, handed out one at a time.
pub const CHUNKS: u64 = 32;
/// Workers for the CPU job: one per core of the 2-core machine the bars are set for.
pub const CPU_WORKERS: usize = 2;

/// Whether `k` is prime, by trial division up to √k.
pub fn is_prime(k: u64) -> bool {
    k >= 2 && (2..).take_while(|d| d * d <= k).all(|d| k % d != 0)
}

/// The primes in `lo..hi` (a process-pool task: a plain `fn` of serde arguments).
pub fn count_primes_in((lo, hi): (u64, u64)) -> u64 {
    (lo..hi).filter(|&k| is_prime(k)).count() as u64
}

/// The [`CHUNKS`] ranges that together cover `0..N`.
pub fn chunks() -> Vec<(u64, u64)> {
    let step = N.div_ceil(CHUNKS);
    (0..CHUNKS)
        .map(|i| (i * step, ((i + 1) * step).min(N)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunks_cover_the_range_and_count_pi_of_n() {
        let c = chunks();
        assert_eq!(c.len() as u64, CHUNKS);
        assert_eq!(c[0].0, 0);
        assert_eq!(c.last().unwrap().1, N);
        assert!(c.windows(2).all(|w| w[0].1 == w[1].0));
        // π(100) = 25 and π(1000) = 168, the small cases checkable by hand.
        assert_eq!(count_primes_in((0, 100)), 25);
        assert_eq!(count_primes_in((0, 1000)), 168);
        assert_eq!(
            c.iter().map(|&r| count_primes_in(r)).sum::<u64>(),
            PRIMES_BELOW_N
        );
    }
}
