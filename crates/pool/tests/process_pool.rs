//! Process pools: `ProcessPoolExecutor` and `ProcessPool`, one matrix under fork, spawn and
//! forkserver. Healing (panic, abort, out of memory, SIGKILL), cancel and timeout of a
//! running task, recycling, clean shutdown, serialisation failures at submit.
//!
//! Tasks run in other processes, so they coordinate with the test through files in a
//! temporary directory: a blocking task writes `started-TAG` (its pid inside) and waits for
//! `release`; the test waits for the file (generous upper bounds, never a sleep to make a
//! race likely).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize, Serializer};
use skein_pool::{
    Call, Executor, PoolError, ProcessPool, ProcessPoolExecutor, Submit, SubmitError, TaskError,
    TaskTimedOut, ThreadPoolExecutor, WorkerDied,
};
use skein_pool::{ForcedShutdown, Future};
use skein_process::StartMethod;

#[macro_use]
mod common;

skein_process::test_support!();

const LONG: Duration = Duration::from_secs(60);

matrix!(
    terminate_workers_fails_every_unresolved_future_once_and_leaves_no_process,
    kill_workers_does_not_wait_for_a_worker_that_ignores_sigterm,
    force_shutdown_after_a_worker_died_or_a_shutdown_does_nothing_more,
    executor_submit_and_map,
    same_code_on_threads_and_processes,
    panic_fails_only_its_task_with_backtrace,
    abort_oom_and_sigkill_fail_only_their_task,
    random_kills_during_1000_tasks_resolve_each_once,
    random_kills_during_one_at_a_time_tasks_resolve_each_once,
    cancel_of_a_running_task_replaces_its_worker,
    cancel_right_after_dispatch_stops_the_task,
    timeout_of_a_running_task,
    max_tasks_per_child_replaces_workers,
    max_memory_per_child_replaces_workers,
    terminate_and_drop_leave_no_process,
    unserialisable_value_fails_at_submit,
    pool_apply_map_starmap_imap,
    pool_callbacks_run_in_the_parent,
    pool_initializer_runs_and_a_failing_one_breaks_the_pool,
    shutdown_timeout_returns,
    eagain_is_an_error_to_the_submitter,
    pool_edge_cases_follow_python,
    a_result_that_cannot_be_serialised_fails_its_task_only,
    executor_max_tasks_per_child_with_a_backlog_resolves_everything,
    executor_basics_follow_python,
);

// ---- task functions (plain fns: they must exist in a spawned worker too) ----

fn double(x: u64) -> u64 {
    x * 2
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

fn pid_of(_: u64) -> i32 {
    skein_process::getpid()
}

fn boom(x: u64) -> u64 {
    panic!("boom {x}")
}

fn abort_now(_: u64) -> u64 {
    std::process::abort()
}

fn sigkill_self(_: u64) -> u64 {
    // SAFETY: raise takes a signal number.
    unsafe { libc::raise(libc::SIGKILL) };
    0
}

/// Runs out of memory: caps the address space, then allocates past it (the allocator
/// fails, Rust aborts: what a worker hitting a memory limit looks like).
fn out_of_memory(_: u64) -> u64 {
    let limit = libc::rlimit {
        rlim_cur: 1 << 30,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for our own process.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    let v: Vec<u8> = Vec::with_capacity(4 << 30);
    v.capacity() as u64
}

/// Writes `started-TAG` (with its pid) in `dir`, then waits for `dir/release`.
fn block(args: (PathBuf, u64)) -> u64 {
    let (dir, tag) = args;
    std::fs::write(
        dir.join(format!("started-{tag}")),
        skein_process::getpid().to_string(),
    )
    .unwrap();
    while !dir.join("release").exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    tag
}

/// Allocates and touches `mb` MiB and keeps it (a leak the pool must recycle).
fn hog(mb: u64) -> i32 {
    let v = vec![1u8; (mb as usize) << 20];
    std::mem::forget(v);
    skein_process::getpid()
}

fn slow_double(x: u64) -> u64 {
    std::thread::sleep(Duration::from_micros(200));
    x * 2
}

fn slower_double(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(1));
    x * 2
}

static INITIALIZED: AtomicUsize = AtomicUsize::new(0);

fn init(v: usize) {
    INITIALIZED.store(v, Ordering::SeqCst);
}

fn init_fails(_: ()) {
    panic!("initializer refused")
}

fn read_init(_: ()) -> usize {
    INITIALIZED.load(Ordering::SeqCst)
}

/// A value whose serialisation fails.
#[derive(Deserialize, Debug)]
struct Unserialisable;

impl Serialize for Unserialisable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be serialised",
        ))
    }
}

fn takes_unserialisable(_: Unserialisable) -> u64 {
    1
}

fn returns_unserialisable(_: u64) -> Unserialisable {
    Unserialisable
}

fn div(x: u64) -> u64 {
    10 / x
}

fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

// ---- helpers ----

fn executor(method: StartMethod, n: usize) -> ProcessPoolExecutor {
    ProcessPoolExecutor::builder()
        .max_workers(n)
        .start_method(method)
        .kill_grace(Duration::from_millis(200))
        .build()
        .unwrap()
}

fn pool(method: StartMethod, n: usize) -> ProcessPool {
    ProcessPool::builder()
        .processes(n)
        .start_method(method)
        .build()
        .unwrap()
}

fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Waits until the blocking task `tag` started; its worker's pid.
fn started(dir: &Path, tag: u64) -> i32 {
    let file = dir.join(format!("started-{tag}"));
    assert!(
        eventually(LONG, || std::fs::read_to_string(&file)
            .is_ok_and(|s| !s.is_empty())),
        "task {tag} never started"
    );
    std::fs::read_to_string(&file).unwrap().parse().unwrap()
}

fn release(dir: &Path) {
    std::fs::write(dir.join("release"), "").unwrap();
}

fn process_gone(pid: i32) -> bool {
    // Gone, or a zombie that is not ours (a forkserver child reaped by the server).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            // Reused pids are unlikely in a test's time span; a zombie is not "gone".
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            state.starts_with('X')
        }
    }
}

fn died(e: &TaskError) -> &WorkerDied {
    match e {
        TaskError::Failed(inner) => inner
            .downcast_ref::<WorkerDied>()
            .unwrap_or_else(|| panic!("not WorkerDied: {e}")),
        other => panic!("expected WorkerDied, got {other:?}"),
    }
}

// ---- scenarios ----

fn executor_submit_and_map(method: StartMethod) {
    let ex = executor(method, 2);
    let f = ex.submit(Call::new(double, 21)).unwrap();
    assert_eq!(*f.result().unwrap(), 42);
    let doubled: Vec<u64> = ex.map(double, 0..100).map(Result::unwrap).collect();
    assert_eq!(doubled, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    // Many futures at once: batched to the workers.
    let futures: Vec<_> = (0..500)
        .map(|i| ex.submit(Call::new(double, i)).unwrap())
        .collect();
    for (i, f) in futures.into_iter().enumerate() {
        assert_eq!(f.into_result().unwrap(), 2 * i as u64);
    }
    let pids = ex.worker_pids();
    assert_eq!(pids.len(), 2);
    ex.shutdown(true, false);
    assert!(ex.is_shutdown());
    assert!(matches!(
        ex.submit(Call::new(double, 1)),
        Err(SubmitError::ShutDown(_))
    ));
    for pid in pids {
        assert!(
            eventually(LONG, || process_gone(pid)),
            "worker {pid} left behind"
        );
    }
}

/// Generic code over the executor: the one line that builds it decides threads or processes.
fn sum_of_doubles<E: Submit<Call<u64, u64>, Output = u64>>(ex: &E) -> u64 {
    let futures: Vec<_> = (0..50)
        .map(|i| ex.submit(Call::new(double, i)).unwrap())
        .collect();
    futures.into_iter().map(|f| f.into_result().unwrap()).sum()
}

fn same_code_on_threads_and_processes(method: StartMethod) {
    let threads = ThreadPoolExecutor::new(2).unwrap();
    let processes = executor(method, 2);
    assert_eq!(sum_of_doubles(&threads), sum_of_doubles(&processes));
}

fn panic_fails_only_its_task_with_backtrace(method: StartMethod) {
    let ex = executor(method, 1);
    let before = ex.worker_pids();
    let bad = ex.submit(Call::new(boom, 7)).unwrap();
    let good = ex.submit(Call::new(double, 4)).unwrap();
    let e = bad.result().unwrap_err();
    let TaskError::Panicked(text) = &e else {
        panic!("expected a panic, got {e:?}")
    };
    assert!(text.starts_with("boom 7"), "{text}");
    assert!(text.contains("backtrace"), "{text}");
    assert_eq!(*good.result().unwrap(), 8);
    // A panic does not cost the worker.
    assert_eq!(ex.worker_pids(), before);
}

fn abort_oom_and_sigkill_fail_only_their_task(method: StartMethod) {
    let ex = executor(method, 2);
    type Task = fn(u64) -> u64;
    let cases: [(Task, i32); 3] = [
        (abort_now, libc::SIGABRT),
        (out_of_memory, libc::SIGABRT),
        (sigkill_self, libc::SIGKILL),
    ];
    for (f, sig) in cases {
        let others: Vec<_> = (0..20)
            .map(|i| ex.submit(Call::new(slow_double, i)).unwrap())
            .collect();
        let bad = ex.submit(Call::new(f, 0)).unwrap();
        let more: Vec<_> = (20..40)
            .map(|i| ex.submit(Call::new(slow_double, i)).unwrap())
            .collect();
        let e = bad.result().unwrap_err();
        let d = died(&e);
        assert_eq!(d.signal(), Some(sig), "{e}");
        assert!(e.to_string().contains(&d.pid().to_string()), "{e}");
        for (i, f) in others.into_iter().chain(more).enumerate() {
            assert_eq!(f.into_result().unwrap(), 2 * i as u64);
        }
        // Later submissions work, on a full set of workers.
        assert_eq!(
            *ex.submit(Call::new(double, 5)).unwrap().result().unwrap(),
            10
        );
        assert!(eventually(LONG, || ex.worker_pids().len() == 2));
    }
    assert!(ex.workers_started() >= 5);
}

fn random_kills_during_1000_tasks_resolve_each_once(method: StartMethod) {
    const N: usize = 1000;
    let ex = executor(method, 2);
    let resolved: Arc<Vec<AtomicUsize>> = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect());
    let mut futures = Vec::with_capacity(N);
    for i in 0..N {
        let f = ex.submit(Call::new(slower_double, i as u64)).unwrap();
        let resolved = resolved.clone();
        f.add_done_callback(move |_| {
            resolved[i].fetch_add(1, Ordering::SeqCst);
        });
        futures.push(f);
    }
    // Kill a worker 10 times while the run goes on (pseudo-random choice of worker).
    let mut kills = 0;
    let mut seed = 0x2545_f491_u64;
    while kills < 10 {
        let pids = ex.worker_pids();
        if pids.is_empty() || futures.iter().all(|f| f.done()) {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let pid = pids[(seed % pids.len() as u64) as usize];
        // SAFETY: signals a worker of ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        kills += 1;
        // Wait for its replacement before the next kill.
        eventually(LONG, || !ex.worker_pids().contains(&pid));
    }
    let mut ok = 0;
    let mut lost = 0;
    for (i, f) in futures.iter().enumerate() {
        match f.result() {
            Ok(v) => {
                assert_eq!(*v, 2 * i as u64);
                ok += 1;
            }
            Err(e) => {
                assert_eq!(died(&e).signal(), Some(libc::SIGKILL));
                lost += 1;
            }
        }
    }
    assert_eq!(ok + lost, N);
    assert!(lost <= kills, "{lost} tasks failed for {kills} kills");
    assert!(kills >= 3, "only {kills} kills happened during the run");
    drop(futures);
    ex.shutdown(true, false);
    for (i, n) in resolved.iter().enumerate() {
        assert_eq!(n.load(Ordering::SeqCst), 1, "task {i} resolved {n:?} times");
    }
}

/// One task at a time (submit, then wait): each goes straight from the submitter to an
/// idle worker (the direct path of `Engine::submit`), while another thread SIGKILLs
/// both workers, five times. Every task still resolves exactly once: done, or failed by its own worker's
/// death.
fn random_kills_during_one_at_a_time_tasks_resolve_each_once(method: StartMethod) {
    const KILLS: usize = 5;
    let ex = Arc::new(executor(method, 2));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let (ex, stop) = (ex.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seed = 0x9e37_79b9_u64;
            for _ in 0..KILLS {
                assert!(eventually(LONG, || ex.worker_pids().len() == 2));
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                std::thread::sleep(Duration::from_micros(seed % 5000));
                // Both workers: the one running a task and the idle one (which may have
                // just been handed the next).
                let pids = ex.worker_pids();
                for &pid in &pids {
                    // SAFETY: signals a worker of ours.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                assert!(eventually(LONG, || pids
                    .iter()
                    .all(|p| !ex.worker_pids().contains(p))));
            }
            stop.store(true, Ordering::SeqCst);
        })
    };
    let resolved = Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let (mut ok, mut lost, mut i) = (0, 0, 0u64);
    // At least 200 tasks, and tasks until the killer is done.
    while i < 200 || !stop.load(Ordering::SeqCst) {
        let f = ex.submit(Call::new(slower_double, i)).unwrap();
        let r = resolved.clone();
        f.add_done_callback(move |_| r.lock().unwrap().push(i as usize));
        match f.result() {
            Ok(v) => {
                assert_eq!(*v, 2 * i);
                ok += 1;
            }
            Err(e) => {
                assert_eq!(died(&e).signal(), Some(libc::SIGKILL));
                lost += 1;
            }
        }
        i += 1;
    }
    killer.join().unwrap();
    assert_eq!(ok + lost, i);
    assert!(
        lost <= KILLS as u64,
        "{lost} tasks failed for {KILLS} kills"
    );
    ex.shutdown(true, false);
    let mut resolved = resolved.lock().unwrap().clone();
    resolved.sort_unstable();
    assert_eq!(
        resolved,
        (0..i as usize).collect::<Vec<_>>(),
        "each task resolved once"
    );
    assert!(ex.workers_started() >= 2 + KILLS);
}

