//! A lock on one futex word in shared memory that knows its owner.
//!
//! The word holds the owner's id (a pid for `Lock`, a tid for `RLock`; 0 when free) and
//! the [`WAITERS`] bit when someone sleeps on it; beside it, the owner's [`Stamp`] (id
//! and start time) says which process or thread *with that id* it is. The uncontended
//! path is one compare-and-swap and one store to take, two stores (one a swap) to
//! release, with no syscall.
//!
//! **Owner death.** Linux's robust-futex list is per thread and already owned by glibc,
//! and Python's `Lock` may be released by any thread or process, which robust futexes do
//! not allow; so a sleeper bounds each futex wait by [`LIVENESS_SLICE`] and, when it wakes
//! with the lock still taken, checks whether the owner is alive. A dead owner's lock is
//! taken over and reported as [`Acquired::OwnerDied`]. The check costs nothing while
//! nobody waits, and a waiter wakes at most 1/[`LIVENESS_SLICE`] times a second while the
//! lock is held (never a busy loop).
//!
//! **Pid reuse.** The liveness check compares the whole stamp (see `ident`): an
//! unrelated process that was given the dead owner's pid does not keep its lock. The
//! stamp is written right after the compare-and-swap that takes the word, and cleared
//! right before the release; a waiter that reads a word whose id the stamp does not
//! match (the owner is between the two) judges the owner by its id alone. So the one
//! unguarded moment is an owner killed between those two adjacent instructions *and*
//! its pid handed out again.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::futex;
use super::ident::{self, Me, Stamp, stamp_id};

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

/// The lock: a futex word and its owner's stamp. All zero is "free".
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct RawLock {
    word: AtomicU32,
    _reserved: AtomicU32,
    owner: AtomicU64,
}

impl RawLock {
    /// The id currently holding the lock, 0 when free.
    pub(crate) fn owner_id(&self) -> u32 {
        self.word.load(Ordering::Relaxed) & ID_MASK
    }

    /// Whether anyone holds the lock.
    pub(crate) fn is_locked(&self) -> bool {
        self.owner_id() != 0
    }

    /// Whether `me` (this very process or thread, not a recycled id) holds the lock.
    pub(crate) fn held_by(&self, me: Me) -> bool {
        self.word.load(Ordering::Acquire) & ID_MASK == me.id
            && self.owner.load(Ordering::Relaxed) == me.stamp
    }

    /// Records the new owner's stamp. Relaxed is enough: a waiter reads the word with
    /// `Acquire`, which (through the release sequence of the last `unlock`'s swap) shows
    /// it at least the cleared stamp of the previous owner — never an older one — and a
    /// stamp that does not name the word's id is judged by the id alone.
    fn taken(&self, me: Me, how: Acquired) -> Acquired {
        self.owner.store(me.stamp, Ordering::Relaxed);
        how
    }

    /// Whether the owner recorded in `cur` (a value of the word) is alive, as seen by
    /// `me`.
    fn owner_alive(&self, cur: u32, me: Me) -> bool {
        let id = cur & ID_MASK;
        let stamp: Stamp = self.owner.load(Ordering::Relaxed);
        if stamp_id(stamp) != id {
            // The owner took the word and has not written its stamp yet (or is
            // releasing): judge it by its id (and our own id is alive).
            return id == me.id || ident::id_exists(id);
        }
        if stamp == me.stamp {
            return true;
        }
        if id == me.id {
            // Our id with another start time: a dead predecessor whose pid we got.
            return false;
        }
        ident::is_alive(stamp)
    }

