//! `Promise<T>`: the completing side of a [`Future`], for executors that are not closures on
//! a thread (process pools complete futures from a result-reader thread).

use std::fmt;
use std::sync::Arc;

use crate::error::TaskError;
use crate::future::{Future, Slot, State};

/// The write side of a [`Future`]: whoever holds it decides the future's outcome.
///
/// Any executor can drive futures through promises: take the promise, hand the future to
/// the submitter, call [`set_running`](Promise::set_running) when a worker picks the job
/// (it says `false` if the future was cancelled meanwhile — then skip the job), and finish
/// with [`set_result`](Promise::set_result) or [`set_error`](Promise::set_error).
/// Dropping a promise that was not completed fails its future with [`TaskError::Lost`], so
/// a waiter never hangs on a job its executor dropped.
///
/// # Examples
///
/// ```
/// use skein_pool::Promise;
///
/// let (promise, future) = Promise::new();
/// let worker = std::thread::spawn(move || {
///     if promise.set_running() {
///         promise.set_result(String::from("hello"));
///     }
/// });
/// assert_eq!(future.result().unwrap(), "hello");
/// worker.join().unwrap();
/// ```
#[must_use = "dropping a promise fails its future"]
pub struct Promise<T: Send + Sync + 'static> {
    state: Option<Arc<State<T>>>,
}

impl<T: Send + Sync + 'static> Promise<T> {
    /// A new pending future and the promise that completes it.
    pub fn new() -> (Promise<T>, Future<T>) {
        let state = Arc::new(State::new());
        let future = Future::from_slot(state.clone() as Arc<dyn Slot<T>>);
        (Promise { state: Some(state) }, future)
    }

    fn view(state: &Arc<State<T>>) -> impl FnOnce() -> Future<T> + '_ {
        move || Future::from_slot(state.clone() as Arc<dyn Slot<T>>)
    }

    /// Python `future.set_running_or_notify_cancel()`: marks the future running and returns
    /// `true`, or returns `false` if it was cancelled (the job must then not run).
    pub fn set_running(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.set_running())
    }

    /// `true` if the future was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.is_cancelled())
    }

    /// Python `future.set_result(value)`: completes the future with a value.
    pub fn set_result(self, value: T) {
        self.complete(Ok(value))
    }

    /// Python `future.set_exception(e)`: completes the future with an error.
    pub fn set_error(self, error: TaskError) {
        self.complete(Err(error))
    }

    /// Completes the future with `outcome` (ignored if it was cancelled meanwhile).
    pub fn complete(mut self, outcome: Result<T, TaskError>) {
        if let Some(state) = self.state.take() {
            state.complete(outcome, Self::view(&state));
        }
    }

    /// Lets [`Future::cancel`] stop the task while it runs: `canceller` is called (on the
    /// cancelling thread, without locks held) when `cancel` finds the future running, and
    /// returns whether the task is now cancelled. The executor then completes this promise
    /// with [`TaskError::Cancelled`] (the future reports [`cancelled`](Future::cancelled)).
    /// Returns `false` if the future is already done.
    pub fn on_cancel_running(&self, canceller: impl Fn() -> bool + Send + Sync + 'static) -> bool {
        match &self.state {
            Some(state) => state.set_canceller(Arc::new(canceller)),
            None => false,
        }
    }

    /// Cancels the future if it has not started (what an executor does with queued jobs on
    /// `shutdown(cancel_futures)`); `true` if it is cancelled.
    pub fn cancel(&self) -> bool {
        match &self.state {
            Some(state) => state.cancel(Self::view(state)),
            None => false,
        }
    }
}

impl<T: Send + Sync + 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            state.complete(
                Err(TaskError::Lost(
                    "the executor dropped the task before completing it".into(),
                )),
                Self::view(&state),
            );
        }
    }
}

impl<T: Send + Sync + 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise").finish_non_exhaustive()
    }
}