fn cancel_of_a_running_task_replaces_its_worker(method: StartMethod) {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(method, 1);
    let f = ex
        .submit(Call::new(block, (dir.path().to_owned(), 1)))
        .unwrap();
    let queued = ex.submit(Call::new(double, 3)).unwrap();
    let pid = started(dir.path(), 1);
    assert!(f.running());
    assert!(f.cancel(), "a running process task can be cancelled");
    assert!(f.cancelled());
    assert!(f.result().unwrap_err().is_cancelled());
    // The worker was stopped and replaced; the task behind it still runs.
    assert_eq!(*queued.result().unwrap(), 6);
    // Both in time, in no fixed order: a forkserver's child is reaped by the server,
    // maybe before the pool has noticed it die.
    assert!(eventually(LONG, || process_gone(pid)
        && !ex.worker_pids().contains(&pid)));
    assert_eq!(
        *ex.submit(Call::new(double, 1)).unwrap().result().unwrap(),
        2
    );
}

fn spin_forever(_: u64) -> u64 {
    loop {
        std::hint::spin_loop();
    }
}

/// `running()` turns true when the task is sent to its worker; a cancel then, before the
/// worker starts it, must still stop it once it starts (or the worker would spin forever).
fn cancel_right_after_dispatch_stops_the_task(method: StartMethod) {
    let ex = executor(method, 1);
    for _ in 0..5 {
        let f = ex.submit(Call::new(spin_forever, 0)).unwrap();
        assert!(eventually(LONG, || f.running()));
        assert!(f.cancel());
        assert!(f.cancelled());
        let p = ex.submit(Call::new(pid_of, 0)).unwrap();
        assert!(p.into_result().unwrap() > 0);
    }
}

