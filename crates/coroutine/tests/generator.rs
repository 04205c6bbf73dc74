//! Generators: order of resume and yield, values in and out, throw, close, drop, panics.
//! Cases follow the behaviour CPython's `test_generators` checks, in our own words.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use skein_coroutine::{Co, Generator, GeneratorState, SendError, StartError};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

struct Noisy(Log, &'static str);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.0.borrow_mut().push(format!("drop {}", self.1));
    }
}

#[test]
fn resume_and_yield_alternate_in_order() {
    let l = log();
    let l1 = l.clone();
    let mut g = Generator::<u32>::new(move |co| {
        for i in 0..3 {
            l1.borrow_mut().push(format!("gen {i}"));
            co.yield_(i);
        }
        l1.borrow_mut().push("gen end".into());
    });
    for v in g.by_ref() {
        l.borrow_mut().push(format!("caller got {v}"));
    }
    assert_eq!(
        *l.borrow(),
        [
            "gen 0",
            "caller got 0",
            "gen 1",
            "caller got 1",
            "gen 2",
            "caller got 2",
            "gen end"
        ]
    );
}

#[test]
fn body_does_not_run_before_first_resume() {
    let l = log();
    let l1 = l.clone();
    let g = Generator::<()>::new(move |_| l1.borrow_mut().push("ran".into()));
    assert!(l.borrow().is_empty());
    assert!(!g.is_started());
    drop(g);
    assert!(l.borrow().is_empty(), "a never-started body never runs");
}

#[test]
fn values_in_and_out() {
    // Python: def acc(): total = 0; while True: total += yield total
    let mut g = Generator::<i64, (), i64>::new(|co| {
        let mut total = 0;
        loop {
            total += co.yield_(total);
        }
    });
    assert_eq!(g.start(), Ok(GeneratorState::Yielded(0)));
    for (x, want) in [(5, 5), (10, 15), (-3, 12)] {
        assert_eq!(g.send(x).unwrap(), GeneratorState::Yielded(want));
    }
}

#[test]
fn return_value_is_kept() {
    let mut g = Generator::<u8, String>::new(|co| {
        co.yield_(1);
        "the end".to_string()
    });
    assert_eq!(g.by_ref().collect::<Vec<_>>(), [1]);
    assert_eq!(g.return_value().as_deref(), Some("the end"));
    assert_eq!(g.return_value(), None, "taken once");
}

#[test]
fn send_errors_hand_the_value_back() {
    let mut g = Generator::<u8, (), Vec<u8>>::new(|co| {
        co.yield_(0);
    });
    match g.send(vec![1, 2]) {
        Err(SendError::NotStarted(v)) => assert_eq!(v, [1, 2]),
        other => panic!("unexpected {other:?}"),
    }
    g.start().unwrap();
    assert_eq!(g.send(vec![]).unwrap(), GeneratorState::Complete(()));
    assert_eq!(g.send(vec![3]).unwrap_err().into_inner(), [3]);
    assert_eq!(g.start(), Err(StartError::Finished));
    let e = SendError::NotStarted(()).to_string();
    assert!(e.contains("start()"), "{e}");
}

#[test]
fn yield_from_any_depth() {
    fn tree(co: &Co<'_, u32>, lo: u32, hi: u32) {
        if hi - lo == 1 {
            co.yield_(lo);
        } else {
            let mid = (lo + hi) / 2;
            tree(co, lo, mid);
            tree(co, mid, hi);
        }
    }
    let g = Generator::new(|co| tree(co, 0, 100));
    assert_eq!(g.collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
}

#[test]
fn drop_of_unfinished_generator_runs_destructors() {
    let l = log();
    let l1 = l.clone();
    let mut g = Generator::<u32>::new(move |co| {
        let _outer = Noisy(l1.clone(), "outer");
        for i in 0.. {
            let _inner = Noisy(l1.clone(), "inner");
            co.yield_(i);
        }
    });
    assert_eq!(g.next(), Some(0));
    assert_eq!(g.next(), Some(1)); // one `inner` dropped by the loop itself
    drop(g);
    assert_eq!(*l.borrow(), ["drop inner", "drop inner", "drop outer"]);
}

#[test]
fn close_is_idempotent_and_finishes() {
    let l = log();
    let l1 = l.clone();
    let mut g = Generator::<u32>::new(move |co| {
        let _n = Noisy(l1, "body");
        co.yield_(1);
        co.yield_(2);
    });
    g.next();
    g.close();
    g.close();
    assert!(g.is_finished());
    assert_eq!(g.next(), None);
    assert_eq!(*l.borrow(), ["drop body"]);
}

#[test]
fn panic_propagates_to_resumer_and_finishes_generator() {
    let mut g = Generator::<u32>::new(|co| {
        co.yield_(1);
        panic!("inside the generator");
    });
    assert_eq!(g.next(), Some(1));
    let err = catch_unwind(AssertUnwindSafe(|| g.next())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"inside the generator"));
    assert!(g.is_finished());
    assert_eq!(
        g.next(),
        None,
        "a generator that raised is finished, as in Python"
    );
}

