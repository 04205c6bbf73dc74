//! Start methods and contexts (Python's `get_context`, `set_start_method`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::process::{Process, Run};
use crate::start::{DEFAULT_START_TIMEOUT, StartMethod};

// `Forkserver`, the `#[default]` above (`Default::default` cannot run in a const).
static DEFAULT_METHOD: AtomicU8 = AtomicU8::new(StartMethod::Forkserver.to_u8());

/// Sets the start method that [`Process::new`] uses from now on (Python's
/// `set_start_method`, minus its "already set" error: the last call wins).
pub fn set_start_method(method: StartMethod) {
    DEFAULT_METHOD.store(method.to_u8(), Ordering::Relaxed);
}

/// The start method [`Process::new`] uses (Python's `get_start_method`); `Forkserver`
/// unless [`set_start_method`] changed it.
pub fn get_start_method() -> StartMethod {
    StartMethod::from_u8(DEFAULT_METHOD.load(Ordering::Relaxed))
}

/// A start method plus its settings, from which processes are made (Python's
/// `multiprocessing.get_context(method)`).
///
/// # Examples
///
/// ```
/// use skein_process::{get_context, StartMethod};
///
/// fn hello(n: u32) {
///     assert_eq!(n, 7);
/// }
///
/// let ctx = get_context(StartMethod::Fork);
/// let child = ctx.process(hello, 7).start().unwrap();
/// assert_eq!(child.join().unwrap(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub(crate) method: StartMethod,
    pub(crate) executable: Option<PathBuf>,
    pub(crate) start_timeout: Duration,
}

/// A context for `method` (Python's `get_context`).
pub fn get_context(method: StartMethod) -> Context {
    Context {
        method,
        executable: None,
        start_timeout: DEFAULT_START_TIMEOUT,
    }
}

impl Context {
    /// This context's start method.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// Uses `path` instead of the running binary for `Spawn` and `Forkserver` children
    /// (Python's `set_executable`). The program there must be this very binary (a
    /// copy of it, say): the child compares its executable's identity (the ELF
    /// build-id) with this process's and refuses another binary, and a program that
    /// is not a skein child at all (`/bin/true`, a script) is found out by its
    /// silence. Either way [`start`](crate::Process::start) returns a
    /// [`StartError`](crate::StartError) ([`is_wrong_executable`](crate::StartError::is_wrong_executable)
    /// or, for a program that neither answers nor ends, [`is_timeout`](crate::StartError::is_timeout)),
    /// and nothing of the target runs.
    pub fn with_executable(mut self, path: impl Into<PathBuf>) -> Context {
        self.executable = Some(path.into());
        self
    }

    /// How long a start waits for the other side: a `Spawn` child's answer to its
    /// bootstrap, a new forkserver's greeting, and the forkserver's reply to a request
    /// (default: 30 s). When it passes, `start` returns a
    /// [`StartError`](crate::StartError) with [`is_timeout`](crate::StartError::is_timeout)
    /// and the silent process is killed; a forkserver that missed it (stopped with
    /// `SIGSTOP`, wedged) is replaced by the next start. (`Fork` waits for nobody.)
    pub fn with_start_timeout(mut self, timeout: Duration) -> Context {
        self.start_timeout = timeout;
        self
    }

    /// This context's start timeout (see [`with_start_timeout`](Context::with_start_timeout)).
    pub fn start_timeout(&self) -> Duration {
        self.start_timeout
    }

    /// A process that will run `target(args)` (Python's `ctx.Process(target=…,
    /// args=…)`).
    pub fn process<A>(&self, target: fn(A), args: A) -> Process
    where
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        Process::new(target, args).context(self)
    }

    /// A process that will run `value.run()` (Python's subclass form).
    pub fn process_run<R: Run>(&self, value: R) -> Process {
        Process::from_run(value).context(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        for m in StartMethod::ALL {
            assert_eq!(m.name().parse::<StartMethod>().unwrap(), m);
            assert_eq!(m.to_string(), m.name());
        }
        let e = "vfork".parse::<StartMethod>().unwrap_err();
        assert!(e.to_string().contains("vfork"));
        assert_eq!(StartMethod::default(), StartMethod::Forkserver);
    }
}
