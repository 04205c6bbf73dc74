//! Errors of the Manager and its proxies.

use std::fmt;
use std::io;

use crate::connection::ConnectError;
use crate::error::{RecvError, SendError};
use crate::manager::protocol::{Fault, Kind};

/// Why a [`Manager`](crate::Manager) operation or a proxy call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ManagerError {
    /// The server could not be reached or authenticated (a wrong authkey is
    /// [`ConnectError::Auth`]).
    Connect(ConnectError),
    /// The server process could not be started.
    Start(String),
    /// The server is gone (shut down, or its process died).
    Disconnected,
    /// The value could not be serialised (nothing was sent).
    Encode(String),
    /// The stored bytes are not a value of the proxy's type (another process stored
    /// another type under this object).
    Decode(String),
    /// The server answered with something this proxy did not ask for, or closed the
    /// connection for a request it could not read.
    Protocol(String),
    /// The object does not exist in this manager.
    NoSuchObject,
    /// A named object exists with another kind or other element types.
    TypeMismatch {
        /// The object's name.
        name: String,
        /// What this proxy holds (kind and Rust types).
        expected: String,
        /// What the manager holds under that name.
        found: String,
    },
    /// A list index outside the list (Python's `IndexError`).
    IndexOutOfRange {
        /// The index asked for (negative counts from the end).
        index: i64,
        /// The list's length.
        len: u64,
    },
    /// A bounded queue is full (Python's `queue.Full`).
    Full,
    /// The queue is empty or the list has nothing to pop (Python's `queue.Empty`).
    Empty,
    /// Release of a manager lock that is not held (Python's `RuntimeError: release
    /// unlocked lock`).
    NotLocked,
    /// `l.index(v)` or `l.remove(v)` of a value the list does not hold (Python's
    /// `ValueError: x not in list`).
    NotInList,
    /// `q.task_done()` called more times than there were items put (Python's
    /// `ValueError: task_done() called too many times`).
    TooManyTaskDone,
    /// The lock *was* acquired, but its previous holder's connection ended while holding
    /// it (its process died, say): what it protects may be half-updated. The lock is
    /// held; release it as usual.
    OwnerDied,
    /// The system refused.
    Io(io::Error),
}

impl ManagerError {
    /// Whether the server is gone.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, ManagerError::Disconnected)
    }

    /// Whether a queue was empty (or a list had nothing to pop): Python's
    /// `queue.Empty`.
    pub fn is_empty(&self) -> bool {
        matches!(self, ManagerError::Empty)
    }

    /// Whether a bounded queue was full: Python's `queue.Full`.
    pub fn is_full(&self) -> bool {
        matches!(self, ManagerError::Full)
    }

    /// Whether the authkey was refused (or the server failed to prove it).
    pub fn is_auth(&self) -> bool {
        matches!(self, ManagerError::Connect(e) if e.is_auth())
    }
}

impl fmt::Display for ManagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManagerError::Connect(e) => write!(f, "cannot reach the manager: {e}"),
            ManagerError::Start(e) => write!(f, "cannot start the manager process: {e}"),
            ManagerError::Disconnected => f.write_str("the manager is gone"),
            ManagerError::Encode(e) => write!(f, "value cannot be serialised: {e}"),
            ManagerError::Decode(e) => write!(f, "stored value is not of the proxy's type: {e}"),
            ManagerError::Protocol(e) => write!(f, "manager protocol error: {e}"),
            ManagerError::NoSuchObject => f.write_str("no such object in the manager"),
            ManagerError::TypeMismatch {
                name,
                expected,
                found,
            } => write!(f, "object {name:?} holds {found}, not {expected}"),
            ManagerError::IndexOutOfRange { index, len } => {
                write!(f, "list index {index} out of range for length {len}")
            }
            ManagerError::Full => f.write_str("the queue is full"),
            ManagerError::Empty => f.write_str("empty"),
            ManagerError::NotLocked => f.write_str("release of an unlocked lock"),
            ManagerError::NotInList => f.write_str("value not in list"),
            ManagerError::TooManyTaskDone => f.write_str("task_done() called too many times"),
            ManagerError::OwnerDied => f.write_str(
                "the lock's previous holder ended while holding it; the data it protects may be inconsistent",
            ),
            ManagerError::Io(e) => write!(f, "manager I/O failed: {e}"),
        }
    }
}

impl std::error::Error for ManagerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ManagerError::Connect(e) => Some(e),
            ManagerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConnectError> for ManagerError {
    fn from(e: ConnectError) -> ManagerError {
        ManagerError::Connect(e)
    }
}

impl From<io::Error> for ManagerError {
    fn from(e: io::Error) -> ManagerError {
        ManagerError::Io(e)
    }
}

impl From<SendError> for ManagerError {
    fn from(e: SendError) -> ManagerError {
        match e {
            SendError::Disconnected | SendError::Closed => ManagerError::Disconnected,
            SendError::Serialize(m) => ManagerError::Encode(m),
            other => ManagerError::Protocol(other.to_string()),
        }
    }
}

impl From<RecvError> for ManagerError {
    fn from(e: RecvError) -> ManagerError {
        match e {
            RecvError::Disconnected => ManagerError::Disconnected,
            other => ManagerError::Protocol(other.to_string()),
        }
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Dict => "dict",
        Kind::List => "list",
        Kind::Value => "Value",
        Kind::Namespace => "Namespace",
        Kind::Queue => "Queue",
        Kind::Lock => "Lock",
        Kind::Event => "Event",
    }
}

impl From<Fault> for ManagerError {
    fn from(f: Fault) -> ManagerError {
        match f {
            Fault::NoSuchObject(_) => ManagerError::NoSuchObject,
            Fault::WrongKind { expected, found } => ManagerError::TypeMismatch {
                name: String::new(),
                expected: kind_name(expected).into(),
                found: kind_name(found).into(),
            },
            Fault::TypeMismatch {
                name,
                expected,
                found,
            } => ManagerError::TypeMismatch {
                name,
                expected,
                found,
            },
            Fault::IndexOutOfRange { index, len } => ManagerError::IndexOutOfRange { index, len },
            Fault::Full => ManagerError::Full,
            Fault::Empty => ManagerError::Empty,
            Fault::NotLocked => ManagerError::NotLocked,
            Fault::NotInList => ManagerError::NotInList,
            Fault::TooManyTaskDone => ManagerError::TooManyTaskDone,
            Fault::Malformed(m) => ManagerError::Protocol(m),
        }
    }
}

/// A failed [`QueueProxy::put`](crate::QueueProxy::put): the value comes back.
pub struct ProxyPutError<T> {
    /// Why it failed.
    pub error: ManagerError,
    /// The value that was not put.
    pub value: T,
}

impl<T> ProxyPutError<T> {
    /// The value that was not put.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// Whether the queue was full (Python's `queue.Full`).
    pub fn is_full(&self) -> bool {
        matches!(self.error, ManagerError::Full)
    }
}

impl<T> fmt::Debug for ProxyPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyPutError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for ProxyPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "put failed: {}", self.error)
    }
}

impl<T> std::error::Error for ProxyPutError<T> {}
