//! `Barrier`: Python's `threading.Barrier`.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{BarrierBuildError, BarrierWaitError};

type Action = Box<dyn Fn() + Send + Sync>;

const PENDING: u8 = 0;
const PASSED: u8 = 1;
const BROKEN: u8 = 2;

/// One filling of the barrier; waiters keep a handle to learn how it ended even if later
/// rounds have started since.
struct Round {
    outcome: AtomicU8,
}

struct State {
    count: usize,
    round: Arc<Round>,
    broken: bool,
}

/// A meeting point for a fixed number of threads — Python's `threading.Barrier`.
///
/// Each of `parties` threads calls [`wait`](Barrier::wait); all block until the last one
/// arrives, then all go on. Each gets its arrival index (`0..parties`, unique per round); the
/// last to arrive runs the optional action first. The barrier is reusable. A wait that times
/// out, an [`abort`](Barrier::abort), or a panicking action *breaks* it: every waiter, and
/// every later `wait` until [`reset`](Barrier::reset), gets an error.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_locks::Barrier;
///
/// let b = Barrier::builder(2).timeout(Duration::from_secs(5)).build().unwrap(); // Barrier(2, timeout=5)
/// let indices: Vec<usize> = std::thread::scope(|s| {
///     let h = s.spawn(|| b.wait().unwrap());
///     let mine = b.wait().unwrap();
///     vec![mine, h.join().unwrap()]
/// });
/// assert_eq!(indices.iter().sum::<usize>(), 1); // one got 0, the other 1
/// ```
pub struct Barrier {
    parties: usize,
    timeout: Option<Duration>,
    action: Option<Action>,
    state: Mutex<State>,
    cv: Condvar,
    /// Copies of `state.count` and `state.broken`, readable without the mutex (so the action
    /// may call `n_waiting` and `is_broken`, as Python's may).
    n_waiting: AtomicUsize,
    broken: AtomicBool,
}

/// Builds a [`Barrier`] with an action and/or a default timeout.
#[must_use = "call build() to get the barrier"]
pub struct BarrierBuilder {
    parties: usize,
    timeout: Option<Duration>,
    action: Option<Action>,
}

impl BarrierBuilder {
    /// Runs `action` once per round, on the last thread to arrive, before any is released —
    /// `Barrier(n, action=f)`. It may read `n_waiting`/`is_broken` or format the barrier
    /// with `Debug`; calling `wait`, `abort` or `reset` of the same barrier from it would
    /// block, as it does in Python.
    pub fn action<F: Fn() + Send + Sync + 'static>(mut self, action: F) -> Self {
        self.action = Some(Box::new(action));
        self
    }

    /// The timeout used by [`Barrier::wait`] — `Barrier(n, timeout=t)`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the barrier.
    ///
    /// # Errors
    ///
    /// [`BarrierBuildError`] if `parties` is 0 (Python: `ValueError`).
    pub fn build(self) -> Result<Barrier, BarrierBuildError> {
        if self.parties == 0 {
            return Err(BarrierBuildError::zero_parties());
        }
        Ok(Barrier {
            parties: self.parties,
            timeout: self.timeout,
            action: self.action,
            state: Mutex::new(State {
                count: 0,
                round: Arc::new(Round {
                    outcome: AtomicU8::new(PENDING),
                }),
                broken: false,
            }),
            cv: Condvar::new(),
            n_waiting: AtomicUsize::new(0),
            broken: AtomicBool::new(false),
        })
    }
}

impl fmt::Debug for BarrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierBuilder")
            .field("parties", &self.parties)
            .field("timeout", &self.timeout)
            .field("action", &self.action.is_some())
            .finish()
    }
}

impl Barrier {
    /// A barrier for `parties` threads — `threading.Barrier(parties)`.
    ///
    /// # Errors
    ///
    /// [`BarrierBuildError`] if `parties` is 0.
    pub fn new(parties: usize) -> Result<Barrier, BarrierBuildError> {
        Barrier::builder(parties).build()
    }

