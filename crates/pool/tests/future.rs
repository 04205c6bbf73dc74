//! `Future` and `Promise`: states, results, callbacks, cancellation.
//! Ported in spirit from CPython's `test_concurrent_futures` (FutureTests), in our own words.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use skein_pool::{Promise, ResultTimeoutError, Submit, TaskError, ThreadPoolExecutor};

#[test]
fn promise_smoke() {
    let (promise, future) = Promise::new();
    assert!(!future.done());
    assert!(!future.running());
    assert!(promise.set_running());
    assert!(future.running());
    promise.set_result(5);
    assert!(future.done());
    assert!(!future.running());
    assert_eq!(*future.result().unwrap(), 5);
    assert_eq!(*future.result().unwrap(), 5, "result can be read again");
    assert!(future.exception().is_none());
    assert_eq!(future.into_result().unwrap(), 5);
}

#[test]
fn promise_error_and_drop() {
    let (promise, future) = Promise::<u8>::new();
    promise.set_error(TaskError::Panicked("boom".into()));
    assert!(matches!(future.result(), Err(TaskError::Panicked(m)) if &*m == "boom"));
    assert!(future.exception().is_some());

    let (promise, future) = Promise::<u8>::new();
    drop(promise);
    assert!(
        matches!(future.result(), Err(TaskError::Lost(_))),
        "a dropped promise never hangs"
    );
}

#[test]
fn cancel_pending_then_running_refuses() {
    let (promise, future) = Promise::<u8>::new();
    assert!(future.cancel());
    assert!(future.cancel(), "cancelling twice still says cancelled");
    assert!(future.cancelled());
    assert!(future.done());
    assert!(!promise.set_running(), "a cancelled job must not run");
    assert!(matches!(future.result(), Err(TaskError::Cancelled)));

    let (promise, future) = Promise::<u8>::new();
    assert!(promise.set_running());
    assert!(!future.cancel(), "a running future cannot be cancelled");
    assert!(!future.cancelled());
    promise.set_result(1);
    assert!(!future.cancel(), "a finished future cannot be cancelled");
    assert_eq!(*future.result().unwrap(), 1);
}

#[test]
fn result_timeout_times_out_then_succeeds() {
    let (promise, future) = Promise::<u8>::new();
    let start = Instant::now();
    let err = future
        .result_timeout(Duration::from_millis(30))
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(start.elapsed() >= Duration::from_millis(30));
    promise.set_result(9);
    assert_eq!(*future.result_timeout(Duration::from_secs(10)).unwrap(), 9);
    assert!(future.wait_timeout(Duration::ZERO));
}

#[test]
fn result_timeout_reports_failure() {
    let (promise, future) = Promise::<u8>::new();
    promise.set_error(TaskError::Cancelled);
    assert!(matches!(
        future.result_timeout(Duration::from_secs(1)),
        Err(ResultTimeoutError::Failed(TaskError::Cancelled))
    ));
}

#[test]
fn callbacks_run_in_order_exactly_once() {
    let (promise, future) = Promise::<u32>::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    for id in 0..3 {
        let log = log.clone();
        future.add_done_callback(move |f| log.lock().unwrap().push((id, *f.result().unwrap())));
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "callbacks wait for completion"
    );
    promise.set_result(7);
    assert_eq!(*log.lock().unwrap(), vec![(0, 7), (1, 7), (2, 7)]);
    // Added after completion: runs at once, on this thread.
    let log2 = log.clone();
    future.add_done_callback(move |_| log2.lock().unwrap().push((3, 0)));
    assert_eq!(log.lock().unwrap().len(), 4);
}

#[test]
fn callback_runs_on_cancel() {
    let (_promise, future) = Promise::<u32>::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    future.add_done_callback(move |f| {
        assert!(f.cancelled());
        s.fetch_add(1, Ordering::SeqCst);
    });
    assert!(future.cancel());
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}

