//! CPython's `Lib/test/test_concurrent_futures/test_deadlock.py`, mapped to skein: the
//! process pool does not hang, lose a task, crash the caller or give a vague error when
//! things go wrong at every stage — an error, a panic or a crash (`_exit`, `abort`,
//! `SIGSEGV`) while serialising the arguments in the caller, deserialising them in the
//! worker, running the task, serialising the result in the worker, deserialising it in the
//! caller; a crash after `shutdown`; `shutdown(wait=false)` with tasks in flight; a worker
//! that dies with a large result on its way; an initializer that fails or crashes; many
//! submits at once (gh-105829, the wake-up pipe). One matrix under fork, spawn and
//! forkserver.
//!
//! Pickle's `__reduce__` hooks become serde impls of [`Bad`], whose `on` field selects the
//! stage (its `Serialize` or its `Deserialize`) and whose `how` field selects what
//! happens there. Every scenario runs under a watchdog that fails the test (and ends the
//! process) instead of hanging.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::{RwLock, mpsc};
use std::time::{Duration, Instant};

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use skein_pool::{
    Call, CodecFailure, CodecStage, Executor, ProcessPool, ProcessPoolExecutor, Submit,
    SubmitError, TaskError, WorkerDied,
};
use skein_process::StartMethod;

#[macro_use]
mod common;

skein_process::test_support!();

/// CPython's `support.LONG_TIMEOUT` is 5 minutes; a generous bound, never a timing test.
const LONG: Duration = Duration::from_secs(120);

matrix!(
    under super::bounded;
    error_or_panic_serialising_the_arguments_in_the_caller_refuses_the_submit,
    error_or_panic_deserialising_the_arguments_in_the_worker_fails_only_that_task,
    crash_deserialising_the_arguments_in_the_worker_fails_only_that_task,
    crash_running_the_task_fails_only_that_task,
    error_or_panic_serialising_the_result_in_the_worker_fails_only_that_task,
    crash_serialising_the_result_in_the_worker_fails_only_that_task,
    error_or_panic_deserialising_the_result_in_the_caller_fails_only_that_task,
    crash_after_shutdown_began_resolves_the_task_and_shutdown_returns,
    shutdown_without_wait_with_failing_tasks_in_flight_resolves_each,
    crash_with_large_data_in_the_pipes_resolves_every_task,
    worker_dying_while_its_large_result_is_in_the_pipe,
    a_failing_or_crashing_initializer_breaks_the_pool_without_hanging,
    many_submits_at_once_never_block,
    shutdown_unlists_a_worker_before_reaping_it,
);

/// Runs `f` on a thread; fails (and ends the test process: a hung pool would keep its
/// workers) if it has not returned within [`LONG`].
///
/// The scenarios that panic in this process on purpose (a `Serialize` at submit, a
/// `Deserialize` on the pool's manager thread) run alone: a fork while another thread holds the panic machinery's
/// locks (stderr, the backtrace lock) would leave the forked worker blocked on them the
/// first time it panics — the multi-threaded-fork hazard skein-process warns about, not
/// the pool's doing.
fn bounded(name: &'static str, f: impl FnOnce() + Send + 'static) {
    static ALONE: RwLock<()> = RwLock::new(());
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let alone = name.contains("_in_the_caller_");
        let _gate = if alone {
            (None, Some(ALONE.write().unwrap_or_else(|e| e.into_inner())))
        } else {
            (Some(ALONE.read().unwrap_or_else(|e| e.into_inner())), None)
        };
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(LONG) {
        Ok(()) => t.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The scenario panicked: its panic is the test's failure.
            if let Err(p) = t.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            eprintln!("{name}: deadlock: no return within {LONG:?}");
            std::process::exit(101);
        }
    }
}

// ---- the bad value ----

/// Which serde impl of [`Bad`] misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum On {
    Serialize,
    Deserialize,
    Never,
}

/// What it does there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum How {
    /// Returns a serde error.
    Error,
    /// Panics.
    Panic,
    /// `libc::_exit(3)`: no unwinding, no destructors (Python's `sys.exit` in a worker).
    Exit,
    /// `std::process::abort()`.
    Abort,
    /// `SIGSEGV` (CPython's `faulthandler._sigsegv()`).
    Segfault,
}

/// A value whose `Serialize` or `Deserialize` misbehaves as told (pickle's `__reduce__`
/// hooks of `test_deadlock.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bad {
    on: On,
    how: How,
}

