//! How a thread pool carries a job: a type-erased [`Runnable`] behind a [`TaskRef`] (the
//! usual one is `cell::Cell`: the closure and its future's state in one allocation).

use std::fmt;
use std::sync::Arc;

use crate::error::TaskError;

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
