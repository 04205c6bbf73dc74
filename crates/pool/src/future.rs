//! `Future<T>` (the reading side) and the state it shares with its completing side (a
//! `Promise<T>`, see `promise.rs`, or a thread pool's task cell, see `cell.rs`).
//!
//! The state is a write-once cell for the outcome, an atomic phase (pending, running,
//! finished, cancelled) and a small lock that guards the hooks: done-callbacks, the waiters
//! of `wait`/`as_completed`, and a condition variable for threads blocked in `result`.
//! A task that nobody waits on and that has no callbacks pays one uncontended lock and no
//! wake-up when it completes.

use std::fmt;
use std::future::IntoFuture;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{ResultTimeoutError, TaskError, panic_message};

#[cfg(test)]
use crate::outcome::HOOKED;
use crate::outcome::{CANCELLED, CANCELLING, Cancel, FINISHED, OWNED, Outcome, RUNNING, TAKEN};

type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send>;

/// What `Future::cancel` calls when the task is already running: an executor that can stop
/// a running task (a process pool terminates its worker) installs one with
/// [`Promise::on_cancel_running`](crate::Promise::on_cancel_running). It returns `true` if
/// the task is (now) cancelled.
pub(crate) type Canceller = Arc<dyn Fn() -> bool + Send + Sync>;

/// Something blocked on several futures at once (`wait`, `as_completed`): each future that
/// completes pushes its index.
pub(crate) struct Waiter {
    ready: Mutex<Vec<usize>>,
    cond: Condvar,
}

impl Waiter {
    pub(crate) fn new() -> Arc<Waiter> {
        Arc::new(Waiter {
            ready: Mutex::new(Vec::new()),
            cond: Condvar::new(),
        })
    }

    pub(crate) fn notify(&self, index: usize) {
        self.ready.lock().push(index);
        self.cond.notify_one();
    }

    /// Takes the indices that completed, blocking until there is one or `deadline` passes.
    pub(crate) fn take(&self, deadline: Option<Instant>) -> Vec<usize> {
        let mut ready = self.ready.lock();
        while ready.is_empty() && wait_on(&self.cond, &mut ready, deadline) {}
        std::mem::take(&mut *ready)
    }
}

struct Hooks<T> {
    callbacks: Vec<Callback<T>>,
    waiters: Vec<(Arc<Waiter>, usize)>,
    canceller: Option<Canceller>,
    /// Async tasks awaiting the future (see [`Awaiting`]); while `firing`, those waiting
    /// for the done-callbacks to end.
    wakers: Vec<Waker>,
    /// The done-callbacks are running (with a view of the future that can read the
    /// value): the value cannot be moved out yet.
    firing: bool,
    /// Threads blocked in `into_result` until the callbacks end (test support).
    takers: usize,
}

impl<T> Hooks<T> {
    fn new() -> Box<Hooks<T>> {
        Box::new(Hooks {
            callbacks: Vec::new(),
            waiters: Vec::new(),
            canceller: None,
            wakers: Vec::new(),
            firing: false,
            takers: 0,
        })
    }

    /// Whether done-callbacks still have to run or are running: until then they may read
    /// the value through their view of the future.
    fn callbacks_pending(&self) -> bool {
        self.firing || !self.callbacks.is_empty()
    }
}

/// The state shared by a future, its promise, and (for thread pools) the task itself.
pub(crate) struct State<T> {
    // The phase word and the write-once outcome (see `cell.rs`). The error is boxed so a
    // finished `()` task's state fits in one cache line.
    outcome: Outcome<Result<T, Box<TaskError>>>,
    hooks: Mutex<Option<Box<Hooks<T>>>>,
    cond: Condvar,
}

/// Anything that holds a [`State`]: a bare state (promises) or a task cell that keeps its
/// closure in the same allocation (thread pools).
pub(crate) trait Slot<T>: Send + Sync {
    fn state(&self) -> &State<T>;
}

impl<T: Send + Sync> Slot<T> for State<T> {
    fn state(&self) -> &State<T> {
        self
    }
}

impl<T> State<T> {
    pub(crate) fn new() -> State<T> {
        State {
            outcome: Outcome::new(),
            hooks: Mutex::new(None),
            cond: Condvar::new(),
        }
    }

