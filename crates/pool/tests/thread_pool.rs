//! `ThreadPool`: the `multiprocessing.Pool` surface on threads.
//! Ported in spirit from CPython's `_test_multiprocessing` pool tests, in our own words.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_pool::{
    ApplyError, MapError, NotClosedError, NotReadyError, PoolError, ResultTimeoutError,
    SubmitError, TaskError, ThreadPool,
};

#[test]
fn apply_and_apply_async() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.processes(), 2);
    assert_eq!(pool.apply(|| 3 * 3).unwrap(), 9);
    assert!(matches!(
        pool.apply(|| -> u8 { panic!("apply boom") }),
        Err(ApplyError::Failed(_))
    ));
    let r = pool.apply_async(|| "hi").unwrap();
    assert_eq!(*r.get().unwrap(), "hi");
    assert!(r.ready());
    assert_eq!(r.successful(), Ok(true));
    assert_eq!(r.into_result().unwrap(), "hi");
}

#[test]
fn all_workers_start_at_once_and_are_named() {
    let pool = ThreadPool::builder()
        .processes(3)
        .thread_name_prefix("mp")
        .build()
        .unwrap();
    assert_eq!(pool.alive_workers(), 3);
    let names: HashSet<String> = skein_threads::enumerate()
        .iter()
        .map(|t| t.name())
        .collect();
    for i in 0..3 {
        assert!(names.contains(&format!("mp_{i}")), "{names:?}");
    }
}

#[test]
fn callbacks_and_error_callbacks() {
    let pool = ThreadPool::new(2).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let (g1, g2) = (got.clone(), got.clone());
    let ok = pool
        .apply_async_with(
            || 100 + 1,
            move |v| g1.lock().unwrap().push(format!("ok {v}")),
            |_| {},
        )
        .unwrap();
    let bad = pool
        .apply_async_with(
            || -> u32 { panic!("nope") },
            |_| {},
            move |e| g2.lock().unwrap().push(format!("err {}", e.is_panic())),
        )
        .unwrap();
    ok.wait();
    bad.wait();
    assert_eq!(bad.successful(), Ok(false));
    assert!(matches!(bad.get(), Err(TaskError::Panicked(_))));
    // The callbacks ran before the results became visible or just after; join the pool to
    // be sure they are done.
    pool.close();
    pool.join().unwrap();
    let mut got = got.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, vec!["err true".to_owned(), "ok 101".to_owned()]);
}

#[test]
fn get_timeout_and_not_ready() {
    let pool = ThreadPool::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let r = pool.apply_async(move || rx.recv().unwrap()).unwrap();
    assert_eq!(r.successful(), Err(NotReadyError));
    assert!(!r.ready());
    let start = Instant::now();
    assert!(
        r.get_timeout(Duration::from_millis(30))
            .unwrap_err()
            .is_timeout()
    );
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert!(!r.wait_timeout(Duration::from_millis(1)));
    tx.send(()).unwrap();
    r.get_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(r.successful(), Ok(true));
}

#[test]
fn map_variants_keep_order() {
    let pool = ThreadPool::new(3).unwrap();
    let expected: Vec<u64> = (0..1000u64).map(|x| x * 3).collect();
    assert_eq!(pool.map(|x: u64| x * 3, 0..1000).unwrap(), expected);
    for chunksize in [1, 7, 64, 5000] {
        assert_eq!(
            pool.map_chunked(|x: u64| x * 3, 0..1000, chunksize)
                .unwrap(),
            expected
        );
    }
    let r = pool.map_async_chunked(|x: u64| x * 3, 0..1000, 10).unwrap();
    assert_eq!(r.into_result().unwrap(), expected);
    assert_eq!(pool.map(|x: u8| x, Vec::new()).unwrap(), Vec::<u8>::new());
}

