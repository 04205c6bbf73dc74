//! Process-shared synchronisation across real processes, under all three start methods,
//! plus owner death for locks and barriers.

mod common;

skein_process::test_support!();

use std::time::{Duration, Instant};

use common::{METHODS, asleep, eventually, start};
use skein_process::{
    Barrier, BoundedSemaphore, Condition, Event, GetTimeoutError, Lock, Process, Queue, RLock,
    RawValue, ReleaseError, Semaphore, StartMethod,
};

fn count_under_lock((lock, counter): (Lock, RawValue<u64>)) {
    for _ in 0..500 {
        let _g = lock.lock().unwrap();
        counter.set(counter.get() + 1);
    }
}

#[test]
fn lock_excludes_across_processes_under_every_start_method() {
    for method in METHODS {
        let lock = Lock::new().unwrap();
        let counter = RawValue::new(0u64).unwrap();
        let kids: Vec<_> = (0..2)
            .map(|_| start(method, count_under_lock, (lock.clone(), counter.clone())))
            .collect();
        count_under_lock((lock.clone(), counter.clone()));
        for k in kids {
            assert_eq!(k.join().unwrap(), 0, "{method:?}");
        }
        assert_eq!(counter.get(), 1500, "{method:?}");
        assert!(!lock.locked());
        assert_eq!(lock.release(), Err(ReleaseError::NotLocked));
    }
}

fn hold_rlock((lock, held, go): (RLock, Event, Event)) {
    lock.acquire().unwrap();
    lock.acquire().unwrap();
    held.set();
    go.wait();
    lock.release().unwrap();
    lock.release().unwrap();
}

#[test]
fn rlock_is_owned_by_one_thread_of_one_process() {
    for method in METHODS {
        let (lock, held, go) = (
            RLock::new().unwrap(),
            Event::new().unwrap(),
            Event::new().unwrap(),
        );
        let k = start(method, hold_rlock, (lock.clone(), held.clone(), go.clone()));
        held.wait();
        assert!(!lock.try_acquire().unwrap());
        assert_eq!(lock.release(), Err(ReleaseError::NotOwner));
        go.set();
        assert!(
            lock.acquire_timeout(Duration::from_secs(30)).unwrap(),
            "{method:?}"
        );
        assert_eq!(k.join().unwrap(), 0);
        lock.release().unwrap();
    }
}

fn release_three(sem: Semaphore) {
    for _ in 0..3 {
        sem.release();
    }
}

fn over_release(sem: BoundedSemaphore) {
    sem.acquire();
    sem.release().unwrap();
    assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
}

#[test]
fn semaphores_count_across_processes() {
    for method in METHODS {
        let sem = Semaphore::new(0).unwrap();
        assert!(!sem.try_acquire());
        let k = start(method, release_three, sem.clone());
        for _ in 0..3 {
            assert!(sem.acquire_timeout(Duration::from_secs(30)), "{method:?}");
        }
        assert_eq!(k.join().unwrap(), 0);
        assert!(!sem.acquire_timeout(Duration::from_millis(10)));

        let bounded = BoundedSemaphore::new(2).unwrap();
        assert_eq!(
            start(method, over_release, bounded.clone()).join().unwrap(),
            0
        );
        assert_eq!(bounded.value(), 2);
    }
}

#[test]
fn a_bounded_semaphore_of_zero_is_accepted_as_in_python() {
    let sem = BoundedSemaphore::new(0).unwrap();
    assert_eq!(sem.value(), 0);
    assert!(!sem.try_acquire());
    assert!(!sem.acquire_timeout(Duration::from_millis(10)));
    assert_eq!(sem.release(), Err(ReleaseError::TooManyReleases));
    assert_eq!(sem.value(), 0);
}

fn echo_event((ping, pong): (Event, Event)) {
    for _ in 0..50 {
        ping.wait();
        ping.clear();
        pong.set();
    }
}

