//! Chapter 6 benches, the hub half (gevent): skein's green tasks beside tokio's
//! current-thread runtime (what a Rust user would pick instead), one thread each.
//!
//! * `hub/spawn_join_100k`: spawn 100k tasks that return their index, then join them all
//!   and check the sum.
//! * `hub/sleep_10k_10ms`: 10k tasks each sleeping 10 ms at once; wall time of the lot
//!   (the floor is 10 ms).
//! * `hub/echo_1000_clients`: 1,000 clients on loopback, each with its own server task,
//!   do 10 round trips of 32 bytes per iteration; connections are set up once.
//!
//! skein's blocking detector is off in release builds, so it costs nothing here.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use skein_coroutine::hub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TASKS: usize = 100_000;
const SLEEPERS: usize = 10_000;
const CLIENTS: usize = 1_000;
const ROUNDS: usize = 10;
const MSG: usize = 32;

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn spawn_join(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/spawn_join_100k");
    group.throughput(Throughput::Elements(TASKS as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let expected = TASKS * (TASKS - 1) / 2;

    group.bench_function("skein", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..TASKS).map(|i| hub::spawn(move || i)).collect();
            let sum: usize = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, expected);
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
                let mut sum = 0;
                for t in tasks {
                    sum += t.await.unwrap();
                }
                assert_eq!(sum, expected);
            })
        })
    });
    group.finish();
}

fn sleepers(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/sleep_10k_10ms");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let nap = Duration::from_millis(10);

    group.bench_function("skein", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..SLEEPERS)
                .map(|_| hub::spawn(move || hub::sleep(nap)))
                .collect();
            hub::joinall(&tasks);
            assert!(tasks.iter().all(|t| t.is_finished()));
        })
    });
    let rt = tokio_rt();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..SLEEPERS)
                    .map(|_| tokio::spawn(tokio::time::sleep(nap)))
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        })
    });
    group.finish();
}

/// skein's echo set-up: a listener task accepting `CLIENTS` connections, a server task
/// per connection, and the clients' streams (kept between iterations).
fn skein_echo_setup() -> Vec<Rc<RefCell<hub::TcpStream>>> {
    let listener = hub::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let _acceptor = hub::spawn(move || {
        for _ in 0..CLIENTS {
            let (mut conn, _) = listener.accept().unwrap();
            let _server = hub::spawn(move || {
                let mut buf = [0u8; MSG];
                while conn.read_exact(&mut buf).is_ok() {
                    conn.write_all(&buf).unwrap();
                }
            });
        }
    });
    let connect: Vec<_> = (0..CLIENTS)
        .map(|_| hub::spawn(move || hub::TcpStream::connect(addr).unwrap()))
        .collect();
    let streams: Vec<Rc<RefCell<hub::TcpStream>>> = connect
        .into_iter()
        .map(|t| Rc::new(RefCell::new(t.join().unwrap())))
        .collect();
    for s in &streams {
        s.borrow().set_nodelay(true).unwrap();
    }
    streams
}