    /// Python's `set_running_or_notify_cancel`: `true` if the task may run now, `false` if
    /// it was cancelled (or already completed) and must not run.
    pub(crate) fn set_running(&self) -> bool {
        self.outcome.set_running()
    }

    pub(crate) fn outcome(&self) -> &Outcome<Result<T, Box<TaskError>>> {
        &self.outcome
    }

    fn is_done(&self) -> bool {
        self.outcome.get().is_some()
    }

    fn phase(&self) -> u8 {
        self.outcome.phase()
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self.phase(), CANCELLING | CANCELLED)
    }

    /// Marks that someone needs the completer to take the hooks lock; returns whether the
    /// future is already done. Call with the hooks lock held.
    fn hook_in(&self) -> bool {
        self.outcome.hook_in()
    }

    /// Stores the outcome and fires the hooks. `view` builds a `Future` for callbacks (only
    /// called when there are some). Returns `false` if the future was already completed.
    pub(crate) fn complete(
        &self,
        result: Result<T, TaskError>,
        view: impl FnOnce() -> Future<T>,
    ) -> bool {
        match self.outcome.complete(result.map_err(Box::new)) {
            Ok(hooked) => {
                if hooked {
                    self.fire(view);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Cancels a pending future. `true` if it is (now or already) cancelled.
    pub(crate) fn cancel(&self, view: impl FnOnce() -> Future<T>) -> bool {
        match self.outcome.cancel(|| Err(Box::new(TaskError::Cancelled))) {
            Cancel::Now(hooked) => {
                if hooked {
                    self.fire(view);
                }
                true
            }
            Cancel::Already => true,
            Cancel::Refused => false,
        }
    }

    /// Wakes blocked readers, notifies waiters and runs the callbacks (after a completion
    /// that found `HOOKED` set).
    ///
    /// While callbacks run, the hooks hold a `firing` mark: they read the value through a
    /// view of the future, so whoever moves the value out (`into_result`, `.await`) waits
    /// on the condition variable (or leaves a waker) until the mark goes, and is woken
    /// then: no polling.
    pub(crate) fn fire(&self, view: impl FnOnce() -> Future<T>) {
        let mut guard = self.hooks.lock();
        let Some(mut hooks) = guard.take() else {
            drop(guard);
            self.cond.notify_all();
            return;
        };
        let callbacks = std::mem::take(&mut hooks.callbacks);
        let waiters = std::mem::take(&mut hooks.waiters);
        let wakers = std::mem::take(&mut hooks.wakers);
        if !callbacks.is_empty() {
            // The same box back, emptied, as the mark (no allocation).
            hooks.canceller = None;
            hooks.firing = true;
            *guard = Some(hooks);
        }
        drop(guard);
        self.cond.notify_all();
        for (waiter, index) in waiters {
            waiter.notify(index);
        }
        for waker in wakers {
            waker.wake();
        }
        if !callbacks.is_empty() {
            let future = view();
            for callback in callbacks {
                run_callback(callback, &future);
            }
            drop(future);
            // The callbacks are done: nothing reads the value but its owner from now on.
            let hooks = self.hooks.lock().take();
            self.cond.notify_all();
            for waker in hooks.into_iter().flat_map(|h| h.wakers) {
                waker.wake();
            }
        }
    }

    /// Blocks until no done-callback can read the value any more (see [`fire`](State::fire)).
    /// Call when done.
    fn wait_for_callbacks(&self) {
        let mut hooks = self.hooks.lock();
        if !hooks.as_ref().is_some_and(|h| h.callbacks_pending()) {
            return;
        }
        if let Some(h) = hooks.as_mut() {
            h.takers += 1;
        }
        while hooks.as_ref().is_some_and(|h| h.callbacks_pending()) {
            self.cond.wait(&mut hooks);
        }
        // `fire` took the box away when the callbacks ended (the count went with it).
    }

    /// `true` (and `waker` left to be woken) if done-callbacks may still read the value;
    /// `false` if it can be moved out now. Call when done.
    fn register_for_callbacks(&self, waker: &Waker) -> bool {
        let mut hooks = self.hooks.lock();
        match hooks.as_mut() {
            Some(h) if h.callbacks_pending() => {
                if !h.wakers.iter().any(|w| w.will_wake(waker)) {
                    h.wakers.push(waker.clone());
                }
                true
            }
            _ => false,
        }
    }

    /// Blocks until the outcome is set or `deadline` passes; `true` if it is set.
    pub(crate) fn wait_deadline(&self, deadline: Option<Instant>) -> bool {
        if self.is_done() {
            return true;
        }
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            backoff.snooze();
            if self.is_done() {
                return true;
            }
        }
        let mut hooks = self.hooks.lock();
        while !self.hook_in() {
            if !wait_on(&self.cond, &mut hooks, deadline) {
                return self.is_done();
            }
        }
        true
    }

    /// Registers `waiter` under `index`; `false` (and nothing registered) if already done.
    pub(crate) fn add_waiter(&self, waiter: &Arc<Waiter>, index: usize) -> bool {
        let mut hooks = self.hooks.lock();
        if self.hook_in() {
            return false;
        }
        hooks
            .get_or_insert_with(Hooks::new)
            .waiters
            .push((waiter.clone(), index));
        true
    }

    pub(crate) fn remove_waiter(&self, waiter: &Arc<Waiter>) {
        if let Some(hooks) = self.hooks.lock().as_mut() {
            hooks.waiters.retain(|(w, _)| !Arc::ptr_eq(w, waiter));
        }
    }

    /// Installs what `cancel` calls on a running task; `false` if the future is done.
    pub(crate) fn set_canceller(&self, canceller: Canceller) -> bool {
        let mut hooks = self.hooks.lock();
        if self.hook_in() {
            return false;
        }
        hooks.get_or_insert_with(Hooks::new).canceller = Some(canceller);
        true
    }

    /// The canceller of a running task, if its executor installed one.
    fn canceller(&self) -> Option<Canceller> {
        if !matches!(self.phase(), RUNNING | OWNED) {
            return None;
        }
        self.hooks.lock().as_ref()?.canceller.clone()
    }

    /// Registers (or, at `slot`, refreshes) an async task's waker; `None` if already done,
    /// else the waker's slot.
    fn add_waker(&self, waker: &Waker, slot: Option<usize>) -> Option<usize> {
        let mut hooks = self.hooks.lock();
        if self.hook_in() {
            return None;
        }
        let wakers = &mut hooks.get_or_insert_with(Hooks::new).wakers;
        match slot {
            Some(i) if i < wakers.len() => {
                if !wakers[i].will_wake(waker) {
                    wakers[i] = waker.clone();
                }
                Some(i)
            }
            _ => {
                wakers.push(waker.clone());
                Some(wakers.len() - 1)
            }
        }
    }

    fn add_callback(&self, callback: Callback<T>) -> Option<Callback<T>> {
        let mut hooks = self.hooks.lock();
        if self.hook_in() {
            return Some(callback);
        }
        hooks
            .get_or_insert_with(Hooks::new)
            .callbacks
            .push(callback);
        None
    }
}

/// Runs one done-callback; a panic is reported on stderr (like Python's
/// `exception calling callback for <Future>` log line) and goes no further.
fn run_callback<T>(callback: Callback<T>, future: &Future<T>) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| callback(future))) {
        eprintln!(
            "skein-pool: exception calling callback for future: {}",
            panic_message(&*payload)
        );
    }
}