/// A range is split by index rather than gathered: the same items in the same order as its
/// iterator yields, for every integer type, signed and unsigned, at the edges of the type,
/// empty and reversed; a borrowed iterator (not `'static`) still works.
#[test]
fn map_over_ranges_yields_what_the_range_iterator_does() {
    let pool = ThreadPool::new(2).unwrap();
    let gathered = |range: std::ops::Range<i8>| range.map(i16::from).collect::<Vec<_>>();
    let (five, minus_five) = (5, -5);
    for range in [-128..127i8, 0..0, five..minus_five, -3..3, 126..127] {
        let expected = gathered(range.clone());
        assert_eq!(pool.map(i16::from, range.clone()).unwrap(), expected);
        assert_eq!(pool.map_chunked(i16::from, range, 1).unwrap(), expected);
    }
    assert_eq!(
        pool.map(|x: u8| x, 250..255u8).unwrap(),
        [250, 251, 252, 253, 254]
    );
    let near_max = u64::MAX - 3..u64::MAX;
    assert_eq!(
        pool.map(|x: u64| x, near_max.clone()).unwrap(),
        near_max.collect::<Vec<_>>()
    );
    assert_eq!(
        pool.map(|x: i128| x, i128::MIN..i128::MIN + 2).unwrap(),
        [i128::MIN, i128::MIN + 1]
    );
    assert_eq!(
        pool.map(|x: isize| x * 2, -2..2isize).unwrap(),
        [-4, -2, 0, 2]
    );
    assert_eq!(pool.map(|x: usize| x, 0..=3usize).unwrap(), [0, 1, 2, 3]);
    let owned: Vec<u32> = (0..100).collect();
    let borrowed = pool.map(|x: u32| x + 1, owned.iter().copied()).unwrap();
    assert_eq!(borrowed, (1..101).collect::<Vec<u32>>());
    // Zero-sized results.
    assert_eq!(pool.map(|_: u32| (), 0..5u32).unwrap().len(), 5);
    // The result type differs from the item's: a separate output buffer.
    let strings = pool.map(|x: u32| x.to_string(), 8..12u32).unwrap();
    assert_eq!(strings, ["8", "9", "10", "11"]);
    let err = pool.map_chunked(
        |x: u32| {
            if x == 77 {
                panic!("bad 77")
            } else {
                x.to_string()
            }
        },
        0..100u32,
        3,
    );
    assert!(matches!(err, Err(PoolError::Failed(TaskError::Panicked(m))) if m.contains("bad 77")));
    assert_eq!(
        pool.map(|x: u32| x, 0..3u32).unwrap(),
        [0, 1, 2],
        "pool still works"
    );
}

#[test]
fn map_fails_with_the_first_error() {
    let pool = ThreadPool::new(2).unwrap();
    let err = pool.map_chunked(
        |x: u32| if x == 500 { panic!("bad 500") } else { x },
        0..1000,
        10,
    );
    assert!(matches!(err, Err(PoolError::Failed(TaskError::Panicked(m))) if m.contains("bad 500")));
}

#[test]
fn starmap_spreads_tuples() {
    let pool = ThreadPool::new(2).unwrap();
    let pairs: Vec<(u32, u32)> = (0..50).map(|i| (i, i + 1)).collect();
    let sums = pool.starmap(|a: u32, b: u32| a + b, pairs.clone()).unwrap();
    assert_eq!(sums, (0..50).map(|i| 2 * i + 1).collect::<Vec<u32>>());
    let sums = pool
        .starmap_chunked(|a: u32, b: u32| a * b, pairs.clone(), 8)
        .unwrap();
    assert_eq!(sums[3], 12);
    let triples = vec![(1u8, 2u8, 3u8)];
    assert_eq!(
        pool.starmap(|a: u8, b: u8, c: u8| a + b + c, triples)
            .unwrap(),
        vec![6]
    );
    let r = pool
        .starmap_async(|a: u32, b: u32| a.max(b), pairs)
        .unwrap();
    assert_eq!(r.get().unwrap().len(), 50);
}

#[test]
fn imap_is_ordered_and_lazy() {
    let pool = ThreadPool::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let items = (0u64..).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let first: Vec<u64> = pool
        .imap(|x| x * 2, items)
        .take(20)
        .map(Result::unwrap)
        .collect();
    assert_eq!(first, (0..20).map(|x| x * 2).collect::<Vec<_>>());
    let limit = 20 + 2 * pool.processes();
    assert!(pulled.load(Ordering::SeqCst) <= limit);

    let chunked: Vec<u64> = pool
        .imap_chunked(|x: u64| x + 1, 0..1000, 33)
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunked, (1..=1000).collect::<Vec<_>>());
}

#[test]
fn imap_reports_item_errors_in_place() {
    let pool = ThreadPool::new(2).unwrap();
    let out: Vec<Result<u32, MapError>> = pool
        .imap_chunked(|x: u32| if x == 3 { panic!("three") } else { x }, 0..6, 4)
        .collect();
    assert_eq!(out.len(), 6);
    assert!(out[3].is_err());
    assert_eq!(
        *out[4].as_ref().unwrap(),
        4,
        "the rest of the chunk still ran"
    );
}

