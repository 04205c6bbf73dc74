//! A writer and an endless reader share a `Queue`; the parent terminates the reader.
//!
//! Seed: 002 (进程间通信: write/read over a Queue, pr.terminate())
//! Example: 002 § 进程间通信 — pr.terminate()
//!
//! The parent creates the queue and passes it to both children as an argument (it
//! crosses into them under the default forkserver start method as a shared-memory
//! descriptor). The writer puts A, B, C; the reader loops forever on `get`, so the parent
//! joins the writer, waits until the queue is drained, and then `terminate`s the reader —
//! exactly what the notes do, because an endless loop cannot be joined.

use std::time::Duration;

use skein_process::{Process, Queue, getpid, getppid};

fn write(q: Queue<String>) {
    println!(
        "Process to write: {}, its parent process {}",
        getpid(),
        getppid()
    );
    for value in ["A", "B", "C"] {
        println!("=======value {value}=======");
        println!("Put {value} to queue...");
        q.put(value.to_string()).expect("queue is open");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn read(q: Queue<String>) {
    println!(
        "Process to read: {}, its parent process {}",
        getpid(),
        getppid()
    );
    loop {
        match q.get() {
            Ok(value) => println!("Get {value} from queue."),
            Err(e) => println!("reader: {e}"),
        }
    }
}

fn main() {
    skein_process::init();
    println!("== the parent creates the Queue and passes it to both children ==");
    let q = Queue::new().expect("shared memory");
    let pw = Process::new(write, q.clone())
        .name("writer")
        .start()
        .expect("start writer");
    let pr = Process::new(read, q.clone())
        .name("reader")
        .start()
        .expect("start reader");
    pw.join().expect("join writer");
    while !q.is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(50)); // let the reader print its last line
    println!("== the reader loops forever: terminate() it ==");
    pr.terminate().expect("terminate");
    println!(
        "reader exit code: {:?} (-15 = SIGTERM, as in Python)",
        pr.join().expect("join")
    );
}
