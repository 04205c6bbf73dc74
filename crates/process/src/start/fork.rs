//! `fork()` that returns twice, and the `Fork` start method.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use std::sync::Arc;

use crate::error::StartCause;
use crate::start::record::Waiter;
use crate::start::{Failed, Record, Spec, StartMethod, child, registry};
use crate::sys::{self, ForkOutcome};

/// What [`fork`] returned in this copy of the process (Python's `os.fork()` returns
/// the child's pid in the parent and `0` in the child).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "fork returns twice: each copy must look at which one it is"]
pub enum Fork {
    /// This is the parent; the new child has this pid.
    Parent {
        /// The child's process id.
        child: i32,
    },
    /// This is the child.
    Child,
}

/// Python's `os.fork()`: copies this process; returns twice, once in each copy.
///
/// The child must eventually end with [`std::process::exit`] or by returning from
/// `main`, and the parent should reap it (`waitpid`); prefer [`Process`](crate::Process),
/// which does all of that. In the child, this crate's bookkeeping is reset (it has no
/// children, and does not share the parent's forkserver), and so is `skein-threads`'
/// registry, as Python's `os.fork()` runs `threading._after_fork`: the calling thread is
/// the child's only thread and its main thread.
///
/// Like CPython 3.12+, prints a warning (once per process) when other threads are
/// running: the child holds only the calling thread.
///
/// # Safety
///
/// In a process that runs other threads, the child must not touch state that those
/// threads may have been using (locks they held stay locked forever in the child,
/// data they were changing stays half-changed). In a single-threaded process, `fork`
/// is safe.
///
/// # Errors
///
/// The system's error, for example `EAGAIN` when no more processes may be created.
///
/// # Examples
///
/// ```
/// use skein_process::{fork, getpid, getppid, Fork};
///
/// let parent = getpid();
/// // SAFETY: the doctest runs single-threaded.
/// match unsafe { fork() }.unwrap() {
///     Fork::Child => {
///         assert_eq!(getppid(), parent);
///         std::process::exit(0);
///     }
///     Fork::Parent { child } => {
///         let mut status = 0;
///         // SAFETY: `status` is a valid out-pointer.
///         unsafe { libc::waitpid(child, &mut status, 0) };
///         assert!(child > 0);
///     }
/// }
/// ```
// The public `fork` is `unsafe` by contract (as in nix and rustix); its one block
// hands the caller's promise on to `sys::fork`, whose contract it is.
#[allow(unsafe_code)]
pub unsafe fn fork() -> io::Result<Fork> {
    warn_if_threaded();
    let guards = child::ForkGuards::lock();
    // SAFETY: the caller upholds this function's contract, which is `sys::fork`'s.
    match unsafe { sys::fork() } {
        Ok(ForkOutcome::Child) => {
            // Python's os.fork() leaves current_process() as it was.
            let _hooks = guards.reset_in_child(None);
            Ok(Fork::Child)
        }
        Ok(ForkOutcome::Parent(pid)) => Ok(Fork::Parent { child: pid }),
        Err(e) => Err(e),
    }
}

static WARNED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Other threads the caller of [`with_parked_threads`] vouches for.
    static PARKED: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f`, during which forks made *by this thread* (with [`fork`] or the `Fork`
/// start method) do not print the multi-threaded-fork warning as long as the process
/// runs at most `others` threads besides this one: the caller vouches that those
/// threads are parked where they hold no lock a child could need — the situation of
/// a single-threaded fork. A process with more threads still warns.
///
/// skein-pool uses it when the manager thread of a `Fork` process pool starts the
/// first workers while the thread that builds the pool waits for them (CPython's
/// `Pool` forks its first workers from the building thread before starting its helper
/// threads). Forks made later, while other threads run user code, still warn. Nothing
/// but the warning depends on it: a wrong promise makes no fork less safe, only quieter.
///
/// # Examples
///
/// ```
/// use skein_process::{with_parked_threads, Process, StartMethod};
///
/// fn child(_: ()) {}
///
/// skein_process::init();
/// let (go, wait) = std::sync::mpsc::channel::<()>();
/// let forker = std::thread::spawn(move || {
///     wait.recv().unwrap();
///     // This process's other thread waits in `join` below: it holds nothing.
///     with_parked_threads(1, || {
///         Process::new(child, ()).start_method(StartMethod::Fork).start().unwrap().join()
///     })
/// });
/// go.send(()).unwrap();
/// assert_eq!(forker.join().unwrap().unwrap(), 0);
/// ```
pub fn with_parked_threads<R>(others: usize, f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            PARKED.with(|p| p.set(self.0));
        }
    }
    let _restore = Restore(PARKED.with(|p| p.replace(others)));
    f()
}

