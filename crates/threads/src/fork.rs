//! Forking a process that runs skein threads: the hooks CPython's `threading` registers
//! with `os.register_at_fork` (its `_after_fork` in the child).

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{MutexGuard, RwLockWriteGuard};

use crate::excepthook;
use crate::native;
use crate::registry::{self, Registry};
use crate::thread::{Kind, Thread};

/// The thread registry's state held across a `fork` (Python: `threading`'s
/// `os.register_at_fork` hooks): take it with [`before_fork`] right before calling
/// `fork`, then call [`after_in_child`](ForkGuard::after_in_child) in the child and
/// [`after_in_parent`](ForkGuard::after_in_parent) (or drop it) in the parent.
///
/// `fork` copies only the calling thread. Without these hooks the child would inherit
/// the parent's registry as it was: [`enumerate`](crate::enumerate) would list threads
/// that do not exist there, [`join_non_daemon`](crate::join_non_daemon) would wait for
/// them forever, and a registry lock that another thread happened to hold at that moment
/// would stay locked in the child for good. With them, as after CPython's
/// `threading._after_fork`:
///
/// - the child's registry holds one thread, the one that forked, and it is the child's
///   [`main_thread`](crate::main_thread) (a thread skein did not start becomes
///   `MainThread`); its [`native_id`](Thread::native_id) is its id in the child;
/// - every other thread of the parent is ended in the child: not alive, `Thread::join`
///   returns at once, [`JoinHandle::join`](crate::JoinHandle::join) is
///   [`JoinError::is_lost_in_fork`](crate::JoinError::is_lost_in_fork);
/// - no lock of the registry (or of the excepthook) is held in the child: the guard
///   takes them before the fork, so no other thread holds one at that moment.
///
/// `skein-process` calls these around every `fork` it makes (its `Fork` start method
/// and `skein_process::fork`). Code that forks some other way must call them itself.
///
/// # Examples
///
/// ```no_run
/// # fn fork() -> i32 { 0 }
/// let guard = skein_threads::before_fork();
/// let pid = fork(); // libc::fork, nix::unistd::fork, …
/// if pid == 0 {
///     guard.after_in_child();
///     // only this thread exists here, and skein knows it
///     assert_eq!(skein_threads::enumerate(), vec![skein_threads::current_thread()]);
/// } else {
///     guard.after_in_parent();
/// }
/// ```
#[must_use = "hold the guard across the fork, then call after_in_child or after_in_parent"]
pub struct ForkGuard {
    registry: MutexGuard<'static, Registry>,
    // Held only so that no other thread holds it at the moment of the fork.
    _excepthook: RwLockWriteGuard<'static, Option<excepthook::Hook>>,
    /// The forking thread's entry, if it has one.
    current: Option<Thread>,
    /// Whether the forking thread is the parent's main thread.
    on_main: bool,
}

/// Takes the thread registry's locks for a `fork` the calling thread is about to make
/// (Python: the `before` hook of `os.register_at_fork`); see [`ForkGuard`].
///
/// It waits until no other thread holds them (they are held only for a few map
/// operations). The forking thread must make no other call into this crate until it
/// calls [`after_in_child`](ForkGuard::after_in_child) or
/// [`after_in_parent`](ForkGuard::after_in_parent) (it would wait for itself).
pub fn before_fork() -> ForkGuard {
    // Read before the locks: `current_if_known` takes none, `is_main_os_thread` neither.
    let current = registry::current_if_known();
    let on_main = native::is_main_os_thread();
    // Lock order: the excepthook's lock is never held while the registry's is taken.
    FORKS_WAITING.fetch_add(1, Ordering::SeqCst);
    let excepthook = excepthook::lock_for_fork();
    let registry = registry::lock();
    FORKS_WAITING.fetch_sub(1, Ordering::SeqCst);
    ForkGuard {
        registry,
        _excepthook: excepthook,
        current,
        on_main,
    }
}

/// [`before_fork`] for a caller that knows that no other thread runs in this process
/// (skein-process asks glibc's `__libc_single_threaded`): `None` when there is nothing
/// to hold and nothing to reset, because no [`Thread`] was ever made in this process (or
/// in the one it was forked from). Nobody can then hold the registry's locks, and the
/// child's registry is as empty as the parent's; not taking the guard spares both
/// processes a write to the registry's memory after the fork (a copy-on-write fault
/// each). Once a `Thread` exists, the same guard as [`before_fork`]'s.
///
/// If other threads do run, a guard is still taken as soon as any of them has made a
/// `Thread`; a thread that never touched this crate holds none of its locks.
///
/// # Examples
///
/// ```standalone_crate
/// // Nothing of skein-threads has run in this (single-threaded) process yet.
/// assert!(skein_threads::before_fork_single_threaded().is_none());
/// skein_threads::spawn(|| {}).unwrap().join().unwrap();
/// let guard = skein_threads::before_fork_single_threaded().expect("a thread was made");
/// guard.after_in_parent();
/// ```
pub fn before_fork_single_threaded() -> Option<ForkGuard> {
    registry::ever_used().then(before_fork)
}

/// How many threads are inside [`before_fork`], waiting for its locks.
static FORKS_WAITING: AtomicUsize = AtomicUsize::new(0);

/// Test support, not API: runs `f` while holding the thread registry's lock, as a thread
/// in the middle of `spawn` or `enumerate` does (`f` must not call into this crate).
/// Lets a test force "another thread holds the registry lock at the moment of a fork".
#[doc(hidden)]
pub fn __with_registry_locked<R>(f: impl FnOnce() -> R) -> R {
    let _registry = registry::lock();
    f()
}

/// Test support, not API: how many threads wait in [`before_fork`] for its locks.
#[doc(hidden)]
pub fn __forks_waiting() -> usize {
    FORKS_WAITING.load(Ordering::SeqCst)
}

impl ForkGuard {
    /// In the parent, right after the fork: releases the locks (Python: the
    /// `after_in_parent` hook). Dropping the guard does the same.
    pub fn after_in_parent(self) {
        drop(self);
    }

    /// In the child, right after the fork and before anything else uses this crate
    /// (Python: `threading._after_fork`): the thread that forked becomes the only
    /// registered thread and the main thread; every other thread of the parent is
    /// ended here. Then releases the locks.
    // Inlined for its first check: a process that never had a skein thread (most forked
    // children) only releases the locks, without running more of this crate's code.
    #[inline]
    pub fn after_in_child(self) {
        if registry::ever_used() {
            self.reset_in_child();
        }
    }

    #[inline(never)]
    fn reset_in_child(mut self) {
        let generation = registry::next_generation();
        let main = match self.current.take() {
            // A thread skein started, or the main thread: it carries on.
            Some(thread) if thread.kind() != Kind::Foreign => thread,
            // The parent's main thread, known to the registry but not to itself yet.
            None if self.on_main => self.registry.main_if_any().unwrap_or_else(fresh_main),
            // A thread skein did not start (Python turns its dummy into `_MainThread`).
            _ => fresh_main(),
        };
        main.carry_across_fork(generation, native::current_native_id());
        self.registry.keep_only(main.clone());
        registry::replace_current(main);
    }
}

/// A new `MainThread` entry for the thread that forked (ident 1, as every main thread).
fn fresh_main() -> Thread {
    Thread::new(1, "MainThread".to_owned(), false, Kind::Main)
}

impl fmt::Debug for ForkGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForkGuard")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}
