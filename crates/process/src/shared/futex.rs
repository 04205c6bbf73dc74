//! Shared (not `FUTEX_PRIVATE`) futex waits and wakes on words in shared memory.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rustix::thread::futex;

/// Sleeps while `*word == expected`, at most `timeout` (forever with `None`).
///
/// Returns on a wake, a timeout, a signal, or at once when the word already differs:
/// callers always re-check their condition.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let ts = timeout.map(|d| futex::Timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(d.subsec_nanos()),
    });
    // EAGAIN (value changed), ETIMEDOUT and EINTR all mean "re-check".
    let _ = futex::wait(word, futex::Flags::empty(), expected, ts.as_ref());
}

/// As [`wait`], counted in `sleepers` for the time of the wait, so that a waker may skip
/// the wake-up syscall while `sleepers` is 0. Wakers change `word`, then read `sleepers`
/// (both `SeqCst`): either they see this sleeper, or this sleeper sees the new `word`.
pub(crate) fn wait_counted(
    word: &AtomicU32,
    sleepers: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
) {
    sleepers.fetch_add(1, Ordering::SeqCst);
    if word.load(Ordering::SeqCst) == expected {
        wait(word, expected, timeout);
    }
    sleepers.fetch_sub(1, Ordering::SeqCst);
}

/// Wakes at most `n` processes sleeping on `word`.
pub(crate) fn wake(word: &AtomicU32, n: u32) {
    let _ = futex::wake(word, futex::Flags::empty(), n.min(i32::MAX as u32));
}

/// Wakes every process sleeping on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    wake(word, i32::MAX as u32);
}

/// How long a sleeper may wait before `deadline`: `Some(None)` for no deadline,
/// `Some(Some(d))` with `d > 0`, or `None` once the deadline has passed.
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Option<Duration>> {
    match deadline {
        None => Some(None),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                None
            } else {
                Some(Some(left))
            }
        }
    }
}

/// The shorter of an optional bound and a slice.
pub(crate) fn min_slice(left: Option<Duration>, slice: Duration) -> Duration {
    left.map_or(slice, |l| l.min(slice))
}

/// `Instant::now() + d`, saturating far in the future instead of panicking.
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
}
