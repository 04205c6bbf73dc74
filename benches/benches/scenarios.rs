//! The notes' closing question, measured: CPU-bound work → processes, IO-bound work →
//! threads or coroutines — and what changes in Rust, where there is no GIL.
//!
//! Three jobs, each run sequentially, on skein's thread pool, on skein's process pool
//! (fork start method) and on skein's green tasks (the hub), beside std threads and, for
//! the IO jobs, tokio's current-thread runtime. Every iteration checks its answer.
//!
//! * `scenarios/cpu_primes`: count the primes below 1,000,000 by trial division, the range
//!   cut into 32 equal chunks handed out one at a time (Python's
//!   `pool.map(f, chunks, chunksize=1)`), on 2 workers (the 2 cores); the job is
//!   `skein_benches::scenarios`, shared with `examples/cpu_scenario_ab.rs`.
//!   Sequential takes about 140 ms on the project machine, so that a pool's start-up
//!   is small beside it.
//! * `scenarios/io_timer`: [`TIMER_TASKS`] tasks each waiting [`TIMER_WAIT`] (20 ms)
//!   on a timer. Sequentially that is 4 s; with every task in flight, 20 ms.
//! * `scenarios/io_echo`: [`CLIENTS`] clients, each connecting to an echo server over
//!   loopback TCP and doing [`ROUNDS`] request/response round trips of [`MSG`] bytes,
//!   then hanging up; the bytes echoed back are checked. The server is the same for
//!   every contender: a separate process (forked once, before the groups run) serving
//!   every connection on a tokio current-thread runtime, so the contenders differ only
//!   in how their clients wait.
//!
//! Function ids (the report computes speedup = time(`skein/sequential`) ÷ time(X)):
//! `skein/sequential`, `skein/threads` (`ThreadPoolExecutor`), `skein/processes`
//! (`ProcessPool`, fork), `skein/green` (hub tasks on this thread), `std/threads` (a
//! `std::thread` per worker or task), `tokio/current_thread` (IO groups). CPython's
//! figures for the same groups come from `benches/python/scenarios.py`.
//!
//! What a run includes: the pools are created and shut down inside every iteration
//! (`with Pool(2) as p: p.map(...)`), so a process pool pays for its forks; the hub and
//! tokio's runtime live on this thread for the whole run, as an event loop does. The CPU
//! job uses as many workers as cores; the IO jobs one worker per task (200), because an
//! IO-bound job wants every wait in flight at once — which is exactly what makes threads
//! (and above all processes) costlier than green tasks there.
//!
//! Bars (SPEC.md): CPU on 2 cores ≥ 1.8× over sequential for `skein/threads` and
//! `skein/processes`; IO on green tasks ≤ 1.1× `tokio/current_thread`'s time.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use skein_benches::scenarios::{CPU_WORKERS, PRIMES_BELOW_N, chunks, count_primes_in};
use skein_coroutine::hub;
use skein_pool::{ProcessPool, Submit, ThreadPoolExecutor};
use skein_process::{Process, ProcessHandle, StartMethod, pipe};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Tasks in the timer job, each waiting [`TIMER_WAIT`].
const TIMER_TASKS: usize = 200;
/// How long each timer task waits.
const TIMER_WAIT: Duration = Duration::from_millis(20);

/// Clients in the echo job.
const CLIENTS: usize = 200;
/// Request/response round trips per client.
const ROUNDS: usize = 10;
/// Bytes per request (and per response).
const MSG: usize = 32;
/// Bytes every client must get back.
const ECHOED_PER_CLIENT: u64 = (ROUNDS * MSG) as u64;

/// Workers for the IO jobs: one per task.
const IO_WORKERS: usize = 200;

// ==== the jobs ====

/// One timer task on an OS thread: blocks for [`TIMER_WAIT`].
fn wait_on_timer(i: u64) -> u64 {
    std::thread::sleep(TIMER_WAIT);
    i
}

/// Σ 0..TIMER_TASKS: what the timer tasks return between them.
const TIMER_SUM: u64 = (TIMER_TASKS * (TIMER_TASKS - 1) / 2) as u64;

/// The request of round `r`: distinct per round, so a stale or misrouted reply fails.
fn request(r: usize) -> [u8; MSG] {
    [r as u8 + 1; MSG]
}

