//! Errors of the shared-memory types.

use std::fmt;

/// Creating, attaching or mapping shared memory failed.
///
/// Out of memory, out of descriptors, a name that does not exist: an error to the caller,
/// never a panic.
#[derive(Debug)]
pub struct ShmError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Io {
        op: &'static str,
        source: std::io::Error,
    },
    Invalid(&'static str),
}

impl ShmError {
    pub(crate) fn io(op: &'static str, source: std::io::Error) -> ShmError {
        ShmError {
            kind: Kind::Io { op, source },
        }
    }

    pub(crate) fn invalid(why: &'static str) -> ShmError {
        ShmError {
            kind: Kind::Invalid(why),
        }
    }

    /// Whether the error is "no segment with that name" (Python's `FileNotFoundError`).
    pub fn is_not_found(&self) -> bool {
        matches!(&self.kind, Kind::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Io { op, source } => write!(f, "shared memory: {op} failed: {source}"),
            Kind::Invalid(why) => write!(f, "shared memory: {why}"),
        }
    }
}

impl std::error::Error for ShmError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Io { source, .. } => Some(source),
            Kind::Invalid(_) => None,
        }
    }
}

/// An index past the end of an `Array` or a range past the end of a `SharedMemory`
/// (Python's `IndexError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexError {
    /// The index (or end of the range) asked for.
    pub index: usize,
    /// The length of the array or segment.
    pub len: usize,
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index {} out of range for length {}",
            self.index, self.len
        )
    }
}

impl std::error::Error for IndexError {}
