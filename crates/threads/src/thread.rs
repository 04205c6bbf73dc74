//! `Thread`: a cheap, clonable handle to one registered thread (Python's `Thread` object
//! once started).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::JoinError;

/// What started the thread; decides how it prints and whether it can be joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The process's main thread (`threading.main_thread()`).
    Main,
    /// Started by skein ([`Builder::spawn`](crate::Builder::spawn) and friends).
    Skein,
    /// Started elsewhere (`std::thread::spawn`, the test harness) and seen by skein
    /// because it asked for its [`current_thread`](crate::current_thread) — Python's
    /// `_DummyThread`.
    Foreign,
}

#[derive(Debug)]
enum State {
    Running,
    Finished,
    Panicked(String),
}

pub(crate) struct Inner {
    ident: u64,
    name: RwLock<String>,
    daemon: bool,
    kind: Kind,
    native_id: OnceLock<u64>,
    /// The native id the thread took in a forked child (0: it never crossed a fork;
    /// `native_id` is then the one it was born with).
    forked_native_id: AtomicU64,
    /// The fork generation of the process the thread runs in (see
    /// [`registry::generation`](crate::registry::generation)): after a fork, every thread
    /// of the parent but the forking one is left behind with an older generation, so the
    /// child sees it as ended without touching its state (whose lock a vanished thread
    /// may hold).
    generation: AtomicU64,
    state: Mutex<State>,
    ended: Condvar,
}

/// A handle to one thread known to skein: its name, ident, native id, daemon flag and
/// liveness. Python's `threading.Thread` object after `start()`.
///
/// Cloning is cheap (an `Arc`); every clone names the same thread, and two `Thread`s are
/// equal when they name the same thread. [`current_thread`](crate::current_thread),
/// [`main_thread`](crate::main_thread) and [`enumerate`](crate::enumerate) hand these out;
/// [`JoinHandle::thread`](crate::JoinHandle::thread) gives the one of a spawned thread.
///
/// `Thread` can [`join`](Thread::join) too (any number of times, from any thread), but it
/// cannot return the closure's value: only the [`JoinHandle`](crate::JoinHandle) owns that.
///
/// Its `Display` mimics Python's `repr`: `<Thread(LoopThread, started 3)>`.
///
/// # Examples
///
/// ```
/// use skein_threads::Builder;
///
/// let handle = Builder::new().name("LoopThread").spawn(|| 5).unwrap();
/// let thread = handle.thread().clone();
/// assert_eq!(thread.name(), "LoopThread");
/// assert!(!thread.is_daemon());
/// assert_eq!(handle.join().unwrap(), 5);
/// assert!(!thread.is_alive());
/// ```
#[derive(Clone)]
pub struct Thread {
    inner: Arc<Inner>,
}

