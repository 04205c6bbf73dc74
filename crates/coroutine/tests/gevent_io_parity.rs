//! Cooperative TCP against the behaviours gevent's socket tests (`test__socket`,
//! `test__socket_close`, `test__socket_errors`, `test__socket_dns`, `test__server`,
//! the echo-server and port-forwarder examples) and CPython's `test_socket` check: what
//! a green stream must share with a blocking one.
//!
//! Scenarios that could hang run on a thread of their own (a hub of its own) under a
//! watchdog. Orderings are forced with gates; "the task is parked" is established by
//! the hub's own rule (a ready task runs when the main context yields and stays
//! parked until its socket is ready), never by sleeping.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

mod common;

use common::bounded;
use skein_coroutine::hub::{self, TcpListener, TcpStream};

/// A connected pair on loopback: (client, server side).
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = hub::spawn(move || listener.accept().unwrap().0);
    let client = TcpStream::connect(addr).unwrap();
    (client, accept.join().unwrap())
}

fn unused_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

// ---- a socket shut down by another task while one is parked on it ----

#[test]
fn shutdown_by_another_task_wakes_a_parked_reader() {
    // test__socket_close.test_recv_closed: the waiting receiver must wake, not hang.
    // (A stream cannot be closed while a task borrows it; `shutdown` is how another
    // task ends it.)
    let (n, after) = bounded("reader parked while another task shuts the stream", || {
        let (_client, server) = pair();
        let server = Rc::new(server);
        let s = server.clone();
        let reader = hub::spawn(move || {
            let mut b = [0u8; 25];
            (&*s).read(&mut b).map_err(|e| e.kind())
        });
        hub::sleep(Duration::ZERO); // the reader parks on the empty socket
        assert!(!reader.is_finished());
        let s = server.clone();
        hub::spawn(move || s.shutdown(Shutdown::Both).unwrap())
            .join()
            .unwrap();
        let n = reader.join().unwrap();
        let mut b = [0u8; 4];
        (n, (&*server).read(&mut b).map_err(|e| e.kind()))
    });
    assert_eq!(n, Ok(0), "a shut-down stream reads as its end");
    assert_eq!(after, Ok(0));
}

#[test]
fn shutdown_read_by_another_task_wakes_a_parked_reader() {
    let n = bounded(
        "reader parked while another task shuts the read half",
        || {
            let (_client, server) = pair();
            let server = Rc::new(server);
            let s = server.clone();
            let reader = hub::spawn(move || {
                let mut b = [0u8; 4096];
                (&*s).read(&mut b).map_err(|e| e.kind())
            });
            hub::sleep(Duration::ZERO);
            assert!(!reader.is_finished());
            server.shutdown(Shutdown::Read).unwrap();
            reader.join().unwrap()
        },
    );
    assert_eq!(n, Ok(0));
}

#[test]
fn shutdown_by_another_task_wakes_a_parked_writer_with_an_error() {
    let r = bounded(
        "writer parked on a full buffer while the stream is shut",
        || {
            let (_client, server) = pair(); // the client never reads
            let server = Rc::new(server);
            let s = server.clone();
            let writer = hub::spawn(move || {
                let big = vec![7u8; 64 << 20];
                (&*s).write_all(&big).map_err(|e| e.kind())
            });
            // 64 MiB cannot fit in the loopback buffers: once this returns the writer is
            // parked on a full send buffer (or woken, and will find the stream shut).
            assert!(!writer.wait_timeout(Duration::from_millis(50)));
            server.shutdown(Shutdown::Write).unwrap();
            writer.join().unwrap()
        },
    );
    let kind = r.unwrap_err();
    assert_eq!(kind, io::ErrorKind::BrokenPipe);
}

// ---- CPython test_socket: the TCP basics ----

