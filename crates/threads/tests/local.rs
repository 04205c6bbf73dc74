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
