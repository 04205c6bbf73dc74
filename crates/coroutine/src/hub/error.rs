//! The hub's error types.

use std::any::Any;
use std::fmt;

use crate::error::StackError;

/// Why [`JoinHandle::join`](super::JoinHandle::join) has no value: the task's error.
///
/// gevent keeps a greenlet's exception in `g.exception`; here it is the `Err` of `join`.
pub enum JoinError {
    /// The task panicked; the payload is kept (as `std::thread::JoinHandle::join` does).
    Panicked {
        /// The task's name.
        task: String,
        /// The panic payload.
        payload: Box<dyn Any + Send + 'static>,
    },
    /// The task was killed ([`JoinHandle::kill`](super::JoinHandle::kill), gevent's
    /// `GreenletExit`) before it returned.
    Killed,
    /// The task could not get a stack when it started (the kernel's memory-map limit,
    /// `vm.max_map_count`, or no address space); it never ran.
    Stack(StackError),
    /// The main context joined a task that can never finish: no task is ready, no timer
    /// is pending and no socket is awaited (gevent's `LoopExit`).
    WouldBlockForever,
    /// A task tried to join itself.
    JoinSelf,
}

impl JoinError {
    pub(crate) fn stack(e: StackError) -> Self {
        JoinError::Stack(e)
    }

    /// True when the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked { .. })
    }

    /// True when the task was killed.
    pub fn is_killed(&self) -> bool {
        matches!(self, JoinError::Killed)
    }

    /// The panic message, when the task panicked with a string.
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked { payload, .. } => panic_message(payload.as_ref()),
            _ => None,
        }
    }

    /// The panic payload, when the task panicked (to re-raise it with
    /// `std::panic::resume_unwind`).
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            JoinError::Panicked { payload, .. } => Some(payload),
            _ => None,
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked { task, payload } => match panic_message(payload.as_ref()) {
                Some(msg) => write!(f, "green task '{task}' panicked: {msg}"),
                None => write!(f, "green task '{task}' panicked"),
            },
            JoinError::Killed => f.write_str("green task was killed"),
            JoinError::Stack(e) => write!(f, "green task could not get a stack: {e}"),
            JoinError::WouldBlockForever => f.write_str(
                "join would block forever: no green task is ready, no timer is pending and \
                 no socket is awaited",
            ),
            JoinError::JoinSelf => f.write_str("a green task cannot join itself"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked { task, .. } => f
                .debug_struct("Panicked")
                .field("task", task)
                .field("message", &self.panic_message())
                .finish(),
            JoinError::Killed => f.write_str("Killed"),
            JoinError::Stack(e) => f.debug_tuple("Stack").field(e).finish(),
            JoinError::WouldBlockForever => f.write_str("WouldBlockForever"),
            JoinError::JoinSelf => f.write_str("JoinSelf"),
        }
    }
}

impl std::error::Error for JoinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JoinError::Stack(e) => Some(e),
            _ => None,
        }
    }
}

/// [`Builder::try_spawn`](super::Builder::try_spawn) could not get a stack for the task
/// (at Linux's `vm.max_map_count` cap, or out of memory). The closure is handed back.
pub struct SpawnError<F> {
    error: StackError,
    f: F,
}

impl<F> SpawnError<F> {
    pub(crate) fn new(error: StackError, f: F) -> Self {
        SpawnError { error, f }
    }

    /// The closure that was not spawned.
    pub fn into_inner(self) -> F {
        self.f
    }

    /// Why no stack could be had ([`StackError::is_map_count_limit`] at the cap).
    pub fn stack_error(&self) -> &StackError {
        &self.error
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot spawn a green task: {}", self.error)
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<F> std::error::Error for SpawnError<F> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A [`with_timeout`](super::with_timeout) scope ran out of time (gevent's `Timeout`
/// exception).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout {
    pub(crate) after: std::time::Duration,
}

impl Timeout {
    /// The scope's time limit.
    pub fn duration(&self) -> std::time::Duration {
        self.after
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.after)
    }
}

impl std::error::Error for Timeout {}
