//! The hub's scheduler: fairness, timers, join/joinall, kill, timeouts, panics.
//! Orderings are checked by the sequence of events, never by how long something took
//! (the only time assertions are generous lower bounds on sleeps).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use skein_coroutine::hub::{self, JoinError};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn sleep_zero_interleaves_tasks_round_robin() {
    let log = log();
    let tasks: Vec<_> = (0..3)
        .map(|t| {
            let log = log.clone();
            hub::spawn(move || {
                for i in 0..4 {
                    log.borrow_mut().push(format!("{t}:{i}"));
                    hub::sleep(Duration::ZERO);
                }
            })
        })
        .collect();
    hub::joinall(&tasks);
    let expected: Vec<String> = (0..4)
        .flat_map(|i| (0..3).map(move |t| format!("{t}:{i}")))
        .collect();
    assert_eq!(*log.borrow(), expected);
}

#[test]
fn spawn_runs_nothing_until_the_main_context_blocks() {
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    let task = hub::spawn(move || *r.borrow_mut() = true);
    assert!(!*ran.borrow());
    assert!(!task.is_finished());
    task.join().unwrap();
    assert!(*ran.borrow());
}

#[test]
fn main_context_sleep_zero_lets_ready_tasks_run_once() {
    let log = log();
    let l = log.clone();
    let task = hub::spawn(move || {
        l.borrow_mut().push("a".into());
        hub::sleep(Duration::ZERO);
        l.borrow_mut().push("b".into());
    });
    hub::sleep(Duration::ZERO);
    assert_eq!(*log.borrow(), ["a"]);
    task.join().unwrap();
    assert_eq!(*log.borrow(), ["a", "b"]);
}

#[test]
fn join_returns_the_value_and_getcurrent_names_the_task() {
    let t = hub::Builder::new()
        .name("adder")
        .spawn(|| (hub::getcurrent().name(), 2 + 2));
    assert_eq!(t.name(), "adder");
    assert_eq!(t.join().unwrap(), ("adder".to_string(), 4));
    let main = hub::getcurrent();
    assert!(main.is_main());
    assert_eq!(main.name(), "main");
    let plain = hub::spawn(|| hub::getcurrent().to_string());
    let id = plain.id();
    assert_eq!(plain.join().unwrap(), format!("<Greenlet \"task-{id}\">"));
}

#[test]
fn timers_fire_in_deadline_order() {
    // Every task sleeps until `base + ms`: one shared base, so how far apart the tasks
    // start does not matter. Each timer is set a little after its task reads the clock;
    // a last task, run after every other one has set its timer, bounds that slip. A
    // round whose slip reached the smallest gap between two deadlines (5 ms: the thread
    // was descheduled that long) proves nothing about the timers and is run again.
    const MIN_GAP: Duration = Duration::from_millis(5);
    for _round in 0..100 {
        let log = log();
        let base = Instant::now();
        let delays = [30u64, 10, 20, 0, 25, 5];
        let mut tasks: Vec<_> = delays
            .iter()
            .map(|&ms| {
                let log = log.clone();
                let deadline = base + Duration::from_millis(ms);
                hub::spawn(move || {
                    hub::sleep(deadline.saturating_duration_since(Instant::now()));
                    log.borrow_mut().push(ms.to_string());
                })
            })
            .collect();
        let all_set = Rc::new(std::cell::Cell::new(None));
        let a = all_set.clone();
        tasks.push(hub::spawn(move || a.set(Some(Instant::now()))));
        hub::joinall(&tasks);
        let slip = all_set.get().expect("the last task ran") - base;
        if slip < MIN_GAP {
            assert_eq!(*log.borrow(), ["0", "5", "10", "20", "25", "30"]);
            return;
        }
    }
    panic!("in 100 rounds, setting six timers always took longer than {MIN_GAP:?}");
}

