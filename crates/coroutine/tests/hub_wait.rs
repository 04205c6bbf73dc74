//! gevent's `gevent.wait(objects, timeout, count)`, `gevent.iwait(objects, timeout)`
//! and `joinall(greenlets, timeout, raise_error, count)`, after gevent's own tests
//! (`test__greenlet.py` test_wait_error, test_joinall_exception_order,
//! test_joinall_count_raise_error; `test__event.py` TestWait*; `test__joinall.py`).
//! Interleavings are forced with `Event` gates and `sleep(ZERO)` (FIFO ready queue);
//! time appears only as timeouts and generous deadlines.

use std::time::{Duration, Instant};

use skein_coroutine::hub::{self, AsyncResult, Event, JoinAll, Waitable};

fn forever() {
    loop {
        hub::sleep(Duration::from_millis(50));
    }
}

// --- joinall ----------------------------------------------------------------------

/// test_wait_error: joinall(raise_error=True) stops at the failed task, also when it
/// had failed before the call; the other task goes on.
#[test]
fn joinall_raise_error_reports_the_failed_task() {
    let gate = Event::new();
    let x = {
        let gate = gate.clone();
        hub::spawn(move || {
            gate.wait();
            1
        })
    };
    let y = hub::spawn(|| -> i32 { panic!("test_wait_error") });
    let both = [x, y];
    let err = JoinAll::new().raise_error(true).wait(&both).unwrap_err();
    assert_eq!(err.failed, 1);
    assert_eq!(err.done, [1]);
    assert!(err.to_string().contains("test_wait_error"), "{err}");
    assert!(!both[0].is_finished());
    // Already failed at the call: reported at once.
    let err = JoinAll::new()
        .raise_error(true)
        .wait(&both[1..])
        .unwrap_err();
    assert_eq!(err.failed, 0);
    gate.set();
    let [x, y] = both;
    assert_eq!(x.join().unwrap(), 1);
    assert!(y.join().unwrap_err().is_panic());
}

/// test_joinall_exception_order: of several failures, the first to happen is
/// reported, not the first in the list.
#[test]
fn joinall_raise_error_reports_the_earliest_failure() {
    let gate = Event::new();
    let a = {
        let gate = gate.clone();
        hub::spawn(move || {
            gate.wait();
            panic!("first")
        })
    };
    let b = hub::spawn(|| panic!("second"));
    let opener = {
        let gate = gate.clone();
        hub::spawn(move || {
            hub::sleep(Duration::ZERO);
            gate.set();
        })
    };
    let tasks = [a, b];
    let err = JoinAll::new().raise_error(true).wait(&tasks).unwrap_err();
    assert_eq!(err.failed, 1);
    assert!(err.to_string().contains("second"), "{err}");
    // Without raise_error every task is waited for, in the order they finished.
    assert_eq!(JoinAll::new().wait(&tasks).unwrap(), [1, 0]);
    opener.join().unwrap();
}

/// test_joinall_count_raise_error: `count` works without raise_error: the failing
/// task counts as finished and the sleeper keeps running.
#[test]
fn joinall_count_returns_after_that_many() {
    let sleeper = hub::spawn(forever);
    let raiser = hub::spawn(|| panic!("count"));
    let tasks = [sleeper, raiser];
    assert_eq!(JoinAll::new().count(1).wait(&tasks).unwrap(), [1]);
    assert!(tasks[1].is_finished());
    assert!(!tasks[0].is_finished());
    tasks[0].kill();
    assert!(tasks[0].is_finished());
}

/// joinall(timeout): what finished in time comes back, the rest keep running; a kill
/// is not a raise_error failure (gevent's GreenletExit is not an error); count 0 and
/// an empty list return at once.
#[test]
fn joinall_timeout_kills_and_empty_lists() {
    let slow = hub::spawn(forever);
    let quick = hub::spawn(|| ());
    let doomed = hub::spawn(forever);
    let tasks = [slow, quick, doomed];
    let started = Instant::now();
    let done = JoinAll::new()
        .timeout(Duration::from_millis(20))
        .raise_error(true)
        .wait(&tasks)
        .unwrap();
    assert_eq!(done, [1]);
    assert!(started.elapsed() >= Duration::from_millis(20));
    tasks[2].kill();
    let done = JoinAll::new()
        .timeout(Duration::from_millis(5))
        .raise_error(true)
        .wait(&tasks)
        .unwrap();
    assert_eq!(done, [1, 2], "a killed task is finished, not failed");
    assert_eq!(
        JoinAll::new().count(0).wait(&tasks).unwrap(),
        Vec::<usize>::new()
    );
    let none: [hub::JoinHandle<()>; 0] = [];
    assert_eq!(JoinAll::new().wait(&none).unwrap(), Vec::<usize>::new());
    tasks[0].kill();
}

