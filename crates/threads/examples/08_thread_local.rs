//! threading.local(): one value per thread — Alice and Bob each see their own student.
//! Seed: 002 (ThreadLocal: local_school.student)
//! Example: 002 § ThreadLocal — local_school = threading.local()
//! Time bound: 20 s
//!
//! `local_school = threading.local()` is one shared object, yet each thread reads and
//! writes only its own copy: no lock, and no need to pass the student down every call.
//! `skein_threads::Local<T>` is that object, created at run time and shared by `Arc`.

use std::sync::{Arc, Barrier};

use skein_threads::{Builder, Local, current_thread};

fn process_student(local_school: &Local<String>) {
    let std = local_school.get().expect("set by process_thread");
    println!("Hello, {std} (in {})", current_thread().name());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("== seed 002: Thread-A binds Alice, Thread-B binds Bob ==");
    let local_school: Arc<Local<String>> = Arc::new(Local::new());
    // Both threads set their value before either reads, to show they never mix.
    let both_set = Arc::new(Barrier::new(2));
    let mut handles = Vec::new();
    for (name, thread) in [("Alice", "Thread-A"), ("Bob", "Thread-B")] {
        let (local_school, both_set) = (local_school.clone(), both_set.clone());
        handles.push(Builder::new().name(thread).spawn(move || {
            local_school.set(name.to_string());
            both_set.wait();
            process_student(&local_school);
        })?);
    }
    for handle in handles {
        handle.join()?;
    }
    println!(
        "main thread's own value: {:?} (it never set one)",
        local_school.get()
    );

    println!("\n== a local with an initialiser: each thread starts from its own 0 ==");
    let counter = Arc::new(Local::with_init(|| 0u32));
    let mut handles = Vec::new();
    for i in 1..=3 {
        let counter = counter.clone();
        handles.push(Builder::new().name(format!("counter-{i}")).spawn(move || {
            for _ in 0..i * 10 {
                counter.with_mut(|n| *n += 1);
            }
            println!("{} counted {:?}", current_thread().name(), counter.get());
        })?);
    }
    for handle in handles {
        handle.join()?;
    }
    println!("main counted {:?}", counter.get());
    Ok(())
}
