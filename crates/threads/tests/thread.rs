//! `Builder`, `JoinHandle` and `Thread`: names, idents, liveness, joins with and without
//! timeouts, joining oneself, daemon inheritance, stack size.
//! Some cases follow CPython's `test_threading` (written in our own words).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use skein_threads::{Builder, JoinTimeoutError, MIN_STACK_SIZE, Thread, current_thread};

/// Whether `enumerate()` lists a thread of that name.
fn listed(name: &str) -> bool {
    skein_threads::enumerate().iter().any(|t| t.name() == name)
}

#[test]
fn join_returns_the_value_and_the_os_thread_has_the_same_name() {
    let handle = Builder::new()
        .name("named-worker")
        .spawn(|| {
            (
                std::thread::current().name().map(str::to_owned),
                current_thread().name(),
            )
        })
        .unwrap();
    let (os_name, skein_name) = handle.join().unwrap();
    assert_eq!(os_name.as_deref(), Some("named-worker"));
    assert_eq!(skein_name, "named-worker");
}

#[test]
fn default_names_are_thread_n_and_distinct() {
    let a = Builder::new().spawn(|| ()).unwrap();
    let b = skein_threads::spawn(|| ()).unwrap();
    let (na, nb) = (a.thread().name(), b.thread().name());
    assert!(
        na.starts_with("Thread-") && nb.starts_with("Thread-"),
        "{na} {nb}"
    );
    assert_ne!(na, nb);
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn idents_are_unique_and_match_get_ident_inside() {
    let handles: Vec<_> = (0..8)
        .map(|_| Builder::new().spawn(skein_threads::get_ident).unwrap())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for handle in handles {
        let ident = handle.thread().ident();
        assert_ne!(ident, 0);
        assert_ne!(ident, 1, "1 is the main thread's");
        assert_eq!(handle.join().unwrap(), ident);
        assert!(seen.insert(ident));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn native_id_is_the_os_thread_id() {
    let handle = Builder::new().spawn(skein_threads::get_native_id).unwrap();
    let outside = handle.thread().native_id();
    let inside = handle.join().unwrap();
    assert!(inside.is_some());
    assert_eq!(outside, inside);
    assert_ne!(inside, skein_threads::main_thread().native_id());
    assert_eq!(
        skein_threads::main_thread().native_id(),
        Some(u64::from(std::process::id()))
    );
}

#[test]
fn join_timeout_returns_while_the_thread_still_runs() {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new()
        .name("slowpoke")
        .spawn(move || {
            rx.recv().unwrap();
            "finished"
        })
        .unwrap();
    let timeout = Duration::from_millis(50);

    // JoinHandle: the handle comes back inside the error.
    let started = Instant::now();
    let err = handle.join_timeout(timeout).unwrap_err();
    assert!(started.elapsed() >= timeout);
    assert!(err.is_timeout());
    assert!(err.to_string().contains("slowpoke"));
    let handle = err.into_handle().unwrap();
    assert!(handle.is_alive());

    // Thread: a timeout error, and the thread is still alive.
    let started = Instant::now();
    let err = handle.thread().join_timeout(timeout).unwrap_err();
    assert!(started.elapsed() >= timeout);
    assert!(err.is_timeout());
    assert!(handle.thread().is_alive());
    let err = handle
        .thread()
        .join_deadline(Instant::now() + timeout)
        .unwrap_err();
    assert!(err.is_timeout());

    tx.send(()).unwrap();
    let value = handle.join_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(value, "finished");
}

#[test]
fn is_alive_goes_from_true_to_false() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let handle = Builder::new().spawn(move || go_rx.recv().unwrap()).unwrap();
    let thread = handle.thread().clone();
    assert!(thread.is_alive(), "alive as soon as spawn returns");
    assert!(handle.is_alive());
    assert!(!handle.is_finished());
    go_tx.send(()).unwrap();
    thread.join().unwrap();
    assert!(!thread.is_alive());
    assert!(handle.is_finished());
    handle.join().unwrap();
    assert!(!thread.is_alive());
    assert!(thread.to_string().contains("stopped"), "{thread}");
}

#[test]
fn joining_a_thread_from_itself_is_an_error_not_a_deadlock() {
    // Through its Thread handle: current_thread().join().
    let handle = Builder::new()
        .name("self-joiner")
        .spawn(|| {
            let me = current_thread();
            let by_thread = me.join().unwrap_err();
            let by_timeout = me.join_timeout(Duration::from_secs(3600)).unwrap_err();
            (
                by_thread.is_current_thread(),
                by_timeout.is_current_thread(),
                by_thread.to_string(),
            )
        })
        .unwrap();
    let (a, b, message) = handle.join().unwrap();
    assert!(a && b);
    assert!(message.contains("self-joiner"), "{message}");

    // Through its own JoinHandle, sent to it: join_timeout, then join.
    for use_timeout in [true, false] {
        let (tx, rx) = mpsc::channel::<skein_threads::JoinHandle<()>>();
        let (res_tx, res_rx) = mpsc::channel::<bool>();
        let handle = Builder::new()
            .spawn(move || {
                let mine = rx.recv().unwrap();
                let refused = if use_timeout {
                    matches!(
                        mine.join_timeout(Duration::from_secs(3600)),
                        Err(JoinTimeoutError::Failed(e)) if e.is_current_thread()
                    )
                } else {
                    mine.join().is_err_and(|e| e.is_current_thread())
                };
                res_tx.send(refused).unwrap();
            })
            .unwrap();
        let thread = handle.thread().clone();
        tx.send(handle).unwrap();
        assert!(res_rx.recv().unwrap(), "use_timeout = {use_timeout}");
        thread.join().unwrap();
    }
}

#[test]
fn a_foreign_thread_joining_itself_is_an_error_too() {
    // The test harness thread is not a skein thread.
    let err = current_thread().join().unwrap_err();
    assert!(err.is_current_thread());
}

#[test]
fn panics_come_back_from_join_with_message_and_payload() {
    let handle = Builder::new()
        .name("panicker")
        .spawn(|| -> u8 { std::panic::panic_any(41u32) })
        .unwrap();
    let err = handle.join().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.thread_name(), "panicker");
    assert_eq!(err.panic_message(), Some("Box<dyn Any>"));
    let payload = err.try_into_panic().unwrap();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&41));

    let handle = Builder::new()
        .name("panicker-2")
        .spawn(|| -> u8 { panic!("formatted {}", 7) })
        .unwrap();
    let thread = handle.thread().clone();
    // Thread::join reports the message (it cannot own the payload).
    let err = thread.join().unwrap_err();
    assert_eq!(err.panic_message(), Some("formatted 7"));
    assert!(err.try_into_panic().is_err());
    let err = handle.join().unwrap_err();
    assert_eq!(err.panic_message(), Some("formatted 7"));
    assert_eq!(err.to_string(), "thread 'panicker-2' panicked: formatted 7");
}

