//! Parity with CPython's `Lib/test/test_generators.py` and greenlet's
//! `test_generator.py` / `test_generator_nested.py` (generators built on greenlets):
//! the cases `tests/generator.rs` does not already check, in our own words.

use skein_coroutine::{Generator, GeneratorState};

// --- test_generator_nested.py: generators inside generators -------------------------

/// test_permutations: a recursive generator of permutations, each level a generator
/// driving the one below.
#[test]
fn recursive_generators_yield_every_permutation() {
    fn perms(items: Vec<u8>) -> Generator<Vec<u8>> {
        Generator::new(move |co| {
            if items.len() <= 1 {
                co.yield_(items);
                return;
            }
            for i in 0..items.len() {
                let mut rest = items.clone();
                let head = rest.remove(i);
                for mut tail in perms(rest) {
                    tail.insert(0, head);
                    co.yield_(tail);
                }
            }
        })
    }
    let all: Vec<Vec<u8>> = perms(vec![1, 2, 3]).collect();
    assert_eq!(
        all,
        [
            [1, 2, 3],
            [1, 3, 2],
            [2, 1, 3],
            [2, 3, 1],
            [3, 1, 2],
            [3, 2, 1]
        ]
    );
    assert_eq!(perms(vec![1, 2, 3, 4, 5]).count(), 120);
}

/// test_layered_genlets / test_nested_genlets: a generator that iterates another
/// inside its body, both yielding in turn.
#[test]
fn layered_generators_pass_values_through() {
    let inner = |n: u32| {
        Generator::<u32>::new(move |co| {
            (0..n).for_each(|i| {
                co.yield_(i);
            })
        })
    };
    let mut outer = Generator::<u32>::new(move |co| {
        for i in inner(3) {
            co.yield_(i * 10);
            for j in inner(2) {
                co.yield_(i * 10 + j);
            }
        }
    });
    let got: Vec<u32> = outer.by_ref().collect();
    assert_eq!(got, [0, 0, 1, 10, 10, 11, 20, 20, 21]);
    assert!(outer.is_finished());
}

/// coroutine_tests: `throw` on a finished generator raises in the thrower (the value
/// comes back), whether it finished by returning or by `close`; so does a throw into a
/// generator that never started, which stays unstarted-and-finished.
#[test]
fn throw_on_a_finished_or_fresh_generator_hands_the_error_back() {
    #[derive(Debug, PartialEq)]
    struct ValueError(u8);
    let mut returned = Generator::<u8>::new(|co| {
        co.yield_(1);
    });
    assert_eq!(returned.by_ref().count(), 1);
    assert_eq!(returned.throw(ValueError(6)), Err(ValueError(6)));
    let mut closed = Generator::<u8>::new(|co| {
        co.yield_(1);
    });
    closed.next();
    closed.close();
    assert_eq!(closed.throw(ValueError(6)), Err(ValueError(6)));
    let mut fresh = Generator::<u8>::new(|co| {
        co.yield_(1);
    });
    assert_eq!(fresh.throw(ValueError(7)), Err(ValueError(7)));
    assert!(fresh.is_finished());
    assert_eq!(fresh.next(), None);
}

/// coroutine_tests, "a yield expression with augmented assignment": each sent value
/// is added to a running count, which the body records.
#[test]
fn a_send_driven_accumulator() {
    let mut acc = Generator::<(), Vec<u32>, u32>::new(|co| {
        let mut seen = Vec::new();
        let mut count = 0;
        while count < 30 {
            count += co.yield_(());
            seen.push(count);
        }
        seen
    });
    assert_eq!(acc.start(), Ok(GeneratorState::Yielded(())));
    assert_eq!(acc.send(10), Ok(GeneratorState::Yielded(())));
    assert_eq!(acc.send(10), Ok(GeneratorState::Yielded(())));
    assert_eq!(acc.send(10), Ok(GeneratorState::Complete(vec![10, 20, 30])));
}

/// tutorial_tests, "generators always return to the most recent caller": a generator
/// advanced by one function and handed on yields the rest to the next one.
#[test]
fn a_generator_resumes_into_whoever_advances_it() {
    fn creator(log: &mut Vec<String>) -> Generator<u32> {
        let mut r = Generator::new(|co| {
            (0..5).for_each(|i| {
                co.yield_(i);
            })
        });
        log.push(format!("creator {}", r.next().unwrap()));
        r
    }
    let mut log = Vec::new();
    let r = creator(&mut log);
    for i in r {
        log.push(format!("caller {i}"));
    }
    assert_eq!(
        log,
        ["creator 0", "caller 1", "caller 2", "caller 3", "caller 4"]
    );
}

/// conjoin_tests: backtracking with one generator per level; the eight-queens puzzle
/// has 92 solutions.
#[test]
fn eight_queens_by_one_generator_per_row() {
    fn place(n: usize, rows: Vec<usize>) -> Generator<Vec<usize>> {
        Generator::new(move |co| {
            if rows.len() == n {
                co.yield_(rows);
                return;
            }
            let row = rows.len();
            for col in 0..n {
                let safe = rows
                    .iter()
                    .enumerate()
                    .all(|(r, &c)| c != col && row - r != col.abs_diff(c));
                if safe {
                    let mut next = rows.clone();
                    next.push(col);
                    for solution in place(n, next) {
                        co.yield_(solution);
                    }
                }
            }
        })
    }
    let mut solutions = place(8, Vec::new());
    assert_eq!(solutions.next().unwrap(), [0, 4, 7, 5, 2, 6, 1, 3]);
    assert_eq!(solutions.next().unwrap(), [0, 5, 7, 2, 6, 3, 1, 4]);
    assert_eq!(2 + solutions.count(), 92);
}
