//! `ThreadPoolExecutor`: submit, map, wait, as_completed, shutdown, names, failures.
//! Ported in spirit from CPython's `test_concurrent_futures` (executor, wait, as_completed,
//! shutdown tests), in our own words; ordering is forced with channels, not sleeps.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_pool::{
    Executor, MapError, ReturnWhen, Submit, SubmitError, TaskError, ThreadPoolExecutor,
    as_completed, wait, wait_timeout,
};

fn current_name() -> String {
    thread::current().name().unwrap_or("").to_owned()
}

/// Submits a task that returns `value` once released, and returns when it is running
/// (so a one-worker pool is busy): its future and the sender that releases it.
fn start_blocker<T: Send + Sync + 'static>(
    pool: &ThreadPoolExecutor,
    value: T,
) -> (skein_pool::Future<T>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let future = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            value
        })
        .unwrap();
    started_rx.recv().unwrap();
    (future, release_tx)
}

#[test]
fn submit_smoke() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let f = pool.submit(|| 40 + 2).unwrap();
    assert_eq!(*f.result().unwrap(), 42);
    assert_eq!(pool.max_workers(), 2);
    assert!(!pool.is_shutdown());
}

#[test]
fn zero_workers_is_an_error() {
    assert!(ThreadPoolExecutor::new(0).is_err());
}

#[test]
fn panic_fails_only_its_own_future() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let bad = pool.submit(|| -> u32 { panic!("task boom") }).unwrap();
    let good = pool.submit(|| 1u32).unwrap();
    match bad.result() {
        Err(TaskError::Panicked(msg)) => assert!(msg.contains("task boom")),
        other => panic!("expected a panic error, got {other:?}"),
    }
    assert_eq!(*good.result().unwrap(), 1);
    assert_eq!(
        *pool.submit(|| 2u32).unwrap().result().unwrap(),
        2,
        "the worker survived"
    );
}

#[test]
fn cancel_before_start_and_after() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (blocker, release_tx) = start_blocker(&pool, ());
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .unwrap();
    assert!(blocker.running());
    assert!(!blocker.cancel(), "running tasks cannot be cancelled");
    assert!(queued.cancel(), "queued tasks can");
    assert!(queued.cancelled() && queued.done());
    release_tx.send(()).unwrap();
    blocker.result().unwrap();
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst), "a cancelled task never runs");
    assert!(matches!(queued.result(), Err(TaskError::Cancelled)));
}

#[test]
fn fifo_on_one_worker() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let futures: Vec<_> = (0..100)
        .map(|i| {
            let log = log.clone();
            pool.submit(move || log.lock().unwrap().push(i)).unwrap()
        })
        .collect();
    for f in &futures {
        f.wait();
    }
    assert_eq!(*log.lock().unwrap(), (0..100).collect::<Vec<_>>());
}

#[test]
fn map_keeps_order() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let out: Vec<u64> = pool
        .map(|x: u64| x * x, 0..200)
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..200u64).map(|x| x * x).collect::<Vec<_>>());
}

#[test]
fn map_is_lazy_on_an_endless_iterator() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0u64..).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let mut map = pool.map(|x| x + 1, items);
    let first: Vec<u64> = map.by_ref().take(10).map(Result::unwrap).collect();
    assert_eq!(first, (1..=10).collect::<Vec<_>>());
    let window = 2 * pool.max_workers();
    let n = pulled.load(Ordering::SeqCst);
    assert!(
        n <= 10 + window,
        "pulled {n} items, at most {} allowed",
        10 + window
    );
    assert!(map.in_flight() <= window);
}

#[test]
fn map_window_bounds_in_flight() {
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (running.clone(), peak.clone());
    let out: Vec<usize> = pool
        .map(
            move |x: usize| {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                thread::yield_now();
                r.fetch_sub(1, Ordering::SeqCst);
                x
            },
            0..500,
        )
        .window(1)
        .map(Result::unwrap)
        .collect();
    assert_eq!(out.len(), 500);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        1,
        "window(1) runs one item at a time"
    );
}