#[test]
fn imap_unordered_yields_everything_once() {
    let pool = ThreadPool::new(3).unwrap();
    let got: Vec<u32> = pool
        .imap_unordered(|x: u32| x * 10, 0..300)
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), 300);
    let set: HashSet<u32> = got.into_iter().collect();
    assert_eq!(set, (0..300).map(|x| x * 10).collect());
    let got: Vec<u32> = pool
        .imap_unordered_chunked(|x: u32| x, 0..1000, 50)
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.into_iter().collect::<HashSet<_>>().len(), 1000);
    // Endless input, bounded in flight.
    let first: Vec<u64> = pool
        .imap_unordered(|x: u64| x, 0u64..)
        .take(10)
        .map(Result::unwrap)
        .collect();
    assert_eq!(first.len(), 10);
}

#[test]
fn imap_on_a_closed_pool_says_so_once() {
    let pool = ThreadPool::new(1).unwrap();
    pool.close();
    let ordered: Vec<_> = pool.imap(|x: u8| x, 0..3).collect();
    assert!(matches!(ordered.as_slice(), [Err(MapError::ShutDown)]));
    let unordered: Vec<_> = pool.imap_unordered(|x: u8| x, 0..3).collect();
    assert!(matches!(unordered.as_slice(), [Err(MapError::ShutDown)]));
}

#[test]
fn join_before_close_is_an_error() {
    let pool = ThreadPool::new(1).unwrap();
    assert_eq!(pool.join(), Err(NotClosedError));
    assert_eq!(
        pool.join_timeout(Duration::from_millis(1)),
        Err(NotClosedError)
    );
    pool.close();
    pool.join().unwrap();
    assert_eq!(pool.alive_workers(), 0);
}

#[test]
fn close_finishes_queued_work_and_refuses_new() {
    let pool = ThreadPool::new(2).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let results: Vec<_> = (0..100)
        .map(|_| {
            let c = count.clone();
            pool.apply_async(move || c.fetch_add(1, Ordering::SeqCst))
                .unwrap()
        })
        .collect();
    pool.close();
    assert!(matches!(
        pool.apply_async(|| 1),
        Err(SubmitError::ShutDown(_))
    ));
    assert!(matches!(pool.apply(|| 1), Err(ApplyError::Refused(_))));
    assert!(matches!(
        pool.map(|x: u8| x, 0..3),
        Err(PoolError::NotRunning)
    ));
    pool.join().unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 100);
    assert!(results.iter().all(|r| r.ready()));
}

#[test]
fn terminate_does_not_run_queued_tasks() {
    let pool = Arc::new(ThreadPool::new(1).unwrap());
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let running = pool
        .apply_async(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
        .unwrap();
    started_rx.recv().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let queued: Vec<_> = (0..5)
        .map(|_| {
            let r = ran.clone();
            pool.apply_async(move || r.store(true, Ordering::SeqCst))
                .unwrap()
        })
        .collect();
    let chunked = pool.map_async_chunked(|x: u32| x, 0..10, 2).unwrap();
    let p = pool.clone();
    let terminator = thread::spawn(move || p.terminate());
    // terminate cancels queued work at once, then waits for the running task.
    for r in &queued {
        assert!(matches!(r.get(), Err(TaskError::Cancelled)));
    }
    assert!(matches!(chunked.get(), Err(TaskError::Cancelled)));
    release_tx.send(()).unwrap();
    terminator.join().unwrap();
    running.get().unwrap();
    assert!(!ran.load(Ordering::SeqCst), "queued tasks never ran");
    assert_eq!(pool.alive_workers(), 0);
    pool.join().unwrap();
}

#[test]
fn drop_is_terminate() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    {
        let pool = ThreadPool::new(1).unwrap();
        let _ = pool.apply_async(move || r.fetch_add(1, Ordering::SeqCst));
        pool.close();
        pool.join().unwrap();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1);

    // Dropped while open: queued jobs are cancelled, the running one is waited for.
    let pool = ThreadPool::new(1).unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let running = pool
        .apply_async(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        })
        .unwrap();
    started_rx.recv().unwrap();
    let r = ran.clone();
    let queued = pool
        .apply_async(move || r.fetch_add(1, Ordering::SeqCst))
        .unwrap();
    let dropper = thread::spawn(move || drop(pool));
    // Bounded so that a drop which waited for the queue fails instead of hanging.
    assert!(matches!(
        queued.get_timeout(Duration::from_secs(60)),
        Err(ResultTimeoutError::Failed(TaskError::Cancelled))
    ));
    release_tx.send(()).unwrap();
    dropper.join().unwrap();
    running.get().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 1, "the queued job never ran");
}