#[test]
fn events_ping_pong_between_processes() {
    for method in METHODS {
        let (ping, pong) = (Event::new().unwrap(), Event::new().unwrap());
        let k = start(method, echo_event, (ping.clone(), pong.clone()));
        for _ in 0..50 {
            ping.set();
            assert!(pong.wait_timeout(Duration::from_secs(30)), "{method:?}");
            pong.clear();
        }
        assert_eq!(k.join().unwrap(), 0);
    }
}

fn wait_for_value((cond, value): (Condition, RawValue<u32>)) {
    cond.acquire().unwrap();
    cond.wait_for(|| value.get() == 7).unwrap();
    value.set(8);
    cond.notify_all().unwrap();
    cond.release().unwrap();
}

#[test]
fn condition_waits_and_notifies_across_processes() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let value = RawValue::new(0u32).unwrap();
        let k = start(method, wait_for_value, (cond.clone(), value.clone()));
        cond.acquire().unwrap();
        value.set(7);
        cond.notify_all().unwrap();
        let ok = cond
            .wait_for_timeout(|| value.get() == 8, Duration::from_secs(30))
            .unwrap();
        cond.release().unwrap();
        assert!(ok, "{method:?}");
        assert_eq!(k.join().unwrap(), 0);
    }
    let c = Condition::with_lock(Lock::new().unwrap()).unwrap();
    assert!(c.notify(1).is_err(), "notify without the lock");
    assert!(
        c.wait_timeout(Duration::from_millis(1)).is_err(),
        "wait without the lock"
    );
}

fn barrier_party((barrier, out): (Barrier, Queue<usize>)) {
    let idx = barrier.wait_timeout(Duration::from_secs(30)).unwrap();
    out.put(idx).unwrap();
}

#[test]
fn barrier_releases_all_parties_across_processes() {
    for method in METHODS {
        let barrier = Barrier::new(4).unwrap();
        let out = Queue::new().unwrap();
        let kids: Vec<_> = (0..3)
            .map(|_| start(method, barrier_party, (barrier.clone(), out.clone())))
            .collect();
        barrier_party((barrier.clone(), out.clone()));
        for k in kids {
            assert_eq!(k.join().unwrap(), 0, "{method:?}");
        }
        let mut idx: Vec<usize> = (0..4).map(|_| out.try_get().unwrap()).collect();
        idx.sort();
        assert_eq!(idx, [0, 1, 2, 3]);
        assert!(!barrier.broken());
    }
    assert!(Barrier::new(0).is_err());
}

fn wait_forever_at(barrier: Barrier) {
    let _ = barrier.wait();
}

#[test]
fn a_barrier_breaks_when_a_waiting_party_dies() {
    let barrier = Barrier::new(3).unwrap();
    let k = start(StartMethod::Fork, wait_forever_at, barrier.clone());
    assert!(eventually(Duration::from_secs(30), || barrier.n_waiting() == 1));
    k.kill().unwrap();
    k.join().unwrap();
    let t = Instant::now();
    assert!(barrier.wait_timeout(Duration::from_secs(60)).is_err());
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
    assert!(barrier.broken());
    barrier.reset();
    assert!(!barrier.broken());
}

fn take_and_vanish(lock: Lock) {
    std::mem::forget(lock.lock().unwrap());
    // exit holding the lock
}

fn take_and_hang((lock, held): (Lock, Event)) {
    std::mem::forget(lock.lock().unwrap());
    held.set();
    std::thread::sleep(Duration::from_secs(60));
}

fn expect_owner_died((lock, out, ready): (Lock, Queue<bool>, Event)) {
    ready.set();
    out.put(lock.acquire().is_err()).unwrap();
}

#[test]
fn a_lock_whose_owner_died_reports_owner_died() {
    for method in METHODS {
        let lock = Lock::new().unwrap();
        assert_eq!(
            start(method, take_and_vanish, lock.clone()).join().unwrap(),
            0
        );
        assert!(lock.locked());
        assert!(lock.acquire().is_err(), "{method:?}: expected OwnerDied");
        lock.release().unwrap();
        assert!(lock.acquire().is_ok());
        lock.release().unwrap();
    }
}

