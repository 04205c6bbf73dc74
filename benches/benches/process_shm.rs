//! Chapter 5 part 2: cross-process `Queue`, shared `Array`, process-shared `Lock` and
//! `Event`, each beside its raw peer. Children are created with a raw `fork` for every
//! contender alike, so process creation costs the same on both sides of a ratio.

use std::hint::black_box;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skein_process::{Array, Event, Lock, Queue};

const MESSAGES: u64 = 100_000;
const ELEMS: usize = 10_000_000;
const ROUNDS: u32 = 1_000;

/// Forks; the child runs `f` and `_exit`s (code 0, or 1 if it panicked).
fn fork(f: impl FnOnce()) -> libc::pid_t {
    // SAFETY: the child runs `f` then `_exit`s; glibc keeps malloc usable after fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed"
    );
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

fn expected_sum() -> u64 {
    MESSAGES * (MESSAGES - 1) / 2
}

fn queue_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_queue_100k_small");
    g.throughput(Throughput::Elements(MESSAGES));
    g.sample_size(10);
    g.bench_function("skein", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let q = Queue::<u64>::new().unwrap();
                let t = Instant::now();
                let tx = q.clone();
                let child = fork(move || {
                    for i in 0..MESSAGES {
                        tx.put(i).unwrap();
                    }
                });
                let mut sum = 0;
                for _ in 0..MESSAGES {
                    sum += q.get().unwrap();
                }
                reap(child);
                total += t.elapsed();
                assert_eq!(sum, expected_sum());
            }
            total
        })
    });
    g.bench_function("raw-socketpair", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (rx, tx) = socketpair();
                let t = Instant::now();
                let child = fork(|| {
                    for i in 0..MESSAGES {
                        write_all(&tx, &i.to_le_bytes()); // one write per message
                    }
                });
                drop(tx);
                let mut buf = vec![0u8; 64 * 1024];
                let (mut sum, mut got, mut carry) = (0u64, 0u64, Vec::new());
                while got < MESSAGES {
                    let n = read_some(&rx, &mut buf);
                    carry.extend_from_slice(&buf[..n]);
                    let whole = carry.len() / 8 * 8;
                    for m in carry[..whole].chunks_exact(8) {
                        sum += u64::from_le_bytes(m.try_into().unwrap());
                        got += 1;
                    }
                    carry.drain(..whole);
                }
                reap(child);
                total += t.elapsed();
                assert_eq!(sum, expected_sum());
            }
            total
        })
    });
    g.bench_function("ipc-channel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (tx, rx) = ipc_channel::ipc::channel::<u64>().unwrap();
                let t = Instant::now();
                let child = fork(move || {
                    for i in 0..MESSAGES {
                        tx.send(i).unwrap();
                    }
                });
                let mut sum = 0;
                for _ in 0..MESSAGES {
                    sum += rx.recv().unwrap();
                }
                reap(child);
                total += t.elapsed();
                assert_eq!(sum, expected_sum());
            }
            total
        })
    });
    g.finish();
}

fn array_writes(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_array_writes_10M_i32");
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
    g.bench_function("raw-mmap", |b| {
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
    let mut g = c.benchmark_group("process_lock_uncontended");
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
    let mut g = c.benchmark_group("process_event_ping_pong");
    g.throughput(Throughput::Elements(u64::from(ROUNDS)));
    g.sample_size(10);
    g.bench_function("skein", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
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
                total += t.elapsed();
                reap(child);
            }
            total
        })
    });
    g.bench_function("raw-socketpair", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
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
                total += t.elapsed();
                reap(child);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    queue_100k,
    array_writes,
    lock_uncontended,
    event_ping_pong
);
criterion_main!(benches);
