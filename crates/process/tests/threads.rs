//! skein threads inside child processes (issue 17 item 6): a child waits for the
//! non-daemon threads its target left running before it exits, and abandons its daemon
//! threads, as `multiprocessing`'s `Process._bootstrap` does with `threading._shutdown()`;
//! a `Fork` child keeps only the forking thread in its thread registry, as CPython's
//! `threading._after_fork` does, and no registry lock held by another thread of the
//! parent is left locked in the child.
//!
//! Interleavings are forced with gates (a message the parent sends), and "the child is
//! waiting" is read from `/proc` (its state `S` after it reported that its target
//! returned), never guessed from a sleep.

use std::sync::mpsc;
use std::time::Duration;

use skein_process::{Connection, Process, StartMethod, get_context, getpid, pipe};
use skein_threads::{
    Builder, Thread, current_thread, enumerate, join_non_daemon_timeout, main_thread,
};

#[macro_use]
mod common;

skein_process::test_support!();

const LONG: Duration = Duration::from_secs(60);

matrix!(
    a_child_waits_for_its_non_daemon_thread,
    a_child_waits_for_its_non_daemon_thread_after_a_panic,
    a_daemon_thread_does_not_hold_a_child_up,
);

// ---------------------------------------------------------------- targets

/// Starts a thread named `writer` (daemon or not) that waits for the gate on
/// `thread_end`, then writes `"written"` there; reports `"returned"` on `report` and
/// returns (or panics) without joining it.
fn leaves_a_thread_running(
    (thread_end, report, daemon, panics): (Connection, Connection, bool, bool),
) {
    let writer = Builder::new()
        .name("writer")
        .daemon(daemon)
        .spawn(move || {
            let gate: String = thread_end.recv().expect("the gate");
            assert_eq!(gate, "open");
            thread_end.send(&"written".to_owned()).expect("write");
        })
        .expect("spawn the writer");
    drop(writer); // not joined: Python's exit rule is what waits for it
    report.send(&"returned".to_owned()).expect("report");
    if panics {
        panic!("the target panics after starting its thread");
    }
}

// ---------------------------------------------------------------- scenarios

fn waits_for_non_daemon(method: StartMethod, panics: bool) {
    let (thread_here, thread_there) = pipe(true).unwrap();
    let (report_here, report_there) = pipe(true).unwrap();
    let p = get_context(method)
        .process(
            leaves_a_thread_running,
            (thread_there, report_there, false, panics),
        )
        .start()
        .unwrap();
    let said: String = report_here.recv_timeout(LONG).unwrap();
    assert_eq!(said, "returned");
    // The target has returned; its thread is blocked on the gate. The child must now be
    // waiting for that thread (asleep), not gone.
    assert!(
        common::eventually(LONG, || !p.is_alive() || common::asleep(p.pid())),
        "the child neither exited nor went to sleep"
    );
    assert!(
        p.is_alive(),
        "the child exited (code {:?}) while its non-daemon thread was still blocked",
        p.exitcode()
    );
    thread_here.send(&"open".to_owned()).unwrap();
    let written: String = thread_here.recv_timeout(LONG).unwrap();
    assert_eq!(written, "written");
    // The exit comes after the write, with the target's exit code.
    assert_eq!(
        p.join_timeout(LONG).unwrap(),
        Some(if panics { 1 } else { 0 })
    );
}

fn a_child_waits_for_its_non_daemon_thread(method: StartMethod) {
    waits_for_non_daemon(method, false);
}

fn a_child_waits_for_its_non_daemon_thread_after_a_panic(method: StartMethod) {
    waits_for_non_daemon(method, true);
}

fn a_daemon_thread_does_not_hold_a_child_up(method: StartMethod) {
    let (thread_here, thread_there) = pipe(true).unwrap();
    let (report_here, report_there) = pipe(true).unwrap();
    let p = get_context(method)
        .process(
            leaves_a_thread_running,
            (thread_there, report_there, true, false),
        )
        .start()
        .unwrap();
    let said: String = report_here.recv_timeout(LONG).unwrap();
    assert_eq!(said, "returned");
    // The gate never opens (and `thread_here` stays open, so the thread stays blocked):
    // the child exits anyway.
    assert_eq!(p.join_timeout(LONG).unwrap(), Some(0));
    drop(thread_here);
}

/// What a forked child saw of its threads.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
struct Seen {
    enumerate: Vec<String>,
    active_count: usize,
    current: String,
    current_is_main: bool,
    native_id_is_pid: bool,
    parent_threads_alive: Vec<bool>,
    parent_thread_joins_at_once: bool,
    parent_handle_lost_in_fork: bool,
    nothing_to_wait_for: bool,
    own_thread_listed: bool,
}

/// In a forked child: what it sees of the parent's threads and of its own.
fn look_around(parents: &[Thread], parent_handle: skein_threads::JoinHandle<()>) -> Seen {
    let me = current_thread();
    // A thread of its own, listed while it runs and waited for by the child's exit.
    let (go, wait) = mpsc::channel::<()>();
    let own = Builder::new()
        .name("child-own")
        .daemon(false)
        .spawn(move || wait.recv().unwrap())
        .unwrap();
    let own_thread_listed = enumerate().contains(own.thread());
    go.send(()).unwrap();
    own.join().unwrap();
    Seen {
        enumerate: enumerate().iter().map(Thread::name).collect(),
        active_count: skein_threads::active_count(),
        current: me.name(),
        current_is_main: main_thread() == me && me.is_main(),
        native_id_is_pid: me.native_id() == Some(getpid() as u64),
        parent_threads_alive: parents.iter().map(Thread::is_alive).collect(),
        parent_thread_joins_at_once: parents.iter().all(|t| t.join().is_ok()),
        parent_handle_lost_in_fork: parent_handle.join().is_err_and(|e| e.is_lost_in_fork()),
        // Zero timeout: true only if there is nothing to wait for at all.
        nothing_to_wait_for: join_non_daemon_timeout(Duration::ZERO),
        own_thread_listed,
    }
}

