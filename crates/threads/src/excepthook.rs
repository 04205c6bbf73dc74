//! `threading.excepthook`: what happens to a panic that escapes a thread's closure.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use crate::error::panic_message;
use crate::thread::Thread;

pub(crate) type Hook = Arc<dyn Fn(&ExceptHookArgs<'_>) + Send + Sync + 'static>;

/// The hook. A `std` lock (a futex on Linux), held across `fork` by the forking thread
/// (see [`crate::fork`]), so that the child's unlock stays within this word.
static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// The hook's lock, for writing (also taken across `fork`). Nothing panics under it.
pub(crate) fn lock_for_fork() -> RwLockWriteGuard<'static, Option<Hook>> {
    HOOK.write().unwrap_or_else(PoisonError::into_inner)
}

/// What the excepthook is told about a panic (Python's `threading.ExceptHookArgs`).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// skein_threads::set_excepthook(move |args| {
///     log.lock().unwrap().push(format!("{} -> {}", args.thread().name(), args.message()));
/// });
/// let handle = skein_threads::Builder::new().name("worker").spawn(|| panic!("boom")).unwrap();
/// assert!(handle.join().is_err());
/// skein_threads::reset_excepthook();
/// assert!(seen.lock().unwrap().contains(&"worker -> boom".to_string()));
/// ```
pub struct ExceptHookArgs<'a> {
    thread: &'a Thread,
    payload: &'a (dyn Any + Send + 'static),
}

impl<'a> ExceptHookArgs<'a> {
    /// The thread that panicked (Python's `args.thread`).
    pub fn thread(&self) -> &'a Thread {
        self.thread
    }

    /// The panic payload (Python's `args.exc_value`).
    pub fn payload(&self) -> &'a (dyn Any + Send + 'static) {
        self.payload
    }

    /// The panic message: the `&str` or `String` payload, or `Box<dyn Any>` for other
    /// payloads.
    pub fn message(&self) -> &'a str {
        panic_message(self.payload)
    }
}

impl fmt::Debug for ExceptHookArgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExceptHookArgs")
            .field("thread", &self.thread.name())
            .field("message", &self.message())
            .finish()
    }
}

/// Replaces the hook called when a skein thread panics (Python's
/// `threading.excepthook = hook`). It runs on the panicking thread, after Rust's own panic
/// hook has printed the location, and before joiners are woken.
///
/// A hook that panics itself is reported on stderr as
/// `Exception in threading.excepthook:` and otherwise ignored, as in Python.
///
/// # Examples
///
/// See [`ExceptHookArgs`].
pub fn set_excepthook<F>(hook: F)
where
    F: Fn(&ExceptHookArgs<'_>) + Send + Sync + 'static,
{
    *lock_for_fork() = Some(Arc::new(hook));
}

/// Puts the default hook back (Python's `threading.excepthook =
/// threading.__excepthook__`).
pub fn reset_excepthook() {
    *lock_for_fork() = None;
}

/// The default hook (Python's `threading.__excepthook__`): prints
///
/// ```text
/// Exception in thread NAME:
/// panicked: MESSAGE
/// ```
///
/// to stderr. Rust's panic hook has already printed where the panic happened (Python's
/// traceback), so the two together read like Python's report.
pub fn default_excepthook(args: &ExceptHookArgs<'_>) {
    // `eprint!` (not a raw stderr handle) so the test harness captures it; `report`
    // contains the panic should stderr be closed.
    eprint!(
        "Exception in thread {}:\npanicked: {}\n",
        args.thread().name(),
        args.message()
    );
}

/// Reports a panic of `thread` to the current hook. Never panics.
pub(crate) fn report(thread: &Thread, payload: &(dyn Any + Send + 'static)) {
    let hook = HOOK.read().unwrap_or_else(PoisonError::into_inner).clone();
    let args = ExceptHookArgs { thread, payload };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| match &hook {
        Some(hook) => hook(&args),
        None => default_excepthook(&args),
    }));
    if let Err(hook_payload) = outcome {
        // Printing (stderr closed) and dropping a payload can panic too; never let that
        // escape.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || {
            eprint!(
                "Exception in threading.excepthook:\npanicked: {}\n",
                panic_message(&*hook_payload)
            );
            drop(hook_payload);
        }));
    }
}
