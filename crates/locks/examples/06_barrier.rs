//! A `Barrier` makes a client wait until the server is up; a timeout breaks it for all.
//! Seed: 001 (`b = Barrier(2, timeout=5)`; server starts, then `b.wait()`; client `b.wait()`s first)
//! Example: 001 § 栅栏对象 — b = Barrier(2, timeout=5)
//!
//! The server needs a moment to start; the client must not connect before. Both call
//! `wait()` on a two-party barrier and go on together, each with its arrival index. The
//! seed's `while True` serve/connect loops become three exchanges over a channel. Then a
//! second barrier shows the timeout: a party that waits too long breaks the barrier, and
//! every waiter gets an error (Python's `BrokenBarrierError`).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use skein_locks::Barrier;

fn main() {
    println!("== server and client meet at the barrier ==");
    let b = Barrier::builder(2)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (to_server, server_rx) = mpsc::channel::<String>();
    let (to_client, client_rx) = mpsc::channel::<String>();
    thread::scope(|s| {
        let b = &b;
        s.spawn(move || {
            println!("server: starting ...");
            thread::sleep(Duration::from_millis(150)); // start_server()
            let i = b.wait().unwrap();
            println!("server: up (arrival index {i})");
            for request in server_rx.iter().take(3) {
                // accept_connection(); process_server_connection()
                to_client.send(format!("reply to {request}")).unwrap();
            }
        });
        s.spawn(move || {
            let i = b.wait().unwrap();
            println!("client: server is up, connecting (arrival index {i})");
            for n in 1..=3 {
                to_server.send(format!("request {n}")).unwrap(); // make_connection()
                println!("client: got {}", client_rx.recv().unwrap());
            }
        });
    });

    println!("\n== a wait that times out breaks the barrier for everyone ==");
    let b = Barrier::new(3).unwrap();
    thread::scope(|s| {
        let early = s.spawn(|| b.wait());
        while b.n_waiting() == 0 {
            thread::yield_now(); // let the early party arrive first
        }
        let late = b.wait_timeout(Duration::from_millis(200));
        println!("the waiter that timed out: {late:?}");
        println!("the other waiter:          {:?}", early.join().unwrap());
    });
    println!("broken = {}; a new wait: {:?}", b.is_broken(), b.wait());
    b.reset();
    println!("after reset(): broken = {}", b.is_broken());
}
