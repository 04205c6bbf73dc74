//! The children this process started and has not yet reaped (Python's `_children`),
//! and what happens to them at exit.
//!
//! Zombies: a child that ended is reaped by `join`, `is_alive`, `exitcode`, by
//! [`active_children`](crate::active_children), by the next [`Process::start`](crate::Process::start), and at
//! exit, whether or not any handle to it is still alive. A non-daemon forkserver child
//! is ours too (the server forks it with `CLONE_PARENT`); the server's own children
//! (daemons) are reaped by the server the moment they end.

use std::sync::{Arc, MutexGuard, Once};
use std::time::{Duration, Instant};

use crate::start::{Record, child};

static AT_EXIT: Once = Once::new();

/// The registry's storage: the first few children inline, in `child::STATE`'s page
/// (which a `Fork` start writes after the fork anyway: its locks), the rest in a
/// vector. A vector's buffer would be one more page for the parent to fault on after
/// every fork.
pub(crate) struct Children {
    inline: [Option<Arc<Record>>; INLINE],
    spill: Vec<Arc<Record>>,
}

const INLINE: usize = 8;

impl Children {
    pub(crate) const fn new() -> Children {
        Children {
            inline: [const { None }; INLINE],
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, child: Arc<Record>) {
        match self.inline.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(child),
            None => self.spill.push(child),
        }
    }

    /// Makes sure the next [`push`](Children::push) does not allocate.
    pub(crate) fn reserve_one(&mut self) {
        if self.inline.iter().all(Option::is_some) {
            self.spill.reserve(1);
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<Record>) -> bool) {
        for slot in &mut self.inline {
            if slot.as_ref().is_some_and(|c| !keep(c)) {
                *slot = None;
            }
        }
        self.spill.retain(|c| keep(c));
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Record>> {
        self.inline.iter().flatten().chain(&self.spill)
    }

    /// Empties the registry without dropping what it held (a forked child forgets its
    /// parent's children: freeing them would only write to pages it shares).
    pub(crate) fn forget_all(&mut self) {
        std::mem::forget(std::mem::replace(self, Children::new()));
    }
}

pub(crate) fn lock() -> MutexGuard<'static, Children> {
    child::STATE
        .children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Records a started child, and arranges for exit-time handling.
pub(crate) fn register(child: Arc<Record>) {
    arm_at_exit();
    lock().push(child);
}

/// Arranges for exit-time handling (done by [`register`]; a `Fork` start calls it
/// before the fork and registers the child under the lock it already holds).
pub(crate) fn arm_at_exit() {
    AT_EXIT.call_once(|| crate::sys::at_exit(at_exit));
}

/// Forgets a closed child.
pub(crate) fn remove(child: &Arc<Record>) {
    lock().retain(|c| !Arc::ptr_eq(c, child));
}

/// Reaps every child that ended; keeps the rest.
pub(crate) fn prune() {
    let mut children = lock();
    children.retain(|c| matches!(c.try_wait(), Ok(None)));
}

/// The children of this process that are still running (for `active_children()`);
/// as a side effect, reaps those that ended.
pub(crate) fn active() -> Vec<Arc<Record>> {
    prune();
    lock().iter().cloned().collect()
}

/// At exit, like Python's `_exit_function`: terminate daemon children, then wait for
/// the others. Never blocks on our own lock if another thread holds it at exit.
extern "C" fn at_exit() {
    let children: Vec<Arc<Record>> = {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            if let Ok(g) = child::STATE.children.try_lock() {
                break g.iter().cloned().collect::<Vec<_>>();
            }
            if Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let me = crate::sys::getpid();
    let mine: Vec<Arc<Record>> = children.into_iter().filter(|c| c.owner == me).collect();
    for c in mine.iter().filter(|c| c.daemon) {
        let _ = c.signal(libc::SIGTERM);
    }
    for c in &mine {
        let _ = c.wait_deadline(None);
    }
}