#[test]
fn a_waiter_sees_owner_died_when_the_holder_is_killed() {
    let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
    let out = Queue::new().unwrap();
    let holder = start(
        StartMethod::Fork,
        take_and_hang,
        (lock.clone(), held.clone()),
    );
    held.wait();
    let ready = Event::new().unwrap();
    let waiter = start(
        StartMethod::Forkserver,
        expect_owner_died,
        (lock.clone(), out.clone(), ready.clone()),
    );
    ready.wait();
    // Asleep after its report: waiting for the lock (it wakes now and then to check
    // the owner, so it may take a few polls to catch it asleep).
    assert!(
        eventually(Duration::from_secs(30), || asleep(waiter.pid())),
        "the waiter never blocked on the lock"
    );
    assert!(
        out.get_timeout(Duration::from_millis(100)).is_err(),
        "waiter did not wait"
    );
    holder.kill().unwrap();
    assert_eq!(holder.join().unwrap(), -9);
    assert_eq!(out.get_timeout(Duration::from_secs(30)), Ok(true));
    assert_eq!(waiter.join().unwrap(), 0);
}

fn rlock_vanish(lock: RLock) {
    lock.acquire().unwrap();
}

#[test]
fn an_rlock_whose_owner_died_reports_owner_died() {
    let lock = RLock::new().unwrap();
    assert_eq!(
        start(StartMethod::Spawn, rlock_vanish, lock.clone())
            .join()
            .unwrap(),
        0
    );
    assert!(lock.acquire().is_err());
    lock.release().unwrap();
    assert!(!lock.locked());
}

// ---- Barrier parity with skein-locks: action, default timeout, is_broken ----

/// One party of the action test: `inherit` means the handle came by Fork with the
/// action already on it; otherwise the child gives its handle the action itself.
fn action_party((mut barrier, runs, out, inherit): (Barrier, RawValue<u64>, Queue<u64>, bool)) {
    if !inherit {
        let runs = runs.clone();
        barrier.set_action(move || runs.set(runs.get() + 1));
    }
    for _ in 0..3 {
        barrier.wait_timeout(Duration::from_secs(30)).unwrap();
        out.put(runs.get()).unwrap();
    }
}

#[test]
fn barrier_action_runs_once_per_round_before_release_under_every_start_method() {
    for method in METHODS {
        let runs = RawValue::new(0u64).unwrap();
        let r = runs.clone();
        let barrier = Barrier::builder(4)
            .action(move || r.set(r.get() + 1))
            .build()
            .unwrap();
        let out = Queue::new().unwrap();
        let inherit = method == StartMethod::Fork;
        let kids: Vec<_> = (0..3)
            .map(|_| {
                let args = (barrier.clone(), runs.clone(), out.clone(), inherit);
                if inherit {
                    // a closure under Fork: the handle keeps its action with the memory
                    Process::from_closure(move || action_party(args))
                        .start()
                        .expect("start child")
                } else {
                    start(method, action_party, args)
                }
            })
            .collect();
        action_party((barrier.clone(), runs.clone(), out.clone(), true));
        for k in kids {
            assert_eq!(k.join().unwrap(), 0, "{method:?}");
        }
        assert_eq!(runs.get(), 3, "one run per round, {method:?}");
        let mut seen: Vec<u64> = (0..12).map(|_| out.try_get().unwrap()).collect();
        seen.sort();
        // every party of round r saw at least r runs: the action ran before release
        for (i, s) in seen.iter().enumerate() {
            assert!(*s > (i / 4) as u64, "{method:?}: {seen:?}");
        }
        assert!(!barrier.is_broken());
    }
}

fn arrive_last_without_action((barrier, out): (Barrier, Queue<bool>)) {
    assert!(eventually(Duration::from_secs(30), || barrier.n_waiting() == 1));
    out.put(barrier.wait_timeout(Duration::from_secs(30)).is_err())
        .unwrap();
}

