//! Chapter 5 (processes): spawn+join per start method beside raw fork+waitpid,
//! `Command::new("/bin/true")` and procspawn; `Pipe` round trip and 64 KiB bulk
//! transfer beside a raw socketpair; 100k small (8-byte) `Pipe` messages beside a raw
//! socketpair that writes one frame per message.
//!
//! Part 2: cross-process `Queue` (100k small messages) beside a raw socketpair (one
//! write per message), ipc-channel, iceoryx2 publish-subscribe (blocking and
//! busy-polling) and in-process crossbeam-channel (`workloads/queue_small.rs`); `Array` writes by a child beside a raw shared
//! mmap; process-shared `Lock` uncontended beside parking_lot and std; `Event`
//! ping-pong between two processes beside a socketpair. Those children are created
//! with a raw `fork` for every contender alike, so process creation costs the same on
//! both sides of a ratio.
//!
//! Process pools (issue 12), 2 workers each, pools built once outside the timing:
//! `process/pool_map_100k` — `ProcessPool::map` of 100k tiny tasks (x*2, default chunk
//! size) beside procspawn's pool fed the same chunks by hand (procspawn has no map) and a
//! sequential loop; `process/pool_apply_round_trip` — one task per job, submit and wait,
//! skein `ProcessPool::apply` beside procspawn `Pool::spawn(..).join()` (the bar's peer)
//! and, for scale, `procspawn::spawn(..).join()` (a new process per job); both pools are
//! warm before any timing (every worker has served);
//! `process/pool_cpu_map` — a CPU-bound map (16 prime counts) beside sequential;
//! `process/pool_cancel_to_replacement` — from `cancel()` of a running task to the first
//! task served by its replacement worker. CPython's `Pool(2)` figures come from
//! `benches/python/process_workloads.py`.
//!
//! Part 3: the Manager's proxy round trip (dict get/set, queue put+get, lock acquire+release, a bare ping)
//! and `Listener`/`client` connect + mutual HMAC-SHA256 handshake over a Unix socket. CPython's side is benches/python/manager_workloads.py (bar: the
//! proxy round trip ≥ 10× faster than CPython's `multiprocessing.Manager`).
//!
//! Bars (SPEC.md): fork ≤ 1.1× raw fork+waitpid; forkserver ≤ 1.5× raw fork; spawn ≤
//! 0.7× procspawn; 64 KiB bulk over `Pipe` ≥ 1.0× raw socketpair; small `Pipe`
//! messages ≥ 1.0× raw socketpair (issue 17); queue ≥ 10× ipc-channel and ≥ 1.0×
//! iceoryx2 (blocking); `Array` writes ≥ 0.95× raw shared mmap.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use skein_benches::pipe_small;
use skein_benches::raw::{fork, reap, socketpair};

#[path = "../workloads/queue_small.rs"]
mod queue_small;
use skein_process::{
    Address, Array, Connection, Event, HandleFd, Listener, Lock, Manager, Process, StartMethod,
    client, get_context, pipe,
};

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
    // Long enough to average over where the scheduler puts each child (on the parent's
    // CPU or the other one), which moves a raw fork's time by ±15% between short runs.
    g.sample_size(50).measurement_time(Duration::from_secs(8));
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

// ==== part 2: shared memory, process-shared sync, queues ====

const ELEMS: usize = 10_000_000;
const ROUNDS: u32 = 1_000;

fn write_all(fd: &OwnedFd, buf: &[u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes from a live buffer.
        let n = unsafe {
            libc::write(
                fd.as_raw_fd(),
                buf[done..].as_ptr().cast(),
                buf.len() - done,
            )
        };
        assert!(n > 0);
        done += n as usize;
    }
}

fn read_some(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    // SAFETY: reads into a live buffer.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n > 0, "peer closed early");
    n as usize
}

