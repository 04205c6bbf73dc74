//! The process pool's task errors: a worker that died, a task that ran out of time.

use std::error::Error;
use std::fmt;
use std::time::Duration;

/// The worker running a task died (a signal, `abort`, the out-of-memory killer, an
/// `exit` inside the task): the task's future fails with this inside
/// [`TaskError::Failed`](crate::TaskError::Failed); every other task goes on.
///
/// CPython marks the whole pool broken (`BrokenProcessPool`), loky fails every pending
/// future (`TerminatedWorkerError`), and `multiprocessing.Pool` hangs (cpython#96062).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDied {
    pub(crate) name: String,
    pub(crate) pid: i32,
    pub(crate) exitcode: Option<i32>,
}

impl WorkerDied {
    /// The worker's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The worker's name (`ForkPoolWorker-3`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The exit code, as [`ProcessHandle::exitcode`](skein_process::ProcessHandle::exitcode):
    /// `-N` for signal `N`. `None` if it could not be read.
    pub fn exitcode(&self) -> Option<i32> {
        self.exitcode
    }

    /// The signal that killed the worker, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.exitcode.filter(|c| *c < 0).map(|c| -c)
    }
}

/// The name of a common signal.
pub(crate) fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => "signal",
    }
}

impl fmt::Display for WorkerDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {} (pid {}) ", self.name, self.pid)?;
        match (self.exitcode, self.signal()) {
            (_, Some(sig)) => {
                write!(f, "was killed by signal {sig} ({})", signal_name(sig))?;
                match sig {
                    9 => f.write_str(" (killed, or out of memory)")?,
                    6 => f.write_str(" (aborted, e.g. a failed allocation)")?,
                    _ => {}
                }
            }
            (Some(code), None) => write!(f, "exited with code {code}")?,
            (None, None) => f.write_str("ended (exit status unknown)")?,
        }
        f.write_str(" while running the task")
    }
}

impl Error for WorkerDied {}

/// A task ran past its per-task timeout: its worker was terminated (`SIGTERM`, then
/// `SIGKILL` after the grace period) and replaced (pebble's `TimeoutError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTimedOut {
    pub(crate) timeout: Duration,
    pub(crate) pid: i32,
}

impl TaskTimedOut {
    /// The timeout the task had.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The pid of the worker that was stopped.
    pub fn pid(&self) -> i32 {
        self.pid
    }
}

impl fmt::Display for TaskTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task timed out after {:?}; its worker (pid {}) was terminated",
            self.timeout, self.pid
        )
    }
}

impl Error for TaskTimedOut {}

/// The executor was shut down by force —
/// [`terminate_workers`](crate::ProcessPoolExecutor::terminate_workers) or
/// [`kill_workers`](crate::ProcessPoolExecutor::kill_workers), Python 3.14's — before the
/// task could finish: every future not yet resolved fails with this inside
/// [`TaskError::Failed`](crate::TaskError::Failed), whether its task was running (its
/// worker got the signal) or still waiting.
///
/// Python cancels the waiting futures (`CancelledError`) and fails the running ones with
/// `BrokenProcessPool`; here both name the call that stopped them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForcedShutdown {
    pub(crate) kill: bool,
    pub(crate) running: bool,
}

impl ForcedShutdown {
    /// Whether it was [`kill_workers`](crate::ProcessPoolExecutor::kill_workers)
    /// (`SIGKILL`); `false`: `terminate_workers` (`SIGTERM`).
    pub fn is_kill(&self) -> bool {
        self.kill
    }

    /// The signal sent to the workers: `SIGTERM` (15) or `SIGKILL` (9).
    pub fn signal(&self) -> i32 {
        if self.kill { 9 } else { 15 }
    }

    /// Whether the task was running (its worker was signalled); `false`: it was waiting
    /// and never started.
    pub fn was_running(&self) -> bool {
        self.running
    }
}

impl fmt::Display for ForcedShutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (call, sig) = if self.kill {
            ("kill_workers()", "SIGKILL")
        } else {
            ("terminate_workers()", "SIGTERM")
        };
        let when = if self.running {
            "while the task ran"
        } else {
            "before the task started"
        };
        write!(
            f,
            "the executor was forcefully shut down by {call} ({sig} to every worker) {when}"
        )
    }
}

impl Error for ForcedShutdown {}

/// Where a task's arguments or result failed to cross between processes (CPython's
/// `test_deadlock.py` stages: pickling the task, unpickling it in the worker, pickling the
/// result, unpickling it in the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodecStage {
    /// The worker could not decode the arguments (their `Deserialize` failed or panicked,
    /// or the task frame was unreadable): the function did not run.
    ArgumentsInWorker,
    /// The function ran but its value's `Serialize` failed or panicked in the worker.
    ResultInWorker,
    /// The worker's result bytes did not decode in the caller (`Deserialize` failed or
    /// panicked there).
    ResultInCaller,
}

impl CodecStage {
    fn describe(self) -> &'static str {
        match self {
            CodecStage::ArgumentsInWorker => {
                "the arguments could not be deserialised in the worker"
            }
            CodecStage::ResultInWorker => "the result could not be serialised in the worker",
            CodecStage::ResultInCaller => "the result could not be deserialised in the caller",
        }
    }
}

/// A task's arguments or result could not be (de)serialised on the way between the caller
/// and the worker: [`stage`](CodecFailure::stage) says where; only that task fails (the
/// worker lives on: a failing or panicking serde impl is caught where it runs).
///
/// The arguments are serialised at `submit`, in the caller: a failure there is
/// [`SubmitError::Encode`](crate::SubmitError::Encode) with the call handed back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecFailure {
    pub(crate) stage: CodecStage,
    pub(crate) panicked: bool,
    pub(crate) message: String,
}

impl CodecFailure {
    /// Where it failed.
    pub fn stage(&self) -> CodecStage {
        self.stage
    }

    /// Whether the serde impl panicked (rather than returned an error).
    pub fn panicked(&self) -> bool {
        self.panicked
    }

    /// The serde error's or the panic's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CodecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.stage.describe())?;
        if self.panicked {
            f.write_str(" (it panicked)")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Error for CodecFailure {}
