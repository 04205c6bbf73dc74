//! gevent features the first parity pass left out, after gevent's own tests:
//! `link`/`rawlink`/`link_value`/`link_exception`/`unlink` (`test__greenlet.py` TestLink,
//! TestUnlink, TestReturn_link, TestRaise_link, test_multiple_listeners_error;
//! `test__event.py` TestAsyncResult.test_link, TestAsyncResultAsLinkTarget).
//! Interleavings are forced with `Event` gates and `sleep(ZERO)` (FIFO ready queue).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use skein_coroutine::hub::{self, AsyncResult, Event, JoinError, Queue};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

// --- test__greenlet.py: TestLink / TestReturn_link / TestRaise_link ---------------

/// test_link_to_asyncresult: a link sets an AsyncResult from the task's value, and
/// the value's waiter wakes.
#[test]
fn link_to_an_async_result_passes_the_value() {
    let result: AsyncResult<i32, String> = AsyncResult::new();
    let task = hub::spawn(|| 100);
    let r = result.clone();
    task.link(move |outcome| match outcome {
        Ok(v) => r.set(*v),
        Err(e) => r.set_error(e.to_string()),
    });
    assert_eq!(result.get(), Ok(100));
    assert_eq!(task.join().unwrap(), 100);
}

/// test_link_to_asyncresult_exception: a failing task's link sees the error.
#[test]
fn link_to_an_async_result_passes_the_panic() {
    let result: AsyncResult<i32, String> = AsyncResult::new();
    let task = hub::spawn(|| -> i32 { panic!("boom") });
    let r = result.clone();
    task.link(move |outcome| match outcome {
        Ok(v) => r.set(*v),
        Err(e) => r.set_error(e.panic_message().unwrap_or("?").to_string()),
    });
    assert_eq!(result.get(), Err("boom".to_string()));
    assert!(task.join().unwrap_err().is_panic());
}

/// test_link_to_queue / test_link_to_channel: a link callback may block on the hub
/// (gevent spawns a greenlet for each `link`): here it puts on a full queue and waits
/// until the consumer makes room; the task's `join` returns after the callback.
#[test]
fn a_link_callback_may_block_and_join_waits_for_it() {
    let q: Queue<&str> = Queue::bounded(1);
    q.put("first");
    let task = hub::spawn(|| "value");
    let done = Rc::new(Cell::new(false));
    let (q2, d) = (q.clone(), done.clone());
    task.link(move |outcome| {
        q2.put(outcome.as_ref().map(|v| *v).unwrap_or("error")); // blocks: queue full
        d.set(true);
    });
    let consumer = {
        let q = q.clone();
        hub::spawn(move || {
            hub::sleep(Duration::from_millis(5));
            (q.get(), q.get())
        })
    };
    assert_eq!(task.join().unwrap(), "value");
    assert!(done.get(), "join returned before the link callback");
    assert_eq!(consumer.join().unwrap(), ("first", "value"));
}

/// TestReturn_link / TestRaise_link: link_value runs only on success, link_exception
/// only on failure (a panic or a kill); every kind of listener is told once.
#[test]
fn link_value_and_link_exception_pick_the_outcome() {
    let seen = log();
    let ok = hub::spawn(|| 5);
    let bad = hub::spawn(|| -> i32 { panic!("bad") });
    let killed = hub::spawn(|| hub::sleep(Duration::from_secs(60)));
    for (name, h) in [("ok", &ok), ("bad", &bad)] {
        let (a, b) = (seen.clone(), seen.clone());
        h.link_value(move |v| a.borrow_mut().push(format!("{name} value {v}")));
        h.link_exception(move |e| {
            b.borrow_mut()
                .push(format!("{name} error {}", e.is_panic()))
        });
    }
    {
        let (a, b) = (seen.clone(), seen.clone());
        killed.link_value(move |()| a.borrow_mut().push("killed value".into()));
        killed.link_exception(move |e| b.borrow_mut().push(format!("killed {}", e.is_killed())));
    }
    hub::sleep(Duration::ZERO);
    killed.kill();
    assert_eq!(ok.join().unwrap(), 5);
    assert!(bad.join().is_err());
    assert!(killed.join().unwrap_err().is_killed());
    let mut seen = seen.borrow().clone();
    seen.sort();
    assert_eq!(seen, ["bad error true", "killed true", "ok value 5"]);
}

