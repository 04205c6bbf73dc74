//! `wait()` on several children and a message channel at once, reacting to whichever is ready.
//!
//! Seed: 001 (通信 — a parent that waits on its workers and their messages together)
//! Time bound: 60 s
//!
//! `multiprocessing.connection.wait([p.sentinel for p in procs] + [reader])` — each
//! `ProcessHandle::sentinel()` is a pidfd that becomes readable when that child ends;
//! a `Connection` is ready when a message (or end-of-stream) is waiting. The parent
//! handles events in the order they happen, without a thread per child.
//!
//! The message channel here is a `Pipe` `Connection`: skein's `Queue` lives in shared
//! memory and has no descriptor to wait on (a manager `QueueProxy` has none either).

use std::time::Duration;

use skein_process::{Connection, Process, Waitable, pipe, wait};

fn sleeper(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

fn reporter(conn: Connection) {
    for step in 1..=3 {
        std::thread::sleep(Duration::from_millis(40));
        conn.send(&format!("progress {step}/3")).expect("send");
    }
}

fn main() {
    skein_process::init();
    let (messages, tx) = pipe(true).expect("pipe");
    let kids: Vec<_> = [150u64, 50, 250]
        .into_iter()
        .map(|ms| Process::new(sleeper, ms).start().expect("start"))
        .collect();
    let rep = Process::new(reporter, tx).start().expect("start");
    let sentinels: Vec<_> = kids
        .iter()
        .map(|k| k.sentinel().expect("sentinel"))
        .collect();
    let mut running: Vec<usize> = (0..kids.len()).collect();
    let mut channel_open = true;
    while !running.is_empty() || channel_open {
        let mut objs: Vec<&dyn Waitable> = running
            .iter()
            .map(|&i| &sentinels[i] as &dyn Waitable)
            .collect();
        if channel_open {
            objs.push(&messages);
        }
        let ready = wait(&objs, Some(Duration::from_secs(30))).expect("wait");
        assert!(!ready.is_empty(), "nothing happened in 30 s");
        let mut ended = Vec::new();
        for r in ready {
            if r < running.len() {
                let i = running[r];
                println!(
                    "child {} (pid {}) ended with {}",
                    i,
                    kids[i].pid(),
                    kids[i].join().expect("join")
                );
                ended.push(i);
            } else {
                match messages.recv::<String>() {
                    Ok(m) => println!("message: {m}"),
                    Err(_) => {
                        println!("the reporter hung up");
                        channel_open = false;
                    }
                }
            }
        }
        running.retain(|i| !ended.contains(i));
    }
    assert_eq!(rep.join().expect("join"), 0);
    println!("all children ended, all messages read");
}
