//! Who am I (pid, tid — cached, and refreshed after `fork`), and is process/thread `id`
//! still alive?

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

static PID: AtomicU32 = AtomicU32::new(0);
static FORK_GEN: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    PID.store(0, Ordering::Relaxed);
    FORK_GEN.fetch_add(1, Ordering::Relaxed);
}

fn ensure_atfork() {
    ATFORK.call_once(|| {
        // SAFETY: registers a handler that only stores to two atomics, which is
        // async-signal-safe and valid in the child of a multi-threaded fork.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
}

/// This process's id, without a syscall after the first call (reset in fork children).
pub(crate) fn pid() -> u32 {
    let p = PID.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    ensure_atfork();
    let p = rustix::process::getpid().as_raw_nonzero().get() as u32;
    PID.store(p, Ordering::Relaxed);
    p
}

thread_local! {
    static TID: Cell<(u32, u32)> = const { Cell::new((u32::MAX, 0)) };
}

/// This thread's kernel id (unique across processes), cached per thread and fork.
pub(crate) fn tid() -> u32 {
    ensure_atfork();
    let generation = FORK_GEN.load(Ordering::Relaxed);
    TID.with(|c| {
        let (g, t) = c.get();
        if g == generation && t != 0 {
            return t;
        }
        let t = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        c.set((generation, t));
        t
    })
}

/// Whether the process or thread `id` exists and is not a zombie.
///
/// Reads `/proc/<id>/stat` (which also works for thread ids); when the answer cannot be
/// known (no `/proc`), the id is assumed alive, so the worst case is a wait, never a
/// lock stolen from a live owner.
pub(crate) fn is_alive(id: u32) -> bool {
    if id == 0 {
        return false;
    }
    match std::fs::read(format!("/proc/{id}/stat")) {
        Ok(stat) => {
            // "pid (comm) S ..." — comm may contain spaces and parentheses.
            match stat.iter().rposition(|&b| b == b')') {
                Some(i) => !matches!(stat.get(i + 2), Some(b'Z' | b'X' | b'x')),
                None => true,
            }
        }
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive_and_ids_are_stable() {
        assert_eq!(pid(), std::process::id());
        assert!(is_alive(pid()));
        assert!(is_alive(tid()));
        assert_eq!(tid(), tid());
        assert!(!is_alive(0));
    }
}