#[test]
fn panic_on_first_resume_propagates() {
    let mut g = Generator::<u32, ()>::new(|_| panic!("early"));
    assert!(catch_unwind(AssertUnwindSafe(|| g.start())).is_err());
    assert_eq!(g.start(), Err(StartError::Finished));
}

#[test]
fn throw_uncaught_unwinds_and_comes_back() {
    let l = log();
    let l1 = l.clone();
    let mut g = Generator::<u32>::new(move |co| {
        let _n = Noisy(l1, "at throw");
        loop {
            co.yield_(1);
        }
    });
    g.next();
    #[derive(Debug, PartialEq)]
    struct Stop(u32);
    assert_eq!(g.throw(Stop(9)).unwrap_err(), Stop(9));
    assert_eq!(*l.borrow(), ["drop at throw"]);
    assert!(g.is_finished());
    assert_eq!(
        g.throw(Stop(1)).unwrap_err(),
        Stop(1),
        "finished: handed straight back"
    );
}

#[test]
fn throw_caught_by_try_yield_continues() {
    let mut g = Generator::<&str, u32>::new(|co| {
        let mut caught = 0;
        loop {
            match co.try_yield("tick") {
                Ok(()) => {}
                Err(t) if t.is::<u32>() => {
                    caught += *t.downcast::<u32>().unwrap();
                    if caught > 10 {
                        return caught;
                    }
                }
                Err(t) => t.rethrow(),
            }
        }
    });
    assert_eq!(g.next(), Some("tick"));
    assert_eq!(g.throw(4u32), Ok(GeneratorState::Yielded("tick")));
    assert_eq!(g.throw(7u32), Ok(GeneratorState::Complete(11)));
}

#[test]
fn rethrown_value_reaches_thrower() {
    let mut g = Generator::<(), ()>::new(|co| {
        if let Err(t) = co.try_yield(()) {
            t.rethrow();
        }
    });
    g.start().unwrap();
    assert_eq!(g.throw("again").unwrap_err(), "again");
}

#[test]
fn throw_into_fresh_generator_never_runs_it() {
    let l = log();
    let l1 = l.clone();
    let mut g = Generator::<()>::new(move |_| l1.borrow_mut().push("ran".into()));
    assert_eq!(g.throw(1u8).unwrap_err(), 1);
    assert!(g.is_finished());
    assert!(l.borrow().is_empty());
}

#[test]
fn generators_nest_and_interleave() {
    // A pipeline: numbers -> squares -> only even, each stage a generator.
    let numbers = Generator::<u64>::new(|co| {
        for i in 1..=10 {
            co.yield_(i);
        }
    });
    let squares = Generator::<u64>::new(move |co| {
        for n in numbers {
            co.yield_(n * n);
        }
    });
    let even = Generator::<u64>::new(move |co| {
        for s in squares.filter(|s| s % 2 == 0) {
            co.yield_(s);
        }
    });
    assert_eq!(even.collect::<Vec<_>>(), [4, 16, 36, 64, 100]);

    // Seed 001's two workers, advanced in turn.
    let l = log();
    let mk = |name: &'static str| {
        let l = l.clone();
        Generator::<()>::new(move |co| {
            loop {
                l.borrow_mut().push(name.into());
                co.yield_(());
            }
        })
    };
    let (mut w1, mut w2) = (mk("work1"), mk("work2"));
    for _ in 0..2 {
        w1.next();
        w2.next();
    }
    assert_eq!(*l.borrow(), ["work1", "work2", "work1", "work2"]);
}

#[test]
fn big_stack_through_builder() {
    // 4 MiB of locals across the recursion: needs more than the 256 KiB default.
    fn deep(co: &Co<'_, u64>, n: u64) -> u64 {
        let pad = [n; 512];
        std::hint::black_box(&pad);
        if n == 0 {
            co.yield_(0);
            0
        } else {
            deep(co, n - 1) + pad[1] / n.max(1)
        }
    }
    let mut g = Generator::builder()
        .stack_size(8 << 20)
        .build(|co| deep(co, 1000))
        .unwrap();
    assert_eq!(g.next(), Some(0));
    assert_eq!(g.next(), None);
    assert_eq!(g.return_value(), Some(1000));
}

#[test]
fn absurd_stack_size_is_a_typed_error() {
    let err = Generator::builder()
        .stack_size(1 << 50)
        .build(|co: &Co<'_, ()>| co.yield_(()))
        .unwrap_err();
    assert!(err.is_address_space(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("address space"), "{msg}");
}

#[test]
fn generators_are_not_send() {
    // Compile-time property, checked through auto-trait inference.
    trait AmbiguousIfSend<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    struct Invalid;
    #[allow(dead_code)]
    impl<T: ?Sized + Send> AmbiguousIfSend<Invalid> for T {}
    // Would fail to compile ("type annotations needed") if Generator were Send.
    <Generator<u8> as AmbiguousIfSend<_>>::check();
    <skein_coroutine::Greenlet as AmbiguousIfSend<_>>::check();
}
