//! Python's exit rule, made explicit: at the end of `main`, wait for every non-daemon
//! thread; abandon daemon threads.
//!
//! Rust's rule is different: when `main` returns, the process exits and every other thread
//! stops wherever it is, daemon or not. [`ExitGuard`] (or [`run_main`]) gives a program
//! Python's rule back.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::registry;

/// Waits, when dropped, for every non-daemon skein thread to end (Python's interpreter
/// shutdown, `threading._shutdown()`); daemon threads are left running and die with the
/// process.
///
/// Create one at the top of `main`. Dropping it waits until no non-daemon thread is left,
/// including threads those threads start meanwhile. When dropped on the main thread it
/// first marks the main thread as ended (Python does the same), so threads waiting on
/// [`main_thread`](crate::main_thread)`().join()` wake up rather than deadlock.
///
/// It also runs while `main` unwinds from a panic (Python waits for non-daemon threads
/// after an uncaught exception too), but not on `std::process::exit`, which skips
/// destructors.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let finished = Arc::new(AtomicBool::new(false));
/// {
///     let _guard = skein_threads::ExitGuard::new();
///     let flag = finished.clone();
///     // Not joined: Python would still wait for it at exit, and so does the guard.
///     drop(skein_threads::Builder::new().daemon(false).spawn(move || {
///         std::thread::sleep(Duration::from_millis(50));
///         flag.store(true, Ordering::SeqCst);
///     }));
/// } // <- the guard waits here
/// assert!(finished.load(Ordering::SeqCst));
/// ```
#[derive(Debug)]
#[must_use = "the guard waits for non-daemon threads when it is dropped; bind it with `let _guard = …`"]
pub struct ExitGuard {
    _private: (),
}

impl ExitGuard {
    /// A guard that waits for non-daemon threads when dropped.
    pub fn new() -> ExitGuard {
        ExitGuard { _private: () }
    }
}

impl Default for ExitGuard {
    fn default() -> Self {
        ExitGuard::new()
    }
}

impl Drop for ExitGuard {
    // Inlined into the caller for its first check: a process (a forked child, say) that
    // never had a skein thread returns at once, without running this crate's code.
    #[inline]
    fn drop(&mut self) {
        if registry::ever_used() {
            shut_down();
        }
    }
}

/// What dropping an [`ExitGuard`] does, once this process has had a skein thread.
#[inline(never)]
fn shut_down() {
    // Main is over: mark it ended first (as Python's shutdown does), so a non-daemon
    // thread waiting on `main_thread().join()` is released instead of deadlocking with
    // this wait. (No main thread entry yet: nobody can be waiting on it, and none is made.)
    if registry::main_if_created().is_some_and(|main| registry::is_current(&main)) {
        registry::remove_main();
    }
    join_non_daemon();
}

/// Runs `f` (the body of `main`), then waits for every non-daemon thread, and returns
/// `f`'s value: `fn main() { skein_threads::run_main(|| { … }) }` behaves like a Python
/// program at exit. Same as an [`ExitGuard`] around `f`.
///
/// # Examples
///
/// ```
/// let answer = skein_threads::run_main(|| {
///     drop(skein_threads::Builder::new().daemon(false).spawn(|| println!("still printed")));
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn run_main<R>(f: impl FnOnce() -> R) -> R {
    let _guard = ExitGuard::new();
    f()
}

/// Waits until no non-daemon skein thread other than the caller is running (the wait
/// [`ExitGuard`] does at exit).
///
/// Threads started while it waits are waited for too. Panicked threads count as ended
/// (their panic went to the excepthook).
pub fn join_non_daemon() {
    join_non_daemon_inner(None);
}

/// Waits at most `timeout` for every non-daemon skein thread other than the caller to
/// end; true when none is left.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// assert!(skein_threads::join_non_daemon_timeout(Duration::from_secs(60)));
/// ```
pub fn join_non_daemon_timeout(timeout: Duration) -> bool {
    // A timeout too large for an `Instant` is no deadline at all.
    join_non_daemon_inner(Instant::now().checked_add(timeout))
}

/// Waits until `deadline` at most for every non-daemon skein thread other than the caller
/// to end; true when none is left.
pub fn join_non_daemon_deadline(deadline: Instant) -> bool {
    join_non_daemon_inner(Some(deadline))
}

/// Threads inside [`join_non_daemon`] (or its timed forms, or [`run_main`]'s wait).
static EXIT_WAITERS: AtomicUsize = AtomicUsize::new(0);

/// Test support, not part of the API: how many threads are inside
/// [`join_non_daemon`] (or its timed forms, [`run_main`]'s and the exit guard's wait).
/// Tests wait for this count instead of sleeping, to force "the wait began, then the
/// non-daemon thread ended".
#[doc(hidden)]
pub fn exit_waiters() -> usize {
    EXIT_WAITERS.load(Ordering::SeqCst)
}

/// Counts the current thread in [`EXIT_WAITERS`] while it lives.
struct Waiting;

impl Waiting {
    fn new() -> Waiting {
        EXIT_WAITERS.fetch_add(1, Ordering::SeqCst);
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        EXIT_WAITERS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn join_non_daemon_inner(deadline: Option<Instant>) -> bool {
    if !registry::ever_used() {
        return true; // no skein thread was ever started or seen here
    }
    let _waiting = Waiting::new();
    loop {
        let pending = registry::non_daemon_others();
        if pending.is_empty() {
            return true;
        }
        for thread in pending {
            if !thread.wait_ended(deadline) {
                return false;
            }
        }
    }
}
