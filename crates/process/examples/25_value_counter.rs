//! A shared counter incremented by four processes, without and with its lock.
//!
//! Seed: 000 (数据共享 — the lost update of the lock chapter, now across processes)
//!
//! `RawValue` (Python's `Value('i', 0, lock=False)`) is read and written separately,
//! so two processes can read the same old value and one increment is lost. `Value`'s
//! `lock()` holds its process-shared lock across the read-modify-write
//! (`with v.get_lock(): v.value += 1`), and the count is exact.

use skein_process::{Barrier, Process, RawValue, Value};

const PROCESSES: usize = 4;
const EACH: u64 = 20_000;

fn add_unlocked((v, start): (RawValue<u64>, Barrier)) {
    // Start together, so the processes really overlap.
    start.wait().expect("barrier");
    for _ in 0..EACH {
        let old = v.get();
        std::thread::yield_now(); // widen the window, like the notes' time.sleep
        v.set(old + 1);
    }
}

fn add_locked((v, start): (Value<u64>, Barrier)) {
    start.wait().expect("barrier");
    for _ in 0..EACH {
        let mut guard = v.lock().unwrap();
        let old = *guard;
        std::thread::yield_now(); // the same window, but nobody else can enter it
        *guard = old + 1;
    }
}

/// Starts `PROCESSES` children running `f(args())` and waits for them all.
fn run_all<A: serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
    f: fn(A),
    args: impl Fn() -> A,
) {
    let kids: Vec<_> = (0..PROCESSES)
        .map(|_| Process::new(f, args()).start().expect("start"))
        .collect();
    kids.into_iter().for_each(|k| drop(k.join()));
}

fn main() {
    skein_process::init();
    let expected = PROCESSES as u64 * EACH;

    let start = Barrier::new(PROCESSES).expect("shared memory");
    println!("== without the lock (RawValue) ==");
    let raw = RawValue::new(0u64).expect("shared memory");
    run_all(add_unlocked, || (raw.clone(), start.clone()));
    let got = raw.get();
    println!(
        "expected {expected}, got {got} ({} updates lost)",
        expected - got
    );

    println!("== with the lock (Value) ==");
    let v = Value::new(0u64).expect("shared memory");
    run_all(add_locked, || (v.clone(), start.clone()));
    println!("expected {expected}, got {}", v.get());
    assert_eq!(v.get(), expected);
}