    /// A builder, to add an action or a default timeout.
    pub fn builder(parties: usize) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            timeout: None,
            action: None,
        }
    }

    /// The number of threads needed to pass — `barrier.parties`.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number of threads waiting now — `barrier.n_waiting`.
    pub fn n_waiting(&self) -> usize {
        self.n_waiting.load(Ordering::SeqCst)
    }

    /// Whether the barrier is broken — `barrier.broken`.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    fn publish(&self, st: &State) {
        self.n_waiting.store(st.count, Ordering::SeqCst);
        self.broken.store(st.broken, Ordering::SeqCst);
    }

    /// Waits for all parties — `barrier.wait()` — using the builder's timeout if one was set.
    /// Returns this thread's arrival index in `0..parties`.
    ///
    /// # Errors
    ///
    /// [`BarrierWaitError::Broken`] if the barrier is or becomes broken,
    /// [`BarrierWaitError::TimedOut`] if the default timeout passed (the barrier is then
    /// broken for all), [`BarrierWaitError::ActionPanicked`] if this thread ran the action
    /// and it panicked.
    pub fn wait(&self) -> Result<usize, BarrierWaitError> {
        let deadline = self.timeout.and_then(|t| Instant::now().checked_add(t));
        self.wait_until(deadline)
    }

    /// Like [`wait`](Barrier::wait) with this timeout — `barrier.wait(timeout)`.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Barrier::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BarrierWaitError> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Like [`wait`](Barrier::wait) until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Barrier::wait).
    pub fn wait_deadline(&self, deadline: Instant) -> Result<usize, BarrierWaitError> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<usize, BarrierWaitError> {
        let mut st = self.state.lock();
        if st.broken {
            return Err(BarrierWaitError::Broken);
        }
        let index = st.count;
        st.count += 1;
        self.publish(&st);
        let round = Arc::clone(&st.round);
        if st.count == self.parties {
            if let Some(action) = &self.action {
                if catch_unwind(AssertUnwindSafe(action)).is_err() {
                    self.break_round(&mut st, true);
                    return Err(BarrierWaitError::ActionPanicked);
                }
            }
            round.outcome.store(PASSED, Ordering::Relaxed);
            self.new_round(&mut st);
            return Ok(index);
        }
        loop {
            match round.outcome.load(Ordering::Relaxed) {
                PASSED => return Ok(index),
                BROKEN => return Err(BarrierWaitError::Broken),
                _ => {}
            }
            match deadline {
                None => self.cv.wait(&mut st),
                Some(d) => {
                    if self.cv.wait_until(&mut st, d).timed_out()
                        && round.outcome.load(Ordering::Relaxed) == PENDING
                    {
                        self.break_round(&mut st, true);
                        return Err(BarrierWaitError::TimedOut);
                    }
                }
            }
        }
    }

    fn new_round(&self, st: &mut State) {
        st.count = 0;
        st.round = Arc::new(Round {
            outcome: AtomicU8::new(PENDING),
        });
        self.publish(st);
        self.cv.notify_all();
    }

    fn break_round(&self, st: &mut State, broken: bool) {
        st.round.outcome.store(BROKEN, Ordering::Relaxed);
        st.broken = broken;
        self.new_round(st);
    }

    /// Breaks the barrier: every waiter and every later `wait` gets
    /// [`BarrierWaitError::Broken`] until [`reset`](Barrier::reset) — `barrier.abort()`.
    pub fn abort(&self) {
        let mut st = self.state.lock();
        self.break_round(&mut st, true);
    }

    /// Returns the barrier to its empty, unbroken state — `barrier.reset()`. Threads waiting
    /// now get [`BarrierWaitError::Broken`].
    pub fn reset(&self) {
        let mut st = self.state.lock();
        if st.count > 0 {
            self.break_round(&mut st, false);
        }
        st.broken = false;
        self.publish(&st);
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The published copies, not the state mutex: the action runs under that mutex and
        // may format the barrier, as Python's may call `repr(barrier)`.
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
