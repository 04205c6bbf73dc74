//! Every `_timeout` keeps its deadline, also while it repairs what a dead or timed-out
//! producer left (issue 17, item 3).

mod common;

skein_process::test_support!();

use std::time::{Duration, Instant};

use common::{METHODS, asleep, eventually, start};
use skein_process::{Barrier, Event, Queue};

fn stuck_big_put((q, ready): (Queue<Vec<u8>>, Event)) {
    ready.set();
    let _ = q.put(vec![7u8; 1 << 20]); // blocks mid-message: nobody reads yet
}

/// A put_timeout(1 s) that has to repair a dead producer's half-written message in a
/// full ring, with no consumer to make room, returns by its deadline with its item; the
/// queue works on once a consumer comes.
#[test]
fn put_timeout_keeps_its_deadline_while_repairing_a_dead_producers_message() {
    for method in METHODS {
        let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
        let ready = Event::new().unwrap();
        let k = start(method, stuck_big_put, (q.clone(), ready.clone()));
        assert!(ready.wait_timeout(Duration::from_secs(60)));
        assert!(
            eventually(Duration::from_secs(60), || q.qsize() == 1
                && asleep(k.pid())),
            "{method:?}: the producer never blocked mid-message"
        );
        k.kill().unwrap();
        assert_eq!(k.join().unwrap(), -9);

        // The put runs on a thread so that a hang is a test failure, not a hung test.
        let (tx, rx) = std::sync::mpsc::channel();
        let q2 = q.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = q2.put_timeout(b"item".to_vec(), Duration::from_secs(1));
            let _ = tx.send((r.map_err(|e| (e.is_timeout(), e.into_inner())), t.elapsed()));
        });
        let (r, took) = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{method:?}: put_timeout(1 s) still blocked after 30 s"));
        assert_eq!(
            r,
            Err((true, b"item".to_vec())),
            "{method:?}: a timeout that hands the item back"
        );
        assert!(took < Duration::from_secs(10), "{method:?}: took {took:?}");

        // A consumer comes: the half-written message is discarded, the queue works.
        let reader = {
            let q = q.clone();
            std::thread::spawn(move || q.get_timeout(Duration::from_secs(30)))
        };
        q.put_timeout(b"after".to_vec(), Duration::from_secs(30))
            .unwrap();
        assert_eq!(reader.join().unwrap().unwrap(), b"after", "{method:?}");
        assert!(q.is_empty());
    }
}

/// A chunked put whose deadline passes mid-message hands the whole item back; consumers
/// never see its part, and the queue works on.
#[test]
fn a_chunked_put_that_times_out_mid_message_hands_the_item_back() {
    let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    let big = vec![3u8; 256 << 10];
    let (tx, rx) = std::sync::mpsc::channel();
    let (q2, big2) = (q.clone(), big.clone());
    std::thread::spawn(move || {
        let t = Instant::now();
        let r = q2.put_timeout(big2, Duration::from_millis(200));
        let _ = tx.send((r.map_err(|e| (e.is_timeout(), e.into_inner())), t.elapsed()));
    });
    let (r, took) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("put_timeout(200 ms) of a chunked message still blocked after 30 s");
    assert_eq!(
        r,
        Err((true, big)),
        "a timeout that hands the item back whole"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Another timed put right after: it finishes the repair if it can, or times out.
    let reader = {
        let q = q.clone();
        std::thread::spawn(move || {
            let first = q.get_timeout(Duration::from_secs(30));
            let second = q.get_timeout(Duration::from_secs(30));
            (first, second)
        })
    };
    q.put_timeout(b"one".to_vec(), Duration::from_secs(30))
        .unwrap();
    q.put_timeout(b"two".to_vec(), Duration::from_secs(30))
        .unwrap();
    let (first, second) = reader.join().unwrap();
    assert_eq!(
        first.unwrap(),
        b"one",
        "the aborted part is never delivered"
    );
    assert_eq!(second.unwrap(), b"two");
    assert!(q.is_empty());
}

/// Other producers do not queue behind one stuck mid-message: their put_timeout
/// returns by its deadline too (a guard: this one held before the fix as well).
#[test]
fn a_second_producer_is_not_wedged_behind_a_stuck_one() {
    let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    let ready = Event::new().unwrap();
    // Alive, holding the producers' lock mid-message (the ring is full).
    let k = start(
        skein_process::StartMethod::Fork,
        stuck_big_put,
        (q.clone(), ready.clone()),
    );
    assert!(ready.wait_timeout(Duration::from_secs(60)));
    assert!(eventually(Duration::from_secs(60), || q.qsize() == 1
        && asleep(k.pid())));
    let t = Instant::now();
    let err = q
        .put_timeout(b"x".to_vec(), Duration::from_millis(300))
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    k.kill().unwrap();
    k.join().unwrap();
}

/// A barrier party whose deadline passes while another party runs a long action (and
/// holds the barrier's lock) returns by its deadline, and the barrier is broken.
#[test]
fn barrier_wait_timeout_keeps_its_deadline_while_the_action_runs() {
    let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
    let release = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let (g, r) = (gate.clone(), release.clone());
    let barrier = Barrier::builder(2)
        .action(move || {
            g.wait(); // the action has started
            let (m, c) = &*r;
            let mut go = m.lock().unwrap();
            while !*go {
                go = c.wait(go).unwrap();
            }
        })
        .build()
        .unwrap();
    // Party 1 waits first (no action: it is not last) — in this process, on a thread.
    let b1 = barrier.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let t = Instant::now();
        let _ = tx.send((b1.wait_timeout(Duration::from_millis(300)), t.elapsed()));
    });
    assert!(eventually(Duration::from_secs(30), || barrier.n_waiting() == 1));
    // Party 2 arrives last and runs the action, which blocks until released.
    let b2 = barrier.clone();
    let last = std::thread::spawn(move || b2.wait());
    gate.wait();
    let (r1, took) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("wait_timeout(300 ms) still blocked after 30 s while the action ran");
    assert!(r1.is_err(), "the timed-out party fails");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (m, c) = &*release;
    *m.lock().unwrap() = true;
    c.notify_all();
    assert!(last.join().unwrap().is_err(), "the round is broken for all");
    assert!(barrier.broken());
}
