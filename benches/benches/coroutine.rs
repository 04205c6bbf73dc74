//! Chapter 6 (coroutines), part 1: generators and greenlets beside raw corosensei.
//!
//! - `coroutine/generator_resume`: one resume + one yield of a suspended generator —
//!   skein's `Generator::next` and `send` beside a raw `corosensei::Coroutine` doing the
//!   same (bar: ≤ 1.3× raw corosensei).
//! - `coroutine/generator_create`: make a generator, run it to its end, drop it — skein
//!   (stack from the per-thread pool) beside raw corosensei with a fresh `DefaultStack`
//!   (mmap + mprotect + munmap each time) and with a reused `DefaultStack`.
//! - `coroutine/greenlet_switch`: one switch between greenlets — main ⇄ child (each
//!   iteration is two switches: there and back) and child ⇄ child through the root
//!   trampoline; raw corosensei's resume+yield round trip is the floor.
//!
//! Benchmarks check their answers (sums of what was yielded).

use std::hint::black_box;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use criterion::{Criterion, criterion_group};
use skein_coroutine::{Generator, GeneratorState, Greenlet};

fn generator_resume(c: &mut Criterion) {
    let mut g = c.benchmark_group("coroutine/generator_resume");

    let mut raw = Coroutine::new(|y: &Yielder<u64, u64>, mut x: u64| {
        loop {
            x = y.suspend(x + 1);
        }
    });
    g.bench_function("raw corosensei", |b| {
        b.iter(|| match raw.resume(black_box(1)) {
            CoroutineResult::Yield(v) => assert_eq!(v, 2),
            CoroutineResult::Return(()) => unreachable!(),
        })
    });

    let mut gen_next = Generator::<u64, ()>::new(|co| {
        loop {
            co.yield_(black_box(2));
        }
    });
    g.bench_function("skein Generator::next", |b| {
        b.iter(|| assert_eq!(gen_next.next(), Some(2)))
    });

    let mut gen_send = Generator::<u64, (), u64>::new(|co| {
        let mut x = 0;
        loop {
            x = co.yield_(x + 1);
        }
    });
    let _ = gen_send.start();
    g.bench_function("skein Generator::send", |b| {
        b.iter(|| match gen_send.send(black_box(1)) {
            Ok(GeneratorState::Yielded(v)) => assert_eq!(v, 2),
            _ => unreachable!(),
        })
    });
    g.finish();
}

fn generator_create(c: &mut Criterion) {
    let mut g = c.benchmark_group("coroutine/generator_create");
    g.bench_function("raw corosensei, new DefaultStack", |b| {
        b.iter(|| {
            let mut co = Coroutine::new(|y: &Yielder<(), u64>, ()| {
                y.suspend(1);
                2u64
            });
            let a = co.resume(()).as_yield().unwrap();
            let r = co.resume(()).as_return().unwrap();
            assert_eq!(a + r, 3);
        })
    });
    let mut stack = Some(DefaultStack::new(256 * 1024).unwrap());
    g.bench_function("raw corosensei, reused DefaultStack", |b| {
        b.iter(|| {
            let mut co =
                Coroutine::with_stack(stack.take().unwrap(), |y: &Yielder<(), u64>, ()| {
                    y.suspend(1);
                    2u64
                });
            let a = co.resume(()).as_yield().unwrap();
            let r = co.resume(()).as_return().unwrap();
            assert_eq!(a + r, 3);
            stack = Some(co.into_stack());
        })
    });
    g.bench_function("skein Generator (pooled stack)", |b| {
        b.iter(|| {
            let mut gn = Generator::<u64, u64>::new(|co| {
                co.yield_(1);
                2
            });
            let a = gn.next().unwrap();
            assert!(gn.next().is_none());
            assert_eq!(a + gn.return_value().unwrap(), 3);
        })
    });
    g.finish();
}

/// Two child greenlets switching to each other: `a.switch(n)` makes `n` A→B→A round
/// trips (two switches each) and returns `n` to `main`. End it with [`ChildPair::end`].
struct ChildPair {
    a: Greenlet<u64>,
    b: Greenlet<u64>,
    /// A's handle of B (set once B exists; emptied at the end to break the cycle).
    b_slot: std::rc::Rc<std::cell::RefCell<Option<Greenlet<u64>>>>,
}

