//! The process-wide registry of live threads, and which thread is the current one.
//!
//! Invariant: a thread is in the registry exactly while it runs. Skein threads are added
//! by the spawner *before* the OS thread exists (so `enumerate()` lists a thread as soon
//! as `spawn` returns) and removed by the thread itself after its closure returns or
//! panics, *before* joiners are woken (so after `join` it is gone). The main thread is
//! added on first use and stays. A thread skein did not start is added when it first asks
//! for its [`current_thread`] and removed by a thread-local destructor when it exits.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::native;
use crate::thread::{Kind, Thread};

/// Live threads by ident; idents grow with start order, so iteration is start order.
static REGISTRY: Mutex<BTreeMap<u64, Thread>> = parking_lot::const_mutex(BTreeMap::new());
static MAIN: OnceLock<Thread> = OnceLock::new();
/// Ident 1 is the main thread's.
static NEXT_IDENT: AtomicU64 = AtomicU64::new(2);
static NEXT_NAME: AtomicU64 = AtomicU64::new(1);
static NEXT_DUMMY: AtomicU64 = AtomicU64::new(1);

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

fn main_entry() -> &'static Thread {
    MAIN.get_or_init(|| {
        let main = Thread::new(1, "MainThread".to_owned(), false, Kind::Main);
        main.record_native_id(native::main_native_id());
        REGISTRY.lock().insert(1, main.clone());
        main
    })
}

pub(crate) fn next_ident() -> u64 {
    NEXT_IDENT.fetch_add(1, Ordering::Relaxed)
}

/// Python's default thread name, `Thread-N`.
pub(crate) fn default_name() -> String {
    format!("Thread-{}", NEXT_NAME.fetch_add(1, Ordering::Relaxed))
}

pub(crate) fn insert(thread: &Thread) {
    main_entry();
    REGISTRY.lock().insert(thread.ident(), thread.clone());
}

pub(crate) fn remove(thread: &Thread) {
    REGISTRY.lock().remove(&thread.ident());
}

/// Removes the main thread from the registry (the exit guard calls this when `main` is
/// over, as Python marks its main thread stopped at shutdown).
pub(crate) fn remove_main() {
    let main = main_entry();
    remove(main);
    main.finish(None);
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
            let main = main_entry().clone();
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
        return main_entry().clone();
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
    main_entry().clone()
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
    main_entry();
    REGISTRY.lock().values().cloned().collect()
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
    main_entry();
    REGISTRY.lock().len()
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

/// Non-daemon skein threads other than the caller: what the exit guard waits for.
pub(crate) fn non_daemon_others() -> Vec<Thread> {
    main_entry();
    REGISTRY
        .lock()
        .values()
        .filter(|t| t.kind() == Kind::Skein && !t.is_daemon() && !is_current(t))
        .cloned()
        .collect()
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
