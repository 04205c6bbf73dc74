//! `current_process`, `parent_process`, `getpid`, `getppid`, `cpu_count`.

use std::os::fd::AsFd;
use std::time::Duration;

use crate::start::{StartMethod, child};
use crate::sys;

/// Python's `os.getpid()`.
pub fn getpid() -> i32 {
    sys::getpid()
}

/// Python's `os.getppid()`: this process's parent in the kernel. A `Forkserver` child
/// is forked by the server as its owner's own child (so this is the owner, as under
/// `Fork`), except a daemon child, which is the server's; [`parent_process`] always
/// gives the logical parent.
pub fn getppid() -> i32 {
    sys::getppid()
}

/// Python's `os.cpu_count()`: the number of online CPUs (not limited by this
/// process's affinity; [`std::thread::available_parallelism`] is).
pub fn cpu_count() -> usize {
    sys::cpu_count()
}

/// This process as the crate sees it (Python's `current_process()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentProcess {
    name: String,
    identity: Vec<u32>,
    daemon: bool,
    method: Option<StartMethod>,
}

impl CurrentProcess {
    /// The name: `"MainProcess"` in the program the user started, the child's name in
    /// a child.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (looked up now, so it is right after a raw [`fork`](crate::fork)).
    pub fn pid(&self) -> i32 {
        sys::getpid()
    }

    /// Whether this process is a daemon child.
    pub fn is_daemon(&self) -> bool {
        self.daemon
    }

    /// Python's `_identity`: empty in the main process, `[1, 2]` in the second child
    /// of the first child.
    pub fn identity(&self) -> &[u32] {
        &self.identity
    }

    /// How this process was started; `None` for the main process.
    pub fn start_method(&self) -> Option<StartMethod> {
        self.method
    }
}

/// This process (Python's `multiprocessing.current_process()`).
///
/// # Examples
///
/// ```
/// assert_eq!(skein_process::current_process().name(), "MainProcess");
/// ```
pub fn current_process() -> CurrentProcess {
    let me = child::me();
    CurrentProcess {
        name: me.name.to_string(),
        identity: me.identity.clone(),
        daemon: me.daemon,
        method: me.method,
    }
}

/// The process that started this one (Python's `parent_process()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentProcess {
    pid: i32,
    name: String,
}

impl ParentProcess {
    /// The parent's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The parent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the parent still runs.
    pub fn is_alive(&self) -> bool {
        match sys::pidfd_open(self.pid) {
            Ok(fd) => {
                !sys::poll_one(fd.as_fd(), libc::POLLIN, Some(Duration::ZERO)).unwrap_or(true)
            }
            Err(_) => sys::kill(self.pid, 0).is_ok(),
        }
    }

    /// Waits at most `timeout` for the parent to end — `parent_process().join(timeout)`;
    /// returns whether it has ended (Python's `join` returns nothing: check
    /// `is_alive()` after it).
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        match sys::pidfd_open(self.pid) {
            Ok(fd) => sys::poll_one(fd.as_fd(), libc::POLLIN, Some(timeout)).unwrap_or(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => true,
            Err(_) => {
                // No pidfds (a kernel before 5.3): look every few milliseconds.
                let deadline = std::time::Instant::now() + timeout;
                loop {
                    if !self.is_alive() {
                        return true;
                    }
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

/// The parent of this process if it is a child started by this crate (Python's
/// `multiprocessing.parent_process()`); `None` in the main process.
pub fn parent_process() -> Option<ParentProcess> {
    child::me().parent.clone().map(|(pid, name)| ParentProcess {
        pid,
        name: name.to_string(),
    })
}
