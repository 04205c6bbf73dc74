//! The Manager: proxies in the parent, in children (given as arguments) and in
//! unrelated processes (address + authkey); every update counted under concurrency;
//! authkey refusal; bad frames cost one connection only; pipelining; clean shutdown
//! on drop and when the owner is SIGKILLed — the process scenarios under fork, spawn
//! and forkserver (the server itself started with the same method).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use skein_process::{
    Address, Connection, DictProxy, EventProxy, ListProxy, LockProxy, Manager, ManagerClient,
    ManagerError, NamespaceProxy, QueueProxy, StartMethod, ValueProxy, client,
};

#[macro_use]
mod common;

skein_process::test_support!();

const LONG: Duration = Duration::from_secs(60);

matrix!(
    every_kind_of_proxy_reaches_children,
    concurrent_updates_from_many_processes_are_all_counted,
    unrelated_process_connects_by_address_and_key,
    wrong_key_is_refused_and_the_manager_keeps_serving,
    bad_frames_cost_one_connection_only,
    drop_shuts_the_server_down_and_leaves_nothing,
    owner_sigkilled_server_exits_and_leaves_nothing,
    blocked_queue_get_in_a_child_is_woken_by_a_put,
    a_lock_excludes_across_processes_and_an_event_wakes_them,
    a_lock_whose_holder_died_passes_on_with_owner_died,
);

fn manager(method: StartMethod) -> Manager {
    Manager::builder()
        .start_method(method)
        .start()
        .expect("manager")
}

fn socket_path(m: &Manager) -> PathBuf {
    match m.address() {
        Address::Unix(p) => p.clone(),
        other => panic!("expected a Unix socket, got {other}"),
    }
}

/// Whether `pid` is gone (or a zombie nobody reaped yet: it runs nothing, holds nothing).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

// ---------------------------------------------------------------- targets

type Objects = (
    DictProxy<String, u32>,
    ListProxy<String>,
    ValueProxy<i64>,
    NamespaceProxy,
    QueueProxy<(u32, String)>,
);

fn use_every_kind(((d, l, v, ns, q), n): (Objects, u32)) {
    d.set(&format!("child{n}"), &(n * 10)).unwrap();
    l.push(&format!("from {n}")).unwrap();
    v.update(|x| x + i64::from(n)).unwrap();
    ns.set(&format!("seen{n}"), &true).unwrap();
    q.put((n, "done".into())).unwrap();
}

fn every_kind_of_proxy_reaches_children(method: StartMethod) {
    let m = manager(method);
    let objs: Objects = (
        m.dict().unwrap(),
        m.list().unwrap(),
        m.value(100).unwrap(),
        m.namespace().unwrap(),
        m.queue().unwrap(),
    );
    let (d, l, v, ns, q) = objs.clone();
    let kids: Vec<_> = (1..=3)
        .map(|n| common::start(method, use_every_kind, (objs.clone(), n)))
        .collect();
    let mut done: Vec<u32> = (0..3).map(|_| q.get_timeout(LONG).unwrap().0).collect();
    done.sort();
    assert_eq!(done, vec![1, 2, 3]);
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert_eq!(d.get(&"child2".into()).unwrap(), Some(20));
    assert_eq!(d.len().unwrap(), 3);
    let mut items = l.to_vec().unwrap();
    items.sort();
    assert_eq!(items, vec!["from 1", "from 2", "from 3"]);
    assert_eq!(v.get().unwrap(), 106);
    let mut names = ns.names().unwrap();
    names.sort();
    assert_eq!(names, vec!["seen1", "seen2", "seen3"]);
    assert!(q.is_empty().unwrap());
}

const PROCS: u32 = 4;
const UPDATES: u32 = 150;

fn hammer(
    (d, v, ns, l, me): (
        DictProxy<String, u64>,
        ValueProxy<u64>,
        NamespaceProxy,
        ListProxy<u32>,
        u32,
    ),
) {
    for i in 0..UPDATES {
        d.update(&"shared".into(), |c| c.unwrap_or(0) + 1).unwrap();
        d.update(&format!("p{me}"), |c| c.unwrap_or(0) + 1).unwrap();
        v.update(|c| c + 1).unwrap();
        ns.update("count", |c: Option<u64>| c.unwrap_or(0) + 1)
            .unwrap();
        l.push(&(me * 1000 + i)).unwrap();
    }
}