fn timeout_of_a_running_task(method: StartMethod) {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(method, 1);
    let f = ex
        .submit(Call::new(block, (dir.path().to_owned(), 2)).timeout(Duration::from_millis(100)))
        .unwrap();
    let pid = started(dir.path(), 2);
    let e = f.result().unwrap_err();
    let TaskError::Failed(inner) = &e else {
        panic!("{e:?}")
    };
    let t = inner.downcast_ref::<TaskTimedOut>().expect("TaskTimedOut");
    assert_eq!(t.pid(), pid);
    assert!(eventually(LONG, || process_gone(pid)));
    // A task with time to spare is not affected.
    let ok = ex
        .submit(Call::new(double, 8).timeout(Duration::from_secs(60)))
        .unwrap();
    assert_eq!(*ok.result().unwrap(), 16);
}

fn max_tasks_per_child_replaces_workers(method: StartMethod) {
    let ex = ProcessPoolExecutor::builder()
        .max_workers(2)
        .start_method(method)
        .max_tasks_per_child(2)
        .build()
        .unwrap();
    let mut pids = HashSet::new();
    for i in 0..12 {
        pids.insert(
            ex.submit(Call::new(pid_of, i))
                .unwrap()
                .into_result()
                .unwrap(),
        );
    }
    // One at a time: each worker serves two tasks, then a fresh one takes over.
    assert!(pids.len() >= 6, "{} workers served 12 tasks", pids.len());
    let p = ProcessPool::builder()
        .processes(2)
        .start_method(method)
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    let r = p.map_chunked(pid_of, 0..8, Some(1)).unwrap();
    assert_eq!(r.iter().collect::<HashSet<_>>().len(), 8);
}

fn max_memory_per_child_replaces_workers(method: StartMethod) {
    let ex = ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_method(method)
        .max_memory_per_child(48 << 20)
        .build()
        .unwrap();
    let small = ex.submit(Call::new(hog, 1)).unwrap().into_result().unwrap();
    let same = ex.submit(Call::new(hog, 1)).unwrap().into_result().unwrap();
    assert_eq!(small, same, "below the limit the worker stays");
    let big = ex
        .submit(Call::new(hog, 64))
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(
        big, small,
        "the task that passed the limit keeps its result"
    );
    let next = ex.submit(Call::new(hog, 1)).unwrap().into_result().unwrap();
    assert_ne!(next, big, "the worker past the limit was replaced");
    assert!(eventually(LONG, || process_gone(big)));
}

fn shm_segments() -> HashSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn terminate_and_drop_leave_no_process(method: StartMethod) {
    let shm_before = shm_segments();
    let dir = tempfile::tempdir().unwrap();
    // terminate() with a task running and tasks queued.
    let p = pool(method, 2);
    let pids = p.worker_pids();
    let running = p.apply_async(block, (dir.path().to_owned(), 3)).unwrap();
    let queued: Vec<_> = (0..10).map(|i| p.apply_async(double, i).unwrap()).collect();
    started(dir.path(), 3);
    p.terminate();
    p.join().unwrap();
    assert!(running.get().is_err());
    for r in &queued {
        assert!(r.ready());
    }
    for pid in &pids {
        assert!(
            eventually(LONG, || process_gone(*pid)),
            "worker {pid} survived"
        );
    }
    // Drop of a busy executor and of a pool.
    let ex = executor(method, 2);
    let ex_pids = ex.worker_pids();
    let _ = ex.submit(Call::new(double, 1)).unwrap();
    drop(ex);
    let p = pool(method, 2);
    let p_pids = p.worker_pids();
    let _ = p.apply_async(block, (dir.path().to_owned(), 4)).unwrap();
    started(dir.path(), 4);
    drop(p);
    for pid in ex_pids.iter().chain(&p_pids) {
        assert!(
            eventually(LONG, || process_gone(*pid)),
            "worker {pid} survived"
        );
    }
    // Nothing of ours is left in /dev/shm (the pool's shared slots are memfd segments).
    let after = shm_segments();
    let new: Vec<_> = after
        .difference(&shm_before)
        .filter(|n| n.contains("skein"))
        .collect();
    assert!(new.is_empty(), "{new:?}");
}

