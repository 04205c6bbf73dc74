//! The hub's timer structure: a binary heap of deadlines with lazy cancellation.
//!
//! Entries with the same deadline fire in the order they were added. Cancelling removes
//! the entry's action at once; its heap slot is skipped when it reaches the top.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
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

/// A timer's identity, for cancelling it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TimerKey(u64);

/// The timers of one hub.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    actions: HashMap<u64, TimerAction>,
    seq: u64,
}

impl Timers {
    /// Adds a timer firing at `deadline`.
    pub(crate) fn add(&mut self, deadline: Instant, action: TimerAction) -> TimerKey {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Reverse((deadline, seq)));
        self.actions.insert(seq, action);
        TimerKey(seq)
    }

    /// Cancels a timer; true when it had not fired yet.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        let removed = self.actions.remove(&key.0).is_some();
        if self.actions.is_empty() {
            self.heap.clear();
        }
        removed
    }

    /// True when no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The earliest pending deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, seq))) = self.heap.peek() {
            if self.actions.contains_key(seq) {
                return Some(*deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Removes and returns, in deadline order, the actions of timers due at `now`.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<TimerAction> {
        let mut due = Vec::new();
        while let Some(Reverse((deadline, seq))) = self.heap.peek() {
            if *deadline > now {
                break;
            }
            let seq = *seq;
            self.heap.pop();
            if let Some(action) = self.actions.remove(&seq) {
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
        timers.add(t0 + Duration::from_millis(30), TimerAction::Timeout(main.clone(), 3));
        let k = timers.add(t0 + Duration::from_millis(10), TimerAction::Timeout(main.clone(), 1));
        timers.add(t0 + Duration::from_millis(20), TimerAction::Timeout(main.clone(), 2));
        timers.add(t0 + Duration::from_millis(20), TimerAction::Timeout(main.clone(), 22));
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