#[test]
fn a_party_without_the_action_breaks_the_barrier_instead_of_skipping_it() {
    let barrier = Barrier::builder(2).action(|| {}).build().unwrap();
    let out = Queue::new().unwrap();
    let k = start(
        StartMethod::Spawn,
        arrive_last_without_action,
        (barrier.clone(), out.clone()),
    );
    assert!(barrier.wait_timeout(Duration::from_secs(60)).is_err());
    assert!(out.get().unwrap(), "the last party saw the barrier break");
    assert_eq!(k.join().unwrap(), 0);
    assert!(barrier.is_broken());
}

#[test]
fn a_panicking_action_breaks_the_barrier_and_panics_in_its_runner() {
    let barrier = Barrier::builder(2)
        .action(|| panic!("action fails"))
        .build()
        .unwrap();
    let b2 = barrier.clone();
    let first = std::thread::spawn(move || b2.wait_timeout(Duration::from_secs(30)));
    assert!(eventually(Duration::from_secs(30), || barrier.n_waiting() == 1));
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| barrier.wait()));
    assert!(ran.is_err(), "the action's panic continues in its runner");
    assert!(first.join().unwrap().is_err());
    assert!(barrier.is_broken());
    barrier.reset();
    assert!(!barrier.is_broken());
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn a_default_timeout_breaks_the_barrier() {
    let barrier = Barrier::builder(2)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    assert_eq!(barrier.timeout(), Some(Duration::from_millis(50)));
    let t = Instant::now();
    assert!(barrier.wait().is_err());
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(barrier.is_broken());
    assert!(barrier.broken());
    assert_eq!(Barrier::new(2).unwrap().timeout(), None);
}

fn enroll_then_stall((barrier, enrolled): (Barrier, Event)) {
    let _me = barrier.enroll().unwrap();
    enrolled.set();
    std::thread::sleep(Duration::from_secs(3600)); // killed before it ever arrives
}

#[test]
fn a_barrier_breaks_when_an_enrolled_party_dies_before_arriving() {
    for method in METHODS {
        let barrier = Barrier::new(3).unwrap();
        let enrolled = Event::new().unwrap();
        let k = start(
            method,
            enroll_then_stall,
            (barrier.clone(), enrolled.clone()),
        );
        assert!(enrolled.wait_timeout(Duration::from_secs(60)));
        let b2 = barrier.clone();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            (b2.wait_timeout(Duration::from_secs(60)), t.elapsed())
        });
        assert!(eventually(Duration::from_secs(30), || barrier.n_waiting() == 1));
        k.kill().unwrap();
        k.join().unwrap();
        let (got, took) = waiter.join().unwrap();
        assert!(got.is_err(), "{method:?}");
        assert!(took < Duration::from_secs(30), "{method:?}: took {took:?}");
        assert!(barrier.is_broken());
        barrier.reset(); // the death is accounted for: the barrier works again
        let b3 = barrier.clone();
        let other = std::thread::spawn(move || b3.wait_timeout(Duration::from_secs(30)));
        let b4 = barrier.clone();
        let third = std::thread::spawn(move || b4.wait_timeout(Duration::from_secs(30)));
        assert!(barrier.wait_timeout(Duration::from_secs(30)).is_ok());
        assert!(other.join().unwrap().is_ok() && third.join().unwrap().is_ok());
    }
}

fn enroll_and_leave(barrier: Barrier) {
    let me = barrier.enroll().unwrap();
    drop(me);
}

#[test]
fn a_party_that_left_its_enrollment_may_exit_without_breaking_the_barrier() {
    let barrier = Barrier::new(2).unwrap();
    let k = start(StartMethod::Forkserver, enroll_and_leave, barrier.clone());
    assert_eq!(k.join().unwrap(), 0);
    let t = Instant::now();
    // nobody else comes: only the timeout ends this wait, not a "death"
    assert!(barrier.wait_timeout(Duration::from_millis(300)).is_err());
    assert!(t.elapsed() >= Duration::from_millis(300));
    barrier.reset();
    let one = Barrier::new(1).unwrap();
    let _a = one.enroll().unwrap();
    assert!(one.enroll().is_err(), "more enrollments than parties");
}

// ---- Condition: exactly the notified waiters report `true` ----

