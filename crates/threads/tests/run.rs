//! The `Run` trait: `run()` called directly stays on the caller; `start()` runs it on a
//! new thread (seed 000's `s1.run()` vs `s1.start()`).

use skein_threads::{Builder, Run, Thread, current_thread};

#[derive(Default)]
struct Recorder {
    ran_on: Option<Thread>,
    runs: u32,
}

impl Run for Recorder {
    fn run(&mut self) {
        self.ran_on = Some(current_thread());
        self.runs += 1;
    }
}

struct Named(&'static str);

impl Run for Named {
    fn run(&mut self) {}

    fn name(&self) -> Option<String> {
        Some(self.0.to_string())
    }
}

#[test]
fn run_called_directly_stays_on_the_callers_thread() {
    let caller = current_thread();
    let mut r = Recorder::default();
    r.run();
    r.run();
    assert_eq!(r.ran_on.as_ref(), Some(&caller));
    assert_eq!(r.runs, 2);
    // Called from a skein thread, it stays on that one.
    let handle = Builder::new()
        .spawn(|| {
            let mut r = Recorder::default();
            r.run();
            r.ran_on.unwrap() == current_thread()
        })
        .unwrap();
    assert!(handle.join().unwrap());
}

#[test]
fn start_runs_on_a_new_thread_and_join_gives_the_object_back() {
    let caller = current_thread();
    let handle = Recorder::default().start().unwrap();
    let spawned = handle.thread().clone();
    let r = handle.join().unwrap();
    let ran_on = r.ran_on.unwrap();
    assert_ne!(ran_on, caller);
    assert_eq!(ran_on, spawned);
    assert_eq!(r.runs, 1);
}

#[test]
fn the_thread_name_comes_from_the_builder_then_the_object() {
    let h = Named("from-object").start().unwrap();
    assert_eq!(h.thread().name(), "from-object");
    h.join().unwrap();
    let h = Builder::new()
        .name("from-builder")
        .start(Named("from-object"))
        .unwrap();
    assert_eq!(h.thread().name(), "from-builder");
    h.join().unwrap();
    let h = Recorder::default().start().unwrap();
    assert!(h.thread().name().starts_with("Thread-"));
    h.join().unwrap();
}

#[test]
fn an_empty_name_from_the_builder_or_the_object_means_thread_n() {
    // CPython ThreadTests.test_name: an empty name is replaced by the default one; an
    // empty builder name still lets the object name the thread.
    let h = Named("").start().unwrap();
    assert!(h.thread().name().starts_with("Thread-"), "{}", h.thread());
    h.join().unwrap();
    let h = Builder::new().name("").start(Named("object-name")).unwrap();
    assert_eq!(h.thread().name(), "object-name");
    h.join().unwrap();
}
