//! Start methods (Python's `"fork"`, `"spawn"`, `"forkserver"`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a child process is created (Python's start methods).
///
/// | method | child is | target | cost | hazards |
/// |---|---|---|---|---|
/// | [`Fork`](StartMethod::Fork) | a copy of the parent (`fork()`) | any `FnOnce + Send` closure, or a `fn` | fastest: about 1.1–1.25× a raw `fork`+`waitpid`, growing with the parent's memory as a raw fork does | the child holds only the forking thread: locks other threads held stay locked (a warning is printed when the parent runs other threads) |
/// | [`Spawn`](StartMethod::Spawn) | a fresh `exec` of the same binary | a plain `fn(A)` with `A: Serialize + DeserializeOwned`, or a [`Run`](crate::Run) value | slowest: a whole program start (about 1 ms here, below procspawn) | none from the parent's state; needs [`init`](crate::init) |
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
    /// Python's `"spawn"`: the program's executable is started afresh (`execve`) and runs
    /// the target from skein's start-up hook, before Rust's runtime set-up. So in that
    /// child a stack overflow of the main thread ends it with `SIGSEGV` and no message, and
    /// panic messages name its main thread `'<unnamed>'` (DESIGN.md, "How a fresh exec knows it is a child").
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

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            StartMethod::Fork => 0,
            StartMethod::Spawn => 1,
            StartMethod::Forkserver => 2,
        }
    }

    pub(crate) fn from_u8(v: u8) -> StartMethod {
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