#[test]
fn panicking_callback_is_not_fatal() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let future = pool.submit(move || rx.recv().unwrap()).unwrap();
    let after = Arc::new(AtomicUsize::new(0));
    future.add_done_callback(|_| panic!("callback boom"));
    let a = after.clone();
    future.add_done_callback(move |_| {
        a.fetch_add(1, Ordering::SeqCst);
    });
    tx.send(()).unwrap();
    assert!(future.result().is_ok(), "the future keeps its value");
    // The second callback ran on the worker before the result became visible to us, or
    // right after; either way it runs, and the worker survives.
    let next = pool.submit(|| 2).unwrap();
    assert_eq!(*next.result().unwrap(), 2);
    assert_eq!(after.load(Ordering::SeqCst), 1);
}

#[test]
fn into_result_waits_for_callbacks_holding_the_future() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (gate_tx, gate_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let future = pool
        .submit(move || {
            gate_rx.recv().unwrap();
            String::from("value")
        })
        .unwrap();
    let finished = Arc::new(AtomicUsize::new(0));
    let fin = finished.clone();
    // Registered while the task is surely pending, so it runs on the worker. It holds a
    // handle until `into_result` (below) is known to wait for it: an `into_result` that
    // did not wait would return first, and the callback, giving up, would fail the test.
    future.add_done_callback(move |f| {
        started_tx.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f.into_result_is_waiting() {
            assert!(
                Instant::now() < deadline,
                "into_result never waited for the callback"
            );
            std::thread::yield_now();
        }
        assert_eq!(f.result().unwrap(), "value");
        fin.store(1, Ordering::SeqCst);
    });
    gate_tx.send(()).unwrap();
    started_rx.recv().unwrap();
    assert_eq!(future.into_result().unwrap(), "value");
    assert_eq!(
        finished.load(Ordering::SeqCst),
        1,
        "the callback finished first"
    );
}

/// `.await` on a future whose done-callback is still running (reading the value through
/// its view) is `Pending` and is not woken — no self-wake polling loop — until the callback
/// returns; then it is woken once and gets the value. The interleaving is forced with
/// channels: the callback holds until the poll has happened.
#[test]
fn awaiting_waits_for_a_running_callback_and_is_woken_when_it_ends() {
    use std::future::{Future as _, IntoFuture};
    use std::pin::pin;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    let (promise, future) = Promise::new();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    future.add_done_callback(move |f| {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        assert_eq!(f.result().unwrap(), "value");
    });
    let completer = std::thread::spawn(move || promise.set_result(String::from("value")));
    started_rx.recv().unwrap();

    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    let mut awaiting = pin!(future.into_future());
    assert!(awaiting.as_mut().poll(&mut cx).is_pending());
    assert!(awaiting.as_mut().poll(&mut cx).is_pending());
    assert_eq!(count.0.load(Ordering::SeqCst), 0, "not woken while it runs");

    release_tx.send(()).unwrap();
    completer.join().unwrap();
    assert!(
        count.0.load(Ordering::SeqCst) >= 1,
        "woken when the callback ended"
    );
    match awaiting.as_mut().poll(&mut cx) {
        Poll::Ready(value) => assert_eq!(value.unwrap(), "value"),
        Poll::Pending => panic!("still pending after the callback ended"),
    }
}

/// `into_result` on a future whose callback runs blocks (parked on the state's condition
/// variable, no polling) until the callback returns, then moves the value out; on a
/// promise-based future too, and with several callbacks, all of which end first.
#[test]
fn into_result_blocks_until_every_callback_ends() {
    let (promise, future) = Promise::new();
    let ended = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel::<()>();
    for i in 0..3 {
        let ended = ended.clone();
        let started_tx = started_tx.clone();
        future.add_done_callback(move |f| {
            if i == 1 {
                // Hold until `into_result` is known to be blocked on us.
                started_tx.send(()).unwrap();
                let deadline = Instant::now() + Duration::from_secs(60);
                while !f.into_result_is_waiting() {
                    assert!(Instant::now() < deadline, "into_result never waited");
                    std::thread::yield_now();
                }
            }
            assert_eq!(f.result().unwrap(), &vec![1, 2, 3]);
            ended.fetch_add(1, Ordering::SeqCst);
        });
    }
    let completer = std::thread::spawn(move || promise.set_result(vec![1, 2, 3]));
    started_rx.recv().unwrap();
    assert_eq!(future.into_result().unwrap(), [1, 2, 3]);
    assert_eq!(
        ended.load(Ordering::SeqCst),
        3,
        "every callback ended first"
    );
    completer.join().unwrap();
}

