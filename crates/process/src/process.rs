//! `Process` (what to run, not yet started) and `ProcessHandle` (a started child).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{Context, get_start_method};
use crate::error::{ProcessError, StartCause};
use crate::start::{self, Payload, Record, Spec, StartMethod, registry};

pub use crate::start::payload::Run;

/// A process to start: its target, arguments, name, daemon flag and start method
/// (Python's `Process(target=…, args=…, name=…, daemon=…)` before `start()`).
///
/// [`start`](Process::start) consumes it and returns a [`ProcessHandle`]; if starting
/// fails, the error hands the `Process` back.
///
/// # Examples
///
/// ```
/// use skein_process::{Process, StartMethod};
///
/// fn run_proc(name: String) {
///     println!("run child process {name} ({})", skein_process::getpid());
/// }
///
/// let p = Process::new(run_proc, "test".to_string())
///     .name("worker")
///     .start_method(StartMethod::Fork)
///     .start()
///     .unwrap();
/// assert_eq!(p.join().unwrap(), 0);
/// ```
pub struct Process {
    pub(crate) spec: Spec,
}

impl Process {
    /// A process that will run `target(args)`, with the default start method
    /// ([`get_start_method`]).
    ///
    /// The target is a plain `fn` so that a fresh exec of this binary can find it; the
    /// arguments are serialisable so that they can reach it. Pass several arguments as
    /// a tuple. Handles ([`Connection`](crate::Connection), …) inside the arguments
    /// move into the child under every start method.
    pub fn new<A>(target: fn(A), args: A) -> Process
    where
        A: Serialize + DeserializeOwned + Send + 'static,
    {
        Process::with_payload(Payload::of_fn(target, args), get_start_method())
    }

    /// A process that will run `value.run()` (the subclass form; see [`Run`]).
    pub fn from_run<R: Run>(value: R) -> Process {
        Process::with_payload(Payload::of_run(value), get_start_method())
    }

    /// A process that will run the closure `f`. Only the `Fork` start method can run a
    /// closure (the child is a copy of this process, captured state included), so this
    /// process uses `Fork`; asking for another method makes [`start`](Process::start)
    /// fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let data = vec![1, 2, 3];
    /// let p = skein_process::Process::from_closure(move || {
    ///     assert_eq!(data.iter().sum::<i32>(), 6);
    /// })
    /// .start()
    /// .unwrap();
    /// assert_eq!(p.join().unwrap(), 0);
    /// ```
    pub fn from_closure<F: FnOnce() + Send + 'static>(f: F) -> Process {
        Process::with_payload(Payload::Closure(Box::new(f)), StartMethod::Fork)
    }

    fn with_payload(payload: Payload, method: StartMethod) -> Process {
        Process {
            spec: Spec {
                name: None,
                daemon: false,
                method,
                executable: None,
                start_timeout: start::DEFAULT_START_TIMEOUT,
                payload,
            },
        }
    }

    /// Sets the name (Python's `name=`); the default is `Process-N` (`Process-1:2`
    /// for the second child of `Process-1`), like Python.
    pub fn name(mut self, name: impl Into<String>) -> Process {
        self.spec.name = Some(name.into());
        self
    }

    /// Sets the daemon flag (Python's `daemon=`). A daemon child is killed when this
    /// process ends, even by `SIGKILL`; a non-daemon child is waited for when this
    /// process exits normally, as in Python.
    pub fn daemon(mut self, daemon: bool) -> Process {
        self.spec.daemon = daemon;
        self
    }

    /// Sets the start method.
    pub fn start_method(mut self, method: StartMethod) -> Process {
        self.spec.method = method;
        self
    }

    /// Takes the start method and settings of `ctx`.
    pub fn context(mut self, ctx: &Context) -> Process {
        self.spec.method = ctx.method;
        self.spec.executable = ctx.executable.clone();
        self.spec.start_timeout = ctx.start_timeout;
        self
    }

    pub(crate) fn name_for_debug(&self) -> &str {
        self.spec.name.as_deref().unwrap_or("(unnamed)")
    }

    /// Starts the child (Python's `start()`).
    ///
    /// # Errors
    ///
    /// The system may refuse (`EAGAIN` when no more processes may be created, a
    /// missing executable), the arguments may not serialise (`Spawn`/`Forkserver`),
    /// or [`init`](crate::init) was not called (`Spawn`/`Forkserver`). The error hands
    /// this `Process` back.
    pub fn start(self) -> Result<ProcessHandle, StartError> {
        match start::start(self.spec) {
            Ok(record) => Ok(ProcessHandle { record }),
            Err(failed) => {
                let (cause, spec) = *failed;
                Err(StartError::new(cause, Process { spec }))
            }
        }
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.spec.name)
            .field("daemon", &self.spec.daemon)
            .field("method", &self.spec.method)
            .finish_non_exhaustive()
    }
}

