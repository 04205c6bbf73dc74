//! Error types: one per operation shape (spawn, join, join with a timeout, stack size).

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::{Mutex, PoisonError};

use crate::handle::JoinHandle;

/// The smallest stack size skein accepts, in bytes (Python's `threading.stack_size` rejects
/// anything below 32 KiB too).
pub const MIN_STACK_SIZE: usize = 32 * 1024;

/// Starting a thread failed.
///
/// Python raises `RuntimeError("can't start new thread")`; skein returns this error from
/// [`Builder::spawn`](crate::Builder::spawn), [`Run::start`](crate::Run::start) and
/// [`Timer::start`](crate::Timer::start). The thread was never registered, so it never shows
/// up in [`enumerate`](crate::enumerate).
///
/// # Examples
///
/// ```
/// let err = skein_threads::Builder::new().stack_size(1).spawn(|| ()).unwrap_err();
/// assert!(err.is_invalid_stack_size());
/// println!("{err}");
/// ```
pub struct SpawnError {
    kind: SpawnErrorKind,
}

enum SpawnErrorKind {
    /// The operating system refused to create the thread (e.g. `EAGAIN`).
    Os(io::Error),
    /// The requested stack size is below [`MIN_STACK_SIZE`].
    StackSize(usize),
}

impl SpawnError {
    pub(crate) fn os(err: io::Error) -> Self {
        SpawnError {
            kind: SpawnErrorKind::Os(err),
        }
    }

    pub(crate) fn stack_size(size: usize) -> Self {
        SpawnError {
            kind: SpawnErrorKind::StackSize(size),
        }
    }

    /// Whether the requested stack size was too small (below [`MIN_STACK_SIZE`]).
    pub fn is_invalid_stack_size(&self) -> bool {
        matches!(self.kind, SpawnErrorKind::StackSize(_))
    }

    /// The operating system's error, when the OS refused to create the thread.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.kind {
            SpawnErrorKind::Os(e) => Some(e),
            SpawnErrorKind::StackSize(_) => None,
        }
    }
}

impl fmt::Debug for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SpawnErrorKind::Os(e) => f.debug_tuple("SpawnError::Os").field(e).finish(),
            SpawnErrorKind::StackSize(s) => {
                f.debug_tuple("SpawnError::StackSize").field(s).finish()
            }
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SpawnErrorKind::Os(e) => write!(f, "can't start new thread: {e}"),
            SpawnErrorKind::StackSize(s) => write!(
                f,
                "stack size of {s} bytes is too small (the minimum is {MIN_STACK_SIZE} bytes)"
            ),
        }
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            SpawnErrorKind::Os(e) => Some(e),
            SpawnErrorKind::StackSize(_) => None,
        }
    }
}

/// `threading.stack_size(size)` was given a size that is too small.
///
/// # Examples
///
/// ```
/// let err = skein_threads::set_stack_size(100).unwrap_err();
/// assert_eq!(err.requested(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackSizeError {
    requested: usize,
}

impl StackSizeError {
    pub(crate) fn new(requested: usize) -> Self {
        StackSizeError { requested }
    }

    /// The size that was refused, in bytes.
    pub fn requested(&self) -> usize {
        self.requested
    }
}

impl fmt::Display for StackSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stack size of {} bytes is too small (the minimum is {MIN_STACK_SIZE} bytes, or 0 for the platform default)",
            self.requested
        )
    }
}

impl Error for StackSizeError {}

/// Joining a thread failed: it panicked, it is the calling thread, or (for the `_timeout`
/// and `_deadline` joins of a [`Thread`](crate::Thread)) it is still running.
///
/// Python's `join()` never reports the exception of the target (it goes to
/// `threading.excepthook`); skein reports it to the excepthook *and* returns it here, like
/// `std::thread::JoinHandle::join`. Joining the current thread is Python's
/// `RuntimeError("cannot join current thread")`: an error, never a deadlock.
///
/// # Examples
///
/// ```
/// skein_threads::set_excepthook(|_| {}); // keep the doctest's output quiet
/// let handle = skein_threads::Builder::new()
///     .name("doomed")
///     .spawn(|| -> u32 { panic!("boom") })
///     .unwrap();
/// let err = handle.join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.thread_name(), "doomed");
/// assert_eq!(err.panic_message(), Some("boom"));
/// skein_threads::reset_excepthook();
/// ```
pub struct JoinError {
    thread_name: String,
    kind: JoinErrorKind,
}

