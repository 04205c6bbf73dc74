//! Errors, one type per operation shape.
//!
//! Python raises `queue.Full`, `queue.Empty`, `queue.ShutDown` and `ValueError`; skein
//! returns a typed error whose variants say which of those happened. A failed put always
//! hands the item back (`into_inner`). `Debug` never requires `T: Debug`.

use std::error::Error;
use std::fmt;

/// A blocking [`put`](crate::Queue::put) failed because the queue was shut down.
///
/// Python raises `queue.ShutDown`. The item comes back in field `.0`
/// (or through [`into_inner`](PutError::into_inner)).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

impl<T> PutError<T> {
    /// Takes back the item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("put on a shut-down queue")
    }
}

impl<T> Error for PutError<T> {}

/// A non-blocking [`try_put`](crate::Queue::try_put) (Python `put_nowait`) failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue holds `maxsize` items (Python `queue.Full`).
    Full(T),
    /// The queue was shut down (Python `queue.ShutDown`).
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// Takes back the item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(t) | Self::ShutDown(t) => t,
        }
    }

    /// Whether the put failed because the queue was full.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the put failed because the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::ShutDown(_))
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("put on a full queue"),
            Self::ShutDown(_) => f.write_str("put on a shut-down queue"),
        }
    }
}

impl<T> Error for TryPutError<T> {}

impl<T> From<PutError<T>> for TryPutError<T> {
    fn from(e: PutError<T>) -> Self {
        Self::ShutDown(e.0)
    }
}

/// A [`put_timeout`](crate::Queue::put_timeout) or
/// [`put_deadline`](crate::Queue::put_deadline) failed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutTimeoutError<T> {
    /// The queue stayed full until the deadline (Python raises `queue.Full`).
    Timeout(T),
    /// The queue was shut down (Python `queue.ShutDown`).
    ShutDown(T),
}

impl<T> PutTimeoutError<T> {
    /// Takes back the item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            Self::Timeout(t) | Self::ShutDown(t) => t,
        }
    }

    /// Whether the put timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// Whether the put failed because the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("Timeout(..)"),
            Self::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(_) => f.write_str("timed out waiting for room in a full queue"),
            Self::ShutDown(_) => f.write_str("put on a shut-down queue"),
        }
    }
}

impl<T> Error for PutTimeoutError<T> {}

impl<T> From<PutError<T>> for PutTimeoutError<T> {
    fn from(e: PutError<T>) -> Self {
        Self::ShutDown(e.0)
    }
}

/// A blocking [`get`](crate::Queue::get) failed: the queue was shut down and nothing is
/// left in it (Python `queue.ShutDown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetError;

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("get on a shut-down, empty queue")
    }
}

impl Error for GetError {}

/// A non-blocking [`try_get`](crate::Queue::try_get) (Python `get_nowait`) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryGetError {
    /// Nothing to take right now (Python `queue.Empty`).
    Empty,
    /// The queue was shut down and nothing is left in it (Python `queue.ShutDown`).
    ShutDown,
}

impl TryGetError {
    /// Whether the queue was merely empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::ShutDown)
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("get on an empty queue"),
            Self::ShutDown => f.write_str("get on a shut-down, empty queue"),
        }
    }
}

impl Error for TryGetError {}

impl From<GetError> for TryGetError {
    fn from(_: GetError) -> Self {
        Self::ShutDown
    }
}

/// A [`get_timeout`](crate::Queue::get_timeout) or
/// [`get_deadline`](crate::Queue::get_deadline) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetTimeoutError {
    /// Nothing arrived before the deadline (Python raises `queue.Empty`).
    Timeout,
    /// The queue was shut down and nothing is left in it (Python `queue.ShutDown`).
    ShutDown,
}

impl GetTimeoutError {
    /// Whether the get timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout)
    }

    /// Whether the queue was shut down.
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Self::ShutDown)
    }
}

impl fmt::Display for GetTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out waiting for an item"),
            Self::ShutDown => f.write_str("get on a shut-down, empty queue"),
        }
    }
}

impl Error for GetTimeoutError {}

impl From<GetError> for GetTimeoutError {
    fn from(_: GetError) -> Self {
        Self::ShutDown
    }
}

/// [`task_done`](crate::Queue::task_done) was called more times than items were put
/// (Python raises `ValueError('task_done() called too many times')`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done called more times than items were put")
    }
}

impl Error for TaskDoneError {}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoDebug;

    #[test]
    fn debug_and_display_do_not_need_t_debug() {
        assert_eq!(format!("{:?}", TryPutError::Full(NoDebug)), "Full(..)");
        assert_eq!(
            format!("{}", TryPutError::ShutDown(NoDebug)),
            "put on a shut-down queue"
        );
        assert_eq!(
            format!("{:?}", PutTimeoutError::Timeout(NoDebug)),
            "Timeout(..)"
        );
        assert_eq!(format!("{:?}", PutError(NoDebug)), "PutError(..)");
        assert_eq!(GetError.to_string(), "get on a shut-down, empty queue");
        assert!(TaskDoneError.to_string().contains("task_done"));
    }

    #[test]
    fn items_come_back() {
        assert_eq!(TryPutError::Full(1).into_inner(), 1);
        assert_eq!(TryPutError::ShutDown(2).into_inner(), 2);
        assert_eq!(PutTimeoutError::Timeout(3).into_inner(), 3);
        assert_eq!(PutTimeoutError::ShutDown(4).into_inner(), 4);
        assert_eq!(PutError(5).into_inner(), 5);
        assert!(TryPutError::Full(()).is_full());
        assert!(PutTimeoutError::<()>::from(PutError(())).is_shutdown());
        assert!(TryGetError::from(GetError).is_shutdown());
        assert!(GetTimeoutError::Timeout.is_timeout());
    }
}
