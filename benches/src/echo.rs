//! The workload of `hub/echo_1000_clients`, shared by the criterion group (benches/hub.rs)
//! and the interleaved A/B runner `examples/echo_ab.rs` so the two time the same thing.
//!
//! [`CLIENTS`] connections on loopback, each with its own server task that echoes
//! [`MSG`]-byte messages (`read_exact` then `write_all`); one run spawns a task per client
//! that does [`ROUNDS`] round trips and joins them all. Both sides are set up once
//! (listener, accepts, connects, `TCP_NODELAY` on the clients' ends) and reused by every
//! run: the set-up is timed for neither. Both run on the calling thread — the hub on it,
//! tokio as a current-thread runtime — with the same buffers and socket options.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;

use skein_coroutine::hub;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Client connections (each with its server task).
pub const CLIENTS: usize = 1_000;
/// Round trips per client per run.
pub const ROUNDS: usize = 10;
/// Bytes per message.
pub const MSG: usize = 32;

/// skein's side: the clients' streams; the listener and server tasks live in this
/// thread's hub.
#[derive(Debug)]
pub struct SkeinEcho {
    streams: Vec<Rc<RefCell<hub::TcpStream>>>,
}

impl SkeinEcho {
    /// Binds a listener, spawns the acceptor (a server task per connection) and
    /// connects [`CLIENTS`] clients.
    pub fn new() -> Self {
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
        let streams: Vec<_> = connect
            .into_iter()
            .map(|t| Rc::new(RefCell::new(t.join().unwrap())))
            .collect();
        for s in &streams {
            s.borrow().set_nodelay(true).unwrap();
        }
        SkeinEcho { streams }
    }

    /// One run: every client does [`ROUNDS`] round trips in its own green task.
    pub fn run(&self) {
        let clients: Vec<_> = self
            .streams
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
}

impl Default for SkeinEcho {
    fn default() -> Self {
        Self::new()
    }
}

/// tokio's side: a current-thread runtime with the same tasks and streams.
#[derive(Debug)]
pub struct TokioEcho {
    rt: tokio::runtime::Runtime,
    streams: RefCell<Vec<Option<tokio::net::TcpStream>>>,
}

impl TokioEcho {
    /// Builds the runtime, binds, spawns the acceptor and connects [`CLIENTS`] clients.
    pub fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let streams = rt.block_on(async {
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
        });
        TokioEcho {
            rt,
            streams: RefCell::new(streams),
        }
    }

    /// One run: every client does [`ROUNDS`] round trips in its own tokio task.
    pub fn run(&self) {
        let mut slots = self.streams.borrow_mut();
        self.rt.block_on(async {
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
}

impl Default for TokioEcho {
    fn default() -> Self {
        Self::new()
    }
}

/// CPU time the calling thread has used so far, in milliseconds (Linux's
/// `/proc/thread-self/schedstat`; `None` elsewhere).
pub fn thread_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e6)
}
