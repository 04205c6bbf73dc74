//! `Process` (what to run, not yet started) and `ProcessHandle` (a started child).

use std::fmt;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::{Context, StartMethod, get_start_method};
use crate::error::{ProcessError, StartError};
use crate::sys::entry::Entry;
use crate::sys::{self, Pid};
use crate::{child, fork, forkserver, handle, registry, spawn};

/// The subclass form: a value that is the process (Python's `class P(Process): def
/// run(self)`). Its fields are the process's state; [`run`](Run::run) runs in the
/// child.
///
/// Under `Spawn`/`Forkserver` the value is serialised into the child, so it must be
/// `Serialize + DeserializeOwned`; the trait asks for that under every method so that
/// one program works with all three.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use skein_process::{Process, Run, StartMethod};
///
/// #[derive(Serialize, Deserialize)]
/// struct MyProcess {
///     name: String,
/// }
///
/// impl Run for MyProcess {
///     fn run(self) {
///         println!("process {} is running", self.name);
///     }
/// }
///
/// let p = Process::from_run(MyProcess { name: "p1".into() })
///     .start_method(StartMethod::Fork)
///     .start()
///     .unwrap();
/// assert_eq!(p.join().unwrap(), 0);
/// ```
pub trait Run: Serialize + DeserializeOwned + Send + 'static {
    /// The body of the process (Python's `run`).
    fn run(self);
}

/// Arguments bound to their target, with the type erased.
pub(crate) trait ErasedArgs: Send {
    /// The entry that rebuilds this in a fresh exec.
    fn entry(&self) -> Entry;
    /// The serialised arguments and the descriptors of the handles inside them.
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String>;
    /// Runs the target here (in a forked child).
    fn run_here(self: Box<Self>);
}

struct FnArgs<A> {
    target: fn(A),
    args: A,
}

impl<A: Serialize + DeserializeOwned + Send + 'static> ErasedArgs for FnArgs<A> {
    fn entry(&self) -> Entry {
        Entry::of(self.target)
    }
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String> {
        let (r, fds) = handle::collect(|| postcard::to_allocvec(&self.args));
        r.map(|b| (b, fds)).map_err(|e| handle::describe(&e))
    }
    fn run_here(self: Box<Self>) {
        // A forked child leaks the box rather than free it: freeing writes to heap
        // pages (a copy-on-write fault each) just before the process ends anyway.
        let FnArgs { target, args } = sys::unbox_leaking(self);
        target(args)
    }
}

struct RunArgs<R>(R);

impl<R: Run> ErasedArgs for RunArgs<R> {
    fn entry(&self) -> Entry {
        Entry::of_run::<R>()
    }
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String> {
        let (r, fds) = handle::collect(|| postcard::to_allocvec(&self.0));
        r.map(|b| (b, fds)).map_err(|e| handle::describe(&e))
    }
    fn run_here(self: Box<Self>) {
        sys::unbox_leaking(self).0.run()
    }
}

/// What a child runs.
pub(crate) enum Payload {
    /// A target with serialisable arguments: any start method.
    Args(Box<dyn ErasedArgs>),
    /// A closure: `Fork` only.
    Closure(Box<dyn FnOnce() + Send>),
}