/// The result of an asynchronous computation: Python's `concurrent.futures.Future`.
///
/// Returned by [`Submit::submit`](crate::Submit::submit) and by
/// [`Promise::new`](crate::Promise::new). It can be polled (`done`, `running`,
/// `cancelled`), waited on (`wait`, `result`, `result_timeout`), cancelled while it has
/// not started (`cancel`), and given callbacks that run when it completes
/// (`add_done_callback`). A task's panic becomes this future's [`TaskError::Panicked`] and
/// touches nothing else.
///
/// The value is read by reference (`result` returns `&T`, any number of times, from any
/// thread), which is why `T` must be `Send + Sync`; [`Future::into_result`] moves it out.
///
/// # Examples
///
/// ```
/// use skein_pool::{Submit, ThreadPoolExecutor};
///
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let future = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(*future.result().unwrap(), 42);
/// assert!(future.done());
/// ```
#[must_use = "a future does nothing by itself; wait on it or drop it to detach the task"]
pub struct Future<T> {
    slot: Arc<dyn Slot<T>>,
}

impl<T> Future<T> {
    pub(crate) fn from_slot(slot: Arc<dyn Slot<T>>) -> Future<T> {
        Future { slot }
    }

    fn state(&self) -> &State<T> {
        self.slot.state()
    }