#[test]
fn connect_refused_is_an_error_naming_it() {
    // test__socket_errors.test_connection_refused, TestCreateConnection.test_refuses.
    let addr = unused_addr();
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert!(err.to_string().to_lowercase().contains("refused"), "{err}");
    let err = TcpStream::connect_timeout(&addr, Duration::from_secs(30)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // From inside a task too.
    let t = hub::spawn(move || TcpStream::connect(addr).map(|_| ()).map_err(|e| e.kind()));
    assert_eq!(t.join().unwrap(), Err(io::ErrorKind::ConnectionRefused));
}

#[test]
fn a_name_is_resolved_and_a_bad_address_is_a_typed_error() {
    // test__socket_dns, where skein resolves names: `ToSocketAddrs`.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = hub::spawn(move || listener.accept().map(|(_, a)| a.ip()));
    // "localhost" may resolve to ::1 first: every address is tried.
    let s = TcpStream::connect(("localhost", port)).unwrap();
    assert_eq!(
        accept.join().unwrap().unwrap(),
        s.local_addr().unwrap().ip()
    );
    let err = TcpStream::connect("not an address").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = TcpListener::bind("127.0.0.1:99999").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn empty_reads_and_writes_and_the_end_of_the_stream() {
    // recv(0) is b'' at once; sendall(b'') sends nothing; recv at EOF is b'' each time.
    let (mut client, mut server) = pair();
    let mut nothing = [0u8; 0];
    assert_eq!(client.read(&mut nothing).unwrap(), 0);
    client.write_all(b"").unwrap();
    assert_eq!(client.write(b"").unwrap(), 0);
    client.flush().unwrap();
    // With a timeout too; and a zero timeout still makes the attempt (a non-blocking
    // socket's sendall sends what fits at once).
    client.set_write_timeout(Some(Duration::from_secs(10)));
    client.write_all(b"").unwrap();
    client.set_write_timeout(Some(Duration::ZERO));
    client.write_all(b"hi\n").unwrap();
    drop(client);
    let mut hi = [0u8; 3];
    server.read_exact(&mut hi).unwrap();
    assert_eq!(&hi, b"hi\n");
    let mut buf = [0u8; 16];
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    assert_eq!(server.read(&mut buf).unwrap(), 0);
    let mut big = vec![0u8; 8192];
    assert_eq!(server.read(&mut big).unwrap(), 0);
}

#[test]
fn half_close_the_peer_reads_the_end_and_can_still_reply() {
    // shutdown(SHUT_WR): the other side sees EOF but may answer on its own half.
    let (client, server) = pair();
    let echo = hub::spawn(move || {
        let mut server = server;
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        server.write_all(&got).unwrap();
        server.write_all(b"|done").unwrap();
    });
    let mut client = client;
    client.write_all(b"request").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let mut reply = String::new();
    client.read_to_string(&mut reply).unwrap();
    assert_eq!(reply, "request|done");
    echo.join().unwrap();
    // Writing after our own SHUT_WR is an error, not a hang.
    let err = client.write_all(b"more").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn sendall_of_a_large_buffer_while_the_peer_reads_slowly() {
    // test__socket.test_sendall_*: every byte arrives, in order, through a full buffer.
    const LEN: usize = 8 << 20;
    let data: Rc<Vec<u8>> = Rc::new((0..LEN).map(|i| (i * 7 % 251) as u8).collect());
    let (client, server) = pair();
    let d = data.clone();
    let sender = hub::spawn(move || {
        let mut client = client;
        client.write_all(&d).unwrap();
        // Closing delivers the end of the stream after the data.
    });
    let mut server = server;
    let mut got = Vec::with_capacity(LEN);
    let mut chunk = [0u8; 700];
    loop {
        let n = server.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n]);
        hub::sleep(Duration::ZERO); // slow reader: let the sender run between reads
    }
    sender.join().unwrap();
    assert_eq!(got.len(), LEN);
    assert!(got == *data, "bytes lost or reordered");
}

#[test]
fn full_duplex_a_task_reads_while_another_writes_the_same_stream() {
    // test__socket.test_fullduplex: a reader parked on a stream must not stop a writer
    // on it, and neither hangs.
    const N: usize = 1 << 20;
    let (client, server) = pair();
    let server = Rc::new(server);
    let s = server.clone();
    let sender = hub::spawn(move || (&*s).write_all(&vec![b't'; N]).unwrap());
    let s = server.clone();
    let receiver = hub::spawn(move || {
        let mut b = [0u8; 11];
        (&*s).read_exact(&mut b).unwrap();
        b
    });
    let client = Rc::new(client);
    let c = client.clone();
    let client_reader = hub::spawn(move || {
        let mut all = Vec::new();
        (&*c).take(N as u64).read_to_end(&mut all).unwrap();
        all.len()
    });
    hub::sleep(Duration::ZERO);
    (&*client).write_all(b"hello world").unwrap();
    assert_eq!(&receiver.join().unwrap(), b"hello world");
    sender.join().unwrap();
    assert_eq!(client_reader.join().unwrap(), N);
}

#[test]
fn a_read_timeout_raises_and_leaves_the_stream_usable() {
    // test__socket.test_recv_timeout, CPython's timeout tests.
    let (client, mut server) = pair();
    client.set_read_timeout(Some(Duration::from_millis(10)));
    let mut buf = [0u8; 1024];
    let err = (&client).read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("timed out"), "{err}");
    // Still usable: data sent afterwards is read, whole.
    server.write_all(b"after").unwrap();
    client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut five = [0u8; 5];
    (&client).read_exact(&mut five).unwrap();
    assert_eq!(&five, b"after");
    // A zero timeout fails at once instead of waiting.
    client.set_read_timeout(Some(Duration::ZERO));
    assert_eq!(
        (&client).read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    // Back to no timeout: a blocking read waits for the data.
    client.set_read_timeout(None);
    let w = hub::spawn(move || server.write_all(b"x").unwrap());
    assert_eq!((&client).read(&mut buf).unwrap(), 1);
    w.join().unwrap();
}

#[test]
fn a_write_timeout_raises_on_a_full_buffer_and_the_stream_recovers() {
    // test__socket.test_sendall_timeout: sendall to a peer that does not read.
    let (client, server) = pair();
    client.set_write_timeout(Some(Duration::from_millis(20)));
    let big = vec![1u8; 64 << 20];
    let err = (&client).write_all(&big).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    // Whatever went out before the timeout is readable; then the stream still works.
    client.set_write_timeout(None);
    let drain = hub::spawn(move || {
        let mut server = server;
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = server.read(&mut buf).unwrap();
            if n == 0 {
                return (total, buf[..0].to_vec());
            }
            total += n;
            if buf[..n].ends_with(b"END") {
                return (total, b"END".to_vec());
            }
        }
    });
    (&client).write_all(b"END").unwrap();
    let (total, tail) = drain.join().unwrap();
    assert!(total > 3);
    assert_eq!(tail, b"END");
}

