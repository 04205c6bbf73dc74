//! Request/response over a `Pipe`: a child serves squares until the parent hangs up.
//!
//! Seed: 001 (进程间通信 IPC: 管道)
//!
//! `pipe(true)` gives two connected ends; one moves into the child as its argument
//! (under every start method: by `SCM_RIGHTS` for forkserver/spawn). Values cross as
//! serde frames. When the parent drops its end, the child's `recv` reports
//! `Disconnected` (Python's `EOFError`) and the child ends cleanly.

use serde::{Deserialize, Serialize};
use skein_process::{Connection, Process, RecvError, pipe};

#[derive(Serialize, Deserialize, Debug)]
enum Request {
    Square(i64),
    Hello(String),
}

#[derive(Serialize, Deserialize, Debug)]
enum Response {
    Squared(i64),
    Greeting(String),
}

fn server(conn: Connection) {
    loop {
        match conn.recv::<Request>() {
            Ok(Request::Square(n)) => conn.send(&Response::Squared(n * n)).unwrap(),
            Ok(Request::Hello(who)) => conn.send(&Response::Greeting(format!("hello, {who}"))).unwrap(),
            Err(RecvError::Disconnected) => {
                println!("  server: the parent hung up, bye");
                return;
            }
            Err(e) => panic!("server: {e}"),
        }
    }
}

fn main() {
    skein_process::init();
    println!("== request/response over a Pipe ==");
    let (client, server_end) = pipe(true).unwrap();
    let p = Process::new(server, server_end).name("square-server").start().unwrap();
    for req in [Request::Square(7), Request::Hello("skein".into()), Request::Square(-12)] {
        print!("  -> {req:?}");
        client.send(&req).unwrap();
        let resp: Response = client.recv().unwrap();
        println!("   <- {resp:?}");
    }
    println!("  poll() with nothing pending: {}", client.poll().unwrap());
    drop(client);
    println!("server exit code: {}", p.join().unwrap());
}
