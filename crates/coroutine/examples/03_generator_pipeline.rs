//! A generator pipeline: read → parse → filter → sum, each stage a generator.
//! Seed: 001 (协程: a generator pauses at `yield` and resumes on next())
//!
//! Generators compose: each stage pulls from the one before it and yields to the one
//! after, one item at a time, so nothing is buffered and the first result arrives
//! before the input is exhausted — Python's classic `grep | parse | sum` pipeline.
//!
//! The last stage is driven with `send` instead of `next`: Python's "coroutine"
//! generators (`total = yield`), primed with one `next(gen)` (`start()` here). A value
//! sent to a generator that has not started comes back in the error, not lost.

use skein_coroutine::{Generator, GeneratorState, SendError};

fn main() {
    let log = "\
        GET /index.html 200 512\n\
        GET /missing 404 0\n\
        POST /api 200 1024\n\
        GET /big.bin 200 65536\n\
        GET /oops 500 12\n";

    // Stage 1: lines (Python: def lines(text): for l in text.splitlines(): yield l)
    let lines = Generator::<String>::new(move |co| {
        for l in log.lines() {
            println!("  read   {l:?}");
            co.yield_(l.to_string());
        }
    });
    // Stage 2: parse status and size.
    let parsed = Generator::<(u16, u64)>::new(move |co| {
        for l in lines {
            let f: Vec<&str> = l.split_whitespace().collect();
            co.yield_((f[2].parse().unwrap(), f[3].parse().unwrap()));
        }
    });
    // Stage 3: keep successful requests.
    let ok = Generator::<u64>::new(move |co| {
        for (status, size) in parsed {
            if status == 200 {
                println!("  keep   {size} bytes");
                co.yield_(size);
            }
        }
    });

    // Stage 4: a running total driven by send (Python: total = yield total).
    let mut total = Generator::<u64, (), u64>::new(|co| {
        let mut sum = 0;
        loop {
            sum += co.yield_(sum);
        }
    });
    if let Err(SendError::NotStarted(v)) = total.send(1) {
        println!("send before start handed back {v} (prime it first, as with next(gen))");
    }
    total.start().expect("fresh generator");
    for size in ok {
        if let Ok(GeneratorState::Yielded(sum)) = total.send(size) {
            println!("  total  {sum}");
        }
    }
    total.close();
    println!("pipeline done: each line was read only when the next stage asked for it");
}
