//! Parity with greenlet's own test suite (`src/greenlet/tests/test_greenlet.py`,
//! `test_throw.py`): the cases `tests/greenlet.rs` does not already check, in our own
//! words. Generator cases are in `tests/generator_parity.rs`.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use skein_coroutine::Greenlet;
use skein_coroutine::greenlet::getcurrent;

#[derive(Debug, PartialEq)]
struct IndexError;

/// greenlet's `test_throw_goes_to_original_parent` pair: `g1` switches to the main
/// greenlet inside a catch of `IndexError` (answering "caught" if one arrives, "normal
/// exit" otherwise); its child `g2` switches to the main greenlet "from f2".
fn catching_parent_and_child() -> (Greenlet<&'static str>, Greenlet<&'static str>) {
    let main = getcurrent::<&'static str>();
    let g1 = {
        let main = main.clone();
        Greenlet::new(move |_| {
            match catch_unwind(AssertUnwindSafe(|| main.switch("f1 ready to catch"))) {
                Ok(_) => "normal exit",
                Err(e) if e.is::<IndexError>() => "caught",
                Err(e) => std::panic::resume_unwind(e),
            }
        })
    };
    let g2 = Greenlet::builder()
        .parent(&g1)
        .build(move |_| main.switch("from f2"))
        .unwrap();
    (g1, g2)
}

/// test_throw_goes_to_original_parent, first case: throwing into a child that never
/// ran kills it at once; the error goes to its parent, which never ran either, and so
/// on up to the thrower.
#[test]
fn throw_into_unstarted_child_of_unstarted_parent_reaches_the_thrower() {
    let (g1, g2) = catching_parent_and_child();
    let err = catch_unwind(AssertUnwindSafe(|| g2.throw(IndexError))).unwrap_err();
    assert!(err.is::<IndexError>());
    assert!(g2.is_dead());
    assert!(g1.is_dead());
}

/// test_throw_goes_to_original_parent, second and third cases: the error reaches a
/// parent paused in a switch, which catches it and returns to its own parent.
#[test]
fn throw_into_child_is_caught_by_its_paused_parent() {
    for start_child_first in [false, true] {
        let (g1, g2) = catching_parent_and_child();
        assert_eq!(g1.switch(""), "f1 ready to catch");
        if start_child_first {
            assert_eq!(g2.switch(""), "from f2");
        }
        assert_eq!(g2.throw(IndexError), "caught");
        assert!(g2.is_dead());
        assert!(g1.is_dead());
    }
}

/// test_throw.py test_class / test_val: a thrown value is caught where the greenlet
/// paused, and the greenlet goes on switching.
#[test]
fn thrown_value_is_caught_and_the_greenlet_switches_on() {
    #[derive(Debug)]
    struct RuntimeError(&'static str);
    let main = getcurrent::<&'static str>();
    let g = Greenlet::new(move |_| {
        match catch_unwind(AssertUnwindSafe(|| main.switch("ok"))) {
            Err(e) => match e.downcast::<RuntimeError>() {
                Ok(err) if err.0 == "ciao" => main.switch("ok"),
                _ => main.switch("fail"),
            },
            Ok(_) => main.switch("fail"),
        };
        "end"
    });
    assert_eq!(g.switch(""), "ok");
    assert_eq!(g.throw(RuntimeError("ciao")), "ok");
    assert_eq!(g.switch(""), "end");
    assert!(g.is_dead());
}

/// test_throw.py test_kill, for any error: throwing into a dead greenlet raises in its
/// parent — here the thrower itself.
#[test]
fn throw_into_a_dead_greenlet_raises_in_the_thrower() {
    let g = Greenlet::new(|x: u8| x);
    assert_eq!(g.switch(1), 1);
    assert!(g.is_dead());
    let err = catch_unwind(AssertUnwindSafe(|| g.throw(IndexError))).unwrap_err();
    assert!(err.is::<IndexError>());
    assert!(getcurrent::<u8>().is_active());
}

/// test_switch_to_dead_greenlet_reparent: switching to a dead greenlet goes to its
/// parent — after `set_parent`, the new one, which starts.
#[test]
fn switch_to_a_dead_greenlet_goes_to_its_new_parent() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let parent_never_started = {
        let seen = seen.clone();
        Greenlet::new(move |x: u8| {
            seen.borrow_mut().push(24);
            x + 1
        })
    };
    let child = {
        let seen = seen.clone();
        Greenlet::new(move |x: u8| {
            seen.borrow_mut().push(42);
            x
        })
    };
    assert_eq!(child.switch(0), 0);
    assert_eq!(*seen.borrow(), [42]);
    child.set_parent(&parent_never_started).unwrap();
    assert_eq!(child.switch(5), 6);
    assert_eq!(*seen.borrow(), [42, 24]);
    assert!(parent_never_started.is_dead());
}