fn concurrent_updates_from_many_processes_are_all_counted(method: StartMethod) {
    let m = manager(method);
    let d = m.dict::<String, u64>().unwrap();
    let v = m.value(0u64).unwrap();
    let ns = m.namespace().unwrap();
    let l = m.list::<u32>().unwrap();
    let kids: Vec<_> = (0..PROCS)
        .map(|me| {
            common::start(
                method,
                hammer,
                (d.clone(), v.clone(), ns.clone(), l.clone(), me),
            )
        })
        .collect();
    // The parent's own threads join in, sharing one connection (pipelined).
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let v = v.clone();
            std::thread::spawn(move || {
                for _ in 0..UPDATES {
                    v.update(|c| c + 1).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    let total = u64::from(PROCS * UPDATES);
    assert_eq!(d.get(&"shared".into()).unwrap(), Some(total));
    for me in 0..PROCS {
        assert_eq!(d.get(&format!("p{me}")).unwrap(), Some(u64::from(UPDATES)));
    }
    assert_eq!(v.get().unwrap(), total + 2 * u64::from(UPDATES));
    assert_eq!(ns.get::<u64>("count").unwrap(), Some(total));
    let mut pushed = l.to_vec().unwrap();
    assert_eq!(pushed.len() as u64, total);
    pushed.sort();
    pushed.dedup();
    assert_eq!(pushed.len() as u64, total, "every push once");
}

fn by_address((address, key): (String, Vec<u8>)) {
    let address: Address = address.parse().unwrap();
    let c = ManagerClient::connect(&address, &key).unwrap();
    let d = c.dict_named::<String, u32>("shared").unwrap();
    d.update(&"visits".into(), |n| n.unwrap_or(0) + 1).unwrap();
    let q = c.queue_named::<String>("inbox", 0).unwrap();
    q.put(format!("hello from {}", skein_process::getpid()))
        .unwrap();
}

fn unrelated_process_connects_by_address_and_key(method: StartMethod) {
    let m = manager(method);
    let d = m.dict_named::<String, u32>("shared").unwrap();
    let q = m.queue_named::<String>("inbox", 0).unwrap();
    let k1 = common::start(
        method,
        by_address,
        (m.address().to_string(), m.authkey().to_vec()),
    );
    let k2 = common::start(
        method,
        by_address,
        (m.address().to_string(), m.authkey().to_vec()),
    );
    let mut msgs = vec![q.get_timeout(LONG).unwrap(), q.get_timeout(LONG).unwrap()];
    msgs.sort();
    let mut want = vec![
        format!("hello from {}", k1.pid()),
        format!("hello from {}", k2.pid()),
    ];
    want.sort();
    assert_eq!(msgs, want);
    assert_eq!(k1.join().unwrap(), 0);
    assert_eq!(k2.join().unwrap(), 0);
    assert_eq!(d.get(&"visits".into()).unwrap(), Some(2));
    // A named object asked for with other types is refused, not misread.
    let e = m.dict_named::<u8, u8>("shared").unwrap_err();
    assert!(matches!(e, ManagerError::TypeMismatch { .. }), "{e:?}");
}

fn connect_with((address, key): (String, Vec<u8>)) {
    let address: Address = address.parse().unwrap();
    match ManagerClient::connect(&address, &key) {
        Err(e) if e.is_auth() => std::process::exit(7),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn wrong_key_is_refused_and_the_manager_keeps_serving(method: StartMethod) {
    let m = Manager::builder()
        .start_method(method)
        .authkey(b"right key".to_vec())
        .start()
        .unwrap();
    let k = common::start(
        method,
        connect_with,
        (m.address().to_string(), b"wrong key".to_vec()),
    );
    assert_eq!(k.join().unwrap(), 7);
    let e = ManagerClient::connect(m.address(), b"").unwrap_err();
    assert!(matches!(
        e,
        ManagerError::Connect(skein_process::ConnectError::EmptyKey)
    ));
    let ok = ManagerClient::connect(m.address(), b"right key").unwrap();
    ok.ping().unwrap();
    m.ping().unwrap();
}

fn bad_frames_cost_one_connection_only(method: StartMethod) {
    let m = Manager::builder()
        .start_method(method)
        .max_request(4096)
        .start()
        .unwrap();
    let d = m.dict::<String, Vec<u8>>().unwrap();
    d.set(&"k".into(), &vec![1]).unwrap();
    let path = socket_path(&m);
    // Authenticated connections that then send garbage: an undecodable request, a
    // frame with a bad header, a frame announcing more than the limit, a truncated one.
    let undecodable = client(m.address(), m.authkey()).unwrap();
    undecodable.send_bytes(&[0xff; 12]).unwrap();
    expect_closed(&undecodable);
    let bad_header = authed_stream(&m);
    send_raw(&bad_header, b"XXXXXXXXXXXXXXXX");
    let huge = authed_stream(&m);
    send_raw(&huge, &[b'S', b'K', 1, 0, 0xff, 0xff, 0xff, 0x7f]);
    let truncated = authed_stream(&m);
    send_raw(&truncated, &[b'S', b'K', 1, 0, 100, 0, 0, 0, 1, 2, 3]);
    drop(truncated);
    // Unauthenticated junk straight on the socket.
    let mut junk = UnixStream::connect(&path).unwrap();
    junk.write_all(b"\x00\x01garbage").unwrap();
    expect_closed(&bad_header);
    expect_closed(&huge);
    // A proxy whose request is over the limit fails, on its own connection only.
    let other = ManagerClient::connect(m.address(), m.authkey()).unwrap();
    let big = other.dict::<String, Vec<u8>>().unwrap();
    let e = big.set(&"big".into(), &vec![0u8; 10_000]).unwrap_err();
    assert!(matches!(e, ManagerError::Protocol(_)), "{e:?}");
    // Everyone else is served.
    assert_eq!(d.get(&"k".into()).unwrap(), Some(vec![1]));
    d.set(&"k2".into(), &vec![2; 100]).unwrap();
    let fresh = ManagerClient::connect(m.address(), m.authkey()).unwrap();
    fresh.ping().unwrap();
    drop(junk);
}

/// An authenticated connection whose socket we then write raw bytes to.
fn authed_stream(m: &Manager) -> Connection {
    client(m.address(), m.authkey()).unwrap()
}

fn send_raw(conn: &Connection, bytes: &[u8]) {
    use std::os::fd::AsFd;
    let fd = conn.as_fd().try_clone_to_owned().unwrap();
    let mut s = UnixStream::from(fd);
    s.write_all(bytes).unwrap();
}

/// The server answers a bad request with one error frame (or nothing) and closes.
fn expect_closed(conn: &Connection) {
    let mut frames = 0;
    loop {
        match conn.recv_bytes_timeout(LONG) {
            Ok(_) => frames += 1,
            Err(skein_process::RecvTimeoutError::Recv(_)) => break,
            Err(e) => panic!("server kept the connection open: {e:?}"),
        }
        assert!(frames <= 1, "more than one answer to a bad request");
    }
}

fn drop_shuts_the_server_down_and_leaves_nothing(method: StartMethod) {
    let m = manager(method);
    let pid = m.pid();
    let path = socket_path(&m);
    let dir = path.parent().unwrap().to_path_buf();
    let d = m.dict::<u8, u8>().unwrap();
    d.set(&1, &1).unwrap();
    assert!(path.exists());
    drop(m);
    assert!(gone(pid), "server still runs");
    assert!(
        !path.exists() && !dir.exists(),
        "socket or its directory left behind"
    );
    assert!(d.get(&1).unwrap_err().is_disconnected());
}

fn owner_of_a_manager((method, report): (StartMethod, Connection)) {
    let m = manager(method);
    report.send(&(m.pid(), socket_path(&m))).unwrap();
    let q = m.queue::<u8>().unwrap();
    // Blocks until killed.
    let _ = q.get();
}

fn owner_sigkilled_server_exits_and_leaves_nothing(method: StartMethod) {
    let (here, there) = skein_process::pipe(true).unwrap();
    let owner = common::start(method, owner_of_a_manager, (method, there));
    let (server, path): (i32, PathBuf) = here.recv_timeout(LONG).unwrap();
    assert!(!gone(server) && path.exists());
    owner.kill().unwrap();
    assert_eq!(owner.join().unwrap(), -libc::SIGKILL);
    assert!(
        common::eventually(LONG, || gone(server)),
        "server outlived its owner"
    );
    assert!(
        common::eventually(LONG, || !path.exists() && !path.parent().unwrap().exists()),
        "socket file or directory left behind"
    );
}

fn take_one((q, report): (QueueProxy<String>, Connection)) {
    report.send(&skein_process::getpid()).unwrap();
    let got = q.get().unwrap();
    report.send(&got).unwrap();
}

fn blocked_queue_get_in_a_child_is_woken_by_a_put(method: StartMethod) {
    let m = manager(method);
    let q = m.queue_bounded::<String>(1).unwrap();
    let (here, there) = skein_process::pipe(true).unwrap();
    let k = common::start(method, take_one, (q.clone(), there));
    let _pid: i32 = here.recv_timeout(LONG).unwrap();
    q.put("wake up".into()).unwrap();
    assert_eq!(here.recv_timeout::<String>(LONG).unwrap(), "wake up");
    assert_eq!(k.join().unwrap(), 0);
    // Bounded: the second put times out and hands the value back.
    q.put("one".into()).unwrap();
    let e = q
        .put_timeout("two".into(), Duration::from_millis(20))
        .unwrap_err();
    assert!(e.is_full());
    assert_eq!(e.into_inner(), "two");
    assert_eq!(q.try_get().unwrap(), "one");
    assert!(
        q.get_timeout(Duration::from_millis(20))
            .unwrap_err()
            .is_empty()
    );
}

// ---------------------------------------------------------------- in-process

fn fork_manager() -> Manager {
    manager(StartMethod::Fork)
}

#[test]
fn pipelined_calls_overlap_and_answer_in_order() {
    let m = fork_manager();
    let d = m.dict::<u32, u32>().unwrap();
    let sets: Vec<_> = (0..200)
        .map(|i| d.start_set(&i, &(i * 2)).unwrap())
        .collect();
    let gets: Vec<_> = (0..200).map(|i| d.start_get(&i).unwrap()).collect();
    // Waited for in reverse: answers for others are kept until claimed.
    for p in sets.into_iter().rev() {
        p.wait().unwrap();
    }
    for (i, p) in gets.into_iter().enumerate().rev() {
        assert_eq!(p.wait().unwrap(), Some(i as u32 * 2));
    }
    // Dropped unawaited: its answer is skipped, the session stays in step.
    drop(d.start_get(&1).unwrap());
    assert_eq!(d.get(&2).unwrap(), Some(4));
    let q = m.queue::<u32>().unwrap();
    let puts: Vec<_> = (0..50).map(|i| q.start_put(&i).unwrap()).collect();
    for p in puts {
        p.wait().unwrap();
    }
    let takes: Vec<_> = (0..50).map(|_| q.start_get().unwrap()).collect();
    let got: Vec<u32> = takes.into_iter().map(|p| p.wait().unwrap()).collect();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
}

#[test]
fn threads_sharing_a_proxy_share_its_connection() {
    let m = fork_manager();
    let l = m.list::<u32>().unwrap();
    let ts: Vec<_> = (0..4)
        .map(|t| {
            let l = l.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    l.push(&(t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(l.len().unwrap(), 400);
}

#[test]
fn list_follows_python_indexing() {
    let m = fork_manager();
    let l = m.list::<i32>().unwrap();
    l.extend(&[1, 2, 3]).unwrap();
    assert_eq!(l.get(-1).unwrap(), 3);
    l.set(0, &10).unwrap();
    l.insert(100, &4).unwrap();
    l.insert(-100, &0).unwrap();
    assert_eq!(l.to_vec().unwrap(), vec![0, 10, 2, 3, 4]);
    assert_eq!(l.pop_at(1).unwrap(), 10);
    assert!(matches!(
        l.get(9),
        Err(ManagerError::IndexOutOfRange { index: 9, len: 4 })
    ));
    l.clear().unwrap();
    assert!(l.pop().unwrap_err().is_empty());
}

#[test]
fn dict_and_namespace_basics() {
    let m = fork_manager();
    let d = m.dict::<String, i32>().unwrap();
    assert!(d.is_empty().unwrap());
    d.set(&"a".into(), &1).unwrap();
    assert!(d.contains_key(&"a".into()).unwrap());
    assert_eq!(d.items().unwrap(), vec![("a".to_string(), 1)]);
    assert_eq!(d.remove(&"a".into()).unwrap(), Some(1));
    assert_eq!(d.remove(&"a".into()).unwrap(), None);
    let ns = m.namespace().unwrap();
    ns.set("x", &1.5f64).unwrap();
    assert_eq!(ns.get::<f64>("x").unwrap(), Some(1.5));
    assert!(ns.get::<f64>("y").unwrap().is_none());
    assert!(ns.remove("x").unwrap());
    assert!(!ns.contains("x").unwrap());
    // A value stored as one type and read as another is a decode error, not garbage.
    ns.set("s", &"text").unwrap();
    assert!(matches!(ns.get::<u64>("s"), Err(ManagerError::Decode(_))));
}

#[test]
fn proxies_do_not_serialise_outside_a_child_start() {
    let m = fork_manager();
    let d = m.dict::<u8, u8>().unwrap();
    assert!(
        postcard::to_allocvec(&d).is_err(),
        "the authkey must not leak into a message"
    );
}

#[test]
fn tcp_manager_with_given_key() {
    let m = Manager::builder()
        .start_method(StartMethod::Fork)
        .address(Address::loopback())
        .authkey(b"k".to_vec())
        .start()
        .unwrap();
    assert!(matches!(m.address(), Address::Tcp(_)));
    let c = ManagerClient::connect(m.address(), b"k").unwrap();
    let v = c.value_named("v", 1u8).unwrap();
    assert_eq!(m.value_named("v", 9u8).unwrap().get().unwrap(), 1);
    v.set(&2).unwrap();
    m.shutdown().unwrap();
    assert!(v.get().unwrap_err().is_disconnected());
}

#[test]
fn a_waiting_get_holds_up_no_later_call_on_its_connection() {
    let m = fork_manager();
    // One client: the queue and the dict share its connection.
    let q = m.queue::<u32>().unwrap();
    let d = m.dict::<u32, u32>().unwrap();
    let waiting = q.start_get().unwrap();
    // Sent after the get, on the same connection, answered while it waits.
    d.set(&1, &10).unwrap();
    assert_eq!(d.get(&1).unwrap(), Some(10));
    assert!(
        q.get_timeout(Duration::from_millis(10))
            .unwrap_err()
            .is_empty()
    );
    q.put(5).unwrap();
    assert_eq!(waiting.wait().unwrap(), 5);
    // Waiting gets are served first come, first served.
    let first = q.start_get().unwrap();
    let second = q.start_get().unwrap();
    q.put(1).unwrap();
    q.put(2).unwrap();
    assert_eq!((first.wait().unwrap(), second.wait().unwrap()), (1, 2));
}

#[test]
fn a_silent_or_unfinished_handshake_holds_up_no_one() {
    let m = fork_manager();
    let d = m.dict::<u8, u8>().unwrap();
    // Connects and says nothing.
    let _silent = UnixStream::connect(socket_path(&m)).unwrap();
    // Reads the challenge and stops there.
    let mut halfway = UnixStream::connect(socket_path(&m)).unwrap();
    let mut challenge = [0u8; 8];
    std::io::Read::read_exact(&mut halfway, &mut challenge).unwrap();
    assert_eq!(&challenge[..2], b"SK");
    d.set(&1, &1).unwrap();
    let other = ManagerClient::connect(m.address(), m.authkey()).unwrap();
    other.ping().unwrap();
    assert_eq!(d.get(&1).unwrap(), Some(1));
}

#[test]
fn a_client_that_stops_reading_holds_up_no_one() {
    let m = fork_manager();
    let blob = m.dict_named::<u8, Vec<u8>>("blob").unwrap();
    blob.set(&0, &vec![7u8; 256 << 10]).unwrap();
    let greedy = ManagerClient::connect(m.address(), m.authkey()).unwrap();
    let theirs = greedy.dict_named::<u8, Vec<u8>>("blob").unwrap();
    // 6 MiB of answers asked for and not read yet: more than the server buffers for
    // one connection (4 MiB), so it stops reading this one until it reads.
    let pending: Vec<_> = (0..24).map(|_| theirs.start_get(&0).unwrap()).collect();
    for i in 0..100 {
        blob.set(&1, &vec![i]).unwrap();
    }
    m.ping().unwrap();
    for p in pending {
        assert_eq!(p.wait().unwrap().map(|v| v.len()), Some(256 << 10));
    }
    assert_eq!(theirs.get(&1).unwrap(), Some(vec![99]));
}

fn get_then_vanish(q: QueueProxy<u32>) {
    let p = q.start_get().unwrap();
    // Answered after the get was parked: the server holds it when we exit.
    q.qsize().unwrap();
    std::mem::forget(p);
}

#[test]
fn an_item_for_a_get_whose_process_ended_stays_in_the_queue() {
    let m = fork_manager();
    let q = m.queue::<u32>().unwrap();
    let k = common::start(StartMethod::Forkserver, get_then_vanish, q.clone());
    assert_eq!(k.join().unwrap(), 0);
    q.put(1).unwrap();
    assert_eq!(q.get_timeout(LONG).unwrap(), 1);
    assert!(q.try_get().unwrap_err().is_empty());
}

fn count_under_lock((lock, start, v, n): (LockProxy, EventProxy, ValueProxy<u64>, u32)) {
    start.wait().unwrap();
    for _ in 0..n {
        let _held = lock.lock().unwrap();
        // A read-modify-write in two round trips: only the lock keeps it whole.
        let x = v.get().unwrap();
        v.set(&(x + 1)).unwrap();
    }
}

fn a_lock_excludes_across_processes_and_an_event_wakes_them(method: StartMethod) {
    let m = manager(method);
    let lock = m.lock().unwrap();
    let start = m.event().unwrap();
    let v = m.value(0u64).unwrap();
    let kids: Vec<_> = (0..3)
        .map(|_| {
            common::start(
                method,
                count_under_lock,
                (lock.clone(), start.clone(), v.clone(), 50),
            )
        })
        .collect();
    // The children wait for the event; the parent counts too, under the same lock.
    start.set().unwrap();
    count_under_lock((lock.clone(), start.clone(), v.clone(), 50));
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert_eq!(v.get().unwrap(), 200);
    assert!(!lock.locked().unwrap());
}

fn hold_and_vanish(lock: LockProxy) {
    lock.acquire().unwrap();
    // Ends holding it.
}

fn a_lock_whose_holder_died_passes_on_with_owner_died(method: StartMethod) {
    let m = manager(method);
    let lock = m.lock().unwrap();
    let k = common::start(method, hold_and_vanish, lock.clone());
    assert_eq!(k.join().unwrap(), 0);
    // Whether the server saw the holder go before or after this acquire, it is told.
    assert!(matches!(lock.acquire(), Err(ManagerError::OwnerDied)));
    assert!(lock.locked().unwrap());
    lock.release().unwrap();
    let g = lock.lock().unwrap();
    assert!(!g.previous_owner_died());
}

#[test]
fn lock_and_event_follow_python() {
    let m = fork_manager();
    let lock = m.lock().unwrap();
    assert!(matches!(lock.release(), Err(ManagerError::NotLocked)));
    assert!(lock.try_acquire().unwrap());
    assert!(!lock.try_acquire().unwrap());
    assert!(!lock.acquire_timeout(Duration::from_millis(20)).unwrap());
    // Another connection waits for it; any holder of the proxy may release (as
    // Python's Lock).
    let other = ManagerClient::connect(m.address(), m.authkey()).unwrap();
    let theirs = other.lock_named("l").unwrap();
    let mine = m.lock_named("l").unwrap();
    mine.acquire().unwrap();
    let waiter = std::thread::spawn(move || theirs.acquire_timeout(LONG).unwrap());
    lock.release().unwrap();
    mine.release().unwrap();
    assert!(waiter.join().unwrap());
    assert!(mine.locked().unwrap());
    // A named object of another kind is refused.
    assert!(matches!(
        m.event_named("l"),
        Err(ManagerError::TypeMismatch { .. })
    ));
    let e = m.event().unwrap();
    assert!(!e.is_set().unwrap());
    assert!(!e.wait_timeout(Duration::from_millis(20)).unwrap());
    let e2 = e.clone();
    let waiter = std::thread::spawn(move || e2.wait_timeout(LONG).unwrap());
    e.set().unwrap();
    assert!(waiter.join().unwrap());
    e.wait().unwrap();
    e.clear().unwrap();
    assert!(!e.is_set().unwrap());
}

type Shared = (
    skein_process::QueueProxy<u8>,
    skein_process::DictProxy<String, u8>,
    skein_process::ListProxy<u8>,
    skein_process::EventProxy,
);

fn use_shared_types((q, d, l, e): Shared) {
    assert_eq!(q.qsize().unwrap(), 2);
    assert!(!q.is_empty().unwrap());
    assert_eq!(q.get().unwrap(), 5);
    assert_eq!(q.get().unwrap(), 6);
    assert!(q.is_empty().unwrap());
    assert_eq!(d.len().unwrap(), 1);
    assert_eq!(d.get(&"foo".into()).unwrap(), Some(5));
    assert_eq!(d.items().unwrap(), [("foo".to_string(), 5)]);
    assert_eq!(d.keys().unwrap(), ["foo".to_string()]);
    assert_eq!(d.values().unwrap(), [5]);
    d.set(&"bar".into(), &6).unwrap();
    assert_eq!(l.get(0).unwrap(), 5);
    l.push(&7).unwrap();
    l.extend(&[5, 7]).unwrap();
    assert_eq!(l.to_vec().unwrap(), [5, 7, 5, 7]);
    assert_eq!(l.pop_at(0).unwrap(), 5);
    assert!(e.is_set().unwrap());
    e.wait().unwrap();
    e.clear().unwrap();
    assert!(!e.wait_timeout(Duration::from_millis(1)).unwrap());
}

/// Python's `TestSyncManagerTypes`: a bounded queue, a dict, a list and an event made
/// in the parent are read and changed by a child under every start method, and the
/// parent sees the changes.
#[test]
fn shared_types_are_read_and_changed_by_a_child() {
    for method in StartMethod::ALL {
        let m = fork_manager();
        let q = m.queue_bounded::<u8>(2).unwrap();
        q.put(5).unwrap();
        q.put(6).unwrap();
        assert!(q.try_put(7).unwrap_err().is_full());
        let d = m.dict::<String, u8>().unwrap();
        d.set(&"foo".into(), &5).unwrap();
        let l = m.list::<u8>().unwrap();
        l.push(&5).unwrap();
        let e = m.event().unwrap();
        e.set().unwrap();
        let k = skein_process::get_context(method)
            .process(
                use_shared_types,
                (q.clone(), d.clone(), l.clone(), e.clone()),
            )
            .start()
            .unwrap();
        assert_eq!(k.join().unwrap(), 0, "{method:?}");
        assert!(q.is_empty().unwrap());
        let mut items = d.items().unwrap();
        items.sort();
        assert_eq!(items, [("bar".to_string(), 6), ("foo".to_string(), 5)]);
        assert_eq!(l.to_vec().unwrap(), [7, 5, 7]);
        assert!(!e.is_set().unwrap());
    }
}
