//! A task that panics fails only its own future; the worker and the other tasks go on.
//! Seed: 000 (线程池: future.result() 取结果)
//! Time bound: 30 s
//!
//! In Python an exception inside a task is stored in its future and re-raised by
//! `result()`. In skein a panic is caught on the worker and stored as
//! `TaskError::Panicked` with its message (the panic line itself is still printed by the
//! panic hook, like Python's traceback in the log). A panicking done-callback is reported
//! and does no harm either.

use skein_pool::{Submit, TaskError, ThreadPoolExecutor};

fn main() {
    // A one-line panic report instead of the default hook's backtrace.
    std::panic::set_hook(Box::new(|info| {
        let name = std::thread::current().name().unwrap_or("?").to_owned();
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        eprintln!("(panic hook) {name}: {msg}");
    }));
    let pool = ThreadPoolExecutor::new(2).expect("a pool of 2");
    println!("== one bad task among good ones ==");
    let futures: Vec<_> = (0..4)
        .map(|i| {
            pool.submit(move || {
                if i == 2 {
                    panic!("task {i} divided by zero");
                }
                i * 10
            })
            .expect("the pool is open")
        })
        .collect();
    for (i, f) in futures.iter().enumerate() {
        match f.result() {
            Ok(v) => println!("task {i}: ok {v}"),
            Err(TaskError::Panicked(msg)) => println!("task {i}: panicked: {msg}"),
            Err(e) => println!("task {i}: {e}"),
        }
    }
    println!(
        "exception() of task 2: {:?}",
        futures[2].exception().map(|e| e.to_string())
    );

    println!("\n== a panicking callback ==");
    let f = pool.submit(|| 1).expect("the pool is open");
    f.wait();
    f.add_done_callback(|_| panic!("callback failed"));
    println!(
        "the future still says {:?}; the pool still works: {}",
        f.result(),
        { *pool.submit(|| 2 + 2).unwrap().result().unwrap() }
    );
}