impl ChildPair {
    fn new(main: &Greenlet<u64>) -> ChildPair {
        let b_slot: std::rc::Rc<std::cell::RefCell<Option<Greenlet<u64>>>> = Default::default();
        let slot = b_slot.clone();
        let m = main.clone();
        let a = Greenlet::new(move |mut n: u64| {
            loop {
                let b = slot.borrow().clone().unwrap();
                for _ in 0..n {
                    b.switch(0);
                }
                n = m.switch(n);
            }
        });
        let a2 = a.clone();
        let b = Greenlet::new(move |_| {
            loop {
                a2.switch(0);
            }
        });
        *b_slot.borrow_mut() = Some(b.clone());
        ChildPair { a, b, b_slot }
    }

    /// Breaks the A→B handle cycle and kills both.
    fn end(self) {
        self.b_slot.borrow_mut().take();
        self.a.kill().unwrap();
        self.b.kill().unwrap();
    }
}

fn greenlet_switch(c: &mut Criterion) {
    let mut g = c.benchmark_group("coroutine/greenlet_switch");

    let mut raw = Coroutine::new(|y: &Yielder<(), ()>, ()| {
        loop {
            y.suspend(());
        }
    });
    g.bench_function("raw corosensei resume+yield", |b| {
        b.iter(|| {
            let _ = raw.resume(());
        })
    });

    // main ⇄ child: one iteration = two switches (to the child and back).
    let main = Greenlet::<u64>::current();
    let m = main.clone();
    let child = Greenlet::new(move |mut x: u64| {
        loop {
            x = m.switch(x + 1);
        }
    });
    g.bench_function("skein main->child->main", |b| {
        b.iter(|| assert_eq!(child.switch(black_box(1)), 2))
    });
    child.kill().unwrap();

    // child ⇄ child: A switches to B and B back to A, N times per run of A; each
    // iteration of the bench is one A→B→A round trip (two switches), driven from main.
    let pair = ChildPair::new(&main);
    g.bench_function("skein child->child->child", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            pair.a.switch(iters);
            start.elapsed()
        })
    });
    pair.end();
    g.finish();
}

/// Instruction counting: `SKEIN_CORO_LOOP=<kind>:<n> <bench binary>` runs `n` iterations
/// of one workload in a plain loop and exits, skipping criterion, so that
/// `valgrind --tool=callgrind` counts instructions per resume (run it with two `n` and
/// subtract: the difference divided by the difference of `n` is the per-iteration count,
/// set-up excluded). Kinds: `raw`, `next`, `send` (one resume + yield), `raw-rt`,
/// `greenlet` (main→child→main), `greenlet-cc` (child→child→child).
fn counting_loop(spec: &str) {
    let (kind, n) = spec.split_once(':').expect("SKEIN_CORO_LOOP=<kind>:<n>");
    let n: u64 = n.parse().expect("a count");
    let mut sum = 0u64;
    match kind {
        "raw" => {
            let mut raw = Coroutine::new(|y: &Yielder<u64, u64>, mut x: u64| {
                loop {
                    x = y.suspend(x + 1);
                }
            });
            for _ in 0..n {
                let (CoroutineResult::Yield(v) | CoroutineResult::Return(v)) =
                    raw.resume(black_box(1));
                sum += v;
            }
        }
        "next" => {
            let mut g = Generator::<u64, ()>::new(|co| {
                loop {
                    co.yield_(black_box(2));
                }
            });
            for _ in 0..n {
                sum += g.next().unwrap();
            }
        }
        "send" => {
            let mut g = Generator::<u64, (), u64>::new(|co| {
                let mut x = 0;
                loop {
                    x = co.yield_(x + 1);
                }
            });
            let _ = g.start();
            for _ in 0..n {
                if let Ok(GeneratorState::Yielded(v)) = g.send(black_box(1)) {
                    sum += v;
                }
            }
        }
        "raw-rt" => {
            let mut raw = Coroutine::new(|y: &Yielder<(), ()>, ()| {
                loop {
                    y.suspend(());
                }
            });
            for _ in 0..n {
                let _ = raw.resume(());
                sum += 1;
            }
        }
        "greenlet" => {
            let main = Greenlet::<u64>::current();
            let child = Greenlet::new(move |mut x: u64| {
                loop {
                    x = main.switch(x + 1);
                }
            });
            for _ in 0..n {
                sum += child.switch(black_box(1));
            }
            child.kill().unwrap();
        }
        "greenlet-cc" => {
            let main = Greenlet::<u64>::current();
            let pair = ChildPair::new(&main);
            sum += pair.a.switch(n);
            pair.end();
        }
        other => panic!("unknown SKEIN_CORO_LOOP kind {other}"),
    }
    println!("{kind} x {n}: checksum {sum}");
}

