//! Chapter 5 (processes): spawn+join per start method beside raw fork+waitpid,
//! `Command::new("/bin/true")` and procspawn; `Pipe` round trip and 64 KiB bulk
//! transfer beside a raw socketpair.
//!
//! Bars (SPEC.md): fork ≤ 1.3× raw fork+waitpid; forkserver ≤ 2× raw fork; spawn ≤
//! 1.0× procspawn; 64 KiB bulk over `Pipe` ≥ 0.9× raw socketpair.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use skein_process::{Connection, Process, StartMethod, get_context, pipe};

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
    let child = Process::new(skein_echo, there).start_method(StartMethod::Fork).start().unwrap();
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
    let child = Process::from_closure(move || {
        let mut s = theirs;
        let mut buf = [0u8; 8];
        while s.read_exact(&mut buf).is_ok() {
            if s.write_all(&buf).is_err() {
                break;
            }
        }
    })
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

const BULK: usize = 64 * 1024;

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
        .start_method(StartMethod::Fork)
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

    let (mut ctl, mut ctl_child) = UnixStream::pair().unwrap();
    let (mut data, mut data_child) = UnixStream::pair().unwrap();
    let child = Process::from_closure(move || {
        let block = vec![0xabu8; BULK];
        let mut n = [0u8; 8];
        while ctl_child.read_exact(&mut n).is_ok() {
            for _ in 0..u64::from_le_bytes(n) {
                data_child.write_all(&block).unwrap();
            }
        }
    })
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
    black_box(());
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
