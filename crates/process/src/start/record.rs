//! The parent's record of a started child: how it learns that the child ended (wait)
//! and how it signals it, without ever reaching a recycled pid.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::ProcessError;
use crate::start::child;
use crate::start::forkserver;
use crate::start::{Spec, StartMethod};
use crate::sys::{self, Pid};

/// How the parent learns that a child ended.
pub(crate) enum Waiter {
    /// Our own child (`Fork`, `Spawn`, and a non-daemon `Forkserver` child, which the
    /// server forks as ours): reaped with `waitpid`. `pidfd` is opened by the first
    /// timed wait (none on kernels before 5.3).
    Own { pidfd: Option<Arc<OwnedFd>> },
    /// The forkserver's own child (a daemon): the server writes its exit status on
    /// `status`. `pidfd` is opened when the child is first signalled.
    Server {
        status: Arc<OwnedFd>,
        pidfd: Option<OwnedFd>,
    },
}

/// How [`Record::wait_deadline`] waits for a change, outside the lock.
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

/// The parent's record of a started child, shared by its handles and the registry.
pub(crate) struct Record {
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

impl Record {
    /// The record of a child started by `owner` (this process, whose pid the start
    /// path already looked up).
    pub(crate) fn with_owner(
        p: &Spec,
        name: Arc<str>,
        pid: Pid,
        waiter: Waiter,
        owner: Pid,
    ) -> Arc<Record> {
        Arc::new(Record {
            name,
            daemon: p.daemon,
            method: p.method,
            pid,
            owner,
            state: Mutex::new(State::Running(waiter)),
            child_me: None,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn check_owner(&self) -> Result<(), ProcessError> {
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

    /// Sends `sig` to the child unless it has ended (never to a recycled pid).
    pub(crate) fn signal(&self, sig: i32) -> Result<(), ProcessError> {
        self.check_owner()?;
        let mut st = self.lock();
        // Closed: the handle's resources are released (Python's `_check_closed`
        // raises ValueError in terminate()/kill() too).
        if let State::Closed(_) = &*st {
            return Err(ProcessError::Closed);
        }
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

    /// The exit code if the child ended, reaping it if needed: `None` while it runs.
    pub(crate) fn exitcode(&self) -> Option<i32> {
        match &*self.lock() {
            State::Exited(c) => return Some(*c),
            State::Closed(c) => return *c,
            State::Running(_) => {}
        }
        self.try_wait().ok().flatten()
    }

    /// Marks an ended child closed (its resources released; the exit code kept), and
    /// forgets it in the registry.
    pub(crate) fn close(self: &Arc<Record>) -> Result<(), ProcessError> {
        self.check_owner()?;
        let mut st = self.lock();
        match self.poll_locked(&mut st) {
            Ok(None) => Err(ProcessError::StillRunning),
            Ok(Some(c)) => {
                *st = State::Closed(Some(c));
                drop(st);
                crate::start::registry::remove(self);
                Ok(())
            }
            Err(ProcessError::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
