//! Greenlets: switch semantics, parent return, throw, kill, death. Cases follow what
//! greenlet's own test suite (`test_greenlet.py`) checks, in our own words.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use skein_coroutine::greenlet::getcurrent;
use skein_coroutine::{Greenlet, KillError};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// greenlet's `test_simple`: a child switches back to main twice, then finishes.
#[test]
fn simple_switch_back_and_forth() {
    let l = log();
    let l1 = l.clone();
    let main = getcurrent::<()>();
    let g = Greenlet::new(move |()| {
        l1.borrow_mut().push("a".into());
        main.switch(());
        l1.borrow_mut().push("b".into());
    });
    l.borrow_mut().push("start".into());
    g.switch(());
    l.borrow_mut().push("back".into());
    g.switch(());
    l.borrow_mut().push("end".into());
    assert_eq!(*l.borrow(), ["start", "a", "back", "b", "end"]);
    assert!(g.is_dead());
}

/// Seed 001's A/B ping-pong (`gr1.switch()` / `gr2.switch()`), bounded.
#[test]
fn seed_ping_pong() {
    let l = log();
    let gr2_slot: Rc<RefCell<Option<Greenlet>>> = Rc::default();
    let (l1, slot) = (l.clone(), gr2_slot.clone());
    let gr1 = Greenlet::new(move |()| {
        for _ in 0..5 {
            l1.borrow_mut().push("---A---".into());
            let gr2 = slot.borrow().clone().expect("gr2 exists before gr1 runs");
            gr2.switch(());
        }
    });
    let (l2, gr1c) = (l.clone(), gr1.clone());
    let gr2 = Greenlet::new(move |()| {
        loop {
            l2.borrow_mut().push("---B---".into());
            gr1c.switch(());
        }
    });
    *gr2_slot.borrow_mut() = Some(gr2.clone());
    gr1.switch(());
    let want: Vec<String> = (0..5)
        .flat_map(|_| ["---A---".to_string(), "---B---".to_string()])
        .collect();
    assert_eq!(*l.borrow(), want);
    // gr1 finished into main; gr2 still waits in its switch: kill it to free its stack.
    assert!(gr1.is_dead() && gr2.is_active());
    gr2_slot.borrow_mut().take();
    gr2.kill().unwrap();
}

/// greenlet's `test_two_children`: values come back from finished children.
#[test]
fn two_children_return_values_to_parent() {
    let a = Greenlet::new(|x: i32| x + 1);
    let b = Greenlet::new(|x: i32| x * 3);
    assert_eq!(a.switch(1) + b.switch(2), 8);
    assert!(a.is_dead() && b.is_dead());
}

/// A finished child's value goes to its parent even when another greenlet started it.
#[test]
fn parent_receives_result_not_the_starter() {
    let main = getcurrent::<&'static str>();
    let l = log();
    let l1 = l.clone();
    let parent = Greenlet::new(move |first| {
        l1.borrow_mut().push(format!("parent started with {first}"));
        let from_child = main.switch("parent waiting");
        l1.borrow_mut().push(format!("parent got {from_child}"));
        "parent finished"
    });
    assert_eq!(parent.switch("go"), "parent waiting");
    let child = Greenlet::<&str>::builder()
        .parent(&parent)
        .build(|_| "child result")
        .unwrap();
    // main starts the child; the child's result goes to `parent`, which then finishes
    // into its own parent, main.
    assert_eq!(child.switch("x"), "parent finished");
    assert_eq!(
        *l.borrow(),
        ["parent started with go", "parent got child result"]
    );
}

/// Switching to a dead greenlet goes to its parent.
#[test]
fn switch_to_dead_goes_to_parent() {
    let main = getcurrent::<u8>();
    let dead = Greenlet::new(|x: u8| x);
    dead.switch(0);
    let m = main.clone();
    let g = Greenlet::new(move |_| {
        // `dead`'s parent is main, so this lands in main's pending switch.
        let back = dead.switch(41);
        drop(m);
        back + 1
    });
    assert_eq!(g.switch(0), 41);
    assert_eq!(g.switch(1), 2);
}

