//! The raw-syscall helpers the cross-process workloads share: fork a child that runs a
//! closure, a Unix socketpair, reaping a child that must have succeeded, and the raw
//! peers' one-`write`-per-message sender and 64 KiB-at-a-time frame reader.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Forks; the child runs `f` and `_exit`s (code 0, or 1 if `f` panicked), never returning
/// into the parent's code. Returns the child's pid in the parent.
pub fn fork(f: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the child runs `f` then `_exit`s; glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        // SAFETY: ends the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid
}

/// Waits for the child `pid` and returns its raw wait status.
pub fn wait_status(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waits for our own child, writing into a live integer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid, "waitpid failed");
    status
}

/// Waits for the child `pid`; panics unless it exited with code 0.
pub fn reap(pid: libc::pid_t) {
    let status = wait_status(pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed (wait status {status:#x})"
    );
}

/// A connected pair of Unix stream sockets, close-on-exec.
pub fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fills two descriptors we then own.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(r, 0, "socketpair failed");
    // SAFETY: fresh descriptors from socketpair, owned by nothing else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Writes `frame` with one `write` (a stream socket or pipe takes a small one whole).
pub fn write_whole(fd: &OwnedFd, frame: &[u8]) {
    // SAFETY: writes from a live buffer of `frame.len()` bytes.
    let n = unsafe { libc::write(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
    assert_eq!(n, frame.len() as isize, "a short or failed write");
}

/// Reads `count` frames of `frame_len` bytes from `fd`, 64 KiB at a time, handing each
/// to `each` in place (no copy but a partial frame's tail, moved to the buffer's front).
pub fn read_frames(fd: &OwnedFd, frame_len: usize, count: u64, mut each: impl FnMut(&[u8])) {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut got, mut kept) = (0u64, 0usize);
    while got < count {
        // SAFETY: reads into the live buffer after the `kept` bytes of a partial frame.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buf[kept..].as_mut_ptr().cast(),
                buf.len() - kept,
            )
        };
        assert!(n > 0, "the writer ended early");
        let len = kept + n as usize;
        let whole = len / frame_len * frame_len;
        for f in buf[..whole].chunks_exact(frame_len) {
            each(f);
            got += 1;
        }
        buf.copy_within(whole..len, 0);
        kept = len - whole;
    }
}