#[test]
fn map_timeout_ends_the_iterator() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    // Item 0 is done before the map checks it (the input hands out item 1 only once item 0
    // has run), so it yields its value however slow the machine; item 1 never is.
    let (ran_0_tx, ran_0_rx) = mpsc::channel::<()>();
    let items = (0..5).inspect(move |&x| {
        if x == 1 {
            ran_0_rx.recv().unwrap();
        }
    });
    let start = Instant::now();
    let mut map = pool
        .map(
            move |x: u32| {
                match x {
                    0 => ran_0_tx.send(()).unwrap(),
                    1 => release_rx.lock().unwrap().recv().unwrap(),
                    _ => {}
                }
                x
            },
            items,
        )
        .timeout(Duration::from_millis(50));
    assert_eq!(map.next().unwrap().unwrap(), 0);
    assert!(matches!(map.next(), Some(Err(MapError::Timeout))));
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(map.next().is_none(), "the iterator ends after a timeout");
    drop(map);
    release_tx.send(()).unwrap();
}

#[test]
fn map_reports_item_panics_in_place() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let out: Vec<Result<u32, MapError>> = pool
        .map(|x: u32| if x == 2 { panic!("bad item") } else { x }, 0..4)
        .collect();
    assert_eq!(out.len(), 4);
    assert!(matches!(
        out[2],
        Err(MapError::Failed(TaskError::Panicked(_)))
    ));
    assert_eq!(*out[3].as_ref().unwrap(), 3);
}

#[test]
fn map_after_shutdown_says_so() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown(true, false);
    let out: Vec<_> = pool.map(|x: u8| x, 0..3).collect();
    assert!(matches!(out.as_slice(), [Err(MapError::ShutDown)]));
}

#[test]
fn as_completed_yields_each_once_in_completion_order() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let futures: Vec<_> = (0..50).map(|i| pool.submit(move || i).unwrap()).collect();
    let order: Vec<i32> = as_completed(futures)
        .map(|f| *f.result().unwrap())
        .collect();
    assert_eq!(
        order,
        (0..50).collect::<Vec<_>>(),
        "one FIFO worker completes in order"
    );

    let pool = ThreadPoolExecutor::new(4).unwrap();
    let futures: Vec<_> = (0..200).map(|i| pool.submit(move || i).unwrap()).collect();
    let seen: Vec<i32> = as_completed(futures)
        .map(|f| *f.result().unwrap())
        .collect();
    assert_eq!(seen.len(), 200);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 200);
}

#[test]
fn as_completed_timeout() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let futures = vec![
        pool.submit(|| 1).unwrap(),
        pool.submit(move || rx.recv().map(|_| 2).unwrap()).unwrap(),
    ];
    let mut it = as_completed(futures);
    let first = it.next_timeout(Duration::from_secs(10)).unwrap().unwrap();
    assert_eq!(*first.result().unwrap(), 1);
    let start = Instant::now();
    let err = it.next_timeout(Duration::from_millis(30)).unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(30));
    // Python: "1 (of 2) futures unfinished".
    assert_eq!((err.unfinished(), err.total()), (1, 2));
    assert_eq!(err.to_string(), "1 (of 2) futures unfinished");
    tx.send(()).unwrap();
    let second = it.next().unwrap();
    assert_eq!(*second.result().unwrap(), 2);
    assert!(it.next().is_none());
}

#[test]
fn wait_first_completed() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let futures = vec![
        pool.submit(move || rx.recv().map(|_| 0).unwrap()).unwrap(),
        pool.submit(|| 1).unwrap(),
    ];
    let done = wait(&futures, ReturnWhen::FirstCompleted);
    assert_eq!(done.done, vec![1]);
    assert_eq!(done.not_done, vec![0]);
    tx.send(()).unwrap();
    let all = wait(&futures, ReturnWhen::AllCompleted);
    assert_eq!(all.done, vec![0, 1]);
}

#[test]
fn wait_first_exception() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let futures = vec![
        pool.submit(move || rx.recv().map(|_| 0).unwrap()).unwrap(),
        pool.submit(|| -> i32 { panic!("first exception") })
            .unwrap(),
    ];
    let done = wait(&futures, ReturnWhen::FirstException);
    assert_eq!(done.done, vec![1]);
    tx.send(()).unwrap();
    // Without any failure, FirstException waits for all.
    let ok: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    let done = wait(&ok, ReturnWhen::FirstException);
    assert_eq!(done.done.len(), 5);
}