/// Stress (bounded): completions with callbacks racing `into_result` and `.await` on the
/// other thread; every value is moved out exactly once and dropped exactly once (a live
/// counter catches a double drop or a leak), and nothing hangs.
#[test]
fn into_result_racing_callbacks_moves_each_value_once() {
    struct Live(Arc<AtomicUsize>, u32);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    const N: u32 = 2_000;
    let live = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let mut promises = Vec::new();
    let mut futures = Vec::new();
    for i in 0..N {
        let (promise, future) = Promise::<Live>::new();
        if i % 2 == 0 {
            let seen = seen.clone();
            future.add_done_callback(move |f| {
                assert_eq!(f.result().unwrap().1, i);
                seen.fetch_add(1, Ordering::SeqCst);
            });
        }
        promises.push(promise);
        futures.push(future);
    }
    let completer_live = live.clone();
    let completer = std::thread::spawn(move || {
        for (i, promise) in (0..N).zip(promises) {
            completer_live.fetch_add(1, Ordering::SeqCst);
            promise.set_result(Live(completer_live.clone(), i));
        }
    });
    for (i, future) in (0..N).zip(futures) {
        let value = if i % 3 == 0 {
            block_on(std::future::IntoFuture::into_future(future))
        } else {
            future.into_result()
        };
        assert_eq!(value.unwrap().1, i);
    }
    completer.join().unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), N as usize / 2);
    assert_eq!(live.load(Ordering::SeqCst), 0, "each value dropped once");
}

/// A minimal executor for one future: parks the thread until woken.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn debug_shows_state() {
    let (promise, future) = Promise::<u8>::new();
    assert!(format!("{future:?}").contains("pending"));
    assert!(promise.set_running());
    assert!(format!("{future:?}").contains("running"));
    promise.set_result(1);
    assert!(format!("{future:?}").contains("finished"));
    let (_p, f2) = Promise::<u8>::new();
    f2.cancel();
    assert!(format!("{f2:?}").contains("cancelled"));
}

// CPython `test_done_callback_with_exception`, `..._already_failed`, `..._already_cancelled`:
// a callback sees the error or the cancel, whether it was added before or after.
#[test]
fn callbacks_see_errors_and_cancels_added_before_or_after() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let note = |seen: &Arc<Mutex<Vec<String>>>, tag: &'static str| {
        let seen = seen.clone();
        move |f: &skein_pool::Future<u8>| {
            let what = match f.result() {
                Ok(v) => format!("{tag}: value {v}"),
                Err(e) if f.cancelled() => format!("{tag}: cancelled {}", e.is_cancelled()),
                Err(e) => format!("{tag}: error {}", e.is_panic()),
            };
            seen.lock().unwrap().push(what);
        }
    };
    let (promise, failed) = Promise::<u8>::new();
    failed.add_done_callback(note(&seen, "before error"));
    promise.set_error(TaskError::Panicked("test".into()));
    failed.add_done_callback(note(&seen, "after error"));

    let (_promise, cancelled) = Promise::<u8>::new();
    cancelled.add_done_callback(note(&seen, "before cancel"));
    assert!(cancelled.cancel());
    cancelled.add_done_callback(note(&seen, "after cancel"));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "before error: error true",
            "after error: error true",
            "before cancel: cancelled true",
            "after cancel: cancelled true",
        ]
    );
}