    pub(crate) fn add_waiter(&self, waiter: &Arc<Waiter>, index: usize) -> bool {
        self.state().add_waiter(waiter, index)
    }

    pub(crate) fn remove_waiter(&self, waiter: &Arc<Waiter>) {
        self.state().remove_waiter(waiter)
    }

    /// Python `future.done()`: `true` once the task finished, failed or was cancelled.
    pub fn done(&self) -> bool {
        self.state().is_done()
    }

    /// Python `future.running()`: `true` while a worker is running the task.
    pub fn running(&self) -> bool {
        matches!(self.state().phase(), RUNNING | OWNED)
    }

    /// Python `future.cancelled()`: `true` if the task was cancelled (before it started,
    /// or — in a process pool — while running, by terminating its worker).
    pub fn cancelled(&self) -> bool {
        let state = self.state();
        state.is_cancelled() || matches!(state.outcome.get(), Some(Err(e)) if e.is_cancelled())
    }

    /// Python `future.cancel()`: cancels the task if it has not started. Returns `true` if
    /// the future is cancelled (now or before), `false` if it is running or finished.
    /// Callbacks run at once with the cancelled future.
    ///
    /// A task that is already running is cancelled only by an executor that can stop it:
    /// a [`ProcessPoolExecutor`](crate::ProcessPoolExecutor) terminates the worker running
    /// it (`SIGTERM`, then `SIGKILL` after a grace period), starts a replacement, and the
    /// future reports cancelled. A thread pool cannot stop a thread: `false`.
    pub fn cancel(&self) -> bool {
        let slot = self.slot.clone();
        if self.state().cancel(move || Future::from_slot(slot)) {
            return true;
        }
        match self.state().canceller() {
            Some(canceller) => canceller(),
            None => false,
        }
    }

    /// Blocks until the future is done.
    pub fn wait(&self) {
        self.state().wait_deadline(None);
    }