fn unserialisable_value_fails_at_submit(method: StartMethod) {
    let ex = executor(method, 1);
    match ex.submit(Call::new(takes_unserialisable, Unserialisable)) {
        Err(SubmitError::Encode(call, e)) => {
            assert!(e.to_string().contains("cannot be serialised"), "{e}");
            let (_, arg) = call.into_parts();
            let _: Unserialisable = arg; // handed back
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    let p = pool(method, 1);
    assert!(matches!(
        p.map(takes_unserialisable, [Unserialisable]),
        Err(PoolError::Encode(_))
    ));
    assert!(p.apply_async(takes_unserialisable, Unserialisable).is_err());
    // Nothing was queued; the pool works.
    assert_eq!(ex.pending(), 0);
    assert_eq!(p.apply(double, 2).unwrap(), 4);
}

fn pool_apply_map_starmap_imap(method: StartMethod) {
    let p = pool(method, 3);
    assert_eq!(p.apply(double, 5).unwrap(), 10);
    let items: Vec<u64> = (0..1000).collect();
    let want: Vec<u64> = items.iter().map(|x| x * 2).collect();
    assert_eq!(p.map(double, items.clone()).unwrap(), want);
    assert_eq!(p.map_chunked(double, items.clone(), Some(7)).unwrap(), want);
    let r = p.map_async(double, items.clone()).unwrap();
    assert_eq!(r.get().unwrap(), &want);
    assert_eq!((r.completed(), r.total()), (1000, 1000));
    assert_eq!(p.starmap(add, [(1, 2), (3, 4)]).unwrap(), vec![3, 7]);
    let got: Vec<u64> = p.imap(double, items.clone()).map(Result::unwrap).collect();
    assert_eq!(got, want);
    let mut got: Vec<u64> = p
        .imap_unordered_chunked(double, items.iter().copied(), Some(10))
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    assert_eq!(got, want);
    // An endless input works lazily.
    let first: Vec<u64> = p
        .imap_chunked(double, 0.., Some(4))
        .take(10)
        .map(Result::unwrap)
        .collect();
    assert_eq!(first, (0..10).map(|x| x * 2).collect::<Vec<_>>());
    // A failed item: map reports the first failure; the others are fine in imap.
    assert!(matches!(
        p.map(boom, [1, 2]),
        Err(PoolError::Failed(TaskError::Panicked(_)))
    ));
    // Progress hook.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let r = p
        .map_async_progress(double, 0..100, Some(10), move |done, total| {
            s.lock().unwrap().push((done, total));
        })
        .unwrap();
    r.wait();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 10);
    assert_eq!(*seen.iter().map(|(d, _)| d).max().unwrap(), 100);
    assert!(seen.iter().all(|(_, t)| *t == 100));
    p.close();
    assert!(p.apply_async(double, 1).is_err());
    p.join().unwrap();
}

fn pool_callbacks_run_in_the_parent(method: StartMethod) {
    let p = pool(method, 3);
    let me = std::process::id() as i32;
    let oks = Arc::new(Mutex::new(Vec::new()));
    let errs = Arc::new(Mutex::new(Vec::new()));
    let mut results = Vec::new();
    for i in 0..6u64 {
        let (o, e) = (oks.clone(), errs.clone());
        let f: fn(u64) -> u64 = if i == 3 { boom } else { double };
        results.push(
            p.apply_async_with(
                f,
                i,
                move |v| o.lock().unwrap().push((*v, skein_process::getpid())),
                move |err| {
                    e.lock()
                        .unwrap()
                        .push((err.to_string(), skein_process::getpid()))
                },
            )
            .unwrap(),
        );
    }
    for r in &results {
        r.wait();
    }
    p.close();
    p.join().unwrap();
    let oks = oks.lock().unwrap();
    let errs = errs.lock().unwrap();
    assert_eq!(oks.len(), 5);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].0.contains("boom 3"));
    assert!(
        oks.iter()
            .chain(errs.iter().map(|(_, p)| (0, *p)).collect::<Vec<_>>().iter())
            .all(|(_, pid)| *pid == me)
    );
    assert_eq!(results[3].successful(), Ok(false));
    assert_eq!(results[0].successful(), Ok(true));
}

fn pool_initializer_runs_and_a_failing_one_breaks_the_pool(method: StartMethod) {
    let p = ProcessPool::builder()
        .processes(2)
        .start_method(method)
        .initializer(init, 77)
        .build()
        .unwrap();
    assert_eq!(p.map(read_init, [(), (), ()]).unwrap(), [77, 77, 77]);
    let broken = ProcessPool::builder()
        .processes(1)
        .start_method(method)
        .initializer(init_fails, ())
        .build()
        .unwrap();
    let r = broken.apply_async(read_init, ());
    if let Ok(r) = r {
        let e = r.get().unwrap_err();
        assert!(matches!(e, TaskError::Broken(_)), "{e:?}");
        assert!(e.to_string().contains("initializer refused"), "{e}");
    }
    assert!(eventually(LONG, || broken.is_broken()));
    assert!(matches!(
        broken.apply_async(read_init, ()),
        Err(SubmitError::Broken(_))
    ));
}

fn shutdown_timeout_returns(method: StartMethod) {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(method, 1);
    let f = ex
        .submit(Call::new(block, (dir.path().to_owned(), 5)))
        .unwrap();
    started(dir.path(), 5);
    let t = Instant::now();
    assert!(!ex.shutdown_timeout(Duration::from_millis(50), false));
    assert!(t.elapsed() < LONG);
    release(dir.path());
    assert_eq!(*f.result().unwrap(), 5);
    assert!(ex.shutdown_timeout(LONG, false));
}

/// Re-runs this test binary for the ignored test `test` under `method` (a process of its
/// own: it changes its user and process limit).
fn rerun(test: &str, method: StartMethod) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SKEIN_TEST_METHOD", method.name())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "inner test {test} failed: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run: {stdout}"
    );
    stdout
}

fn eagain_is_an_error_to_the_submitter(method: StartMethod) {
    let out = rerun("inner_eagain", method);
    assert!(out.contains("INNER-EAGAIN-BUILD-OK"), "{out}");
    if method != StartMethod::Forkserver {
        assert!(out.contains("INNER-EAGAIN-SUBMIT-OK"), "{out}");
    }
}

