//! `Timer`: run a function on its own thread after a delay, unless cancelled first.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::builder::Builder;
use crate::error::{JoinError, SpawnError};
use crate::handle::JoinHandle;
use crate::thread::Thread;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Cancelled,
    Fired,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// A thread that calls a function once `interval` has passed, unless
/// [`cancel`](Timer::cancel)led first (Python's `threading.Timer(interval, f)`, started).
///
/// The guarantee: when `cancel` returns `true`, the function never runs; when it returns
/// `false`, the function had already started (or the timer was cancelled before).
/// A cancelled timer's thread ends at once, without waiting out the interval.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_threads::Timer;
///
/// let fired = Timer::start(Duration::from_millis(10), || println!("hello, world")).unwrap();
/// assert!(fired.join().unwrap()); // it ran
///
/// let cancelled = Timer::start(Duration::from_secs(3600), || unreachable!()).unwrap();
/// assert!(cancelled.cancel());
/// assert!(!cancelled.join().unwrap()); // it never ran, and the thread ended at once
/// ```
pub struct Timer {
    shared: Arc<Shared>,
    handle: JoinHandle<bool>,
}

impl Timer {
    /// Starts a timer thread that calls `f` after `interval` (Python's
    /// `Timer(interval, f).start()`). Use [`Builder::spawn_timer`] to name it or make it a
    /// daemon.
    ///
    /// # Errors
    ///
    /// As [`Builder::spawn`].
    pub fn start<F>(interval: Duration, f: F) -> Result<Timer, SpawnError>
    where
        F: FnOnce() + Send + 'static,
    {
        Builder::new().spawn_timer(interval, f)
    }

    pub(crate) fn spawn_with<F>(
        builder: Builder,
        interval: Duration,
        f: F,
    ) -> Result<Timer, SpawnError>
    where
        F: FnOnce() + Send + 'static,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::Waiting),
            wake: Condvar::new(),
        });
        let theirs = shared.clone();
        // An interval too large for an `Instant` never runs out: only `cancel` ends it.
        let deadline = Instant::now().checked_add(interval);
        let handle = builder.spawn(move || {
            let mut state = theirs.state.lock();
            while *state == State::Waiting {
                match deadline {
                    Some(deadline) => {
                        if theirs.wake.wait_until(&mut state, deadline).timed_out() {
                            break;
                        }
                    }
                    None => theirs.wake.wait(&mut state),
                }
            }
            if *state != State::Waiting {
                return false;
            }
            *state = State::Fired;
            drop(state);
            f();
            true
        })?;
        Ok(Timer { shared, handle })
    }

    /// Stops the timer if it is still waiting (Python's `cancel()`); true when this call
    /// stopped it, so the function will never run.
    pub fn cancel(&self) -> bool {
        let mut state = self.shared.state.lock();
        if *state == State::Waiting {
            *state = State::Cancelled;
            drop(state);
            self.shared.wake.notify_all();
            true
        } else {
            false
        }
    }

    /// Whether the timer was cancelled before it fired.
    pub fn is_cancelled(&self) -> bool {
        *self.shared.state.lock() == State::Cancelled
    }

    /// Whether the function has started (it may still be running).
    pub fn has_fired(&self) -> bool {
        *self.shared.state.lock() == State::Fired
    }

    /// The timer's thread (name, liveness, timed joins).
    pub fn thread(&self) -> &Thread {
        self.handle.thread()
    }

    /// Whether the timer's thread is still running (waiting, or running the function).
    pub fn is_alive(&self) -> bool {
        self.handle.is_alive()
    }

    /// Waits for the timer's thread to end; `true` when the function ran.
    ///
    /// # Errors
    ///
    /// As [`JoinHandle::join`]: the function panicked, or the timer joins itself.
    pub fn join(self) -> Result<bool, JoinError> {
        self.handle.join()
    }

    /// Waits at most `timeout` for the timer's thread to end.
    ///
    /// # Errors
    ///
    /// As [`Thread::join_timeout`].
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), JoinError> {
        self.handle.thread().join_timeout(timeout)
    }

    /// Waits until `deadline` at most for the timer's thread to end.
    ///
    /// # Errors
    ///
    /// As [`Thread::join_deadline`].
    pub fn join_deadline(&self, deadline: Instant) -> Result<(), JoinError> {
        self.handle.thread().join_deadline(deadline)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("thread", self.handle.thread())
            .field("state", &*self.shared.state.lock())
            .finish()
    }
}
