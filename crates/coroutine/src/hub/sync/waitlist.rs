//! A FIFO of parked tasks.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Instant;

use crate::hub::core::{Hub, Waiter, Wake, checkpoint};

/// Tasks waiting on one condition, in arrival order.
#[derive(Default, Debug)]
pub(crate) struct WaitList {
    waiters: RefCell<VecDeque<Waiter>>,
}

/// The message of gevent's `LoopExit`, for the main context waiting on nothing.
pub(crate) const LOOP_EXIT: &str = "skein hub: this wait would block forever: the main context waits, \
     and no green task is ready, no timer is pending and no socket is awaited (gevent's LoopExit)";

impl WaitList {
    /// Parks the current task on this list until woken or `deadline`; `Woken` or
    /// `TimedOut`. Unwinds when the task is killed or a `Timeout` fires — unless the
    /// thread is already unwinding (a destructor waits), when it returns `TimedOut` even
    /// without a deadline: callers without one wait again.
    ///
    /// # Panics
    ///
    /// When the main context waits with no deadline and nothing could ever wake it.
    pub(crate) fn park(&self, hub: &Hub, deadline: Option<Instant>) -> Wake {
        self.waiters.borrow_mut().push_back(hub.waiter());
        match hub.park_deadline(deadline) {
            Wake::Interrupted => {
                checkpoint();
                Wake::TimedOut
            }
            Wake::Deadlock => panic!("{LOOP_EXIT}"),
            wake => wake,
        }
    }

    /// Wakes the longest-waiting live task; false when none waits.
    pub(crate) fn wake_one(&self, hub: &Hub) -> bool {
        loop {
            let next = self.waiters.borrow_mut().pop_front();
            match next {
                Some(waiter) => {
                    if hub.wake(&waiter, Wake::Woken) {
                        return true;
                    }
                }
                None => return false,
            }
        }
    }

    /// Wakes every waiting task.
    pub(crate) fn wake_all(&self, hub: &Hub) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waiter in &waiters {
            hub.wake(waiter, Wake::Woken);
        }
    }
}
