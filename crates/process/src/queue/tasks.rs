//! The unfinished-task count of a `JoinableQueue`, and who holds the tasks.
//!
//! `unfinished` counts every message put and not yet marked done. A message handed to a
//! consumer by `get` is *held* by that consumer's process until it calls `task_done`:
//! each process that takes tasks has a slot (its [`Stamp`] and how many tasks it holds).
//! A process killed between `get` and `task_done` leaves its slot behind; `join` checks
//! the holders' liveness while it waits (every [`LIVENESS_SLICE`], only while some task
//! is held), writes a dead holder's tasks off, and reports them (or, under
//! [`OnLostTasks::CountDone`], counts them done) instead of waiting forever.
//!
//! `task_done` from another process than the one that took the task (allowed, as in
//! Python) is taken from the caller's own slot first, then from tasks handed out
//! without a slot, then from any holder: the total stays right, only the attribution
//! may shift. More than [`HOLDERS`] consuming processes at once: the rest hold their
//! tasks without a slot, and their death is not detected (their tasks keep `join`
//! waiting, as in Python).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use super::LostTasks;
use crate::shared::futex;
use crate::shared::ident::{self, Stamp, stamp_id};
use crate::shared::rawlock::LIVENESS_SLICE;
use crate::shared::region::atomic_header;

/// How many consuming processes get a slot.
pub(crate) const HOLDERS: usize = 128;

/// What `join` does about tasks whose consumer died before marking them done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnLostTasks {
    /// `join` returns [`LostTasks`] (how many, taken by which pid); the tasks are
    /// written off, so the next `join` waits only for the others. The default.
    #[default]
    Error,
    /// The tasks count as done: `join` returns normally once the others are done.
    CountDone,
}

atomic_header! {
    /// The shared part (atomics only; all zero: no task, policy `Error`).
    pub(crate) struct TaskState {
        unfinished: AtomicU32,
        sleepers: AtomicU32,
        /// 0 = `OnLostTasks::Error`, 1 = `CountDone`.
        policy: AtomicU32,
        /// Tasks handed to processes that found no free slot.
        unattributed: AtomicU32,
        holder: [AtomicU64; HOLDERS],
        held: [AtomicU32; HOLDERS],
    }
}

/// Takes one from `n` unless it is 0; whether it did.
fn take_one(n: &AtomicU32) -> bool {
    n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok()
}

impl TaskState {
    pub(crate) fn unfinished(&self) -> u32 {
        self.unfinished.load(Ordering::SeqCst)
    }

    /// A message was put.
    pub(crate) fn add(&self) {
        self.unfinished.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn set_policy(&self, policy: OnLostTasks) {
        let v = match policy {
            OnLostTasks::Error => 0,
            OnLostTasks::CountDone => 1,
        };
        self.policy.store(v, Ordering::SeqCst);
    }

    pub(crate) fn policy(&self) -> OnLostTasks {
        match self.policy.load(Ordering::SeqCst) {
            0 => OnLostTasks::Error,
            _ => OnLostTasks::CountDone,
        }
    }

    /// Decrements the unfinished count by `n` (not below 0), waking joiners at 0.
    fn finish(&self, n: u32) -> bool {
        let r = self
            .unfinished
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(n));
        match r {
            Ok(before) => {
                if before == n && self.sleepers.load(Ordering::SeqCst) > 0 {
                    futex::wake_all(&self.unfinished);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// A message was dropped unread (never handed out): it will never be marked done.
    pub(crate) fn drop_unread(&self) {
        self.finish(1);
    }

    /// `n` messages were dropped unread (an immediate shutdown discarded them).
    pub(crate) fn drop_unread_n(&self, n: u32) {
        let n = n.min(self.unfinished());
        self.finish(n);
    }

    /// A message was handed to this process by `get`: it holds the task now.
    pub(crate) fn hand_out(&self, me: Stamp) {
        for (stamp, held) in self.holder.iter().zip(&self.held) {
            let s = stamp.load(Ordering::SeqCst);
            if s == me {
                held.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        for (stamp, held) in self.holder.iter().zip(&self.held) {
            if stamp.load(Ordering::SeqCst) == 0
                && stamp
                    .compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                held.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        // All slots taken: reuse one of a dead process that holds nothing.
        for (stamp, held) in self.holder.iter().zip(&self.held) {
            let s = stamp.load(Ordering::SeqCst);
            if held.load(Ordering::SeqCst) == 0
                && !ident::is_alive(s)
                && stamp
                    .compare_exchange(s, me, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                held.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
        self.unattributed.fetch_add(1, Ordering::SeqCst);
    }

    /// `task_done()` by this process; `false` if no task is unfinished.
    pub(crate) fn done(&self, me: Stamp) -> bool {
        if !self.finish(1) {
            return false;
        }
        let mine = self
            .holder
            .iter()
            .zip(&self.held)
            .find(|(s, _)| s.load(Ordering::SeqCst) == me);
        if mine.is_some_and(|(_, held)| take_one(held)) || take_one(&self.unattributed) {
            return true;
        }
        // Marked done by a process that did not take it (allowed): take it from any
        // holder, so that holders never count more than is unfinished.
        for held in &self.held {
            if take_one(held) {
                break;
            }
        }
        true
    }

    /// Writes off the tasks of holders that died; returns them as `(pid, count)`.
    fn reap_dead(&self) -> Vec<(u32, usize)> {
        let me = ident::process().stamp;
        let mut lost = Vec::new();
        for (stamp, held) in self.holder.iter().zip(&self.held) {
            if held.load(Ordering::SeqCst) == 0 {
                continue;
            }
            let s = stamp.load(Ordering::SeqCst);
            if s == 0 || s == me || ident::is_alive(s) {
                continue;
            }
            // Dead: whoever empties the slot reports its tasks (once).
            let n = held.swap(0, Ordering::SeqCst);
            let _ = stamp.compare_exchange(s, 0, Ordering::SeqCst, Ordering::SeqCst);
            if n > 0 {
                self.finish(n.min(self.unfinished()));
                lost.push((stamp_id(s), n as usize));
            }
        }
        lost
    }

    /// Waits until every task is done; `Ok(false)` at the deadline; [`LostTasks`] as
    /// soon as a holder is found dead (under [`OnLostTasks::Error`]).
    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<bool, LostTasks> {
        loop {
            let lost = self.reap_dead();
            if !lost.is_empty() && self.policy() == OnLostTasks::Error {
                return Err(LostTasks::new(lost));
            }
            let n = self.unfinished.load(Ordering::SeqCst);
            if n == 0 {
                return Ok(true);
            }
            let Some(left) = futex::remaining(deadline) else {
                return Ok(false);
            };
            // Wake now and then to check that the holders live (a consumer may take a
            // task and die at any moment; that changes no word a joiner sleeps on).
            let slice = Some(futex::min_slice(left, LIVENESS_SLICE));
            futex::wait_counted(&self.unfinished, &self.sleepers, n, slice);
        }
    }
}