// --- gevent.wait / iwait -----------------------------------------------------------

/// TestWait: iwait yields tasks, events and async results in the order they became
/// ready, not in the order of the list.
#[test]
fn iwait_yields_objects_in_the_order_they_became_ready() {
    let e0 = Event::new();
    let e1 = Event::new();
    let ar: AsyncResult<u8, ()> = AsyncResult::new();
    let gate = Event::new();
    let task = {
        let gate = gate.clone();
        hub::spawn(move || gate.wait())
    };
    let director = {
        let (e0, e1, ar, gate) = (e0.clone(), e1.clone(), ar.clone(), gate.clone());
        hub::spawn(move || {
            e1.set();
            hub::sleep(Duration::ZERO);
            ar.set(7);
            hub::sleep(Duration::ZERO);
            gate.set(); // the task ends
            hub::sleep(Duration::ZERO);
            e0.set();
        })
    };
    let objects: [&dyn Waitable; 4] = [&e0, &task, &e1, &ar];
    let order: Vec<usize> = hub::iwait(&objects, None).collect();
    assert_eq!(order, [2, 3, 1, 0]);
    director.join().unwrap();
}

/// Objects ready at the call come first, in list order.
#[test]
fn objects_ready_at_the_call_come_first_in_list_order() {
    let a = Event::new();
    let b = Event::new();
    let c = Event::new();
    c.set();
    a.set();
    let setter = {
        let b = b.clone();
        hub::spawn(move || b.set())
    };
    let order: Vec<usize> = hub::iwait(&[a, b, c], None).collect();
    assert_eq!(order, [0, 2, 1]);
    setter.join().unwrap();
}

/// TestWait_count1/count2, TestWait_timeout: wait(objects, count) returns after that
/// many; with a timeout, what was ready in time.
#[test]
fn wait_ready_with_count_and_timeout() {
    let events: Vec<Event> = (0..3).map(|_| Event::new()).collect();
    let setter = {
        let events = events.clone();
        hub::spawn(move || {
            events[1].set();
            hub::sleep(Duration::ZERO);
            events[0].set();
        })
    };
    assert_eq!(hub::wait_ready(&events, Some(1), None), [1]);
    // events[1] is ready at the call, so it comes first; events[0] is set after.
    assert_eq!(hub::wait_ready(&events, Some(2), None), [1, 0]);
    let started = Instant::now();
    let ready = hub::wait_ready(&events, None, Some(Duration::from_millis(10)));
    assert_eq!(ready, [0, 1]);
    assert!(started.elapsed() >= Duration::from_millis(10));
    assert_eq!(hub::wait_ready(&events, Some(0), None), Vec::<usize>::new());
    assert_eq!(
        hub::wait_ready(&events, Some(9), Some(Duration::ZERO)),
        [0, 1]
    );
    setter.join().unwrap();
}

/// In the main context, when nothing could ever make another object ready (gevent's
/// LoopExit), iwait ends with what it has instead of hanging.
#[test]
fn iwait_in_the_main_context_ends_when_nothing_can_happen() {
    let never = Event::new();
    let done = hub::spawn(|| ());
    let objects: [&dyn Waitable; 2] = [&never, &done];
    assert_eq!(hub::iwait(&objects, None).collect::<Vec<_>>(), [1]);
}

/// A task waiting in iwait can be killed; the iwait's callbacks go away with it and a
/// later `set` runs no stale callback.
#[test]
fn a_task_killed_inside_iwait_leaves_nothing_behind() {
    let e = Event::new();
    let waiter = {
        let e = e.clone();
        hub::spawn(move || hub::iwait(&[e], None).count())
    };
    hub::sleep(Duration::ZERO);
    waiter.kill();
    assert!(waiter.join().unwrap_err().is_killed());
    e.set();
    assert!(e.is_set());
    // Early drop: the iterator's callbacks are removed, the event works as before.
    let f = Event::new();
    drop(hub::iwait(std::slice::from_ref(&f), None));
    let setter = {
        let f = f.clone();
        hub::spawn(move || f.set())
    };
    assert!(f.wait());
    setter.join().unwrap();
}

/// A task's own `TaskRef`s and handles of the same task mix in one wait; the main
/// context's `TaskRef` is never ready.
#[test]
fn task_refs_can_be_waited_on() {
    let t = hub::spawn(|| 5);
    let r = t.task();
    let main = hub::getcurrent();
    let ready = hub::wait_ready(&[r, main], None, Some(Duration::from_millis(5)));
    assert_eq!(ready, [0]);
    assert_eq!(t.join().unwrap(), 5);
}
