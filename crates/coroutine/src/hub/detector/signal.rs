//! The detector's sampling signal: the monitor thread sends `SIGURG` to a hub thread
//! whose task holds the hub too long, and the handler records the instruction pointers
//! of that thread's stack (the blocked task's frames) into a preallocated buffer.
//!
//! This module is one of the crate's `unsafe` boundaries (`sigaction`, `pthread_kill`,
//! unwinding from a signal handler).
//!
//! The handler does not allocate or lock: it walks the stack with
//! `backtrace::trace_unsynchronized` (libgcc's `_Unwind_Backtrace`, as profilers such as
//! pprof-rs do in their `SIGPROF` handlers) and stores plain integers into atomics;
//! symbols are resolved later on the monitor thread. `SIGURG` is ignored by default and
//! rarely used (the Go runtime picks it for the same reason); if the program already has a
//! handler for it, the detector leaves it alone and takes its backtraces at the task's
//! next switch instead. It is installed with `SA_RESTART`, so an interrupted `read` or
//! `write` resumes; `std::thread::sleep` resumes by itself.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use super::Shared;

thread_local! {
    /// The watch of this thread's hub, for the handler (const-initialised, no
    /// destructor: reading it from a signal handler does not allocate or lock).
    static TARGET: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

/// Whether our handler is installed (false when the program owns `SIGURG`).
fn installed() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        // SAFETY: `sigaction` with a zeroed, then filled `struct sigaction`; we only
        // replace the disposition when the current one is the default or "ignore".
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGURG, std::ptr::null(), &mut old) != 0 {
                return false;
            }
            if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN {
                return false;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGURG, &action, std::ptr::null_mut()) == 0
        }
    })
}

extern "C" fn handler(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let target = TARGET.with(Cell::get);
    if target.is_null() {
        return;
    }
    // SAFETY: `target` is set by `attach` from an `Arc<Shared>` that the thread's hub
    // keeps alive until `detach` clears the pointer (on this same thread, so no handler
    // can run in between).
    let shared = unsafe { &*target };
    let wanted = shared.capture_request.load(Ordering::Acquire);
    let mut n = 0;
    // SAFETY: `trace_unsynchronized` may not run concurrently with another trace on
    // this thread; a signal handler runs on top of whatever the thread did, so it could
    // interrupt a trace in progress (a panic unwinding, `Backtrace::capture`). The
    // unwinder's state is per call and libgcc's frame lookup takes a recursive lock, so
    // this is the accepted risk profilers take; it never happens while the hub switches.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if n < shared.ips.len() {
                shared.ips[n].store(frame.ip() as usize, Ordering::Relaxed);
                n += 1;
                true
            } else {
                false
            }
        });
    }
    shared.n_ips.store(n, Ordering::Relaxed);
    shared.captured.store(wanted, Ordering::Release);
}

/// Points the handler of this (hub) thread at `shared`; false when sampling by signal
/// is unavailable.
pub(super) fn attach(shared: &std::sync::Arc<Shared>) -> bool {
    if !installed() {
        return false;
    }
    TARGET.with(|t| t.set(std::sync::Arc::as_ptr(shared)));
    true
}

/// Stops the handler of this thread from using its watch.
pub(super) fn detach() {
    let _ = TARGET.try_with(|t| t.set(std::ptr::null()));
}

/// The calling thread's id, for [`request`].
pub(super) fn current_thread() -> libc::pthread_t {
    // SAFETY: `pthread_self` has no preconditions.
    unsafe { libc::pthread_self() }
}

/// Asks the hub thread of `shared` to record its stack; false when it has gone.
pub(super) fn request(shared: &Shared) -> bool {
    let thread = shared.thread.lock().unwrap_or_else(|e| e.into_inner());
    match *thread {
        // SAFETY: the hub thread clears `thread` under this lock when its watch is
        // dropped (before the thread exits), so while we hold the lock and see `Some`,
        // the thread is alive and its id is valid.
        Some(id) => unsafe { libc::pthread_kill(id, libc::SIGURG) == 0 },
        None => false,
    }
}