/// A rawlink runs in the hub right as the task ends: before the joiners wake, with
/// the task already finished.
#[test]
fn rawlink_runs_when_the_task_ends_before_its_joiners() {
    let order = log();
    let gate = Event::new();
    let task = {
        let gate = gate.clone();
        hub::spawn(move || gate.wait())
    };
    let me = task.task();
    let o = order.clone();
    task.rawlink(move |outcome| {
        assert!(outcome.is_ok());
        assert!(me.is_finished(), "a rawlink runs after the task has ended");
        o.borrow_mut().push("rawlink".to_string());
    });
    let joiner = {
        let o = order.clone();
        let t = hub::spawn(move || task.join().is_ok());
        let o2 = o.clone();
        hub::spawn(move || {
            let ok = t.join().unwrap();
            o2.borrow_mut().push(format!("joined {ok}"));
        })
    };
    hub::sleep(Duration::ZERO);
    assert!(order.borrow().is_empty());
    gate.set();
    joiner.join().unwrap();
    assert_eq!(*order.borrow(), ["rawlink", "joined true"]);
}

/// A callback linked after the task ended still runs (rawlink at once; link in a new
/// task).
#[test]
fn linking_a_finished_task_still_runs_the_callback() {
    let task = hub::spawn(|| 3);
    hub::sleep(Duration::ZERO);
    assert!(task.is_finished());
    let seen = log();
    let s = seen.clone();
    task.rawlink(move |o| s.borrow_mut().push(format!("raw {}", o.as_ref().unwrap())));
    assert_eq!(*seen.borrow(), ["raw 3"]);
    let s = seen.clone();
    task.link(move |o| s.borrow_mut().push(format!("link {}", o.as_ref().unwrap())));
    assert_eq!(task.join().unwrap(), 3);
    assert_eq!(*seen.borrow(), ["raw 3", "link 3"]);
}

// --- TestUnlink ---------------------------------------------------------------------

/// TestUnlink.test_func / test_greenlet: an unlinked callback never runs; unlink of a
/// callback that has run says false.
#[test]
fn unlink_removes_a_callback_before_the_task_ends() {
    let calls = Rc::new(Cell::new(0));
    let task = hub::spawn(|| ());
    let (c1, c2, c3) = (calls.clone(), calls.clone(), calls.clone());
    let raw = task.rawlink(move |_| c1.set(c1.get() + 100));
    let spawned = task.link(move |_| c2.set(c2.get() + 10));
    let kept = task.rawlink(move |_| c3.set(c3.get() + 1));
    assert!(task.unlink(raw));
    assert!(task.unlink(spawned));
    assert!(!task.unlink(raw), "a second unlink finds nothing");
    let t = task.task();
    let check = hub::spawn(move || t.is_finished());
    assert!(check.join().is_ok());
    hub::sleep(Duration::ZERO);
    assert!(!task.unlink(kept), "the kept callback has run");
    task.join().unwrap();
    assert_eq!(calls.get(), 1);
}

// --- test_multiple_listeners_error ----------------------------------------------