#[test]
fn accept_timeout_of_zero_fails_at_once_and_the_listener_still_accepts() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let err = listener.accept_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    let addr = listener.local_addr().unwrap();
    let c = hub::spawn(move || TcpStream::connect(addr).unwrap().local_addr().unwrap());
    let (_conn, peer) = listener.accept_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(peer, c.join().unwrap());
}

#[test]
fn addresses_agree_on_both_ends_and_nodelay_reads_back() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    let accept = hub::spawn(move || listener.accept().unwrap());
    let client = TcpStream::connect(addr).unwrap();
    let (server, seen) = accept.join().unwrap();
    assert_eq!(client.peer_addr().unwrap(), addr);
    assert_eq!(server.local_addr().unwrap(), addr);
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    assert_eq!(seen, client.local_addr().unwrap());
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    client.set_nodelay(false).unwrap();
    assert!(!client.nodelay().unwrap());
    let shown = format!("{client:?}");
    assert!(shown.contains(&addr.to_string()), "{shown}");
}

#[test]
fn a_buffered_reader_reads_lines_and_its_timeout_raises() {
    // test__socket.test_makefile / test_makefile_timeout: `makefile('rb').readline()`.
    let (client, server) = pair();
    let w = hub::spawn(move || {
        let mut server = server;
        server.write_all(b"hello\nwor").unwrap();
        hub::sleep(Duration::ZERO);
        server.write_all(b"ld\n").unwrap();
    });
    let mut lines = BufReader::new(&client);
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert_eq!(line, "hello\n");
    line.clear();
    lines.read_line(&mut line).unwrap();
    assert_eq!(line, "world\n");
    w.join().unwrap();
    line.clear();
    assert_eq!(lines.read_line(&mut line).unwrap(), 0, "end of the stream");

    let (client, _server) = pair();
    client.set_read_timeout(Some(Duration::from_millis(10)));
    let err = BufReader::new(&client).read_line(&mut line).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
}

// ---- test__server: an accept loop, and a server stopped with clients connected ----

