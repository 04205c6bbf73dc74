//! `.await` on a pool's futures (Python's `asyncio.wrap_future` / `run_in_executor`), on
//! tokio's current-thread runtime: one thread runs every async task, so a future that
//! blocked that thread while waiting would stop all of them. Each test runs its runtime on
//! a helper thread and gives up after a generous bound instead of hanging.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use skein_pool::{Executor, Submit, TaskError, ThreadPool, ThreadPoolExecutor};

/// Runs `f` on a current-thread tokio runtime on its own thread; fails the test if it does
/// not finish within a minute (a blocked runtime thread would never finish).
fn on_current_thread<R: Send + 'static>(
    f: impl FnOnce(&tokio::runtime::Runtime) -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _ = tx.send(f(&rt));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the async test finished (the runtime thread was never blocked)")
}

/// A gate the pool's jobs wait behind until the async side opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, cond) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cond.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
}

/// 200 async tasks await 200 jobs of a 2-worker pool; the jobs are held behind a gate that
/// an async task opens only after every awaiting task has registered. If awaiting blocked
/// the runtime's only thread, the gate would never open.
#[test]
fn many_futures_awaited_at_once_on_one_runtime_thread() {
    const TASKS: usize = 200;
    let total = on_current_thread(|rt| {
        let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
        let gate = Gate::default();
        let registered = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let mut handles = Vec::new();
            for i in 0..TASKS {
                let gate = gate.clone();
                let future = pool
                    .submit(move || {
                        gate.wait();
                        i
                    })
                    .unwrap();
                let registered = registered.clone();
                handles.push(tokio::spawn(async move {
                    registered.fetch_add(1, Ordering::SeqCst);
                    future.await.unwrap()
                }));
            }
            while registered.load(Ordering::SeqCst) < TASKS {
                tokio::task::yield_now().await;
            }
            gate.open();
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            total
        })
    });
    assert_eq!(total, (0..TASKS).sum::<usize>());
}

/// `loop.run_in_executor(pool, fn)`: submit and await, with a `ThreadPool` too.
#[test]
fn run_in_executor_and_thread_pool_results() {
    let (a, b) = on_current_thread(|rt| {
        let executor = ThreadPoolExecutor::new(2).unwrap();
        let pool = ThreadPool::new(2).unwrap();
        rt.block_on(async {
            let a = executor.submit(|| String::from("hello")).unwrap().await;
            let b = pool.apply_async(|| 7u64).unwrap().into_future().await;
            (a.unwrap(), b.unwrap())
        })
    });
    assert_eq!((a.as_str(), b), ("hello", 7));
}

#[test]
fn a_panicking_task_is_an_error_for_its_awaiter_only() {
    let (bad, good) = on_current_thread(|rt| {
        let pool = ThreadPoolExecutor::new(1).unwrap();
        rt.block_on(async {
            let bad = pool
                .submit(|| -> u32 { panic!("boom in the pool") })
                .unwrap();
            let good = pool.submit(|| 5u32).unwrap();
            (bad.await, good.await)
        })
    });
    match bad {
        Err(TaskError::Panicked(message)) => assert!(message.contains("boom in the pool")),
        other => panic!("expected a panic error, got {other:?}"),
    }
    assert_eq!(good.unwrap(), 5);
}

/// Dropping the awaiting task (here: a tokio timeout that fires) cancels a job that has
/// not started: it never runs, and its callbacks see it cancelled.
#[test]
fn dropping_the_awaiting_task_cancels_a_queued_job() {
    let (timed_out, cancelled, ran) = on_current_thread(|rt| {
        let pool = ThreadPoolExecutor::new(1).unwrap();
        let gate = Gate::default();
        let ran = Arc::new(AtomicBool::new(false));
        let blocker = {
            let gate = gate.clone();
            pool.submit(move || gate.wait()).unwrap()
        };
        let queued = {
            let ran = ran.clone();
            pool.submit(move || ran.store(true, Ordering::SeqCst))
                .unwrap()
        };
        let (tx, rx) = mpsc::channel();
        queued.add_done_callback(move |f| tx.send(f.cancelled()).unwrap());
        let timed_out = rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(10), queued)
                .await
                .is_err()
        });
        gate.open();
        blocker.result().unwrap();
        pool.shutdown(true, false);
        (timed_out, rx.recv().unwrap(), ran.load(Ordering::SeqCst))
    });
    assert!(
        timed_out,
        "the worker was held, so the job could not finish"
    );
    assert!(cancelled, "dropping the awaiter cancelled the queued job");
    assert!(!ran, "a cancelled job never runs");
}

/// A job cancelled on the pool's side while a task awaits it (`shutdown` with
/// `cancel_futures`) wakes that task with `Cancelled`.
#[test]
fn a_job_cancelled_by_the_pool_wakes_its_awaiter() {
    let outcome = on_current_thread(|rt| {
        let pool = Arc::new(ThreadPoolExecutor::new(1).unwrap());
        let gate = Gate::default();
        let (started_tx, started_rx) = mpsc::channel();
        let blocker = {
            let gate = gate.clone();
            pool.submit(move || {
                started_tx.send(()).unwrap();
                gate.wait()
            })
            .unwrap()
        };
        started_rx.recv().unwrap();
        let queued = pool.submit(|| 1u8).unwrap();
        rt.block_on(async {
            let awaiting = tokio::spawn(queued.into_future());
            tokio::task::yield_now().await; // the task registers its waker
            let canceller = {
                let pool = pool.clone();
                std::thread::spawn(move || pool.shutdown(false, true))
            };
            let outcome = awaiting.await.unwrap();
            canceller.join().unwrap();
            gate.open();
            blocker.result().unwrap();
            outcome
        })
    });
    assert!(matches!(outcome, Err(TaskError::Cancelled)), "{outcome:?}");
}