/// test_multiple_listeners_error(_unlink): a panicking listener does not take the hub
/// down nor stop the other listeners; a rawlink that tries to block is refused (it
/// panics inside the callback, which is reported) and the hub goes on.
#[test]
fn a_panicking_or_blocking_callback_does_not_take_the_hub_down() {
    let seen = log();
    let task = hub::spawn(|| 1);
    let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
    task.rawlink(|_| panic!("listener 1 fails"));
    task.rawlink(move |_| a.borrow_mut().push("raw 2".to_string()));
    task.rawlink(move |_| {
        hub::sleep(Duration::from_millis(1)); // refused: a rawlink may not block
        b.borrow_mut().push("blocked".to_string());
    });
    task.link(|_| panic!("link fails"));
    task.link(move |_| c.borrow_mut().push("link 2".to_string()));
    assert_eq!(task.join().unwrap(), 1);
    assert_eq!(*seen.borrow(), ["raw 2", "link 2"]);
    // The hub still works.
    assert_eq!(hub::spawn(|| 2).join().unwrap(), 2);
}

/// A detached task (its handle dropped) still runs its links.
#[test]
fn links_of_a_detached_task_still_run() {
    let told: Queue<u32> = Queue::new();
    let t = told.clone();
    let task = hub::spawn(|| 9);
    task.link(move |o| t.put(*o.as_ref().unwrap()));
    drop(task);
    assert_eq!(told.get(), 9);
}

/// Kill of an unstarted task runs its links with `Killed` (the task never ran).
#[test]
fn killing_an_unstarted_task_runs_its_links() {
    let seen = Rc::new(RefCell::new(None));
    let task = hub::spawn(|| 1);
    let s = seen.clone();
    task.rawlink(move |o| *s.borrow_mut() = Some(matches!(o, Err(JoinError::Killed))));
    task.kill();
    assert_eq!(*seen.borrow(), Some(true));
}

// --- test__event.py: TestAsyncResult.test_link / AsLinkTarget ----------------------

/// AsyncResult links: rawlink runs when it is set, link in a new task with a clone;
/// linked after it is set, they still run; unlink removes; each runs once.
#[test]
fn async_result_links_run_once_when_set() {
    let ar: AsyncResult<u8, String> = AsyncResult::new();
    let seen = log();
    let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
    ar.rawlink(move |r| a.borrow_mut().push(format!("raw {r:?}")));
    let gone = ar.rawlink(move |_| b.borrow_mut().push("unlinked".into()));
    ar.link(move |r| c.borrow_mut().push(format!("link {r:?}")));
    assert!(ar.unlink(gone));
    let setter = {
        let ar = ar.clone();
        hub::spawn(move || {
            ar.set_error("e".into());
            ar.set(1); // set again: links do not run again
        })
    };
    setter.join().unwrap();
    hub::sleep(Duration::ZERO);
    assert_eq!(*seen.borrow(), ["raw Err(\"e\")", "link Err(\"e\")"]);
    let d = seen.clone();
    ar.rawlink(move |r| d.borrow_mut().push(format!("late {r:?}")));
    assert_eq!(seen.borrow().last().unwrap(), "late Ok(1)");
}

/// TestAsyncResultAsLinkTarget: a task's rawlink sets an AsyncResult, and a task
/// waiting on it wakes with the value or the error.
#[test]
fn async_result_as_a_link_target() {
    let ar: AsyncResult<i32, String> = AsyncResult::new();
    let waiter = {
        let ar = ar.clone();
        hub::spawn(move || ar.get())
    };
    let task = hub::spawn(|| 1);
    let a = ar.clone();
    task.rawlink(move |o| match o {
        Ok(v) => a.set(*v),
        Err(e) => a.set_error(e.to_string()),
    });
    assert_eq!(waiter.join().unwrap(), Ok(1));
    let ar2: AsyncResult<i32, String> = AsyncResult::new();
    let failing = hub::spawn(|| -> i32 { panic!("x") });
    let a = ar2.clone();
    failing.rawlink(move |o| match o {
        Ok(v) => a.set(*v),
        Err(e) => a.set_error(e.panic_message().unwrap_or("").to_string()),
    });
    assert_eq!(ar2.get(), Err("x".to_string()));
}
