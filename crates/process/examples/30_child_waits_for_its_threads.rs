//! A child process waits for the non-daemon threads its target started, and abandons its daemon threads.
//!
//! Seed: 001 (多进程 / 守护 — threads inside a child process, daemon or not)
//! Time bound: 60 s
//!
//! Python's `Process._bootstrap` ends with `threading._shutdown()`: when the target
//! returns, the child still waits for every non-daemon thread the target left running,
//! and abandons its daemon threads. skein's children do the same under every start
//! method, without the target wrapping itself in `skein_threads::run_main`. The worker
//! below reports *after* its target returned, and the child's exit comes after that
//! report; the daemon watcher blocks forever and does not hold the child up.

use std::time::Duration;

use skein_process::{Connection, StartMethod, get_context, getpid, pipe};
use skein_threads::{Builder, enumerate};

fn target(report: Connection) {
    // Neither thread is joined: the handles are dropped (detached) right away.
    let worker = Builder::new()
        .name("worker")
        .daemon(false)
        .spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let msg = format!(
                "worker in child {}: finished after the target returned",
                getpid()
            );
            report.send(&msg).expect("send");
        })
        .expect("spawn worker");
    let watcher = Builder::new()
        .name("watcher")
        .daemon(true)
        .spawn(|| {
            loop {
                std::thread::park(); // blocked for good: a daemon, abandoned at exit
            }
        })
        .expect("spawn watcher");
    drop((worker, watcher));
    let names: Vec<String> = enumerate().iter().map(|t| t.name()).collect();
    println!("child  {}: target returns; threads: {names:?}", getpid());
}

fn main() {
    skein_process::init();
    for method in StartMethod::ALL {
        println!("-- {}", method.name());
        let (here, there) = pipe(true).expect("pipe");
        let child = get_context(method)
            .process(target, there)
            .start()
            .expect("start");
        let msg: String = here.recv_timeout(Duration::from_secs(30)).expect("recv");
        println!("parent: {msg}");
        let code = child.join().expect("join");
        println!("parent: child {} exited with {code}", child.pid());
        assert_eq!(code, 0);
    }
}
