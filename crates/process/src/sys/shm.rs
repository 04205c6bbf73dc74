//! Safe wrappers for the shared-memory layer (`shared/`, `shm/`): the fork handler of
//! the identity cache, and the process calls of the segment janitor.

/// `pthread_atfork(NULL, NULL, child)`: runs `child` in the child of every `fork`.
///
/// `child` runs in a process that may hold only the forking thread; it must do nothing
/// but async-signal-safe work (stores to atomics).
pub(crate) fn at_fork_child(child: extern "C" fn()) {
    // SAFETY: registers a plain `extern "C"` function (it cannot unwind into the C
    // caller); the contract above is the caller's.
    unsafe {
        libc::pthread_atfork(None, None, Some(child));
    }
}
