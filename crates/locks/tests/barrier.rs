//! `Barrier`: indices across rounds, action, abort, reset, timeouts breaking it for all.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{Barrier, BarrierWaitError, Event};

fn until_waiting(b: &Barrier, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while b.n_waiting() < n {
        assert!(Instant::now() < deadline, "parties never arrived");
        thread::yield_now();
    }
}

#[test]
fn zero_parties_is_an_error() {
    let err = Barrier::new(0).unwrap_err();
    assert_eq!(err.to_string(), "a barrier needs at least one party");
    assert!(Barrier::builder(0).action(|| ()).build().is_err());
    let one = Barrier::new(1).unwrap();
    assert_eq!(one.wait(), Ok(0));
    assert_eq!(one.parties(), 1);
}

#[test]
fn indices_are_unique_in_every_round_and_the_action_runs_once_per_round() {
    const PARTIES: usize = 4;
    const ROUNDS: usize = 300;
    let actions = std::sync::Arc::new(AtomicUsize::new(0));
    let b = {
        let actions = actions.clone();
        Barrier::builder(PARTIES)
            .action(move || {
                actions.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap()
    };
    let seen: Vec<Mutex<Vec<usize>>> = (0..ROUNDS).map(|_| Mutex::new(Vec::new())).collect();
    thread::scope(|s| {
        for _ in 0..PARTIES {
            s.spawn(|| {
                for round in seen.iter() {
                    let i = b.wait().unwrap();
                    round.lock().unwrap().push(i);
                }
            });
        }
    });
    for (r, round) in seen.iter().enumerate() {
        let set: HashSet<usize> = round.lock().unwrap().iter().copied().collect();
        assert_eq!(set, (0..PARTIES).collect(), "round {r}");
    }
    assert_eq!(actions.load(Ordering::SeqCst), ROUNDS);
    assert!(!b.is_broken());
}

#[test]
fn abort_breaks_it_for_waiters_and_later_callers_until_reset() {
    let b = Barrier::new(3).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        for _ in 0..2 {
            let (b, tx) = (&b, tx.clone());
            s.spawn(move || tx.send(b.wait()).unwrap());
        }
        until_waiting(&b, 2);
        b.abort();
        for _ in 0..2 {
            assert_eq!(rx.recv().unwrap(), Err(BarrierWaitError::Broken));
        }
    });
    assert!(b.is_broken());
    assert_eq!(b.wait(), Err(BarrierWaitError::Broken));
    b.reset();
    assert!(!b.is_broken());
    thread::scope(|s| {
        let h1 = s.spawn(|| b.wait());
        let h2 = s.spawn(|| b.wait());
        let mine = b.wait().unwrap();
        let mut all = vec![
            mine,
            h1.join().unwrap().unwrap(),
            h2.join().unwrap().unwrap(),
        ];
        all.sort();
        assert_eq!(all, vec![0, 1, 2]);
    });
}

#[test]
fn reset_breaks_current_waiters_and_leaves_it_usable() {
    let b = Barrier::new(2).unwrap();
    thread::scope(|s| {
        let h = s.spawn(|| b.wait());
        until_waiting(&b, 1);
        b.reset();
        assert_eq!(h.join().unwrap(), Err(BarrierWaitError::Broken));
    });
    assert!(!b.is_broken());
    assert_eq!(b.n_waiting(), 0);
    thread::scope(|s| {
        let h = s.spawn(|| b.wait());
        let mine = b.wait().unwrap();
        assert_eq!(mine + h.join().unwrap().unwrap(), 1);
    });
}

#[test]
fn a_timeout_breaks_the_barrier_for_all() {
    let b = Barrier::new(3).unwrap();
    thread::scope(|s| {
        let other = s.spawn(|| b.wait());
        until_waiting(&b, 1);
        let t = Duration::from_millis(30);
        let start = Instant::now();
        assert_eq!(b.wait_timeout(t), Err(BarrierWaitError::TimedOut));
        let took = start.elapsed();
        assert!(took >= t && took < t + Duration::from_secs(5), "{took:?}");
        assert_eq!(other.join().unwrap(), Err(BarrierWaitError::Broken));
    });
    assert!(b.is_broken());
    assert_eq!(b.wait(), Err(BarrierWaitError::Broken));
}

