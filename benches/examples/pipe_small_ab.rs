//! Interleaved A/B measurement of small `Pipe` messages: 100k 8-byte messages from a
//! forked child, skein (`send_bytes` → `recv_bytes_into`, and `send` → `recv::<u64>`)
//! against a raw socketpair whose child writes one 16-byte frame per message and
//! whose parent reads with a 64 KiB buffer — the contenders of the criterion group
//! `process/pipe_small_8b`, in alternating rounds so that both see the same machine
//! drift. Prints the median of the per-round ratios (raw time / skein time: above 1.0
//! means skein is faster).
//!
//! ```text
//! cargo run -p skein-benches --release --example pipe_small_ab [-- ROUNDS]
//! ```

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use skein_process::pipe;

const MESSAGES: u64 = 100_000;

fn fork(f: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the child runs `f` then `_exit`s; glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        f();
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(0) };
    }
    pid
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(status, 0, "child failed");
}

fn expected() -> u64 {
    MESSAGES * (MESSAGES - 1) / 2
}

fn skein_bytes() -> Duration {
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
    reap(child);
    let d = t.elapsed();
    assert_eq!(sum, expected());
    d
}

fn skein_values() -> Duration {
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
    reap(child);
    let d = t.elapsed();
    assert_eq!(sum, expected());
    d
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
    assert_eq!(r, 0);
    // SAFETY: fresh descriptors from socketpair.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn raw() -> Duration {
    let (rx, tx) = socketpair();
    let t = Instant::now();
    let child = fork(|| {
        let mut frame = [0u8; 16];
        frame[..4].copy_from_slice(&[b'S', b'K', 1, 0]);
        frame[4..8].copy_from_slice(&8u32.to_le_bytes());
        for i in 0..MESSAGES {
            frame[8..].copy_from_slice(&i.to_le_bytes());
            // SAFETY: writes from a live buffer (16 bytes go whole into a stream socket).
            let n = unsafe { libc::write(tx.as_raw_fd(), frame.as_ptr().cast(), 16) };
            assert_eq!(n, 16);
        }
    });
    drop(tx);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut sum, mut got, mut carry) = (0u64, 0u64, Vec::new());
    while got < MESSAGES {
        // SAFETY: reads into a live buffer.
        let n = unsafe { libc::read(rx.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n > 0);
        carry.extend_from_slice(&buf[..n as usize]);
        let whole = carry.len() / 16 * 16;
        for f in carry[..whole].chunks_exact(16) {
            assert_eq!(&f[..8], &[b'S', b'K', 1, 0, 8, 0, 0, 0]);
            sum += u64::from_le_bytes(f[8..].try_into().unwrap());
            got += 1;
        }
        carry.drain(..whole);
    }
    reap(child);
    let d = t.elapsed();
    assert_eq!(sum, expected());
    d
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Ok(which) = std::env::var("AB_ONLY") {
        let d = match which.as_str() {
            "raw" => raw(),
            "bytes" => skein_bytes(),
            _ => skein_values(),
        };
        println!("{which}: {d:?}");
        return;
    }
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(15, |s| s.parse().expect("ROUNDS"));
    let (mut r_bytes, mut r_values) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let raw_t = raw();
        let bytes_t = skein_bytes();
        let values_t = skein_values();
        r_bytes.push(raw_t.as_secs_f64() / bytes_t.as_secs_f64());
        r_values.push(raw_t.as_secs_f64() / values_t.as_secs_f64());
        eprintln!(
            "round {round}: raw {raw_t:?}, skein bytes {bytes_t:?}, skein values {values_t:?}"
        );
    }
    println!(
        "pipe 8-byte messages, {MESSAGES} per run, {rounds} rounds: skein bytes {:.2}x raw, \
         skein values {:.2}x raw (median of per-round ratios; > 1 = skein faster)",
        median(r_bytes),
        median(r_values)
    );
}