/// One iteration of skein's echo: every client does `ROUNDS` round trips.
fn skein_echo_iter(streams: &[Rc<RefCell<hub::TcpStream>>]) {
    let clients: Vec<_> = streams
        .iter()
        .map(|s| {
            let s = s.clone();
            hub::spawn(move || {
                let mut s = s.borrow_mut();
                let mut buf = [7u8; MSG];
                for _ in 0..ROUNDS {
                    s.write_all(&buf).unwrap();
                    s.read_exact(&mut buf).unwrap();
                }
                buf[0]
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 7);
    }
}

type TokioStreams = RefCell<Vec<Option<tokio::net::TcpStream>>>;

/// tokio's echo set-up on `rt`: the same tasks and streams.
fn tokio_echo_setup(rt: &tokio::runtime::Runtime) -> TokioStreams {
    RefCell::new(rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..CLIENTS {
                let (mut conn, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; MSG];
                    while conn.read_exact(&mut buf).await.is_ok() {
                        conn.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let mut streams = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            let s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            streams.push(Some(s));
        }
        streams
    }))
}

/// One iteration of tokio's echo.
fn tokio_echo_iter(rt: &tokio::runtime::Runtime, streams: &TokioStreams) {
    let mut slots = streams.borrow_mut();
    rt.block_on(async {
        let clients: Vec<_> = slots
            .iter_mut()
            .map(|slot| {
                let mut s = slot.take().unwrap();
                tokio::spawn(async move {
                    let mut buf = [7u8; MSG];
                    for _ in 0..ROUNDS {
                        s.write_all(&buf).await.unwrap();
                        s.read_exact(&mut buf).await.unwrap();
                    }
                    (s, buf[0])
                })
            })
            .collect();
        for (slot, c) in slots.iter_mut().zip(clients) {
            let (s, byte) = c.await.unwrap();
            assert_eq!(byte, 7);
            *slot = Some(s);
        }
    })
}

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("hub/echo_1000_clients");
    group.throughput(Throughput::Elements((CLIENTS * ROUNDS) as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));

    // skein: a server task per connection, clients' streams kept between iterations.
    let streams = skein_echo_setup();
    group.bench_function("skein", |b| b.iter(|| skein_echo_iter(&streams)));
    drop(streams); // the server tasks see EOF the next time the hub runs

    // tokio: the same on a current-thread runtime.
    let rt = tokio_rt();
    let streams = tokio_echo_setup(&rt);
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| tokio_echo_iter(&rt, &streams))
    });
    group.finish();
}

/// Interleaved A/B timing of the echo: `SKEIN_HUB_ECHO_AB=<rounds> <bench binary>` sets
/// both up once, then times one iteration of skein and one of tokio in turn, `rounds`
/// times, and prints the medians and the throughput ratio (load changes hit both alike).
/// `SKEIN_HUB_ECHO_ONLY=skein|tokio:<iterations>` runs one side alone (for `strace -c`
/// or `perf stat`).
fn echo_modes() -> bool {
    if let Ok(spec) = std::env::var("SKEIN_HUB_ECHO_ONLY") {
        let (side, n) = spec
            .split_once(':')
            .expect("SKEIN_HUB_ECHO_ONLY=<side>:<n>");
        let n: usize = n.parse().expect("a count");
        if side == "skein" {
            let streams = skein_echo_setup();
            for _ in 0..n {
                skein_echo_iter(&streams);
            }
        } else {
            let rt = tokio_rt();
            let streams = tokio_echo_setup(&rt);
            for _ in 0..n {
                tokio_echo_iter(&rt, &streams);
            }
        }
        return true;
    }
    let Ok(rounds) = std::env::var("SKEIN_HUB_ECHO_AB") else {
        return false;
    };
    let rounds: usize = rounds.parse().expect("SKEIN_HUB_ECHO_AB=<rounds>");
    let streams = skein_echo_setup();
    let rt = tokio_rt();
    let tstreams = tokio_echo_setup(&rt);
    let (mut s, mut t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        skein_echo_iter(&streams);
        s.push(start.elapsed().as_secs_f64() * 1e3);
        let start = std::time::Instant::now();
        tokio_echo_iter(&rt, &tstreams);
        t.push(start.elapsed().as_secs_f64() * 1e3);
    }
    s.sort_by(f64::total_cmp);
    t.sort_by(f64::total_cmp);
    let (ms, mt) = (s[s.len() / 2], t[t.len() / 2]);
    println!(
        "echo {CLIENTS} clients x {ROUNDS} round trips: skein {ms:.2} ms, tokio {mt:.2} ms \
         (medians of {rounds}); skein throughput = {:.2}x tokio",
        mt / ms
    );
    true
}

criterion_group!(benches, spawn_join, sleepers, echo);

fn main() {
    if echo_modes() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
