//! The hand-made single-worker pool: one thread running the tasks put in a Queue(5).
//! Seed: 003 (MyThread + queue.Queue(5) 手写线程池)
//! Example: 003 § 3.进程池 — class MyThread(Thread):
//! Time bound: 10 s
//!
//! Seed 003 subclasses `Thread`, gives it a `queue.Queue(5)` of callables, loops
//! `task = self.queue.get(); task()` in `run`, and adds tasks with `apply_async`. The
//! Python loop never ends (the program must be killed); here the pool shuts its queue
//! down on `Drop`, the worker finishes what was queued and exits, and `join` on the queue
//! tells the caller when every task ran.

use std::thread;
use std::time::Duration;

use skein_queue::Queue;

type Task = Box<dyn FnOnce() + Send>;

/// `MyThread` of the notes.
struct MyThread {
    queue: Queue<Task>,
    worker: Option<thread::JoinHandle<()>>,
}

impl MyThread {
    fn start() -> Self {
        let queue: Queue<Task> = Queue::new(5); // 创建队列
        let q = queue.clone();
        let worker = thread::spawn(move || {
            // run(): the worker is the consumer.
            while let Ok(task) = q.get() {
                println!("  got a task (拿到了)");
                task();
                q.task_done().unwrap();
            }
            println!("  worker: queue shut down, exiting");
        });
        Self {
            queue,
            worker: Some(worker),
        }
    }

    /// The producer side.
    fn apply_async(&self, task: impl FnOnce() + Send + 'static) {
        if let Err(e) = self.queue.put(Box::new(task)) {
            println!("  rejected: {e}");
        }
    }

    /// Waits until every task put so far has run.
    fn wait(&self) {
        self.queue.join();
    }
}

impl Drop for MyThread {
    fn drop(&mut self) {
        self.queue.shutdown();
        if let Some(w) = self.worker.take() {
            w.join().unwrap();
        }
    }
}

fn task_1() {
    println!("  task one starts (任务一开始)");
    thread::sleep(Duration::from_millis(100));
    println!("  task one done (任务一完成)");
}

fn task_2() {
    println!("  task two starts (任务二开始)");
    thread::sleep(Duration::from_millis(100));
    println!("  task two done (任务二完成)");
}

fn main() {
    println!("== thread.apply_async(task_1); thread.apply_async(task_2) ==");
    let pool = MyThread::start();
    pool.apply_async(task_1);
    pool.apply_async(task_2);
    pool.wait();
    println!("all tasks ran; the worker thread is reused for more:");
    for i in 0..3 {
        pool.apply_async(move || println!("  closure task {i}"));
    }
    pool.wait();
    println!("\n== drop(pool): shutdown + join the worker ==");
    drop(pool);
}