/// Prints CPython 3.12's warning, once per process, when other threads run (beyond
/// those vouched for with [`with_parked_threads`]).
pub(crate) fn warn_if_threaded() {
    if WARNED.load(Ordering::Relaxed) {
        return;
    }
    if sys::certainly_single_threaded() {
        return;
    }
    let allowed = 1 + PARKED.with(Cell::get);
    if let Some(n) = sys::thread_count().filter(|&n| n > allowed) {
        if !WARNED.swap(true, Ordering::Relaxed) {
            let _ = writeln!(
                io::stderr(),
                "skein-process: warning: this process (pid {}) is multi-threaded ({n} threads); \
                 use of fork() may lead to deadlocks in the child, which holds only the calling \
                 thread. Use StartMethod::Forkserver (the default) or StartMethod::Spawn.",
                sys::getpid()
            );
        }
    }
}

/// Starts `p` with the `Fork` start method.
pub(crate) fn start(p: Spec) -> Result<Arc<Record>, Failed> {
    debug_assert_eq!(p.method, StartMethod::Fork);
    warn_if_threaded();
    child::install_panic_hook();
    // Allocated here: the child should touch (copy-on-write) as little memory as it can.
    let me = std::sync::Arc::new(child::describe_next_child(
        p.name.as_deref(),
        p.daemon,
        StartMethod::Fork,
    ));
    let name = me.name.clone();
    let parent = me.parent_pid();
    // The parent's record of the child, built before the fork too: after it, the
    // parent only fills in the pid (see `ForkState`'s note on copy-on-write faults).
    let mut shared = Record::with_owner(&p, name, 0, Waiter::Own { pidfd: None }, parent);
    // The record keeps the child's description alive: the parent then only drops a
    // reference after the fork (one counter on a page it writes anyway), instead of
    // freeing the description's four allocations.
    std::sync::Arc::get_mut(&mut shared)
        .expect("the record is not shared yet")
        .child_me = Some(me.clone());
    registry::arm_at_exit();
    // The child may read this process's executable identity (a pool worker checks every
    // function reference against it). Computed here first: were another thread in the
    // middle of its first computation at the fork, the child would inherit the
    // `OnceLock` half-initialised and wait on it forever. Once this returns, it is done.
    let _ = crate::sys::image::own();
    let mut guards = child::ForkGuards::lock();
    guards.reserve_child();
    // This thread holds every lock of the crate's own state across the fork
    // (`guards`), so the child resets that state without waiting on a vanished thread;
    // then it runs the user's payload and `_exit`s, never returning into the caller's
    // frames (see `sys::fork_child_never_returns`).
    match sys::fork_child_never_returns((guards, p, me), move |(guards, p, me)| {
        let daemon = p.daemon;
        let hooks = guards.reset_in_child(Some(me));
        if daemon {
            child::die_with_parent(parent);
        }
        let payload = p.payload;
        child::run_and_exit(hooks, move || {
            payload.run_here();
            Ok(())
        })
    }) {
        Err((e, (guards, p, _me))) => {
            drop(guards);
            Err(Box::new((StartCause::Os(e), p)))
        }
        Ok((pid, (guards, p, _me))) => {
            // No pidfd yet: a plain `join` waits with `waitid`, and only a timed wait
            // opens one (see `Record::wait_deadline`).
            std::sync::Arc::get_mut(&mut shared)
                .expect("the record is not shared before the child is registered")
                .pid = pid;
            guards.register_and_release(shared.clone());
            // Dropping the payload here closes the parent's copies of handles that
            // moved into the child.
            drop(p);
            Ok(shared)
        }
    }
}
