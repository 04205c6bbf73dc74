//! The child's side: who am I, and how a child runs its target and ends.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use crate::start::{Record, StartMethod, forkserver, registry};
use crate::sys::{self, Pid};

/// What a child knows about itself and its parent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Me {
    /// Record with the parent's record of this child (one allocation, not two).
    pub(crate) name: Arc<str>,
    /// Python's `_identity`: `[1, 2]` is the second child of the first child.
    pub(crate) identity: Vec<u32>,
    pub(crate) daemon: bool,
    pub(crate) method: Option<StartMethod>,
    pub(crate) parent: Option<(Pid, Arc<str>)>,
}

impl Me {
    fn main() -> Me {
        Me {
            name: "MainProcess".into(),
            identity: Vec::new(),
            daemon: false,
            method: None,
            parent: None,
        }
    }

    /// The pid of the process that started this one (0 for the main process). In a
    /// description made by [`describe_next_child`], the describing process's own pid,
    /// looked up already.
    pub(crate) fn parent_pid(&self) -> Pid {
        self.parent.as_ref().map_or(0, |p| p.0)
    }
}

/// Every mutable static the start path writes, on one page of its own.
///
/// After a `fork`, each page either process writes costs a copy-on-write fault (several
/// µs on a busy VM); the parent unlocks these locks and the child resets them right
/// after the fork, so keeping them together makes that one page instead of one per
/// static.
#[repr(C, align(4096))]
pub(crate) struct ForkState {
    /// `None` until this process becomes a child; the main process is `Me::main()`.
    current: Mutex<Option<Arc<Me>>>,
    /// How many children this process has started (for `Process-N` names).
    counter: AtomicU32,
    /// The children this process started and has not reaped (see `registry`).
    pub(crate) children: Mutex<registry::Children>,
    /// The connections to forkservers (see `forkserver`).
    pub(crate) servers: Mutex<Vec<forkserver::Server>>,
    /// Hooks run in every child before its target, whatever the start method (see
    /// [`on_child_start`]).
    pub(crate) hooks: Mutex<Vec<fn()>>,
}

// All of it on one page.
const _: () = assert!(std::mem::size_of::<ForkState>() == 4096);

pub(crate) static STATE: ForkState = ForkState {
    current: Mutex::new(None),
    counter: AtomicU32::new(0),
    children: Mutex::new(registry::Children::new()),
    servers: Mutex::new(Vec::new()),
    hooks: Mutex::new(Vec::new()),
};

/// Registers `hook` to run in every child process this process starts from now on,
/// after the child's bookkeeping is reset and before its target runs.
///
/// Under `Fork` the registration is inherited with memory; under `Spawn` and
/// `Forkserver` the child is a fresh exec, so a hook must be registered by code that
/// also runs there (typically a handle's `Deserialize` impl, or a `static`
/// initialiser). For handle kinds; registering the same `fn` twice runs it once.
#[allow(dead_code)] // an extension point: no handle kind needs one yet
pub(crate) fn on_child_start(hook: fn()) {
    let mut hooks = STATE.hooks.lock().unwrap_or_else(|e| e.into_inner());
    if !hooks.iter().any(|h| std::ptr::fn_addr_eq(*h, hook)) {
        hooks.push(hook);
    }
}

