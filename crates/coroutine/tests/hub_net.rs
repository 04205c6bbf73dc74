//! Cooperative TCP: an echo server with many green clients, timeouts, errors.

use std::io::{self, Read, Write};
use std::time::Duration;

use skein_coroutine::hub::{self, TcpListener, TcpStream};

const CLIENTS: usize = 500;
const ROUNDS: usize = 5;

fn echo_server(listener: TcpListener, connections: usize) -> hub::JoinHandle<()> {
    hub::Builder::new().name("acceptor").spawn(move || {
        let mut handlers = Vec::new();
        for _ in 0..connections {
            let (mut conn, _) = listener.accept().expect("accept");
            handlers.push(hub::spawn(move || {
                let mut buf = [0u8; 64];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => conn.write_all(&buf[..n]).expect("echo"),
                        Err(e) => panic!("server read: {e}"),
                    }
                }
            }));
        }
        for h in handlers {
            h.join().expect("handler");
        }
    })
}

#[test]
fn echo_with_many_green_clients() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = echo_server(listener, CLIENTS);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            hub::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                for r in 0..ROUNDS {
                    let msg = format!("client {c} round {r}");
                    s.write_all(msg.as_bytes()).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
                ROUNDS
            })
        })
        .collect();
    let total: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(total, CLIENTS * ROUNDS);
    server.join().unwrap();
}

#[test]
fn accept_and_read_time_out_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = listener
        .accept_timeout(Duration::from_millis(10))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let addr = listener.local_addr().unwrap();
    let client = hub::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(10)));
        let mut buf = [0u8; 4];
        s.read(&mut buf).unwrap_err().kind()
    });
    let (_conn, _) = listener.accept().unwrap();
    assert_eq!(client.join().unwrap(), io::ErrorKind::TimedOut);
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn a_green_sleep_and_a_socket_wait_share_the_hub() {
    // One task waits on a socket, another sleeps and then writes: the sleeper's timer
    // must fire while the hub polls the socket.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = hub::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = String::new();
        conn.read_to_string(&mut buf).unwrap();
        buf
    });
    let writer = hub::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        hub::sleep(Duration::from_millis(10));
        s.write_all(b"late hello").unwrap();
    });
    writer.join().unwrap();
    assert_eq!(reader.join().unwrap(), "late hello");
}

#[test]
fn killing_a_task_blocked_in_accept() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let t = hub::spawn(move || listener.accept().map(|_| ()));
    hub::sleep(Duration::ZERO);
    t.kill();
    assert!(t.join().unwrap_err().is_killed());
}

/// Small reads go through the stream's receive buffer and, once a read showed the
/// socket drained, park without a syscall: bytes must still arrive whole and in order
/// (coalesced writes split over many small reads, small and large reads mixed), and the
/// end of the stream must read as 0 every time, not park forever.
#[test]
fn small_reads_after_a_drained_socket_keep_order_and_see_eof() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (gate_tx, gate_rx) = (hub::Event::new(), hub::Event::new());
    let (to_reader, from_writer) = (gate_tx.clone(), gate_rx.clone());
    let writer = hub::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // Three writes before the reader reads: coalesced in the receive queue.
        for chunk in [&b"abc"[..], b"defgh", b"ij"] {
            conn.write_all(chunk).unwrap();
        }
        to_reader.set();
        // Wait until the reader drained the socket, then send more: only the readable
        // event can wake the parked reader now.
        from_writer.wait();
        let big: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        conn.write_all(&big).unwrap();
        conn.write_all(b"tail").unwrap();
        // Dropping `conn` closes it: the reader sees the end of the stream.
    });
    let mut s = TcpStream::connect(addr).unwrap();
    // On loopback the three writes are in the receive queue once the writer set the
    // gate; the test holds however they are split.
    gate_tx.wait();
    let mut got = Vec::new();
    while got.len() < 10 {
        let mut one = [0u8; 1];
        assert_eq!(s.read(&mut one).unwrap(), 1);
        got.push(one[0]);
    }
    assert_eq!(got, b"abcdefghij");
    gate_rx.set();
    // A large read (direct) and small reads (buffered) interleaved over the rest.
    let mut rest = Vec::new();
    let mut small = [0u8; 7];
    let mut large = vec![0u8; 3000];
    let mut turn = 0;
    loop {
        let n = if turn % 2 == 0 {
            s.read(&mut small).unwrap()
        } else {
            s.read(&mut large).unwrap()
        };
        if n == 0 {
            break;
        }
        rest.extend_from_slice(if turn % 2 == 0 {
            &small[..n]
        } else {
            &large[..n]
        });
        turn += 1;
    }
    let mut want: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    want.extend_from_slice(b"tail");
    assert_eq!(rest.len(), want.len());
    assert!(rest == want, "bytes out of order");
    // The end of the stream stays readable: 0 again, at once.
    assert_eq!(s.read(&mut small).unwrap(), 0);
    assert_eq!(s.read(&mut large).unwrap(), 0);
    writer.join().unwrap();
}

#[test]
fn tasks_parked_reading_one_socket_wake_in_order_past_a_stale_waiter() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = hub::spawn(move || listener.accept().unwrap().0);
    let mut client = TcpStream::connect(addr).unwrap();
    let server = std::rc::Rc::new(accept.join().unwrap());
    // A reader that gives up first: its wait stays on the socket's list, stale, ahead
    // of the others (the first waiter is kept inline, the rest in a list).
    let quitter = {
        let s = server.clone();
        hub::spawn(move || {
            s.set_read_timeout(Some(Duration::from_millis(20)));
            let mut b = [0u8; 1];
            let r = (&*s).read(&mut b).map_err(|e| e.kind());
            s.set_read_timeout(None);
            r
        })
    };
    assert_eq!(quitter.join().unwrap(), Err(io::ErrorKind::TimedOut));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let s = server.clone();
            hub::spawn(move || {
                let mut b = [0u8; 1];
                assert_eq!((&*s).read(&mut b).unwrap(), 1);
                b[0]
            })
        })
        .collect();
    // All three run and park on the empty socket before the main context goes on.
    hub::sleep(Duration::ZERO);
    client.write_all(b"xyz").unwrap();
    let got: Vec<u8> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(got, b"xyz", "readers woken out of the order they parked in");
}