#[test]
fn wait_cancel_is_not_an_exception() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let blocker = pool.submit(move || rx.recv().unwrap()).unwrap();
    let queued = pool.submit(|| ()).unwrap();
    queued.cancel();
    let futures = vec![blocker, queued];
    let done = wait_timeout(
        &futures,
        ReturnWhen::FirstException,
        Duration::from_millis(30),
    );
    assert_eq!(
        done.not_done,
        vec![0],
        "a cancel does not end FirstException early"
    );
    tx.send(()).unwrap();
}

#[test]
fn wait_all_completed_timeout() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let futures = vec![
        pool.submit(|| ()).unwrap(),
        pool.submit(move || rx.recv().unwrap()).unwrap(),
    ];
    futures[0].wait(); // not left to luck within the timeout
    let start = Instant::now();
    let done = wait_timeout(
        &futures,
        ReturnWhen::AllCompleted,
        Duration::from_millis(40),
    );
    assert!(start.elapsed() >= Duration::from_millis(40));
    assert_eq!(done.done, vec![0]);
    assert_eq!(done.not_done, vec![1]);
    tx.send(()).unwrap();
}

#[test]
fn submit_after_shutdown_hands_the_task_back() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown(true, false);
    assert!(pool.is_shutdown());
    let err = pool.submit(|| 5).unwrap_err();
    assert!(err.is_shut_down());
    assert!(err.to_string().contains("shutdown"));
    let job = err.into_inner();
    assert_eq!(job(), 5);
}

#[test]
fn shutdown_wait_runs_everything_queued() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let c = count.clone();
        let _ = pool.submit(move || {
            c.fetch_add(1, Ordering::SeqCst);
        });
    }
    pool.shutdown(true, false);
    assert_eq!(count.load(Ordering::SeqCst), 100);
    pool.shutdown(true, false); // harmless twice
}

#[test]
fn shutdown_nowait_returns_and_cancel_futures_cancels_queued() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (running, release_tx) = start_blocker(&pool, "ran");
    let queued: Vec<_> = (0..5).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.shutdown(false, true); // returns at once although a task is running
    for f in &queued {
        assert!(matches!(f.result(), Err(TaskError::Cancelled)));
    }
    release_tx.send(()).unwrap();
    assert_eq!(
        *running.result().unwrap(),
        "ran",
        "the running task finishes"
    );
}

#[test]
fn shutdown_timeout_returns_with_a_stuck_task() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (stuck, release_tx) = start_blocker(&pool, ());
    let start = Instant::now();
    assert!(!pool.shutdown_timeout(Duration::from_millis(50), false));
    assert!(start.elapsed() >= Duration::from_millis(50));
    release_tx.send(()).unwrap();
    stuck.result().unwrap();
    assert!(pool.shutdown_timeout(Duration::from_secs(30), false));
}

#[test]
fn drop_waits_like_with() {
    let count = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPoolExecutor::new(2).unwrap();
        for _ in 0..50 {
            let c = count.clone();
            let _ = pool.submit(move || {
                thread::yield_now();
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    }
    assert_eq!(count.load(Ordering::SeqCst), 50);
}

#[test]
fn threads_are_named_and_enumerated() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let name = pool.submit(current_name).unwrap().into_result().unwrap();
    assert!(name.starts_with("ThreadPoolExecutor-"), "{name}");
    assert!(name.ends_with("_0"), "{name}");
    let names: Vec<String> = skein_threads::enumerate()
        .iter()
        .map(|t| t.name())
        .collect();
    assert!(names.contains(&name), "{name} not in {names:?}");

    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("io")
        .build()
        .unwrap();
    let name = pool.submit(current_name).unwrap().into_result().unwrap();
    assert_eq!(name, "io_0");
}

#[test]
fn workers_start_lazily_up_to_max() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    assert_eq!(pool.worker_count(), 0);
    let barrier = Arc::new(Barrier::new(4));
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
            })
            .unwrap()
        })
        .collect();
    barrier.wait(); // only possible if three workers run at once
    for f in &futures {
        f.wait();
    }
    assert_eq!(pool.worker_count(), 3);
    for _ in 0..20 {
        pool.submit(|| ()).unwrap().wait();
    }
    assert_eq!(pool.worker_count(), 3, "never more than max_workers");
}

