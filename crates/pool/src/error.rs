//! Error types, one per operation shape.

use std::any::Any;
use std::error::Error;
use std::fmt;

use skein_threads::SpawnError;
use std::sync::Arc;

/// Why a task produced no value: the error side of [`Future::result`](crate::Future::result).
///
/// Python raises `CancelledError`, re-raises the task's exception, or raises
/// `BrokenThreadPool`; skein returns one of these variants instead. The error is cheap to
/// clone (messages are shared), so every reader of a future can get its own copy.
#[derive(Clone)]
#[non_exhaustive]
pub enum TaskError {
    /// The task was cancelled before it started (`Future.cancel()`, `shutdown` with
    /// `cancel_futures`, `Pool.terminate()`). Python: `CancelledError`.
    Cancelled,
    /// The task panicked; the panic message is kept. Python: the task's exception.
    Panicked(Arc<str>),
    /// The executor lost the task without running it to the end (its worker died, or the
    /// completion handle was dropped). Carries the cause.
    Lost(Arc<str>),
    /// The pool is broken (its initializer panicked), so the task was never run.
    /// Python: `BrokenThreadPool`.
    Broken(Arc<str>),
    /// The task failed in another way reported by its executor (for example a result that
    /// could not be decoded).
    Failed(Arc<dyn Error + Send + Sync>),
}

impl TaskError {
    /// Builds [`TaskError::Panicked`] from a panic payload, keeping its message.
    pub fn from_panic(payload: Box<dyn Any + Send>) -> TaskError {
        TaskError::Panicked(panic_message(&*payload).into())
    }

    /// `true` for [`TaskError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// `true` for [`TaskError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Panicked(m) => f.debug_tuple("Panicked").field(m).finish(),
            TaskError::Lost(m) => f.debug_tuple("Lost").field(m).finish(),
            TaskError::Broken(m) => f.debug_tuple("Broken").field(m).finish(),
            TaskError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled before it started"),
            TaskError::Panicked(m) => write!(f, "task panicked: {m}"),
            TaskError::Lost(m) => write!(f, "task was lost: {m}"),
            TaskError::Broken(m) => write!(f, "pool is broken: {m}"),
            TaskError::Failed(e) => write!(f, "task failed: {e}"),
        }
    }
}

impl Error for TaskError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            TaskError::Failed(e) => Some(&**e),
            _ => None,
        }
    }
}

/// A bounded wait for a result ended without one: `result_timeout` / `get_timeout`.
#[derive(Clone, Debug)]
pub enum ResultTimeoutError {
    /// The task did not finish in time (Python: `TimeoutError`). It keeps running.
    Timeout,
    /// The task finished without a value.
    Failed(TaskError),
}

impl ResultTimeoutError {
    /// `true` for [`ResultTimeoutError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, ResultTimeoutError::Timeout)
    }
}

impl fmt::Display for ResultTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResultTimeoutError::Timeout => f.write_str("timed out waiting for the result"),
            ResultTimeoutError::Failed(e) => e.fmt(f),
        }
    }
}

impl Error for ResultTimeoutError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ResultTimeoutError::Timeout => None,
            ResultTimeoutError::Failed(e) => Some(e),
        }
    }
}

impl From<TaskError> for ResultTimeoutError {
    fn from(e: TaskError) -> Self {
        ResultTimeoutError::Failed(e)
    }
}

/// `submit` was refused; the job is handed back inside the error.
#[non_exhaustive]
pub enum SubmitError<J> {
    /// The executor is shut down (or closed). Python: `RuntimeError('cannot schedule new
    /// futures after shutdown')`.
    ShutDown(J),
    /// The pool is broken because its initializer panicked. Python: `BrokenThreadPool`.
    Broken(J),
    /// The pool had no worker and could not start one (the OS refused a new thread).
    Spawn(J, SpawnError),
    /// A process pool's job could not be serialised (its arguments, in the caller, at
    /// `submit`): nothing was queued. Python raises the pickling error at `result()`,
    /// after the fact (cpython#109554).
    Encode(J, EncodeError),
    /// A process pool has no live worker and the system refused to start one (`EAGAIN`,
    /// out of memory): the job is handed back rather than left waiting.
    Start(J, WorkerStartError),
    /// An executor that hands jobs to an outside engine (a distributed executor's Redis
    /// server) could not reach it: nothing was queued. Python (Celery): `OperationalError`
    /// from `apply_async`.
    Engine(J, EngineError),
}

