//! A worker process SIGKILLed in the middle of a task: only that task fails, the pool heals.
//! Seed: 000 (进程池: 计算密集型用多进程)
//! Time bound: 60 s
//!
//! CPython's `ProcessPoolExecutor` marks the whole pool broken when a worker dies
//! (`BrokenProcessPool`: every pending future fails, later submits are refused) and
//! `multiprocessing.Pool` hangs (cpython#96062). skein fails only the task the dead
//! worker was running — naming the signal and the pid — requeues what it had been sent
//! ahead, starts a replacement, and keeps serving.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use skein_pool::{Call, ProcessPoolExecutor, Submit, TaskError, WorkerDied};

/// Writes its pid to `file`, then works for a long time.
fn victim(file: PathBuf) -> u64 {
    std::fs::write(&file, skein_process::getpid().to_string()).expect("write pid");
    std::thread::sleep(Duration::from_secs(30));
    0
}

fn square(x: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(20));
    x * x
}

fn main() {
    skein_process::init();
    let pool = ProcessPoolExecutor::new(2).expect("a pool of 2");
    println!("workers: {:?}", pool.worker_pids());
    let file = std::env::temp_dir().join(format!("skein-demo-11-{}", skein_process::getpid()));
    let _ = std::fs::remove_file(&file);
    let doomed = pool
        .submit(Call::new(victim, file.clone()))
        .expect("submit");
    let others: Vec<_> = (0..10)
        .map(|i| pool.submit(Call::new(square, i)).expect("submit"))
        .collect();
    let end = Instant::now() + Duration::from_secs(30);
    let pid: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|s| s.parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < end, "the task never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = std::fs::remove_file(&file);
    println!("task running in worker {pid}: sending it SIGKILL");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill(1)");
    match doomed.result() {
        Err(TaskError::Failed(e)) => {
            let died = e.downcast_ref::<WorkerDied>().expect("a dead worker");
            println!("the task failed: {died}");
        }
        other => panic!("unexpected outcome {other:?}"),
    }
    let values: Vec<u64> = others
        .into_iter()
        .map(|f| f.into_result().expect("ok"))
        .collect();
    println!("the other ten tasks: {values:?}");
    let later = pool
        .submit(Call::new(square, 12))
        .expect("submit")
        .into_result();
    println!("a later task: 12² = {}", later.expect("ok"));
    println!(
        "workers now: {:?} (started in all: {})",
        pool.worker_pids(),
        pool.workers_started()
    );
}
