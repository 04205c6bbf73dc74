//! Start methods and contexts (Python's `get_context`, `set_start_method`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::process::{Process, Run};

/// How a child process is created (Python's start methods).
///
/// | method | child is | target | cost | hazards |
/// |---|---|---|---|---|
/// | [`Fork`](StartMethod::Fork) | a copy of the parent (`fork()`) | any `FnOnce + Send` closure, or a `fn` | fastest: about 1.1–1.25× a raw `fork`+`waitpid`, growing with the parent's memory as a raw fork does | the child holds only the forking thread: locks other threads held stay locked (a warning is printed when the parent runs other threads) |
/// | [`Spawn`](StartMethod::Spawn) | a fresh `exec` of the same binary | a plain `fn(A)` with `A: Serialize + DeserializeOwned`, or a [`Run`] value | slowest: a whole program start (about 1 ms here, below procspawn) | none from the parent's state; needs [`init`](crate::init) |
/// | [`Forkserver`](StartMethod::Forkserver) | a fork of a clean, single-threaded server that was exec'd once | as `Spawn` | after the first start (which execs the server), about 1.6–2× a raw fork: two processes and four wake-ups per child, but independent of the parent's memory | none from the parent's state; needs [`init`](crate::init) |
///
/// The default is `Forkserver`, CPython 3.14's choice on Linux: fork speed without
/// fork's hazards.
///
/// Descriptors: a `Fork` child inherits *every* open descriptor of the parent, as in
/// Python — including the parent's own end of a pipe, which then keeps the pipe open
/// (the child would never see end-of-stream from it). A `Spawn` or `Forkserver` child
/// receives only the handles in its arguments (and stdout/stderr). Code meant to run
/// under every method should not rely on end-of-stream from a pipe whose other end the
/// parent still holds when a `Fork` child starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum StartMethod {
    /// Python's `"fork"`.
    Fork,
    /// Python's `"spawn"`.
    Spawn,
    /// Python's `"forkserver"` (the default).
    #[default]
    Forkserver,
}

impl StartMethod {
    /// Every start method, in Python's order of `get_all_start_methods()`.
    pub const ALL: [StartMethod; 3] = [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ];

    /// Python's name: `"fork"`, `"spawn"` or `"forkserver"`.
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }

    const fn to_u8(self) -> u8 {
        match self {
            StartMethod::Fork => 0,
            StartMethod::Spawn => 1,
            StartMethod::Forkserver => 2,
        }
    }

    fn from_u8(v: u8) -> StartMethod {
        match v {
            0 => StartMethod::Fork,
            1 => StartMethod::Spawn,
            _ => StartMethod::Forkserver,
        }
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a start method name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseStartMethodError(String);

impl fmt::Display for ParseStartMethodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown start method {:?} (expected fork, spawn or forkserver)",
            self.0
        )
    }
}

impl std::error::Error for ParseStartMethodError {}

impl FromStr for StartMethod {
    type Err = ParseStartMethodError;

    fn from_str(s: &str) -> Result<StartMethod, ParseStartMethodError> {
        match s {
            "fork" => Ok(StartMethod::Fork),
            "spawn" => Ok(StartMethod::Spawn),
            "forkserver" => Ok(StartMethod::Forkserver),
            other => Err(ParseStartMethodError(other.to_owned())),
        }
    }
}

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
