//! probe
use skein_pool::{Submit, ThreadPoolExecutor};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
fn main() {
    let w: usize = std::env::args().nth(1).map_or(2, |s| s.parse().unwrap());
    for round in 0..5 {
        let gate = Arc::new(AtomicBool::new(false));
        let g = gate.clone();
        let pool = ThreadPoolExecutor::builder()
            .max_workers(w)
            .initializer(move || {
                while !g.load(Ordering::Acquire) {
                    std::thread::yield_now()
                }
            })
            .build()
            .unwrap();
        let mut futures = Vec::with_capacity(100_000);
        let t0 = Instant::now();
        for _ in 0..100_000 {
            futures.push(pool.submit(|| ()).unwrap());
        }
        let t1 = Instant::now();
        gate.store(true, Ordering::Release);
        futures.last().unwrap().wait();
        let t2 = Instant::now();
        for f in futures.drain(..) {
            assert!(f.result().is_ok());
        }
        let t3 = Instant::now();
        println!(
            "round {round}: submit {:?} drain {:?} wait {:?}",
            t1 - t0,
            t2 - t1,
            t3 - t2
        );
    }
}
