//! Chapter 2 — locks: skein-locks beside parking_lot, std and crossbeam-channel.
//!
//! Groups: uncontended acquire+release (Lock, RLock), a 2-thread contended counter (Lock
//! beside parking_lot's and std's `Mutex`, RLock beside parking_lot's `ReentrantMutex`),
//! ping-pong between 2 threads (Event pair, Condition pair, parking_lot Condvar pair,
//! crossbeam-channel bounded(1) pair), and the cost of deadlock detection on vs off.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use skein_locks::{Condition, Event, Lock, RLock, deadlock};

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/uncontended_lock");
    let lock = Lock::new();
    g.bench_function("skein", |b| b.iter(|| drop(black_box(&lock).acquire())));
    let pl = parking_lot::Mutex::new(());
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&pl).lock())));
    let std_m = std::sync::Mutex::new(());
    g.bench_function("std", |b| {
        b.iter(|| drop(black_box(&std_m).lock().unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("locks/uncontended_rlock");
    let rlock = RLock::new();
    g.bench_function("skein", |b| b.iter(|| drop(black_box(&rlock).acquire())));
    let pl = parking_lot::ReentrantMutex::new(());
    g.bench_function("parking_lot", |b| b.iter(|| drop(black_box(&pl).lock())));
    g.finish();
}

/// `threads` threads each run `work(iters)` after a common start; returns the time from the
/// first thread's start to the last one's end (measured by the workers, so a descheduled
/// main thread does not distort it).
fn on_threads<F>(threads: usize, iters: u64, work: F) -> Duration
where
    F: Fn(u64) + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(threads));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (work, start) = (work.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let t0 = Instant::now();
                work(iters);
                (t0, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let first = spans.iter().map(|s| s.0).min().unwrap();
    let last = spans.iter().map(|s| s.1).max().unwrap();
    last - first
}

/// A 2-thread counter on one skein `Lock`; returns the elapsed time for `iters` each.
fn skein_counter(iters: u64) -> Duration {
    let lock = Arc::new((Lock::new(), AtomicU64::new(0)));
    let l2 = lock.clone();
    let t = on_threads(2, iters, move |n| {
        for _ in 0..n {
            let _g = l2.0.acquire();
            l2.1.store(l2.1.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
    });
    assert_eq!(lock.1.load(Ordering::Relaxed), 2 * iters);
    t
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/contended_counter_2_threads");
    g.throughput(criterion::Throughput::Elements(2));
    g.bench_function("skein", |b| b.iter_custom(skein_counter));
    g.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            let m = Arc::new(parking_lot::Mutex::new(0u64));
            let m2 = m.clone();
            let t = on_threads(2, iters, move |n| {
                for _ in 0..n {
                    *m2.lock() += 1;
                }
            });
            assert_eq!(*m.lock(), 2 * iters);
            t
        })
    });
    g.bench_function("std", |b| {
        b.iter_custom(|iters| {
            let m = Arc::new(std::sync::Mutex::new(0u64));
            let m2 = m.clone();
            let t = on_threads(2, iters, move |n| {
                for _ in 0..n {
                    *m2.lock().unwrap() += 1;
                }
            });
            assert_eq!(*m.lock().unwrap(), 2 * iters);
            t
        })
    });
    g.finish();

    let mut g = c.benchmark_group("locks/contended_rlock_counter_2_threads");
    g.throughput(criterion::Throughput::Elements(2));
    g.bench_function("skein", |b| {
        b.iter_custom(|iters| {
            let lock = Arc::new((RLock::new(), AtomicU64::new(0)));
            let l2 = lock.clone();
            let t = on_threads(2, iters, move |n| {
                for _ in 0..n {
                    let _g = l2.0.acquire();
                    l2.1.store(l2.1.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                }
            });
            assert_eq!(lock.1.load(Ordering::Relaxed), 2 * iters);
            t
        })
    });
    g.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            let m = Arc::new(parking_lot::ReentrantMutex::new(std::cell::Cell::new(0u64)));
            let m2 = m.clone();
            let t = on_threads(2, iters, move |n| {
                for _ in 0..n {
                    let g = m2.lock();
                    g.set(g.get() + 1);
                }
            });
            assert_eq!(m.lock().get(), 2 * iters);
            t
        })
    });
    g.finish();
}

/// Runs `iters` round trips: `ping` on this thread, `pong` on a partner thread.
fn ping_pong<S, P, Q>(iters: u64, shared: Arc<S>, ping: P, pong: Q) -> Duration
where
    S: Send + Sync + 'static,
    P: Fn(&S),
    Q: Fn(&S) + Send + 'static,
{
    let s2 = shared.clone();
    let partner = thread::spawn(move || {
        for _ in 0..iters {
            pong(&s2);
        }
    });
    let t = Instant::now();
    for _ in 0..iters {
        ping(&shared);
    }
    let elapsed = t.elapsed();
    partner.join().unwrap();
    elapsed
}

