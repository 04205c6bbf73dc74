//! Start methods and contexts (Python's `get_context`, `set_start_method`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::process::{Process, Run};
use crate::start::StartMethod;

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
}

/// A context for `method` (Python's `get_context`).
pub fn get_context(method: StartMethod) -> Context {
    Context {
        method,
        executable: None,
    }
}

impl Context {
    /// This context's start method.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// Uses `path` instead of the running binary for `Spawn` and `Forkserver` children
    /// (Python's `set_executable`). The program there must be built from the same
    /// source (it must contain the target, at the same place) and call
    /// [`init`](crate::init): in practice, a copy of this binary.
    pub fn with_executable(mut self, path: impl Into<PathBuf>) -> Context {
        self.executable = Some(path.into());
        self
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