/// A started child process (Python's `Process` after `start()`).
///
/// Cloning gives another handle to the same child, as a second Python reference to a
/// `Process` object would. Dropping every handle does not stop the child: it keeps
/// running and is reaped later (by [`active_children`](crate::active_children), the
/// next start, or at exit, where non-daemon children are waited for).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::{Process, StartMethod};
///
/// fn sleeper(secs: u64) {
///     std::thread::sleep(Duration::from_secs(secs));
/// }
///
/// let p = Process::new(sleeper, 60).start_method(StartMethod::Fork).start().unwrap();
/// assert!(p.is_alive());
/// assert_eq!(p.join_timeout(Duration::from_millis(10)).unwrap(), None);
/// p.kill().unwrap();
/// assert_eq!(p.join().unwrap(), -9); // -SIGKILL, like Python
/// ```
#[derive(Clone)]
pub struct ProcessHandle {
    pub(crate) record: Arc<Record>,
}

impl ProcessHandle {
    /// The child's process id (Python's `pid`).
    pub fn pid(&self) -> i32 {
        self.record.pid
    }

    /// The child's name (Python's `name`).
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// Whether the child is a daemon (Python's `daemon`).
    pub fn is_daemon(&self) -> bool {
        self.record.daemon
    }

    /// The start method that created the child.
    pub fn start_method(&self) -> StartMethod {
        self.record.method
    }

    /// Waits for the child to end and returns its exit code (Python's `join()` then
    /// `exitcode`): the code it exited with, `1` after a panic, or `-N` when signal `N`
    /// killed it.
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotOurChild`] from any process but the one that started the
    /// child, [`ProcessError::Closed`] after [`close`](ProcessHandle::close),
    /// [`ProcessError::Lost`] if a forkserver died before reporting.
    pub fn join(&self) -> Result<i32, ProcessError> {
        self.record
            .wait_deadline(None)
            .map(|c| c.expect("an unbounded wait ends with a status"))
    }

    /// Waits at most `timeout` (Python's `join(timeout)`); `Ok(None)` if the child
    /// still runs.
    ///
    /// # Errors
    ///
    /// As [`join`](ProcessHandle::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<Option<i32>, ProcessError> {
        self.join_deadline(Instant::now() + timeout)
    }

    /// Waits until `deadline`; `Ok(None)` if the child still runs.
    ///
    /// # Errors
    ///
    /// As [`join`](ProcessHandle::join).
    pub fn join_deadline(&self, deadline: Instant) -> Result<Option<i32>, ProcessError> {
        self.record.wait_deadline(Some(deadline))
    }

    /// Whether the child still runs (Python's `is_alive()`); reaps it if it ended.
    /// `false` after `close` and in any process but the parent.
    pub fn is_alive(&self) -> bool {
        matches!(self.record.try_wait(), Ok(None))
    }

    /// The exit code if the child ended (Python's `exitcode`): `None` while it runs.
    pub fn exitcode(&self) -> Option<i32> {
        self.record.exitcode()
    }

    /// Asks the child to stop with `SIGTERM` (Python's `terminate()`). Nothing happens
    /// if it already ended.
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotOurChild`], [`ProcessError::Closed`], or the system's error.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.record.signal(libc::SIGTERM)
    }

    /// Interrupts the child with `SIGINT` (Python 3.14's `interrupt()`): what Ctrl-C
    /// does to a foreground program. Unless the child handles `SIGINT`, it ends with
    /// exit code `-2`. Nothing happens if it already ended.
    ///
    /// # Errors
    ///
    /// As [`terminate`](ProcessHandle::terminate).
    pub fn interrupt(&self) -> Result<(), ProcessError> {
        self.record.signal(libc::SIGINT)
    }

    /// Kills the child with `SIGKILL` (Python's `kill()`).
    ///
    /// # Errors
    ///
    /// As [`terminate`](ProcessHandle::terminate).
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.record.signal(libc::SIGKILL)
    }

    /// Releases the handle's resources (Python's `close()`); later waits fail with
    /// [`ProcessError::Closed`], and [`exitcode`](ProcessHandle::exitcode) keeps the
    /// code.
    ///
    /// # Errors
    ///
    /// [`ProcessError::StillRunning`] if the child has not ended.
    pub fn close(&self) -> Result<(), ProcessError> {
        self.record.close()
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("name", &self.record.name)
            .field("pid", &self.record.pid)
            .field("daemon", &self.record.daemon)
            .field("method", &self.record.method)
            .field("exitcode", &self.exitcode())
            .finish()
    }
}

