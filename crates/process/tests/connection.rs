//! `multiprocessing.connection`: Listener/client over Unix sockets and TCP, the
//! mutual authkey handshake (refusal both ways), a bad client costs one connection
//! only, accept timeouts, and `wait()` over connections and process sentinels — the
//! process scenarios under fork, spawn and forkserver.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use skein_process::{
    Address, AuthenticationError, ConnectError, Connection, Listener, StartMethod, Waitable,
    client, client_timeout, wait,
};

#[macro_use]
mod common;

skein_process::test_support!();

const LONG: Duration = Duration::from_secs(60);

matrix!(
    client_in_a_child_process_connects_by_address,
    wrong_key_child_is_refused_and_listener_keeps_serving,
    wait_on_sentinels_and_connections,
);

fn temp_unix() -> (tempfile::TempDir, Address) {
    let dir = tempfile::tempdir().unwrap();
    let a = Address::unix(dir.path().join("l.sock"));
    (dir, a)
}

fn roundtrip(address: &Address) {
    let listener = Listener::bind(address, b"key").unwrap();
    let addr = listener.address().clone();
    let t = std::thread::spawn(move || {
        let c = client(&addr, b"key").unwrap();
        c.send(&(1u32, "ping".to_string())).unwrap();
        c.recv::<u64>().unwrap()
    });
    let conn = listener.accept_timeout(LONG).unwrap();
    let (n, s): (u32, String) = conn.recv().unwrap();
    assert_eq!((n, s.as_str()), (1, "ping"));
    conn.send(&99u64).unwrap();
    assert_eq!(t.join().unwrap(), 99);
}

#[test]
fn unix_socket_roundtrip_and_the_file_goes_with_the_listener() {
    let (_dir, a) = temp_unix();
    roundtrip(&a);
    let Address::Unix(p) = &a else { unreachable!() };
    assert!(
        !p.exists(),
        "the socket file is removed when the listener closes"
    );
}

#[test]
fn unix_socket_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, a) = temp_unix();
    let _l = Listener::bind(&a, b"key").unwrap();
    let Address::Unix(p) = &a else { unreachable!() };
    let mode = std::fs::metadata(p).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn tcp_loopback_roundtrip_with_a_free_port() {
    let l = Listener::bind(&Address::loopback(), b"key").unwrap();
    let Address::Tcp(a) = l.address() else {
        panic!()
    };
    assert_ne!(a.port(), 0);
    drop(l);
    roundtrip(&Address::loopback());
}

#[test]
fn empty_key_is_refused_up_front() {
    assert!(matches!(
        Listener::bind(&Address::loopback(), b""),
        Err(ConnectError::EmptyKey)
    ));
    assert!(matches!(
        client(&Address::loopback(), b""),
        Err(ConnectError::EmptyKey)
    ));
}

#[test]
fn client_with_wrong_key_is_refused_both_sides_see_it() {
    let l = Listener::bind(&Address::loopback(), b"right").unwrap();
    let a = l.address().clone();
    let t = std::thread::spawn(move || client(&a, b"wrong"));
    let server = l.accept_timeout(LONG);
    let c = t.join().unwrap();
    assert!(
        matches!(
            server,
            Err(ConnectError::Auth(AuthenticationError::WrongKey))
        ),
        "{server:?}"
    );
    assert!(
        matches!(c, Err(ConnectError::Auth(AuthenticationError::Refused))),
        "{c:?}"
    );
}

#[test]
fn server_with_wrong_key_is_refused_by_the_client() {
    // An impostor listening where the client expects its server, with another key.
    let (_dir, a) = temp_unix();
    let impostor = Listener::bind(&a, b"impostor").unwrap();
    let a2 = a.clone();
    let t = std::thread::spawn(move || client(&a2, b"the real key"));
    let server = impostor.accept_timeout(LONG);
    let c = t.join().unwrap();
    assert!(c.as_ref().is_err_and(|e| e.is_auth()), "{c:?}");
    assert!(server.as_ref().is_err_and(|e| e.is_auth()), "{server:?}");
}