impl Payload {
    /// Runs the payload here (in a forked child).
    pub(crate) fn run_here(self) {
        match self {
            Payload::Args(a) => a.run_here(),
            Payload::Closure(f) => f(),
        }
    }
}

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
    pub(crate) name: Option<String>,
    pub(crate) daemon: bool,
    pub(crate) method: StartMethod,
    pub(crate) executable: Option<PathBuf>,
    pub(crate) payload: Payload,
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
        Process::with_payload(
            Payload::Args(Box::new(FnArgs { target, args })),
            get_start_method(),
        )
    }

    /// A process that will run `value.run()` (the subclass form; see [`Run`]).
    pub fn from_run<R: Run>(value: R) -> Process {
        Process::with_payload(Payload::Args(Box::new(RunArgs(value))), get_start_method())
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
            name: None,
            daemon: false,
            method,
            executable: None,
            payload,
        }
    }

    /// Sets the name (Python's `name=`); the default is `Process-N` (`Process-1:2`
    /// for the second child of `Process-1`), like Python.
    pub fn name(mut self, name: impl Into<String>) -> Process {
        self.name = Some(name.into());
        self
    }

    /// Sets the daemon flag (Python's `daemon=`). A daemon child is killed when this
    /// process ends, even by `SIGKILL`; a non-daemon child is waited for when this
    /// process exits normally, as in Python.
    pub fn daemon(mut self, daemon: bool) -> Process {
        self.daemon = daemon;
        self
    }

    /// Sets the start method.
    pub fn start_method(mut self, method: StartMethod) -> Process {
        self.method = method;
        self
    }

    /// Takes the start method and settings of `ctx`.
    pub fn context(mut self, ctx: &Context) -> Process {
        self.method = ctx.method;
        self.executable = ctx.executable.clone();
        self
    }

    pub(crate) fn name_for_debug(&self) -> &str {
        self.name.as_deref().unwrap_or("(unnamed)")
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
        registry::prune();
        match self.method {
            StartMethod::Fork => fork::start(self),
            StartMethod::Spawn => spawn::start(self),
            StartMethod::Forkserver => forkserver::start(self),
        }
    }
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("daemon", &self.daemon)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// How the parent learns that a child ended.
pub(crate) enum Waiter {
    /// Our own child: reaped with `waitpid`. `pidfd` is opened by the first timed
    /// wait (none on kernels before 5.3).
    Own { pidfd: Option<Arc<OwnedFd>> },
    /// A forkserver child: the server writes its exit status on `status`. `pidfd` is
    /// opened when the child is first signalled.
    Server {
        status: Arc<OwnedFd>,
        pidfd: Option<OwnedFd>,
    },
}

/// How [`Shared::wait_deadline`] waits for a change, outside the lock.
enum Wake {
    /// Until our own child `pid` has ended (`waitid` with `WNOWAIT`).
    Exited(Pid),
    /// Until the descriptor is readable (a pidfd, or a forkserver status socket).
    Readable(Arc<OwnedFd>),
    /// A short sleep (no pidfd to poll).
    Sleep,
}

pub(crate) enum State {
    Running(Waiter),
    Exited(i32),
    Closed(Option<i32>),
}

/// What a started child shares between its handles and the registry.
pub(crate) struct Shared {
    pub(crate) name: Arc<str>,
    pub(crate) daemon: bool,
    pub(crate) method: StartMethod,
    pub(crate) pid: Pid,
    /// The process that started the child: the only one that may wait for it.
    pub(crate) owner: Pid,
    pub(crate) state: Mutex<State>,
    /// `Fork` only: the child's own description, kept here so that the parent frees
    /// nothing right after the fork (see `fork::start`).
    pub(crate) child_me: Option<Arc<child::Me>>,
}

