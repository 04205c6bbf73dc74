//! Dead owners whose pid the kernel handed to an unrelated process (issue 17, item 2):
//! lock waiters, barrier parties and queue repairs must still see the owner as dead.
//!
//! Each test kills a child that holds something, reaps it, then forces the kernel to
//! give its pid to a new `sleep` process (`ns_last_pid`, root only: without root the
//! tests print a loud SKIPPED note and check nothing).

mod common;

skein_process::test_support!();

use std::time::{Duration, Instant};

use common::{METHODS, asleep, eventually, recycle_pid, start, start_tick};
use skein_process::{Barrier, Event, Lock, Queue, RLock, StartMethod, Value};

/// The tests take turns: a child started by another test — or a forkserver spare,
/// which the server forks after each start — could take the number between the write
/// of `ns_last_pid` and the squatter's spawn, and keep it.
fn turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn nothing(_: ()) {}

/// Waits until the forkserver has no spare fork pending: a daemon start is a request
/// the server handles after the requests for spares queued before it.
fn settle_forkserver() {
    let p = skein_process::get_context(StartMethod::Forkserver)
        .process(nothing, ())
        .daemon(true)
        .start()
        .unwrap();
    assert_eq!(p.join().unwrap(), 0);
}

/// Kills `k` (after reading its start time), reaps it, and gives its pid away.
fn kill_and_recycle(k: skein_process::ProcessHandle) -> Option<common::Squatter> {
    settle_forkserver();
    let pid = k.pid();
    let started = start_tick(pid);
    k.kill().unwrap();
    assert_eq!(k.join().unwrap(), -9);
    let squatter = recycle_pid(pid, started)?;
    assert_eq!(squatter.pid(), pid);
    Some(squatter)
}

fn take_lock_and_hang((lock, held): (Lock, Event)) {
    std::mem::forget(lock.lock().unwrap());
    held.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn a_lock_whose_dead_owners_pid_was_recycled_reports_owner_died() {
    let _turn = turn();
    for method in METHODS {
        let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
        let k = start(method, take_lock_and_hang, (lock.clone(), held.clone()));
        assert!(held.wait_timeout(Duration::from_secs(60)));
        let Some(_squatter) = kill_and_recycle(k) else {
            return;
        };
        let got = lock.acquire_timeout(Duration::from_secs(10));
        assert!(
            got.is_err(),
            "{method:?}: expected OwnerDied with the pid recycled, got {got:?}"
        );
        lock.release().unwrap();
    }
}

fn take_rlock_and_hang((lock, held): (RLock, Event)) {
    lock.acquire().unwrap();
    held.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn an_rlock_whose_dead_owners_tid_was_recycled_reports_owner_died() {
    let _turn = turn();
    for method in METHODS {
        let (lock, held) = (RLock::new().unwrap(), Event::new().unwrap());
        let k = start(method, take_rlock_and_hang, (lock.clone(), held.clone()));
        assert!(held.wait_timeout(Duration::from_secs(60)));
        let Some(_squatter) = kill_and_recycle(k) else {
            return;
        };
        let got = lock.acquire_timeout(Duration::from_secs(10));
        assert!(got.is_err(), "{method:?}: expected OwnerDied, got {got:?}");
        lock.release().unwrap();
    }
}

fn hold_value_and_hang((value, held): (Value<u64>, Event)) {
    let mut g = value.lock().unwrap();
    *g = 7;
    std::mem::forget(g);
    held.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn a_value_whose_dead_holders_pid_was_recycled_reports_owner_died() {
    let _turn = turn();
    for method in METHODS {
        let (value, held) = (Value::new(0u64).unwrap(), Event::new().unwrap());
        let k = start(method, hold_value_and_hang, (value.clone(), held.clone()));
        assert!(held.wait_timeout(Duration::from_secs(60)));
        let Some(_squatter) = kill_and_recycle(k) else {
            return;
        };
        // `Value::lock` has no timeout: run it on a thread and bound the wait.
        let (tx, rx) = std::sync::mpsc::channel();
        let v = value.clone();
        std::thread::spawn(move || {
            let r = match v.lock() {
                Ok(g) => Ok(*g),
                Err(died) => Err(**died.get_ref()),
            };
            let _ = tx.send(r);
        });
        let got = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{method:?}: Value::lock hung on a recycled pid"));
        assert_eq!(got, Err(7), "{method:?}: expected OwnerDied");
    }
}

fn wait_at_barrier(barrier: Barrier) {
    let _ = barrier.wait();
}

#[test]
fn a_barrier_breaks_when_a_waiting_partys_pid_was_recycled() {
    let _turn = turn();
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        let k = start(method, wait_at_barrier, barrier.clone());
        assert!(eventually(Duration::from_secs(60), || barrier.n_waiting() == 1));
        let Some(_squatter) = kill_and_recycle(k) else {
            return;
        };
        let t = Instant::now();
        assert!(barrier.wait_timeout(Duration::from_secs(60)).is_err());
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{method:?}: the waiter was released by its timeout only ({:?}), not by the death",
            t.elapsed()
        );
    }
}

fn enroll_and_hang((barrier, enrolled): (Barrier, Event)) {
    std::mem::forget(barrier.enroll().unwrap());
    enrolled.set();
    std::thread::sleep(Duration::from_secs(600));
}

#[test]
fn a_barrier_breaks_when_an_enrolled_partys_pid_was_recycled() {
    let _turn = turn();
    let barrier = Barrier::new(2).unwrap();
    let enrolled = Event::new().unwrap();
    let k = start(
        StartMethod::Spawn,
        enroll_and_hang,
        (barrier.clone(), enrolled.clone()),
    );
    assert!(enrolled.wait_timeout(Duration::from_secs(60)));
    let Some(_squatter) = kill_and_recycle(k) else {
        return;
    };
    let t = Instant::now();
    assert!(barrier.wait_timeout(Duration::from_secs(60)).is_err());
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
}

fn stuck_big_put((q, ready): (Queue<Vec<u8>>, Event)) {
    ready.set();
    let _ = q.put(vec![7u8; 1 << 20]); // blocks mid-message: nobody reads yet
}

#[test]
fn a_queue_whose_producer_died_mid_message_is_repaired_with_the_pid_recycled() {
    let _turn = turn();
    for method in METHODS {
        let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
        let ready = Event::new().unwrap();
        let k = start(method, stuck_big_put, (q.clone(), ready.clone()));
        assert!(ready.wait_timeout(Duration::from_secs(60)));
        assert!(eventually(Duration::from_secs(60), || q.qsize() == 1));
        // Once it sleeps, it has filled the ring and waits for room mid-message.
        assert!(
            eventually(Duration::from_secs(60), || asleep(k.pid())),
            "{method:?}: the producer never blocked mid-message"
        );
        let Some(_squatter) = kill_and_recycle(k) else {
            return;
        };
        // A consumer waits on the rest of the half-written message: it must see that
        // its producer is dead, although a live process now has its pid.
        let reader = {
            let q = q.clone();
            std::thread::spawn(move || q.get_timeout(Duration::from_secs(30)))
        };
        let put = q.put_timeout(b"after".to_vec(), Duration::from_secs(30));
        assert!(
            put.is_ok(),
            "{method:?}: put wedged behind the dead producer"
        );
        assert_eq!(
            reader.join().unwrap().unwrap(),
            b"after",
            "{method:?}: the half-written message was not repaired"
        );
        assert!(q.is_empty());
    }
}