fn set_nproc(n: u64) {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: a valid rlimit for our own process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &lim) }, 0);
}

#[test]
#[ignore = "run by eagain_is_an_error_to_the_submitter"]
fn inner_eagain() {
    let method: StartMethod = std::env::var("SKEIN_TEST_METHOD").unwrap().parse().unwrap();
    // SAFETY: plain integer system calls; this process exists only for this test.
    unsafe {
        if libc::geteuid() == 0 {
            // Root ignores RLIMIT_NPROC; become an ordinary user first.
            assert_eq!(libc::setgid(65534), 0);
            assert_eq!(libc::setuid(65534), 0);
        }
    }
    // A worker is started (not under forkserver: its server keeps the limit it was
    // started with), then the limit drops: the replacement of a killed worker fails.
    let ex = (method != StartMethod::Forkserver).then(|| executor(method, 1));
    set_nproc(0);
    match ProcessPoolExecutor::builder()
        .max_workers(1)
        .start_method(method)
        .build()
    {
        Err(e) => println!("INNER-EAGAIN-BUILD-OK: {e}"),
        Ok(_) => panic!("a pool was built with no process allowed"),
    }
    let Some(ex) = ex else { return };
    let pid = ex.worker_pids()[0];
    // SAFETY: signals our own worker.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let mut futures = Vec::new();
    let refused = eventually(LONG, || match ex.submit(Call::new(double, 1)) {
        Err(SubmitError::Start(call, e)) => {
            let _ = call.into_parts();
            println!("INNER-EAGAIN-SUBMIT-OK: {e}");
            true
        }
        Ok(f) => {
            futures.push(f);
            false
        }
        Err(e) => panic!("unexpected {e}"),
    });
    assert!(refused, "submit never reported the failed worker start");
    // Nothing submitted before that is left hanging: each future resolves.
    for f in futures {
        assert!(f.wait_timeout(LONG));
    }
}

/// Python's `_TestPool` edge cases: no pool of 0 processes; empty inputs give empty
/// results at once (map_async on an empty list must not stall); `get(timeout)` on a
/// running task times out and the task still finishes; a failed `map` leaves the pool
/// able to close and join (no fail-fast deadlock, cpython#68180); with
/// `maxtasksperchild=1`, `close` then `join` waits for every task (cpython#54541); a
/// closed pool refuses new work; `terminate` with 10 000 long tasks queued returns.
fn pool_edge_cases_follow_python(method: StartMethod) {
    assert!(ProcessPool::new(0).is_err());
    // Python's test_pool_maxtasksperchild_invalid: 0 is refused, not taken as 1.
    let e = ProcessPool::builder()
        .processes(1)
        .start_method(method)
        .max_tasks_per_child(0)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("max_tasks_per_child"), "{e}");
    assert!(
        ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .max_tasks_per_child(0)
            .build()
            .is_err()
    );
    let p = pool(method, 2);
    assert_eq!(p.processes(), 2);
    // join before close/terminate: Python's ValueError.
    assert_eq!(p.join(), Err(skein_pool::NotClosedError));
    assert_eq!(
        p.join_timeout(Duration::ZERO),
        Err(skein_pool::NotClosedError)
    );
    let none: Vec<u64> = Vec::new();
    assert_eq!(p.map(double, none.clone()).unwrap(), none);
    assert_eq!(p.map_chunked(double, none.clone(), Some(1)).unwrap(), none);
    let r = p.map_async_chunked(double, none.clone(), Some(1)).unwrap();
    assert!(r.wait_timeout(LONG), "map_async of nothing stalled");
    assert_eq!(r.get().unwrap(), &none);
    assert_eq!(p.imap(double, none.clone()).count(), 0);
    assert_eq!(p.imap_unordered(double, none.clone()).count(), 0);
    assert_eq!(p.starmap(add, Vec::<(u64, u64)>::new()).unwrap(), none);

    let slow = p.apply_async(sleep_ms, 300).unwrap();
    assert!(
        slow.get_timeout(Duration::from_millis(10))
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(slow.get_timeout(LONG).unwrap(), &300);

    assert!(matches!(
        p.map(boom, [0, 1]),
        Err(PoolError::Failed(TaskError::Panicked(_)))
    ));
    p.close();
    assert!(matches!(p.map(double, [1]), Err(PoolError::NotRunning)));
    assert!(p.map_async(double, [1]).is_err());
    assert_eq!(p.join_timeout(LONG), Ok(true));

    let p = ProcessPool::builder()
        .processes(3)
        .start_method(method)
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    let results: Vec<_> = (0..6)
        .map(|i| p.apply_async(slow_double, i).unwrap())
        .collect();
    p.close();
    assert_eq!(p.join_timeout(LONG), Ok(true));
    for (i, r) in (0..).zip(&results) {
        assert!(r.ready());
        assert_eq!(r.get().unwrap(), &(i * 2));
    }

    let p = pool(method, 3);
    let r = p
        .map_async_chunked(sleep_ms, vec![60_000u64; 10_000], Some(1))
        .unwrap();
    let t = Instant::now();
    p.terminate();
    assert_eq!(p.join_timeout(LONG), Ok(true));
    assert!(t.elapsed() < LONG);
    assert!(r.wait_timeout(LONG), "terminate left the map unresolved");
    assert!(r.get().is_err());
    assert!(p.apply_async(double, 1).is_err());
}

