//! A lock on one futex word in shared memory that knows its owner.
//!
//! The word holds the owner's id (a pid for `Lock`, a tid for `RLock`; 0 when free) and
//! the [`WAITERS`] bit when someone sleeps on it. The uncontended path is one
//! compare-and-swap to take and one swap to release, with no syscall.
//!
//! **Owner death.** Linux's robust-futex list is per thread and already owned by glibc,
//! and Python's `Lock` may be released by any thread or process, which robust futexes do
//! not allow; so a sleeper bounds each futex wait by [`LIVENESS_SLICE`] and, when it wakes
//! with the lock still taken, checks whether the owner is alive (`/proc/<id>/stat`, which
//! also catches zombies). A dead owner's lock is taken over and reported as
//! [`Acquired::OwnerDied`]. The check costs nothing while nobody waits, and a waiter wakes
//! at most 1/[`LIVENESS_SLICE`] times a second while the lock is held (never a busy loop).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{futex, ident};

/// Set in the word while at least one process may be sleeping on it.
pub(crate) const WAITERS: u32 = 1 << 31;
/// The owner id part of the word.
pub(crate) const ID_MASK: u32 = !WAITERS;
/// How often a sleeping waiter checks that the owner is still alive.
pub(crate) const LIVENESS_SLICE: Duration = Duration::from_millis(20);

/// How a lock was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// From its previous owner's release.
    Clean,
    /// Taken over from an owner that died holding it.
    OwnerDied,
}

/// The id currently holding `word`, 0 when free.
pub(crate) fn owner(word: &AtomicU32) -> u32 {
    word.load(Ordering::Relaxed) & ID_MASK
}

/// Takes the lock if it is free or its owner is dead; never sleeps.
pub(crate) fn try_lock(word: &AtomicU32, me: u32) -> Option<Acquired> {
    debug_assert!(me != 0 && me & WAITERS == 0);
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        if cur == 0 {
            match word.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(Acquired::Clean),
                Err(c) => cur = c,
            }
            continue;
        }
        if cur & ID_MASK == 0 {
            // Free but flagged: keep the flag so the sleepers still get woken.
            match word.compare_exchange(cur, me | WAITERS, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(Acquired::Clean),
                Err(c) => cur = c,
            }
            continue;
        }
        return take_if_dead(word, cur, me);
    }
}

fn take_if_dead(word: &AtomicU32, cur: u32, me: u32) -> Option<Acquired> {
    let owner = cur & ID_MASK;
    if owner == me || ident::is_alive(owner) {
        return None;
    }
    // Keep WAITERS set: others may sleep on the dead owner's lock too.
    word.compare_exchange(cur, me | WAITERS, Ordering::Acquire, Ordering::Relaxed)
        .ok()
        .map(|_| Acquired::OwnerDied)
}

/// Takes the lock, sleeping until `deadline` (forever with `None`). `None` on timeout.
pub(crate) fn lock(word: &AtomicU32, me: u32, deadline: Option<Instant>) -> Option<Acquired> {
    if word
        .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return Some(Acquired::Clean);
    }
    lock_slow(word, me, deadline)
}

#[cold]
fn lock_slow(word: &AtomicU32, me: u32, deadline: Option<Instant>) -> Option<Acquired> {
    // A short spin: critical sections in shared memory are usually tiny.
    for _ in 0..64 {
        if word.load(Ordering::Relaxed) & ID_MASK == 0 {
            if let Some(a) = try_free(word, me) {
                return Some(a);
            }
        }
        std::hint::spin_loop();
    }
    let mut checked_at_least_once = false;
    loop {
        let cur = word.load(Ordering::Relaxed);
        if cur & ID_MASK == 0 {
            if let Some(a) = try_free(word, me) {
                return Some(a);
            }
            continue;
        }
        if checked_at_least_once {
            if let Some(a) = take_if_dead(word, cur, me) {
                return Some(a);
            }
        }
        if cur & WAITERS == 0
            && word
                .compare_exchange(cur, cur | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            continue;
        }
        let left = futex::remaining(deadline)?;
        futex::wait(
            word,
            cur | WAITERS,
            Some(futex::min_slice(left, LIVENESS_SLICE)),
        );
        checked_at_least_once = true;
    }
}

/// Takes a free word, setting WAITERS since we came through the slow path.
fn try_free(word: &AtomicU32, me: u32) -> Option<Acquired> {
    let cur = word.load(Ordering::Relaxed);
    if cur & ID_MASK != 0 {
        return None;
    }
    word.compare_exchange(cur, me | WAITERS, Ordering::Acquire, Ordering::Relaxed)
        .ok()
        .map(|_| Acquired::Clean)
}

/// Releases the lock and wakes one sleeper if any; returns the previous owner id.
pub(crate) fn unlock(word: &AtomicU32) -> u32 {
    let prev = word.swap(0, Ordering::Release);
    if prev & WAITERS != 0 {
        futex::wake(word, 1);
    }
    prev & ID_MASK
}