/// A process pool's job could not be serialised at `submit`.
#[derive(Clone, Debug)]
pub struct EncodeError(pub(crate) Arc<str>);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the task's arguments cannot be serialised: {}", self.0)
    }
}

impl Error for EncodeError {}

impl EncodeError {
    /// An encoding failure described by `message`, for executors outside this crate that
    /// serialise their jobs themselves.
    pub fn new(message: impl Into<Arc<str>>) -> EncodeError {
        EncodeError(message.into())
    }
}

/// An executor's outside engine (a broker such as Redis) could not take a job.
#[derive(Clone, Debug)]
pub struct EngineError(Arc<str>);

impl EngineError {
    /// The engine's failure, described by `message`.
    pub fn new(message: impl Into<Arc<str>>) -> EngineError {
        EngineError(message.into())
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the job engine is unreachable: {}", self.0)
    }
}

impl Error for EngineError {}

/// A process pool could not start a worker process (the system's error, e.g. `EAGAIN`).
#[derive(Clone, Debug)]
pub struct WorkerStartError(pub(crate) Arc<str>);

impl fmt::Display for WorkerStartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not start a worker process: {}", self.0)
    }
}

impl Error for WorkerStartError {}

impl<J> SubmitError<J> {
    /// Takes the refused job back.
    pub fn into_inner(self) -> J {
        match self {
            SubmitError::ShutDown(j)
            | SubmitError::Broken(j)
            | SubmitError::Spawn(j, _)
            | SubmitError::Encode(j, _)
            | SubmitError::Start(j, _)
            | SubmitError::Engine(j, _) => j,
        }
    }

    /// `true` for [`SubmitError::ShutDown`].
    pub fn is_shut_down(&self) -> bool {
        matches!(self, SubmitError::ShutDown(_))
    }
}

impl<J> fmt::Debug for SubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::ShutDown(_) => f.write_str("ShutDown(..)"),
            SubmitError::Broken(_) => f.write_str("Broken(..)"),
            SubmitError::Spawn(_, e) => f.debug_tuple("Spawn").field(&"..").field(e).finish(),
            SubmitError::Encode(_, e) => f.debug_tuple("Encode").field(&"..").field(e).finish(),
            SubmitError::Start(_, e) => f.debug_tuple("Start").field(&"..").field(e).finish(),
            SubmitError::Engine(_, e) => f.debug_tuple("Engine").field(&"..").field(e).finish(),
        }
    }
}

impl<J> fmt::Display for SubmitError<J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::ShutDown(_) => f.write_str("cannot submit a task after shutdown"),
            SubmitError::Broken(_) => {
                f.write_str("cannot submit a task to a broken pool (its initializer panicked)")
            }
            SubmitError::Spawn(_, e) => write!(f, "could not start a worker thread: {e}"),
            SubmitError::Encode(_, e) => write!(f, "cannot submit the task: {e}"),
            SubmitError::Start(_, e) => write!(f, "cannot submit the task: {e}"),
            SubmitError::Engine(_, e) => write!(f, "cannot submit the task: {e}"),
        }
    }
}

impl<J> Error for SubmitError<J> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            SubmitError::Spawn(_, e) => Some(e),
            SubmitError::Encode(_, e) => Some(e),
            SubmitError::Start(_, e) => Some(e),
            SubmitError::Engine(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Why an item of a lazy `map` has no value.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum MapError {
    /// The item's task finished without a value.
    Failed(TaskError),
    /// The map's timeout passed before this item was ready (Python: `TimeoutError`); the
    /// items still in flight are cancelled and the iterator ends.
    Timeout,
    /// The executor refused to take the item (it was shut down); the iterator ends.
    ShutDown,
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::Failed(e) => e.fmt(f),
            MapError::Timeout => f.write_str("map timed out before the item was ready"),
            MapError::ShutDown => f.write_str("executor shut down before the item was submitted"),
        }
    }
}

impl Error for MapError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            MapError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// A deadline passed while waiting for futures ([`AsCompleted::next_timeout`],
/// [`AsCompleted::next_deadline`]). Like Python's `as_completed` timeout it says how many
/// futures were still unfinished: "2 (of 4) futures unfinished".
///
/// [`AsCompleted::next_timeout`]: crate::AsCompleted::next_timeout
/// [`AsCompleted::next_deadline`]: crate::AsCompleted::next_deadline
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutError {
    unfinished: usize,
    total: usize,
}

