//! The hub's timer structure: deadlines in a run of ascending order plus a binary heap,
//! actions in a slab, cancellation by key.
//!
//! Most timers are added in deadline order (every task sleeping the same time, every
//! `Timeout` of the same length), so a new deadline not earlier than the last one goes
//! to the back of a queue in O(1); only out-of-order ones pay for the heap. Entries with
//! the same deadline fire in the order they were added. Cancelling frees the action at
//! once; its queue or heap slot is skipped when it reaches the front.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use super::core::{Task, Waiter};

/// What a timer does when it fires.
pub(crate) enum TimerAction {
    /// Wake a parked task (its sleep or timeout ran out).
    Wake(Waiter),
    /// Start a task made by `spawn_later`.
    Start(Rc<Task>),
    /// Fire a `Timeout` scope (the task, the scope's id).
    Timeout(Rc<Task>, u64),
}

/// A timer's identity, for cancelling it: its slab slot and the slot's use count.
#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    slot: u32,
    round: u32,
}

struct Entry {
    round: u32,
    action: Option<TimerAction>,
}

/// The timers of one hub.
#[derive(Default)]
pub(crate) struct Timers {
    /// Deadlines added in ascending order (with their insertion number, for ties).
    run: VecDeque<(Instant, u64, TimerKey)>,
    /// Deadlines that came out of order.
    heap: BinaryHeap<Reverse<(Instant, u64, TimerKey)>>,
    slab: Vec<Entry>,
    free: Vec<u32>,
    pending: usize,
    seq: u64,
}

impl Timers {
    /// Adds a timer firing at `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, action: TimerAction) -> TimerKey {
        let key = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slab[slot as usize];
                entry.round = entry.round.wrapping_add(1);
                entry.action = Some(action);
                TimerKey {
                    slot,
                    round: entry.round,
                }
            }
            None => {
                let slot = u32::try_from(self.slab.len()).expect("fewer than 4G timers");
                self.slab.push(Entry {
                    round: 0,
                    action: Some(action),
                });
                TimerKey { slot, round: 0 }
            }
        };
        self.pending += 1;
        let seq = self.seq;
        self.seq += 1;
        if self.run.back().is_none_or(|&(last, _, _)| last <= deadline) {
            self.run.push_back((deadline, seq, key));
        } else {
            self.heap.push(Reverse((deadline, seq, key)));
        }
        key
    }

    fn take(&mut self, key: TimerKey) -> Option<TimerAction> {
        let entry = self.slab.get_mut(key.slot as usize)?;
        if entry.round != key.round {
            return None;
        }
        let action = entry.action.take()?;
        self.free.push(key.slot);
        self.pending -= 1;
        Some(action)
    }

    /// Cancels a timer; true when it had not fired yet.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        let removed = self.take(key).is_some();
        if self.pending == 0 {
            self.run.clear();
            self.heap.clear();
        }
        removed
    }

    /// True when no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.pending == 0
    }

    fn live(&self, key: TimerKey) -> bool {
        let entry = &self.slab[key.slot as usize];
        entry.round == key.round && entry.action.is_some()
    }

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&(_, _, key)) = self.run.front() {
            if self.live(key) {
                break;
            }
            self.run.pop_front();
        }
        while let Some(&Reverse((_, _, key))) = self.heap.peek() {
            if self.live(key) {
                break;
            }
            self.heap.pop();
        }
        match (self.run.front(), self.heap.peek()) {
            (Some(&(a, _, _)), Some(&Reverse((b, _, _)))) => Some(a.min(b)),
            (Some(&(a, _, _)), None) => Some(a),
            (None, Some(&Reverse((b, _, _)))) => Some(b),
            (None, None) => None,
        }
    }

    /// Removes and returns, in deadline order, the actions of timers due at `now`.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<TimerAction> {
        let mut due = Vec::new();
        loop {
            let from_run = match (self.run.front(), self.heap.peek()) {
                (Some(&(a, sa, _)), Some(&Reverse((b, sb, _)))) => (a, sa) <= (b, sb),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (deadline, key) = if from_run {
                let &(d, _, k) = self.run.front().expect("checked");
                (d, k)
            } else {
                let &Reverse((d, _, k)) = self.heap.peek().expect("checked");
                (d, k)
            };
            if deadline > now {
                break;
            }
            if from_run {
                self.run.pop_front();
            } else {
                self.heap.pop();
            }
            if let Some(action) = self.take(key) {
                due.push(action);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn start_seq(actions: &[TimerAction]) -> Vec<u64> {
        actions
            .iter()
            .map(|a| match a {
                TimerAction::Timeout(_, id) => *id,
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn due_in_deadline_then_insertion_order_and_cancel_skips() {
        let main = crate::hub::core::hub().current();
        let mut timers = Timers::default();
        let t0 = Instant::now();
        timers.add(
            t0 + Duration::from_millis(30),
            TimerAction::Timeout(main.clone(), 3),
        );
        let k = timers.add(
            t0 + Duration::from_millis(10),
            TimerAction::Timeout(main.clone(), 1),
        );
        timers.add(
            t0 + Duration::from_millis(20),
            TimerAction::Timeout(main.clone(), 2),
        );
        timers.add(
            t0 + Duration::from_millis(20),
            TimerAction::Timeout(main.clone(), 22),
        );
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(10)));
        assert!(timers.cancel(k));
        assert!(!timers.cancel(k));
        assert_eq!(timers.next_deadline(), Some(t0 + Duration::from_millis(20)));
        assert!(timers.take_due(t0).is_empty());
        let due = timers.take_due(t0 + Duration::from_millis(25));
        assert_eq!(start_seq(&due), vec![2, 22]);
        let due = timers.take_due(t0 + Duration::from_secs(1));
        assert_eq!(start_seq(&due), vec![3]);
        assert!(timers.is_empty());
    }
}