#[test]
fn garbage_and_silent_clients_cost_one_connection_only() {
    let (_dir, a) = temp_unix();
    let mut l = Listener::bind(&a, b"key").unwrap();
    l.set_handshake_timeout(Duration::from_millis(200));
    let Address::Unix(p) = a.clone() else {
        unreachable!()
    };
    // 1: garbage frame. 2: a frame announcing 4 GiB. 3: truncated frame. 4: silent.
    let mut junk = UnixStream::connect(&p).unwrap();
    junk.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut huge = UnixStream::connect(&p).unwrap();
    huge.write_all(&[b'S', b'K', 1, 0, 0xff, 0xff, 0xff, 0xff])
        .unwrap();
    let mut short = UnixStream::connect(&p).unwrap();
    short
        .write_all(&[b'S', b'K', 1, 0, 40, 0, 0, 0, 1, 2, 3])
        .unwrap();
    drop(short);
    let silent = UnixStream::connect(&p).unwrap();
    for _ in 0..4 {
        let r = l.accept_timeout(LONG);
        assert!(r.as_ref().is_err_and(|e| e.is_auth()), "{r:?}");
    }
    drop((junk, huge, silent));
    // The listener still serves a good client.
    let a2 = a.clone();
    let t = std::thread::spawn(move || client(&a2, b"key").unwrap().send(&7u8).unwrap());
    let c = l.accept_timeout(LONG).unwrap();
    assert_eq!(c.recv::<u8>().unwrap(), 7);
    t.join().unwrap();
}

