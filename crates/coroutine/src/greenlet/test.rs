use super::*;
use std::cell::RefCell;
use std::rc::Rc;

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn run_receives_first_switch_and_returns_to_parent() {
    let g = Greenlet::new(|x: i32| x * 2);
    assert!(!g.is_active() && !g.is_dead());
    assert_eq!(g.switch(21), 42);
    assert!(g.is_dead());
    // Switching to a dead greenlet goes to its parent: the root, i.e. ourselves.
    assert_eq!(g.switch(5), 5);
}

#[test]
fn ping_pong_order() {
    let l = log();
    let slot: Rc<RefCell<Option<Greenlet>>> = Rc::new(RefCell::new(None));
    let (l1, s1) = (l.clone(), slot.clone());
    let a = Greenlet::new(move |()| {
        for i in 0..3 {
            l1.borrow_mut().push(format!("A{i}"));
            let b = s1.borrow().clone().unwrap();
            b.switch(());
        }
    });
    let (l2, a2) = (l.clone(), a.clone());
    let b = Greenlet::new(move |()| {
        for i in 0..3 {
            l2.borrow_mut().push(format!("B{i}"));
            a2.switch(());
        }
    });
    *slot.borrow_mut() = Some(b.clone());
    a.switch(());
    assert_eq!(*l.borrow(), ["A0", "B0", "A1", "B1", "A2", "B2"]);
    assert!(
        a.is_dead(),
        "A finished after its third turn and returned to main"
    );
    assert!(b.is_active(), "B waits in its switch to A");
    slot.borrow_mut().take();
}

#[test]
fn current_and_parent() {
    let main = Greenlet::<u32>::current();
    assert!(main.is_root());
    assert!(main.parent().is_none());
    let m2 = main.clone();
    let g = Greenlet::new(move |x: u32| {
        let me = Greenlet::<u32>::current();
        assert!(!me.is_root());
        assert!(me.parent().unwrap().ptr_eq(&m2));
        x + 1
    });
    assert_eq!(g.switch(1), 2);
    assert_eq!(getcurrent::<u32>(), main);
}

#[test]
fn values_travel_both_ways_and_child_returns_to_explicit_parent() {
    let main = Greenlet::<String>::current();
    let l = log();
    let l1 = l.clone();
    let p = Greenlet::new(move |s: String| {
        l1.borrow_mut().push(format!("parent got {s}"));
        let back = main.switch("p->main".into());
        l1.borrow_mut().push(format!("parent resumed with {back}"));
        "p done".into()
    });
    let l2 = l.clone();
    let c = Greenlet::builder()
        .parent(&p)
        .build(move |s: String| {
            l2.borrow_mut().push(format!("child got {s}"));
            "child result".to_string()
        })
        .unwrap();
    // Start the child: it finishes at once and its result goes to its parent p, which
    // starts with it and switches to main.
    assert_eq!(c.switch("go".into()), "p->main");
    assert!(c.is_dead());
    assert_eq!(p.switch("again".into()), "p done");
    assert_eq!(
        *l.borrow(),
        [
            "child got go",
            "parent got child result",
            "parent resumed with again"
        ]
    );
}

#[test]
fn panic_propagates_to_parent() {
    let g = Greenlet::new(|()| panic!("boom in greenlet"));
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| g.switch(())));
    let p = r.unwrap_err();
    assert_eq!(p.downcast_ref::<&str>(), Some(&"boom in greenlet"));
    assert!(g.is_dead());
}

struct Noisy(Log, &'static str);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1.to_string());
    }
}

#[test]
fn throw_unwinds_and_reaches_parent() {
    let l = log();
    let l1 = l.clone();
    let main = Greenlet::<()>::current();
    let g = Greenlet::new(move |()| {
        let _n = Noisy(l1, "dropped");
        main.switch(());
    });
    g.switch(());
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| g.throw(7u8)));
    assert_eq!(r.unwrap_err().downcast_ref::<u8>(), Some(&7));
    assert_eq!(*l.borrow(), ["dropped"]);
    assert!(g.is_dead());
}

#[test]
fn throw_can_be_caught_inside() {
    let main = Greenlet::<i32>::current();
    let g = Greenlet::new(move |_| {
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| main.switch(0)));
        if caught.unwrap_err().is::<&str>() {
            99
        } else {
            -1
        }
    });
    assert_eq!(g.switch(0), 0);
    assert_eq!(g.throw("stop"), 99);
}

#[test]
fn kill_runs_destructors_in_place() {
    let l = log();
    let l1 = l.clone();
    let main = Greenlet::<()>::current();
    let before = crate::stack::stats().live;
    let g = Greenlet::new(move |()| {
        let _n = Noisy(l1, "killed");
        main.switch(());
        unreachable!("never resumed");
    });
    g.switch(());
    assert_eq!(g.kill(), Ok(()));
    assert_eq!(*l.borrow(), ["killed"]);
    assert!(g.is_dead());
    assert_eq!(crate::stack::stats().live, before);
    assert_eq!(g.kill(), Ok(()));
    assert_eq!(Greenlet::<()>::current().kill(), Err(KillError::Root));
    // kill() of the running greenlet is refused.
    let r: Rc<RefCell<Option<KillError>>> = Rc::default();
    let r2 = r.clone();
    let g2 = Greenlet::new(move |()| {
        *r2.borrow_mut() = Some(Greenlet::<()>::current().kill().unwrap_err());
    });
    g2.switch(());
    assert_eq!(*r.borrow(), Some(KillError::Current));
}

#[test]
fn dropping_last_handle_of_suspended_greenlet_unwinds_it() {
    let l = log();
    let l1 = l.clone();
    let main = Greenlet::<()>::current();
    let g = Greenlet::new(move |()| {
        let _n = Noisy(l1, "unwound on drop");
        main.switch(());
    });
    g.switch(());
    drop(g);
    assert_eq!(*l.borrow(), ["unwound on drop"]);
}

#[test]
fn set_parent_rejects_cycles() {
    let a = Greenlet::<()>::new(|()| ());
    let b = Greenlet::<()>::builder().parent(&a).build(|()| ()).unwrap();
    assert_eq!(a.set_parent(&b), Err(ParentError::Cycle));
    assert_eq!(a.set_parent(&a), Err(ParentError::Cycle));
    assert_eq!(
        Greenlet::<()>::current().set_parent(&a),
        Err(ParentError::Root)
    );
    let c = Greenlet::<()>::new(|()| ());
    assert_eq!(b.set_parent(&c), Ok(()));
}

#[test]
fn switch_from_a_generator_inside_a_greenlet_is_refused() {
    let main = Greenlet::<()>::current();
    let g = Greenlet::new(move |()| {
        let m = main.clone();
        let mut generator = crate::Generator::<()>::new(move |_co| {
            m.switch(());
        });
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| generator.next()));
        assert!(r.is_err());
    });
    g.switch(());
    assert!(g.is_dead());
}