#[test]
fn initializer_runs_per_worker_and_a_panicking_one_breaks_the_pool() {
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(move || {
            i.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    pool.submit(|| ()).unwrap().wait();
    assert_eq!(inits.load(Ordering::SeqCst), 1);

    let broken = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(|| panic!("init boom"))
        .build()
        .unwrap();
    let first = broken.submit(|| 1).unwrap();
    assert!(matches!(first.result(), Err(TaskError::Broken(_))));
    assert!(matches!(broken.submit(|| 1), Err(SubmitError::Broken(_))));
}

#[test]
fn failed_spawn_is_an_error_with_the_task() {
    // A stack below skein-threads' minimum makes every spawn fail.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .stack_size(1)
        .build()
        .unwrap();
    match pool.submit(|| 7) {
        Err(SubmitError::Spawn(job, e)) => {
            assert!(e.is_invalid_stack_size());
            assert_eq!(job(), 7, "the task comes back unrun");
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn task_waiting_on_a_task_of_the_same_pool_does_not_deadlock() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let p = pool.clone();
    let outer = pool
        .submit(move || {
            let inner = p.submit(|| 21).unwrap();
            inner.into_result().unwrap() * 2
        })
        .unwrap();
    assert_eq!(outer.into_result().unwrap(), 42);
    // Nested several levels on a pool with enough workers.
    fn nest(pool: Arc<ThreadPoolExecutor>, depth: u32) -> u32 {
        if depth == 0 {
            return 0;
        }
        let p = pool.clone();
        let f = pool.submit(move || nest(p, depth - 1)).unwrap();
        f.into_result().unwrap() + 1
    }
    let deep = Arc::new(ThreadPoolExecutor::new(6).unwrap());
    assert_eq!(nest(deep, 5), 5);
}

#[test]
fn blocked_worker_never_runs_unrelated_tasks() {
    let pool = Arc::new(ThreadPoolExecutor::new(3).unwrap());
    let (release_b_tx, release_b_rx) = mpsc::channel::<()>();
    let b = pool
        .submit(move || {
            release_b_rx.recv().unwrap();
            current_name()
        })
        .unwrap();
    let (fb_tx, fb_rx) = mpsc::channel();
    let (blocking_tx, blocking_rx) = mpsc::channel();
    let a = pool
        .submit(move || {
            let fb: skein_pool::Future<String> = fb_rx.recv().unwrap();
            blocking_tx.send(current_name()).unwrap();
            fb.result().unwrap().clone()
        })
        .unwrap();
    fb_tx.send(b).unwrap();
    let a_thread = blocking_rx.recv().unwrap();
    // A is blocked in `result()`; these must all run elsewhere.
    let others: Vec<_> = (0..30)
        .map(|_| pool.submit(current_name).unwrap())
        .collect();
    for f in others {
        let name = f.into_result().unwrap();
        assert_ne!(
            name, a_thread,
            "a task ran on the stack of a blocked worker"
        );
    }
    release_b_tx.send(()).unwrap();
    let b_thread = a.into_result().unwrap();
    assert_ne!(b_thread, a_thread);
}

#[test]
fn stress_every_task_resolves_exactly_once() {
    const THREADS: usize = 3;
    const PER: usize = 3_000;
    let pool = Arc::new(ThreadPoolExecutor::new(4).unwrap());
    let runs: Arc<Vec<AtomicU8>> = Arc::new((0..THREADS * PER).map(|_| AtomicU8::new(0)).collect());
    let deadline = Instant::now() + Duration::from_secs(60);
    let submitters: Vec<_> = (0..THREADS)
        .map(|t| {
            let pool = pool.clone();
            let runs = runs.clone();
            thread::spawn(move || {
                let mut futures = Vec::with_capacity(PER);
                for i in 0..PER {
                    let id = t * PER + i;
                    let runs = runs.clone();
                    let f = pool
                        .submit(move || {
                            runs[id].fetch_add(1, Ordering::SeqCst);
                            id
                        })
                        .unwrap();
                    let cancelled = i % 7 == 0 && f.cancel();
                    futures.push((id, f, cancelled));
                }
                for (id, f, cancelled) in futures {
                    assert!(f.wait_deadline(deadline), "task {id} never resolved");
                    if cancelled {
                        assert!(f.cancelled());
                    } else {
                        assert_eq!(*f.result().unwrap(), id);
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    pool.shutdown(true, false);
    for (id, r) in runs.iter().enumerate() {
        assert!(r.load(Ordering::SeqCst) <= 1, "task {id} ran twice");
    }
}

#[test]
fn into_result_of_a_cancelled_queued_task_returns_at_once() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (blocker, release_tx) = start_blocker(&pool, ());
    let queued = pool.submit(|| 1).unwrap();
    assert!(queued.cancel());
    // The task still sits in the queue behind the blocker; the error comes back anyway.
    assert!(matches!(queued.into_result(), Err(TaskError::Cancelled)));
    release_tx.send(()).unwrap();
    blocker.into_result().unwrap();
}

/// Jobs submitted one by one, each while the workers are (about to be) asleep, from two
/// submitters at once: a lost wake-up would leave a job queued with every worker asleep,
/// and its `result_timeout` would fail (the bound is generous; each job is a no-op).
#[test]
fn sparse_submissions_always_wake_a_worker() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let submitters: Vec<_> = (0..2u64)
        .map(|s| {
            let pool = pool.clone();
            thread::spawn(move || {
                for i in 0..300u64 {
                    let f = pool.submit(move || i).unwrap();
                    assert_eq!(*f.result_timeout(Duration::from_secs(20)).unwrap(), i);
                    // Vary the gap so submissions land at every point of a worker's
                    // spin-then-sleep path.
                    if (i + s) % 3 == 0 {
                        thread::sleep(Duration::from_micros(20 + (i * 37) % 400));
                    }
                }
            })
        })
        .collect();
    for t in submitters {
        t.join().unwrap();
    }
}

// CPython `test_no_stale_references` (issue 16284): once a task ran, the pool keeps
// nothing its closure captured, whether the future was kept or thrown away.
#[test]
fn a_finished_task_keeps_nothing_it_captured() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let token = Arc::new(());
    let t = token.clone();
    let kept = pool.submit(move || drop(t)).unwrap();
    kept.result().unwrap();
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "a kept future holds its closure"
    );

    let (done_tx, done_rx) = mpsc::channel();
    let t = token.clone();
    drop(pool.submit(move || {
        let _still_captured = &t;
        done_tx.send(()).unwrap();
    }));
    done_rx.recv().unwrap();
    // The task's closure is dropped right after it returns, on the worker.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Arc::strong_count(&token) != 1 {
        assert!(
            Instant::now() < deadline,
            "the discarded task was never freed"
        );
        thread::yield_now();
    }
}

// CPython `test_free_reference` (issue 14406): the map iterator hands values out, it does
// not keep them.
#[test]
fn map_hands_its_values_out() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let token = Arc::new(());
    let t = token.clone();
    for value in pool.map(move |_: u8| t.clone(), 0..10) {
        let value = value.unwrap();
        assert!(Arc::strong_count(&value) >= 2);
        drop(value);
    }
    // The map (and its closure) is gone: only ours is left.
    assert_eq!(Arc::strong_count(&token), 1);
}

// CPython `test_executor_map_current_future_cancel`: a map that times out on a busy pool
// cancels every item it had submitted; none of them ever runs.
#[test]
fn a_map_timing_out_on_a_busy_pool_runs_none_of_its_items() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (first, release_tx) = start_blocker(&pool, "first");
    let ran = Arc::new(Mutex::new(Vec::new()));
    let r = ran.clone();
    {
        let mut map = pool
            .map(
                move |x: &'static str| r.lock().unwrap().push(x),
                ["second", "third"],
            )
            .timeout(Duration::ZERO);
        assert!(matches!(map.next(), Some(Err(MapError::Timeout))));
        assert!(map.next().is_none());
    }
    release_tx.send(()).unwrap();
    assert_eq!(*first.result().unwrap(), "first");
    pool.shutdown(true, false);
    assert!(
        ran.lock().unwrap().is_empty(),
        "ran: {:?}",
        ran.lock().unwrap()
    );
}

// CPython `test_cancel_futures` (shutdown(wait=True, cancel_futures=True)): the queued
// tasks are cancelled, the running one finishes, and shutdown returns after it.
#[test]
fn shutdown_wait_with_cancel_futures() {
    let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
    let (running, release_tx) = start_blocker(&pool, 7);
    let queued: Arc<Vec<_>> = Arc::new((0..20).map(|i| pool.submit(move || i).unwrap()).collect());
    let releaser = {
        let queued = queued.clone();
        thread::spawn(move || {
            // Released only once shutdown has cancelled the queue (it must not wait for
            // the queue to run first).
            let deadline = Instant::now() + Duration::from_secs(60);
            while !queued.iter().all(|f| f.cancelled()) {
                assert!(
                    Instant::now() < deadline,
                    "shutdown did not cancel the queue"
                );
                thread::yield_now();
            }
            release_tx.send(()).unwrap();
        })
    };
    pool.shutdown(true, true);
    releaser.join().unwrap();
    assert!(
        running.done(),
        "shutdown(wait) returned before the running task ended"
    );
    assert_eq!(*running.result().unwrap(), 7);
    assert!(running.exception().is_none());
    assert_eq!(pool.worker_count(), 1);
}

// CPython `test_hang_gh94440`: a task submitted and cancelled right before
// `shutdown(wait=True)` does not make the shutdown hang.
#[test]
fn shutdown_right_after_a_cancel_returns() {
    for _ in 0..50 {
        let pool = ThreadPoolExecutor::new(1).unwrap();
        pool.submit(|| 0).unwrap().result().unwrap();
        let _ = pool.submit(|| 1).unwrap().cancel();
        assert!(
            pool.shutdown_timeout(Duration::from_secs(60), false),
            "shutdown hung after a cancel"
        );
    }
}

// CPython `test_threads_terminate` / `test_context_manager_shutdown`: after
// `shutdown(wait=True)` the worker threads are gone.
#[test]
fn shutdown_wait_ends_the_worker_threads() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .thread_name_prefix("parity-ends")
        .build()
        .unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            pool.submit(move || {
                b.wait();
            })
            .unwrap()
        })
        .collect();
    barrier.wait();
    assert_eq!(pool.worker_count(), 3);
    drop(tasks);
    pool.shutdown(true, false);
    let names: Vec<String> = skein_threads::enumerate()
        .iter()
        .map(|t| t.name())
        .filter(|n| n.starts_with("parity-ends"))
        .collect();
    assert!(names.is_empty(), "still alive after shutdown: {names:?}");
}

