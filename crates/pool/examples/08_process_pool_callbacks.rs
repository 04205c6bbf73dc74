//! Pool(3) of processes: apply_async with callback and error_callback, then close and join.
//! Seed: 001 (进程池 Pool(3): p.apply_async(worker, args=(i,)), callback, error_callback)
//! Example: 001 § 进程池 — p = Pool(3)
//! Time bound: 60 s
//!
//! Ten tasks go to three worker processes; each prints its pid and number a few times.
//! `callback` gets a task's value and `error_callback` its error — both run in *this*
//! process (Python runs them in the pool's result-handler thread; so does skein). Task 7
//! panics: only its own result fails, and its worker keeps serving. `close()` then
//! `join()`, as in the notes (`join` before `close` is an error). The notes sleep
//! `random.random()` seconds; here a few milliseconds from a fixed sequence.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use skein_pool::ProcessPool;

fn worker(num: u64) -> u64 {
    for i in 0..3 {
        println!("pid = {}, num = {num}", skein_process::getpid());
        std::thread::sleep(Duration::from_millis(5 + (num * 7 + i * 3) % 20));
    }
    if num == 7 {
        panic!("task {num} refuses");
    }
    num * num
}

fn main() {
    skein_process::init();
    println!("parent pid = {}", skein_process::getpid());
    let p = ProcessPool::new(3).expect("Pool(3)");
    let done = Arc::new(Mutex::new(Vec::new()));
    for i in 0..10 {
        let (ok, err) = (done.clone(), done.clone());
        p.apply_async_with(
            worker,
            i,
            move |v| {
                println!(
                    "callback: task {i} returned {v} (in pid {})",
                    skein_process::getpid()
                );
                ok.lock().unwrap().push(i);
            },
            move |e| {
                let first = e.to_string().lines().next().unwrap_or("").to_owned();
                println!("error_callback: task {i} failed: {first}");
                err.lock().unwrap().push(i);
            },
        )
        .expect("the pool takes the task");
    }
    p.close();
    p.join().expect("closed before join");
    let mut done = done.lock().unwrap().clone();
    done.sort_unstable();
    assert_eq!(done, (0..10).collect::<Vec<_>>(), "every callback ran once");
    println!("All done");
}