enum JoinErrorKind {
    /// The thread panicked; the payload is there when the error came from
    /// [`JoinHandle::join`].
    Panicked {
        message: String,
        /// In a `Mutex` only to make `JoinError` `Sync` (so it converts into
        /// `Box<dyn Error + Send + Sync>`); it is never locked, only moved out.
        payload: Option<Mutex<Box<dyn Any + Send + 'static>>>,
    },
    /// The thread tried to join itself.
    CurrentThread,
    /// The thread was started elsewhere (Python's dummy thread).
    NotJoinable,
    /// The timeout elapsed while the thread was still running.
    Timeout,
    /// The thread belongs to the parent of this forked child: it does not run here.
    LostInFork,
}

impl JoinError {
    pub(crate) fn panicked(
        thread_name: String,
        message: String,
        payload: Option<Box<dyn Any + Send + 'static>>,
    ) -> Self {
        JoinError {
            thread_name,
            kind: JoinErrorKind::Panicked {
                message,
                payload: payload.map(Mutex::new),
            },
        }
    }

    pub(crate) fn current_thread(thread_name: String) -> Self {
        JoinError {
            thread_name,
            kind: JoinErrorKind::CurrentThread,
        }
    }

    pub(crate) fn not_joinable(thread_name: String) -> Self {
        JoinError {
            thread_name,
            kind: JoinErrorKind::NotJoinable,
        }
    }

    pub(crate) fn lost_in_fork(thread_name: String) -> Self {
        JoinError {
            thread_name,
            kind: JoinErrorKind::LostInFork,
        }
    }

    pub(crate) fn timeout(thread_name: String) -> Self {
        JoinError {
            thread_name,
            kind: JoinErrorKind::Timeout,
        }
    }

    /// The name of the thread that was joined.
    pub fn thread_name(&self) -> &str {
        &self.thread_name
    }

    /// Whether the thread ended by panicking.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Panicked { .. })
    }

    /// Whether the join was refused because the thread tried to join itself.
    pub fn is_current_thread(&self) -> bool {
        matches!(self.kind, JoinErrorKind::CurrentThread)
    }

    /// Whether the join was refused because the thread was started elsewhere and skein
    /// only knows it through `current_thread` (Python's `RuntimeError: cannot join a dummy
    /// thread`). The refusal is immediate; nothing waits.
    pub fn is_not_joinable(&self) -> bool {
        matches!(self.kind, JoinErrorKind::NotJoinable)
    }

    /// Whether the timeout elapsed while the thread was still running.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Timeout)
    }

    /// Whether the thread's [`JoinHandle`] was joined in a child made by `fork` (see
    /// [`ForkGuard`](crate::ForkGuard)), where the thread does not exist: only the thread
    /// that forked crosses a fork, so its value stays in the parent. The refusal is
    /// immediate. (Python's `join` returns at once there too, having no value to give;
    /// [`Thread::join`](crate::Thread::join) does the same.)
    pub fn is_lost_in_fork(&self) -> bool {
        matches!(self.kind, JoinErrorKind::LostInFork)
    }

    /// The panic message (the `&str` or `String` the thread panicked with), if it panicked.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            JoinErrorKind::Panicked { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The panic payload, to re-raise it with [`std::panic::resume_unwind`].
    ///
    /// # Errors
    ///
    /// Gives the error back when it is not a panic, or when it came from
    /// [`Thread::join`](crate::Thread::join), which reports the message but cannot own the
    /// payload (only the [`JoinHandle`] does).
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.kind {
            JoinErrorKind::Panicked {
                payload: Some(payload),
                ..
            } => Ok(payload.into_inner().unwrap_or_else(PoisonError::into_inner)),
            kind => Err(JoinError {
                thread_name: self.thread_name,
                kind,
            }),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("JoinError");
        d.field("thread_name", &self.thread_name);
        match &self.kind {
            JoinErrorKind::Panicked { message, .. } => d.field("panicked", message),
            JoinErrorKind::CurrentThread => d.field("current_thread", &true),
            JoinErrorKind::NotJoinable => d.field("not_joinable", &true),
            JoinErrorKind::Timeout => d.field("timeout", &true),
            JoinErrorKind::LostInFork => d.field("lost_in_fork", &true),
        };
        d.finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.thread_name;
        match &self.kind {
            JoinErrorKind::Panicked { message, .. } => {
                write!(f, "thread '{name}' panicked: {message}")
            }
            JoinErrorKind::CurrentThread => {
                write!(
                    f,
                    "cannot join current thread '{name}' (it would wait for itself forever)"
                )
            }
            JoinErrorKind::NotJoinable => write!(
                f,
                "cannot join thread '{name}': it was started outside skein, which has no way \
                 to wait for its end (Python: cannot join a dummy thread)"
            ),
            JoinErrorKind::Timeout => {
                write!(f, "timed out joining thread '{name}'; it is still running")
            }
            JoinErrorKind::LostInFork => write!(
                f,
                "cannot join thread '{name}': it belongs to the parent of this forked \
                 process, where only the forking thread was copied"
            ),
        }
    }
}