// CPython `test_default_workers`: `min(32, cpus + 4)`.
#[test]
fn default_max_workers_is_pythons() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let pool = ThreadPoolExecutor::builder().build().unwrap();
    assert_eq!(pool.max_workers(), (cpus + 4).min(32));
}

/// Futures in each finished state, made without a pool (CPython's `util.py` futures).
fn finished_futures() -> (
    skein_pool::Future<u8>,
    skein_pool::Future<u8>,
    skein_pool::Future<u8>,
) {
    let (p, succeeded) = skein_pool::Promise::new();
    p.set_result(42);
    let (p, failed) = skein_pool::Promise::new();
    p.set_error(TaskError::Panicked("OSError".into()));
    let (_p, cancelled) = skein_pool::Promise::new();
    assert!(cancelled.cancel());
    (succeeded, failed, cancelled)
}

// CPython test_wait: `test_first_completed_some_already_completed`,
// `test_first_exception_one_already_failed`, `test_first_exception_some_already_complete`,
// `test_all_completed`, `test_timeout`, with futures already finished in the list.
#[test]
fn wait_with_futures_already_finished() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let (blocker, release_tx) = start_blocker(&pool, 0u8);
    let (succeeded, failed, cancelled) = finished_futures();
    let fs = vec![cancelled, succeeded, blocker];
    let found = wait(&fs, ReturnWhen::FirstCompleted);
    assert_eq!((found.done, found.not_done), (vec![0, 1], vec![2]));
    // A cancel is not an exception; a failure already there ends the wait at once.
    let found = wait_timeout(&fs, ReturnWhen::FirstException, Duration::from_millis(20));
    assert_eq!((found.done, found.not_done), (vec![0, 1], vec![2]));
    let [cancelled, succeeded, blocker]: [_; 3] = fs.try_into().ok().unwrap();
    let fs = vec![failed, blocker];
    let found = wait(&fs, ReturnWhen::FirstException);
    assert_eq!((found.done, found.not_done), (vec![0], vec![1]));
    // ALL_COMPLETED with a timeout: the finished ones are done, the stuck one is not.
    let found = wait_timeout(&fs, ReturnWhen::AllCompleted, Duration::from_millis(20));
    assert_eq!((found.done, found.not_done), (vec![0], vec![1]));
    release_tx.send(()).unwrap();
    let [failed, blocker]: [_; 2] = fs.try_into().ok().unwrap();
    let divide_by_zero = pool
        .submit(|| -> u8 { panic!("ZeroDivisionError") })
        .unwrap();
    let product = pool.submit(|| 42).unwrap();
    let fs = vec![
        succeeded,
        cancelled,
        failed,
        divide_by_zero,
        product,
        blocker,
    ];
    let found = wait(&fs, ReturnWhen::AllCompleted);
    assert_eq!(found.done, (0..6).collect::<Vec<_>>());
    assert!(found.not_done.is_empty());
}

