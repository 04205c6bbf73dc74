//! Subclassing Thread: calling run() yourself stays on your thread; start() makes a new one.
//! Seed: 000 (class Study(threading.Thread): s1.run() vs s1.start())
//! Example: 000 § 线程 — s1.run()
//! Example: 001 § 继承的方式创建 — class MyThread(threading.Thread):
//! Example: 004 § 案例07
//! Example: 004 § 案例08
//! Time bound: 20 s
//!
//! The notes' `Study` class overrides `run`. Calling `s1.run(); s2.run()` just calls a
//! method: both run on the main thread, one after the other ("相当于只是在执行函数, 并没有
//! 使用多线程"). `start()` runs `run` on a new thread, so two studies overlap. In Rust the
//! subclass is a type implementing the `Run` trait; `start` moves the object to its thread
//! and `join` gives it back with what `run` stored. Seed 001's `MyThread(name=…)` follows.

use std::thread::sleep;
use std::time::{Duration, Instant};

use skein_threads::{Builder, Run, current_thread};

struct Study {
    subject: &'static str,
    ran_on: String,
}

impl Run for Study {
    fn run(&mut self) {
        println!(
            "  current thread: {} — start studying {}",
            current_thread().name(),
            self.subject
        );
        sleep(Duration::from_millis(300));
        println!("  finished {} on {}", self.subject, current_thread().name());
        self.ran_on = current_thread().name();
    }
}

/// Seed 001: a thread type that names itself.
struct MyThread {
    name: String,
}

impl Run for MyThread {
    fn run(&mut self) {
        println!("  Thread {} started", current_thread().name());
        sleep(Duration::from_millis(200));
        println!("  Thread {} finished", current_thread().name());
    }

    fn name(&self) -> Option<String> {
        Some(self.name.clone())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "== s1.run(); s2.run(): plain method calls on {} ==",
        current_thread().name()
    );
    let started = Instant::now();
    let mut s1 = Study {
        subject: "语文 (Chinese)",
        ran_on: String::new(),
    };
    let mut s2 = Study {
        subject: "数学 (maths)",
        ran_on: String::new(),
    };
    s1.run();
    s2.run();
    println!(
        "both ran on {:?} and {:?}, one after the other: {:?} (about 2 × 300 ms)",
        s1.ran_on,
        s2.ran_on,
        started.elapsed()
    );

    println!("\n== s1.start(); s2.start(); join both: each on its own thread ==");
    let started = Instant::now();
    let h1 = Builder::new().name("study-1").start(Study {
        subject: "语文 (Chinese)",
        ran_on: String::new(),
    })?;
    let h2 = Builder::new().name("study-2").start(Study {
        subject: "数学 (maths)",
        ran_on: String::new(),
    })?;
    let (s1, s2) = (h1.join()?, h2.join()?);
    println!(
        "ran on {:?} and {:?}, at the same time: {:?} (about 300 ms)",
        s1.ran_on,
        s2.ran_on,
        started.elapsed()
    );

    println!("\n== seed 001: MyThread(name=f\"Thread-{{i}}\") × 3, start all, join all ==");
    let handles = (0..3)
        .map(|i| {
            MyThread {
                name: format!("Thread-{i}"),
            }
            .start()
        })
        .collect::<Result<Vec<_>, _>>()?;
    for handle in handles {
        handle.join()?;
    }
    println!("Main thread finished");
    Ok(())
}