// CPython `test_result_with_timeout`, `test_exception_with_timeout`, `test_done`,
// `test_running`, `test_cancelled`: a zero timeout reads each state without waiting.
#[test]
fn zero_timeout_reads_every_state() {
    let (_p1, pending) = Promise::<u8>::new();
    let (p2, running) = Promise::<u8>::new();
    assert!(p2.set_running());
    let (_p3, cancelled) = Promise::<u8>::new();
    assert!(cancelled.cancel());
    let (p4, failed) = Promise::<u8>::new();
    p4.set_error(TaskError::Panicked("OSError".into()));
    let (p5, succeeded) = Promise::<u8>::new();
    p5.set_result(42);

    let zero = Duration::ZERO;
    assert!(pending.result_timeout(zero).unwrap_err().is_timeout());
    assert!(running.result_timeout(zero).unwrap_err().is_timeout());
    assert!(matches!(
        cancelled.result_timeout(zero),
        Err(ResultTimeoutError::Failed(TaskError::Cancelled))
    ));
    assert!(matches!(
        failed.result_timeout(zero),
        Err(ResultTimeoutError::Failed(TaskError::Panicked(m))) if &*m == "OSError"
    ));
    assert_eq!(*succeeded.result_timeout(zero).unwrap(), 42);
    assert!(succeeded.exception().is_none());
    assert!(failed.exception().is_some_and(|e| e.is_panic()));
    assert!(cancelled.exception().is_some_and(|e| e.is_cancelled()));

    let states = |f: &skein_pool::Future<u8>| (f.done(), f.running(), f.cancelled());
    assert_eq!(states(&pending), (false, false, false));
    assert_eq!(states(&running), (false, true, false));
    assert_eq!(states(&cancelled), (true, false, true));
    assert_eq!(states(&failed), (true, false, false));
    assert_eq!(states(&succeeded), (true, false, false));
    // Only a pending future can be cancelled (a cancelled one stays cancelled).
    assert!(!running.cancel());
    assert!(!failed.cancel());
    assert!(!succeeded.cancel());
    assert!(cancelled.cancel());
}

// CPython `test_result_with_success` / `test_result_with_cancel`: a thread blocked in
// `result` is released by the value or by a cancel from another thread.
#[test]
fn a_blocked_result_is_released_by_a_value_or_a_cancel() {
    for cancel in [false, true] {
        let (promise, future) = Promise::<u8>::new();
        let future = Arc::new(future);
        let (started_tx, started_rx) = mpsc::channel();
        let waiter = {
            let future = future.clone();
            std::thread::spawn(move || {
                started_tx.send(()).unwrap();
                match future.result_timeout(Duration::from_secs(60)) {
                    Ok(v) => Ok(*v),
                    Err(e) => Err(e),
                }
            })
        };
        started_rx.recv().unwrap();
        if cancel {
            assert!(future.cancel());
            assert!(matches!(
                waiter.join().unwrap(),
                Err(ResultTimeoutError::Failed(TaskError::Cancelled))
            ));
            drop(promise);
        } else {
            promise.set_result(42);
            assert_eq!(waiter.join().unwrap().unwrap(), 42);
        }
    }
}

// CPython `test_repr`: `<Future at 0x… state=finished returned int>` / `raised OSError`.
#[test]
fn debug_says_what_a_finished_future_holds() {
    let (promise, ok) = Promise::<u8>::new();
    promise.set_result(1);
    let s = format!("{ok:?}");
    assert!(
        s.contains("finished") && s.contains("returned") && s.contains("u8"),
        "{s}"
    );

    let (promise, bad) = Promise::<u8>::new();
    promise.set_error(TaskError::Panicked("boom".into()));
    let s = format!("{bad:?}");
    assert!(
        s.contains("finished") && s.contains("raised") && s.contains("boom"),
        "{s}"
    );

    let (promise, cancelled) = Promise::<u8>::new();
    assert!(promise.cancel());
    let s = format!("{cancelled:?}");
    assert!(s.contains("cancelled") && !s.contains("raised"), "{s}");
}

// Re-entrancy (CPython runs a callback added to a done future at once, even from inside
// another callback): a callback that adds a callback to its own future, or reads its
// state, must neither deadlock nor lose the inner callback.
#[test]
fn a_callback_may_add_callbacks_to_its_own_future() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (promise, future) = Promise::<u8>::new();
    let l = log.clone();
    future.add_done_callback(move |f| {
        l.lock().unwrap().push(format!("outer {}", f.done()));
        let l2 = l.clone();
        f.add_done_callback(move |g| {
            l2.lock()
                .unwrap()
                .push(format!("inner {:?}", g.result().ok()))
        });
        l.lock()
            .unwrap()
            .push(format!("outer again {}", f.cancel()));
    });
    let setter = std::thread::spawn(move || promise.set_result(5));
    setter.join().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        ["outer true", "inner Some(5)", "outer again false"]
    );
}