impl TimeoutError {
    pub(crate) fn new(unfinished: usize, total: usize) -> TimeoutError {
        TimeoutError { unfinished, total }
    }

    /// How many futures had not finished when the deadline passed.
    pub fn unfinished(&self) -> usize {
        self.unfinished
    }

    /// How many futures were being waited for in all.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (of {}) futures unfinished",
            self.unfinished, self.total
        )
    }
}

impl Error for TimeoutError {}

/// `AsyncResult::successful` was asked before the result was ready (Python: `ValueError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotReadyError;

impl fmt::Display for NotReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("result is not ready")
    }
}

impl Error for NotReadyError {}

/// `ThreadPool::join` was called before `close` or `terminate` (Python: `ValueError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotClosedError;

impl fmt::Display for NotClosedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pool is still running: call close() or terminate() before join()")
    }
}

impl Error for NotClosedError {}

/// A pool could not be built (zero workers, `max_tasks_per_child(0)`, or the OS refused
/// the first threads).
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    ZeroWorkers,
    ZeroTasksPerChild,
    Spawn(SpawnError),
    Start(WorkerStartError),
    Encode(EncodeError),
}

impl BuildError {
    pub(crate) fn zero_workers() -> BuildError {
        BuildError {
            kind: BuildErrorKind::ZeroWorkers,
        }
    }

    pub(crate) fn zero_tasks_per_child() -> BuildError {
        BuildError {
            kind: BuildErrorKind::ZeroTasksPerChild,
        }
    }

    pub(crate) fn spawn(e: SpawnError) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Spawn(e),
        }
    }

    pub(crate) fn start(e: WorkerStartError) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Start(e),
        }
    }

    pub(crate) fn encode(e: EncodeError) -> BuildError {
        BuildError {
            kind: BuildErrorKind::Encode(e),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::ZeroWorkers => f.write_str("the number of workers must be at least 1"),
            BuildErrorKind::ZeroTasksPerChild => {
                f.write_str("max_tasks_per_child must be at least 1")
            }
            BuildErrorKind::Spawn(e) => write!(f, "could not start a worker thread: {e}"),
            BuildErrorKind::Start(e) => e.fmt(f),
            BuildErrorKind::Encode(e) => write!(f, "initializer: {e}"),
        }
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            BuildErrorKind::ZeroWorkers | BuildErrorKind::ZeroTasksPerChild => None,
            BuildErrorKind::Spawn(e) => Some(e),
            BuildErrorKind::Start(e) => Some(e),
            BuildErrorKind::Encode(e) => Some(e),
        }
    }
}

/// `ThreadPool::apply` failed: the pool refused the job, or the job failed.
#[non_exhaustive]
pub enum ApplyError<F> {
    /// The pool is closed, terminated or broken; the job is handed back.
    Refused(SubmitError<F>),
    /// The job ran and failed.
    Failed(TaskError),
}

impl<F> fmt::Debug for ApplyError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
            ApplyError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<F> fmt::Display for ApplyError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Refused(e) => e.fmt(f),
            ApplyError::Failed(e) => e.fmt(f),
        }
    }
}

impl<F> Error for ApplyError<F> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ApplyError::Refused(e) => e.source(),
            ApplyError::Failed(e) => Some(e),
        }
    }
}

/// A blocking `ThreadPool::map` / `starmap` failed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PoolError {
    /// The pool is closed, terminated or broken (Python: `ValueError('Pool not running')`).
    NotRunning,
    /// An item failed; this is the first failure (Python re-raises it).
    Failed(TaskError),
    /// A process pool could not serialise an item, in the caller; nothing was queued.
    Encode(EncodeError),
    /// A process pool has no live worker and could not start one.
    Start(WorkerStartError),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NotRunning => f.write_str("pool is not running"),
            PoolError::Failed(e) => e.fmt(f),
            PoolError::Encode(e) => e.fmt(f),
            PoolError::Start(e) => e.fmt(f),
        }
    }
}

impl Error for PoolError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PoolError::NotRunning => None,
            PoolError::Failed(e) => Some(e),
            PoolError::Encode(e) => Some(e),
            PoolError::Start(e) => Some(e),
        }
    }
}
