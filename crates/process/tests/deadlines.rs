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

// ---- Python's _TestPollEintr: blocking calls survive signals (EINTR) ----

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Installs a do-nothing SIGUSR1 handler *without* `SA_RESTART` (as Python's
/// `signal.signal` does), so that every blocking syscall it interrupts fails with
/// `EINTR`.
fn install_eintr_handler() {
    // SAFETY: a zeroed sigaction with a valid handler and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = ignore_signal as *const () as usize;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Sends SIGUSR1 to `thread` every 2 ms until dropped.
struct SignalStorm {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sender: Option<std::thread::JoinHandle<usize>>,
}

impl SignalStorm {
    fn at_this_thread() -> SignalStorm {
        install_eintr_handler();
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as usize;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        let sender = std::thread::spawn(move || {
            let mut sent = 0;
            while !s.load(std::sync::atomic::Ordering::SeqCst) {
                // SAFETY: the target thread outlives the storm (it stops it on drop).
                unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
                sent += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            sent
        });
        SignalStorm {
            stop,
            sender: Some(sender),
        }
    }
}

impl Drop for SignalStorm {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(s) = self.sender.take() {
            assert!(s.join().unwrap() > 0);
        }
    }
}

type Tools = (
    Queue<u32>,
    Event,
    skein_process::Lock,
    Event,
    skein_process::Semaphore,
    skein_process::Connection,
);

fn act_slowly((q, ev, lock, held, sem, conn): Tools) {
    let pause = || std::thread::sleep(Duration::from_millis(150));
    lock.acquire().unwrap();
    held.set();
    pause();
    lock.release().unwrap();
    pause();
    q.put(5).unwrap();
    pause();
    ev.set();
    pause();
    sem.release();
    pause();
    conn.send(&9u8).unwrap();
    pause();
}

/// Every blocking call waits through a storm of signals and returns its real result,
/// never an error or an early return (Python retries `waitpid` and friends on EINTR,
/// PEP 475).
#[test]
fn blocking_calls_survive_a_storm_of_signals() {
    for method in METHODS {
        let q = Queue::new().unwrap();
        let (ev, held) = (Event::new().unwrap(), Event::new().unwrap());
        let lock = skein_process::Lock::new().unwrap();
        let sem = skein_process::Semaphore::new(0).unwrap();
        let (here, there) = skein_process::pipe(true).unwrap();
        let k = start(
            method,
            act_slowly,
            (
                q.clone(),
                ev.clone(),
                lock.clone(),
                held.clone(),
                sem.clone(),
                there,
            ),
        );
        let storm = SignalStorm::at_this_thread();
        held.wait();
        lock.acquire().unwrap();
        lock.release().unwrap();
        assert_eq!(q.get(), Ok(5), "{method:?}");
        ev.wait();
        assert!(ev.is_set());
        sem.acquire();
        assert_eq!(here.recv::<u8>().unwrap(), 9, "{method:?}");
        assert_eq!(k.join().unwrap(), 0, "{method:?}");
        drop(storm);
    }
}
