//! The hub's top-level API against the behaviours gevent's own tests check
//! (`test__sleep0`, `test__api`, `test__api_timeout`, `test__hub_join`,
//! `test__hub_join_timeout`, `test__monkey_hub_in_thread`).
//!
//! A scenario that could hang runs on a thread of its own (with its own hub) under a
//! watchdog: the test fails with a message instead of hanging the suite. Orderings are
//! forced with gates; the only time assertions are generous bounds.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

mod common;

use common::bounded;
use skein_coroutine::hub::{self, TcpListener, TcpStream};

// ---- test__sleep0: a `sleep(0)` loop must still let the hub's timers and IO run ----

#[test]
fn a_sleep_zero_loop_in_the_main_context_lets_a_timeout_fire() {
    let r = bounded("with_timeout around a sleep(0) loop", || {
        hub::with_timeout(Duration::from_millis(20), || {
            loop {
                hub::sleep(Duration::ZERO);
            }
        })
    });
    assert!(r.is_err());
}

#[test]
fn a_sleep_zero_loop_in_the_main_context_sees_a_sleeping_task_finish() {
    bounded("polling a sleeping task with sleep(0)", || {
        let t = hub::spawn(|| hub::sleep(Duration::from_millis(5)));
        while !t.is_finished() {
            hub::sleep(Duration::ZERO);
        }
        t.join().unwrap();
        // And a spawn_later task starts while the main context only yields.
        let late = hub::spawn_later(Duration::from_millis(5), || 7);
        while !late.is_finished() {
            hub::sleep(Duration::ZERO);
        }
        assert_eq!(late.join().unwrap(), 7);
    });
}

#[test]
fn a_sleep_zero_loop_in_the_main_context_sees_a_socket_become_readable() {
    bounded("polling a task parked on a socket with sleep(0)", || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        // A plain thread writes once it is told to: the byte can only reach the
        // reader through the hub's poller.
        let peer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            go_rx.recv().unwrap();
            s.write_all(b"!").unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
        });
        let (conn, _) = listener.accept().unwrap();
        let reader = hub::spawn(move || {
            let mut b = [0u8; 1];
            (&conn).read_exact(&mut b).unwrap();
            b[0]
        });
        hub::sleep(Duration::ZERO); // the reader runs and parks on the empty socket
        assert!(!reader.is_finished());
        go_tx.send(()).unwrap();
        while !reader.is_finished() {
            hub::sleep(Duration::ZERO);
        }
        assert_eq!(reader.join().unwrap(), b'!');
        peer.join().unwrap();
    });
}

#[test]
fn a_sleep_zero_loop_in_a_task_lets_its_timeout_fire() {
    let t = hub::spawn(|| {
        hub::with_timeout(Duration::from_millis(10), || {
            loop {
                hub::sleep(Duration::ZERO);
            }
        })
    });
    assert!(t.join().unwrap().is_err());
}

// ---- test__api ----

#[test]
fn a_task_spawned_by_a_task_that_returns_at_once_still_runs() {
    // test_spawn_is_not_cancelled, test_timer_fired: children outlive their spawner.
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let parent = hub::spawn(move || {
        let l1 = l.clone();
        let _child = hub::spawn(move || l1.borrow_mut().push("child"));
        let _late = hub::spawn_later(Duration::from_millis(5), move || {
            l.borrow_mut().push("late")
        });
    });
    parent.join().unwrap();
    assert!(hub::wait());
    assert_eq!(*log.borrow(), ["child", "late"]);
}

#[test]
fn kill_of_a_sleeping_task_runs_its_cleanup_before_kill_returns() {
    // test_killing_dormant: the killed task's handler runs inside `kill`.
    let state = Rc::new(RefCell::new(Vec::new()));
    let s = state.clone();
    struct OnUnwind(Rc<RefCell<Vec<&'static str>>>);
    impl Drop for OnUnwind {
        fn drop(&mut self) {
            self.0.borrow_mut().push("cleanup");
        }
    }
    let t = hub::spawn(move || {
        s.borrow_mut().push("start");
        let _guard = OnUnwind(s.clone());
        hub::sleep(Duration::from_secs(3600));
        s.borrow_mut().push("not reached");
    });
    hub::sleep(Duration::ZERO);
    assert_eq!(*state.borrow(), ["start"]);
    t.kill();
    assert_eq!(*state.borrow(), ["start", "cleanup"]);
}

// ---- test__api_timeout ----

#[test]
fn a_timeout_scope_that_finished_in_time_never_fires_later() {
    // test_api: "check if timer was actually cancelled".
    assert_eq!(
        hub::with_timeout(Duration::from_millis(20), || hub::sleep(Duration::ZERO)),
        Ok(())
    );
    // Past the scope's deadline: a leftover timer would unwind this sleep.
    hub::sleep(Duration::from_millis(40));
    let t = hub::spawn(|| {
        let r = hub::with_timeout(Duration::from_millis(10), || 1);
        hub::sleep(Duration::from_millis(30));
        r
    });
    assert_eq!(t.join().unwrap(), Ok(1));
}

#[test]
fn nested_timeouts_only_the_one_that_fired_is_reported_and_the_other_stays_armed() {
    // test_nested_timeout: inner fires first, the outer scope still runs out later.
    let r = hub::with_timeout(Duration::from_millis(60), || {
        let inner = hub::with_timeout(Duration::from_millis(5), || {
            hub::sleep(Duration::from_secs(3600))
        });
        assert!(inner.is_err(), "the inner scope ran out first");
        // The outer one is still armed.
        hub::sleep(Duration::from_secs(3600));
    });
    let err = r.unwrap_err();
    assert_eq!(err.duration(), Duration::from_millis(60));
    // Outer fires first: the inner scope never sees it as its own.
    let r = hub::with_timeout(Duration::from_millis(5), || {
        let inner = hub::with_timeout(Duration::from_secs(3600), || {
            hub::sleep(Duration::from_secs(3600))
        });
        unreachable!("the outer timeout passed through the inner scope: {inner:?}");
    });
    assert_eq!(r.unwrap_err().duration(), Duration::from_millis(5));
    // The "silent" form (`Timeout(t, False)`) is `.ok()` / `.unwrap_or`.
    let v = hub::with_timeout(Duration::from_millis(5), || {
        hub::sleep(Duration::from_secs(3600));
        1
    })
    .unwrap_or(0);
    assert_eq!(v, 0);
}

#[test]
fn with_timeout_around_socket_io_leaves_the_stream_usable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let gate = hub::Event::new();
    let g = gate.clone();
    let server = hub::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        g.wait();
        conn.write_all(b"late").unwrap();
        // A second accept that times out under a scope.
        hub::with_timeout(Duration::from_millis(5), || listener.accept().map(|_| ())).is_err()
    });
    let mut client = TcpStream::connect(addr).unwrap();
    let mut buf = [0u8; 4];
    let r = hub::with_timeout(Duration::from_millis(10), || client.read(&mut buf));
    assert!(r.is_err(), "nothing was sent yet: {r:?}");
    gate.set();
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
    assert!(server.join().unwrap());
}