#[test]
fn nested_apply_on_the_same_pool_completes() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let p = pool.clone();
    let outer = pool
        .apply_async(move || p.apply(|| 5).unwrap_or(0) + 1)
        .unwrap();
    assert_eq!(*outer.get().unwrap(), 6);
}

#[test]
fn bad_configuration_is_an_error() {
    assert!(ThreadPool::new(0).is_err());
    let err = ThreadPool::builder()
        .processes(2)
        .stack_size(1)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("worker thread"));
}

#[test]
fn broken_initializer_fails_jobs() {
    let pool = ThreadPool::builder()
        .processes(1)
        .initializer(|| panic!("init"))
        .build()
        .unwrap();
    match pool.apply_async(|| 1) {
        Ok(r) => assert!(matches!(r.get(), Err(TaskError::Broken(_)))),
        Err(e) => assert!(matches!(e, SubmitError::Broken(_))),
    }
}

// CPython `_TestPool.test_empty_iterable` / `test_map_chunksize`: every map flavour over
// nothing gives nothing, and never stalls (chunksize 1 included).
#[test]
fn empty_iterables_give_empty_results() {
    let pool = ThreadPool::new(1).unwrap();
    let none = || Vec::<u8>::new();
    assert_eq!(pool.map(|x: u8| x, none()).unwrap(), Vec::<u8>::new());
    assert_eq!(
        pool.map_chunked(|x: u8| x, none(), 1).unwrap(),
        Vec::<u8>::new()
    );
    assert_eq!(pool.imap(|x: u8| x, none()).count(), 0);
    assert_eq!(pool.imap_chunked(|x: u8| x, none(), 1).count(), 0);
    assert_eq!(pool.imap_unordered(|x: u8| x, none()).count(), 0);
    let r = pool.map_async_chunked(|x: u8| x, none(), 1).unwrap();
    assert_eq!(
        r.get_timeout(Duration::from_secs(60)).unwrap(),
        &Vec::<u8>::new()
    );
    assert_eq!(
        pool.map_async(|x: u8| x, none())
            .unwrap()
            .into_result()
            .unwrap(),
        Vec::<u8>::new()
    );
    let pairs: Vec<(u8, u8)> = Vec::new();
    assert_eq!(
        pool.starmap(|a: u8, b: u8| a + b, pairs).unwrap(),
        Vec::<u8>::new()
    );
    pool.close();
    pool.join().unwrap();
}

// CPython `_TestPool.test_release_task_refs`: once a map returned, the pool holds none of
// its items or results.
#[test]
fn a_finished_map_holds_no_items() {
    let pool = ThreadPool::new(3).unwrap();
    let token = Arc::new(());
    let items: Vec<Arc<()>> = (0..10).map(|_| token.clone()).collect();
    let out = pool.map(|a: Arc<()>| a, items).unwrap();
    assert_eq!(Arc::strong_count(&token), 11);
    drop(out);
    assert_eq!(Arc::strong_count(&token), 1);
    let items: Vec<Arc<()>> = (0..10).map(|_| token.clone()).collect();
    let r = pool.map_async_chunked(|a: Arc<()>| a, items, 3).unwrap();
    r.wait();
    drop(r);
    assert_eq!(Arc::strong_count(&token), 1);
}