fn crash(how: How) {
    match how {
        // SAFETY: `_exit` ends the process; no Rust state is observed after it.
        How::Exit => unsafe { libc::_exit(3) },
        How::Abort => std::process::abort(),
        How::Segfault => {
            // SAFETY: raising a signal at ourselves; SIGSEGV's default action ends us.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
        }
        How::Error | How::Panic => {}
    }
}

impl Serialize for Bad {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.on == On::Serialize {
            match self.how {
                How::Error => return Err(serde::ser::Error::custom("refused to serialise")),
                How::Panic => panic!("Serialize panicked on purpose"),
                how => crash(how),
            }
        }
        (self.on, self.how).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bad {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bad, D::Error> {
        let (on, how) = <(On, How)>::deserialize(d)?;
        if on == On::Deserialize {
            match how {
                How::Error => return Err(serde::de::Error::custom("refused to deserialise")),
                How::Panic => panic!("Deserialize panicked on purpose"),
                how => crash(how),
            }
        }
        Ok(Bad { on, how })
    }
}

// ---- task functions (plain fns: they exist in a spawned worker too) ----

fn take(_: Bad) -> u64 {
    1
}

fn make(b: (On, How)) -> Bad {
    Bad { on: b.0, how: b.1 }
}

fn run_and(how: How) -> u64 {
    crash(how);
    0
}

fn double(x: u64) -> u64 {
    x * 2
}

/// Waits for `dir/release`, then does `how`.
fn wait_then(args: (PathBuf, How)) -> u64 {
    std::fs::write(args.0.join("started"), "").unwrap();
    while !args.0.join("release").exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    crash(args.1);
    if args.1 == How::Panic {
        panic!("the task panicked after shutdown");
    }
    0
}

fn crash_with_data(data: String) -> u64 {
    crash(How::Segfault);
    data.len() as u64
}

/// Returns 8 MiB (far more than a pipe holds) while another thread of the worker ends it.
fn big_result_then_exit(len: usize) -> Vec<u8> {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(1));
        // SAFETY: ends the process.
        unsafe { libc::_exit(4) };
    });
    vec![7u8; len]
}