/// Runs `run` `iters` times and adds up the time each run measured of itself (the
/// set-up of a run stays outside its own clock).
fn total_of(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

/// [`queue_small`]: 100k `u64`s from a forked child through skein's `Queue`, beside a
/// raw socketpair (one write per message), ipc-channel, iceoryx2 publish-subscribe
/// (blocking: woken through an event listener; and busy-polling) and, as the in-process
/// limit, crossbeam-channel between two threads. Bars (SPEC.md): ≥ 10× ipc-channel and
/// ≥ 1.0× iceoryx2 (blocking); aim ≥ 0.5× in-process crossbeam.
fn queue_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/queue_100k_small");
    g.throughput(Throughput::Elements(queue_small::MESSAGES));
    g.sample_size(10);
    let mut bench = |name: &str, run: fn() -> Duration| {
        g.bench_function(name, |b| b.iter_custom(|iters| total_of(iters, run)));
    };
    bench("skein", queue_small::skein);
    bench("raw socketpair", queue_small::raw_socketpair);
    bench("ipc-channel", queue_small::ipc_channel);
    bench("iceoryx2 blocking", || {
        queue_small::iceoryx2(queue_small::Wake::Blocking)
    });
    bench("iceoryx2 busy-poll", || {
        queue_small::iceoryx2(queue_small::Wake::BusyPoll)
    });
    bench(
        "crossbeam-channel in-process",
        queue_small::crossbeam_in_process,
    );
    g.finish();
}

/// [`pipe_small`]: 100k messages of 8 bytes from a child over `Pipe` (`send_bytes` →
/// `recv_bytes_into` a reused vector, and `send(&u64)` → `recv::<u64>()`) beside a raw
/// socketpair whose child writes one 16-byte frame (an 8-byte header like skein's and
/// the payload) per message with one `write`, and whose parent reads with a 64 KiB
/// buffer and checks each frame. Issue 17's bar: skein ≥ 1.0× the raw socketpair.
fn pipe_small(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/pipe_small_8b");
    g.throughput(Throughput::Elements(pipe_small::MESSAGES));
    g.sample_size(10);
    g.bench_function("skein bytes", |b| {
        b.iter_custom(|iters| total_of(iters, pipe_small::skein_bytes))
    });
    g.bench_function("skein values", |b| {
        b.iter_custom(|iters| total_of(iters, pipe_small::skein_values))
    });
    g.bench_function("raw socketpair", |b| {
        b.iter_custom(|iters| total_of(iters, pipe_small::raw_socketpair))
    });
    g.finish();
}

fn array_writes(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/array_writes_10M_i32");
    g.throughput(Throughput::Elements(ELEMS as u64));
    g.sample_size(10);
    g.bench_function("skein", |b| {
        let arr = Array::<i32>::new(ELEMS).unwrap();
        b.iter(|| {
            let a = arr.clone();
            let child = fork(move || {
                let mut s = a.lock().unwrap();
                for (i, x) in s.iter_mut().enumerate() {
                    *x = i as i32;
                }
            });
            reap(child);
            assert_eq!(arr.get(ELEMS - 1), Some(ELEMS as i32 - 1));
        })
    });
    g.bench_function("raw mmap", |b| {
        // SAFETY: a fresh anonymous shared mapping, unmapped below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ELEMS * 4,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        let base = ptr as usize;
        b.iter(|| {
            let child = fork(move || {
                // SAFETY: the mapping holds ELEMS i32s; the parent does not touch it meanwhile.
                let s = unsafe { std::slice::from_raw_parts_mut(base as *mut i32, ELEMS) };
                for (i, x) in s.iter_mut().enumerate() {
                    *x = i as i32;
                }
            });
            reap(child);
            // SAFETY: the child has exited; the index is in bounds.
            let last = unsafe { *(base as *const i32).add(ELEMS - 1) };
            assert_eq!(last, ELEMS as i32 - 1);
        });
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(ptr, ELEMS * 4) };
    });
    g.finish();
}

fn lock_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/lock_uncontended");
    let lock = Lock::new().unwrap();
    g.bench_function("skein", |b| {
        b.iter(|| {
            let guard = black_box(&lock).lock().unwrap();
            drop(guard);
        })
    });
    let pl = parking_lot::Mutex::new(());
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&pl).lock())));
    let std_m = std::sync::Mutex::new(());
    g.bench_function("std", |b| {
        b.iter(|| drop(black_box(&std_m).lock().unwrap()))
    });
    g.finish();
}