fn ping_pong_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("locks/ping_pong");
    g.bench_function("skein/event", |b| {
        b.iter_custom(|iters| {
            let done = Arc::new(AtomicU64::new(0));
            let d2 = done.clone();
            let t = ping_pong(
                iters,
                Arc::new((Event::new(), Event::new(), d2)),
                |(ping, pong, _)| {
                    ping.set();
                    pong.wait();
                    pong.clear();
                },
                |(ping, pong, d)| {
                    ping.wait();
                    ping.clear();
                    d.fetch_add(1, Ordering::Relaxed);
                    pong.set();
                },
            );
            assert_eq!(done.load(Ordering::Relaxed), iters);
            t
        })
    });
    g.bench_function("skein/condition", |b| {
        b.iter_custom(|iters| {
            // turn 0: main thread's move, turn 1: partner's.
            let shared = Arc::new((Condition::with_lock(Lock::new()), AtomicU8::new(0)));
            let check = shared.clone();
            let t = ping_pong(
                iters,
                shared,
                |(c, turn)| {
                    let mut g = c.acquire();
                    g.wait_for(|| turn.load(Ordering::Relaxed) == 0);
                    turn.store(1, Ordering::Relaxed);
                    g.notify_one();
                },
                |(c, turn)| {
                    let mut g = c.acquire();
                    g.wait_for(|| turn.load(Ordering::Relaxed) == 1);
                    turn.store(0, Ordering::Relaxed);
                    g.notify_one();
                },
            );
            let mut g = check.0.acquire();
            g.wait_for(|| check.1.load(Ordering::Relaxed) == 0);
            t
        })
    });
    g.bench_function("parking_lot", |b| {
        b.iter_custom(|iters| {
            let shared = Arc::new((parking_lot::Mutex::new(0u8), parking_lot::Condvar::new()));
            let check = shared.clone();
            let t = ping_pong(
                iters,
                shared,
                |(m, cv)| {
                    let mut turn = m.lock();
                    while *turn != 0 {
                        cv.wait(&mut turn);
                    }
                    *turn = 1;
                    cv.notify_one();
                },
                |(m, cv)| {
                    let mut turn = m.lock();
                    while *turn != 1 {
                        cv.wait(&mut turn);
                    }
                    *turn = 0;
                    cv.notify_one();
                },
            );
            let mut turn = check.0.lock();
            while *turn != 0 {
                check.1.wait(&mut turn);
            }
            t
        })
    });
    g.bench_function("crossbeam-channel", |b| {
        b.iter_custom(|iters| {
            let (tx1, rx1) = crossbeam_channel::bounded::<u64>(1);
            let (tx2, rx2) = crossbeam_channel::bounded::<u64>(1);
            let done = Arc::new(AtomicU64::new(0));
            let d2 = done.clone();
            let t = ping_pong(
                iters,
                Arc::new((tx1, rx2, tx2, rx1, d2)),
                |(tx1, rx2, _, _, _)| {
                    tx1.send(1).unwrap();
                    assert_eq!(rx2.recv().unwrap(), 2);
                },
                |(_, _, tx2, rx1, d)| {
                    let v = rx1.recv().unwrap();
                    d.fetch_add(1, Ordering::Relaxed);
                    tx2.send(v + 1).unwrap();
                },
            );
            assert_eq!(done.load(Ordering::Relaxed), iters);
            t
        })
    });
    g.finish();
}

/// Deadlock detection costs nothing on the uncontended path; measure it where it works:
/// the contended counter (parks and hand-offs) and a 4-thread, 2-lock mix that parks often.
fn detection(c: &mut Criterion) {
    let prev = deadlock::is_enabled();
    let mut g = c.benchmark_group("locks/detection_contended_counter");
    g.throughput(criterion::Throughput::Elements(2));
    for (label, on) in [("skein/detection-off", false), ("skein/detection-on", true)] {
        deadlock::set_enabled(on);
        g.bench_function(label, |b| b.iter_custom(skein_counter));
    }
    g.finish();

    let mut g = c.benchmark_group("locks/detection_4_threads_2_locks");
    for (label, on) in [("skein/detection-off", false), ("skein/detection-on", true)] {
        deadlock::set_enabled(on);
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let shared = Arc::new((Lock::named("a"), Lock::named("b"), AtomicU64::new(0)));
                let sh = shared.clone();
                let t = on_threads(4, iters, move |n| {
                    for _ in 0..n {
                        let _a = sh.0.acquire();
                        let _b = sh.1.acquire();
                        sh.2.store(sh.2.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    }
                });
                assert_eq!(shared.2.load(Ordering::Relaxed), 4 * iters);
                t
            })
        });
    }
    g.finish();
    deadlock::set_enabled(prev);
}

criterion_group!(
    benches,
    uncontended,
    contended,
    ping_pong_benches,
    detection
);
criterion_main!(benches);
