//! threading.Timer: run a function after a delay, unless cancelled first.
//! Seed: 004 (threading.Timer: 启动倒计时(sec, func))
//! Example: 004 § 案例15
//! Time bound: 20 s
//!
//! `Timer(interval, f)` is a thread that waits `interval`, then calls `f`. `cancel()`
//! stops it while it is still waiting: then `f` never runs, and the timer's thread ends at
//! once rather than sleeping out its interval.

use std::time::{Duration, Instant};

use skein_threads::{Builder, Timer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== Timer(0.3, hello).start() ==");
    let started = Instant::now();
    let timer = Timer::start(Duration::from_millis(300), move || {
        println!("  hello, world — fired after {:?}", started.elapsed());
    })?;
    println!("  started {}, waiting...", timer.thread());
    let ran = timer.join()?;
    println!("  join() -> fired = {ran}");

    println!("\n== a one-hour Timer, cancelled at once ==");
    let started = Instant::now();
    let timer = Builder::new()
        .name("alarm")
        .spawn_timer(Duration::from_secs(3600), || {
            println!("  this never prints")
        })?;
    let cancelled = timer.cancel();
    println!(
        "  cancel() -> {cancelled}; is_cancelled() = {}",
        timer.is_cancelled()
    );
    let ran = timer.join()?;
    println!(
        "  join() -> fired = {ran}, after {:?} (not an hour)",
        started.elapsed()
    );

    println!("\n== cancel() after it fired does nothing ==");
    let timer = Timer::start(Duration::from_millis(50), || println!("  fired"))?;
    timer.join_timeout(Duration::from_secs(10))?;
    println!(
        "  cancel() -> {} (too late); has_fired() = {}",
        timer.cancel(),
        timer.has_fired()
    );
    timer.join()?;
    Ok(())
}