#[test]
fn the_daemon_flag_is_inherited_unless_set() {
    fn child_daemon() -> bool {
        Builder::new()
            .spawn(|| current_thread().is_daemon())
            .unwrap()
            .join()
            .unwrap()
    }
    let from_non_daemon = Builder::new().daemon(false).spawn(child_daemon).unwrap();
    let from_daemon = Builder::new().daemon(true).spawn(child_daemon).unwrap();
    assert!(!from_non_daemon.thread().is_daemon());
    assert!(from_daemon.thread().is_daemon());
    assert!(!from_non_daemon.join().unwrap());
    assert!(from_daemon.join().unwrap());
    // Explicit beats inherited.
    let explicit = Builder::new()
        .daemon(true)
        .spawn(|| {
            Builder::new()
                .daemon(false)
                .spawn(|| ())
                .unwrap()
                .thread()
                .is_daemon()
        })
        .unwrap();
    assert!(!explicit.join().unwrap());
    // The main thread is not a daemon.
    assert!(!skein_threads::main_thread().is_daemon());
}

#[test]
fn set_name_renames_the_thread_everywhere_skein_reports_it() {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new()
        .name("before")
        .spawn(move || {
            rx.recv().unwrap();
            current_thread().name()
        })
        .unwrap();
    handle.thread().set_name("after");
    assert!(listed("after"));
    assert!(
        !skein_threads::enumerate()
            .iter()
            .any(|t| t == handle.thread() && t.name() == "before")
    );
    tx.send(()).unwrap();
    assert_eq!(handle.join().unwrap(), "after");
}

#[test]
fn names_with_nul_bytes_are_kept_by_skein_and_cleaned_for_the_os() {
    let handle = Builder::new()
        .name("nul\0name")
        .spawn(|| std::thread::current().name().map(str::to_owned))
        .unwrap();
    assert_eq!(handle.thread().name(), "nul\0name");
    assert_eq!(handle.join().unwrap().as_deref(), Some("nulname"));
}

#[test]
fn a_big_stack_size_is_honoured() {
    // 8 MiB of frames: overflows std's 2 MiB default (an abort), fits in 32 MiB.
    fn dig(depth: usize) -> u64 {
        let frame = std::hint::black_box([depth as u8; 1024]);
        if depth == 0 {
            return u64::from(frame[0]);
        }
        dig(depth - 1) + u64::from(frame[1023] & 1)
    }
    let handle = Builder::new()
        .stack_size(32 * 1024 * 1024)
        .spawn(|| dig(8 * 1024))
        .unwrap();
    assert!(handle.join().unwrap() > 0);
}

