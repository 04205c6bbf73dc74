//! Passing arguments to a thread: Python's args=(…) and kwargs={…} become a closure.
//! Seed: 001 (传递参数: args / kwargs)
//! Example: 001 § 传递参数 — args=("John", i + 18)
//! Example: 001 § 传递参数 — kwargs={"name": "Alice"
//! Example: 004 § 案例03
//! Time bound: 20 s
//!
//! `Thread(target=dance, args=("John", 18))` unpacks a tuple into the target's
//! parameters; `kwargs={"name": "Alice", "age": 18}` passes them by name. In Rust the
//! closure given to `spawn` *is* the target with its arguments: it captures (moves) the
//! values it needs. Named arguments become a struct with named fields. And unlike Python,
//! the thread can return a value, which `join` hands back.

use skein_threads::{Builder, current_thread};

fn dance(name: &str, age: u32) -> String {
    let line = format!("{name} ({age}) is dancing in {}", current_thread().name());
    println!("  {line}");
    line
}

/// kwargs: the arguments, by name.
struct DanceArgs {
    name: String,
    age: u32,
}

fn dance_kw(args: DanceArgs) -> String {
    dance(&args.name, args.age)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== args=(\"John\", i + 18): the closure captures the values ==");
    let mut handles = Vec::new();
    for i in 0..3 {
        let name = "John".to_string();
        handles.push(Builder::new().spawn(move || dance(&name, i + 18))?);
    }
    for handle in handles {
        handle.join()?;
    }

    println!("\n== kwargs={{\"name\": \"Alice\", \"age\": i + 18}}: a struct with named fields ==");
    let mut handles = Vec::new();
    for i in 0..3 {
        let args = DanceArgs {
            name: "Alice".into(),
            age: i + 18,
        };
        handles.push(
            Builder::new()
                .name(format!("kw-{i}"))
                .spawn(move || dance_kw(args))?,
        );
    }
    println!("\n== join() returns what the target returned ==");
    for handle in handles {
        let line = handle.join()?;
        println!("  joined: {line:?}");
    }
    Ok(())
}
