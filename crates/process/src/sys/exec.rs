//! Starting a fresh exec of a program for the `Spawn` start method:
//! `clone(CLONE_VM | CLONE_VFORK)` and `execve`, with every signal blocked throughout.
//!
//! `std::process::Command` goes through glibc's `posix_spawn`, whose child (sharing the
//! parent's memory until it execs) resets the disposition of every signal one by one,
//! so that no handler of the parent can run on shared memory: 64 `rt_sigaction` reads
//! and 64 writes per start, and a stack `mmap`/`munmap` around it. Here the child
//! instead keeps every signal blocked until it has exec'd (no handler can run in it at
//! all; `execve` resets the handled ones to their defaults), and the new program
//! unblocks them first thing in [`init`](crate::init) (`spawn::child_main`), which
//! leaves it with the empty mask `Command` would have given it. The child's stack is a
//! buffer in the parent's frame, which waits (`CLONE_VFORK`) until the child has
//! exec'd or failed: musl's `posix_spawn` does the same.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::sys::Pid;

/// What the child needs, prepared by the parent (the child allocates nothing).
#[repr(C)]
struct ChildArgs {
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    stdin: c_int,
    /// The `errno` of a failed `dup2`/`execve`, written by the child before it exits
    /// (it shares the parent's memory).
    err: AtomicI32,
}

/// The child's stack: small, it makes three system calls.
const STACK: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([std::mem::MaybeUninit<u8>; STACK]);

/// Runs in the child, on the parent's memory, with every signal blocked: puts `stdin`
/// on fd 0, closes every descriptor above stderr and execs. Returns (ending the child) only if that failed.
extern "C" fn child(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the parent's `ChildArgs`, alive until `clone` returns there,
    // which is after this child has exec'd or exited (`CLONE_VFORK`).
    let a = unsafe { &*arg.cast::<ChildArgs>() };
    // fd 0 already: only clear its close-on-exec flag (`dup2` onto itself would not).
    let placed = if a.stdin == 0 {
        // SAFETY: a plain descriptor call on integers.
        unsafe { libc::fcntl(0, libc::F_SETFD, 0) }
    } else {
        // SAFETY: a plain descriptor call on integers.
        unsafe { libc::dup2(a.stdin, 0) }
    };
    if placed >= 0 {
        // Python's `close_fds=True`: the new program inherits stdin, stdout and stderr
        // only (everything this crate opens is close-on-exec already; this catches what
        // a user or a C library opened without it). Here, before `execve`, rather than in
        // the new program, whose library constructors may have opened descriptors of
        // their own by the time it could close anything.
        // SAFETY: closes descriptors of this child's own table (no `CLONE_FILES`).
        if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } != 0 {
            // A kernel before 5.9: one by one.
            // SAFETY: as above; `sysconf` and `close` are async-signal-safe.
            let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(256, 1 << 16) as c_int;
            for fd in 3..max {
                // SAFETY: as above.
                unsafe { libc::close(fd) };
            }
        }
        // SAFETY: path, argv and envp are NUL-terminated strings and null-terminated
        // arrays of them, kept alive by the parent's frame (see above).
        unsafe { libc::execve(a.path, a.argv, a.envp) };
    }
    let errno = io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL);
    a.err.store(errno, Ordering::Relaxed);
    127
}

/// `rt_sigprocmask(SIG_SETMASK, set)` for this thread, straight to the kernel (glibc's
/// wrapper would leave its two internal signals unblocked); returns the old mask.
fn set_mask(set: u64) -> u64 {
    let mut old: u64 = 0;
    // SAFETY: both pointers are valid for the kernel's 8-byte signal set.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const set,
            &raw mut old,
            std::mem::size_of::<u64>(),
        )
    };
    old
}

/// Starts `path` with arguments `argv` and environment `envp` (both null-terminated
/// arrays of pointers to strings that outlive the call) and `stdin` as its fd 0, in a
/// new process whose signals are all blocked until its program unblocks them. Every
/// other descriptor of this process is close-on-exec (std and this crate open them
/// so). Returns the child's pid, or why it could not be started (`execve`'s `errno`,
/// the child then reaped).
pub(crate) fn spawn_blocked(
    path: &CStr,
    argv: &[*const c_char],
    envp: &[*const c_char],
    stdin: BorrowedFd<'_>,
) -> io::Result<Pid> {
    assert!(
        argv.last().is_some_and(|p| p.is_null()),
        "argv ends with null"
    );
    assert!(
        envp.last().is_some_and(|p| p.is_null()),
        "envp ends with null"
    );
    let args = ChildArgs {
        path: path.as_ptr(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
        stdin: stdin.as_raw_fd(),
        err: AtomicI32::new(0),
    };
    let mut stack = Stack([std::mem::MaybeUninit::uninit(); STACK]);
    // SAFETY: one past the end of the buffer (the stack grows down), 16-byte aligned.
    let top = unsafe { stack.0.as_mut_ptr().add(STACK) }.cast::<c_void>();
    let old = set_mask(!0);
    // SAFETY: `child` runs on `stack` (this frame's, unused by this thread, which
    // `CLONE_VFORK` suspends until the child has exec'd or exited) and reads `args`,
    // alive in this frame; with every signal blocked, no handler of this process runs
    // in the child on the shared memory.
    let pid = unsafe {
        libc::clone(
            child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw const args).cast_mut().cast(),
        )
    };
    let cloned = if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid)
    };
    set_mask(old);
    let pid = cloned?;
    match args.err.load(Ordering::Relaxed) {
        0 => Ok(pid),
        errno => {
            // The child has exited (it returns only after a failure): reap it.
            let _ = crate::sys::waitpid(pid, false);
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}
