//! The workload of `process/pipe_small_8b`, shared by the criterion group and the
//! interleaved A/B runner `examples/pipe_small_ab.rs` so the two time the same thing:
//! a forked child sends [`MESSAGES`] 8-byte messages, the parent receives and checks
//! them all; the clock runs from before the fork to after the child is reaped.
//!
//! This module is the package's unsafe boundary: the raw peer and the fork use `libc`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use skein_process::pipe;

/// Messages per run.
pub const MESSAGES: u64 = 100_000;

/// skein `send_bytes` → `recv_bytes_into` (reused buffer).
pub fn skein_bytes() -> Duration {
    let (rx, tx) = pipe(true).unwrap();
    let t = Instant::now();
    let child = fork(move || {
        for i in 0..MESSAGES {
            tx.send_bytes(&i.to_le_bytes()).unwrap();
        }
    });
    let mut buf = Vec::with_capacity(8);
    let mut sum = 0;
    for _ in 0..MESSAGES {
        rx.recv_bytes_into(&mut buf).unwrap();
        sum += u64::from_le_bytes(buf[..].try_into().unwrap());
    }
    finish(child, t, sum)
}

/// skein `send(&u64)` → `recv::<u64>()`.
pub fn skein_values() -> Duration {
    let (rx, tx) = pipe(true).unwrap();
    let t = Instant::now();
    let child = fork(move || {
        for i in 0..MESSAGES {
            tx.send(&i).unwrap();
        }
    });
    let mut sum = 0;
    for _ in 0..MESSAGES {
        sum += rx.recv::<u64>().unwrap();
    }
    finish(child, t, sum)
}

/// The peer: a raw socketpair whose child writes one 16-byte frame (an 8-byte header like
/// skein's, then the payload) per message with one `write`, and whose parent reads with a
/// 64 KiB buffer, checks each frame in place and keeps only a partial frame's tail.
pub fn raw_socketpair() -> Duration {
    let (rx, tx) = socketpair();
    let t = Instant::now();
    let child = fork(|| {
        let mut frame = [0u8; 16];
        frame[..4].copy_from_slice(&[b'S', b'K', 1, 0]);
        frame[4..8].copy_from_slice(&8u32.to_le_bytes());
        for i in 0..MESSAGES {
            frame[8..].copy_from_slice(&i.to_le_bytes());
            // SAFETY: writes from a live 16-byte buffer (a stream socket takes it whole).
            let n = unsafe { libc::write(tx.as_raw_fd(), frame.as_ptr().cast(), 16) };
            assert_eq!(n, 16);
        }
    });
    drop(tx);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut sum, mut got, mut kept) = (0u64, 0u64, 0usize);
    while got < MESSAGES {
        // SAFETY: reads into the live buffer after the `kept` bytes of a partial frame.
        let n = unsafe {
            libc::read(
                rx.as_raw_fd(),
                buf[kept..].as_mut_ptr().cast(),
                buf.len() - kept,
            )
        };
        assert!(n > 0, "the raw peer's child ended early");
        let len = kept + n as usize;
        let whole = len / 16 * 16;
        for f in buf[..whole].chunks_exact(16) {
            assert_eq!(&f[..8], &[b'S', b'K', 1, 0, 8, 0, 0, 0]);
            sum += u64::from_le_bytes(f[8..].try_into().unwrap());
            got += 1;
        }
        buf.copy_within(whole..len, 0);
        kept = len - whole;
    }
    finish(child, t, sum)
}

fn finish(child: libc::pid_t, started: Instant, sum: u64) -> Duration {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    assert_eq!(status, 0, "child failed");
    let elapsed = started.elapsed();
    assert_eq!(sum, MESSAGES * (MESSAGES - 1) / 2);
    elapsed
}

fn fork(f: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the child runs `f` then `_exit`s; glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        f();
        // SAFETY: ends the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
    pid
}

fn socketpair() -> (OwnedFd, OwnedFd) {
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
    // SAFETY: fresh descriptors from socketpair.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}
