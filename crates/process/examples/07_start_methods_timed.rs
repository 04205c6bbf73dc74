//! The three start methods timed side by side: fork, spawn and forkserver.
//!
//! Seed: 002 (multiprocessing 跨平台: fork vs spawn)
//!
//! Each method starts and joins 20 children. `fork` copies this process; `spawn`
//! execs the program afresh for each child; `forkserver` execs it once (the first
//! start pays that) and then forks the clean server. Times on a busy machine vary;
//! the order is what to look at.

use std::time::{Duration, Instant};

use skein_process::{StartMethod, get_context};

fn noop(_: ()) {}

fn main() {
    skein_process::init();
    println!("== start+join of 20 children per start method ==");
    for method in StartMethod::ALL {
        let ctx = get_context(method);
        let first = Instant::now();
        ctx.process(noop, ()).start().unwrap().join().unwrap();
        let first = first.elapsed();
        let t0 = Instant::now();
        for _ in 0..20 {
            assert_eq!(ctx.process(noop, ()).start().unwrap().join().unwrap(), 0);
        }
        let each = t0.elapsed() / 20;
        println!("  {:>10}: first {:>9.3} ms, then {:>7.3} ms each", method.name(), ms(first), ms(each));
    }
    println!("(forkserver's first start includes starting the server)");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