fn event_ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/event_ping_pong");
    g.throughput(Throughput::Elements(u64::from(ROUNDS)));
    g.sample_size(10);
    g.bench_function("skein", |b| {
        b.iter_custom(|iters| {
            total_of(iters, || {
                let (ping, pong) = (Event::new().unwrap(), Event::new().unwrap());
                let (p2, q2) = (ping.clone(), pong.clone());
                let child = fork(move || {
                    for _ in 0..ROUNDS {
                        p2.wait();
                        p2.clear();
                        q2.set();
                    }
                });
                let t = Instant::now();
                for _ in 0..ROUNDS {
                    ping.set();
                    pong.wait();
                    pong.clear();
                }
                let elapsed = t.elapsed();
                reap(child);
                elapsed
            })
        })
    });
    g.bench_function("raw socketpair", |b| {
        b.iter_custom(|iters| {
            total_of(iters, || {
                let (a, bb) = socketpair();
                let child = fork(|| {
                    let mut byte = [0u8; 1];
                    for _ in 0..ROUNDS {
                        read_some(&bb, &mut byte);
                        write_all(&bb, &byte);
                    }
                });
                let t = Instant::now();
                let mut byte = [1u8; 1];
                for _ in 0..ROUNDS {
                    write_all(&a, &byte);
                    read_some(&a, &mut byte);
                }
                let elapsed = t.elapsed();
                reap(child);
                elapsed
            })
        })
    });
    g.finish();
}

const POOL_ITEMS: u64 = 100_000;
const POOL_WORKERS: usize = 2;

fn double(x: u64) -> u64 {
    x * 2
}

fn double_chunk(xs: Vec<u64>) -> Vec<u64> {
    xs.into_iter().map(|x| x * 2).collect()
}

fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

fn spin_forever(_: ()) -> u64 {
    loop {
        std::hint::spin_loop();
    }
}

fn pid_of(_: ()) -> i32 {
    skein_process::getpid()
}

/// A skein pool, warm: its workers run when `new` returns; each has also served a task.
fn skein_pool() -> skein_pool::ProcessPool {
    let pool = skein_pool::ProcessPool::new(POOL_WORKERS).unwrap();
    let warm = pool.map_chunked(double, 0..2 * POOL_WORKERS as u64, Some(1));
    assert_eq!(warm.unwrap().len(), 2 * POOL_WORKERS);
    pool
}

/// A procspawn pool, warm like [`skein_pool`]: `Pool::new` returns before its workers
/// (which re-execute this binary) are ready, and a first `spawn+join` on a cold pool
/// costs several times a warm one (`benches/examples/apply_ab.rs` prints both), which
/// quick mode (no warm-up) would otherwise time.
fn procspawn_pool() -> procspawn::Pool {
    let ps = procspawn::Pool::new(POOL_WORKERS).unwrap();
    let handles: Vec<_> = (0..2 * POOL_WORKERS as u64)
        .map(|i| ps.spawn(i, double))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    ps
}

fn pool_map(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/pool_map_100k");
    g.throughput(Throughput::Elements(POOL_ITEMS));
    g.sample_size(10).measurement_time(Duration::from_secs(6));
    let items: Vec<u64> = (0..POOL_ITEMS).collect();
    let chunk = (POOL_ITEMS as usize).div_ceil(4 * POOL_WORKERS);
    let skein = skein_pool();
    g.bench_function("skein ProcessPool::map", |b| {
        b.iter(|| {
            let out = skein.map(double, items.iter().copied()).unwrap();
            assert_eq!(out[POOL_ITEMS as usize - 1], 2 * (POOL_ITEMS - 1));
        })
    });
    let ps = procspawn_pool();
    g.bench_function("procspawn Pool, same chunks", |b| {
        b.iter(|| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|c| ps.spawn(c.to_vec(), double_chunk))
                .collect();
            let out: Vec<u64> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            assert_eq!(out[POOL_ITEMS as usize - 1], 2 * (POOL_ITEMS - 1));
        })
    });
    g.bench_function("sequential", |b| {
        b.iter(|| {
            let out: Vec<u64> = black_box(&items).iter().map(|&x| double(x)).collect();
            assert_eq!(out[POOL_ITEMS as usize - 1], 2 * (POOL_ITEMS - 1));
        })
    });
    g.finish();
    ps.shutdown();
}

fn pool_apply(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/pool_apply_round_trip");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let skein = skein_pool();
    g.bench_function("skein ProcessPool::apply", |b| {
        b.iter(|| assert_eq!(skein.apply(double, black_box(21)).unwrap(), 42))
    });
    let ps = procspawn_pool();
    g.bench_function("procspawn Pool::spawn+join", |b| {
        b.iter(|| assert_eq!(ps.spawn(black_box(21), double).join().unwrap(), 42))
    });
    // Not the bar's peer (that is the pooled round trip above, SPEC's "procspawn
    // ~20 k/s"): a process per job, for scale.
    g.bench_function("procspawn::spawn+join", |b| {
        b.iter(|| assert_eq!(procspawn::spawn(black_box(21), double).join().unwrap(), 42))
    });
    g.finish();
    ps.shutdown();
}

