use super::*;
use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn yields_in_order_and_returns() {
    let mut g = Generator::<i32, &str>::new(|co| {
        co.yield_(1);
        co.yield_(2);
        "done"
    });
    assert_eq!(g.next(), Some(1));
    assert_eq!(g.next(), Some(2));
    assert_eq!(g.next(), None);
    assert_eq!(g.return_value(), Some("done"));
    assert_eq!(g.next(), None);
    assert!(g.is_finished());
}

#[test]
fn stack_returns_to_pool_when_finished() {
    let before = stack::stats().live;
    let mut g = Generator::<i32>::new(|co| co.yield_(1));
    assert_eq!(stack::stats().live, before + 1);
    assert_eq!(g.next(), Some(1));
    assert_eq!(g.next(), None);
    assert_eq!(
        stack::stats().live,
        before,
        "stack released at completion, not at drop"
    );
    drop(g);
}

#[test]
fn send_before_start_hands_value_back() {
    let mut g = Generator::<i32, (), String>::new(|co| {
        let s = co.yield_(0);
        co.yield_(s.len() as i32);
    });
    let err = g.send("lost?".to_string()).unwrap_err();
    assert!(matches!(err, SendError::NotStarted(_)));
    assert_eq!(err.into_inner(), "lost?");
    assert_eq!(g.start(), Ok(GeneratorState::Yielded(0)));
    assert_eq!(g.start(), Err(StartError::AlreadyStarted));
    assert_eq!(g.send("abc".into()).unwrap(), GeneratorState::Yielded(3));
    assert_eq!(g.send("x".into()).unwrap(), GeneratorState::Complete(()));
    assert!(g.send("late".into()).unwrap_err().is_finished());
}

#[test]
fn debug_shows_state() {
    let mut g = Generator::<i32>::new(|co| co.yield_(1));
    assert!(format!("{g:?}").contains("created"));
    g.next();
    assert!(format!("{g:?}").contains("suspended"));
    g.close();
    assert!(format!("{g:?}").contains("closed"));
}

struct Noisy(Rc<RefCell<Vec<&'static str>>>, &'static str);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

#[test]
fn close_runs_destructors_and_frees_stack() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let before = stack::stats().live;
    let mut g = Generator::<u32>::new(move |co| {
        let _a = Noisy(l.clone(), "outer");
        let _b = Noisy(l, "inner");
        loop {
            co.yield_(1);
        }
    });
    g.next();
    assert!(log.borrow().is_empty());
    g.close();
    assert_eq!(*log.borrow(), ["inner", "outer"]);
    assert!(g.is_finished());
    assert_eq!(stack::stats().live, before);
}

#[test]
fn close_of_fresh_generator_drops_the_body() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let n = Noisy(log.clone(), "captured");
    let mut g = Generator::<u32>::new(move |co| {
        let _n = n;
        co.yield_(1);
    });
    g.close();
    assert_eq!(*log.borrow(), ["captured"]);
    assert_eq!(g.start(), Err(StartError::Finished));
}
