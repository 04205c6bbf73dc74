//! `DistributedExecutor` + workers against a real `redis-server` on loopback (started by
//! `skein_apalis::testing::RedisServer`; the tests skip with a loud note when none can be
//! started, and fail under `CI`).

skein_process::test_support!();

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use skein_apalis::testing::RedisServer;
use skein_apalis::{ConnectError, DistributedExecutor, JobFailed, Registry, Worker, WorkerLost};
use skein_pool::{Call, Executor, ReturnWhen, Submit, SubmitError, TaskError, as_completed, wait};

#[inline(never)]
fn square(x: u64) -> u64 {
    x * x
}

#[inline(never)]
fn refuse(n: u32) -> u32 {
    panic!("job {n} refuses")
}

#[inline(never)]
fn abort_on_13(n: u32) -> u32 {
    if n == 13 {
        std::process::abort();
    }
    n
}

#[inline(never)]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// An argument whose serialisation fails.
#[derive(Debug, Deserialize)]
struct Unserialisable;

impl Serialize for Unserialisable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be serialised",
        ))
    }
}

#[inline(never)]
fn take_unserialisable(_: Unserialisable) -> u8 {
    0
}

/// Appends a line to the file `path` (one per run); the first run then sleeps `ms`, later
/// runs return at once. Returns how many runs the file has seen.
#[inline(never)]
fn mark_then_sleep((path, ms): (String, u64)) -> u64 {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"run\n").unwrap();
    drop(f);
    let runs = std::fs::read_to_string(&path).unwrap().lines().count() as u64;
    if runs == 1 {
        std::thread::sleep(Duration::from_millis(ms));
    }
    runs
}

/// A worker in its own OS process (a skein-process child re-executing this test binary).
fn remote_worker((url, q): (String, String)) {
    let _w = skein_apalis::worker(&url, registry())
        .queue(&q)
        .concurrency(1)
        .lease(Duration::from_secs(1))
        .start()
        .expect("worker starts");
    loop {
        std::thread::park();
    }
}

fn registry() -> Registry {
    Registry::new()
        .register("mark_then_sleep", mark_then_sleep)
        .register("square", square)
        .register("refuse", refuse)
        .register("abort_on_13", abort_on_13)
        .register("sleep_ms", sleep_ms)
        .register("take_unserialisable", take_unserialisable)
}

/// A queue name of its own per test (tests may share one server via SKEIN_REDIS_URL).
fn queue(test: &str) -> String {
    format!("{test}-{}-{:?}", std::process::id(), Instant::now())
}

fn executor(server: &RedisServer, q: &str) -> DistributedExecutor {
    DistributedExecutor::builder(server.url(), registry())
        .queue(q)
        .timeout(Duration::from_secs(2))
        .build()
        .expect("executor connects")
}

fn start_worker(server: &RedisServer, q: &str, concurrency: usize) -> Worker {
    skein_apalis::worker(server.url(), registry())
        .queue(q)
        .concurrency(concurrency)
        .lease(Duration::from_secs(1))
        .start()
        .expect("worker starts")
}

macro_rules! redis_or_skip {
    () => {
        match RedisServer::for_tests() {
            Some(s) => s,
            None => return,
        }
    };
}

#[test]
fn submit_runs_on_a_worker_and_every_future_api_works() {
    let server = redis_or_skip!();
    let q = queue("basic");
    let pool = executor(&server, &q);
    let _w = start_worker(&server, &q, 2);

    let f = pool.submit(Call::new(square, 7)).unwrap();
    assert_eq!(*f.result().unwrap(), 49);

    let called = Arc::new(AtomicUsize::new(0));
    let futures: Vec<_> = (0..20u64)
        .map(|i| {
            let f = pool.submit(Call::new(square, i)).unwrap();
            let c = called.clone();
            f.add_done_callback(move |f| {
                assert!(f.result().is_ok());
                c.fetch_add(1, Ordering::SeqCst);
            });
            f
        })
        .collect();
    let done = wait(&futures, ReturnWhen::AllCompleted);
    assert_eq!(done.done.len(), 20);
    let mut seen: Vec<u64> = as_completed(futures)
        .map(|f| *f.result().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20u64).map(|i| i * i).collect::<Vec<_>>());
    // Callbacks run on the reply thread before the waiters wake or just after: wait for
    // them with a bound.
    let deadline = Instant::now() + Duration::from_secs(10);
    while called.load(Ordering::SeqCst) < 20 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(called.load(Ordering::SeqCst), 20);

    // The lazy map, in input order.
    let squares: Vec<u64> = pool.map(square, 0..50u64).map(Result::unwrap).collect();
    assert_eq!(squares, (0..50u64).map(|i| i * i).collect::<Vec<_>>());
    pool.shutdown(true, false);
    assert_eq!(pool.pending(), 0);
    assert!(matches!(
        pool.submit(Call::new(square, 1)),
        Err(SubmitError::ShutDown(_))
    ));
}

