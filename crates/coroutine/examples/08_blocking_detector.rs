//! The blocking detector catching a `std::thread::sleep` inside a green task.
//! Seed: 001 (协程 — `monkey.patch_all()` makes `time.sleep` cooperative; Rust cannot patch std)
//! Example: 001 § 修饰其他IO函数 — monkey.patch_all()
//!
//! gevent's `monkey.patch_all()` swaps `time.sleep` and `socket` for cooperative
//! versions. Rust cannot patch std, so `std::thread::sleep` in a green task blocks the
//! whole thread: every other task of the hub stops. skein's answer is the cooperative
//! API (`hub::sleep`, `hub::TcpStream`, …) plus a detector — on by default in debug
//! builds, threshold 100 ms — that names the task holding the hub, says for how long,
//! and shows where (a backtrace sampled by a monitor thread while the task is blocked).
//!
//! Below, a ticker task prints every 50 ms with `hub::sleep`; then a "careless" task
//! calls `std::thread::sleep(300 ms)`: the ticks stop, and the detector reports it
//! twice — from the monitor thread while the task blocks (with the backtrace: resolving
//! symbols of a debug build takes a moment, so this demo waits for that report), and
//! from the hub when the task lets go (with the total time held).

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use skein_coroutine::hub::{self, BlockingPhase};

fn main() {
    let (seen_tx, seen_rx) = mpsc::channel();
    let seen_tx = Mutex::new(seen_tx);
    hub::set_blocking_reporter(move |report| {
        eprintln!("{report}");
        if report.phase() == BlockingPhase::Blocking {
            let _ = seen_tx.lock().unwrap().send(());
        }
    });
    hub::set_blocking_threshold(Some(Duration::from_millis(100)));
    let start = Instant::now();
    let stamp = move || start.elapsed().as_millis();

    let ticker = hub::Builder::new().name("ticker").spawn(move || {
        for i in 0..8 {
            println!("[{:>4} ms] tick {i}", stamp());
            hub::sleep(Duration::from_millis(50));
        }
    });
    let careless = hub::Builder::new().name("careless").spawn(move || {
        hub::sleep(Duration::from_millis(120));
        println!(
            "[{:>4} ms] careless: std::thread::sleep(300 ms) — the hub stops",
            stamp()
        );
        std::thread::sleep(Duration::from_millis(300));
        println!("[{:>4} ms] careless: done blocking", stamp());
    });
    careless.join().expect("careless");
    ticker.join().expect("ticker");
    // The monitor thread may still be resolving symbols: poll for its report without
    // blocking the hub.
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen_rx.try_recv().is_err() && Instant::now() < deadline {
        hub::sleep(Duration::from_millis(10));
    }
    println!("The gap between ticks is the time the careless task held the hub.");
    println!("Fix: hub::sleep(Duration::from_millis(300)) keeps the ticker running.");
}
