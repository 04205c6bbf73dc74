//! Polling briefly before sleeping.
//!
//! A round trip through the pool passes a message three times (caller → worker →
//! manager thread → caller; four when the task waits in the queue and the manager sends
//! it). Each receiver that is asleep when its message
//! comes has to be woken, and on a virtual machine the wake-up of an idle CPU costs
//! tens of microseconds — several times the cost of the message itself. So the manager
//! (while tasks are short) and a worker (after a task) poll for their next message for
//! [`SPIN`] before they sleep, yielding the CPU between polls so that a process they
//! share a core with still runs at once. A caller waiting on an `ApplyResult` polls
//! likewise before its future's wait sleeps. Long tasks do not make the manager spin: it would take time from
//! the workers for nothing.

use std::time::{Duration, Instant};

/// How long a receiver polls before it sleeps.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// Polls `ready` (yielding between polls) until it is true or [`SPIN`] has passed;
/// returns its last answer.
pub(crate) fn until(mut ready: impl FnMut() -> bool) -> bool {
    until_deadline(Instant::now() + SPIN, &mut ready)
}

/// As [`until`], up to `deadline`.
pub(crate) fn until_deadline(deadline: Instant, mut ready: impl FnMut() -> bool) -> bool {
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::yield_now();
    }
}