fn init_crash(how: How) {
    if how == How::Panic {
        panic!("initializer panicked on purpose");
    }
    crash(how);
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

fn codec(e: &TaskError) -> &CodecFailure {
    match e {
        TaskError::Failed(inner) => inner
            .downcast_ref::<CodecFailure>()
            .unwrap_or_else(|| panic!("not a CodecFailure: {e}")),
        other => panic!("expected a CodecFailure, got {other:?}"),
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

fn assert_crash(e: &TaskError, how: How) {
    let d = died(e);
    match how {
        How::Exit => assert_eq!(d.exitcode(), Some(3), "{d}"),
        How::Abort => assert_eq!(d.signal(), Some(libc::SIGABRT), "{d}"),
        How::Segfault => assert_eq!(d.signal(), Some(libc::SIGSEGV), "{d}"),
        _ => unreachable!(),
    }
}

/// The pool still serves: every task of a batch resolves with its value.
fn still_serves(ex: &ProcessPoolExecutor) {
    let fs: Vec<_> = (0..20)
        .map(|x| ex.submit(Call::new(double, x)).unwrap())
        .collect();
    for (x, f) in fs.iter().enumerate() {
        assert_eq!(*f.result().unwrap(), x as u64 * 2);
    }
}

fn finish(ex: ProcessPoolExecutor) {
    assert!(ex.shutdown_timeout(LONG, false), "shutdown did not return");
    assert!(ex.worker_pids().is_empty());
}

const CRASHES: [How; 3] = [How::Exit, How::Abort, How::Segfault];

// ---- scenarios ----

/// `test_error_at_task_pickle`: serialisation happens in `submit`, so the error is the
/// submitter's, with the call handed back; a panicking `Serialize` does not unwind into
/// the caller. (A crash there would be the caller's own process: n.a.)
fn error_or_panic_serialising_the_arguments_in_the_caller_refuses_the_submit(m: StartMethod) {
    let ex = executor(m, 2);
    for how in [How::Error, How::Panic] {
        let bad = Bad {
            on: On::Serialize,
            how,
        };
        match ex.submit(Call::new(take, bad)) {
            Err(SubmitError::Encode(call, e)) => {
                assert_eq!(*call.args(), bad);
                let text = e.to_string();
                // postcard keeps no custom error text: only a panic's message shows.
                if how == How::Panic {
                    assert!(text.contains("panicked on purpose"), "{text}");
                }
            }
            Err(other) => panic!("expected SubmitError::Encode, got {other}"),
            Ok(_) => panic!("a value that cannot be serialised was accepted"),
        }
        // A map serialises at the call too.
        let p = ProcessPool::builder()
            .processes(1)
            .start_method(m)
            .build()
            .unwrap();
        assert!(p.map(take, [bad, bad]).is_err());
        p.terminate();
    }
    still_serves(&ex);
    finish(ex);
}

/// `test_error_at_task_unpickle`: CPython breaks the pool; here only the task fails, with
/// the stage named, and its worker lives on.
fn error_or_panic_deserialising_the_arguments_in_the_worker_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    let pids = ex.worker_pids();
    for how in [How::Error, How::Panic] {
        let bad = Bad {
            on: On::Deserialize,
            how,
        };
        let f = ex.submit(Call::new(take, bad)).unwrap();
        let e = &f.result().unwrap_err();
        let c = codec(e);
        assert_eq!(c.stage(), CodecStage::ArgumentsInWorker, "{c}");
        assert_eq!(c.panicked(), how == How::Panic, "{c}");
        let text = c.to_string();
        assert!(
            text.starts_with("the arguments could not be deserialised in the worker"),
            "{text}"
        );
        if how == How::Panic {
            assert!(text.contains("Deserialize panicked on purpose"), "{text}");
        }
    }
    still_serves(&ex);
    assert_eq!(ex.worker_pids(), pids, "no worker was replaced");
    finish(ex);
}

/// `test_exit_at_task_unpickle`, `test_crash_at_task_unpickle`: the worker dies; only the
/// task fails (CPython: `BrokenProcessPool` for all), the pool heals.
fn crash_deserialising_the_arguments_in_the_worker_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    for how in CRASHES {
        let bad = Bad {
            on: On::Deserialize,
            how,
        };
        let f = ex.submit(Call::new(take, bad)).unwrap();
        assert_crash(&f.result().unwrap_err(), how);
        still_serves(&ex);
    }
    finish(ex);
}

/// `test_crash_during_func_exec_on_worker`, `test_exit_during_func_exec_on_worker`
/// (`test_error_during_func_exec_on_worker` is a panic: tests/process_pool.rs
/// `panic_fails_only_its_task_with_backtrace`).
fn crash_running_the_task_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    for how in CRASHES {
        let f = ex.submit(Call::new(run_and, how)).unwrap();
        let e = &f.result().unwrap_err();
        assert_crash(e, how);
        assert!(e.to_string().contains("while running the task"), "{e}");
        still_serves(&ex);
    }
    finish(ex);
}

/// `test_error_during_result_pickle_on_worker`: the stage is named, the worker lives.
fn error_or_panic_serialising_the_result_in_the_worker_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    let pids = ex.worker_pids();
    for how in [How::Error, How::Panic] {
        let f = ex.submit(Call::new(make, (On::Serialize, how))).unwrap();
        let e = &f.result().unwrap_err();
        let c = codec(e);
        assert_eq!(c.stage(), CodecStage::ResultInWorker, "{c}");
        assert_eq!(c.panicked(), how == How::Panic, "{c}");
        let text = c.to_string();
        assert!(
            text.starts_with("the result could not be serialised in the worker"),
            "{text}"
        );
    }
    still_serves(&ex);
    assert_eq!(ex.worker_pids(), pids, "no worker was replaced");
    finish(ex);
}

/// `test_crash_during_result_pickle_on_worker`, `test_exit_during_result_pickle_on_worker`.
fn crash_serialising_the_result_in_the_worker_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    for how in CRASHES {
        let f = ex.submit(Call::new(make, (On::Serialize, how))).unwrap();
        assert_crash(&f.result().unwrap_err(), how);
        still_serves(&ex);
    }
    finish(ex);
}