#[test]
fn a_too_small_stack_size_is_an_error_and_nothing_is_registered() {
    assert!(!listed("tiny-stack"));
    let err = Builder::new()
        .name("tiny-stack")
        .stack_size(MIN_STACK_SIZE - 1)
        .spawn(|| ())
        .unwrap_err();
    assert!(err.is_invalid_stack_size());
    assert!(err.io_error().is_none());
    assert!(err.to_string().contains("too small"), "{err}");
    assert!(!listed("tiny-stack"));
    assert!(
        Builder::new()
            .stack_size(MIN_STACK_SIZE)
            .spawn(|| ())
            .unwrap()
            .join()
            .is_ok()
    );
}

#[test]
fn display_reads_like_python_repr() {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new()
        .name("LoopThread")
        .daemon(true)
        .spawn(move || rx.recv().unwrap())
        .unwrap();
    let ident = handle.thread().ident();
    assert_eq!(
        handle.thread().to_string(),
        format!("<Thread(LoopThread, started daemon {ident})>")
    );
    assert_eq!(
        skein_threads::main_thread().to_string(),
        "<_MainThread(MainThread, started 1)>"
    );
    tx.send(()).unwrap();
    handle.join().unwrap();
    assert!(format!("{:?}", Thread::clone(&skein_threads::main_thread())).contains("MainThread"));
}