#[test]
fn spawn_later_runs_in_deadline_order_and_kill_cancels_it() {
    // The delays count from each call: a round in which the second call came 20 ms or
    // more after the first (the thread was descheduled that long) has its deadlines in
    // the other order and proves nothing; it is run again.
    for _round in 0..100 {
        let log = log();
        let start = Instant::now();
        let mk = |ms: u64| {
            let log = log.clone();
            hub::spawn_later(Duration::from_millis(ms), move || {
                log.borrow_mut().push(ms.to_string())
            })
        };
        let late = mk(30);
        let early = mk(10);
        let in_order = start.elapsed() < Duration::from_millis(20);
        let cancelled = mk(20);
        cancelled.kill();
        assert!(cancelled.is_finished());
        assert!(matches!(cancelled.join(), Err(JoinError::Killed)));
        early.join().unwrap();
        late.join().unwrap();
        assert!(start.elapsed() >= Duration::from_millis(30));
        if in_order {
            assert_eq!(*log.borrow(), ["10", "30"]);
            return;
        }
    }
    panic!("in 100 rounds, two spawn_later calls were always 20 ms or more apart");
}

#[test]
fn sleep_lasts_at_least_its_duration() {
    let start = Instant::now();
    hub::sleep(Duration::from_millis(20));
    assert!(start.elapsed() >= Duration::from_millis(20));
    let t = hub::spawn(|| {
        let start = Instant::now();
        hub::sleep(Duration::from_millis(20));
        start.elapsed()
    });
    assert!(t.join().unwrap() >= Duration::from_millis(20));
}

#[test]
fn joinall_timeout_returns_with_the_slow_task_still_running() {
    let quick: Vec<_> = (0..3).map(|i| hub::spawn(move || i)).collect();
    let gate = hub::Event::new();
    let g = gate.clone();
    let slow = hub::spawn(move || {
        g.wait();
        99
    });
    let mut all = quick;
    all.push(slow);
    assert_eq!(hub::joinall_timeout(&all, Duration::from_millis(20)), 3);
    assert!(!all[3].is_finished());
    gate.set();
    assert_eq!(hub::joinall_timeout(&all, Duration::from_secs(60)), 4);
    let values: Vec<i32> = all.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(values, [0, 1, 2, 99]);
}

#[test]
fn wait_timeout_on_a_handle() {
    let t = hub::spawn(|| hub::sleep(Duration::from_secs(60)));
    assert!(!t.wait_timeout(Duration::from_millis(5)));
    t.kill();
    assert!(t.wait_timeout(Duration::ZERO));
}

struct Flag(Rc<RefCell<bool>>);
impl Drop for Flag {
    fn drop(&mut self) {
        *self.0.borrow_mut() = true;
    }
}

#[test]
fn kill_unwinds_a_parked_task_and_runs_its_destructors() {
    let dropped = Rc::new(RefCell::new(false));
    let after = Rc::new(RefCell::new(false));
    let (d, a) = (dropped.clone(), after.clone());
    let t = hub::spawn(move || {
        let _flag = Flag(d);
        hub::sleep(Duration::from_secs(3600));
        *a.borrow_mut() = true;
    });
    hub::sleep(Duration::ZERO); // let it start and park
    assert!(!t.is_finished());
    t.kill();
    assert!(t.is_finished());
    assert!(*dropped.borrow());
    assert!(!*after.borrow());
    assert!(t.join().unwrap_err().is_killed());
}

#[test]
fn kill_of_a_task_that_never_started_drops_its_closure() {
    let dropped = Rc::new(RefCell::new(false));
    let flag = Flag(dropped.clone());
    let t = hub::spawn(move || {
        let _f = &flag;
        unreachable!("killed before it ran");
    });
    t.kill();
    assert!(*dropped.borrow());
    assert!(t.join().unwrap_err().is_killed());
}

#[test]
fn a_task_can_kill_itself_and_killall_stops_many() {
    let t = hub::spawn(|| {
        hub::getcurrent().kill_nowait();
        unreachable!("killed itself");
    });
    assert!(t.join().unwrap_err().is_killed());
    let many: Vec<_> = (0..10)
        .map(|_| hub::spawn(|| hub::sleep(Duration::from_secs(3600))))
        .collect();
    hub::sleep(Duration::ZERO);
    hub::killall(&many);
    assert!(many.iter().all(|t| t.is_finished()));
    assert_eq!(hub::live_tasks(), 0);
}