fn pool_cpu(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/pool_cpu_map");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    let items: Vec<u64> = (0..16).map(|i| 40_000 + i).collect();
    let want: u64 = items.iter().map(|&n| count_primes(n)).sum();
    let skein = skein_pool();
    g.bench_function("skein ProcessPool::map (2 workers)", |b| {
        b.iter(|| {
            let out = skein
                .map_chunked(count_primes, items.iter().copied(), Some(1))
                .unwrap();
            assert_eq!(out.iter().sum::<u64>(), want);
        })
    });
    g.bench_function("sequential", |b| {
        b.iter(|| assert_eq!(items.iter().map(|&n| count_primes(n)).sum::<u64>(), want))
    });
    g.finish();
}

fn pool_cancel(c: &mut Criterion) {
    use skein_pool::{Call, Submit};
    let mut g = c.benchmark_group("process/pool_cancel_to_replacement");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    for method in [
        StartMethod::Fork,
        StartMethod::Forkserver,
        StartMethod::Spawn,
    ] {
        let ex = skein_pool::ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .build()
            .unwrap();
        g.bench_function(format!("skein/{}", method.name()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let f = ex.submit(Call::new(spin_forever, ())).unwrap();
                    while !f.running() {
                        std::thread::yield_now();
                    }
                    let t = Instant::now();
                    assert!(f.cancel());
                    let pid = ex.submit(Call::new(pid_of, ())).unwrap().into_result();
                    total += t.elapsed();
                    assert!(pid.unwrap() > 0);
                }
                total
            })
        });
    }
    g.finish();
}

fn manager_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/manager_round_trip");
    let m = Manager::builder().start_method(HELPER).start().unwrap();
    let d = m.dict::<String, u64>().unwrap();
    let key = "counter".to_string();
    d.set(&key, &1).unwrap();
    g.bench_function("skein/dict_get", |b| {
        b.iter(|| black_box(d.get(black_box(&key)).unwrap()))
    });
    g.bench_function("skein/dict_set", |b| {
        b.iter(|| d.set(black_box(&key), black_box(&7)).unwrap())
    });
    let q = m.queue::<u64>().unwrap();
    g.bench_function("skein/queue_put_get", |b| {
        b.iter(|| {
            q.put(black_box(5)).unwrap();
            black_box(q.get().unwrap())
        })
    });
    g.bench_function("skein/ping", |b| b.iter(|| m.ping().unwrap()));
    let lock = m.lock().unwrap();
    g.bench_function("skein/lock_acquire_release", |b| {
        b.iter(|| {
            lock.acquire().unwrap();
            lock.release().unwrap();
        })
    });
    g.finish();
}

fn listener_connect(c: &mut Criterion) {
    let mut g = c.benchmark_group("process/listener_connect");
    let dir = std::env::temp_dir().join(format!("skein-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Unix socket only: a TCP run hung in the old stop logic (most likely the race fixed
    // below); TCP has not been tried again.
    {
        let (name, address) = ("skein/unix", Address::unix(dir.join("l.sock")));
        let listener = Listener::bind(&address, b"bench key").unwrap();
        let address = listener.address().clone();
        // Accepts until it finds `stop` set after an accept: the one connection made after
        // setting it ends the loop. (A "stop" message read with a poll raced with the
        // server's poll: the stop client could find its connection already dropped.)
        let stop = Arc::new(AtomicBool::new(false));
        let server = std::thread::spawn({
            let stop = Arc::clone(&stop);
            move || {
                loop {
                    let conn = listener.accept();
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    drop(conn);
                }
            }
        });
        g.bench_function(name, |b| {
            b.iter(|| black_box(client(&address, b"bench key").unwrap()))
        });
        stop.store(true, Ordering::SeqCst);
        let _ = client(&address, b"bench key");
        server.join().unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
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
    queue_100k(&mut c);
    pipe_small(&mut c);
    array_writes(&mut c);
    lock_uncontended(&mut c);
    event_ping_pong(&mut c);
    pool_map(&mut c);
    pool_apply(&mut c);
    pool_cpu(&mut c);
    pool_cancel(&mut c);
    manager_round_trip(&mut c);
    listener_connect(&mut c);
    c.final_summary();
}
