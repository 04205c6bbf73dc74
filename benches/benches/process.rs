//! Chapter 5 (processes): spawn+join per start method beside raw fork+waitpid,
//! `Command::new("/bin/true")` and procspawn; `Pipe` round trip and 64 KiB bulk
//! transfer beside a raw socketpair.
//!
//! Bars (SPEC.md): fork ≤ 1.3× raw fork+waitpid; forkserver ≤ 2× raw fork; spawn ≤
//! 1.0× procspawn; 64 KiB bulk over `Pipe` ≥ 0.9× raw socketpair.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use skein_process::{Connection, HandleFd, Process, StartMethod, get_context, pipe};

// The helper children below are started with Forkserver: under Fork a child inherits
// *every* descriptor of the parent, the parent's own pipe ends included (as in
// Python), and would never see end-of-stream when the parent hangs up.
const HELPER: StartMethod = StartMethod::Forkserver;

fn noop(_: ()) {}

fn procspawn_noop(_: ()) -> u32 {
    7
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/spawn_join");
    g.sample_size(30).measurement_time(Duration::from_secs(4));
    g.bench_function("raw fork+waitpid", |b| {
        b.iter(|| {
            // SAFETY: the child only calls `_exit`, which is async-signal-safe.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: `_exit` never returns and runs no Rust code.
                unsafe { libc::_exit(0) };
            }
            assert!(pid > 0);
            let mut status = 0;
            // SAFETY: `status` is a valid out-pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            assert_eq!(r, pid);
            assert_eq!(status, 0);
        })
    });
    for method in StartMethod::ALL {
        let ctx = get_context(method);
        // Warm up: the forkserver starts on first use; measure the steady state.
        assert_eq!(ctx.process(noop, ()).start().unwrap().join().unwrap(), 0);
        g.bench_function(format!("skein/{}", method.name()), |b| {
            b.iter(|| {
                let p = ctx.process(noop, ()).start().unwrap();
                assert_eq!(p.join().unwrap(), 0);
            })
        });
    }
    g.bench_function("Command /bin/true", |b| {
        b.iter(|| assert!(Command::new("/bin/true").status().unwrap().success()))
    });
    g.bench_function("procspawn", |b| {
        b.iter(|| assert_eq!(procspawn::spawn((), procspawn_noop).join().unwrap(), 7))
    });
    g.finish();
}

/// Echo server for the skein round trip: answers each frame with the same bytes.
fn skein_echo(conn: Connection) {
    let mut buf = Vec::new();
    while conn.recv_bytes_into(&mut buf).is_ok() {
        if conn.send_bytes(&buf).is_err() {
            break;
        }
    }
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/pipe_round_trip");
    g.sample_size(30).measurement_time(Duration::from_secs(3));

    let (here, there) = pipe(true).unwrap();
    let child = Process::new(skein_echo, there)
        .start_method(HELPER)
        .start()
        .unwrap();
    g.bench_function("skein", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            here.send_bytes(&42u64.to_le_bytes()).unwrap();
            here.recv_bytes_into(&mut buf).unwrap();
            assert_eq!(buf, 42u64.to_le_bytes());
        })
    });
    drop(here);
    assert_eq!(child.join().unwrap(), 0);

    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let theirs = HandleFd::new(theirs.into());
    let child = Process::new(raw_echo, theirs)
        .start_method(HELPER)
        .start()
        .unwrap();
    g.bench_function("raw socketpair", |b| {
        let mut buf = [0u8; 8];
        b.iter(|| {
            ours.write_all(&42u64.to_le_bytes()).unwrap();
            ours.read_exact(&mut buf).unwrap();
            assert_eq!(buf, 42u64.to_le_bytes());
        })
    });
    drop(ours);
    assert_eq!(child.join().unwrap(), 0);
    g.finish();
}

/// Echo server for the raw round trip: plain reads and writes on a socket.
fn raw_echo(fd: HandleFd) {
    let mut s = UnixStream::from(fd.into_inner());
    let mut buf = [0u8; 8];
    while s.read_exact(&mut buf).is_ok() {
        if s.write_all(&buf).is_err() {
            break;
        }
    }
}

const BULK: usize = 64 * 1024;

/// Sends `n` 64 KiB blocks with plain writes for each request `n`.
fn raw_bulk_source((ctl, data): (HandleFd, HandleFd)) {
    let mut ctl = UnixStream::from(ctl.into_inner());
    let mut data = UnixStream::from(data.into_inner());
    let block = vec![0xabu8; BULK];
    let mut n = [0u8; 8];
    while ctl.read_exact(&mut n).is_ok() {
        for _ in 0..u64::from_le_bytes(n) {
            data.write_all(&block).unwrap();
        }
    }
}

/// Sends `n` 64 KiB frames for each request `n` it receives.
fn skein_bulk_source((ctl, data): (Connection, Connection)) {
    let block = vec![0xabu8; BULK];
    while let Ok(n) = ctl.recv::<u64>() {
        for _ in 0..n {
            data.send_bytes(&block).unwrap();
        }
    }
}

fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/bulk_64k");
    g.sample_size(30).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(BULK as u64));

    let (ctl, ctl_child) = pipe(true).unwrap();
    let (data, data_child) = pipe(true).unwrap();
    let child = Process::new(skein_bulk_source, (ctl_child, data_child))
        .start_method(HELPER)
        .start()
        .unwrap();
    g.bench_function("skein", |b| {
        let mut buf = Vec::with_capacity(BULK);
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            ctl.send(&iters).unwrap();
            for _ in 0..iters {
                assert_eq!(data.recv_bytes_into(&mut buf).unwrap(), BULK);
            }
            let t = t0.elapsed();
            assert_eq!(buf[BULK - 1], 0xab);
            t
        })
    });
    drop((ctl, data));
    assert_eq!(child.join().unwrap(), 0);

    let (mut ctl, ctl_child) = UnixStream::pair().unwrap();
    let (mut data, data_child) = UnixStream::pair().unwrap();
    let args = (
        HandleFd::new(ctl_child.into()),
        HandleFd::new(data_child.into()),
    );
    let child = Process::new(raw_bulk_source, args)
        .start_method(HELPER)
        .start()
        .unwrap();
    g.bench_function("raw socketpair", |b| {
        let mut buf = vec![0u8; BULK];
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            ctl.write_all(&iters.to_le_bytes()).unwrap();
            for _ in 0..iters {
                data.read_exact(&mut buf).unwrap();
            }
            let t = t0.elapsed();
            assert_eq!(buf[BULK - 1], 0xab);
            t
        })
    });
    drop((ctl, data));
    assert_eq!(child.join().unwrap(), 0);
    g.finish();
}

fn main() {
    // Both libraries re-execute this binary for their children: let each claim its own.
    skein_process::init();
    procspawn::init();
    let mut c = Criterion::default().configure_from_args();
    spawn_join(&mut c);
    round_trip(&mut c);
    bulk(&mut c);
    c.final_summary();
}