/// Why [`Process::start`] failed. The unstarted [`Process`] comes back inside, so
/// nothing is lost: fix the cause and start it again.
pub struct StartError {
    pub(crate) cause: StartCause,
    pub(crate) process: Box<Process>,
}

impl StartError {
    pub(crate) fn new(cause: StartCause, process: Process) -> StartError {
        StartError {
            cause,
            process: Box::new(process),
        }
    }

    /// The unstarted process, to retry or drop.
    pub fn into_process(self) -> Process {
        *self.process
    }

    /// The operating-system error, when the system refused (for example `EAGAIN` when
    /// no more processes may be created, `ENOENT` for a missing executable).
    pub fn os_error(&self) -> Option<&io::Error> {
        match &self.cause {
            StartCause::Os(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the arguments could not be serialised (`Spawn`/`Forkserver`).
    pub fn is_serialize(&self) -> bool {
        matches!(self.cause, StartCause::Serialize(_))
    }

    /// Whether the executable is not this program (see
    /// [`Context::with_executable`]): another binary, whose identity (ELF build-id)
    /// differs from this one's — the message names both — or a program that ended
    /// without answering the bootstrap. Nothing of the target ran.
    pub fn is_wrong_executable(&self) -> bool {
        matches!(self.cause, StartCause::WrongExecutable(_))
    }

    /// Whether the child (`Spawn`) or the forkserver did not answer within the start
    /// timeout ([`Context::with_start_timeout`]). It was killed; a forkserver that
    /// missed its deadline is replaced by the next start.
    pub fn is_timeout(&self) -> bool {
        matches!(self.cause, StartCause::Timeout(_))
    }

    /// Whether [`init`](crate::init) was never called in this binary.
    pub fn is_not_initialized(&self) -> bool {
        matches!(self.cause, StartCause::NotInitialized)
    }
}

impl fmt::Debug for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartError")
            .field("cause", &self.cause)
            .field("process", &self.process.name_for_debug())
            .finish()
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.process.name_for_debug();
        match &self.cause {
            StartCause::Os(e) => write!(f, "cannot start process {name}: {e}"),
            StartCause::Serialize(e) => {
                write!(
                    f,
                    "cannot start process {name}: its arguments cannot be serialised: {e}"
                )
            }
            StartCause::NotInitialized => write!(
                f,
                "cannot start process {name} with spawn/forkserver: call skein_process::init() \
                 first thing in main (or skein_process::test_support!() in a test crate)"
            ),
            StartCause::ClosureNeedsFork => write!(
                f,
                "cannot start process {name}: a closure target needs the fork start method \
                 (use a plain fn with serialisable arguments for spawn/forkserver)"
            ),
            StartCause::Forkserver(e) => write!(f, "cannot start process {name}: forkserver: {e}"),
            StartCause::WrongExecutable(e) => {
                write!(f, "cannot start process {name}: wrong executable: {e}")
            }
            StartCause::Timeout(e) => write!(f, "cannot start process {name}: timed out: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            StartCause::Os(e) => Some(e),
            _ => None,
        }
    }
}

/// The children of this process that are still running (Python's
/// `active_children()`); as a side effect, reaps those that ended.
///
/// # Examples
///
/// ```
/// use skein_process::{active_children, Process};
///
/// let p = Process::from_closure(|| std::thread::sleep(std::time::Duration::from_secs(30)))
///     .start()
///     .unwrap();
/// assert!(active_children().iter().any(|c| c.pid() == p.pid()));
/// p.kill().unwrap();
/// p.join().unwrap();
/// assert!(!active_children().iter().any(|c| c.pid() == p.pid()));
/// ```
pub fn active_children() -> Vec<ProcessHandle> {
    registry::active()
        .into_iter()
        .map(|record| ProcessHandle { record })
        .collect()
}