// ---- test__hub_join / test__hub_join_timeout: gevent.wait() ----

#[test]
fn wait_many_times_and_the_hub_stays_usable() {
    assert!(hub::wait());
    assert!(hub::wait());
    hub::sleep(Duration::from_millis(1));
    assert!(hub::wait());
    let t = hub::spawn(|| 5);
    assert!(hub::wait());
    assert!(t.is_finished());
    assert_eq!(t.join().unwrap(), 5);
}

#[test]
fn wait_returns_once_a_spawned_or_later_task_finished() {
    for _ in 0..2 {
        let now = hub::spawn(|| 5);
        assert!(hub::wait_timeout(Duration::from_secs(30)));
        assert!(now.is_finished());
        assert_eq!(now.join().unwrap(), 5);
        let later = hub::spawn_later(Duration::from_millis(5), || 6);
        assert!(hub::wait_timeout(Duration::from_secs(30)));
        assert_eq!(later.join().unwrap(), 6);
    }
}

#[test]
fn wait_timeout_returns_false_and_the_task_keeps_its_place() {
    for _ in 0..2 {
        let x = hub::spawn_later(Duration::from_secs(3600), || 5);
        assert!(!hub::wait_timeout(Duration::from_millis(10)));
        assert!(!x.is_finished());
        assert_eq!(hub::live_tasks(), 1);
        x.kill();
        assert!(hub::wait());
        assert_eq!(hub::live_tasks(), 0);
    }
    // From inside a task: its own life does not count.
    let sleeper = hub::spawn(|| hub::sleep(Duration::from_secs(3600)));
    let waiter = hub::spawn(|| {
        (
            hub::wait_timeout(Duration::from_millis(10)),
            hub::wait_timeout(Duration::ZERO),
        )
    });
    assert_eq!(waiter.join().unwrap(), (false, false));
    sleeper.kill();
    let waiter = hub::spawn(|| hub::wait_timeout(Duration::ZERO));
    assert!(waiter.join().unwrap());
}

// ---- test__monkey_hub_in_thread: a hub per thread ----

#[test]
fn hubs_on_two_threads_run_their_own_tasks_side_by_side() {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = (0..2u64)
        .map(|n| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                let server = hub::spawn(move || {
                    let (mut c, _) = listener.accept().unwrap();
                    let mut b = [0u8; 8];
                    c.read_exact(&mut b).unwrap();
                    c.write_all(&b).unwrap();
                });
                let sleepers: Vec<_> = (0..10)
                    .map(|i| {
                        hub::spawn(move || {
                            hub::sleep(Duration::from_millis(i));
                            hub::getcurrent().id()
                        })
                    })
                    .collect();
                // Both threads have live tasks parked in their hubs at once.
                hub::sleep(Duration::ZERO);
                barrier.wait();
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(&n.to_le_bytes()).unwrap();
                let mut back = [0u8; 8];
                s.read_exact(&mut back).unwrap();
                server.join().unwrap();
                let ids: Vec<u64> = sleepers.into_iter().map(|t| t.join().unwrap()).collect();
                assert!(hub::wait());
                (u64::from_le_bytes(back), ids, hub::live_tasks())
            })
        })
        .collect();
    for (n, t) in threads.into_iter().enumerate() {
        let (echo, ids, live) = t.join().unwrap();
        assert_eq!(echo, n as u64);
        // Each thread numbers its own tasks: the server was task 1 there.
        assert_eq!(ids, (2..12).collect::<Vec<u64>>());
        assert_eq!(live, 0);
    }
}