// Python's `wait([])` returns at once for every `return_when`.
#[test]
fn wait_on_no_futures_returns_at_once() {
    let none: Vec<skein_pool::Future<u8>> = Vec::new();
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        assert_eq!(wait(&none, when), skein_pool::Done::default());
    }
    assert_eq!(as_completed(none).count(), 0);
}

// CPython test_as_completed: `test_no_timeout`, `test_future_times_out` (timeout 0),
// `test_correct_timeout_exception_msg` ("2 (of 4) futures unfinished"): futures already
// finished come out even with a zero timeout, then the timeout counts the rest.
#[test]
fn as_completed_zero_timeout_yields_the_finished_then_counts_the_rest() {
    let (succeeded, failed, cancelled) = finished_futures();
    let (_pending_promise, pending) = skein_pool::Promise::<u8>::new();
    let (running_promise, running) = skein_pool::Promise::<u8>::new();
    assert!(running_promise.set_running());
    let mut it = as_completed([cancelled, pending, running, succeeded]);
    let mut yielded = 0;
    let err = loop {
        match it.next_timeout(Duration::ZERO) {
            Ok(Some(f)) => {
                assert!(f.done());
                yielded += 1;
            }
            Ok(None) => panic!("two futures never finish"),
            Err(e) => break e,
        }
    };
    assert_eq!(yielded, 2);
    assert_eq!(err.to_string(), "2 (of 4) futures unfinished");
    // The iterator goes on once the rest finish.
    it.push(failed);
    running_promise.set_result(1);
    let mut rest: Vec<bool> = (0..2)
        .map(|_| {
            it.next_timeout(Duration::from_secs(60))
                .unwrap()
                .unwrap()
                .cancelled()
        })
        .collect();
    rest.sort();
    assert_eq!(rest, [false, false]);
    assert_eq!(it.pending(), 1);
}