fn timed_waiter((cond, ready, out): (Condition, Event, Queue<bool>)) {
    cond.acquire().unwrap();
    // Set while holding the lock: once the parent holds it, this waiter is inside
    // `wait_timeout` (the lock is released only there).
    ready.set();
    let notified = cond.wait_timeout(Duration::from_secs(2)).unwrap();
    cond.release().unwrap();
    out.put(notified).unwrap();
}

#[test]
fn notify_one_with_two_timed_waiters_makes_exactly_one_report_true() {
    for method in METHODS {
        let cond = Condition::new().unwrap();
        let out = Queue::new().unwrap();
        let readies = [Event::new().unwrap(), Event::new().unwrap()];
        let kids: Vec<_> = readies
            .iter()
            .map(|ready| {
                start(
                    method,
                    timed_waiter,
                    (cond.clone(), ready.clone(), out.clone()),
                )
            })
            .collect();
        for ready in &readies {
            assert!(ready.wait_timeout(Duration::from_secs(60)));
        }
        // Both have set their event holding the lock and release it only inside
        // `wait_timeout`: holding it now means both wait.
        cond.acquire().unwrap();
        cond.notify(1).unwrap();
        cond.release().unwrap();
        let mut got = [
            out.get_timeout(Duration::from_secs(60)).unwrap(),
            out.get_timeout(Duration::from_secs(60)).unwrap(),
        ];
        got.sort();
        assert_eq!(
            got,
            [false, true],
            "{method:?}: one notified, one timed out"
        );
        for k in kids {
            assert_eq!(k.join().unwrap(), 0);
        }
    }
}

#[test]
fn notify_all_wakes_every_waiter_of_a_condition_over_a_plain_lock() {
    let cond = Condition::with_lock(Lock::new().unwrap()).unwrap();
    let out = Queue::new().unwrap();
    let readies: Vec<Event> = (0..3).map(|_| Event::new().unwrap()).collect();
    let kids: Vec<_> = readies
        .iter()
        .map(|ready| {
            let k = start(
                StartMethod::Fork,
                timed_waiter,
                (cond.clone(), ready.clone(), out.clone()),
            );
            // One at a time, so that they wait in this order.
            assert!(ready.wait_timeout(Duration::from_secs(60)));
            cond.acquire().unwrap();
            cond.release().unwrap();
            k
        })
        .collect();
    cond.acquire().unwrap();
    cond.notify_all().unwrap();
    cond.release().unwrap();
    for _ in 0..3 {
        assert_eq!(out.get_timeout(Duration::from_secs(60)), Ok(true));
    }
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
}

fn hold_lock_until((lock, rlock, held, go): (Lock, RLock, Event, Event)) {
    lock.acquire().unwrap();
    rlock.acquire().unwrap();
    rlock.acquire().unwrap();
    held.set();
    go.wait();
    rlock.release().unwrap();
    rlock.release().unwrap();
    lock.release().unwrap();
}

/// Python's reprs name a lock's owner (`<Lock(owner=P1)>`, `<RLock(P1, 2)>`); here
/// `Debug` gives the owner's pid (a `Lock`) or thread id (an `RLock`) and the count.
#[test]
fn debug_of_a_lock_names_its_owner_and_an_rlock_its_count() {
    let (lock, rlock) = (Lock::new().unwrap(), RLock::new().unwrap());
    assert_eq!(format!("{lock:?}"), "Lock { owner: None }");
    assert_eq!(format!("{rlock:?}"), "RLock { owner: None, count: 0 }");
    lock.acquire().unwrap();
    assert_eq!(
        format!("{lock:?}"),
        format!("Lock {{ owner: Some({}) }}", std::process::id())
    );
    lock.release().unwrap();
    let (held, go) = (Event::new().unwrap(), Event::new().unwrap());
    let k = start(
        StartMethod::Fork,
        hold_lock_until,
        (lock.clone(), rlock.clone(), held.clone(), go.clone()),
    );
    assert!(held.wait_timeout(Duration::from_secs(60)));
    let pid = k.pid();
    assert_eq!(
        format!("{lock:?}"),
        format!("Lock {{ owner: Some({pid}) }}")
    );
    // The child's only thread is its main thread: its tid is its pid.
    assert_eq!(
        format!("{rlock:?}"),
        format!("RLock {{ owner: Some({pid}), count: 2 }}")
    );
    go.set();
    assert_eq!(k.join().unwrap(), 0);
    assert_eq!(format!("{lock:?}"), "Lock { owner: None }");
    assert_eq!(format!("{rlock:?}"), "RLock { owner: None, count: 0 }");
}

