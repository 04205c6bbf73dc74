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
use criterion::{Criterion, criterion_group, criterion_main};
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
    let bgl = Greenlet::new(move |_| {
        loop {
            a2.switch(0);
        }
    });
    *b_slot.borrow_mut() = Some(bgl.clone());
    g.bench_function("skein child->child->child", |b| {
        b.iter_custom(|iters| {
            let start = std::time::Instant::now();
            a.switch(iters);
            start.elapsed()
        })
    });
    b_slot.borrow_mut().take();
    a.kill().unwrap();
    bgl.kill().unwrap();
    g.finish();
}

criterion_group!(benches, generator_resume, generator_create, greenlet_switch);
criterion_main!(benches);