// CPython `_TestPool.test_map_async_callbacks`: exactly one of `callback` (with the whole
// list) and `error_callback` (with the error) runs.
#[test]
fn map_async_callbacks_get_the_list_or_the_error() {
    let pool = ThreadPool::new(2).unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let (c1, c2) = (calls.clone(), calls.clone());
    let r = pool
        .map_async_with(
            |s: &'static str| s.parse::<i32>().unwrap(),
            ["1"],
            move |v: &[i32]| c1.lock().unwrap().push(format!("ok {v:?}")),
            move |e: &TaskError| c2.lock().unwrap().push(format!("err {}", e.is_panic())),
        )
        .unwrap();
    r.wait();
    let (c1, c2) = (calls.clone(), calls.clone());
    let r2 = pool
        .map_async_with(
            |s: &'static str| s.parse::<i32>().unwrap(),
            ["1", "a", "3"],
            move |v: &[i32]| c1.lock().unwrap().push(format!("ok {v:?}")),
            move |e: &TaskError| c2.lock().unwrap().push(format!("err {}", e.is_panic())),
        )
        .unwrap();
    r2.wait();
    assert_eq!(*r.get().unwrap(), [1]);
    assert!(matches!(r2.get(), Err(TaskError::Panicked(_))));
    pool.close();
    pool.join().unwrap();
    assert_eq!(*calls.lock().unwrap(), ["ok [1]", "err true"]);
}

// CPython `_TestPool.test_terminate`: terminate during a long map_async stops it; the
// runners do not go on through the rest of the items, and the result says cancelled.
#[test]
fn terminate_stops_a_running_map() {
    const N: usize = 10_000;
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let started = Arc::new(AtomicUsize::new(0));
    let open = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let (s, o) = (started.clone(), open.clone());
    let r = pool
        .map_async_chunked(
            move |x: usize| {
                s.fetch_add(1, Ordering::SeqCst);
                let (lock, cond) = &*o;
                let mut is_open = lock.lock().unwrap();
                while !*is_open {
                    is_open = cond.wait(is_open).unwrap();
                }
                x
            },
            0..N,
            1,
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while started.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the map never started");
        thread::yield_now();
    }
    let p = pool.clone();
    let terminator = thread::spawn(move || p.terminate());
    // Let the items go only once terminate has closed the pool.
    while !format!("{pool:?}").contains("closed: true") {
        assert!(Instant::now() < deadline, "terminate never closed the pool");
        thread::yield_now();
    }
    {
        let (lock, cond) = &*open;
        *lock.lock().unwrap() = true;
        cond.notify_all();
    }
    terminator.join().unwrap();
    let ran = started.load(Ordering::SeqCst);
    assert!(
        ran < N / 2,
        "terminate let the map run on: {ran} of {N} items"
    );
    assert!(matches!(
        r.get_timeout(Duration::from_secs(60)),
        Err(ResultTimeoutError::Failed(e)) if e.is_cancelled()
    ));
    assert_eq!(pool.alive_workers(), 0);
}

// A lazy `imap` over an endless input, with the pool terminated from another thread while
// the caller iterates: the iterator reports the cancelled and refused items and ends; it
// never waits for results that cannot come.
#[test]
fn imap_ends_after_terminate() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let p = pool.clone();
    let mut it = pool.imap(|x: u64| x, 0..);
    assert_eq!(*it.next().unwrap().as_ref().unwrap(), 0);
    thread::spawn(move || p.terminate()).join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut ended = false;
    for item in it.by_ref().take(1_000_000) {
        assert!(Instant::now() < deadline, "imap kept going after terminate");
        if item.is_err() {
            ended = true;
            break;
        }
    }
    assert!(ended, "no error after terminate");
    assert!(
        it.all(|item| item.is_err()),
        "only errors after the first one"
    );
}

// The other half of `terminate_stops_a_running_map`: `close` lets a running map finish
// every item (Python's `close` + `join` waits for all submitted work).
#[test]
fn close_lets_a_running_map_finish() {
    const N: usize = 1_000;
    let pool = ThreadPool::new(2).unwrap();
    let started = Arc::new(AtomicUsize::new(0));
    let open = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let (s, o) = (started.clone(), open.clone());
    let r = pool
        .map_async_chunked(
            move |x: usize| {
                s.fetch_add(1, Ordering::SeqCst);
                let (lock, cond) = &*o;
                let mut is_open = lock.lock().unwrap();
                while !*is_open {
                    is_open = cond.wait(is_open).unwrap();
                }
                x
            },
            0..N,
            1,
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while started.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the map never started");
        thread::yield_now();
    }
    pool.close();
    {
        let (lock, cond) = &*open;
        *lock.lock().unwrap() = true;
        cond.notify_all();
    }
    pool.join().unwrap();
    assert_eq!(started.load(Ordering::SeqCst), N);
    assert_eq!(r.into_result().unwrap(), (0..N).collect::<Vec<_>>());
}
