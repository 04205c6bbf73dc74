//! Two processes from plain target functions: `coding()` and `play()` print their pids in turn.
//!
//! Seed: 000 (进程: p1 = Process(target=coding); p2 = Process(target=play); p1.start(); p2.start())
//! Example: 000 § 进程 — p1 = Process(target=coding)
//! Time bound: 30 s
//!
//! The notes' `coding` and `play` are plain functions that loop forever: print a line with
//! their pid, sleep 1–5 s at random, print another. `main` starts both and does not join
//! them (the `p1.join()` / `p2.join(timeout=3)` lines are commented out: joining p1 first
//! would make p2 wait for it — "阻塞 等执行完才会进行下一个"). Unjoined, the two processes
//! do not affect each other and their lines interleave, each tagged with its own pid.
//!
//! Here each loop runs four rounds and sleeps 50–250 ms at random, so the demo ends. The
//! parent prints while the children run and returns from `main` without joining; as in
//! Python, the exit of the parent waits for its non-daemon children.

use std::time::Duration;

use skein_process::{Process, getpid};

/// A small random sleep of 50–250 ms (the notes' `time.sleep(random.randint(1, 5))`),
/// from a xorshift seeded by the pid and the clock.
fn random_sleep(state: &mut u64) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    std::thread::sleep(Duration::from_millis(50 * (1 + *state % 5)));
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(getpid().unsigned_abs()) << 32 | u64::from(nanos)) | 1
}

fn coding(_: ()) {
    let mut state = seed();
    for _ in 0..4 {
        println!("AAAAAA, 进程号：{}", getpid());
        random_sleep(&mut state);
        println!("BBBBBBB， 进程号：{}", getpid());
    }
}

fn play(_: ()) {
    let mut state = seed();
    for _ in 0..4 {
        println!("    1111111111， 进程号：{}", getpid());
        random_sleep(&mut state);
        println!("    2222222222， 进程号：{}", getpid());
    }
}

fn main() {
    skein_process::init();
    println!("== p1 = Process(target=coding); p2 = Process(target=play); start both ==");
    let p1 = Process::new(coding, ()).start().expect("start p1");
    // p1.join() here would block until coding is done: play would start only after it.
    let p2 = Process::new(play, ()).start().expect("start p2");
    println!(
        "main (pid {}): started {} (pid {}) and {} (pid {}), not joining them",
        getpid(),
        p1.name(),
        p1.pid(),
        p2.name(),
        p2.pid()
    );
    println!("main: returning; the exit waits for both children, as Python's does");
}
