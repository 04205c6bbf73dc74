//! The crate's error types, one per operation shape.

use std::error::Error;
use std::fmt;
use std::io;

/// A coroutine stack could not be created (Python has no counterpart: CPython's
/// generators live on the heap and greenlet copies stacks; a stackful coroutine needs
/// address space and, per guard page, memory mappings).
///
/// Returned by `Generator::try_new`, `GeneratorBuilder::build`, `Greenlet::try_new`
/// and the hub's `spawn`, never turned into a crash. The message says what to do.
///
/// # Examples
///
/// ```
/// use skein_coroutine::StackError;
///
/// fn advice(e: &StackError) -> &'static str {
///     if e.is_map_count_limit() {
///         "raise vm.max_map_count"
///     } else if e.is_address_space() {
///         "raise ulimit -v or use smaller stacks"
///     } else {
///         "see the message"
///     }
/// }
/// # let _ = advice;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StackError {
    /// The process reached Linux's `vm.max_map_count`: the kernel refused another
    /// memory mapping. Only reachable when guard pages are made with `mprotect`
    /// (kernels before 6.13, or `SKEIN_STACK_GUARD=mprotect`), where each live stack
    /// costs two mappings.
    MapCountLimit {
        /// The limit read from `/proc/sys/vm/max_map_count`, when readable.
        max_map_count: Option<u64>,
        /// Stacks handed out and not yet returned on the calling thread.
        live_on_thread: usize,
    },
    /// No address space (or commit charge) was left for a new region of stacks:
    /// `RLIMIT_AS` (`ulimit -v`) or the overcommit policy refused the `mmap`.
    AddressSpace {
        /// Bytes the refused reservation asked for.
        requested: usize,
        /// What the OS said.
        source: io::Error,
    },
    /// Another OS error from `mmap`, `madvise` or `mprotect`.
    Os {
        /// The call that failed.
        op: &'static str,
        /// What the OS said.
        source: io::Error,
    },
}

impl StackError {
    /// True when the cause is Linux's `vm.max_map_count`.
    pub fn is_map_count_limit(&self) -> bool {
        matches!(self, StackError::MapCountLimit { .. })
    }

    /// True when the cause is exhausted address space (`RLIMIT_AS`, overcommit).
    pub fn is_address_space(&self) -> bool {
        matches!(self, StackError::AddressSpace { .. })
    }
}

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StackError::MapCountLimit {
                max_map_count,
                live_on_thread,
            } => {
                write!(
                    f,
                    "cannot create a coroutine stack: the process reached vm.max_map_count"
                )?;
                if let Some(n) = max_map_count {
                    write!(f, " ({n} memory mappings)")?;
                }
                write!(
                    f,
                    "; each live stack with an mprotect guard page costs two mappings and \
                     {live_on_thread} stacks are live on this thread. Raise the limit with \
                     `sysctl -w vm.max_map_count=1048576` as root (persist it in \
                     /etc/sysctl.d/), run on Linux 6.13 or later where guard pages cost no \
                     mapping, or keep fewer coroutines alive"
                )
            }
            StackError::AddressSpace { requested, source } => write!(
                f,
                "cannot reserve {} KiB of address space for coroutine stacks ({source}); \
                 raise `ulimit -v` (RLIMIT_AS), use smaller stacks, or keep fewer coroutines alive",
                requested / 1024
            ),
            StackError::Os { op, source } => {
                write!(f, "cannot create a coroutine stack: {op} failed ({source})")
            }
        }
    }
}

impl Error for StackError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StackError::MapCountLimit { .. } => None,
            StackError::AddressSpace { source, .. } | StackError::Os { source, .. } => Some(source),
        }
    }
}

/// [`Generator::send`](crate::Generator::send) failed; the value is handed back.
#[derive(PartialEq, Eq)]
pub enum SendError<S> {
    /// The generator has not started: prime it with
    /// [`start`](crate::Generator::start) first (Python: `TypeError: can't send
    /// non-None value to a just-started generator`).
    NotStarted(S),
    /// The generator is finished (Python: `StopIteration`).
    Finished(S),
}

impl<S> SendError<S> {
    /// The value that was not sent.
    pub fn into_inner(self) -> S {
        match self {
            SendError::NotStarted(s) | SendError::Finished(s) => s,
        }
    }

    /// True for [`SendError::Finished`].
    pub fn is_finished(&self) -> bool {
        matches!(self, SendError::Finished(_))
    }
}

impl<S> fmt::Debug for SendError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotStarted(_) => f.write_str("NotStarted(..)"),
            SendError::Finished(_) => f.write_str("Finished(..)"),
        }
    }
}

impl<S> fmt::Display for SendError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotStarted(_) => f.write_str(
                "cannot send a value to a generator that has not started; call start() first",
            ),
            SendError::Finished(_) => f.write_str("cannot send a value to a finished generator"),
        }
    }
}

impl<S> Error for SendError<S> {}

/// [`Generator::start`](crate::Generator::start) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartError {
    /// It was started before: resume it with `send` or `next`.
    AlreadyStarted,
    /// It is finished (closed, thrown into, or its body ended).
    Finished,
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::AlreadyStarted => f.write_str("the generator has already started"),
            StartError::Finished => f.write_str("the generator is finished"),
        }
    }
}

impl Error for StartError {}

/// [`Greenlet::kill`](crate::Greenlet::kill) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KillError {
    /// The greenlet is the running one: return from it (or panic) instead.
    Current,
    /// A thread's root greenlet cannot be killed.
    Root,
}

impl fmt::Display for KillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillError::Current => f.write_str("cannot kill the running greenlet"),
            KillError::Root => f.write_str("cannot kill a thread's root greenlet"),
        }
    }
}

impl Error for KillError {}

/// [`Greenlet::set_parent`](crate::Greenlet::set_parent) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParentError {
    /// The new parent is the greenlet itself or one of its descendants.
    Cycle,
    /// A thread's root greenlet has no parent.
    Root,
}

impl fmt::Display for ParentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParentError::Cycle => f.write_str("cyclic parent chain"),
            ParentError::Root => f.write_str("a root greenlet has no parent"),
        }
    }
}

impl Error for ParentError {}
