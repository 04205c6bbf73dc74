//! An unrelated process reaches a Manager by address + authkey; one with the wrong key is refused.
//!
//! Seed: 001 (通信 — processes that did not start each other share a queue and a dict through a manager)
//! Time bound: 60 s
//!
//! The demo re-runs its own binary with `std::process::Command` (not a skein child:
//! nothing is inherited) as a *client*, giving it only the manager's address and
//! authkey on the command line. The client finds the objects by name
//! (`dict_named`, `queue_named`, Python's `BaseManager.register` pattern). A second
//! client with the wrong key fails the mutual HMAC-SHA256 handshake and is refused;
//! the manager keeps serving.

use std::process::Command;

use skein_process::{Address, Manager, ManagerClient};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex key"))
        .collect()
}

/// The client role: `28_manager_by_address client ADDRESS KEYHEX`.
fn client(address: &str, key: &str) -> i32 {
    let address: Address = address.parse().expect("address");
    match ManagerClient::connect(&address, &unhex(key)) {
        Ok(c) => {
            let visits = c.dict_named::<String, u32>("visits").expect("dict");
            let n = visits
                .update(&"clients".into(), |n| n.unwrap_or(0) + 1)
                .expect("update");
            let inbox = c.queue_named::<String>("inbox", 0).expect("queue");
            inbox
                .put(format!("hello from pid {}", std::process::id()))
                .expect("put");
            println!(
                "  client {}: connected, visit number {n}",
                std::process::id()
            );
            0
        }
        Err(e) if e.is_auth() => {
            println!("  client {}: refused: {e}", std::process::id());
            3
        }
        Err(e) => panic!("client failed: {e}"),
    }
}

fn main() {
    skein_process::init();
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "client" {
        std::process::exit(client(&args[2], &args[3]));
    }
    let m = Manager::start().expect("start the manager");
    let visits = m.dict_named::<String, u32>("visits").expect("dict");
    let inbox = m.queue_named::<String>("inbox", 0).expect("queue");
    println!("manager on {} (authkey: 32 random bytes)", m.address());

    let me = std::env::current_exe().expect("own path");
    let run = |key: &[u8]| {
        Command::new(&me)
            .args(["client", &m.address().to_string(), &hex(key)])
            .status()
            .expect("run client")
            .code()
    };
    println!("two clients with the right key:");
    assert_eq!(run(m.authkey()), Some(0));
    assert_eq!(run(m.authkey()), Some(0));
    println!("one client with the wrong key:");
    assert_eq!(run(b"not the key"), Some(3));

    assert_eq!(visits.get(&"clients".into()).expect("get"), Some(2));
    for _ in 0..2 {
        println!("inbox: {}", inbox.get().expect("get"));
    }
    println!(
        "the manager still serves: {} visits recorded",
        visits.len().expect("len")
    );
}