/// One echo client with blocking std sockets: connect, [`ROUNDS`] round trips, hang up.
/// Returns the bytes echoed back (each reply checked against its request).
fn echo_client(port: u16) -> u64 {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut reply = [0u8; MSG];
    let mut echoed = 0;
    for r in 0..ROUNDS {
        s.write_all(&request(r)).unwrap();
        s.read_exact(&mut reply).unwrap();
        assert_eq!(reply, request(r));
        echoed += MSG as u64;
    }
    echoed
}

/// The same client on the hub's cooperative sockets.
fn green_echo_client(port: u16) -> u64 {
    let mut s = hub::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut reply = [0u8; MSG];
    let mut echoed = 0;
    for r in 0..ROUNDS {
        s.write_all(&request(r)).unwrap();
        s.read_exact(&mut reply).unwrap();
        assert_eq!(reply, request(r));
        echoed += MSG as u64;
    }
    echoed
}

/// The same client on tokio.
async fn tokio_echo_client(port: u16) -> u64 {
    let mut s = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .unwrap();
    s.set_nodelay(true).unwrap();
    let mut reply = [0u8; MSG];
    let mut echoed = 0;
    for r in 0..ROUNDS {
        s.write_all(&request(r)).await.unwrap();
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, request(r));
        echoed += MSG as u64;
    }
    echoed
}

// ==== the contenders' harness ====

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn process_pool(workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .processes(workers)
        .start_method(StartMethod::Fork)
        .build()
        .unwrap()
}

/// Runs `job(item)` for every item on `workers` std threads that claim items one at a
/// time; returns the results' sum.
fn on_std_threads<T: Copy + Sync>(workers: usize, items: &[T], job: fn(T) -> u64) -> u64 {
    let next = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut mine = 0;
                while let Some(&item) = items.get(next.fetch_add(1, Ordering::Relaxed) as usize) {
                    mine += job(item);
                }
                total.fetch_add(mine, Ordering::Relaxed);
            });
        }
    });
    total.into_inner()
}

/// Submits `job(item)` for every item to a fresh `ThreadPoolExecutor(workers)`, sums the
/// results, and shuts the pool down.
fn on_thread_pool<T: Copy + Send + 'static>(workers: usize, items: &[T], job: fn(T) -> u64) -> u64 {
    let pool = ThreadPoolExecutor::new(workers).unwrap();
    let futures: Vec<_> = items
        .iter()
        .map(|&item| pool.submit(move || job(item)).unwrap())
        .collect();
    let sum = futures.iter().map(|f| *f.result().unwrap()).sum();
    drop(pool);
    sum
}

/// `ProcessPool(workers).map(job, items, chunksize=1)` on a fresh fork pool, summed.
fn on_process_pool<T>(workers: usize, items: &[T], job: fn(T) -> u64) -> u64
where
    T: Copy + serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let pool = process_pool(workers);
    let out = pool
        .map_chunked(job, items.iter().copied(), Some(1))
        .unwrap();
    drop(pool);
    out.iter().sum()
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    measurement: Duration,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(measurement);
    g
}

// ==== the groups ====

fn cpu_primes(c: &mut Criterion) {
    let mut g = group(c, "scenarios/cpu_primes", Duration::from_secs(2));
    let items = chunks();
    g.bench_function("skein/sequential", |b| {
        b.iter(|| {
            let n: u64 = items.iter().map(|&r| count_primes_in(r)).sum();
            assert_eq!(n, PRIMES_BELOW_N);
        })
    });
    g.bench_function("skein/threads", |b| {
        b.iter(|| {
            assert_eq!(
                on_thread_pool(CPU_WORKERS, &items, count_primes_in),
                PRIMES_BELOW_N
            )
        })
    });
    g.bench_function("skein/processes", |b| {
        b.iter(|| {
            assert_eq!(
                on_process_pool(CPU_WORKERS, &items, count_primes_in),
                PRIMES_BELOW_N
            )
        })
    });
    g.bench_function("skein/green", |b| {
        b.iter(|| {
            let tasks: Vec<_> = items
                .iter()
                .map(|&r| hub::spawn(move || count_primes_in(r)))
                .collect();
            let n: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(n, PRIMES_BELOW_N);
        })
    });
    g.bench_function("std/threads", |b| {
        b.iter(|| {
            assert_eq!(
                on_std_threads(CPU_WORKERS, &items, count_primes_in),
                PRIMES_BELOW_N
            )
        })
    });
    g.finish();
}

