//! Sing and dance at the same time: two threads started, then joined.
//! Seed: 001 (多任务: sing / dance)
//! Example: 001 § 多线程 — t1 = threading.Thread(target=sing)
//! Example: 001 § 基础使用 — t1 = threading.Thread(target=dance)
//! Example: 004 § 案例04
//! Time bound: 20 s
//!
//! The notes' first example: `threading.Thread(target=sing)` and `target=dance`, both
//! started, then both joined, then "Main thread is over." The lines of the two threads
//! interleave because both run at once. The notes sleep 1 s per step; here a step is
//! 100 ms so the demo ends quickly.

use std::thread::sleep;
use std::time::Duration;

use skein_threads::Builder;

const STEP: Duration = Duration::from_millis(100);

fn sing() {
    for i in 1..=5 {
        println!("Singing... ({i}/5)");
        sleep(STEP);
    }
}

fn dance() {
    for i in 1..=5 {
        println!("    Dancing... ({i}/5)");
        sleep(STEP);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== t1 = Thread(target=sing); t2 = Thread(target=dance); start both ==");
    let t1 = Builder::new().spawn(sing)?;
    let t2 = Builder::new().spawn(dance)?;
    println!(
        "started {} and {}: their lines interleave",
        t1.thread(),
        t2.thread()
    );

    println!("\n== t1.join(); t2.join() ==");
    t1.join()?;
    t2.join()?;
    println!("Main thread is over.");

    println!("\n== and one after the other, for contrast (start, join, start, join) ==");
    Builder::new().spawn(sing)?.join()?;
    Builder::new().spawn(dance)?.join()?;
    println!("sequential: twice as long, no interleaving");
    Ok(())
}
