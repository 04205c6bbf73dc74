//! The process-wide registry of live threads, and which thread is the current one.
//!
//! Invariant: a thread is in the registry exactly while it runs. Skein threads are added
//! by the spawner *before* the OS thread exists (so `enumerate()` lists a thread as soon
//! as `spawn` returns) and removed by the thread itself after its closure returns or
//! panics, *before* joiners are woken (so after `join` it is gone). The main thread is
//! added on first use and stays. A thread skein did not start is added when it first asks
//! for its [`current_thread`] and removed by a thread-local destructor when it exits.
//!
//! Across a `fork` (see [`crate::fork`]) the registry keeps one thread, the one that
//! forked, which becomes the child's main thread; the others are left behind in an older
//! *generation*, so the child sees them as ended without touching them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::native;
use crate::thread::{Kind, Thread};

/// The registry's state, under one lock.
///
/// A `std` mutex (a futex on Linux), not `parking_lot`'s: the forking thread holds it
/// across `fork`, and the child's unlock must not reach into `parking_lot`'s global
/// table of parked threads, whose buckets a thread that did not cross the fork may have
/// held.
pub(crate) struct Registry {
    /// Live threads by ident; idents grow with start order, so iteration is start order.
    threads: BTreeMap<u64, Thread>,
    /// The main thread, once someone asked for it (in a forked child: the thread that
    /// forked).
    main: Option<Thread>,
}

impl Registry {
    /// The main thread, registered on first use.
    fn main(&mut self) -> Thread {
        if let Some(main) = &self.main {
            return main.clone();
        }
        let main = Thread::new(1, "MainThread".to_owned(), false, Kind::Main);
        main.record_native_id(native::main_native_id());
        self.threads.insert(1, main.clone());
        self.main = Some(main.clone());
        main
    }

    /// The main thread's entry, if it was ever created.
    pub(crate) fn main_if_any(&self) -> Option<Thread> {
        self.main.clone()
    }

    /// In a forked child, through the lock the forking thread held across the fork:
    /// `current` (the thread that forked) is the only thread and the main thread.
    ///
    /// The parent's map is forgotten, not dropped: its threads may be referenced from
    /// memory the child never looks at again, and freeing it would only write to pages
    /// shared with the parent (a copy-on-write fault each).
    pub(crate) fn keep_only(&mut self, current: Thread) {
        let mut threads = BTreeMap::new();
        threads.insert(current.ident(), current.clone());
        std::mem::forget(std::mem::replace(&mut self.threads, threads));
        std::mem::forget(self.main.replace(current));
    }
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    threads: BTreeMap::new(),
    main: None,
});
/// Ident 1 is the main thread's.
static NEXT_IDENT: AtomicU64 = AtomicU64::new(2);
static NEXT_NAME: AtomicU64 = AtomicU64::new(1);
static NEXT_DUMMY: AtomicU64 = AtomicU64::new(1);
/// How many forks separate this process from the first one: a [`Thread`] born in an
/// older generation belongs to an ancestor and does not run here.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether a [`Thread`] was ever made in this process (or the one it was forked from):
/// until then there is nothing to reset across a fork and nothing to wait for at exit.
/// Set by [`Thread::new`], so before any thread is registered.
static EVER_USED: AtomicBool = AtomicBool::new(false);

/// See [`EVER_USED`]. Inlined into other crates' fast paths (a child's exit).
#[inline]
pub(crate) fn ever_used() -> bool {
    EVER_USED.load(Ordering::Acquire)
}

/// Called by [`Thread::new`].
pub(crate) fn note_used() {
    if !EVER_USED.load(Ordering::Relaxed) {
        EVER_USED.store(true, Ordering::Release);
    }
}

/// The registry, locked. Nothing panics under this lock, but a poisoned lock would still
/// hold consistent data: every change is one map operation.
pub(crate) fn lock() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This process's fork generation (see [`GENERATION`]).
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// In a forked child, before anything else reads it: the next generation.
pub(crate) fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed) + 1
}

/// The thread-local slot naming the current thread.
struct Current {
    thread: RefCell<Option<Thread>>,
}

impl Drop for Current {
    fn drop(&mut self) {
        // A skein thread has already left the registry; a foreign thread leaves it here,
        // at its exit, so the registry stays truthful for threads skein did not start.
        if let Some(thread) = self.thread.get_mut().take() {
            if thread.kind() == Kind::Foreign {
                remove(&thread);
                thread.finish(None);
            }
        }
    }
}

