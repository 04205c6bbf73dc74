//! Globals are not shared between processes: each child changes its own copy.
//!
//! Seed: 001 (进程里面的全局变量是不共享的)
//!
//! Three children each add to a global counter and report what they see; the parent's
//! counter never moves. Under every start method the child has its own memory: `Fork`
//! copies it, `Spawn`/`Forkserver` start from the program's initial state.

use std::sync::atomic::{AtomicU64, Ordering};

use skein_process::{Connection, StartMethod, get_context, pipe};

static COUNTER: AtomicU64 = AtomicU64::new(100);

fn bump((conn, by): (Connection, u64)) {
    let now = COUNTER.fetch_add(by, Ordering::SeqCst) + by;
    conn.send(&now).unwrap();
}

fn main() {
    skein_process::init();
    println!("== globals are not shared ==");
    COUNTER.store(500, Ordering::SeqCst);
    println!("parent sets COUNTER = 500 before starting children");
    for method in StartMethod::ALL {
        let (here, there) = pipe(true).unwrap();
        let p = get_context(method).process(bump, (there, 1)).start().unwrap();
        let seen: u64 = here.recv().unwrap();
        p.join().unwrap();
        println!("  {method:>10} child: COUNTER after += 1 is {seen}");
    }
    println!("parent: COUNTER is still {}", COUNTER.load(Ordering::SeqCst));
    println!("(fork copied 500; spawn/forkserver children start from the initial 100)");
}
