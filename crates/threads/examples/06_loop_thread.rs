//! A named LoopThread and current_thread(): every thread knows its own name.
//! Seed: 002 (threading.current_thread().name, LoopThread)
//! Example: 002 § 多线程 — t = threading.Thread(target=loop, name='LoopThread')
//! Example: 004 § 案例06
//! Time bound: 20 s
//!
//! Any process starts with a main thread, `MainThread`; a child thread's name is given
//! when it is created. Inside the loop, `current_thread()` finds the thread's own handle.
//! Also shown: renaming (`setName`/`getName` of seed 004), `ident` and `native_id`.

use std::thread::sleep;
use std::time::Duration;

use skein_threads::{Builder, current_thread, get_ident, get_native_id};

fn run_loop() {
    println!("thread {} is running...", current_thread().name());
    let mut n = 0;
    while n < 5 {
        n += 1;
        println!("thread {} >>> {n}", current_thread().name());
        sleep(Duration::from_millis(100));
    }
    println!("thread {} ended.", current_thread().name());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== seed 002 ==");
    println!("thread {} is running...", current_thread().name());
    let t = Builder::new().name("LoopThread").spawn(run_loop)?;
    t.join()?;
    println!("thread {} ended.", current_thread().name());

    println!("\n== getName / setName, ident, native_id (seed 004, case 06) ==");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let t = Builder::new().name("worker").spawn(move || {
        let _ = rx.recv();
        let me = current_thread();
        format!(
            "inside: name = {}, get_ident() = {}, get_native_id() = {:?}",
            me.name(),
            get_ident(),
            get_native_id()
        )
    })?;
    let thread = t.thread().clone();
    println!("getName() = {}", thread.name());
    thread.set_name("renamed-worker");
    println!(
        "after setName(\"renamed-worker\"): getName() = {}",
        thread.name()
    );
    println!(
        "ident = {}, native_id = {:?}",
        thread.ident(),
        thread.native_id()
    );
    tx.send(())?;
    println!("{}", t.join()?);
    println!(
        "main: name = {}, ident = {}, native_id = {:?}",
        current_thread().name(),
        get_ident(),
        get_native_id()
    );
    Ok(())
}