#[test]
fn a_panic_comes_back_with_its_message_and_the_worker_goes_on() {
    let server = redis_or_skip!();
    let q = queue("panic");
    let pool = executor(&server, &q);
    let _w = start_worker(&server, &q, 1);
    let f = pool.submit(Call::new(refuse, 3)).unwrap();
    match f.result() {
        Err(TaskError::Panicked(m)) => assert!(m.contains("job 3 refuses"), "{m}"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(
        *pool.submit(Call::new(square, 4)).unwrap().result().unwrap(),
        16
    );
}

#[test]
fn a_crashing_job_fails_only_itself() {
    let server = redis_or_skip!();
    let q = queue("crash");
    let pool = executor(&server, &q);
    let _w = start_worker(&server, &q, 2);
    let futures: Vec<_> = [11u32, 12, 13, 14]
        .into_iter()
        .map(|n| pool.submit(Call::new(abort_on_13, n)).unwrap())
        .collect();
    for (f, n) in futures.iter().zip([11u32, 12, 13, 14]) {
        if n == 13 {
            let e = f.result().unwrap_err();
            let TaskError::Failed(e) = e else {
                panic!("expected WorkerLost, got {e:?}")
            };
            let lost = e.downcast_ref::<WorkerLost>().expect("WorkerLost");
            assert!(lost.reason().contains("1 attempt"), "{}", lost.reason());
        } else {
            assert_eq!(*f.result().unwrap(), n);
        }
    }
}

#[test]
fn bad_jobs_fail_at_submit_and_hand_the_call_back() {
    let server = redis_or_skip!();
    let q = queue("encode");
    let pool = executor(&server, &q);
    match pool.submit(Call::new(take_unserialisable, Unserialisable)) {
        Err(SubmitError::Encode(call, e)) => {
            assert!(e.to_string().contains("cannot be serialised"), "{e}");
            let (_, Unserialisable) = call.into_parts();
        }
        other => panic!("expected an encode error, got {:?}", other.map(|_| ())),
    }
    fn unregistered(x: u8) -> u8 {
        x
    }
    match pool.submit(Call::new(unregistered, 5)) {
        Err(SubmitError::Encode(call, e)) => {
            assert!(e.to_string().contains("registry"), "{e}");
            assert_eq!(call.into_parts().1, 5);
        }
        other => panic!("expected an encode error, got {:?}", other.map(|_| ())),
    }
    assert_eq!(pool.pending(), 0);
}

#[test]
fn a_time_limit_travels_with_the_job() {
    let server = redis_or_skip!();
    let q = queue("limit");
    let pool = executor(&server, &q);
    let _w = start_worker(&server, &q, 1);
    let f = pool
        .submit(Call::new(sleep_ms, 60_000).timeout(Duration::from_millis(200)))
        .unwrap();
    let TaskError::Failed(e) = f.result().unwrap_err() else {
        panic!("expected JobFailed")
    };
    let failed = e.downcast_ref::<JobFailed>().expect("JobFailed");
    assert!(
        failed.message().contains("timed out after 200ms"),
        "{}",
        failed.message()
    );
    // The worker's pool replaced the terminated process and goes on.
    assert_eq!(
        *pool.submit(Call::new(square, 5)).unwrap().result().unwrap(),
        25
    );
}

#[test]
fn a_function_under_two_names_runs_by_the_name_its_call_carries() {
    let server = redis_or_skip!();
    let q = queue("named");
    // One address under two names: what the compiler makes of two functions with the
    // same body.
    let both = || registry().register("square_again", square);
    let pool = DistributedExecutor::builder(server.url(), both())
        .queue(&q)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let _w = skein_apalis::worker(server.url(), both())
        .queue(&q)
        .concurrency(1)
        .start()
        .unwrap();
    match pool.submit(Call::new(square, 3).timeout(Duration::from_secs(9))) {
        Err(SubmitError::Encode(call, e)) => {
            assert!(e.to_string().contains("several names"), "{e}");
            // Handed back whole, limit included.
            assert_eq!(call.time_limit(), Some(Duration::from_secs(9)));
        }
        other => panic!("expected an encode error, got {:?}", other.map(|_| ())),
    }
    for name in ["square", "square_again"] {
        let f = pool.submit(Call::new(square, 3).named(name)).unwrap();
        assert_eq!(*f.result().unwrap(), 9);
    }
    match pool.submit(Call::new(sleep_ms, 1).named("square")) {
        Err(SubmitError::Encode(call, e)) => {
            assert!(e.to_string().contains("registered as"), "{e}");
            assert_eq!(call.name(), Some("square"));
        }
        other => panic!("expected an encode error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_function_the_worker_does_not_know_fails_that_job() {
    let server = redis_or_skip!();
    let q = queue("unknown");
    let pool = executor(&server, &q);
    // This worker's registry lacks "square".
    let _w = skein_apalis::worker(server.url(), Registry::new().register("sleep_ms", sleep_ms))
        .queue(&q)
        .concurrency(1)
        .start()
        .unwrap();
    let e = pool
        .submit(Call::new(square, 2))
        .unwrap()
        .result()
        .unwrap_err();
    let TaskError::Failed(e) = e else {
        panic!("expected JobFailed, got {e:?}")
    };
    let failed = e.downcast_ref::<JobFailed>().expect("JobFailed");
    assert!(
        failed.message().contains("\"square\""),
        "{}",
        failed.message()
    );
}

#[test]
fn cancel_removes_a_queued_job_and_result_timeout_times_out() {
    let server = redis_or_skip!();
    let q = queue("cancel");
    let pool = executor(&server, &q);
    // No worker yet: the jobs stay queued.
    let a = pool.submit(Call::new(square, 3)).unwrap();
    let b = pool.submit(Call::new(square, 4)).unwrap();
    let e = a.result_timeout(Duration::from_millis(100)).unwrap_err();
    assert!(e.is_timeout());
    assert!(a.cancel());
    assert!(a.cancelled());
    assert!(matches!(a.result(), Err(TaskError::Cancelled)));
    let w = start_worker(&server, &q, 1);
    assert_eq!(*b.result().unwrap(), 16);
    // The cancelled job is gone from the stream: nothing is left for any worker.
    let mut c = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg(format!("skein:{{{q}}}:jobs"))
        .query(&mut c)
        .unwrap();
    assert_eq!(len, 0);
    assert!(!b.cancel(), "a finished job cannot be cancelled");
    assert_eq!(w.completed(), 1);
    // shutdown(cancel_futures) removes what is still queued.
    drop(w);
    let c = pool.submit(Call::new(square, 5)).unwrap();
    pool.shutdown(true, true);
    assert!(c.cancelled());
}

#[test]
fn an_unreachable_server_is_a_typed_error_not_a_hang() {
    // Nothing listens on port 1.
    match DistributedExecutor::builder("redis://127.0.0.1:1/", registry())
        .timeout(Duration::from_millis(500))
        .build()
    {
        Err(ConnectError::Redis(_)) => {}
        other => panic!("expected ConnectError::Redis, got {other:?}"),
    }
    assert!(matches!(
        DistributedExecutor::new("not a url", registry()),
        Err(ConnectError::Url(_))
    ));

    let mut server = redis_or_skip!();
    if !server.is_owned() {
        eprintln!("skipped the server-kill part: SKEIN_REDIS_URL names a server not ours");
        return;
    }
    let q = queue("unreachable");
    let pool = executor(&server, &q);
    server.kill();
    let started = Instant::now();
    match pool.submit(Call::new(square, 9)) {
        Err(SubmitError::Engine(call, e)) => {
            assert_eq!(call.into_parts().1, 9);
            assert!(e.to_string().contains("unreachable"), "{e}");
        }
        other => panic!("expected SubmitError::Engine, got {:?}", other.map(|_| ())),
    }
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(pool.pending(), 0);
}

#[test]
fn a_redis_restart_mid_run_loses_no_acknowledged_job() {
    let mut server = redis_or_skip!();
    if !server.is_owned() {
        eprintln!("skipped: SKEIN_REDIS_URL names a server this test cannot restart");
        return;
    }
    let q = queue("restart");
    let pool = executor(&server, &q);
    // Phase 1, no worker yet: every job is acknowledged and queued when the server is
    // SIGKILLed; after the restart a worker runs them all.
    let queued: Vec<_> = (0..20u64)
        .map(|i| pool.submit(Call::new(square, i)).unwrap())
        .collect();
    server.kill();
    server.restart().expect("redis-server restarts");
    let w = start_worker(&server, &q, 2);
    for (i, f) in queued.iter().enumerate() {
        assert_eq!(*f.result().unwrap(), (i * i) as u64);
    }
    // Phase 2, mid-run.
    let first: Vec<_> = (0..40u64)
        .map(|_| pool.submit(Call::new(sleep_ms, 20)).unwrap())
        .collect();
    // Some have finished, some run, most are queued: kill the server (SIGKILL: only what
    // it wrote to its append-only file survives) and bring it back.
    first[3].result().unwrap();
    server.kill();
    assert!(matches!(
        pool.submit(Call::new(square, 1)),
        Err(SubmitError::Engine(..))
    ));
    server.restart().expect("redis-server restarts");
    let second: Vec<_> = (0..10u64)
        .map(|i| pool.submit(Call::new(square, i)).unwrap())
        .collect();
    for f in &first {
        match f.result() {
            Ok(v) => assert_eq!(*v, 20),
            // A job whose run was under way when the server died may be failed as lost
            // (never run twice, retries off); it is never missing.
            Err(TaskError::Failed(e)) => assert!(e.downcast_ref::<WorkerLost>().is_some(), "{e}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    for (i, f) in second.iter().enumerate() {
        assert_eq!(*f.result().unwrap(), (i * i) as u64);
    }
    drop(w);
}

/// Starts a worker process, submits a job that marks a file and then runs for a minute,
/// waits (on the file, not on time) until the job runs, and SIGKILLs the worker process.
/// Returns the job's future and the marker file.
fn job_on_a_killed_worker(
    server: &RedisServer,
    q: &str,
    pool: &DistributedExecutor,
    dir: &tempfile::TempDir,
) -> (skein_pool::Future<u64>, std::path::PathBuf) {
    let marker = dir.path().join("runs");
    let remote =
        skein_process::Process::new(remote_worker, (server.url().to_owned(), q.to_owned()))
            .daemon(true)
            .start()
            .expect("worker process starts");
    let f = pool
        .submit(Call::new(
            mark_then_sleep,
            (marker.to_string_lossy().into_owned(), 60_000),
        ))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the worker process never ran the job"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    remote.kill().unwrap();
    remote.join().unwrap();
    (f, marker)
}

fn runs(marker: &std::path::Path) -> usize {
    std::fs::read_to_string(marker).unwrap().lines().count()
}

#[test]
fn a_job_whose_worker_process_is_killed_fails_and_never_runs_twice_without_retries() {
    let server = redis_or_skip!();
    let q = queue("killed");
    let pool = executor(&server, &q);
    let dir = tempfile::tempdir().unwrap();
    let (f, marker) = job_on_a_killed_worker(&server, &q, &pool, &dir);
    // A surviving worker (retries off, the default) takes the dead worker's job over.
    let w = start_worker(&server, &q, 1);
    let e = f.result().unwrap_err();
    let TaskError::Failed(e) = e else {
        panic!("expected WorkerLost, got {e:?}")
    };
    let lost = e.downcast_ref::<WorkerLost>().expect("WorkerLost");
    assert!(
        lost.reason().contains("stopped renewing its lease"),
        "{}",
        lost.reason()
    );
    // Never run twice: one mark, and nothing left queued for anyone.
    assert_eq!(runs(&marker), 1);
    let mut c = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg(format!("skein:{{{q}}}:jobs"))
        .query(&mut c)
        .unwrap();
    assert_eq!(len, 0);
    // The surviving worker still serves.
    assert_eq!(
        *pool.submit(Call::new(square, 6)).unwrap().result().unwrap(),
        36
    );
    drop(w);
}

#[test]
fn a_job_whose_worker_process_is_killed_runs_again_with_retries() {
    let server = redis_or_skip!();
    let q = queue("retried");
    let pool = executor(&server, &q);
    let dir = tempfile::tempdir().unwrap();
    let (f, marker) = job_on_a_killed_worker(&server, &q, &pool, &dir);
    let w = skein_apalis::worker(server.url(), registry())
        .queue(&q)
        .concurrency(1)
        .lease(Duration::from_secs(1))
        .max_retries(1)
        .start()
        .unwrap();
    // The second run sees the first run's mark and returns at once.
    assert_eq!(*f.result().unwrap(), 2);
    assert_eq!(runs(&marker), 2);
    drop(w);
}