    /// Blocks until the future is done or `timeout` passes; `true` if it is done.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.state().wait_deadline(Some(deadline_after(timeout)))
    }

    /// Blocks until the future is done or `deadline` passes; `true` if it is done.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.state().wait_deadline(Some(deadline))
    }

    /// Python `future.result()`: waits, then returns a reference to the value.
    ///
    /// # Errors
    ///
    /// The task's [`TaskError`]: cancelled, panicked, lost or broken.
    pub fn result(&self) -> Result<&T, TaskError> {
        self.state().wait_deadline(None);
        self.outcome_ref()
    }

    /// Python `future.result(timeout)`.
    ///
    /// # Errors
    ///
    /// [`ResultTimeoutError::Timeout`] if not done in time (the task keeps going), or the
    /// task's error.
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, ResultTimeoutError> {
        self.result_deadline(deadline_after(timeout))
    }

    /// Like [`result_timeout`](Future::result_timeout) with an absolute deadline.
    ///
    /// # Errors
    ///
    /// As [`result_timeout`](Future::result_timeout).
    pub fn result_deadline(&self, deadline: Instant) -> Result<&T, ResultTimeoutError> {
        if !self.state().wait_deadline(Some(deadline)) {
            return Err(ResultTimeoutError::Timeout);
        }
        Ok(self.outcome_ref()?)
    }

    /// The value if the future is already done, without waiting; `None` if not done.
    pub fn try_result(&self) -> Option<Result<&T, TaskError>> {
        self.done().then(|| self.outcome_ref())
    }

    /// Python `future.exception()`: waits, then returns the error, or `None` if the task
    /// produced a value.
    pub fn exception(&self) -> Option<TaskError> {
        self.result().err()
    }

    /// Waits, then moves the value out of the future. Done-callbacks still running at that
    /// moment (on the thread that completed the future, reading it through their own view)
    /// are waited for first, blocked until the last one returns.
    ///
    /// # Errors
    ///
    /// The task's [`TaskError`].
    pub fn into_result(self) -> Result<T, TaskError> {
        self.state().wait_deadline(None);
        self.state().wait_for_callbacks();
        self.take_done()
    }

    /// Test support, not part of the API: whether a thread is blocked in
    /// [`into_result`](Self::into_result) on this future, waiting for its done-callbacks
    /// (one of which calls this) to end. Tests wait for this instead of sleeping, to force
    /// "`into_result` waits, then the callback ends".
    #[doc(hidden)]
    pub fn into_result_is_waiting(&self) -> bool {
        self.state()
            .hooks
            .lock()
            .as_ref()
            .is_some_and(|h| h.takers > 0)
    }

    /// Moves the outcome out of a done future whose callbacks have ended. The one `unsafe`
    /// call outside the crate's `unsafe` modules (named in the crate docs).
    #[allow(unsafe_code)]
    fn take_done(self) -> Result<T, TaskError> {
        let state = self.state();
        match state.outcome.get() {
            None => Err(TaskError::Lost(
                "future completed without an outcome".into(),
            )),
            // An error is shared: cloned (a cancelled task may still sit in a queue).
            Some(Err(e)) => Err(TaskError::clone(e)),
            // SAFETY: the value is read through `&Future` handles only: this one (taken by
            // value, so no borrow of it is alive) and the done-callbacks' view, which the
            // caller waited for (`wait_for_callbacks`/`register_for_callbacks` saw no
            // callback pending or running, under the hooks lock that `fire` releases after
            // the last one returned). No other handle is ever made: the task cell and the
            // promise only write it, and `Future` is not `Clone`.
            Some(Ok(_)) => match unsafe { state.outcome.take_shared() } {
                Some(outcome) => outcome.map_err(|e| *e),
                None => Err(TaskError::Lost("future's value already taken".into())),
            },
        }
    }

    /// Python `future.add_done_callback(fn)`: `callback` runs with this future when it
    /// completes (on the thread that completes it), or at once on this thread if it is
    /// already done. A callback that panics is reported on stderr and does not affect the
    /// future, the other callbacks or the worker.
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
    {
        if let Some(callback) = self.state().add_callback(Box::new(callback)) {
            run_callback(callback, self);
        }
    }

    fn outcome_ref(&self) -> Result<&T, TaskError> {
        match self.state().outcome.get() {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(TaskError::clone(e)),
            None => Err(TaskError::Lost("future read before it completed".into())),
        }
    }

    pub(crate) fn is_err(&self) -> bool {
        matches!(self.state().outcome.get(), Some(Err(e)) if !e.is_cancelled())
    }
}

/// Python's `await asyncio.wrap_future(future)`: `.await` on a skein [`Future`] in async
/// code gives its outcome (the value moved out, as [`Future::into_result`]) without
/// blocking the runtime's thread: the future registers the task's waker and the thread
/// that completes it wakes the task.
///
/// `loop.run_in_executor(executor, fn)` is `executor.submit(fn)?.await`. Dropping the
/// awaiting task (an aborted task, the losing branch of a `select!`) cancels the job if it
/// has not started, as cancelling a wrapped future does in Python; a job already running
/// finishes. A job that panics gives `Err(TaskError::Panicked)`.
///
/// # Examples
///
/// ```
/// use skein_pool::{Submit, ThreadPoolExecutor};
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(&waker)) { return v; }
/// #         std::thread::park();
/// #     }
/// # }
/// let pool = ThreadPoolExecutor::new(2).unwrap();
/// let total = block_on(async {
///     let a = pool.submit(|| 40).unwrap();
///     let b = pool.submit(|| 2).unwrap();
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(total, 42);
/// ```
impl<T> IntoFuture for Future<T> {
    type Output = Result<T, TaskError>;
    type IntoFuture = Awaiting<T>;

    fn into_future(self) -> Awaiting<T> {
        Awaiting {
            future: Some(self),
            slot: None,
        }
    }
}

/// The [`std::future::Future`] that `.await` on a skein [`Future`] polls (see its
/// [`IntoFuture`] implementation). Dropping it before it is ready cancels the job if it
/// has not started.
#[must_use = "futures do nothing unless awaited"]
pub struct Awaiting<T> {
    future: Option<Future<T>>,
    /// Where this task's waker sits among the future's hooks.
    slot: Option<usize>,
}

