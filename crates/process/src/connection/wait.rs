//! `wait()` over connections, listeners and process sentinels; `Sentinel`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::connection::listener::Listener;
use crate::error::ProcessError;
use crate::pipe::Connection;
use crate::process::ProcessHandle;
use crate::start::record::{State, Waiter};
use crate::sys;

/// Something [`wait`] can wait on: it is *ready* when its descriptor is readable
/// (Python's "objects with a `fileno()`" and process sentinels).
pub trait Waitable {
    /// The descriptor that becomes readable when the object is ready; `None` when it
    /// is ready for good (an ended process whose sentinel needs no descriptor).
    fn wait_fd(&self) -> Option<BorrowedFd<'_>>;

    /// Whether the object is ready without looking at the descriptor (a connection
    /// holding bytes it already read ahead).
    fn ready_now(&self) -> bool {
        self.wait_fd().is_none()
    }
}

impl Waitable for Connection {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }

    fn ready_now(&self) -> bool {
        self.has_buffered()
    }
}

impl Waitable for Listener {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }
}

impl Waitable for Sentinel {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|f| f.as_fd())
    }
}

impl<T: Waitable + ?Sized> Waitable for &T {
    fn wait_fd(&self) -> Option<BorrowedFd<'_>> {
        (**self).wait_fd()
    }

    fn ready_now(&self) -> bool {
        (**self).ready_now()
    }
}

/// Python's `multiprocessing.connection.wait(object_list, timeout)`: waits until at
/// least one of `objects` is ready, or `timeout` passes (`None`: no limit). Returns
/// the indices of the ready objects, in order; empty after a timeout.
///
/// A connection is ready when a receive would not block (a message, or end-of-stream:
/// the next `recv` says `Disconnected`); a [`Listener`] when a client is waiting; a
/// [`Sentinel`] when its process has ended.
///
/// # Errors
///
/// The system's error from `poll`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::{pipe, wait, Waitable};
///
/// let (a, b) = pipe(true)?;
/// let (c, d) = pipe(true)?;
/// d.send(&1u8)?;
/// let ready = wait(&[&a as &dyn Waitable, &c], Some(Duration::from_secs(5)))?;
/// assert_eq!(ready, vec![1]);
/// drop(b);
/// assert!(wait(&[&a as &dyn Waitable], Some(Duration::ZERO))?.len() == 1); // hung up
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn wait(objects: &[&dyn Waitable], timeout: Option<Duration>) -> io::Result<Vec<usize>> {
    wait_deadline(objects, timeout.map(|t| Instant::now() + t))
}

/// As [`wait`], waiting until `deadline` at most.
///
/// # Errors
///
/// As [`wait`].
pub fn wait_deadline(
    objects: &[&dyn Waitable],
    deadline: Option<Instant>,
) -> io::Result<Vec<usize>> {
    let now: Vec<usize> = (0..objects.len())
        .filter(|&i| objects[i].ready_now())
        .collect();
    if !now.is_empty() {
        return Ok(now);
    }
    let mut fds = Vec::with_capacity(objects.len());
    let mut index = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        if let Some(fd) = o.wait_fd() {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
            index.push(i);
        }
    }
    loop {
        let ts = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            Timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: i64::from(left.subsec_nanos()),
            }
        });
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(_) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(fds
        .iter()
        .zip(index)
        .filter(|(p, _)| !p.revents().is_empty())
        .map(|(_, i)| i)
        .collect())
}

/// A descriptor that becomes readable when a process ends (Python's
/// `Process.sentinel`), from [`ProcessHandle::sentinel`]. Give it to [`wait`].
///
/// It is a pidfd: it names exactly that process, never a recycled pid, and stays
/// readable once the process has ended. Readiness says nothing about reaping: call
/// [`join`](ProcessHandle::join) (which then returns at once) for the exit code.
pub struct Sentinel {
    fd: Option<OwnedFd>,
    pid: i32,
}

impl Sentinel {
    /// Whether the process has ended (without waiting).
    pub fn is_ready(&self) -> bool {
        match &self.fd {
            None => true,
            Some(fd) => {
                sys::poll_one(fd.as_fd(), libc::POLLIN, Some(Duration::ZERO)).unwrap_or(true)
            }
        }
    }

    /// The process id it watches.
    pub fn pid(&self) -> i32 {
        self.pid
    }
}

impl fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sentinel")
            .field("pid", &self.pid)
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl ProcessHandle {
    /// A descriptor readable once this process has ended (Python's `p.sentinel`),
    /// for [`wait`] on several children, connections and listeners at once.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Closed`] after [`close`](ProcessHandle::close);
    /// [`ProcessError::NotOurChild`] in another process; [`ProcessError::Os`] if no
    /// pidfd can be opened (Linux before 5.3, descriptor limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use skein_process::{wait, Process, StartMethod, Waitable};
    ///
    /// fn nap(ms: u64) { std::thread::sleep(Duration::from_millis(ms)) }
    ///
    /// let quick = Process::new(nap, 0).start_method(StartMethod::Fork).start()?;
    /// let s = quick.sentinel()?;
    /// let ready = wait(&[&s as &dyn Waitable], Some(Duration::from_secs(30)))?;
    /// assert_eq!(ready, vec![0]);
    /// assert_eq!(quick.join()?, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sentinel(&self) -> Result<Sentinel, ProcessError> {
        let record = &self.record;
        record.check_owner()?;
        let st = record.lock();
        let pid = record.pid;
        let fd = match &*st {
            State::Exited(_) => None,
            State::Closed(_) => return Err(ProcessError::Closed),
            // Not reaped (that happens under this lock): the pid is still this child's.
            State::Running(Waiter::Own { .. }) => Some(sys::pidfd_open(pid)?),
            State::Running(Waiter::Server { status, .. }) => {
                // The forkserver writes a child's status before it reaps it: with no
                // status waiting after the pidfd was opened, the pid still named our
                // child when it was opened; with one waiting, the child has ended.
                let opened = sys::pidfd_open(pid)?;
                if sys::poll_one(status.as_fd(), libc::POLLIN, Some(Duration::ZERO))? {
                    None
                } else {
                    Some(opened)
                }
            }
        };
        Ok(Sentinel { fd, pid })
    }
}
