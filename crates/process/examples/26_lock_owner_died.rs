//! A process killed while holding a shared `Lock`: the next acquirer gets `OwnerDied`.
//!
//! Seed: 000 (锁 — what happens to a lock when its holder dies)
//!
//! CPython's `multiprocessing.Lock` is a POSIX semaphore: if its holder is killed, every
//! later `acquire()` hangs forever. skein's lock records its owner's pid; a waiter that
//! finds the owner dead takes the lock over and is told so with `OwnerDied` — the lock
//! *is* held, but the data it protected may be half-updated, so the program can repair
//! it (here: the half-written account transfer) and carry on.

use std::time::{Duration, Instant};

use skein_process::{Array, Event, Lock, Process};

fn transfer_and_die((lock, accounts, held): (Lock, Array<i64>, Event)) {
    let _guard = lock.lock().unwrap();
    accounts.set(0, 0).unwrap(); // took 100 from account 0 ...
    held.set();
    std::thread::sleep(Duration::from_secs(60)); // ... killed before crediting account 1
}

fn main() {
    skein_process::init();
    let lock = Lock::new().expect("shared memory");
    let accounts = Array::from_slice(&[100i64, 0]).expect("shared memory");
    let held = Event::new().expect("shared memory");
    let child = Process::new(
        transfer_and_die,
        (lock.clone(), accounts.clone(), held.clone()),
    )
    .name("transfer")
    .start()
    .expect("start");
    held.wait();
    println!(
        "the child holds the lock mid-transfer: accounts = {:?}",
        accounts.to_vec()
    );
    child.kill().expect("kill");
    println!("child killed, exit code {:?}", child.join().expect("join"));

    let t = Instant::now();
    match lock.acquire() {
        Ok(()) => println!("acquired normally (unexpected)"),
        Err(died) => {
            println!("acquire() -> Err({died}) after {:?}", t.elapsed());
            let now = accounts.to_vec();
            println!("repairing the half-done transfer: {now:?} -> [0, 100]");
            accounts.set(1, 100).unwrap();
        }
    }
    lock.release().expect("we hold it");
    println!(
        "accounts = {:?}; the lock is usable again: {:?}",
        accounts.to_vec(),
        lock.try_acquire()
    );
}
