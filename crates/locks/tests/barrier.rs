//! `Barrier`: indices across rounds, action, abort, reset, timeouts breaking it for all.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use skein_locks::{Barrier, BarrierWaitError};

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
