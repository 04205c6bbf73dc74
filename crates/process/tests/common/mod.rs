//! Helpers for the tests: raw fork (so the shared-memory tests exercise shared memory on
//! its own), starting a child through the `Process` API under a given start method, and
//! waiting for a condition with a generous upper bound.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_process::{ProcessHandle, StartMethod, get_context};

/// Every start method, for tests that run the same scenario under each.
pub const METHODS: [StartMethod; 3] = StartMethod::ALL;

/// Starts `f(args)` in a child under `method`.
pub fn start<A: Serialize + DeserializeOwned + Send + 'static>(
    method: StartMethod,
    f: fn(A),
    args: A,
) -> ProcessHandle {
    get_context(method)
        .process(f, args)
        .start()
        .expect("start child")
}

/// Forks; the child runs `f` and `_exit`s with its return value (101 on panic).
pub fn fork(f: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the child only runs `f` and then `_exit`s; the test binary uses glibc,
    // whose fork keeps malloc usable in the child.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for `pid`; its exit code, or minus the signal that killed it.
pub fn wait(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    }
}

/// SIGKILLs `pid` and reaps it.
pub fn kill(pid: libc::pid_t) -> i32 {
    // SAFETY: signals our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait(pid)
}

/// Polls `cond` every 5 ms until it holds or `limit` passes (a generous upper bound).
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// Whether process `pid` is asleep (state `S` in `/proc/<pid>/stat`). Polled after a
/// child reported that it is about to block (on a queue, a lock): once it sleeps, it is
/// blocked there, as long as nothing between its report and that wait can sleep.
pub fn asleep(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
    })
}

/// Whether `/dev/shm` holds a segment with this shm name ("/skein-…").
pub fn shm_exists(name: &str) -> bool {
    std::path::Path::new("/dev/shm")
        .join(name.trim_start_matches('/'))
        .exists()
}

/// Serialises the tests of one binary that use the raw [`fork`] above: a raw fork in a
/// multi-threaded test binary copies whatever lock another test thread holds at that
/// moment (the janitor's registry, say), and the child then waits on it forever — the
/// fork-with-threads hazard. skein's own `Fork` start method guards its locks across the
/// fork; this raw helper does not, so its tests take turns.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The start time of process `pid` in clock ticks since boot (`/proc/<pid>/stat`
/// field 22), while it runs.
pub fn start_tick(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process runs");
    let (_, rest) = stat.rsplit_once(')').expect("stat format");
    rest.split_whitespace()
        .nth(19)
        .and_then(|f| f.parse().ok())
        .expect("starttime field")
}

/// An unrelated process (`sleep`) that the kernel gave a dead process's pid; killed and
/// reaped on drop.
pub struct Squatter(std::process::Child);

impl Squatter {
    /// Its pid.
    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Makes the kernel hand `pid` — of a process that has exited and been reaped, which
/// started at clock tick `dead_start` — to a new unrelated process, by writing
/// `pid - 1` to `/proc/sys/kernel/ns_last_pid` (root only) right before starting it, and
/// retrying when another process got the number first. The new process is made to
/// start at a later tick than the dead one (as a real reuse does: the pid space must
/// wrap first), so that the two can be told apart.
///
/// `None`, with a loud note on stderr, when not root (the test then checks nothing).
pub fn recycle_pid(pid: i32, dead_start: u64) -> Option<Squatter> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "\n!!!!! SKIPPED: forcing pid reuse needs root (/proc/sys/kernel/ns_last_pid); \
             this pid-reuse test checked NOTHING !!!!!\n"
        );
        return None;
    }
    // Serialise the writers of ns_last_pid within this test binary.
    static NS_LAST_PID: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = NS_LAST_PID
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..1000 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1))
            .expect("write ns_last_pid as root");
        let child = std::process::Command::new("sleep")
            .arg("600")
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("spawn sleep");
        let squatter = Squatter(child);
        if squatter.pid() != pid {
            continue; // someone else took the number first: try again
        }
        if start_tick(pid) != dead_start {
            return Some(squatter);
        }
        // Started within the dead owner's clock tick: wait for the next tick.
        drop(squatter);
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("could not get pid {pid} handed to a new process");
}

/// The start-method matrix (SPEC.md guarantee 9): `matrix!(a, b)` makes one `#[test]`
/// per scenario per method — `fork::a`, `spawn::a`, `forkserver::a`, … — each calling
/// `super::a(method)`. Test files take it with `#[macro_use] mod common;`.
#[allow(unused_macros)]
macro_rules! matrix {
    ($($name:ident),* $(,)?) => {
        mod fork {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Fork) } )*
        }
        mod spawn {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Spawn) } )*
        }
        mod forkserver {
            $( #[test] fn $name() { super::$name(skein_process::StartMethod::Forkserver) } )*
        }
    };
}
