//! `Manager().Queue()` shared by `Pool` workers: a writer task, then a reader task.
//! Seed: 001 (通信: 进程池里不能用之前的队列, 要用 Manager().Queue())
//! Example: 001 § 通信 — q = Manager().Queue()
//! Time bound: 60 s
//!
//! A process pool's workers are started before any task exists, so a task cannot be
//! handed an ordinary `multiprocessing.Queue` (the note: "在使用进程池的时候通信不能使用
//! 之前的那一队列了"). The note's answer is a `Manager`: a server process that holds the
//! queue, reached by every worker over a socket. In Python the proxy pickles the
//! manager's address and authkey; here the task gets them as its arguments and the
//! worker connects with `ManagerClient::connect` — the same `Queue` by name. The writer
//! puts the characters of "Hello World"; a second later the reader takes `qsize()` items.
//! The authkey rides the pool's private socket pair to its own workers, never a file.

use std::time::Duration;

use skein_pool::ProcessPool;
use skein_process::{Address, Manager, ManagerClient};

/// What a task needs to reach the manager's queue (what Python's proxy pickles).
type QueueRef = (Address, Vec<u8>);

fn open_queue((address, authkey): &QueueRef) -> skein_process::QueueProxy<char> {
    let client = ManagerClient::connect(address, authkey).expect("connect to the manager");
    client
        .queue_named::<char>("q", 0)
        .expect("the manager's queue")
}

fn writer(q: QueueRef) -> usize {
    println!("Writer waiting (pid {})", skein_process::getpid());
    let q = open_queue(&q);
    let text = "Hello World";
    for c in text.chars() {
        q.put(c).expect("put");
    }
    text.chars().count()
}

fn reader(q: QueueRef) -> String {
    println!("Reader waiting (pid {})", skein_process::getpid());
    let q = open_queue(&q);
    let mut read = String::new();
    for _ in 0..q.qsize().expect("qsize") {
        let c = q.get().expect("get");
        println!("Read from queue: {c}");
        read.push(c);
    }
    read
}

fn main() {
    skein_process::init();
    let manager = Manager::start().expect("Manager()");
    let _q = manager
        .queue_named::<char>("q", 0)
        .expect("q = Manager().Queue()");
    let q: QueueRef = (manager.address().clone(), manager.authkey().to_vec());

    let po = ProcessPool::new(skein_process::cpu_count()).expect("Pool()");
    let written = po
        .apply_async(writer, q.clone())
        .expect("apply_async(writer)");
    std::thread::sleep(Duration::from_secs(1));
    let read = po.apply_async(reader, q).expect("apply_async(reader)");
    po.close();
    po.join().expect("join after close");

    assert_eq!(*written.get().expect("writer ran"), 11);
    assert_eq!(*read.get().expect("reader ran"), "Hello World");
    println!("Main process end");
}
