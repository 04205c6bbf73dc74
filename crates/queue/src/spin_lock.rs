//! A lock for critical sections of a few instructions: the unbounded `Queue`'s `VecDeque`
//! (kanal's design for its channels).
//!
//! Taking it free is one compare-and-swap; releasing it is one store — no system call on
//! either side, ever, because nobody parks on it: a thread that finds it held spins a few
//! rounds (the holder's critical section is a few nanoseconds), then sleeps a little
//! ([`FIRST_NAP`], doubling up to [`MAX_NAP`]) and tries again. The sleep is what makes a
//! lock faster than a lock-free list on a busy machine: when the holder is not running (its
//! core was taken), spinning only burns the time it needs, and when two threads contend
//! for a few nanoseconds of work, the loser getting out of the way lets the holder run a
//! long uncontended streak with the queue's cache line in its own core. A parking mutex
//! (`parking_lot`) was tried in this place and was 2–2.8× slower than the lock-free list:
//! its unlock wakes a parked thread with a system call, and the woken thread then contends
//! again. Settings measured on issue 18's workload (2 cores, 4 threads): spinning longer
//! before sleeping (10 or 20 rounds) and short naps (5–50 µs) with yields in between were
//! all slower than these.
//!
//! With the queue flavors `array` and `deque`, one of the crate's modules with `unsafe`
//! code (the access to the locked value).

#![allow(unsafe_code)]

#[cfg(not(loom))]
use crate::primitive::{AtomicBool, Ordering, UnsafeCell};

/// Spin rounds (each a doubling busy wait: 1, 2, 4 pause hints) before napping.
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 3;
/// The first nap; each further one doubles, up to [`MAX_NAP`].
#[cfg(not(loom))]
const FIRST_NAP: std::time::Duration = std::time::Duration::from_micros(100);
/// The longest nap between two tries.
#[cfg(not(loom))]
const MAX_NAP: std::time::Duration = std::time::Duration::from_micros(1000);

/// A value behind a spin-then-sleep lock; see the module docs. `repr(C)`: the lock word
/// comes first, so a user can lay the lock and its value out in one cache line.
#[cfg(not(loom))]
#[repr(C)]
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one thread at a time; `T` only moves
// between threads (it must be `Send`), nothing hands out a shared `&T` to two threads.
#[cfg(not(loom))]
unsafe impl<T: Send> Send for SpinLock<T> {}
// SAFETY: as above.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Releases the lock when dropped (also if the critical section panics).
#[cfg(not(loom))]
struct Unlock<'a>(&'a AtomicBool);

#[cfg(not(loom))]
impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
impl<T> SpinLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Runs `f` on the value with the lock held.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.acquire_slow();
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: we hold the lock (the CAS above or in `acquire_slow` set `locked` with
        // Acquire, pairing with the previous holder's Release store), so no other thread
        // accesses `value` until `_unlock` is dropped after `f` returns.
        self.value.with_mut(|p| f(unsafe { &mut *p }))
    }

    #[cold]
    #[inline(never)]
    fn acquire_slow(&self) {
        let mut round = 0u32;
        loop {
            if !self.locked.load(Ordering::Relaxed)
                && self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            pause(round);
            round = round.saturating_add(1);
        }
    }
}

/// Waits between two tries to take the lock: spin, then nap.
#[cfg(not(loom))]
#[inline]
fn pause(round: u32) {
    if round < SPIN_ROUNDS {
        for _ in 0..1u32 << round {
            std::hint::spin_loop();
        }
    } else {
        let naps = (round - SPIN_ROUNDS).min(16);
        std::thread::sleep(FIRST_NAP.saturating_mul(1 << naps).min(MAX_NAP));
    }
}

/// Under loom: loom's own mutex, so the model checker explores the queues built on the lock
/// without spinning through it (a spin loop makes loom give up: it needs every waiting
/// thread to block). The spin lock itself is two atomic operations (`Acquire` CAS, `Release`
/// store) and is checked by the `excludes_concurrent_holders` stress test.
#[cfg(loom)]
pub(crate) struct SpinLock<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> SpinLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.lock().unwrap())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn excludes_concurrent_holders() {
        let lock = Arc::new(SpinLock::new((0u64, false)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        lock.with(|(n, inside)| {
                            assert!(!*inside, "two holders at once");
                            *inside = true;
                            *n += 1;
                            *inside = false;
                        });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lock.with(|(n, _)| *n), 80_000);
    }

    #[test]
    fn a_panicking_section_releases_the_lock() {
        let lock = SpinLock::new(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.with(|_| panic!("inside"));
        }));
        assert!(r.is_err());
        assert_eq!(lock.with(|v| *v), 1);
    }
}