/// `acquire(timeout=0)`, `wait(0)` and the like answer at once: true when they can
/// proceed, false (not an error) when they cannot — a barrier's breaks it, as Python's.
#[test]
fn zero_timeouts_answer_at_once() {
    let zero = Duration::ZERO;
    let lock = Lock::new().unwrap();
    assert!(lock.acquire_timeout(zero).unwrap());
    assert!(!lock.acquire_timeout(zero).unwrap());
    assert!(!lock.acquire_deadline(Instant::now()).unwrap());
    lock.release().unwrap();
    let rlock = RLock::new().unwrap();
    assert!(rlock.acquire_timeout(zero).unwrap());
    assert!(rlock.acquire_timeout(zero).unwrap(), "reentrant");
    rlock.release().unwrap();
    rlock.release().unwrap();
    assert_eq!(rlock.release(), Err(ReleaseError::NotLocked));
    let sem = Semaphore::new(1).unwrap();
    assert!(sem.acquire_timeout(zero));
    assert!(!sem.acquire_timeout(zero));
    sem.release();
    sem.release();
    assert_eq!(
        sem.value(),
        2,
        "a plain Semaphore may go above its start value"
    );
    let event = Event::new().unwrap();
    assert!(!event.wait_timeout(zero));
    event.set();
    assert!(event.wait_timeout(zero));
    let cond = Condition::new().unwrap();
    cond.acquire().unwrap();
    assert_eq!(cond.wait_timeout(zero), Ok(false));
    assert_eq!(cond.wait_for_timeout(|| false, zero), Ok(false));
    assert_eq!(cond.wait_for_timeout(|| true, zero), Ok(true));
    cond.release().unwrap();
    let barrier = Barrier::new(2).unwrap();
    assert!(barrier.wait_timeout(zero).is_err());
    assert!(barrier.broken());
    assert_eq!(barrier.n_waiting(), 0);
    let one = Barrier::new(1).unwrap();
    assert_eq!(
        one.wait_timeout(zero),
        Ok(0),
        "a party of one passes at once"
    );
}

fn untimed_waiter((cond, ready, out): (Condition, Event, Queue<u8>)) {
    cond.acquire().unwrap();
    ready.set();
    cond.wait().unwrap();
    cond.release().unwrap();
    out.put(1).unwrap();
}

/// `notify(n)` wakes `n` waiters, no more; a larger `n` wakes those left; more
/// notifications with no waiter are no-ops (Python's `test_notify_n`).
#[test]
fn notify_n_wakes_n_waiters() {
    let cond = Condition::new().unwrap();
    let out = Queue::new().unwrap();
    let kids: Vec<_> = (0..4)
        .map(|_| {
            let ready = Event::new().unwrap();
            let k = start(
                StartMethod::Fork,
                untimed_waiter,
                (cond.clone(), ready.clone(), out.clone()),
            );
            assert!(ready.wait_timeout(Duration::from_secs(60)));
            k
        })
        .collect();
    // Each set its event holding the lock, released only inside `wait`.
    cond.acquire().unwrap();
    cond.notify(2).unwrap();
    cond.release().unwrap();
    for _ in 0..2 {
        assert_eq!(out.get_timeout(Duration::from_secs(60)), Ok(1));
    }
    assert_eq!(
        out.get_timeout(Duration::from_millis(200)),
        Err(GetTimeoutError::Timeout),
        "a third waiter woke"
    );
    cond.acquire().unwrap();
    cond.notify(10).unwrap();
    cond.release().unwrap();
    for _ in 0..2 {
        assert_eq!(out.get_timeout(Duration::from_secs(60)), Ok(1));
    }
    cond.acquire().unwrap();
    cond.notify(3).unwrap();
    cond.release().unwrap();
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert!(out.is_empty());
}