impl Thread {
    pub(crate) fn new(ident: u64, name: String, daemon: bool, kind: Kind) -> Thread {
        crate::registry::note_used();
        Thread {
            inner: Arc::new(Inner {
                ident,
                name: RwLock::new(name),
                daemon,
                kind,
                native_id: OnceLock::new(),
                forked_native_id: AtomicU64::new(0),
                generation: AtomicU64::new(crate::registry::generation()),
                state: Mutex::new(State::Running),
                ended: Condvar::new(),
            }),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// Records the OS thread id; called on the thread itself.
    pub(crate) fn record_native_id(&self, id: Option<u64>) {
        if let Some(id) = id {
            let _ = self.inner.native_id.set(id);
        }
    }

    /// Whether the thread exists in this process: false in a forked child for every
    /// thread of the parent but the one that forked (Python's `_after_fork` marks them
    /// stopped).
    pub(crate) fn exists_here(&self) -> bool {
        self.inner.generation.load(Ordering::Relaxed) == crate::registry::generation()
    }

    /// In a forked child, on the thread that forked: it carries on as `generation`'s
    /// thread, under its new native id.
    pub(crate) fn carry_across_fork(&self, generation: u64, native_id: Option<u64>) {
        self.inner.generation.store(generation, Ordering::Relaxed);
        if let Some(id) = native_id {
            self.inner.forked_native_id.store(id, Ordering::Relaxed);
        }
    }

    /// Marks the thread as ended and wakes every joiner. `panic` is the panic message.
    pub(crate) fn finish(&self, panic: Option<String>) {
        let mut state = self.inner.state.lock();
        *state = match panic {
            Some(message) => State::Panicked(message),
            None => State::Finished,
        };
        drop(state);
        self.inner.ended.notify_all();
    }

    /// The thread's name (Python's `name` / `getName()`).
    ///
    /// Skein threads are named by [`Builder::name`](crate::Builder::name), or `Thread-N` by
    /// default; the main thread is `MainThread`; a thread skein did not start carries its
    /// std name, or `Dummy-N`.
    pub fn name(&self) -> String {
        self.inner.name.read().clone()
    }

    /// Renames the thread (Python's `name = …` / `setName()`).
    ///
    /// This changes the name skein reports ([`name`](Thread::name), [`enumerate`](crate::enumerate),
    /// the excepthook); the operating system's name, fixed when the thread started, stays
    /// (Python behaves the same).
    pub fn set_name(&self, name: impl Into<String>) {
        *self.inner.name.write() = name.into();
    }

    /// The thread's identifier (Python's `ident`): a non-zero number, unique for the life
    /// of the process (Python may reuse idents; skein never does). The main thread is 1.
    pub fn ident(&self) -> u64 {
        self.inner.ident
    }

    /// The operating system's id of the thread (Python's `native_id`; the `tid` on Linux),
    /// or `None` where the platform has none skein can read.
    ///
    /// A freshly spawned thread records it as its first step; this waits for that step if
    /// needed (Python's `start()` waits for it before returning).
    pub fn native_id(&self) -> Option<u64> {
        if !crate::native::SUPPORTED {
            return None;
        }
        match self.inner.forked_native_id.load(Ordering::Relaxed) {
            0 => {}
            forked => return Some(forked),
        }
        match self.inner.kind {
            Kind::Skein if self.is_alive() => Some(*self.inner.native_id.wait()),
            _ => self.inner.native_id.get().copied(),
        }
    }

    /// Whether this is a daemon thread (Python's `daemon` / `isDaemon()`): one that
    /// [`ExitGuard`](crate::ExitGuard) does not wait for at exit.
    pub fn is_daemon(&self) -> bool {
        self.inner.daemon
    }

    /// Whether the thread is still running (Python's `is_alive()`): true from the moment
    /// it is spawned until its closure returns or panics.
    ///
    /// In a child made by `fork`, the parent's threads (all but the one that forked) do
    /// not exist, and are not alive (Python's `_after_fork` marks them stopped).
    pub fn is_alive(&self) -> bool {
        self.exists_here() && matches!(*self.inner.state.lock(), State::Running)
    }

    /// Whether this is the main thread (Python: `t is threading.main_thread()`).
    ///
    /// In a child made by `fork`, the thread that forked is the child's main thread,
    /// whichever thread it was in the parent (Python's `_after_fork` does the same).
    pub fn is_main(&self) -> bool {
        crate::registry::is_main(self)
    }

    /// Waits for the thread to end (Python's `join()`).
    ///
    /// It returns once the thread's closure has returned or panicked (and the thread has
    /// left the registry); the thread's [`Local`](crate::Local) values may still be in the
    /// middle of being dropped. [`JoinHandle::join`](crate::JoinHandle::join) also waits
    /// for those, since it waits for the OS thread to exit.
    ///
    /// # Errors
    ///
    /// - the thread is the calling thread ([`JoinError::is_current_thread`]): an error,
    ///   not a deadlock;
    /// - the thread was started elsewhere (`std::thread`, a test harness) and is only
    ///   known to skein through [`current_thread`](crate::current_thread) — Python's
    ///   dummy thread ([`JoinError::is_not_joinable`]): an immediate error, as Python
    ///   raises `RuntimeError("cannot join a dummy thread")`. The main thread can be
    ///   joined from another thread, as in CPython: the join returns once an
    ///   [`ExitGuard`](crate::ExitGuard) (or [`run_main`](crate::run_main)) marks main
    ///   ended;
    /// - the thread panicked ([`JoinError::is_panic`], with the message).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = skein_threads::current_thread().join().unwrap_err();
    /// assert!(err.is_current_thread());
    /// ```
    pub fn join(&self) -> Result<(), JoinError> {
        self.join_inner(None)
    }

    /// Waits at most `timeout` for the thread to end (Python's `join(timeout)`).
    ///
    /// # Errors
    ///
    /// As [`join`](Thread::join), plus [`JoinError::is_timeout`] when the thread is still
    /// running after `timeout` (Python returns `None` and you call `is_alive()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let handle = skein_threads::spawn(move || { let _ = rx.recv(); }).unwrap();
    /// let err = handle.thread().join_timeout(Duration::from_millis(20)).unwrap_err();
    /// assert!(err.is_timeout());
    /// assert!(handle.thread().is_alive());
    /// drop(tx);
    /// handle.join().unwrap();
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), JoinError> {
        // A timeout too large for an `Instant` is no deadline at all.
        self.join_inner(Instant::now().checked_add(timeout))
    }

    /// Waits until `deadline` at most for the thread to end.
    ///
    /// # Errors
    ///
    /// As [`join_timeout`](Thread::join_timeout).
    pub fn join_deadline(&self, deadline: Instant) -> Result<(), JoinError> {
        self.join_inner(Some(deadline))
    }

    fn join_inner(&self, deadline: Option<Instant>) -> Result<(), JoinError> {
        if crate::registry::is_current(self) {
            return Err(JoinError::current_thread(self.name()));
        }
        if self.inner.kind == Kind::Foreign {
            // Python: `RuntimeError("cannot join a dummy thread")`: a thread started
            // elsewhere has no end that skein could wait for. (The main thread stays
            // joinable, as in CPython: its end is marked by the exit guard.)
            return Err(JoinError::not_joinable(self.name()));
        }
        if !self.exists_here() {
            // A thread of the parent, in a forked child: it does not run here, so it
            // has ended (Python's `join` returns at once). Its state is only peeked at:
            // its lock may have been held by a thread that did not cross the fork.
            return match self.inner.state.try_lock().as_deref() {
                Some(State::Panicked(message)) => {
                    Err(JoinError::panicked(self.name(), message.clone(), None))
                }
                _ => Ok(()),
            };
        }
        if !self.wait_ended(deadline) {
            return Err(JoinError::timeout(self.name()));
        }
        let state = self.inner.state.lock();
        match &*state {
            State::Panicked(message) => {
                let message = message.clone();
                drop(state);
                Err(JoinError::panicked(self.name(), message, None))
            }
            _ => Ok(()),
        }
    }

    /// Waits, without the current-thread check, until the thread ends or `deadline`
    /// passes; true when it ended. Used by the exit guard.
    pub(crate) fn wait_ended(&self, deadline: Option<Instant>) -> bool {
        if !self.exists_here() {
            return true; // a thread of the parent, in a forked child
        }
        let mut state = self.inner.state.lock();
        while matches!(*state, State::Running) {
            match deadline {
                None => self.inner.ended.wait(&mut state),
                Some(deadline) => {
                    if self
                        .inner
                        .ended
                        .wait_until(&mut state, deadline)
                        .timed_out()
                    {
                        return !matches!(*state, State::Running);
                    }
                }
            }
        }
        true
    }
}

impl PartialEq for Thread {
    fn eq(&self, other: &Thread) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Thread {}

impl Hash for Thread {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.ident.hash(state);
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("name", &self.name())
            .field("ident", &self.inner.ident)
            .field("daemon", &self.inner.daemon)
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// Python's `repr(thread)`: `<Thread(NAME, started [daemon ]IDENT)>`, `stopped` once ended,
/// `_MainThread` / `_DummyThread` for the main thread and threads skein did not start.
impl fmt::Display for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.inner.kind {
            Kind::Main => "_MainThread",
            Kind::Skein => "Thread",
            Kind::Foreign => "_DummyThread",
        };
        let status = if self.is_alive() {
            "started"
        } else {
            "stopped"
        };
        let daemon = if self.inner.daemon { " daemon" } else { "" };
        write!(
            f,
            "<{class}({}, {status}{daemon} {})>",
            self.name(),
            self.inner.ident
        )
    }
}
