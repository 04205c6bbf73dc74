//! The children this process started and has not yet reaped (Python's `_children`),
//! and what happens to them at exit.
//!
//! Zombies: a child that ended is reaped by `join`, `is_alive`, `exitcode`, by
//! [`active_children`], by the next [`Process::start`](crate::Process::start), and at
//! exit, whether or not any handle to it is still alive. Forkserver children are
//! reaped by the server the moment they end.

use std::sync::{Arc, MutexGuard, Once};
use std::time::{Duration, Instant};

use crate::process::{ProcessHandle, Shared};

static AT_EXIT: Once = Once::new();

/// The registry's storage: the first few children inline, in `child::STATE`'s page
/// (which a `Fork` start writes after the fork anyway: its locks), the rest in a
/// vector. A vector's buffer would be one more page for the parent to fault on after
/// every fork.
pub(crate) struct Children {
    inline: [Option<Arc<Shared>>; INLINE],
    spill: Vec<Arc<Shared>>,
}

const INLINE: usize = 8;

impl Children {
    pub(crate) const fn new() -> Children {
        Children {
            inline: [const { None }; INLINE],
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, child: Arc<Shared>) {
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

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<Shared>) -> bool) {
        for slot in &mut self.inline {
            if slot.as_ref().is_some_and(|c| !keep(c)) {
                *slot = None;
            }
        }
        self.spill.retain(|c| keep(c));
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Shared>> {
        self.inline.iter().flatten().chain(&self.spill)
    }

    /// Empties the registry without dropping what it held (a forked child forgets its
    /// parent's children: freeing them would only write to pages it shares).
    pub(crate) fn forget_all(&mut self) {
        std::mem::forget(std::mem::replace(self, Children::new()));
    }
}

pub(crate) fn lock() -> MutexGuard<'static, Children> {
    crate::child::STATE
        .children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Records a started child, and arranges for exit-time handling.
pub(crate) fn register(child: Arc<Shared>) {
    arm_at_exit();
    lock().push(child);
}

/// Arranges for exit-time handling (done by [`register`]; a `Fork` start calls it
/// before the fork and registers the child under the lock it already holds).
pub(crate) fn arm_at_exit() {
    AT_EXIT.call_once(|| crate::sys::at_exit(at_exit));
}

/// Forgets a closed child.
pub(crate) fn remove(child: &Arc<Shared>) {
    lock().retain(|c| !Arc::ptr_eq(c, child));
}

/// Reaps every child that ended; keeps the rest.
pub(crate) fn prune() {
    let mut children = lock();
    children.retain(|c| matches!(c.try_wait(), Ok(None)));
}

/// The children of this process that are still running (Python's
/// `active_children()`); as a side effect, reaps those that ended.
///
/// # Examples
///
/// ```
/// use skein_process::{active_children, Process};
///
/// let p = Process::from_closure(|| std::thread::sleep(std::time::Duration::from_secs(30)))
///     .start()
///     .unwrap();
/// assert!(active_children().iter().any(|c| c.pid() == p.pid()));
/// p.kill().unwrap();
/// p.join().unwrap();
/// assert!(!active_children().iter().any(|c| c.pid() == p.pid()));
/// ```
pub fn active_children() -> Vec<ProcessHandle> {
    prune();
    lock()
        .iter()
        .map(|c| ProcessHandle { shared: c.clone() })
        .collect()
}

/// At exit, like Python's `_exit_function`: terminate daemon children, then wait for
/// the others. Never blocks on our own lock if another thread holds it at exit.
extern "C" fn at_exit() {
    let children: Vec<Arc<Shared>> = {
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            if let Ok(g) = crate::child::STATE.children.try_lock() {
                break g.iter().cloned().collect::<Vec<_>>();
            }
            if Instant::now() > deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let mine: Vec<ProcessHandle> = children
        .into_iter()
        .filter(|c| c.owner == crate::sys::getpid())
        .map(|shared| ProcessHandle { shared })
        .collect();
    for c in mine.iter().filter(|c| c.is_daemon()) {
        let _ = c.terminate();
    }
    for c in &mine {
        let _ = c.join();
    }
}
