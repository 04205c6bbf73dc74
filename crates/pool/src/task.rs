//! How a thread pool carries a job: one allocation holding the closure and its future's
//! state, seen by the queue as a type-erased [`Runnable`].

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use crossbeam_utils::atomic::AtomicCell;

use crate::error::TaskError;
use crate::future::{Future, Slot, State};

/// A job in a thread pool's queue.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the job (unless it was cancelled) and completes its future.
    fn run(self: Arc<Self>);
    /// Fails the job without running it (`cancel_futures`, terminate, a broken pool, a queue
    /// dropped with jobs in it).
    fn fail(self: Arc<Self>, error: TaskError);
}

/// A queued job. Dropping one that was never run fails its future, so nothing in a queue
/// can vanish silently.
pub(crate) struct TaskRef(Option<Arc<dyn Runnable>>);

impl TaskRef {
    pub(crate) fn new(task: Arc<dyn Runnable>) -> TaskRef {
        TaskRef(Some(task))
    }

    pub(crate) fn run(mut self) {
        if let Some(task) = self.0.take() {
            task.run();
        }
    }

    pub(crate) fn fail(mut self, error: TaskError) {
        if let Some(task) = self.0.take() {
            task.fail(error);
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.fail(TaskError::Lost(
                "the pool's queue was dropped before the task ran".into(),
            ));
        }
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskRef")
    }
}

/// A job a thread pool can run in place: a closure, or a function and its argument.
pub(crate) trait Call: Send + 'static {
    type Output;
    fn call(self) -> Self::Output;
}

impl<F, T> Call for F
where
    F: FnOnce() -> T + Send + 'static,
{
    type Output = T;

    fn call(self) -> T {
        self()
    }
}

/// A closure and the state of its future, in one allocation.
pub(crate) struct Cell<T, F> {
    state: State<T>,
    // Taken once, by the worker or a cancel; a single atomic swap for small closures.
    job: AtomicCell<Option<F>>,
}

impl<T, F> Cell<T, F>
where
    T: Send + Sync + 'static,
    F: Call<Output = T>,
{
    /// The job for the queue and the future for the submitter.
    pub(crate) fn create(job: F) -> (TaskRef, Future<T>) {
        let cell = Arc::new(Cell {
            state: State::new(),
            job: AtomicCell::new(Some(job)),
        });
        let future = Future::from_slot(cell.clone() as Arc<dyn Slot<T>>);
        (TaskRef::new(cell), future)
    }
}

impl<T: Send + Sync, F: Send> Slot<T> for Cell<T, F> {
    fn state(&self) -> &State<T> {
        &self.state
    }

    fn state_mut(&mut self) -> &mut State<T> {
        &mut self.state
    }
}

impl<T, F> Runnable for Cell<T, F>
where
    T: Send + Sync + 'static,
    F: Call<Output = T>,
{
    fn run(self: Arc<Self>) {
        let Some(job) = self.job.take() else {
            return;
        };
        if !self.state.set_running() {
            return; // cancelled while queued: drop the closure unrun
        }
        let outcome =
            panic::catch_unwind(AssertUnwindSafe(|| job.call())).map_err(TaskError::from_panic);
        self.state.complete(outcome, || {
            Future::from_slot(self.clone() as Arc<dyn Slot<T>>)
        });
    }

    fn fail(self: Arc<Self>, error: TaskError) {
        drop(self.job.take());
        let view = || Future::from_slot(self.clone() as Arc<dyn Slot<T>>);
        if error.is_cancelled() {
            self.state.cancel(view);
        } else {
            self.state.complete(Err(error), view);
        }
    }
}
