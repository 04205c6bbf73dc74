//! Arguments for a process target: positional (`args=`) as a tuple, by name (`kwargs=`) as a struct.
//!
//! Seed: 001 (参数传递: mp.Process(target=test, args=("jiao", 21), kwargs={"m", 20}))
//! Example: 001 § 参数传递 — mp.Process(target=test, args=("jiao", 21), kwargs={"m", 20})
//! Time bound: 30 s
//!
//! `test(name, age, m)` gets `name` and `age` from the tuple `args` and `m` by name from
//! `kwargs`. A Rust `fn` has no keyword arguments: the positional form is a tuple the
//! target destructures, and the keyword form is a struct with named fields — the names are
//! checked by the compiler, and `..Default::default()` plays the part of Python's default
//! parameter values. Both cross into the child as serde values.
//!
//! The note writes `kwargs={"m", 20}`: with a comma that is a *set*, not a dict, and Python
//! rejects it when the `Process` is created (`dict()` of that set fails). It meant
//! `kwargs={"m": 20}`. The Rust forms cannot make that mistake: a struct literal with a
//! missing or misspelt field does not compile.

use serde::{Deserialize, Serialize};
use skein_process::{Process, getpid};

/// `def test(name, age, m)`, positional: `args=("jiao", 21, 20)`.
fn test((name, age, m): (String, u32, u32)) {
    println!(
        "  test(name={name:?}, age={age}, m={m}) in process {}",
        getpid()
    );
}

/// The keyword arguments, by name.
#[derive(Serialize, Deserialize, Default)]
struct TestKwargs {
    name: String,
    age: u32,
    m: u32,
}

/// `def test(name, age, m)`, by keyword: `kwargs={"name": "jiao", "age": 21, "m": 20}`.
fn test_kw(TestKwargs { name, age, m }: TestKwargs) {
    println!(
        "  test(name={name:?}, age={age}, m={m}) in process {}",
        getpid()
    );
}

/// The notes' mix: `args=("jiao", 21), kwargs={"m": 20}` — a tuple and a struct.
#[derive(Serialize, Deserialize)]
struct M {
    m: u32,
}

fn test_mixed(((name, age), M { m }): ((String, u32), M)) {
    test((name, age, m));
}

fn main() {
    skein_process::init();

    println!("== positional: Process(target=test, args=(\"jiao\", 21, 20)) ==");
    let p = Process::new(test, ("jiao".to_string(), 21, 20))
        .start()
        .expect("start");
    p.join().expect("join");

    println!(
        "== by name: Process(target=test, kwargs={{\"name\": \"jiao\", \"age\": 21, \"m\": 20}}) =="
    );
    let kwargs = TestKwargs {
        name: "jiao".into(),
        age: 21,
        m: 20,
    };
    let p = Process::new(test_kw, kwargs).start().expect("start");
    p.join().expect("join");

    println!("== by name, `m` left at its default (def test(name, age, m=0)) ==");
    let kwargs = TestKwargs {
        name: "jiao".into(),
        age: 21,
        ..Default::default()
    };
    let p = Process::new(test_kw, kwargs).start().expect("start");
    p.join().expect("join");

    println!("== the notes' mix: args=(\"jiao\", 21), kwargs={{\"m\": 20}} ==");
    let p = Process::new(test_mixed, (("jiao".to_string(), 21), M { m: 20 }))
        .start()
        .expect("start");
    p.join().expect("join");
}