impl Error for JoinError {}

/// [`JoinHandle::join_timeout`] or [`JoinHandle::join_deadline`] failed.
///
/// On a timeout the handle comes back inside the error, so nothing is lost: join again
/// later, or drop it to detach the thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let handle = skein_threads::spawn(move || rx.recv().is_ok()).unwrap();
/// let err = handle.join_timeout(Duration::from_millis(10)).unwrap_err();
/// let handle = err.into_handle().expect("it timed out, so the handle comes back");
/// drop(tx);
/// assert_eq!(handle.join().unwrap(), false);
/// ```
pub enum JoinTimeoutError<T> {
    /// The thread is still running; here is its handle back.
    Timeout(JoinHandle<T>),
    /// The thread ended but the join failed (it panicked, or it is the calling thread).
    Failed(JoinError),
}

impl<T> JoinTimeoutError<T> {
    /// Whether the timeout elapsed while the thread was still running.
    pub fn is_timeout(&self) -> bool {
        matches!(self, JoinTimeoutError::Timeout(_))
    }

    /// The handle, when the join timed out.
    pub fn into_handle(self) -> Option<JoinHandle<T>> {
        match self {
            JoinTimeoutError::Timeout(handle) => Some(handle),
            JoinTimeoutError::Failed(_) => None,
        }
    }

    /// The join error, when the join itself failed.
    pub fn into_join_error(self) -> Option<JoinError> {
        match self {
            JoinTimeoutError::Timeout(_) => None,
            JoinTimeoutError::Failed(e) => Some(e),
        }
    }
}

impl<T> fmt::Debug for JoinTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinTimeoutError::Timeout(h) => f
                .debug_tuple("Timeout")
                .field(&format_args!("JoinHandle({:?})", h.thread().name()))
                .finish(),
            JoinTimeoutError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
        }
    }
}

impl<T> fmt::Display for JoinTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinTimeoutError::Timeout(h) => write!(
                f,
                "timed out joining thread '{}'; it is still running",
                h.thread().name()
            ),
            JoinTimeoutError::Failed(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl<T> Error for JoinTimeoutError<T> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            JoinTimeoutError::Timeout(_) => None,
            JoinTimeoutError::Failed(e) => Some(e),
        }
    }
}

/// The text of a panic payload: the `&str` or `String` it carries, or a placeholder.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let s: Box<dyn Any + Send> = Box::new("static");
        let owned: Box<dyn Any + Send> = Box::new(String::from("owned"));
        let other: Box<dyn Any + Send> = Box::new(3u8);
        assert_eq!(panic_message(&*s), "static");
        assert_eq!(panic_message(&*owned), "owned");
        assert_eq!(panic_message(&*other), "Box<dyn Any>");
    }

    #[test]
    fn messages_are_lowercase_and_name_the_thread() {
        let e = JoinError::current_thread("me".into());
        assert_eq!(
            e.to_string(),
            "cannot join current thread 'me' (it would wait for itself forever)"
        );
        assert!(
            JoinError::timeout("t".into())
                .to_string()
                .starts_with("timed out")
        );
        let e = SpawnError::stack_size(10);
        assert!(e.to_string().starts_with("stack size of 10 bytes"));
        assert!(e.source().is_none());
        let e = SpawnError::os(io::Error::from(io::ErrorKind::WouldBlock));
        assert!(e.to_string().starts_with("can't start new thread"));
        assert!(e.source().is_some());
        assert!(e.io_error().is_some());
    }

    #[test]
    fn try_into_panic_gives_back_errors_without_a_payload() {
        let e = JoinError::panicked("t".into(), "m".into(), None);
        let e = e.try_into_panic().unwrap_err();
        assert_eq!(e.panic_message(), Some("m"));
        let e = JoinError::panicked("t".into(), "m".into(), Some(Box::new(1u8)));
        assert_eq!(e.try_into_panic().unwrap().downcast_ref::<u8>(), Some(&1));
    }
}