#[test]
fn a_panic_fails_only_its_own_task() {
    let bad = hub::Builder::new()
        .name("bad")
        .spawn(|| -> u32 { panic!("boom") });
    let good = hub::spawn(|| {
        hub::sleep(Duration::ZERO);
        7
    });
    let err = bad.join().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom"));
    assert!(err.to_string().contains("'bad'"), "{err}");
    assert_eq!(good.join().unwrap(), 7);
    // The hub keeps working.
    assert_eq!(hub::spawn(|| 1).join().unwrap(), 1);
}

#[test]
fn with_timeout_interrupts_a_wait_and_leaves_fast_code_alone() {
    let dropped = Rc::new(RefCell::new(false));
    let d = dropped.clone();
    let t = hub::spawn(move || {
        hub::with_timeout(Duration::from_millis(10), move || {
            let _flag = Flag(d);
            hub::sleep(Duration::from_secs(3600));
        })
    });
    let err = t.join().unwrap().unwrap_err();
    assert_eq!(err.duration(), Duration::from_millis(10));
    assert!(*dropped.borrow());
    // From the main context too, and a scope that finishes in time returns its value.
    assert!(
        hub::with_timeout(Duration::from_millis(5), || hub::sleep(
            Duration::from_secs(3600)
        ))
        .is_err()
    );
    assert_eq!(hub::with_timeout(Duration::from_secs(3600), || 5), Ok(5));
}

#[test]
fn nested_timeouts_the_outer_one_wins_when_it_fires_first() {
    let r = hub::with_timeout(Duration::from_millis(10), || {
        hub::with_timeout(Duration::from_secs(3600), || {
            hub::sleep(Duration::from_secs(3600))
        })
    });
    assert!(r.is_err(), "outer scope fired: {r:?}");
    let r = hub::with_timeout(Duration::from_secs(3600), || {
        hub::with_timeout(Duration::from_millis(10), || {
            hub::sleep(Duration::from_secs(3600))
        })
    });
    assert!(matches!(r, Ok(Err(_))), "inner scope fired: {r:?}");
}

#[test]
fn joining_itself_is_an_error_and_a_hopeless_join_is_reported() {
    // A task receives its own handle through a queue and joins it.
    let out = Rc::new(std::cell::Cell::new(None));
    let q: hub::Queue<hub::JoinHandle<()>> = hub::Queue::new();
    let (q2, o) = (q.clone(), out.clone());
    let me = hub::spawn(move || {
        let handle = q2.get();
        o.set(Some(matches!(handle.join(), Err(JoinError::JoinSelf))));
    });
    q.put(me);
    assert!(hub::wait());
    assert_eq!(out.get(), Some(true));

    let gate = hub::Event::new();
    let g = gate.clone();
    let stuck = hub::spawn(move || g.wait());
    assert!(matches!(stuck.join(), Err(JoinError::WouldBlockForever)));
}

#[test]
fn run_and_wait_enter_the_hub() {
    let total = hub::run(|| {
        let parts: Vec<_> = (1..=4).map(|i| hub::spawn(move || i)).collect();
        parts.into_iter().map(|p| p.join().unwrap()).sum::<i32>()
    });
    assert_eq!(total.unwrap(), 10);
    let log = log();
    for i in 0..3 {
        let log = log.clone();
        let _detached = hub::spawn_later(Duration::from_millis(i), move || {
            log.borrow_mut().push(i.to_string())
        });
    }
    assert!(hub::wait());
    assert_eq!(log.borrow().len(), 3);
    assert_eq!(hub::live_tasks(), 0);
}

#[test]
fn spawn_and_join_100k_tasks() {
    const N: usize = 100_000;
    let tasks: Vec<_> = (0..N).map(|i| hub::spawn(move || i)).collect();
    let sum: usize = tasks.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(hub::live_tasks(), 0);
}

#[test]
fn tasks_capture_non_send_values() {
    // Spawning never requires Send: the task stays on this thread.
    let rc = Rc::new(5);
    let t = hub::spawn(move || *rc + 1);
    assert_eq!(t.join().unwrap(), 6);
}
