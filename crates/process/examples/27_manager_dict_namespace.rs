//! A Manager's dict and Namespace updated by several processes; every update counted.
//!
//! Seed: 001 (通信 — Manager() shares objects through a server process; here its dict and Namespace)
//! Time bound: 60 s
//!
//! `Manager()` starts a server process that holds the shared objects; `m.dict()` and
//! `m.namespace()` return proxies. Each worker gets the proxies as its argument (they
//! reach a child under every start method: the child opens its own authenticated
//! connection). `update` is an atomic read-modify-write on the server, so four workers
//! counting words concurrently lose no update — Python would need `with lock:` around
//! `d[w] = d.get(w, 0) + 1`.

use skein_process::{DictProxy, Manager, NamespaceProxy, Process};

const TEXT: &str = "the quick brown fox jumps over the lazy dog the end";

fn count_words((d, ns, me): (DictProxy<String, u32>, NamespaceProxy, u32)) {
    for word in TEXT.split_whitespace() {
        d.update(&word.to_string(), |n| n.unwrap_or(0) + 1)
            .expect("manager");
        ns.update("words", |n: Option<u32>| n.unwrap_or(0) + 1)
            .expect("manager");
    }
    ns.set(&format!("worker{me}"), &skein_process::getpid())
        .expect("manager");
}

fn main() {
    skein_process::init();
    let m = Manager::start().expect("start the manager");
    println!("manager pid {} listening on {}", m.pid(), m.address());
    let d = m.dict::<String, u32>().expect("dict");
    let ns = m.namespace().expect("namespace");
    let workers: Vec<_> = (1..=4)
        .map(|me| {
            Process::new(count_words, (d.clone(), ns.clone(), me))
                .start()
                .expect("start worker")
        })
        .collect();
    for w in workers {
        assert_eq!(w.join().expect("join"), 0);
    }
    let mut counts = d.items().expect("items");
    counts.sort();
    for (word, n) in &counts {
        println!("{word:>6}: {n}");
    }
    let words = TEXT.split_whitespace().count() as u32;
    assert_eq!(d.get(&"the".into()).expect("get"), Some(4 * 3));
    assert_eq!(ns.get::<u32>("words").expect("get"), Some(4 * words));
    let mut names = ns.names().expect("names");
    names.sort();
    println!("namespace: words = {}, set by {:?}", 4 * words, names);
    m.shutdown().expect("shutdown");
    println!("manager shut down; its socket is gone");
}