/// `test_error_during_result_unpickle_in_result_handler`: CPython breaks the pool. Here
/// the result is decoded on the pool's manager thread: a `Deserialize` that panics there
/// used to unwind the manager, leaving every future unresolved; now it fails that task.
/// (`test_exit_during_result_unpickle_in_result_handler`: an exit in the caller ends the
/// caller's own process: n.a.)
fn error_or_panic_deserialising_the_result_in_the_caller_fails_only_that_task(m: StartMethod) {
    let ex = executor(m, 2);
    for how in [How::Error, How::Panic] {
        let fs: Vec<_> = (0..4)
            .map(|_| ex.submit(Call::new(make, (On::Deserialize, how))).unwrap())
            .collect();
        for f in &fs {
            let e = &f.result().unwrap_err();
            let c = codec(e);
            assert_eq!(c.stage(), CodecStage::ResultInCaller, "{c}");
            assert_eq!(c.panicked(), how == How::Panic, "{c}");
            assert!(
                c.to_string()
                    .starts_with("the result could not be deserialised in the caller"),
                "{c}"
            );
        }
        still_serves(&ex);
    }
    // The same through `ProcessPool::map`'s chunks.
    let p = ProcessPool::builder()
        .processes(2)
        .start_method(m)
        .build()
        .unwrap();
    let e = p
        .map(
            make,
            [(On::Never, How::Error), (On::Deserialize, How::Panic)],
        )
        .unwrap_err();
    assert!(e.to_string().contains("deserialised in the caller"), "{e}");
    assert_eq!(p.map(double, 0..10).unwrap().len(), 10);
    p.close();
    assert_eq!(p.join_timeout(LONG), Ok(true));
    finish(ex);
}