/// greenlet's `test_exception`: an uncaught panic goes to the parent.
#[test]
fn panic_goes_to_parent_greenlet() {
    let caught: Rc<RefCell<Option<String>>> = Rc::default();
    let c2 = caught.clone();
    let parent = Greenlet::new(move |()| {
        let child = Greenlet::new(|()| panic!("child failed"));
        let r = catch_unwind(AssertUnwindSafe(|| child.switch(())));
        *c2.borrow_mut() = r.unwrap_err().downcast_ref::<&str>().map(|s| s.to_string());
    });
    parent.switch(());
    assert_eq!(caught.borrow().as_deref(), Some("child failed"));
}

/// greenlet's `test_send_exception`: throw raises at the pending switch.
#[test]
fn throw_raises_at_pending_switch() {
    let main = getcurrent::<()>();
    let g = Greenlet::new(move |()| {
        main.switch(());
    });
    g.switch(());
    let r = catch_unwind(AssertUnwindSafe(|| g.throw(String::from("thrown"))));
    assert_eq!(
        r.unwrap_err().downcast_ref::<String>().map(String::as_str),
        Some("thrown")
    );
    assert!(g.is_dead());
}

/// Throw into the running greenlet raises in the caller at once.
#[test]
fn throw_into_self_raises_now() {
    let g = Greenlet::new(|()| {
        let me = getcurrent::<()>();
        let r = catch_unwind(AssertUnwindSafe(|| me.throw(5i32)));
        assert_eq!(r.unwrap_err().downcast_ref::<i32>(), Some(&5));
    });
    g.switch(());
    assert!(g.is_dead());
}

/// greenlet's `test_dealloc`: a paused greenlet whose last handle goes away is unwound.
#[test]
fn dropped_paused_greenlet_is_unwound() {
    struct Flag(Rc<RefCell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let flag = Rc::new(RefCell::new(false));
    let f = flag.clone();
    let main = getcurrent::<()>();
    let g = Greenlet::new(move |()| {
        let _f = Flag(f);
        main.switch(());
    });
    g.switch(());
    assert!(!*flag.borrow());
    drop(g);
    assert!(*flag.borrow());
}

#[test]
fn kill_of_never_started_greenlet_drops_its_function() {
    let flag = Rc::new(RefCell::new(0));
    let f = flag.clone();
    let g = Greenlet::new(move |()| *f.borrow_mut() += 1);
    g.kill().unwrap();
    assert!(g.is_dead());
    assert_eq!(*flag.borrow(), 0);
    assert_eq!(Rc::strong_count(&flag), 1, "the closure was dropped");
    assert_eq!(getcurrent::<()>().kill(), Err(KillError::Root));
}

#[test]
fn many_greenlets_round_robin() {
    // 100 greenlets each take 10 turns, passing a counter around a ring through main.
    let main = getcurrent::<u64>();
    let gs: Vec<Greenlet<u64>> = (0..100)
        .map(|_| {
            let m = main.clone();
            Greenlet::new(move |mut x| {
                for _ in 0..10 {
                    x = m.switch(x + 1);
                }
                x
            })
        })
        .collect();
    let mut x = 0;
    for _ in 0..10 {
        for g in &gs {
            x = g.switch(x);
        }
    }
    assert_eq!(x, 1000);
    for g in &gs {
        assert_eq!(g.switch(x), x);
        assert!(g.is_dead());
    }
}

#[test]
fn debug_names_status() {
    let g = Greenlet::new(|()| ());
    assert!(format!("{g:?}").contains("created"));
    g.switch(());
    assert!(format!("{g:?}").contains("dead"));
    assert!(format!("{:?}", getcurrent::<()>()).contains("root"));
}
