//! Errors of the cross-process queues: the same shapes as skein-queue's, plus
//! [`CodecError`] for values that cannot be (de)serialised.

use std::fmt;

/// A value could not be serialised (at `put`, in the caller) or deserialised (at `get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    message: String,
}

impl CodecError {
    pub(crate) fn new(e: postcard::Error) -> CodecError {
        CodecError {
            message: e.to_string(),
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "serialisation failed: {}", self.message)
    }
}

impl std::error::Error for CodecError {}

macro_rules! put_error {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $msg:literal, $is:ident;)* }) => {
        $(#[$doc])*
        pub enum $name<T> {
            $($(#[$vdoc])* $variant(T),)*
            /// The value could not be serialised; nothing was sent.
            Unencodable(T, CodecError),
        }

        impl<T> $name<T> {
            /// The value that was not put.
            pub fn into_inner(self) -> T {
                match self {
                    $($name::$variant(t) => t,)*
                    $name::Unencodable(t, _) => t,
                }
            }
            $(
                #[doc = concat!("Whether this is `", stringify!($variant), "`.")]
                pub fn $is(&self) -> bool {
                    matches!(self, $name::$variant(_))
                }
            )*
        }

        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$variant(_) => f.write_str(concat!(stringify!($variant), "(..)")),)*
                    $name::Unencodable(_, e) => f.debug_tuple("Unencodable").field(&"..").field(e).finish(),
                }
            }
        }

        impl<T> fmt::Display for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$variant(_) => f.write_str($msg),)*
                    $name::Unencodable(_, e) => write!(f, "cannot put the value: {e}"),
                }
            }
        }

        impl<T> std::error::Error for $name<T> {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                match self {
                    $name::Unencodable(_, e) => Some(e),
                    _ => None,
                }
            }
        }
    };
}

put_error! {
    /// Why a blocking `put` failed; the value comes back inside.
    PutError {
        /// The queue was shut down (Python's `ShutDown`).
        ShutDown => "sending on a shut-down queue", is_shutdown;
    }
}

put_error! {
    /// Why `try_put` (Python's `put_nowait`) failed; the value comes back inside.
    TryPutError {
        /// The queue is full (Python's `Full`).
        Full => "sending on a full queue", is_full;
        /// The queue was shut down.
        ShutDown => "sending on a shut-down queue", is_shutdown;
    }
}

put_error! {
    /// Why `put_timeout`/`put_deadline` failed; the value comes back inside.
    PutTimeoutError {
        /// The queue stayed full until the deadline (Python's `Full`).
        Timeout => "timed out waiting for room in the queue", is_timeout;
        /// The queue was shut down.
        ShutDown => "sending on a shut-down queue", is_shutdown;
    }
}

/// Why a blocking `get` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetError {
    /// The queue was shut down (immediately, or gracefully and is now empty).
    ShutDown,
    /// A message could not be deserialised as `T` (it is dropped).
    Undecodable(CodecError),
}

/// Why `try_get` (Python's `get_nowait`) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TryGetError {
    /// Nothing to take (Python's `Empty`).
    Empty,
    /// The queue was shut down.
    ShutDown,
    /// A message could not be deserialised as `T` (it is dropped).
    Undecodable(CodecError),
}

/// Why `get_timeout`/`get_deadline` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetTimeoutError {
    /// Nothing arrived before the deadline (Python's `Empty`).
    Timeout,
    /// The queue was shut down.
    ShutDown,
    /// A message could not be deserialised as `T` (it is dropped).
    Undecodable(CodecError),
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::ShutDown => f.write_str("receiving from a shut-down queue"),
            GetError::Undecodable(e) => write!(f, "cannot decode a message: {e}"),
        }
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("receiving from an empty queue"),
            TryGetError::ShutDown => f.write_str("receiving from a shut-down queue"),
            TryGetError::Undecodable(e) => write!(f, "cannot decode a message: {e}"),
        }
    }
}

impl fmt::Display for GetTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetTimeoutError::Timeout => f.write_str("timed out waiting for an item"),
            GetTimeoutError::ShutDown => f.write_str("receiving from a shut-down queue"),
            GetTimeoutError::Undecodable(e) => write!(f, "cannot decode a message: {e}"),
        }
    }
}

impl std::error::Error for GetError {}
impl std::error::Error for TryGetError {}
impl std::error::Error for GetTimeoutError {}

/// `task_done` called more times than items were put (Python's `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}

/// `join` found that consumers died holding tasks they had taken with `get` and not
/// marked done — beyond Python, whose `join()` then waits forever.
///
/// The tasks are written off when this is reported (a later `join` waits only for the
/// others); what to do about them (put them again, give up) is the caller's call. With
/// [`OnLostTasks::CountDone`](super::OnLostTasks::CountDone) they count as done instead
/// and nothing is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostTasks {
    holders: Vec<(u32, usize)>,
}

impl LostTasks {
    pub(crate) fn new(holders: Vec<(u32, usize)>) -> LostTasks {
        LostTasks { holders }
    }

    /// How many tasks were lost.
    pub fn count(&self) -> usize {
        self.holders.iter().map(|&(_, n)| n).sum()
    }

    /// Each dead consumer's pid with the number of tasks it held.
    pub fn holders(&self) -> &[(u32, usize)] {
        &self.holders
    }
}

impl fmt::Display for LostTasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} task(s) lost with their consumer(s):", self.count())?;
        for (i, (pid, n)) in self.holders.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{n} with pid {pid}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LostTasks {}
