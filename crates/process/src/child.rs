//! The child's side: who am I, and how a child runs its target and ends.

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::context::StartMethod;
use crate::sys::{self, Pid};
use crate::{forkserver, handle, registry};

/// What a child knows about itself and its parent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Me {
    pub(crate) name: String,
    /// Python's `_identity`: `[1, 2]` is the second child of the first child.
    pub(crate) identity: Vec<u32>,
    pub(crate) daemon: bool,
    pub(crate) method: Option<StartMethod>,
    pub(crate) parent: Option<(Pid, String)>,
}

impl Me {
    fn main() -> Me {
        Me { name: "MainProcess".into(), identity: Vec::new(), daemon: false, method: None, parent: None }
    }
}

/// `None` until this process becomes a child; the main process is `Me::main()`.
static CURRENT: Mutex<Option<Arc<Me>>> = Mutex::new(None);
/// How many children this process has started (for `Process-N` names).
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Who this process is.
pub(crate) fn me() -> Arc<Me> {
    let mut cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    cur.get_or_insert_with(|| Arc::new(Me::main())).clone()
}

/// The identity of the next child: ours plus the next counter value.
pub(crate) fn next_identity() -> Vec<u32> {
    let mut id = me().identity.clone();
    id.push(COUNTER.fetch_add(1, Ordering::Relaxed) + 1);
    id
}

/// Python's default name for the child with this identity.
pub(crate) fn default_name(identity: &[u32]) -> String {
    let parts: Vec<String> = identity.iter().map(u32::to_string).collect();
    format!("Process-{}", parts.join(":"))
}

/// The description of a child about to start from this process.
pub(crate) fn describe_child(name: String, identity: Vec<u32>, daemon: bool, method: StartMethod) -> Me {
    let parent = me();
    Me { name, identity, daemon, method: Some(method), parent: Some((sys::getpid(), parent.name.clone())) }
}

/// Every lock of this crate's per-process state, taken by the forking thread right
/// before `fork` so that no other thread holds one at the moment of the fork: in the
/// child, the copies are then held by the only thread there is, which resets the state
/// through them and releases them. (A lock held by a vanished thread would otherwise
/// stay locked in the child forever.)
pub(crate) struct ForkGuards {
    children: MutexGuard<'static, Vec<Arc<crate::process::Shared>>>,
    servers: MutexGuard<'static, Vec<forkserver::Server>>,
    current: MutexGuard<'static, Option<Arc<Me>>>,
    hooks: Vec<fn()>,
}

impl ForkGuards {
    /// Takes every lock, in the crate's one lock order (children, servers, current).
    pub(crate) fn lock() -> ForkGuards {
        let children = registry::lock();
        let servers = forkserver::servers();
        let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        let hooks = handle::child_hooks();
        ForkGuards { children, servers, current, hooks }
    }

    /// In the child: forget the parent's children and forkserver connections (closing
    /// their descriptors), restart the name counter, and become `me` (if given).
    /// Returns the child hooks to run.
    pub(crate) fn reset_in_child(mut self, me: Option<Me>) -> Vec<fn()> {
        drop(std::mem::take(&mut *self.children));
        drop(std::mem::take(&mut *self.servers));
        if let Some(me) = me {
            *self.current = Some(Arc::new(me));
        }
        COUNTER.store(0, Ordering::Relaxed);
        self.hooks
    }
}

/// Makes this freshly exec'd (single-threaded) process the child described by `me`;
/// returns the child hooks to run.
pub(crate) fn become_child(me: Me) -> Vec<fn()> {
    ForkGuards::lock().reset_in_child(Some(me))
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
pub(crate) fn run_and_exit(hooks: Vec<fn()>, target: impl FnOnce() -> Result<(), String>) -> ! {
    let me = me();
    let name = me.name.clone();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let _ = writeln!(std::io::stderr(), "Process {name} (pid {}):", sys::getpid());
        previous(info);
    }));
    for hook in hooks {
        hook();
    }
    let code = match panic::catch_unwind(AssertUnwindSafe(target)) {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            let _ = writeln!(std::io::stderr(), "Process {}: {msg}", me.name);
            1
        }
        Err(_) => 1,
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    sys::exit_now(code)
}