// An executor `map` being iterated while another thread shuts the executor down with
// `cancel_futures`: it yields the finished values, then errors, and ends (no hang).
#[test]
fn map_ends_when_the_executor_shuts_down_under_it() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let p = pool.clone();
    let mut map = pool.map(|x: u64| x, 0..);
    assert_eq!(map.next().unwrap().unwrap(), 0);
    thread::spawn(move || p.shutdown(false, true))
        .join()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut errors = 0;
    for item in map.by_ref().take(1_000_000) {
        assert!(Instant::now() < deadline, "map kept going after shutdown");
        if item.is_err() {
            errors += 1;
        }
    }
    assert!(errors >= 1, "no error after shutdown");
    assert!(map.next().is_none(), "the map ended");
}

// `shutdown(wait=True)` called by one of the pool's own tasks (Python's join of the
// current thread raises): it must not wait for its own worker; it returns once the others
// are gone, and the task completes.
#[test]
fn shutdown_wait_from_inside_a_task_returns() {
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let p = pool.clone();
    let inner = pool
        .submit(move || {
            p.shutdown(true, false);
            p.is_shutdown()
        })
        .unwrap();
    assert!(
        inner.wait_timeout(Duration::from_secs(60)),
        "shutdown from inside a task hung"
    );
    assert!(*inner.result().unwrap());
    assert!(pool.submit(|| ()).is_err());
}