/// test_falling_off_end_switches_to_unstarted_parent_works: a finished child's value
/// starts its parent that never ran.
#[test]
fn a_finished_child_starts_its_unstarted_parent_with_its_value() {
    let parent = Greenlet::new(|x: (u8, u8)| (x.0, 24));
    let child = Greenlet::builder()
        .parent(&parent)
        .build(|_| (42, 0))
        .unwrap();
    assert_eq!(child.switch((0, 0)), (42, 24));
    assert!(child.is_dead());
    assert!(parent.is_dead());
}

/// test_two_recursive_children: a greenlet creates and runs its own child, which
/// switches back to it (its parent), not to main.
#[test]
fn a_greenlet_created_inside_another_returns_to_its_creator() {
    let lst = Rc::new(RefCell::new(Vec::new()));
    let outer = {
        let lst = lst.clone();
        Greenlet::new(move |()| {
            lst.borrow_mut().push('a');
            let inner = {
                let lst = lst.clone();
                Greenlet::new(move |()| {
                    lst.borrow_mut().push('b');
                    getcurrent::<()>().parent().unwrap().switch(());
                })
            };
            inner.switch(());
            lst.borrow_mut().push('c');
        })
    };
    outer.switch(());
    assert_eq!(*lst.borrow(), ['a', 'b', 'c']);
    assert!(outer.is_dead());
}

/// test_dealloc_switch_args_not_lost: a child finishing into a parent that is paused in
/// a switch delivers its value there, and the value comes on to main.
#[test]
fn a_value_returned_into_a_paused_parent_is_not_lost() {
    let main = getcurrent::<u32>();
    let worker = Greenlet::new(move |_| {
        let value = main.switch(0);
        main.switch(value)
    });
    worker.switch(0); // prime: worker waits in main.switch
    let initiator = Greenlet::builder().parent(&worker).build(|_| 42).unwrap();
    assert_eq!(initiator.switch(0), 42);
    assert!(initiator.is_dead());
    assert!(!worker.is_dead());
    worker.kill().unwrap();
}

/// TestGreenletSetParentErrors: the main greenlet has no parent and cannot get one;
/// a greenlet cannot be its own ancestor.
#[test]
fn parent_rules() {
    let main = getcurrent::<()>();
    assert!(main.parent().is_none());
    assert!(main.set_parent(&main).is_err());
    let a = Greenlet::<()>::new(|()| ());
    let b = Greenlet::builder().parent(&a).build(|()| ()).unwrap();
    let c = Greenlet::builder().parent(&b).build(|()| ()).unwrap();
    assert!(a.set_parent(&c).is_err(), "deeper cycle");
    assert!(a.parent().unwrap() == main);
}

/// TestRepr: the main greenlet reads as current while it runs and as suspended from
/// inside a child; a fresh one as created (greenlet: pending); a finished one as dead.
#[test]
fn debug_says_current_suspended_created_dead() {
    let main = getcurrent::<String>();
    let shown = format!("{main:?}");
    assert!(
        shown.contains("current") && shown.contains("root"),
        "{shown}"
    );
    let g = {
        let main = main.clone();
        Greenlet::new(move |_| {
            let me = format!("{:?}", getcurrent::<String>());
            format!("{main:?} / {me}")
        })
    };
    let fresh = format!("{g:?}");
    assert!(
        fresh.contains("created") && !fresh.contains("current"),
        "{fresh}"
    );
    let inside = g.switch(String::new());
    assert!(
        inside.contains("suspended") && inside.contains("root"),
        "{inside}"
    );
    assert!(inside.ends_with("current active>"), "{inside}");
    let dead = format!("{g:?}");
    assert!(dead.contains("dead") && !dead.contains("active"), "{dead}");
}