/// The registered child hooks (read in the parent before a fork, so that the child
/// takes no lock to find them).
pub(crate) fn child_hooks() -> Vec<fn()> {
    STATE
        .hooks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

/// Who this process is.
pub(crate) fn me() -> Arc<Me> {
    let mut cur = STATE.current.lock().unwrap_or_else(|e| e.into_inner());
    cur.get_or_insert_with(|| Arc::new(Me::main())).clone()
}

/// Python's default name for the child with this identity (`Process-1:2`), formatted
/// on the stack and then allocated once.
pub(crate) fn default_name(identity: &[u32]) -> Arc<str> {
    use std::fmt::Write as _;
    let mut name = StackStr::default();
    name.push_str("Process-");
    for (i, n) in identity.iter().enumerate() {
        let sep = if i == 0 { "" } else { ":" };
        let _ = write!(name, "{sep}{n}");
    }
    match name.spilled {
        Some(long) => Arc::from(long),
        None => Arc::from(name.as_str()),
    }
}

/// A string built on the stack; spills into a `String` if it outgrows its buffer.
struct StackStr {
    buf: [u8; 64],
    len: usize,
    spilled: Option<String>,
}

impl Default for StackStr {
    fn default() -> StackStr {
        StackStr {
            buf: [0; 64],
            len: 0,
            spilled: None,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("only whole strings are pushed")
    }

    fn push_str(&mut self, s: &str) {
        if let Some(long) = &mut self.spilled {
            long.push_str(s);
        } else if self.len + s.len() <= self.buf.len() {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut long = String::with_capacity(self.len + s.len());
            long.push_str(self.as_str());
            long.push_str(s);
            self.spilled = Some(long);
        }
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// The description of the next child this process starts: its identity (ours plus the
/// next counter value), its name (`name`, or Python's default), and us as its parent.
///
/// One look at our own description, under its lock, without cloning it: a `Fork`
/// start writes as few heap pages as it can (after the fork, each is a copy-on-write
/// fault in the parent).
pub(crate) fn describe_next_child(name: Option<&str>, daemon: bool, method: StartMethod) -> Me {
    let mut current = STATE.current.lock().unwrap_or_else(|e| e.into_inner());
    let me = current.get_or_insert_with(|| Arc::new(Me::main()));
    let mut identity = Vec::with_capacity(me.identity.len() + 1);
    identity.extend_from_slice(&me.identity);
    identity.push(STATE.counter.fetch_add(1, Ordering::Relaxed) + 1);
    let name = name.map_or_else(|| default_name(&identity), Arc::from);
    Me {
        name,
        identity,
        daemon,
        method: Some(method),
        parent: Some((sys::getpid(), me.name.clone())),
    }
}

/// Every lock of this crate's per-process state, taken by the forking thread right
/// before `fork` so that no other thread holds one at the moment of the fork: in the
/// child, the copies are then held by the only thread there is, which resets the state
/// through them and releases them. (A lock held by a vanished thread would otherwise
/// stay locked in the child forever.)
///
/// Standard output is flushed first, so that buffered output is not printed twice.
/// When other threads may run, the standard output and error locks are held across
/// the fork too: a thread printing at the moment of the fork would otherwise leave
/// them locked in the child. (They are reentrant and owned by this very thread, which
/// the child is.) A process that never started a second thread skips those two locks:
/// nobody else can hold them, and each lock word is one more page that both copies
/// would write after the fork (a copy-on-write fault each).
///
/// The thread registry of `skein-threads` is held last ([`skein_threads::before_fork`]):
/// in the child it keeps only the forking thread (Python's `threading._after_fork`), so
/// that the child's exit waits for its own non-daemon threads and not for the parent's.
/// A process that never had a second thread nor a skein thread skips it too (nothing to
/// hold or reset; its memory is another page each copy would write after the fork).
pub(crate) struct ForkGuards {
    children: MutexGuard<'static, registry::Children>,
    servers: MutexGuard<'static, Vec<forkserver::Server>>,
    current: MutexGuard<'static, Option<Arc<Me>>>,
    hooks: Vec<fn()>,
    _stdio: Option<(std::io::StdoutLock<'static>, std::io::StderrLock<'static>)>,
    /// `None` in a process that never had a second thread nor a skein thread: nothing
    /// to hold or reset there (see [`skein_threads::before_fork_single_threaded`]).
    threads: Option<skein_threads::ForkGuard>,
}

impl ForkGuards {
    /// Takes every lock, in the crate's one lock order (stdout, stderr, children,
    /// servers, current, then the thread registry's).
    pub(crate) fn lock() -> ForkGuards {
        let single_threaded = sys::certainly_single_threaded();
        let stdio = if single_threaded {
            let _ = std::io::stdout().flush();
            None
        } else {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.flush();
            // Unbuffered: locked only so that no other thread holds it at the fork.
            Some((stdout, std::io::stderr().lock()))
        };
        let children = registry::lock();
        let servers = forkserver::servers();
        let current = STATE.current.lock().unwrap_or_else(|e| e.into_inner());
        let hooks = child_hooks();
        // Last: no thread holds the registry's locks while it waits for one of ours.
        let threads = if single_threaded {
            skein_threads::before_fork_single_threaded()
        } else {
            Some(skein_threads::before_fork())
        };
        ForkGuards {
            children,
            servers,
            current,
            hooks,
            _stdio: stdio,
            threads,
        }
    }

    /// In the child: forget the parent's children and forkserver connections (closing
    /// their descriptors), restart the name counter, and become `me` (if given).
    /// Returns the child hooks to run.
    ///
    /// The parent's records are forgotten, not dropped: freeing them would write to
    /// the heap pages they live on (and the allocator's), each a copy-on-write fault,
    /// for memory that is only this child's copy anyway. Only the descriptors are
    /// closed.
    #[inline(always)]
    pub(crate) fn reset_in_child(mut self, me: Option<Arc<Me>>) -> Vec<fn()> {
        reset_state(&mut self.children, &mut self.servers, &mut self.current, me);
        if let Some(threads) = self.threads.take() {
            threads.after_in_child();
        }
        std::mem::take(&mut self.hooks)
    }

    /// In the parent, right after the fork: registers `child` while the registry's
    /// lock is still held (its room was reserved before the fork), then releases
    /// everything.
    pub(crate) fn register_and_release(mut self, child: Arc<Record>) {
        self.children.push(child);
    }

    /// Makes room for one more child in the registry (before the fork, so that the
    /// parent does not allocate after it).
    pub(crate) fn reserve_child(&mut self) {
        self.children.reserve_one();
    }
}

/// Makes this process — a fresh exec, or a forkserver's child: single-threaded, with
/// nothing of its own on standard output — the child described by `me`.
pub(crate) fn become_child(me: Arc<Me>) {
    install_panic_hook();
    // Nobody else can hold these locks (taken in the crate's lock order, and released
    // at the end of the statement); the child hooks were read beforehand.
    reset_state(
        &mut registry::lock(),
        &mut forkserver::servers(),
        &mut STATE.current.lock().unwrap_or_else(|e| e.into_inner()),
        Some(me),
    );
}

/// A new child's reset of the state it inherited, through the locks its caller holds:
/// forgets the parent's children and forkserver connections (closing their
/// descriptors), restarts the name counter, and becomes `me` (if given). What is
/// replaced is forgotten, not dropped (see [`ForkGuards::reset_in_child`]).
// Inlined into each start path: in a forked child, every code page it runs is a fault.
#[inline(always)]
fn reset_state(
    children: &mut registry::Children,
    servers: &mut Vec<forkserver::Server>,
    current: &mut Option<Arc<Me>>,
    me: Option<Arc<Me>>,
) {
    children.forget_all();
    forkserver::forget_all_in_child(servers);
    if let Some(me) = me {
        std::mem::forget(current.replace(me));
    }
    STATE.counter.store(0, Ordering::Relaxed);
}

static PANIC_HOOK: Once = Once::new();

/// Installs, once per process, a panic hook that names the process when it is a
/// child: `Process <name> (pid N):`, then the previous hook's output. It is installed
/// in the parent before a `Fork` start, so that the child never takes the hook's lock
/// (another thread may hold it at the moment of the fork); in the main process it
/// only delegates. A hook the program sets later replaces it.
pub(crate) fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let me = me();
            if me.parent.is_some() {
                let _ = writeln!(
                    std::io::stderr(),
                    "Process {} (pid {}):",
                    me.name,
                    sys::getpid()
                );
            }
            previous(info);
        }));
    });
}

