//! An echo server on loopback with 1,000 green clients, all on one thread.
//! Seed: 001 (协程 — "在网络里面IO一般会使用比较长的时间, 可以使用gevent库实现自动切换")
//! Time bound: 60 s
//!
//! The notes: network IO is mostly waiting, and gevent switches to another greenlet
//! whenever one would wait. `hub::TcpListener`/`hub::TcpStream` are that, without
//! patching: the sockets are non-blocking and registered with the hub's poller (epoll);
//! a read that would block parks the task until the socket is readable.
//!
//! One acceptor task spawns a handler task per connection; 1,000 client tasks each send
//! ten messages and check the echo. Two thousand sockets, one OS thread.

use std::io::{Read, Write};
use std::time::Instant;

use skein_coroutine::hub::{self, TcpListener, TcpStream};

const CLIENTS: usize = 1_000;
const ROUNDS: usize = 10;

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    println!("== echo server on {addr}, {CLIENTS} green clients x {ROUNDS} round trips ==");
    let start = Instant::now();

    let server = hub::Builder::new().name("acceptor").spawn(move || {
        let mut handlers = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            let (mut conn, _) = listener.accept().expect("accept");
            handlers.push(hub::spawn(move || {
                let mut buf = [0u8; 256];
                let mut echoed = 0;
                loop {
                    match conn.read(&mut buf).expect("server read") {
                        0 => return echoed,
                        n => {
                            conn.write_all(&buf[..n]).expect("server write");
                            echoed += n;
                        }
                    }
                }
            }));
        }
        handlers
            .into_iter()
            .map(|h| h.join().expect("handler"))
            .sum::<usize>()
    });

    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            hub::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connect");
                for r in 0..ROUNDS {
                    let msg = format!("client {c:>4} says hello #{r}");
                    stream.write_all(msg.as_bytes()).expect("client write");
                    let mut back = vec![0u8; msg.len()];
                    stream.read_exact(&mut back).expect("client read");
                    assert_eq!(back, msg.as_bytes(), "echo mismatch");
                }
                ROUNDS
            })
        })
        .collect();

    let trips: usize = clients.into_iter().map(|c| c.join().expect("client")).sum();
    let bytes = server.join().expect("server");
    let took = start.elapsed();
    println!(
        "{trips} round trips ({bytes} bytes echoed) in {:.3} s: {:.0} round trips/s on one thread",
        took.as_secs_f64(),
        trips as f64 / took.as_secs_f64()
    );
    assert_eq!(trips, CLIENTS * ROUNDS);
}