fn wait_and_report((barrier, out): (Barrier, Queue<String>)) {
    let r = barrier.wait_timeout(Duration::from_secs(60));
    out.put(format!("{r:?}")).unwrap();
}

/// `abort()` and `reset()` with parties waiting in other processes: they fail with
/// `BrokenBarrierError` and leave (`n_waiting` back to 0); an aborted barrier refuses
/// newcomers until `reset()`, after which it works again (Python's `test_abort`,
/// `test_reset`, `test_abort_and_reset`).
#[test]
fn abort_and_reset_free_waiting_parties_and_the_barrier_works_again() {
    let barrier = Barrier::new(3).unwrap();
    let out = Queue::new().unwrap();
    let broken = "Err(BrokenBarrierError)";
    for abort in [true, false] {
        let kids: Vec<_> = (0..2)
            .map(|_| {
                start(
                    StartMethod::Fork,
                    wait_and_report,
                    (barrier.clone(), out.clone()),
                )
            })
            .collect();
        assert!(eventually(Duration::from_secs(60), || barrier.n_waiting() == 2));
        if abort {
            barrier.abort();
        } else {
            barrier.reset();
        }
        for _ in 0..2 {
            assert_eq!(out.get_timeout(Duration::from_secs(60)).unwrap(), broken);
        }
        for k in kids {
            assert_eq!(k.join().unwrap(), 0);
        }
        assert_eq!(barrier.n_waiting(), 0, "abort: {abort}");
        assert_eq!(barrier.broken(), abort);
        if abort {
            assert!(barrier.wait_timeout(Duration::from_secs(5)).is_err());
            barrier.reset();
        }
        let kids: Vec<_> = (0..2)
            .map(|_| {
                start(
                    StartMethod::Fork,
                    wait_and_report,
                    (barrier.clone(), out.clone()),
                )
            })
            .collect();
        let mine = barrier.wait_timeout(Duration::from_secs(60)).unwrap();
        let mut idx = vec![mine];
        for _ in 0..2 {
            let s = out.get_timeout(Duration::from_secs(60)).unwrap();
            idx.push(
                s.trim_start_matches("Ok(")
                    .trim_end_matches(')')
                    .parse()
                    .unwrap(),
            );
        }
        idx.sort();
        assert_eq!(idx, [0, 1, 2]);
        for k in kids {
            assert_eq!(k.join().unwrap(), 0);
        }
    }
}

fn pass_and_report((barrier, lock, conn, passes): (Barrier, Lock, skein_process::Connection, u32)) {
    for i in 0..passes {
        barrier.wait_timeout(Duration::from_secs(60)).unwrap();
        let _g = lock.lock().unwrap();
        conn.send(&i).unwrap();
    }
}

/// Python's `test_thousand`: parties in four processes pass one barrier round after
/// round; every party's report of round `i` arrives before any of round `i + 1`.
#[test]
fn a_barrier_reused_for_many_rounds_keeps_the_rounds_apart() {
    const PARTIES: usize = 4;
    const PASSES: u32 = 500;
    let barrier = Barrier::new(PARTIES).unwrap();
    let lock = Lock::new().unwrap();
    let (here, there) = skein_process::pipe(false).unwrap();
    let kids: Vec<_> = (0..PARTIES)
        .map(|_| {
            start(
                StartMethod::Fork,
                pass_and_report,
                (
                    barrier.clone(),
                    lock.clone(),
                    there.try_clone().unwrap(),
                    PASSES,
                ),
            )
        })
        .collect();
    drop(there);
    for i in 0..PASSES {
        for _ in 0..PARTIES {
            assert_eq!(
                here.recv_timeout::<u32>(Duration::from_secs(60)).unwrap(),
                i
            );
        }
    }
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert!(!barrier.broken());
}