/// `test_shutdown_deadlock`: a worker crashes after `shutdown(wait=true)` began; the
/// task fails with the death, shutdown returns.
fn crash_after_shutdown_began_resolves_the_task_and_shutdown_returns(m: StartMethod) {
    for how in [How::Segfault, How::Exit, How::Panic] {
        let dir = tempfile::tempdir().unwrap();
        let ex = Arc::new(executor(m, 2));
        let f = ex
            .submit(Call::new(wait_then, (dir.path().to_path_buf(), how)))
            .unwrap();
        wait_for(&dir.path().join("started"));
        let shut = {
            let ex = ex.clone();
            std::thread::spawn(move || ex.shutdown(true, false))
        };
        // Shutdown has begun once submits are refused.
        let end = Instant::now() + LONG;
        while !matches!(
            ex.submit(Call::new(double, 1)),
            Err(SubmitError::ShutDown(_))
        ) {
            assert!(Instant::now() < end, "shutdown never began");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::fs::write(dir.path().join("release"), "").unwrap();
        shut.join().unwrap();
        let e = &f.result().unwrap_err();
        match how {
            How::Panic => assert!(e.is_panic(), "{e:?}"),
            how => assert_crash(e, how),
        }
        assert!(ex.worker_pids().is_empty());
    }
}

/// `test_shutdown_deadlock_pickle` (bpo-39104): `shutdown(wait=false)` with tasks in
/// flight that fail at each worker stage; each resolves once, the manager ends.
fn shutdown_without_wait_with_failing_tasks_in_flight_resolves_each(m: StartMethod) {
    let ex = executor(m, 2);
    assert_eq!(
        *ex.submit(Call::new(double, 21)).unwrap().result().unwrap(),
        42
    );
    let a = ex
        .submit(Call::new(
            take,
            Bad {
                on: On::Deserialize,
                how: How::Error,
            },
        ))
        .unwrap();
    let b = ex
        .submit(Call::new(make, (On::Serialize, How::Panic)))
        .unwrap();
    let c = ex.submit(Call::new(run_and, How::Abort)).unwrap();
    let d = ex
        .submit(Call::new(make, (On::Deserialize, How::Error)))
        .unwrap();
    let e = ex.submit(Call::new(double, 5)).unwrap();
    ex.shutdown(false, false);
    assert_eq!(
        codec(&a.result().unwrap_err()).stage(),
        CodecStage::ArgumentsInWorker
    );
    assert_eq!(
        codec(&b.result().unwrap_err()).stage(),
        CodecStage::ResultInWorker
    );
    assert_crash(&c.result().unwrap_err(), How::Abort);
    assert_eq!(
        codec(&d.result().unwrap_err()).stage(),
        CodecStage::ResultInCaller
    );
    assert_eq!(*e.result().unwrap(), 10);
    finish(ex);
}

/// `test_crash_big_data` (cpython#94777): workers crash while large arguments are in
/// the pipes; every task resolves with the death, no hang.
fn crash_with_large_data_in_the_pipes_resolves_every_task(m: StartMethod) {
    let ex = executor(m, 2);
    let data = "a".repeat(1 << 20);
    let fs: Vec<_> = (0..10)
        .map(|_| ex.submit(Call::new(crash_with_data, data.clone())).unwrap())
        .collect();
    for f in &fs {
        assert_crash(&f.result().unwrap_err(), How::Segfault);
    }
    still_serves(&ex);
    finish(ex);
}

/// A worker killed while its result is in the pipe: whichever comes first (the whole
/// reply or the exit), the task resolves once — its value, or the death — and the pool
/// heals. Both outcomes are correct; neither may hang or tear.
fn worker_dying_while_its_large_result_is_in_the_pipe(m: StartMethod) {
    let ex = executor(m, 2);
    let len = 8 << 20;
    for _ in 0..3 {
        let f = ex.submit(Call::new(big_result_then_exit, len)).unwrap();
        match f.result() {
            Ok(v) => assert!(v.len() == len && v.iter().all(|b| *b == 7)),
            Err(e) => assert_eq!(died(&e).exitcode(), Some(4), "{e}"),
        }
        still_serves(&ex);
    }
    finish(ex);
}

/// CPython's initializer tests (`test_initializer` of test_init.py, the pool's
/// `BrokenProcessPool`): a panicking initializer breaks the pool (covered in
/// tests/process_pool.rs); one that exits, aborts or segfaults used to have its workers
/// replaced forever while the queued task waited: now it breaks the pool too, naming the
/// initializer, and every task resolves.
fn a_failing_or_crashing_initializer_breaks_the_pool_without_hanging(m: StartMethod) {
    for how in [How::Panic, How::Exit, How::Abort, How::Segfault] {
        let built = ProcessPoolExecutor::builder()
            .max_workers(2)
            .start_method(m)
            .initializer(init_crash, how)
            .build();
        let Ok(ex) = built else {
            continue; // refusing to build is a clear error too
        };
        let fs: Vec<_> = (0..4)
            .filter_map(|x| ex.submit(Call::new(double, x)).ok())
            .collect();
        for f in &fs {
            let e = &f.result().unwrap_err();
            assert!(matches!(e, TaskError::Broken(_)), "{how:?}: {e:?}");
            assert!(e.to_string().contains("initializer"), "{e}");
        }
        let end = Instant::now() + LONG;
        while !matches!(ex.submit(Call::new(double, 1)), Err(SubmitError::Broken(_))) {
            assert!(Instant::now() < end, "{how:?}: the pool never broke");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(ex.shutdown_timeout(LONG, false));
    }
}

/// gh-105829: submits must never block on the manager's wake-up pipe, however many come
/// before the manager runs; every task resolves once.
fn many_submits_at_once_never_block(m: StartMethod) {
    let ex = Arc::new(executor(m, 2));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ex = ex.clone();
            std::thread::spawn(move || {
                let fs: Vec<_> = (0..2_000u64)
                    .map(|x| ex.submit(Call::new(double, t * 10_000 + x)).unwrap())
                    .collect();
                fs.iter()
                    .enumerate()
                    .all(|(x, f)| *f.result().unwrap() == (t * 10_000 + x as u64) * 2)
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap());
    }
    assert!(ex.shutdown_timeout(LONG, false));
}

/// A pid is taken out of `worker_pids()` before its process is reaped (after which the
/// pid could name another process), at shutdown as while the pool runs: sampled while
/// shutdown reaps, no pid is both reaped and listed, in that order.
fn shutdown_unlists_a_worker_before_reaping_it(m: StartMethod) {
    let ex = Arc::new(executor(m, 3));
    still_serves(&ex);
    let pids = ex.worker_pids();
    assert_eq!(pids.len(), 3);
    let shut = {
        let ex = ex.clone();
        std::thread::spawn(move || ex.shutdown(true, false))
    };
    // Under forkserver the server, the workers' parent, reaps them on its own time.
    let ours = m != StartMethod::Forkserver;
    while ours && !shut.is_finished() {
        for &pid in &pids {
            // Reaped first, listed after: the wrong order (race-free: reaping is final).
            let reaped = reaped(pid);
            let listed = ex.worker_pids().contains(&pid);
            assert!(!(reaped && listed), "pid {pid} listed after it was reaped");
        }
    }
    shut.join().unwrap();
    assert!(ex.worker_pids().is_empty());
    for pid in pids {
        // Fork and spawn: reaped by the pool's shutdown; forkserver: by the server, soon.
        let end = Instant::now() + LONG;
        while !reaped(pid) {
            assert!(ours || Instant::now() < end, "worker {pid} left behind");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn reaped(pid: i32) -> bool {
    // Gone (a zombie is not reaped yet).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('X'),
    }
}

fn wait_for(file: &Path) {
    let end = Instant::now() + LONG;
    while !file.exists() {
        assert!(Instant::now() < end, "{} never appeared", file.display());
        std::thread::sleep(Duration::from_millis(2));
    }
}