impl<T> std::future::Future for Awaiting<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(future) = this.future.take() else {
            panic!("`Awaiting` polled after it returned `Ready`");
        };
        if !future.done() {
            // `None`: it completed meanwhile.
            if let Some(slot) = future.state().add_waker(cx.waker(), this.slot) {
                this.slot = Some(slot);
                this.future = Some(future);
                return Poll::Pending;
            }
        }
        if future.state().register_for_callbacks(cx.waker()) {
            // Its done-callbacks are running; the thread running them wakes us after.
            this.future = Some(future);
            return Poll::Pending;
        }
        Poll::Ready(future.take_done())
    }
}

impl<T> Drop for Awaiting<T> {
    fn drop(&mut self) {
        if let Some(future) = &self.future {
            future.cancel();
        }
    }
}

impl<T> fmt::Debug for Awaiting<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Awaiting")
            .field("future", &self.future)
            .finish()
    }
}

/// Python's `<Future at 0x… state=finished returned int>` / `state=finished raised
/// OSError`: the state, and for a finished future what it holds (the value's type, or the
/// error), without needing `T: Debug`.
impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Future");
        match self.state().phase() {
            RUNNING | OWNED => out.field("state", &"running"),
            CANCELLING | CANCELLED => out.field("state", &"cancelled"),
            FINISHED | TAKEN => match self.state().outcome.get() {
                Some(Err(e)) if e.is_cancelled() => out.field("state", &"cancelled"),
                Some(Err(e)) => out.field("state", &"finished").field("raised", e),
                _ => out
                    .field("state", &"finished")
                    .field("returned", &std::any::type_name::<T>()),
            },
            _ => out.field("state", &"pending"),
        };
        out.finish()
    }
}

/// One wait on `cond`, until notified or `deadline` (none: forever); `false` if the
/// deadline passed. Callers re-check their condition either way.
pub(crate) fn wait_on<T>(
    cond: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    deadline: Option<Instant>,
) -> bool {
    match deadline {
        None => {
            cond.wait(guard);
            true
        }
        Some(d) => !cond.wait_until(guard, d).timed_out(),
    }
}

pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .unwrap_or(now + Duration::from_secs(86400 * 365 * 100))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_of(state: &Arc<State<u32>>) -> impl FnOnce() -> Future<u32> + '_ {
        move || Future::from_slot(state.clone() as Arc<dyn Slot<u32>>)
    }

    #[test]
    fn complete_once_only() {
        let state = Arc::new(State::new());
        assert!(state.set_running());
        assert!(state.complete(Ok(1), view_of(&state)));
        assert!(
            !state.complete(Ok(2), view_of(&state)),
            "a second outcome is ignored"
        );
        assert!(
            !state.cancel(view_of(&state)),
            "a finished future cannot be cancelled"
        );
        assert_eq!(state.phase(), FINISHED);
    }

    #[test]
    fn cancel_wins_over_a_later_start() {
        let state = Arc::new(State::<u32>::new());
        assert!(state.cancel(view_of(&state)));
        assert!(!state.set_running());
        assert!(!state.complete(Ok(1), view_of(&state)));
        assert_eq!(state.phase(), CANCELLED);
    }

    #[test]
    fn hooks_mark_the_phase_and_are_taken_once() {
        let state = Arc::new(State::<u32>::new());
        let waiter = Waiter::new();
        assert!(state.add_waiter(&waiter, 7));
        assert_ne!(state.outcome.phase_word() & HOOKED, 0);
        assert!(state.complete(Ok(3), view_of(&state)));
        assert_eq!(waiter.take(None), vec![7]);
        assert!(
            !state.add_waiter(&waiter, 8),
            "done futures do not register"
        );
        assert!(state.hooks.lock().is_none());
    }

    #[test]
    fn waiter_take_times_out_empty() {
        let waiter = Waiter::new();
        let deadline = Instant::now() + Duration::from_millis(5);
        assert!(waiter.take(Some(deadline)).is_empty());
        assert!(Instant::now() >= deadline);
    }
}