fn io_timer(c: &mut Criterion) {
    let mut g = group(c, "scenarios/io_timer", Duration::from_secs(2));
    let items: Vec<u64> = (0..TIMER_TASKS as u64).collect();
    g.bench_function("skein/sequential", |b| {
        b.iter(|| {
            assert_eq!(
                items.iter().map(|&i| wait_on_timer(i)).sum::<u64>(),
                TIMER_SUM
            )
        })
    });
    g.bench_function("skein/threads", |b| {
        b.iter(|| assert_eq!(on_thread_pool(IO_WORKERS, &items, wait_on_timer), TIMER_SUM))
    });
    g.bench_function("skein/processes", |b| {
        b.iter(|| {
            assert_eq!(
                on_process_pool(IO_WORKERS, &items, wait_on_timer),
                TIMER_SUM
            )
        })
    });
    g.bench_function("skein/green", |b| {
        b.iter(|| {
            let tasks: Vec<_> = items
                .iter()
                .map(|&i| {
                    hub::spawn(move || {
                        hub::sleep(TIMER_WAIT);
                        i
                    })
                })
                .collect();
            let sum: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, TIMER_SUM);
        })
    });
    g.bench_function("std/threads", |b| {
        b.iter(|| assert_eq!(on_std_threads(IO_WORKERS, &items, wait_on_timer), TIMER_SUM))
    });
    let rt = tokio_rt();
    g.bench_function("tokio/current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = items
                    .iter()
                    .map(|&i| {
                        tokio::spawn(async move {
                            tokio::time::sleep(TIMER_WAIT).await;
                            i
                        })
                    })
                    .collect();
                let mut sum = 0;
                for t in tasks {
                    sum += t.await.unwrap();
                }
                assert_eq!(sum, TIMER_SUM);
            })
        })
    });
    g.finish();
}

/// Forks the echo server: a process serving every connection on a tokio current-thread
/// runtime (a task per connection, each reply written as soon as its bytes arrive).
/// Returns its handle and the port it listens on (127.0.0.1).
fn start_echo_server() -> (ProcessHandle, u16) {
    let (port_rx, port_tx) = pipe(false).unwrap();
    let server = Process::from_closure(move || {
        let rt = tokio_rt();
        rt.block_on(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
            // Room for every client connecting at once (std's default backlog is 128).
            let listener = socket.listen(1024).unwrap();
            port_tx
                .send(&listener.local_addr().unwrap().port())
                .unwrap();
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    conn.set_nodelay(true).unwrap();
                    let mut buf = [0u8; 4096];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if conn.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        })
    })
    .name("echo-server")
    .daemon(true)
    .start()
    .unwrap();
    let port = port_rx.recv::<u16>().unwrap();
    (server, port)
}

fn io_echo(c: &mut Criterion, port: u16) {
    let mut g = group(c, "scenarios/io_echo", Duration::from_secs(2));
    let want = CLIENTS as u64 * ECHOED_PER_CLIENT;
    let ports = vec![port; CLIENTS];
    g.bench_function("skein/sequential", |b| {
        b.iter(|| assert_eq!(ports.iter().map(|&p| echo_client(p)).sum::<u64>(), want))
    });
    g.bench_function("skein/threads", |b| {
        b.iter(|| assert_eq!(on_thread_pool(IO_WORKERS, &ports, echo_client), want))
    });
    g.bench_function("skein/processes", |b| {
        b.iter(|| assert_eq!(on_process_pool(IO_WORKERS, &ports, echo_client), want))
    });
    g.bench_function("skein/green", |b| {
        b.iter(|| {
            let tasks: Vec<_> = ports
                .iter()
                .map(|&p| hub::spawn(move || green_echo_client(p)))
                .collect();
            let echoed: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(echoed, want);
        })
    });
    g.bench_function("std/threads", |b| {
        b.iter(|| assert_eq!(on_std_threads(IO_WORKERS, &ports, echo_client), want))
    });
    let rt = tokio_rt();
    g.bench_function("tokio/current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = ports
                    .iter()
                    .map(|&p| tokio::spawn(tokio_echo_client(p)))
                    .collect();
                let mut echoed = 0;
                for t in tasks {
                    echoed += t.await.unwrap();
                }
                assert_eq!(echoed, want);
            })
        })
    });
    g.finish();
}

fn main() {
    skein_process::init();
    // The echo server is forked first, while this process is still single-threaded.
    let (server, port) = start_echo_server();
    let mut c = Criterion::default().configure_from_args();
    cpu_primes(&mut c);
    io_timer(&mut c);
    io_echo(&mut c, port);
    c.final_summary();
    server.terminate().unwrap();
    server.join().unwrap();
}
