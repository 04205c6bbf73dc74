//! A `Fork` process pool does not print skein-process's multi-threaded-fork warning
//! for its first workers (forked by the pool's manager thread while the thread that
//! builds the pool waits, holding nothing); the warning still comes when the program
//! runs a thread of its own at that time.
//!
//! Own harness (`harness = false`): libtest runs each test on a thread of its own, so a
//! test process is never single-threaded. This `main` re-runs its own binary once per
//! case, with the case in an environment variable, and reads the case's stderr.

use std::process::Command;

use skein_pool::ProcessPool;
use skein_process::StartMethod;

const CASE: &str = "SKEIN_FORK_WARNING_CASE";
const WARNING: &str = "multi-threaded";

fn double(x: u64) -> u64 {
    x * 2
}

/// Builds a 2-worker `Fork` pool and uses every worker.
fn use_a_fork_pool() {
    let pool = ProcessPool::builder()
        .processes(2)
        .start_method(StartMethod::Fork)
        .build()
        .unwrap();
    assert_eq!(pool.map(double, 0..100u64).unwrap()[99], 198);
    assert_eq!(pool.apply(double, 21).unwrap(), 42);
    pool.close();
    pool.join().unwrap();
}

fn run_case(case: &str) {
    match case {
        "pool" => use_a_fork_pool(),
        "pool_beside_a_user_thread" => {
            // A thread of the program's own, alive (parked) while the pool forks.
            let (stop, wait) = std::sync::mpsc::channel::<()>();
            let user = std::thread::spawn(move || wait.recv().ok());
            use_a_fork_pool();
            stop.send(()).unwrap();
            user.join().unwrap();
        }
        other => panic!("unknown case {other}"),
    }
}

/// Runs `case` in a fresh copy of this binary; its stderr.
fn stderr_of(case: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CASE, case)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "case {case} failed: {stderr}");
    stderr
}

fn main() {
    skein_process::init();
    if let Ok(case) = std::env::var(CASE) {
        run_case(&case);
        return;
    }
    let quiet = stderr_of("pool");
    assert!(
        !quiet.contains(WARNING),
        "a fork pool in a single-threaded program warned:\n{quiet}"
    );
    println!("test a_fork_pool_does_not_warn ... ok");
    let warned = stderr_of("pool_beside_a_user_thread");
    assert!(
        warned.contains(WARNING) && warned.matches(WARNING).count() == 1,
        "a fork pool beside a user thread should warn once:\n{warned}"
    );
    println!("test a_fork_pool_beside_a_user_thread_warns ... ok");
}
