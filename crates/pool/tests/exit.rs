//! Exit never blocks on a pool unless asked (beyond CPython, which joins executor threads
//! at exit, cpython#80961): a child process whose `main` ends with a forgotten pool still
//! running a task that never ends exits at once.

use std::process::Command;
use std::time::{Duration, Instant};

use skein_pool::{Submit, ThreadPoolExecutor};

#[test]
#[ignore = "run as a child process by exit_does_not_wait_for_a_forgotten_pool"]
fn child_forgets_a_busy_pool() {
    if std::env::var_os("SKEIN_POOL_EXIT_CHILD").is_none() {
        return;
    }
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let stuck = pool
        .submit(move || {
            tx.send(()).unwrap();
            loop {
                std::thread::sleep(Duration::from_millis(10));
            }
        })
        .unwrap();
    rx.recv().unwrap();
    std::mem::forget(stuck);
    std::mem::forget(pool);
}

#[test]
fn exit_does_not_wait_for_a_forgotten_pool() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_forgets_a_busy_pool",
            "--ignored",
            "--nocapture",
        ])
        .env("SKEIN_POOL_EXIT_CHILD", "1")
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the child blocked at exit on a pool");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
