//! Async code awaits thread-pool results without blocking its runtime thread.
//! Seed: 000 (线程池 submit / add_done_callback; asyncio.wrap_future 的 Rust 对应)
//! Time bound: 30 s
//!
//! Python's asyncio hands blocking work to a thread pool with `loop.run_in_executor`
//! and awaits a `concurrent.futures.Future` through `asyncio.wrap_future`. A skein
//! `Future` is awaitable itself: `pool.submit(f)?.await`. Here one tokio runtime thread
//! runs three async tasks; each hands a slow blocking job to a 3-worker pool and
//! awaits it, and a ticker keeps running on the same thread meanwhile — proof the
//! awaits do not block it. Then a job that panics, and a timeout that cancels a job
//! still in the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use skein_pool::{Submit, ThreadPoolExecutor};

/// A blocking job: the kind of call asyncio sends to `run_in_executor`.
fn slow_square(x: u64) -> u64 {
    thread::sleep(Duration::from_millis(150));
    x * x
}

fn main() {
    // A one-line panic report instead of the default hook's backtrace.
    std::panic::set_hook(Box::new(|info| {
        let name = thread::current().name().unwrap_or("?").to_owned();
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        eprintln!("(panic hook) {name}: {msg}");
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let pool = Arc::new(ThreadPoolExecutor::new(3).expect("a pool"));
    let start = Instant::now();

    rt.block_on(async {
        println!("== three awaits, one runtime thread ==");
        let done = Arc::new(AtomicBool::new(false));
        let ticker = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut ticks = 0;
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    ticks += 1;
                }
                ticks
            })
        };
        let mut tasks = Vec::new();
        for x in 1..=3u64 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                // loop.run_in_executor(pool, slow_square, x)
                let value = pool.submit(move || slow_square(x)).unwrap().await.unwrap();
                println!("  task {x}: {x}² = {value}  (at {:?})", start.elapsed());
                value
            }));
        }
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let ticks = ticker.await.unwrap();
        println!("  sum = {sum}; the ticker ticked {ticks} times while the pool worked");
        assert_eq!(sum, 14);
        assert!(ticks >= 1, "the runtime thread kept running other tasks");

        println!("== a job that panics ==");
        let failed = pool
            .submit(|| -> u64 { panic!("bad input") })
            .unwrap()
            .await;
        println!(
            "  await gave: {:?}",
            failed.as_ref().map_err(|e| e.to_string())
        );
        assert!(failed.is_err());

        println!("== a timeout drops the await, which cancels a job not yet started ==");
        let blockers: Vec<_> = (0..3)
            .map(|_| {
                pool.submit(|| thread::sleep(Duration::from_millis(200)))
                    .unwrap()
            })
            .collect();
        let queued = pool.submit(|| println!("  (never printed)")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        queued.add_done_callback(move |f| tx.send(f.cancelled()).unwrap());
        let waited = tokio::time::timeout(Duration::from_millis(50), queued).await;
        println!("  timed out: {}", waited.is_err());
        println!("  the queued job was cancelled: {}", rx.recv().unwrap());
        for b in blockers {
            b.await.unwrap();
        }
    });
    println!("done in {:?}", start.elapsed());
}