    /// Takes the lock if it is free or its owner is dead; never sleeps.
    pub(crate) fn try_lock(&self, me: Me) -> Option<Acquired> {
        debug_assert!(me.id != 0 && me.id & WAITERS == 0);
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur == 0 {
                match self
                    .word
                    .compare_exchange(0, me.id, Ordering::Acquire, Ordering::Acquire)
                {
                    Ok(_) => return Some(self.taken(me, Acquired::Clean)),
                    Err(c) => cur = c,
                }
                continue;
            }
            if cur & ID_MASK == 0 {
                // Free but flagged: keep the flag so the sleepers still get woken.
                match self.word.compare_exchange(
                    cur,
                    me.id | WAITERS,
                    Ordering::Acquire,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return Some(self.taken(me, Acquired::Clean)),
                    Err(c) => cur = c,
                }
                continue;
            }
            return self.take_if_dead(cur, me);
        }
    }

    fn take_if_dead(&self, cur: u32, me: Me) -> Option<Acquired> {
        if self.owner_alive(cur, me) {
            return None;
        }
        // Keep WAITERS set: others may sleep on the dead owner's lock too.
        self.word
            .compare_exchange(cur, me.id | WAITERS, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| self.taken(me, Acquired::OwnerDied))
    }

    /// Takes the lock, sleeping until `deadline` (forever with `None`). `None` on timeout.
    pub(crate) fn lock(&self, me: Me, deadline: Option<Instant>) -> Option<Acquired> {
        if self
            .word
            .compare_exchange(0, me.id, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return Some(self.taken(me, Acquired::Clean));
        }
        self.lock_slow(me, deadline)
    }

    #[cold]
    fn lock_slow(&self, me: Me, deadline: Option<Instant>) -> Option<Acquired> {
        // A short spin: critical sections in shared memory are usually tiny.
        for _ in 0..64 {
            if self.word.load(Ordering::Relaxed) & ID_MASK == 0 {
                if let Some(a) = self.try_free(me) {
                    return Some(a);
                }
            }
            std::hint::spin_loop();
        }
        let mut checked_at_least_once = false;
        loop {
            let cur = self.word.load(Ordering::Acquire);
            if cur & ID_MASK == 0 {
                if let Some(a) = self.try_free(me) {
                    return Some(a);
                }
                continue;
            }
            if checked_at_least_once {
                if let Some(a) = self.take_if_dead(cur, me) {
                    return Some(a);
                }
            }
            if cur & WAITERS == 0
                && self
                    .word
                    .compare_exchange(cur, cur | WAITERS, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                continue;
            }
            let left = futex::remaining(deadline)?;
            futex::wait(
                &self.word,
                cur | WAITERS,
                Some(futex::min_slice(left, LIVENESS_SLICE)),
            );
            checked_at_least_once = true;
        }
    }

    /// Takes a free word, setting WAITERS since we came through the slow path.
    fn try_free(&self, me: Me) -> Option<Acquired> {
        let cur = self.word.load(Ordering::Relaxed);
        if cur & ID_MASK != 0 {
            return None;
        }
        self.word
            .compare_exchange(cur, me.id | WAITERS, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| self.taken(me, Acquired::Clean))
    }

    /// Releases the lock and wakes one sleeper if any; returns the previous owner id.
    pub(crate) fn unlock(&self) -> u32 {
        // Cleared before the release below, which orders it for the next owner's waiters.
        self.owner.store(0, Ordering::Relaxed);
        let prev = self.word.swap(0, Ordering::Release);
        if prev & WAITERS != 0 {
            futex::wake(&self.word, 1);
        }
        prev & ID_MASK
    }

    /// Whether the lock is held by someone who is dead (as `me` sees it).
    pub(crate) fn owner_is_dead(&self, me: Me) -> bool {
        let cur = self.word.load(Ordering::Acquire);
        cur & ID_MASK != 0 && !self.owner_alive(cur, me)
    }

    /// Test support: makes the lock look held by `stamp`'s id with that stamp.
    #[cfg(test)]
    pub(crate) fn forge_owner(&self, stamp: Stamp) {
        self.word.store(stamp_id(stamp), Ordering::SeqCst);
        self.owner.store(stamp, Ordering::SeqCst);
    }
}

// SAFETY: atomics only (with an explicit reserved word instead of padding); all zero is
// "free, no owner".
unsafe impl super::region::AtomicHeader for RawLock {}
