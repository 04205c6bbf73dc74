//! Two `yield` workers advanced in turn: multitasking with generators on one thread.
//! Seed: 001 (协程: work1()/work2() with `yield`, main() calling next(w1), next(w2))
//! Example: 001 § 协程 — def work1():
//!
//! A generator is a function that can pause (`yield`) and resume where it stopped. The
//! seed runs two endless generators and advances them in turn from `main`, so their
//! prints interleave — cooperative multitasking with no thread at all: each worker
//! decides where it gives up the CPU.
//!
//! In skein a generator runs on its own small stack (from a per-thread pool), so
//! `co.yield_()` works from any call depth; `next(w1)` is `w1.next()` because a
//! `Generator` is an `Iterator`. The seed loops forever with `time.sleep(1)`; here each
//! worker takes five turns, 100 ms apart.

use std::time::Duration;

use skein_coroutine::Generator;

fn worker(name: &'static str) -> Generator<()> {
    // Python: def work1(): while True: print('work1'); yield; time.sleep(1)
    Generator::new(move |co| {
        loop {
            println!("{name}");
            co.yield_(());
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn main() {
    let mut w1 = worker("work1");
    let mut w2 = worker("work2");
    for _ in 0..5 {
        w1.next();
        w2.next();
    }
    // Both workers are paused in the middle of their loops; dropping them unwinds their
    // stacks (Python: gen.close() raising GeneratorExit at the yield).
    drop((w1, w2));
    println!("both workers closed after five turns each");
}