#[test]
fn a_server_stopped_with_clients_connected_ends_them_and_frees_its_port() {
    let (outcomes, refused) = bounded("server stop with live clients", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handlers: Rc<std::cell::RefCell<Vec<hub::JoinHandle<()>>>> = Rc::default();
        let h = handlers.clone();
        let acceptor = hub::Builder::new().name("acceptor").spawn(move || {
            loop {
                let (mut conn, _) = listener.accept().unwrap();
                h.borrow_mut().push(hub::spawn(move || {
                    let mut b = [0u8; 64];
                    // Echo until the client goes away.
                    while let Ok(n @ 1..) = conn.read(&mut b) {
                        conn.write_all(&b[..n]).unwrap();
                    }
                }));
            }
        });
        let clients: Vec<TcpStream> = (0..5)
            .map(|i| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(&[i]).unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).unwrap();
                assert_eq!(b[0], i);
                c
            })
            .collect();
        assert_eq!(handlers.borrow().len(), 5);
        // stop(): the acceptor first (the listening socket closes with it), then every
        // handler.
        acceptor.kill();
        hub::killall(&handlers.borrow());
        assert!(handlers.borrow().iter().all(|h| h.is_finished()));
        let outcomes: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                c.set_read_timeout(Some(Duration::from_secs(10)));
                let mut b = [0u8; 1];
                match c.read(&mut b) {
                    Ok(n) => Ok(n),
                    Err(e) => Err(e.kind()),
                }
            })
            .collect();
        let refused = TcpStream::connect(addr).map(|_| ()).map_err(|e| e.kind());
        (outcomes, refused)
    });
    for o in outcomes {
        assert!(
            matches!(o, Ok(0) | Err(io::ErrorKind::ConnectionReset)),
            "a client of a stopped server must see its connection end: {o:?}"
        );
    }
    assert_eq!(refused, Err(io::ErrorKind::ConnectionRefused));
}

#[test]
fn a_port_forwarder_relays_both_ways_and_passes_the_end_on() {
    // test__example_portforwarder: accept, connect onwards, two pumps per connection.
    fn pump(from: Rc<TcpStream>, to: Rc<TcpStream>) -> hub::JoinHandle<usize> {
        hub::spawn(move || {
            let mut total = 0;
            let mut b = [0u8; 4096];
            loop {
                match (&*from).read(&mut b) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if (&*to).write_all(&b[..n]).is_err() {
                            break;
                        }
                        total += n;
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Write);
            total
        })
    }
    let log = bounded("port forwarder", || {
        let backend = TcpListener::bind("127.0.0.1:0").unwrap();
        let backend_addr = backend.local_addr().unwrap();
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let front_addr = front.local_addr().unwrap();
        let server = hub::spawn(move || {
            let (mut c, _) = backend.accept().unwrap();
            let mut got = Vec::new();
            let mut b = [0u8; 1024];
            loop {
                let n = c.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&b[..n]);
                c.write_all(b"ok").unwrap();
            }
            got
        });
        let forwarder = hub::spawn(move || {
            let (inbound, _) = front.accept().unwrap();
            let outbound = TcpStream::connect(backend_addr).unwrap();
            let (i, o) = (Rc::new(inbound), Rc::new(outbound));
            let up = pump(i.clone(), o.clone());
            let down = pump(o, i);
            (up.join().unwrap(), down.join().unwrap())
        });
        let mut conn = TcpStream::connect(front_addr).unwrap();
        let mut ack = [0u8; 2];
        conn.write_all(b"msg1").unwrap();
        conn.read_exact(&mut ack).unwrap();
        conn.write_all(b"msg2").unwrap();
        conn.read_exact(&mut ack).unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
        let (up, down) = forwarder.join().unwrap();
        assert_eq!((up, down), (8, 4));
        server.join().unwrap()
    });
    assert_eq!(log, b"msg1msg2");
}

/// Connections that arrive before anyone accepts wait in the listen backlog: a burst
/// of 300 is accepted at once (mio listens with a backlog of 128; past it the kernel
/// drops the handshake's last step and retries it a second or more later).
#[test]
fn many_connections_wait_in_the_backlog_and_are_accepted_at_once() {
    const N: usize = 300;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Nobody accepts yet: on loopback each handshake completes inside `connect`.
    let clients: Vec<TcpStream> = (0..N).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut conns = Vec::new();
    while let Ok((c, _)) = listener.accept_timeout(Duration::ZERO) {
        conns.push(c);
    }
    assert_eq!(
        conns.len(),
        N,
        "connections past the listen backlog were held back"
    );
    // Every connection is open at once; answer each with its index.
    for (i, c) in conns.iter_mut().enumerate() {
        c.write_all(&(i as u32).to_le_bytes()).unwrap();
    }
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut s| {
            hub::spawn(move || {
                let mut b = [0u8; 4];
                s.read_exact(&mut b).unwrap();
                u32::from_le_bytes(b)
            })
        })
        .collect();
    let mut got: Vec<u32> = readers.into_iter().map(|c| c.join().unwrap()).collect();
    got.sort_unstable();
    assert_eq!(got, (0..N as u32).collect::<Vec<_>>());
}