thread_local! {
    static CURRENT: Current = const { Current { thread: RefCell::new(None) } };
}

fn main_entry() -> Thread {
    lock().main()
}

pub(crate) fn next_ident() -> u64 {
    NEXT_IDENT.fetch_add(1, Ordering::Relaxed)
}

/// Python's default thread name, `Thread-N`.
pub(crate) fn default_name() -> String {
    format!("Thread-{}", NEXT_NAME.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn insert(thread: &Thread) {
    let mut registry = lock();
    registry.main();
    registry.threads.insert(thread.ident(), thread.clone());
}

pub(crate) fn remove(thread: &Thread) {
    // The removed entry is dropped after the lock is released.
    let removed = lock().threads.remove(&thread.ident());
    drop(removed);
}

/// Removes the main thread from the registry (the exit guard calls this when `main` is
/// over, as Python marks its main thread stopped at shutdown).
pub(crate) fn remove_main() {
    let main = main_entry();
    remove(&main);
    main.finish(None);
}

/// The main thread's entry, if anyone asked for it yet (never creates it).
pub(crate) fn main_if_created() -> Option<Thread> {
    lock().main_if_any()
}

/// Whether `thread` is the main thread (in a forked child, the thread that forked).
pub(crate) fn is_main(thread: &Thread) -> bool {
    lock().main.as_ref() == Some(thread)
}

/// The calling thread's entry, if it has one yet (never adopts the caller).
pub(crate) fn current_if_known() -> Option<Thread> {
    CURRENT
        .try_with(|c| c.thread.borrow().clone())
        .ok()
        .flatten()
}

/// Makes `thread` the calling thread's current thread (a skein thread's first step).
pub(crate) fn set_current(thread: Thread) {
    let _ = CURRENT.try_with(|c| *c.thread.borrow_mut() = Some(thread));
}

/// Whether `thread` is the calling thread, without adopting the caller as a dummy.
pub(crate) fn is_current(thread: &Thread) -> bool {
    match CURRENT.try_with(|c| c.thread.borrow().as_ref().map(|current| current == thread)) {
        Ok(Some(same)) => same,
        _ => thread.kind() == Kind::Main && native::is_main_os_thread(),
    }
}

/// The daemon flag a new thread inherits from the thread that creates it (Python: a
/// thread is a daemon when its creator is). Threads skein did not start count as daemons,
/// like Python's `_DummyThread`; the main thread is not one.
pub(crate) fn current_is_daemon() -> bool {
    let known = CURRENT.try_with(|c| {
        if let Some(thread) = &*c.thread.borrow() {
            return Some(thread.is_daemon());
        }
        if native::is_main_os_thread() {
            // Remember the main thread, so the next spawn from it skips the OS check.
            let main = main_entry();
            let daemon = main.is_daemon();
            *c.thread.borrow_mut() = Some(main);
            return Some(daemon);
        }
        None
    });
    // A thread skein did not start counts as a daemon (it is not adopted here).
    known.ok().flatten().unwrap_or(true)
}

/// Builds the `Thread` for a caller skein has not seen yet: the main thread, or a foreign
/// ("dummy") thread that joins the registry until it exits.
fn adopt() -> Thread {
    if native::is_main_os_thread() {
        return main_entry();
    }
    let name = std::thread::current()
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Dummy-{}", NEXT_DUMMY.fetch_add(1, Ordering::Relaxed)));
    let thread = Thread::new(next_ident(), name, true, Kind::Foreign);
    thread.record_native_id(native::current_native_id());
    thread
}

/// Returns the [`Thread`] of the caller (Python's `threading.current_thread()`).
///
/// For a thread skein started, its own handle; for the main thread, `MainThread`; for a
/// thread started some other way (`std::thread::spawn`, the test harness), a daemon
/// "dummy" entry named after the std thread name (or `Dummy-N`) that joins the registry
/// now and leaves it when that thread exits — Python's `_DummyThread`.
///
/// # Examples
///
/// ```
/// let handle = skein_threads::Builder::new()
///     .name("LoopThread")
///     .spawn(|| skein_threads::current_thread().name())
///     .unwrap();
/// assert_eq!(handle.join().unwrap(), "LoopThread");
/// ```
pub fn current_thread() -> Thread {
    let found = CURRENT.try_with(|c| {
        if let Some(thread) = &*c.thread.borrow() {
            return thread.clone();
        }
        let thread = adopt();
        if thread.kind() == Kind::Foreign {
            insert(&thread);
        }
        *c.thread.borrow_mut() = Some(thread.clone());
        thread
    });
    // During thread-local destruction the slot is gone: describe the thread, unregistered.
    found.unwrap_or_else(|_| adopt())
}

/// Returns the main thread (Python's `threading.main_thread()`), named `MainThread`,
/// ident 1.
///
/// # Examples
///
/// ```
/// let main = skein_threads::main_thread();
/// assert_eq!(main.name(), "MainThread");
/// assert_eq!(main.ident(), 1);
/// ```
pub fn main_thread() -> Thread {
    main_entry()
}

/// Lists every live thread skein knows, in start order, the main thread first (Python's
/// `threading.enumerate()`).
///
/// A skein thread is listed from the moment `spawn` returns until its closure has
/// returned or panicked; after `join` returns it is never listed. Threads skein did not
/// start are listed once they have asked for their [`current_thread`], until they exit.
///
/// # Examples
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel::<()>();
/// let handle = skein_threads::Builder::new()
///     .name("dance-1")
///     .spawn(move || { let _ = rx.recv(); })
///     .unwrap();
/// let names: Vec<String> = skein_threads::enumerate().iter().map(|t| t.name()).collect();
/// assert!(names.contains(&"dance-1".to_string()));
/// drop(tx);
/// handle.join().unwrap();
/// assert!(!skein_threads::enumerate().iter().any(|t| t.name() == "dance-1"));
/// ```
pub fn enumerate() -> Vec<Thread> {
    let mut registry = lock();
    registry.main();
    registry.threads.values().cloned().collect()
}

/// The number of live threads skein knows (Python's `threading.active_count()`): always
/// `enumerate().len()`.
///
/// # Examples
///
/// ```
/// assert!(skein_threads::active_count() >= 1); // at least the main thread
/// ```
pub fn active_count() -> usize {
    let mut registry = lock();
    registry.main();
    registry.threads.len()
}

/// The calling thread's ident (Python's `threading.get_ident()`); see
/// [`Thread::ident`].
///
/// # Examples
///
/// ```
/// assert_eq!(skein_threads::get_ident(), skein_threads::current_thread().ident());
/// ```
pub fn get_ident() -> u64 {
    current_thread().ident()
}

/// The calling thread's OS thread id (Python's `threading.get_native_id()`), or `None`
/// where the platform has none skein can read (skein reads it on Linux).
///
/// # Examples
///
/// ```
/// # #[cfg(target_os = "linux")]
/// assert!(skein_threads::get_native_id().is_some());
/// ```
pub fn get_native_id() -> Option<u64> {
    native::current_native_id()
}

/// Non-daemon skein threads other than the caller and the main thread: what the exit
/// guard waits for. (Without creating the main thread's entry: a process that never
/// used the registry, such as a freshly forked child, touches nothing here.)
pub(crate) fn non_daemon_others() -> Vec<Thread> {
    let registry = lock();
    registry
        .threads
        .values()
        .filter(|t| {
            t.kind() == Kind::Skein
                && !t.is_daemon()
                && registry.main.as_ref() != Some(*t)
                && !is_current(t)
        })
        .cloned()
        .collect()
}

/// Makes `thread` the calling thread's current thread in a forked child, where the
/// caller may have been known under another entry (or none).
pub(crate) fn replace_current(thread: Thread) {
    let _ = CURRENT.try_with(|c| {
        std::mem::forget(c.thread.borrow_mut().replace(thread));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_count_up() {
        let a = default_name();
        let b = default_name();
        let n = |s: &str| s.strip_prefix("Thread-").unwrap().parse::<u64>().unwrap();
        assert!(n(&b) > n(&a));
    }

    #[test]
    fn idents_never_repeat_and_skip_the_main_threads() {
        let a = next_ident();
        let b = next_ident();
        assert!(a >= 2 && b > a);
        assert_eq!(main_thread().ident(), 1);
    }

    #[test]
    fn is_current_does_not_adopt_the_caller() {
        // A test-harness thread: not the main thread, never asked for current_thread().
        let before = enumerate().len();
        assert!(!is_current(&main_thread()));
        assert_eq!(enumerate().len(), before);
    }
}