impl Shared {
    /// The record of a child started by `owner` (this process, whose pid the start
    /// path already looked up).
    pub(crate) fn with_owner(
        p: &Process,
        name: Arc<str>,
        pid: Pid,
        waiter: Waiter,
        owner: Pid,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            name,
            daemon: p.daemon,
            method: p.method,
            pid,
            owner,
            state: Mutex::new(State::Running(waiter)),
            child_me: None,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_owner(&self) -> Result<(), ProcessError> {
        if sys::getpid() == self.owner {
            Ok(())
        } else {
            Err(ProcessError::NotOurChild)
        }
    }

    /// Collects the exit status if the child has ended, without blocking.
    fn poll_locked(&self, st: &mut State) -> Result<Option<i32>, ProcessError> {
        let code = match st {
            State::Exited(c) => return Ok(Some(*c)),
            State::Closed(c) => return c.map(Some).ok_or(ProcessError::Closed),
            State::Running(Waiter::Own { .. }) => sys::waitpid(self.pid, true)?,
            State::Running(Waiter::Server { status, .. }) => {
                match forkserver::try_read_reply(status.as_fd())? {
                    None => None,
                    Some(Some(forkserver::Reply::Exit(code))) => Some(code),
                    Some(_) => {
                        // The server died without a status (or spoke nonsense).
                        *st = State::Closed(None);
                        return Err(ProcessError::Lost);
                    }
                }
            }
        };
        if let Some(c) = code {
            *st = State::Exited(c);
        }
        Ok(code)
    }

    /// Non-blocking status check.
    pub(crate) fn try_wait(&self) -> Result<Option<i32>, ProcessError> {
        self.check_owner()?;
        let mut st = self.lock();
        self.poll_locked(&mut st)
    }

    /// Waits until the child ends or `deadline` passes.
    ///
    /// Our own child (`Fork`, `Spawn`): an unbounded wait blocks in `waitid(WNOWAIT)`
    /// outside the lock, then reaps under it, so `kill` from another thread is never
    /// held up and never reaches a recycled pid. A timed wait polls a pidfd, opened on
    /// the first timed wait only (opening one costs more than the rest of a `join`).
    /// A forkserver child: poll its status socket.
    pub(crate) fn wait_deadline(
        &self,
        deadline: Option<Instant>,
    ) -> Result<Option<i32>, ProcessError> {
        self.check_owner()?;
        let mut backoff = Duration::from_micros(200);
        let mut first = true;
        loop {
            let fd = {
                let mut st = self.lock();
                if let State::Closed(_) = &*st {
                    return Err(ProcessError::Closed);
                }
                // An unbounded join goes straight to waiting: one system call fewer
                // on the common path.
                let skip = first && deadline.is_none() && matches!(&*st, State::Running(_));
                first = false;
                if !skip {
                    if let Some(c) = self.poll_locked(&mut st)? {
                        return Ok(Some(c));
                    }
                }
                match &mut *st {
                    State::Running(Waiter::Own { .. }) if deadline.is_none() => {
                        Wake::Exited(self.pid)
                    }
                    State::Running(Waiter::Own { pidfd }) => {
                        if pidfd.is_none() {
                            // Not reaped (that happens under this lock): the pid is
                            // still this child's.
                            *pidfd = sys::pidfd_open(self.pid).ok().map(Arc::new);
                        }
                        pidfd.clone().map_or(Wake::Sleep, Wake::Readable)
                    }
                    State::Running(Waiter::Server { status, .. }) => Wake::Readable(status.clone()),
                    _ => Wake::Sleep,
                }
            };
            let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if remaining == Some(Duration::ZERO) {
                return Ok(None);
            }
            match fd {
                Wake::Exited(pid) => match sys::wait_ended_nowait(pid) {
                    // ECHILD: another thread of ours reaped it meanwhile (its state
                    // says so under the lock), or someone else did (the reap under
                    // the lock reports that).
                    Err(e) if e.raw_os_error() != Some(libc::ECHILD) => return Err(e.into()),
                    _ => {}
                },
                Wake::Readable(fd) => {
                    sys::poll_one(fd.as_fd(), libc::POLLIN, remaining)?;
                }
                Wake::Sleep => {
                    // No pidfd (kernel before 5.3): sleep in growing steps.
                    let step = remaining.map_or(backoff, |r| r.min(backoff));
                    std::thread::sleep(step);
                    backoff = (backoff * 2).min(Duration::from_millis(20));
                }
            }
        }
    }

    fn signal(&self, sig: i32) -> Result<(), ProcessError> {
        self.check_owner()?;
        let mut st = self.lock();
        if self.poll_locked(&mut st)?.is_some() {
            return Ok(()); // already ended: nothing to signal (Python does the same)
        }
        match &mut *st {
            // Not reaped yet (reaping happens under this lock), so the pid is still ours.
            State::Running(Waiter::Own { .. }) => sys::kill(self.pid, sig)?,
            State::Running(Waiter::Server { status, pidfd }) => {
                if pidfd.is_none() {
                    let opened = sys::pidfd_open(self.pid);
                    // The server writes a child's status before it reaps it: with none
                    // waiting now, the pid still named our child when the pidfd was
                    // opened. With one waiting, the child has ended: nothing to signal.
                    if sys::poll_one(status.as_fd(), libc::POLLIN, Some(Duration::ZERO))? {
                        return Ok(());
                    }
                    match opened {
                        Ok(fd) => *pidfd = Some(fd),
                        // No pidfds (kernel before 5.3): the same check, then the pid.
                        Err(_) => return Ok(sys::kill(self.pid, sig)?),
                    }
                }
                let fd = pidfd.as_ref().expect("opened above");
                match sys::pidfd_send_signal(fd.as_fd(), sig) {
                    // Ended and reaped since: its status is on its way.
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                    r => r?,
                }
            }
            State::Exited(_) => {}
            State::Closed(_) => return Err(ProcessError::Closed),
        }
        Ok(())
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
    pub(crate) shared: Arc<Shared>,
}

impl ProcessHandle {
    /// The child's process id (Python's `pid`).
    pub fn pid(&self) -> i32 {
        self.shared.pid
    }

    /// The child's name (Python's `name`).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Whether the child is a daemon (Python's `daemon`).
    pub fn is_daemon(&self) -> bool {
        self.shared.daemon
    }

    /// The start method that created the child.
    pub fn start_method(&self) -> StartMethod {
        self.shared.method
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
        self.shared
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
        self.shared.wait_deadline(Some(deadline))
    }

    /// Whether the child still runs (Python's `is_alive()`); reaps it if it ended.
    /// `false` after `close` and in any process but the parent.
    pub fn is_alive(&self) -> bool {
        matches!(self.shared.try_wait(), Ok(None))
    }

    /// The exit code if the child ended (Python's `exitcode`): `None` while it runs.
    pub fn exitcode(&self) -> Option<i32> {
        match &*self.shared.lock() {
            State::Exited(c) => return Some(*c),
            State::Closed(c) => return *c,
            State::Running(_) => {}
        }
        self.shared.try_wait().ok().flatten()
    }

    /// Asks the child to stop with `SIGTERM` (Python's `terminate()`). Nothing happens
    /// if it already ended.
    ///
    /// # Errors
    ///
    /// [`ProcessError::NotOurChild`], [`ProcessError::Closed`], or the system's error.
    pub fn terminate(&self) -> Result<(), ProcessError> {
        self.shared.signal(libc::SIGTERM)
    }

    /// Kills the child with `SIGKILL` (Python's `kill()`).
    ///
    /// # Errors
    ///
    /// As [`terminate`](ProcessHandle::terminate).
    pub fn kill(&self) -> Result<(), ProcessError> {
        self.shared.signal(libc::SIGKILL)
    }

    /// Releases the handle's resources (Python's `close()`); later waits fail with
    /// [`ProcessError::Closed`], and [`exitcode`](ProcessHandle::exitcode) keeps the
    /// code.
    ///
    /// # Errors
    ///
    /// [`ProcessError::StillRunning`] if the child has not ended.
    pub fn close(&self) -> Result<(), ProcessError> {
        self.shared.check_owner()?;
        let mut st = self.shared.lock();
        match self.shared.poll_locked(&mut st) {
            Ok(None) => Err(ProcessError::StillRunning),
            Ok(Some(c)) => {
                *st = State::Closed(Some(c));
                drop(st);
                registry::remove(&self.shared);
                Ok(())
            }
            Err(ProcessError::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl fmt::Debug for ProcessHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessHandle")
            .field("name", &self.shared.name)
            .field("pid", &self.shared.pid)
            .field("daemon", &self.shared.daemon)
            .field("method", &self.shared.method)
            .field("exitcode", &self.exitcode())
            .finish()
    }
}