#[test]
fn detached_threads_still_run_to_the_end() {
    let (tx, rx) = mpsc::channel();
    let handle = Builder::new()
        .name("detached")
        .spawn(move || tx.send(5).unwrap())
        .unwrap();
    let thread = handle.thread().clone();
    drop(handle);
    assert_eq!(rx.recv_timeout(Duration::from_secs(60)).unwrap(), 5);
    thread.join().unwrap();
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[test]
fn an_os_refusal_to_start_a_thread_is_an_error_and_nothing_is_registered() {
    // A stack larger than the address space: the OS cannot map it (EAGAIN/ENOMEM).
    let err = Builder::new()
        .name("impossible-stack")
        .stack_size(1 << 60)
        .spawn(|| ())
        .unwrap_err();
    assert!(err.io_error().is_some(), "{err:?}");
    assert!(!err.is_invalid_stack_size());
    assert!(
        err.to_string().starts_with("can't start new thread"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert!(!listed("impossible-stack"));
}

#[test]
fn handles_and_errors_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Thread>();
    send_sync::<skein_threads::JoinHandle<u8>>();
    send_sync::<skein_threads::Timer>();
    send_sync::<skein_threads::Builder>();
    // Errors convert into `Box<dyn Error + Send + Sync>`.
    send_sync::<skein_threads::JoinError>();
    send_sync::<skein_threads::SpawnError>();
    send_sync::<JoinTimeoutError<u8>>();
    // A Local holding non-Send values can still be shared: values never cross.
    send_sync::<skein_threads::Local<std::rc::Rc<u8>>>();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(
        Builder::new()
            .spawn(|| -> u8 { panic!("into a boxed error") })
            .unwrap()
            .join()
            .unwrap_err(),
    );
    assert!(boxed.to_string().contains("into a boxed error"));
}

/// CPython's test_threading: joining a dummy thread (one threading did not start)
/// raises `RuntimeError` at once. A thread started with `std::thread` and seen through
/// `current_thread`, still running, is refused immediately instead of waited for.
#[test]
fn joining_a_thread_started_elsewhere_is_an_immediate_error() {
    let (seen_tx, seen_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let foreign = std::thread::spawn(move || {
        seen_tx.send(current_thread()).unwrap();
        release_rx.recv().unwrap();
    });
    let dummy = seen_rx.recv().unwrap();
    // Without the refusal this join would wait for `release`, which is sent only after it.
    let err = dummy.join().unwrap_err();
    assert!(err.is_not_joinable(), "{err}");
    assert!(err.to_string().contains("started outside skein"), "{err}");
    let err = dummy.join_timeout(Duration::from_secs(60)).unwrap_err();
    assert!(err.is_not_joinable(), "{err}");
    release_tx.send(()).unwrap();
    foreign.join().unwrap();
}

#[test]
fn joins_with_a_timeout_too_large_for_an_instant_wait_without_one() {
    // Python accepts any timeout up to TIMEOUT_MAX; here a `Duration::MAX` join is a join
    // with no deadline, never an overflow panic.
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new().spawn(move || rx.recv().unwrap()).unwrap();
    let thread = handle.thread().clone();
    let waiter = Builder::new()
        .spawn(move || thread.join_timeout(Duration::MAX))
        .unwrap();
    tx.send(()).unwrap();
    waiter.join().unwrap().unwrap();
    handle.join_timeout(Duration::MAX).ok().unwrap();
    assert!(skein_threads::join_non_daemon_timeout(Duration::MAX));
}

#[test]
fn an_empty_name_means_the_default_name() {
    // CPython ThreadTests.test_name: `Thread(name="")` is named `Thread-N`.
    let handle = Builder::new().name("").spawn(current_thread).unwrap();
    let name = handle.thread().name();
    assert!(name.starts_with("Thread-"), "{name:?}");
    assert_eq!(handle.join().unwrap().name(), name);
}

#[test]
fn stopped_shows_in_display_without_a_join() {
    // CPython ThreadTests.test_repr_stopped: "stopped" appears on its own once the
    // thread's function is over; test_repr_daemon: "daemon" only for daemons.
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new()
        .daemon(false)
        .spawn(move || rx.recv().unwrap())
        .unwrap();
    let thread = handle.thread().clone();
    let shown = thread.to_string();
    assert!(
        shown.contains("started") && !shown.contains("daemon"),
        "{shown}"
    );
    tx.send(()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !thread.to_string().contains("stopped") {
        assert!(Instant::now() < deadline, "never showed stopped: {thread}");
        std::thread::yield_now();
    }
    handle.join().unwrap();
}

#[test]
fn native_ids_are_distinct_and_set_while_running() {
    // CPython ThreadTests.test_various_ops: every started thread has a native id, all
    // different, and an ident that is not 0.
    let gate = std::sync::Arc::new(std::sync::Barrier::new(11));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let gate = gate.clone();
            Builder::new().spawn(move || gate.wait()).unwrap()
        })
        .collect();
    let mut ids: std::collections::HashSet<Option<u64>> =
        handles.iter().map(|h| h.thread().native_id()).collect();
    ids.insert(skein_threads::get_native_id());
    gate.wait();
    if cfg!(target_os = "linux") {
        assert!(!ids.contains(&None));
        assert_eq!(ids.len(), 11);
    }
    for h in handles {
        let thread = h.thread().clone();
        h.join().unwrap();
        assert!(!thread.is_alive());
        assert_ne!(thread.ident(), 0);
    }
}

#[test]
fn a_thread_started_elsewhere_has_a_stable_ident_and_shows_as_a_dummy() {
    // CPython test_ident_of_no_threading_threads / test_foreign_thread: get_ident() and
    // current_thread().ident agree on a thread threading did not start; it is alive and
    // its repr names _DummyThread.
    let (idents, shown, alive) = std::thread::spawn(|| {
        let before = skein_threads::get_ident();
        let me = current_thread();
        (
            (before, me.ident(), skein_threads::get_ident()),
            me.to_string(),
            me.is_alive(),
        )
    })
    .join()
    .unwrap();
    assert_eq!(idents.0, idents.1);
    assert_eq!(idents.1, idents.2);
    assert_ne!(idents.0, 0);
    assert!(shown.starts_with("<_DummyThread("), "{shown}");
    assert!(shown.contains("daemon"), "{shown}");
    assert!(alive);
}

#[test]
fn many_threads_may_join_one_thread_at_once() {
    // Every joiner wakes when the thread ends (one end, many waiters).
    let (tx, rx) = mpsc::channel::<()>();
    let handle = Builder::new().spawn(move || rx.recv().unwrap()).unwrap();
    let joiners: Vec<_> = (0..6)
        .map(|i| {
            let thread = handle.thread().clone();
            Builder::new()
                .spawn(move || {
                    if i % 2 == 0 {
                        thread.join()
                    } else {
                        thread.join_timeout(Duration::from_secs(60))
                    }
                })
                .unwrap()
        })
        .collect();
    tx.send(()).unwrap();
    for j in joiners {
        j.join().unwrap().unwrap();
    }
    handle.join().unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn long_names_reach_the_os_cut_at_a_character_boundary() {
    // CPython 3.14 ThreadTests.test_set_name: the OS keeps 15 bytes of a thread's name;
    // a name is cut there without splitting a UTF-8 character. skein's own name (and
    // std's) stay whole.
    let comm = || std::fs::read("/proc/thread-self/comm").unwrap();
    for (name, os) in [
        ("ééééééééééé", "ééééééé"), // 2-byte chars: 14 bytes
        ("abcdefghijklmnopqrstuvwxyz", "abcdefghijklmno"), // 15 bytes
        ("€€€€€€€€", "€€€€€"),      // 3-byte chars: exactly 15
        ("short", "short"),
    ] {
        let handle = Builder::new()
            .name(name)
            .spawn(move || (comm(), std::thread::current().name().map(str::to_owned)))
            .unwrap();
        assert_eq!(handle.thread().name(), name);
        let (seen, std_name) = handle.join().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&seen).trim_end(),
            os,
            "for {name:?}"
        );
        assert_eq!(std_name.as_deref(), Some(name));
    }
}
