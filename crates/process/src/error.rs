//! Error types, one per operation shape.

use std::fmt;
use std::io;

/// The private cause of a [`StartError`](crate::StartError).
#[derive(Debug)]
pub(crate) enum StartCause {
    /// The system refused (`fork`/`exec` failed: `EAGAIN`, `ENOMEM`, a missing
    /// executable, …), or the bootstrap conversation with the child failed.
    Os(io::Error),
    /// The arguments could not be serialised for a `Spawn`/`Forkserver` child.
    Serialize(String),
    /// `Spawn`/`Forkserver` was asked for but this binary never called
    /// [`init`](crate::init) (or [`test_support!`](crate::test_support)).
    NotInitialized,
    /// A closure target can only run under `Fork`.
    ClosureNeedsFork,
    /// The forkserver is gone or answered nonsense.
    Forkserver(String),
    /// The executable is not this program: another binary (its identity differs:
    /// both are named), or a program that ended without answering the bootstrap.
    WrongExecutable(String),
    /// The child or forkserver did not answer within the start timeout (the message
    /// says what was waited for); it was killed.
    Timeout(String),
}

/// Why an operation on a started process ([`ProcessHandle`](crate::ProcessHandle))
/// failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// The handle was [`close`](crate::ProcessHandle::close)d.
    Closed,
    /// [`close`](crate::ProcessHandle::close) was called while the process runs.
    StillRunning,
    /// Only the process that started a child can wait for or signal it (Python:
    /// "can only join a child process").
    NotOurChild,
    /// The forkserver that ran the child died before reporting its exit status.
    Lost,
    /// The system refused.
    Os(io::Error),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::Closed => f.write_str("the process handle was closed"),
            ProcessError::StillRunning => {
                f.write_str("cannot close a process that is still running; join it first")
            }
            ProcessError::NotOurChild => {
                f.write_str("can only wait for or signal a child of the current process")
            }
            ProcessError::Lost => {
                f.write_str("the forkserver died before reporting the child's exit status")
            }
            ProcessError::Os(e) => write!(f, "process operation failed: {e}"),
        }
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProcessError::Os(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ProcessError {
    fn from(e: io::Error) -> ProcessError {
        ProcessError::Os(e)
    }
}

/// Why [`Connection::send`](crate::Connection::send) (or `send_bytes`) failed. Nothing
/// was written when the value could not be serialised or was too large.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The value could not be serialised (nothing was sent).
    Serialize(String),
    /// The frame is larger than the connection's maximum (nothing was sent).
    TooLarge {
        /// The frame's length in bytes.
        len: usize,
        /// The connection's maximum frame length.
        max: usize,
    },
    /// The other end is gone.
    Disconnected,
    /// This end of a one-way pipe is for receiving only.
    NotWritable,
    /// The connection was closed or an earlier error left the stream unusable.
    Closed,
    /// The system refused.
    Io(io::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Serialize(e) => write!(f, "value cannot be serialised: {e}"),
            SendError::TooLarge { len, max } => {
                write!(
                    f,
                    "frame of {len} bytes is larger than the maximum of {max} bytes"
                )
            }
            SendError::Disconnected => {
                f.write_str("sending on a connection whose other end is gone")
            }
            SendError::NotWritable => f.write_str("this end of a one-way pipe cannot send"),
            SendError::Closed => f.write_str("the connection is closed"),
            SendError::Io(e) => write!(f, "send failed: {e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Connection::recv`](crate::Connection::recv) (or `recv_bytes`) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvError {
    /// The other end is gone and every frame it sent was received (Python's
    /// `EOFError`).
    Disconnected,
    /// The other end went away in the middle of a frame.
    Truncated {
        /// The length the frame header announced.
        expected: usize,
        /// The bytes of it that arrived.
        got: usize,
    },
    /// The frame header is not one skein writes: the stream is not a skein pipe or is
    /// corrupt. The connection is unusable afterwards.
    Corrupt(String),
    /// The frame header announces more than the connection's maximum. Nothing of that
    /// size was allocated; the connection is unusable afterwards.
    TooLarge {
        /// The announced length.
        len: usize,
        /// The connection's maximum frame length.
        max: usize,
    },
    /// The frame arrived whole but does not decode as the asked-for type.
    Deserialize(String),
    /// This end of a one-way pipe is for sending only.
    NotReadable,
    /// The connection was closed or an earlier error left the stream unusable.
    Closed,
    /// The message does not fit in the caller's buffer after the offset
    /// ([`recv_bytes_into_at`](crate::Connection::recv_bytes_into_at)); here it is,
    /// whole (Python's `BufferTooShort`, whose `args[0]` is the message).
    BufferTooShort(Vec<u8>),
    /// The offset given to [`recv_bytes_into_at`](crate::Connection::recv_bytes_into_at)
    /// is past the buffer's end; nothing was received.
    OffsetOutOfRange {
        /// The offset asked for.
        offset: usize,
        /// The buffer's length.
        len: usize,
    },
    /// The system refused.
    Io(io::Error),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Disconnected => {
                f.write_str("receiving on a connection whose other end is gone")
            }
            RecvError::Truncated { expected, got } => write!(
                f,
                "the other end went away in the middle of a frame ({got} of {expected} bytes)"
            ),
            RecvError::Corrupt(e) => write!(f, "corrupt frame: {e}"),
            RecvError::TooLarge { len, max } => write!(
                f,
                "frame of {len} bytes announced, larger than the maximum of {max} bytes"
            ),
            RecvError::Deserialize(e) => write!(f, "frame does not decode: {e}"),
            RecvError::NotReadable => f.write_str("this end of a one-way pipe cannot receive"),
            RecvError::Closed => f.write_str("the connection is closed"),
            RecvError::BufferTooShort(m) => write!(
                f,
                "the message of {} bytes does not fit in the buffer after the offset",
                m.len()
            ),
            RecvError::OffsetOutOfRange { offset, len } => {
                write!(
                    f,
                    "offset {offset} is past the end of a buffer of {len} bytes"
                )
            }
            RecvError::Io(e) => write!(f, "receive failed: {e}"),
        }
    }
}

impl std::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecvError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Connection::recv_timeout`](crate::Connection::recv_timeout) returned without
/// a value.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// Nothing (or only part of a frame) arrived in time; a partial frame is kept and
    /// completed by the next receive.
    Timeout,
    /// The receive failed.
    Recv(RecvError),
}

impl RecvTimeoutError {
    /// Whether the wait timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RecvTimeoutError::Timeout)
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(e: RecvError) -> RecvTimeoutError {
        RecvTimeoutError::Recv(e)
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on a receive operation"),
            RecvTimeoutError::Recv(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RecvTimeoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecvTimeoutError::Recv(e) => Some(e),
            RecvTimeoutError::Timeout => None,
        }
    }
}