#[test]
fn accept_timeout_times_out() {
    let l = Listener::bind(&Address::loopback(), b"key").unwrap();
    let start = Instant::now();
    let r = l.accept_timeout(Duration::from_millis(50));
    assert!(matches!(r, Err(ConnectError::Timeout)), "{r:?}");
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn client_to_nobody_is_an_io_error() {
    let (_dir, a) = temp_unix();
    assert!(matches!(client(&a, b"key"), Err(ConnectError::Io(_))));
}

#[test]
fn client_handshake_times_out_against_a_mute_server() {
    // A listening socket that never speaks.
    let (_dir, a) = temp_unix();
    let Address::Unix(p) = &a else { unreachable!() };
    let _mute = std::os::unix::net::UnixListener::bind(p).unwrap();
    let r = client_timeout(&a, b"key", Duration::from_millis(100));
    assert!(r.as_ref().is_err_and(|e| e.is_timeout()), "{r:?}");
}

#[test]
fn wait_times_out_with_nothing_ready_and_sees_a_listener() {
    let (a, _b) = skein_process::pipe(true).unwrap();
    let l = Listener::bind(&Address::loopback(), b"key").unwrap();
    let ready = wait(&[&a as &dyn Waitable, &l], Some(Duration::from_millis(30))).unwrap();
    assert!(ready.is_empty());
    let addr = l.address().clone();
    let t = std::thread::spawn(move || client(&addr, b"key").map(|_| ()));
    let ready = wait(&[&a as &dyn Waitable, &l], Some(LONG)).unwrap();
    assert_eq!(ready, vec![1]);
    drop(l.accept().unwrap());
    t.join().unwrap().unwrap();
}

// ---------------------------------------------------------------- in child processes

fn send_through_client((address, key, n): (Address, Vec<u8>, u32)) {
    let c = client(&address, &key).unwrap();
    c.send(&(n, skein_process::getpid())).unwrap();
    let back: u32 = c.recv().unwrap();
    assert_eq!(back, n * 2);
}

fn client_in_a_child_process_connects_by_address(method: StartMethod) {
    let (_dir, unix) = temp_unix();
    for address in [unix, Address::loopback()] {
        let l = Listener::bind(&address, b"shared key").unwrap();
        let child = common::start(
            method,
            send_through_client,
            (l.address().clone(), b"shared key".to_vec(), 21),
        );
        let c = l.accept_timeout(LONG).unwrap();
        let (n, pid): (u32, i32) = c.recv().unwrap();
        assert_eq!((n, pid), (21, child.pid()));
        c.send(&42u32).unwrap();
        assert_eq!(child.join().unwrap(), 0);
    }
}

fn wrong_key_client((address, key): (Address, Vec<u8>)) {
    match client(&address, &key) {
        Err(ConnectError::Auth(AuthenticationError::Refused)) => std::process::exit(7),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn wrong_key_child_is_refused_and_listener_keeps_serving(method: StartMethod) {
    let l = Listener::bind(&Address::loopback(), b"right").unwrap();
    let child = common::start(
        method,
        wrong_key_client,
        (l.address().clone(), b"wrong".to_vec()),
    );
    let r = l.accept_timeout(LONG);
    assert!(
        matches!(r, Err(ConnectError::Auth(AuthenticationError::WrongKey))),
        "{r:?}"
    );
    assert_eq!(child.join().unwrap(), 7);
    let good = common::start(
        method,
        send_through_client,
        (l.address().clone(), b"right".to_vec(), 5),
    );
    let c = l.accept_timeout(LONG).unwrap();
    assert_eq!(c.recv::<(u32, i32)>().unwrap().0, 5);
    c.send(&10u32).unwrap();
    assert_eq!(good.join().unwrap(), 0);
}

fn hold_until_told(conn: Connection) {
    // Ends when the parent says so (or hangs up).
    let _ = conn.recv::<u8>();
}

fn reply_once(conn: Connection) {
    conn.send(&"from the child").unwrap();
    let _ = conn.recv::<u8>();
}

fn wait_on_sentinels_and_connections(method: StartMethod) {
    let (h1, c1) = skein_process::pipe(true).unwrap();
    let (h2, c2) = skein_process::pipe(true).unwrap();
    let (h3, c3) = skein_process::pipe(true).unwrap();
    let a = common::start(method, hold_until_told, c1);
    let b = common::start(method, hold_until_told, c2);
    let talker = common::start(method, reply_once, c3);
    let (sa, sb) = (a.sentinel().unwrap(), b.sentinel().unwrap());
    // Nothing ends and nobody speaks but the talker: only its connection is ready.
    let objs: [&dyn Waitable; 3] = [&sa, &sb, &h3];
    assert_eq!(wait(&objs, Some(LONG)).unwrap(), vec![2]);
    assert_eq!(h3.recv::<String>().unwrap(), "from the child");
    // Nothing ready now: a timeout returns empty.
    assert!(
        wait(&objs, Some(Duration::from_millis(20)))
            .unwrap()
            .is_empty()
    );
    // End b: its sentinel (and only it, of the sentinels) becomes ready.
    h2.send(&0u8).unwrap();
    assert_eq!(
        wait(&[&sa as &dyn Waitable, &sb], Some(LONG)).unwrap(),
        vec![1]
    );
    assert!(sb.is_ready() && !sa.is_ready());
    assert_eq!(b.join().unwrap(), 0);
    // A sentinel taken after the end is ready at once.
    assert!(b.sentinel().unwrap().is_ready());
    h1.send(&0u8).unwrap();
    assert_eq!(wait(&[&sa as &dyn Waitable], Some(LONG)).unwrap(), vec![0]);
    assert_eq!(a.join().unwrap(), 0);
    h3.send(&0u8).unwrap();
    assert_eq!(talker.join().unwrap(), 0);
}

/// A second listener on an address in use is an error, as Python's `OSError`
/// (`test_multiple_bind`), for a Unix path and a TCP port alike; the first keeps
/// serving (its socket file is not taken over).
#[test]
fn a_second_listener_on_a_bound_address_is_refused() {
    let (_dir, unix) = temp_unix();
    for address in [unix, Address::loopback()] {
        let first = Listener::bind(&address, b"key").unwrap();
        let again = Listener::bind(first.address(), b"key");
        assert!(matches!(again, Err(ConnectError::Io(_))), "{again:?}");
        let addr = first.address().clone();
        let t = std::thread::spawn(move || client(&addr, b"key").unwrap().send(&7u8));
        let conn = first.accept_timeout(LONG).unwrap();
        assert_eq!(conn.recv::<u8>().unwrap(), 7);
        t.join().unwrap().unwrap();
    }
}

/// A client may connect and send before the listener gets round to `accept`
/// (Python's `test_issue14725`), and a message from the accepted side is seen by the
/// client's `poll` (`test_issue16955`).
#[test]
fn a_client_that_connects_before_accept_is_served() {
    let (_dir, address) = temp_unix();
    let listener = Listener::bind(&address, b"key").unwrap();
    let addr = listener.address().clone();
    let (connected_tx, connected_rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let c = client(&addr, b"key").unwrap();
        c.send(&"hello".to_string()).unwrap();
        connected_tx.send(()).unwrap();
        assert!(c.poll_timeout(LONG).unwrap());
        c.recv_bytes().unwrap()
    });
    // The client is blocked in its handshake until `accept`; accept a little later.
    assert!(
        connected_rx
            .recv_timeout(Duration::from_millis(500))
            .is_err()
    );
    let conn = listener.accept_timeout(LONG).unwrap();
    assert_eq!(conn.recv::<String>().unwrap(), "hello");
    connected_rx.recv_timeout(LONG).unwrap();
    conn.send_bytes(b"hi").unwrap();
    assert_eq!(t.join().unwrap(), b"hi");
}
