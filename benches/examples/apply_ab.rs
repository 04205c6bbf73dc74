//! Interleaved A/B measurement of the process pool round trip of issue 12 item 4 — one
//! task per job, submit and wait — on pools built and warmed before any timing:
//! skein `ProcessPool::apply` against procspawn's `Pool::spawn(..).join()`, and, as the
//! floor of what the IPC costs, a raw socketpair ping-pong with a forked child (one
//! 8-byte message each way). Rounds of `N` round trips alternate between the contenders,
//! so all see the same machine load; the figures are medians of the per-round means.
//!
//! procspawn is also measured cold: the first `spawn+join` on a pool just built (its
//! workers re-execute this binary and may still be starting).
//!
//! ```text
//! cargo run -p skein-benches --release --example apply_ab [-- ROUNDS [N]]
//! ```

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use skein_benches::stats::median;
use skein_pool::ProcessPool;

const WORKERS: usize = 2;

fn double(x: u64) -> u64 {
    x * 2
}

fn per_op(n: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / n as f64
}

/// A forked child echoing 8-byte messages on a socketpair until it ends.
fn raw_echo(spin: bool) -> (UnixStream, libc::pid_t) {
    let (a, mut b) = UnixStream::pair().unwrap();
    // SAFETY: the child only reads, writes and exits (async-signal-safe work apart from
    // the std wrappers over read/write, which allocate nothing).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        drop(a);
        let mut buf = [0u8; 8];
        let next = |b: &mut UnixStream, buf: &mut [u8; 8]| {
            if spin {
                spin_read(b, buf)
            } else {
                b.read_exact(buf).is_ok()
            }
        };
        while next(&mut b, &mut buf) {
            if b.write_all(&buf).is_err() {
                break;
            }
        }
        // SAFETY: ends the forked child without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(b);
    (a, pid)
}

/// Reads one 8-byte message, polling without blocking for up to 50 us (yielding the
/// core between tries) before blocking.
fn spin_read(mut s: &UnixStream, buf: &mut [u8; 8]) -> bool {
    use std::os::fd::AsRawFd;
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(50) {
        // SAFETY: reads into a live 8-byte buffer.
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                8,
                libc::MSG_DONTWAIT,
            )
        };
        if n == 8 {
            return true;
        }
        if n == 0 {
            return false;
        }
        std::thread::yield_now();
    }
    s.read_exact(buf).is_ok()
}

fn main() {
    skein_process::init();
    procspawn::init();
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(15, |s| s.parse().expect("ROUNDS"));
    let n: usize = args.next().map_or(2000, |s| s.parse().expect("N"));

    if std::env::var_os("TRACE").is_some() {
        // For `strace -f -tt`: a few skein round trips between markers, nothing else.
        let skein = ProcessPool::new(WORKERS).unwrap();
        for i in 0..100 {
            assert_eq!(skein.apply(double, i).unwrap(), 2 * i);
        }
        for _ in 0..3 {
            let _ = std::io::stderr().write_all(b"--apply--\n");
            assert_eq!(skein.apply(double, 21).unwrap(), 42);
        }
        let _ = std::io::stderr().write_all(b"--end--\n");
        return;
    }
    // Cold procspawn: the first round trips on a pool just built.
    let cold = {
        let ps = procspawn::Pool::new(WORKERS).unwrap();
        let t = Instant::now();
        assert_eq!(ps.spawn(21u64, double).join().unwrap(), 42);
        let first = t.elapsed();
        let t = Instant::now();
        assert_eq!(ps.spawn(21u64, double).join().unwrap(), 42);
        let second = t.elapsed();
        ps.shutdown();
        (first, second)
    };

    let (mut raw, child) = raw_echo(false);
    let (spin_sock, spin_child) = raw_echo(true);
    let spin_rt = || {
        let mut buf = [7u8; 8];
        (&spin_sock).write_all(&buf).unwrap();
        assert!(spin_read(&spin_sock, &mut buf));
    };
    let skein = ProcessPool::new(WORKERS).unwrap();
    let ps = procspawn::Pool::new(WORKERS).unwrap();
    let mut raw_rt = || {
        let mut buf = [7u8; 8];
        raw.write_all(&buf).unwrap();
        raw.read_exact(&mut buf).unwrap();
    };
    let skein_rt = || assert_eq!(skein.apply(double, std::hint::black_box(21)).unwrap(), 42);
    let ps_rt = || {
        assert_eq!(
            ps.spawn(std::hint::black_box(21), double).join().unwrap(),
            42
        )
    };
    // Warm-up: every worker has served.
    per_op(200, &mut raw_rt);
    per_op(200, skein_rt);
    per_op(200, ps_rt);
    per_op(200, spin_rt);
    let (mut r, mut s, mut p, mut ratio) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut sp = Vec::new();
    for _ in 0..rounds {
        let a = per_op(n, skein_rt);
        let b = per_op(n / 4, ps_rt);
        let c = per_op(n, &mut raw_rt);
        sp.push(per_op(n, spin_rt));
        s.push(a);
        p.push(b);
        r.push(c);
        ratio.push(b / a);
    }
    drop(raw);
    drop(spin_sock);
    // SAFETY: reaps our own children, which end at their socket's EOF.
    unsafe {
        libc::waitpid(child, std::ptr::null_mut(), 0);
        libc::waitpid(spin_child, std::ptr::null_mut(), 0);
    }
    ps.shutdown();
    eprintln!("per-round ratios procspawn/skein: {ratio:.1?}");
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "apply round trip, {WORKERS} workers, {rounds} rounds of {n}: skein {:.1} us, \
         procspawn Pool {:.1} us (cold: first {:.0} us, second {:.0} us), raw socketpair \
         ping-pong {:.1} us (both ends spinning 50 us before blocking: {:.1} us); skein {:.1}x procspawn Pool (median of per-round ratios; min {:.1}x)",
        median(&s),
        median(&p),
        us(cold.0),
        us(cold.1),
        median(&r),
        median(&sp),
        median(&ratio.clone()),
        ratio.iter().copied().fold(f64::INFINITY, f64::min)
    );
}
