//! The workload of `process/pipe_small_8b`, shared by the criterion group and the
//! interleaved A/B runner `examples/pipe_small_ab.rs` so the two time the same thing:
//! a forked child sends [`MESSAGES`] 8-byte messages, the parent receives and checks
//! them all; the clock runs from before the fork to after the child is reaped.
//!
//! This module is the package's unsafe boundary: the raw peer and the fork use `libc`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::raw::{fork, read_frames, socketpair, wait_status, write_whole};
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
    raw_stream(rx, tx)
}

/// The same raw peer over an OS pipe (`pipe2`) instead of a socket pair: a reference
/// for the cost of the carrier (a pipe appends small writes to the page already queued
/// where a Unix socket allocates a buffer per `send`), not the bar.
pub fn raw_os_pipe() -> Duration {
    let mut fds = [0; 2];
    // SAFETY: fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh descriptors from pipe2 (read end, write end).
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    raw_stream(rx, tx)
}

fn raw_stream(rx: OwnedFd, tx: OwnedFd) -> Duration {
    let t = Instant::now();
    let child = fork(|| write_framed_messages(&tx));
    drop(tx);
    let mut sum = 0u64;
    read_frames(&rx, 16, MESSAGES, |f| {
        assert_eq!(&f[..8], &[b'S', b'K', 1, 0, 8, 0, 0, 0]);
        sum += u64::from_le_bytes(f[8..].try_into().unwrap());
    });
    finish(child, t, sum)
}

/// The raw peers' child: `MESSAGES` frames as skein's `Pipe` frames them (8-byte header,
/// 8-byte payload), one `write` each.
fn write_framed_messages(tx: &OwnedFd) {
    let mut frame = [0u8; 16];
    frame[..4].copy_from_slice(&[b'S', b'K', 1, 0]);
    frame[4..8].copy_from_slice(&8u32.to_le_bytes());
    for i in 0..MESSAGES {
        frame[8..].copy_from_slice(&i.to_le_bytes());
        write_whole(tx, &frame);
    }
}

/// A weaker reference peer, not the bar: the same child, but a parent that takes each
/// frame with its own `recvmsg` (`MSG_WAITALL`, header and payload in one call) into a
/// freshly allocated payload vector — one system call and one allocation per message,
/// the shape of a naive framed reader (and of skein's receive path before the read-ahead
/// buffer). The A/B runner prints it so the gap between the two peers is on record.
pub fn raw_per_message() -> Duration {
    let (rx, tx) = socketpair();
    let t = Instant::now();
    let child = fork(|| write_framed_messages(&tx));
    drop(tx);
    let mut sum = 0u64;
    for _ in 0..MESSAGES {
        let mut header = [0u8; 8];
        let mut payload = vec![0u8; 8];
        let mut iov = [
            libc::iovec {
                iov_base: header.as_mut_ptr().cast(),
                iov_len: 8,
            },
            libc::iovec {
                iov_base: payload.as_mut_ptr().cast(),
                iov_len: 8,
            },
        ];
        // SAFETY: an all-zero msghdr is a valid empty header; we set the iovec array.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 2;
        // SAFETY: both iovecs point into live buffers of their stated lengths.
        let n = unsafe { libc::recvmsg(rx.as_raw_fd(), &mut msg, libc::MSG_WAITALL) };
        assert_eq!(n, 16, "the raw peer's child ended early");
        assert_eq!(header, [b'S', b'K', 1, 0, 8, 0, 0, 0]);
        sum += u64::from_le_bytes(payload[..].try_into().unwrap());
    }
    finish(child, t, sum)
}

/// CPU time used so far by this process and by its reaped children (user + system), so
/// that the A/B runner can report what a run cost in CPU beside its wall-clock time.
pub fn cpu_time() -> Duration {
    let total = |who| {
        // SAFETY: an all-zero rusage is valid; getrusage fills it.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `u` is a valid out-pointer.
        let r = unsafe { libc::getrusage(who, &mut u) };
        assert_eq!(r, 0, "getrusage failed");
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        tv(u.ru_utime) + tv(u.ru_stime)
    };
    total(libc::RUSAGE_SELF) + total(libc::RUSAGE_CHILDREN)
}

fn finish(child: libc::pid_t, started: Instant, sum: u64) -> Duration {
    let status = wait_status(child);
    assert_eq!(status, 0, "child failed");
    let elapsed = started.elapsed();
    assert_eq!(sum, MESSAGES * (MESSAGES - 1) / 2);
    elapsed
}
