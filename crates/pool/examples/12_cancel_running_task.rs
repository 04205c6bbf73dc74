//! Cancelling a task that is already running: its worker is stopped and replaced.
//! Seed: 000 (future.cancel(): 取消任务)
//! Time bound: 60 s
//!
//! Python's `future.cancel()` returns `False` for a running task: nothing can stop it.
//! In a process pool a task can be stopped — by stopping its process. skein's
//! `Future::cancel` on a running `ProcessPoolExecutor` task sends its worker `SIGTERM`
//! (then `SIGKILL` after a grace period), starts a replacement, and the future reports
//! cancelled. The demo also prints how long it took from `cancel()` until a new worker
//! served a task, and shows a per-task timeout (pebble's) working the same way.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use skein_pool::{Call, ProcessPoolExecutor, Submit};

fn endless(file: PathBuf) -> u64 {
    std::fs::write(&file, skein_process::getpid().to_string()).expect("write pid");
    loop {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pid(_: ()) -> i32 {
    skein_process::getpid()
}

fn main() {
    skein_process::init();
    let pool = ProcessPoolExecutor::new(1).expect("a pool of 1");
    let file = std::env::temp_dir().join(format!("skein-demo-12-{}", skein_process::getpid()));
    let _ = std::fs::remove_file(&file);
    let future = pool
        .submit(Call::new(endless, file.clone()))
        .expect("submit");
    let end = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < end, "the task never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let old = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    println!("running: {} (worker {old})", future.running());
    let t = Instant::now();
    println!("cancel() -> {}", future.cancel());
    println!(
        "cancelled: {}, result: {:?}",
        future.cancelled(),
        future.result().map(|_| ())
    );
    let new = pool
        .submit(Call::new(pid, ()))
        .expect("submit")
        .into_result()
        .expect("ok");
    println!(
        "a new worker {new} served a task {:.1} ms after cancel()",
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_ne!(old, new.to_string());

    let timed = pool
        .submit(Call::new(endless, file.clone()).timeout(Duration::from_millis(200)))
        .expect("submit");
    match timed.result() {
        Err(e) => println!("with a 200 ms timeout: {e}"),
        Ok(_) => unreachable!("an endless task cannot succeed"),
    }
    let _ = std::fs::remove_file(&file);
}
