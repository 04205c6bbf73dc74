//! threading.enumerate(): list the live threads, with their names, while they run.
//! Seed: 001 (获取线程数量: threading.enumerate)
//! Example: 001 § 获取线程数量 — print(threading.enumerate())
//! Example: 004 § 案例06
//! Time bound: 20 s
//!
//! Five `dance` threads are started; `enumerate()` lists them beside the main thread, in
//! the notes' `repr` format, and `active_count()` is the length of that list. Once they
//! are joined, the list is back to the main thread alone: the registry always tells the
//! truth, also for a thread that panicked.

use std::sync::{Arc, Barrier};

use skein_threads::{Builder, active_count, enumerate, main_thread};

fn show(title: &str) {
    let threads = enumerate();
    let listed: Vec<String> = threads.iter().map(ToString::to_string).collect();
    println!("{title}");
    println!("  enumerate() = [{}]", listed.join(", "));
    println!("  active_count() = {}", active_count());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== before any thread ==");
    println!("main_thread() = {}", main_thread());
    show("only the main thread:");

    println!("\n== five dance threads, each waiting at a barrier so they are all alive ==");
    let gate = Arc::new(Barrier::new(6));
    let mut handles = Vec::new();
    for i in 0..5 {
        let gate = gate.clone();
        handles.push(
            Builder::new()
                .name(format!("Thread-{} (dance)", i + 1))
                .spawn(move || {
                    gate.wait(); // stay alive until main has looked
                })?,
        );
    }
    show("while they run:");
    gate.wait();
    for handle in handles {
        handle.join()?;
    }
    show("after join:");

    println!("\n== a thread that panics leaves the list too ==");
    skein_threads::set_excepthook(|args| {
        println!(
            "  (excepthook) thread {} panicked: {}",
            args.thread().name(),
            args.message()
        );
    });
    std::panic::set_hook(Box::new(|_| {})); // keep Rust's own panic message out of the demo
    let doomed = Builder::new().name("doomed").spawn(|| panic!("boom"))?;
    let err = doomed.join().expect_err("it panicked");
    println!("  join() -> Err({err})");
    show("after the panic:");
    Ok(())
}