/// A result the worker cannot serialise fails that task with a clear error (Python's
/// `MaybeEncodingError`), and the pool loses no worker over it (cpython#53891).
fn a_result_that_cannot_be_serialised_fails_its_task_only(method: StartMethod) {
    let p = pool(method, 2);
    for _ in 0..20 {
        let r = p.apply_async(returns_unserialisable, 1).unwrap();
        let err = r.get_timeout(LONG).unwrap_err();
        assert!(!err.is_timeout(), "{err:?}");
    }
    assert_eq!(
        p.map(double, 0..100).unwrap(),
        (0..100).map(|x| x * 2).collect::<Vec<_>>()
    );
    assert_eq!(p.worker_pids().len(), 2);
    p.close();
    assert_eq!(p.join_timeout(LONG), Ok(true));
}

/// Python's `test_max_tasks_per_child*`: one worker of `max_tasks_per_child(3)` serves
/// three tasks, then a new worker serves the fourth; a backlog larger than the pool
/// while workers hit their limit all resolves, in order (gh-115634); so does one left
/// by `shutdown(wait=false)` (gh-119592) and by `shutdown()` (early shutdown).
fn executor_max_tasks_per_child_with_a_backlog_resolves_everything(method: StartMethod) {
    let build = |workers, tasks| {
        ProcessPoolExecutor::builder()
            .max_workers(workers)
            .start_method(method)
            .max_tasks_per_child(tasks)
            .build()
            .unwrap()
    };
    let ex = build(1, 3);
    let pids: Vec<i32> = (0..4)
        .map(|i| *ex.submit(Call::new(pid_of, i)).unwrap().result().unwrap())
        .collect();
    assert_eq!((pids[0], pids[1]), (pids[2], pids[2]));
    assert_ne!(pids[3], pids[0]);
    for (workers, tasks, n) in [(1, 2, 6u64), (2, 2, 8)] {
        let ex = build(workers, tasks);
        let fs: Vec<_> = (0..n)
            .map(|i| ex.submit(Call::new(double, i)).unwrap())
            .collect();
        let got: Vec<u64> = fs
            .iter()
            .map(|f| *f.result_timeout(LONG).unwrap())
            .collect();
        assert_eq!(got, (0..n).map(|i| i * 2).collect::<Vec<_>>());
    }
    for wait in [false, true] {
        let ex = build(if wait { 3 } else { 1 }, 1);
        let fs: Vec<_> = (0..6u64)
            .map(|i| ex.submit(Call::new(slow_double, i)).unwrap())
            .collect();
        ex.shutdown(wait, false);
        for (i, f) in (0..).zip(&fs) {
            assert_eq!(f.result_timeout(LONG).unwrap(), &(i * 2), "wait={wait}");
        }
    }
}

/// Python's `ExecutorTest`: no executor of 0 workers; `map` yields results in order and
/// a failing item in its place, the later ones still come; `map(..., timeout)` yields
/// what finished and then a timeout; a `map` left unread before `shutdown` does not
/// hang it (issue 12456).
fn executor_basics_follow_python(method: StartMethod) {
    assert!(ProcessPoolExecutor::new(0).is_err());
    let ex = executor(method, 2);
    let got: Vec<_> = ex.map(div, [2, 5, 0, 1]).collect();
    assert_eq!(
        (got[0].as_ref().ok(), got[1].as_ref().ok()),
        (Some(&5), Some(&2))
    );
    assert!(
        matches!(
            got[2],
            Err(skein_pool::MapError::Failed(TaskError::Panicked(_)))
        ),
        "{:?}",
        got[2]
    );
    assert_eq!(got[3].as_ref().ok(), Some(&10));
    let mut it = ex
        .map(sleep_ms, [0, 0, 60_000])
        .timeout(Duration::from_secs(5));
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert!(matches!(
        it.next(),
        Some(Err(skein_pool::MapError::Timeout))
    ));
    assert!(it.next().is_none(), "the iterator ends after its timeout");
    drop(it);
    let unread = ex.map(double, 0..3);
    drop(unread);
    let t = Instant::now();
    assert!(ex.shutdown_timeout(LONG, true));
    assert!(t.elapsed() < LONG);
}

// ---- Python 3.14: terminate_workers() / kill_workers() ----

/// As `block`, with `SIGTERM` ignored (a worker only `SIGKILL` stops).
fn block_ignoring_sigterm(args: (PathBuf, u64)) -> u64 {
    // SAFETY: setting a signal's disposition to SIG_IGN.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
    block(args)
}

fn forced(e: &TaskError) -> ForcedShutdown {
    match e {
        TaskError::Failed(inner) => *inner
            .downcast_ref::<ForcedShutdown>()
            .unwrap_or_else(|| panic!("not ForcedShutdown: {e}")),
        other => panic!("expected ForcedShutdown, got {other:?}"),
    }
}

/// Counts the completions of each future (its done-callbacks).
fn count_completions<T: Send + Sync + 'static>(futures: &[Future<T>]) -> Arc<Vec<AtomicUsize>> {
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..futures.len()).map(|_| AtomicUsize::new(0)).collect());
    for (i, f) in futures.iter().enumerate() {
        let counts = counts.clone();
        f.add_done_callback(move |_| {
            counts[i].fetch_add(1, Ordering::SeqCst);
        });
    }
    counts
}

