//! The subclass form: a struct that *is* the process, with `run` as its body (`impl Run`).
//!
//! Seed: 001 (class MyProcess(mp.Process): def run(self))
//! Example: 001 § 多进程 — class MyProcess(mp.Process):
//! Example: 004 § 案例18
//!
//! Python subclasses `Process` and overrides `run`; in Rust the struct's fields are the
//! process's state and `Run::run(self)` runs in the child. The notes loop forever; this
//! version runs three rounds.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use skein_process::{Process, Run};

#[derive(Serialize, Deserialize)]
struct MyProcess {
    name: String,
}

impl Run for MyProcess {
    fn run(self) {
        for _ in 0..3 {
            println!(
                "Process {} is running (pid {})",
                self.name,
                skein_process::getpid()
            );
            std::thread::sleep(Duration::from_millis(50));
            println!("Process {} is done", self.name);
        }
    }
}

fn main() {
    skein_process::init();
    println!("== subclass form: impl Run for MyProcess ==");
    let p1 = Process::from_run(MyProcess { name: "p1".into() })
        .name("p1")
        .start()
        .expect("start p1");
    let p2 = Process::from_run(MyProcess { name: "p2".into() })
        .name("p2")
        .start()
        .expect("start p2");
    println!(
        "p1 exit code {}, p2 exit code {}",
        p1.join().unwrap(),
        p2.join().unwrap()
    );
}