/// Interleaved A/B timing: `SKEIN_CORO_AB=<rounds> <bench binary>` times blocks of
/// 1,000,000 resumes of raw corosensei, `Generator::next` and `Generator::send` in turn,
/// `rounds` times, and prints each one's median ns per resume and the ratios to raw
/// (load changes hit all three alike, unlike criterion's one-after-the-other groups).
/// The greenlet round trips (main→child→main, child→child→child) are timed the same
/// way beside raw corosensei's resume+yield round trip.
fn interleaved(rounds: usize) {
    const BLOCK: u64 = 1_000_000;
    let mut raw = Coroutine::new(|y: &Yielder<u64, u64>, mut x: u64| {
        loop {
            x = y.suspend(x + 1);
        }
    });
    let mut gen_next = Generator::<u64, ()>::new(|co| {
        loop {
            co.yield_(black_box(2));
        }
    });
    let mut gen_send = Generator::<u64, (), u64>::new(|co| {
        let mut x = 0;
        loop {
            x = co.yield_(x + 1);
        }
    });
    let _ = gen_send.start();
    let main = Greenlet::<u64>::current();
    let m = main.clone();
    let child = Greenlet::new(move |mut x: u64| {
        loop {
            x = m.switch(x + 1);
        }
    });
    let pair = ChildPair::new(&main);

    let names = [
        "raw corosensei resume+yield",
        "skein Generator::next",
        "skein Generator::send",
        "skein greenlet main->child->main",
        "skein greenlet child->child->child",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let time = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        t.elapsed().as_nanos() as f64 / BLOCK as f64
    };
    for _ in 0..rounds {
        samples[0].push(time(&mut || {
            for _ in 0..BLOCK {
                match raw.resume(black_box(1)) {
                    CoroutineResult::Yield(v) => assert_eq!(v, 2),
                    CoroutineResult::Return(()) => unreachable!(),
                }
            }
        }));
        samples[1].push(time(&mut || {
            for _ in 0..BLOCK {
                assert_eq!(gen_next.next(), Some(2));
            }
        }));
        samples[2].push(time(&mut || {
            for _ in 0..BLOCK {
                match gen_send.send(black_box(1)) {
                    Ok(GeneratorState::Yielded(v)) => assert_eq!(v, 2),
                    _ => unreachable!(),
                }
            }
        }));
        samples[3].push(
            time(&mut || {
                for _ in 0..BLOCK / 10 {
                    assert_eq!(child.switch(black_box(1)), 2);
                }
            }) * 10.0,
        );
        samples[4].push(
            time(&mut || {
                pair.a.switch(BLOCK / 10);
            }) * 10.0,
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let meds: Vec<f64> = samples.iter_mut().map(median).collect();
    for (name, m) in names.iter().zip(&meds) {
        println!("{name:36} {m:8.2} ns  ({:.2}x raw)", m / meds[0]);
    }
    child.kill().unwrap();
    pair.end();
}

criterion_group!(benches, generator_resume, generator_create, greenlet_switch);

fn main() {
    if let Ok(spec) = std::env::var("SKEIN_CORO_LOOP") {
        counting_loop(&spec);
        return;
    }
    if let Ok(rounds) = std::env::var("SKEIN_CORO_AB") {
        interleaved(rounds.parse().expect("SKEIN_CORO_AB=<rounds>"));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