/// Runs a force shutdown on a busy executor: two running tasks, a backlog, three done.
fn force_shutdown_of_a_busy_executor(method: StartMethod, kill: bool) {
    let dir = tempfile::tempdir().unwrap();
    let ex = executor(method, 2);
    let pids = ex.worker_pids();
    let done: Vec<_> = (0..3)
        .map(|i| ex.submit(Call::new(double, i)).unwrap())
        .collect();
    for (i, f) in done.iter().enumerate() {
        assert_eq!(*f.result().unwrap(), 2 * i as u64);
    }
    let running: Vec<_> = (10..12)
        .map(|tag| {
            ex.submit(Call::new(block, (dir.path().to_owned(), tag)))
                .unwrap()
        })
        .collect();
    let waiting: Vec<_> = (0..20)
        .map(|i| ex.submit(Call::new(double, i)).unwrap())
        .collect();
    let ran = count_completions(&running);
    let waited = count_completions(&waiting);
    let resolved = count_completions(&done);
    started(dir.path(), 10);
    started(dir.path(), 11);
    if kill {
        ex.kill_workers();
    } else {
        ex.terminate_workers();
    }
    // Everything is resolved when the call returns, each future exactly once.
    for f in &running {
        let e = f.result().unwrap_err();
        let why = forced(&e);
        assert!(why.was_running(), "{e}");
        assert_eq!(why.is_kill(), kill);
        assert_eq!(
            why.signal(),
            if kill { libc::SIGKILL } else { libc::SIGTERM }
        );
        let call = if kill {
            "kill_workers()"
        } else {
            "terminate_workers()"
        };
        assert!(e.to_string().contains(call), "{e}");
    }
    for f in &waiting {
        let e = f.result().unwrap_err();
        assert!(!forced(&e).was_running(), "{e}");
    }
    for (i, f) in done.iter().enumerate() {
        assert_eq!(
            *f.result().unwrap(),
            2 * i as u64,
            "a done future keeps its value"
        );
    }
    for counts in [&ran, &waited, &resolved] {
        assert!(
            counts.iter().all(|c| c.load(Ordering::SeqCst) == 1),
            "a future resolved other than once"
        );
    }
    assert!(ex.is_shutdown());
    assert_eq!(ex.pending(), 0);
    assert!(ex.worker_pids().is_empty());
    assert!(matches!(
        ex.submit(Call::new(double, 1)),
        Err(SubmitError::ShutDown(_))
    ));
    for pid in &pids {
        assert!(
            eventually(LONG, || process_gone(*pid)),
            "worker {pid} survived"
        );
    }
    // The blocked tasks never got past their gate.
    release(dir.path());
    drop(ex);
}

fn terminate_workers_fails_every_unresolved_future_once_and_leaves_no_process(method: StartMethod) {
    // test_force_shutdown_workers (terminate), test_force_shutdown_workers_stops_pool.
    force_shutdown_of_a_busy_executor(method, false);
}

fn kill_workers_does_not_wait_for_a_worker_that_ignores_sigterm(method: StartMethod) {
    // test_force_shutdown_workers (kill), test_force_shutdown_workers_stops_pool.
    force_shutdown_of_a_busy_executor(method, true);
    // A worker that ignores SIGTERM: kill_workers does not wait out the grace period
    // (an hour here); terminate_workers does, then kills it.
    for kill in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let grace = if kill { 3600 } else { 1 };
        let ex = ProcessPoolExecutor::builder()
            .max_workers(1)
            .start_method(method)
            .kill_grace(Duration::from_secs(grace))
            .build()
            .unwrap();
        let pid = ex.worker_pids()[0];
        let f = ex
            .submit(Call::new(
                block_ignoring_sigterm,
                (dir.path().to_owned(), 1),
            ))
            .unwrap();
        started(dir.path(), 1);
        let t = Instant::now();
        if kill {
            ex.kill_workers();
        } else {
            ex.terminate_workers();
        }
        assert!(t.elapsed() < LONG, "{:?}", t.elapsed());
        assert!(forced(&f.result().unwrap_err()).was_running());
        assert!(
            eventually(LONG, || process_gone(pid)),
            "worker {pid} survived"
        );
    }
}

fn force_shutdown_after_a_worker_died_or_a_shutdown_does_nothing_more(method: StartMethod) {
    // test_force_shutdown_workers_dead_workers: the pool lost a worker; still fine.
    let ex = executor(method, 1);
    let e = ex
        .submit(Call::new(sigkill_self, 0))
        .unwrap()
        .result()
        .unwrap_err();
    assert_eq!(died(&e).signal(), Some(libc::SIGKILL));
    assert_eq!(
        *ex.submit(Call::new(double, 4)).unwrap().result().unwrap(),
        8
    );
    ex.kill_workers();
    assert!(ex.is_shutdown() && ex.worker_pids().is_empty());
    // A second call, and the other one, do nothing.
    ex.kill_workers();
    ex.terminate_workers();
    // After an ordinary shutdown: the futures keep their results.
    let ex = executor(method, 2);
    let futures: Vec<_> = (0..5)
        .map(|i| ex.submit(Call::new(double, i)).unwrap())
        .collect();
    ex.shutdown(true, false);
    ex.terminate_workers();
    for (i, f) in futures.iter().enumerate() {
        assert_eq!(*f.result().unwrap(), 2 * i as u64);
    }
}