#[test]
fn the_builder_timeout_applies_to_wait() {
    let b = Barrier::builder(2)
        .timeout(Duration::from_millis(20))
        .build()
        .unwrap();
    let start = Instant::now();
    assert_eq!(b.wait(), Err(BarrierWaitError::TimedOut));
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert!(format!("{b:?}").contains("broken: true"));
}

#[test]
fn a_panicking_action_breaks_the_barrier() {
    let b = Barrier::builder(2)
        .action(|| panic!("action failed"))
        .build()
        .unwrap();
    thread::scope(|s| {
        let h = s.spawn(|| b.wait());
        until_waiting(&b, 1);
        assert_eq!(b.wait(), Err(BarrierWaitError::ActionPanicked));
        assert_eq!(h.join().unwrap(), Err(BarrierWaitError::Broken));
    });
    assert!(b.is_broken());
}

#[test]
fn stress_many_rounds_with_timeouts_that_never_fire() {
    let b = Barrier::new(3).unwrap();
    thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    b.wait_timeout(Duration::from_secs(60)).unwrap();
                }
            });
        }
    });
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn the_action_may_read_the_barrier_state() {
    let seen = std::sync::Arc::new(Mutex::new(None));
    let b = std::sync::Arc::new_cyclic(|weak: &std::sync::Weak<Barrier>| {
        let (weak, seen) = (weak.clone(), seen.clone());
        Barrier::builder(2)
            .action(move || {
                let b = weak.upgrade().unwrap();
                *seen.lock().unwrap() = Some((b.n_waiting(), b.is_broken()));
            })
            .build()
            .unwrap()
    });
    thread::scope(|s| {
        s.spawn(|| b.wait().unwrap());
        b.wait().unwrap();
    });
    assert_eq!(*seen.lock().unwrap(), Some((2, false)));
}

#[test]
fn a_one_party_barrier_passes_every_time_and_the_last_arrival_never_times_out() {
    // CPython BarrierTests.test_single_thread, and the last arrival of a round does not wait
    // at all, so even a zero timeout lets it through.
    let b = Barrier::new(1).unwrap();
    for _ in 0..3 {
        assert_eq!(b.wait(), Ok(0));
    }
    assert_eq!(b.wait_timeout(Duration::ZERO), Ok(0));
    assert_eq!(b.wait_deadline(Instant::now()), Ok(0));
    assert!(!b.is_broken());
    // A party that is not the last one with no time left times out, and breaks it.
    let two = Barrier::new(2).unwrap();
    assert_eq!(
        two.wait_timeout(Duration::ZERO),
        Err(BarrierWaitError::TimedOut)
    );
    assert!(two.is_broken());
    assert_eq!(two.n_waiting(), 0);
}