/// For a daemon child: die with the parent. `expected_parent` is the process that
/// created this one (the forkserver for its children); if it is already gone, so are
/// we.
pub(crate) fn die_with_parent(expected_parent: Pid) {
    // SIGKILL cannot be caught: the daemon surely ends.
    if sys::set_parent_death_signal(libc::SIGKILL).is_err() || sys::getppid() != expected_parent {
        sys::exit_now(1);
    }
}

/// Runs a child's target and ends the process with Python's exit codes: 0 when the
/// target returns, 1 after a panic (printed with the process's name) or when the
/// arguments cannot be rebuilt.
// Inlined into each start path: in a forked child, every code page it runs is a fault.
#[inline(always)]
pub(crate) fn run_and_exit(hooks: Vec<fn()>, target: impl FnOnce() -> Result<(), String>) -> ! {
    // The panic hook that names this process was installed before (see
    // `install_panic_hook`): the child takes no lock that another thread of its parent
    // may have held at the moment of a fork.
    // By reference, and the vector forgotten: its iterator's drop is one more code
    // page for a forked child to fault in.
    for hook in &hooks {
        hook();
    }
    std::mem::forget(hooks);
    let code = match panic::catch_unwind(AssertUnwindSafe(target)) {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            let _ = writeln!(std::io::stderr(), "Process {}: {msg}", me().name);
            1
        }
        Err(_) => 1,
    };
    // Python's `Process._bootstrap` ends with `threading._shutdown()`: the target's
    // non-daemon threads still running are waited for (also after a panic), its daemon
    // threads are abandoned. The exit code stays the target's.
    wait_for_non_daemon_threads();
    // Standard error is unbuffered: only standard output can hold unwritten bytes.
    let _ = std::io::stdout().flush();
    sys::exit_now(code)
}

/// A child's end, as Python's `threading._shutdown()`: marks the main thread ended (so
/// threads joining it are released) and waits for every non-daemon skein thread. A
/// panic here (none is expected) must not keep the child from exiting.
// Inlined into each start path (see above); a child that never had a skein thread
// returns at the guard's first (inlined) check.
#[inline(always)]
fn wait_for_non_daemon_threads() {
    let _ = panic::catch_unwind(|| drop(skein_threads::ExitGuard::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_python() {
        assert_eq!(&*default_name(&[1]), "Process-1");
        assert_eq!(&*default_name(&[1, 2]), "Process-1:2");
        let deep: Vec<u32> = (1..=20).map(|i| i * 1_000_000).collect();
        let long = default_name(&deep);
        assert!(long.starts_with("Process-1000000:2000000:"));
        assert!(long.ends_with(":20000000"));
    }

    #[test]
    fn hooks_register_once() {
        fn hook() {}
        on_child_start(hook);
        on_child_start(hook);
        let n = child_hooks()
            .iter()
            .filter(|h| std::ptr::fn_addr_eq(**h, hook as fn()))
            .count();
        assert_eq!(n, 1);
    }
}
