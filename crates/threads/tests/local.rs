//! `Local<T>`: one value per thread, created at run time (Python's `threading.local()`).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};

use skein_threads::{Builder, Local};

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn each_thread_sees_only_its_own_value() {
    let local = Arc::new(Local::<String>::new());
    let barrier = Arc::new(Barrier::new(5));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (local, barrier) = (local.clone(), barrier.clone());
            Builder::new()
                .spawn(move || {
                    assert_eq!(local.get(), None);
                    local.set(format!("value-{i}"));
                    barrier.wait(); // every thread has set its value
                    barrier.wait(); // and the main thread has looked at its own
                    local.get()
                })
                .unwrap()
        })
        .collect();
    barrier.wait();
    assert_eq!(local.get(), None, "the main thread set nothing");
    assert!(!local.is_set());
    barrier.wait();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.join().unwrap(), Some(format!("value-{i}")));
    }
}

#[test]
fn the_initialiser_runs_once_per_thread_on_that_thread() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let local = Arc::new(Local::with_init(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        skein_threads::current_thread().name()
    }));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let local = local.clone();
            Builder::new()
                .name(format!("init-{i}"))
                .spawn(move || {
                    let first = local.get();
                    let again = local.with(Clone::clone);
                    (first, again)
                })
                .unwrap()
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        let (first, again) = handle.join().unwrap();
        assert_eq!(first, Some(format!("init-{i}")));
        assert_eq!(again, first);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn values_are_dropped_when_their_thread_exits() {
    let drops = Arc::new(AtomicUsize::new(0));
    let local = Arc::new(Local::<Tracked>::new());
    let (l, d) = (local.clone(), drops.clone());
    let handle = Builder::new()
        .spawn(move || {
            l.set(Tracked(d.clone()));
            d.load(Ordering::SeqCst)
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), 0, "alive while the thread ran");
    assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped at thread exit");
}

#[test]
fn set_take_and_with_mut() {
    let local = Local::new();
    assert_eq!(local.with(|v: &u32| *v), None, "no value, no initialiser");
    assert_eq!(local.set(1), None);
    assert_eq!(local.set(2), Some(1));
    assert_eq!(
        local.with_mut(|v| {
            *v += 40;
            *v
        }),
        Some(42)
    );
    assert_eq!(local.take(), Some(42));
    assert!(!local.is_set());
    assert_eq!(local.take(), None);

    let with_init = Local::with_init(|| 7u8);
    assert!(!with_init.is_set(), "is_set does not run the initialiser");
    assert_eq!(with_init.get(), Some(7));
    assert_eq!(with_init.take(), Some(7));
    assert_eq!(with_init.get(), Some(7), "a fresh value after take");
}

#[test]
fn values_need_not_be_send_and_may_nest() {
    let outer = Local::with_init(|| Rc::new(Cell::new(1)));
    let inner = Local::with_init(|| 10);
    let total = outer.with(|rc| {
        rc.set(rc.get() + 1);
        // Other locals, and this one again, inside `with`.
        inner.with(|i| *i).unwrap() + outer.with(|again| again.get()).unwrap()
    });
    assert_eq!(total, Some(12));
}

#[test]
fn dropping_a_local_drops_this_threads_value_at_once_and_others_later() {
    let drops = Arc::new(AtomicUsize::new(0));
    let local = Arc::new(Local::<Tracked>::new());
    local.set(Tracked(drops.clone()));

    let (to_worker, worker_rx) = mpsc::channel::<()>();
    let (to_main, main_rx) = mpsc::channel::<usize>();
    let (l, d) = (local.clone(), drops.clone());
    let worker = Builder::new()
        .spawn(move || {
            l.set(Tracked(d.clone()));
            drop(l);
            to_main.send(0).unwrap();
            worker_rx.recv().unwrap(); // the Local is gone now
            // Using other locals on this long-lived thread purges the dead slot.
            let others: Vec<Local<u32>> = (0..64).map(|_| Local::new()).collect();
            for (i, other) in others.iter().enumerate() {
                other.set(i as u32);
            }
            let seen = d.load(Ordering::SeqCst);
            drop(others);
            to_main.send(seen).unwrap();
        })
        .unwrap();
    main_rx.recv().unwrap();
    drop(Arc::try_unwrap(local).expect("the worker dropped its clone"));
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the main thread's value went at once"
    );
    to_worker.send(()).unwrap();
    assert_eq!(
        main_rx.recv().unwrap(),
        2,
        "the worker's value went before it exited"
    );
    worker.join().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn locals_made_after_one_is_dropped_start_empty_in_every_thread() {
    // CPython test_derived_cycle_dealloc (bpo-6990): a thread holds a value of a local that
    // is then dropped; locals created afterwards (possibly at the same address) must not
    // show that value to it.
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<Arc<Vec<Local<&'static str>>>>();
    let worker = Builder::new()
        .spawn(move || {
            let old = Local::new();
            old.set("bar");
            drop(old);
            ready_tx.send(()).unwrap();
            let fresh = go_rx.recv().unwrap();
            fresh.iter().all(|l| !l.is_set() && l.get().is_none())
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let fresh: Arc<Vec<Local<&'static str>>> = Arc::new((0..10).map(|_| Local::new()).collect());
    go_tx.send(fresh.clone()).unwrap();
    assert!(worker.join().unwrap(), "a fresh local showed an old value");
    assert!(fresh.iter().all(|l| !l.is_set()));
}

#[test]
fn stress_locals_made_and_dropped_while_threads_with_values_exit() {
    // CPython test_threading_local_clear_race (gh-100892): creating and dropping locals
    // while threads holding values of them exit loses nothing and double-drops nothing.
    let drops = Arc::new(AtomicUsize::new(0));
    let shared: Arc<Local<Tracked>> = Arc::new(Local::new());
    let start = Arc::new(Barrier::new(5));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (shared, drops, start) = (shared.clone(), drops.clone(), start.clone());
            Builder::new()
                .spawn(move || {
                    start.wait();
                    shared.set(Tracked(drops.clone()));
                    for _ in 0..200 {
                        let l = Local::new();
                        l.set(Tracked(drops.clone()));
                    }
                })
                .unwrap()
        })
        .collect();
    start.wait();
    for _ in 0..1000 {
        let l: Local<Tracked> = Local::new();
        l.set(Tracked(drops.clone()));
    }
    for t in threads {
        t.join().unwrap();
    }
    // Every value made was dropped exactly once: 4 shared + 4 * 200 + 1000 short-lived.
    assert_eq!(drops.load(Ordering::SeqCst), 4 + 800 + 1000);
    drop(shared);
    assert_eq!(drops.load(Ordering::SeqCst), 1804);
}