#[test]
fn the_action_has_run_before_any_party_is_released() {
    // CPython BarrierTests.test_action: every party sees the action's effect of its round.
    const PARTIES: usize = 5;
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let b = {
        let runs = runs.clone();
        Barrier::builder(PARTIES)
            .action(move || {
                runs.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap()
    };
    thread::scope(|s| {
        for _ in 0..PARTIES {
            s.spawn(|| {
                for round in 1..=20 {
                    b.wait().unwrap();
                    let seen = runs.load(Ordering::SeqCst);
                    // The action of this round ran (two rounds per loop); the next
                    // round's cannot have, as this party has not arrived there yet.
                    assert_eq!(seen, 2 * round - 1);
                    b.wait().unwrap();
                }
            });
        }
    });
    assert_eq!(runs.load(Ordering::SeqCst), 40);
}

#[test]
fn the_action_may_format_the_barrier() {
    // Python's action may call repr(barrier); here Debug from the action must not block on
    // the barrier's own state (it runs while the round is being closed).
    let (tx, rx) = mpsc::channel();
    let b = std::sync::Arc::new_cyclic(|weak: &std::sync::Weak<Barrier>| {
        let weak = weak.clone();
        let tx = Mutex::new(tx);
        Barrier::builder(2)
            .action(move || {
                let b = weak.upgrade().unwrap();
                tx.lock().unwrap().send(format!("{b:?}")).unwrap();
            })
            .build()
            .unwrap()
    });
    // Detached threads, so a regression fails the test instead of hanging it.
    let other = {
        let b = b.clone();
        thread::spawn(move || b.wait())
    };
    let mine = {
        let b = b.clone();
        thread::spawn(move || b.wait())
    };
    let shown = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("Debug inside the action blocked");
    assert!(shown.contains("parties: 2"), "{shown}");
    assert!(shown.contains("broken: false"), "{shown}");
    let mut got = vec![
        other.join().unwrap().unwrap(),
        mine.join().unwrap().unwrap(),
    ];
    got.sort();
    assert_eq!(got, vec![0, 1]);
}

#[test]
fn debug_shows_waiters_and_broken() {
    // CPython BarrierTests.test_repr: waiters=0/3, then 2/3 while two wait, then broken.
    let b = Barrier::new(3).unwrap();
    let shown = format!("{b:?}");
    assert!(
        shown.contains("parties: 3") && shown.contains("n_waiting: 0"),
        "{shown}"
    );
    thread::scope(|s| {
        let hs: Vec<_> = (0..2).map(|_| s.spawn(|| b.wait())).collect();
        until_waiting(&b, 2);
        let shown = format!("{b:?}");
        assert!(shown.contains("n_waiting: 2"), "{shown}");
        b.wait().unwrap();
        for h in hs {
            h.join().unwrap().unwrap();
        }
    });
    assert!(format!("{b:?}").contains("n_waiting: 0"));
    b.abort();
    assert!(format!("{b:?}").contains("broken: true"));
}

#[test]
fn a_reset_by_one_party_frees_the_others_and_all_pass_again() {
    // CPython BarrierTests.test_reset: after a first round, one party waits until the others
    // wait in the second round and resets; they get Broken; then all meet once more.
    const N: usize = 5;
    let b = Barrier::new(N).unwrap();
    let broken = AtomicUsize::new(0);
    let passed_second = AtomicUsize::new(0);
    let passed_third = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| {
                let i = b.wait().unwrap();
                if i == N / 2 {
                    until_waiting(&b, N - 1);
                    b.reset();
                } else {
                    match b.wait() {
                        Ok(_) => passed_second.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            assert_eq!(e, BarrierWaitError::Broken);
                            broken.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
                b.wait_timeout(Duration::from_secs(20)).unwrap();
                passed_third.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(passed_second.load(Ordering::SeqCst), 0);
    assert_eq!(broken.load(Ordering::SeqCst), N - 1);
    assert_eq!(passed_third.load(Ordering::SeqCst), N);
}

#[test]
fn an_abort_by_one_party_then_a_reset_lets_all_pass_again() {
    // CPython BarrierTests.test_abort / test_abort_and_reset: one party aborts after the
    // first round; the others' second wait is Broken; a second barrier orders a reset;
    // then everyone passes the first barrier again.
    const N: usize = 5;
    let b = Barrier::new(N).unwrap();
    let meet = Barrier::new(N).unwrap();
    let broken = AtomicUsize::new(0);
    let passed = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..N {
            s.spawn(|| {
                let i = b.wait().unwrap();
                if i == N / 2 {
                    b.abort();
                } else {
                    assert_eq!(b.wait(), Err(BarrierWaitError::Broken));
                    broken.fetch_add(1, Ordering::SeqCst);
                }
                if meet.wait().unwrap() == N / 2 {
                    assert!(b.is_broken());
                    b.reset();
                }
                meet.wait().unwrap();
                b.wait_timeout(Duration::from_secs(20)).unwrap();
                passed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    assert_eq!(broken.load(Ordering::SeqCst), N - 1);
    assert_eq!(passed.load(Ordering::SeqCst), N);
    assert!(!b.is_broken());
}

#[test]
fn a_late_party_finds_the_barrier_broken_by_the_others_timeout() {
    // CPython BarrierTests.test_timeout / test_default_timeout: one party is late; exactly
    // one of those waiting reports the timeout, the others and the late one see Broken.
    const N: usize = 4;
    let b = Barrier::builder(N)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let late_may_go = Event::new();
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for k in 0..N {
            let (b, late_may_go, results) = (&b, &late_may_go, &results);
            s.spawn(move || {
                if k == 0 {
                    late_may_go.wait();
                }
                let r = b.wait();
                results.lock().unwrap().push(r);
                if r == Err(BarrierWaitError::TimedOut) {
                    late_may_go.set();
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let timed_out = results
        .iter()
        .filter(|r| **r == Err(BarrierWaitError::TimedOut))
        .count();
    let broken = results
        .iter()
        .filter(|r| **r == Err(BarrierWaitError::Broken))
        .count();
    assert_eq!((timed_out, broken), (1, N - 1), "{results:?}");
}