/// Three running non-daemon threads of the parent, blocked until the returned sender is
/// dropped, and their handles.
fn parent_threads() -> (mpsc::Sender<()>, Vec<skein_threads::JoinHandle<()>>) {
    let (release, wait) = mpsc::channel::<()>();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
    let handles = (0..3)
        .map(|i| {
            let wait = wait.clone();
            Builder::new()
                .name(format!("parent-{i}"))
                .daemon(false)
                .spawn(move || {
                    let _ = wait.lock().unwrap().recv();
                })
                .unwrap()
        })
        .collect();
    (release, handles)
}

/// Forks a child that looks around (see [`look_around`]) and reports what it saw.
fn fork_and_look(parents: &[Thread], parent_handle: skein_threads::JoinHandle<()>) -> Seen {
    let (here, there) = pipe(true).unwrap();
    let parents = parents.to_vec();
    let p = Process::from_closure(move || {
        let seen = look_around(&parents, parent_handle);
        there.send(&seen).unwrap();
    })
    .start()
    .unwrap();
    let seen: Seen = here.recv_timeout(LONG).unwrap();
    assert_eq!(
        p.join_timeout(LONG).unwrap(),
        Some(0),
        "the child's exit hung"
    );
    seen
}

fn expected(current: &str) -> Seen {
    Seen {
        enumerate: vec![current.to_owned()],
        active_count: 1,
        current: current.to_owned(),
        current_is_main: true,
        native_id_is_pid: true,
        parent_threads_alive: vec![false; 3],
        parent_thread_joins_at_once: true,
        parent_handle_lost_in_fork: true,
        nothing_to_wait_for: true,
        own_thread_listed: true,
    }
}

#[test]
fn a_child_forked_from_a_skein_thread_keeps_only_that_thread() {
    let (release, mut handles) = parent_threads();
    let parents: Vec<Thread> = handles.iter().map(|h| h.thread().clone()).collect();
    let moved = handles.pop().unwrap();
    let forker = Builder::new()
        .name("forker")
        .spawn(move || fork_and_look(&parents, moved))
        .unwrap();
    let seen = forker.join().unwrap();
    assert_eq!(seen, expected("forker"));
    // The parent's threads are untouched.
    assert!(handles.iter().all(|h| h.is_alive()));
    drop(release);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn a_child_forked_from_a_thread_skein_did_not_start_has_a_main_thread() {
    let (release, mut handles) = parent_threads();
    let parents: Vec<Thread> = handles.iter().map(|h| h.thread().clone()).collect();
    let moved = handles.pop().unwrap();
    // A std thread (as the test harness's are), known to skein as a dummy thread:
    // Python turns it into the child's `MainThread`.
    let seen = std::thread::spawn(move || {
        let dummy = current_thread();
        assert!(dummy.is_daemon() && !dummy.is_main());
        fork_and_look(&parents, moved)
    })
    .join()
    .unwrap();
    assert_eq!(seen, expected("MainThread"));
    drop(release);
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn a_child_forked_while_another_thread_holds_the_registry_lock_does_not_deadlock() {
    let (held_tx, held_rx) = mpsc::channel::<()>();
    // Holds the registry's lock until a fork waits for it, as a thread in the middle of
    // `spawn` or `enumerate` would at the moment of a fork.
    let holder = std::thread::spawn(move || {
        skein_threads::__with_registry_locked(|| {
            held_tx.send(()).unwrap();
            assert!(
                common::eventually(LONG, || skein_threads::__forks_waiting() > 0),
                "no fork came"
            );
        })
    });
    held_rx.recv().unwrap();
    let (here, there) = pipe(true).unwrap();
    let p = Process::from_closure(move || {
        // Every registry operation, and a thread of its own that the exit waits for.
        let names: Vec<String> = enumerate().iter().map(Thread::name).collect();
        let t = Builder::new().name("after-fork").spawn(|| 7).unwrap();
        there.send(&(names, t.join().unwrap())).unwrap();
    })
    .start()
    .unwrap();
    holder.join().unwrap();
    let (names, seven): (Vec<String>, i32) = here.recv_timeout(LONG).unwrap();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(seven, 7);
    assert_eq!(p.join_timeout(LONG).unwrap(), Some(0));
}

#[test]
fn os_fork_resets_the_thread_registry_too() {
    let (release, handles) = parent_threads();
    let forker = Builder::new()
        .name("raw-forker")
        .spawn(|| {
            // SAFETY: the child only reads skein's registry (reset by `fork` itself,
            // with every lock skein uses held across it) and `_exit`s.
            match unsafe { skein_process::fork() }.unwrap() {
                skein_process::Fork::Child => {
                    let names: Vec<String> = enumerate().iter().map(Thread::name).collect();
                    let ok = names == ["raw-forker"]
                        && main_thread() == current_thread()
                        && join_non_daemon_timeout(Duration::ZERO);
                    // SAFETY: ends the child without running the parent's exit handlers.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
                }
                skein_process::Fork::Parent { child } => common::wait(child),
            }
        })
        .unwrap();
    assert_eq!(forker.join().unwrap(), 0);
    drop(release);
    for h in handles {
        h.join().unwrap();
    }
}
