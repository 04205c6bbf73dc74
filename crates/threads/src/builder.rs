//! `Builder`: Python's `Thread(target, args, kwargs, name, daemon)` before `start()`, and
//! the process-wide default stack size (`threading.stack_size`).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::{MIN_STACK_SIZE, SpawnError, StackSizeError, panic_message};
use crate::handle::JoinHandle;
use crate::run::Run;
use crate::thread::{Kind, Thread};
use crate::timer::Timer;
use crate::{excepthook, native, registry};

/// The default stack size for new threads; 0 means the platform's (std's) default.
static STACK_SIZE: AtomicUsize = AtomicUsize::new(0);

/// Configures a thread before it starts: name, daemon flag, stack size (Python's
/// `threading.Thread(target=…, args=…, kwargs=…, name=…, daemon=…)`). The target and its
/// arguments are one closure given to [`spawn`](Builder::spawn).
///
/// Every thread it starts is registered: [`enumerate`](crate::enumerate) lists it with its
/// name from the moment `spawn` returns until it ends, and the OS thread carries the same
/// name (shown by debuggers and `top -H`).
///
/// # Examples
///
/// ```
/// use skein_threads::Builder;
///
/// // threading.Thread(target=dance, kwargs={"name": "Alice", "age": 18}, name="dancer")
/// let (name, age) = ("Alice", 18);
/// let handle = Builder::new()
///     .name("dancer")
///     .daemon(false)
///     .stack_size(256 * 1024)
///     .spawn(move || format!("{name} is {age}"))
///     .unwrap();
/// assert_eq!(handle.thread().name(), "dancer");
/// assert_eq!(handle.join().unwrap(), "Alice is 18");
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a Builder does nothing until `spawn`, `start` or `spawn_timer` is called"]
pub struct Builder {
    name: Option<String>,
    daemon: Option<bool>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with Python's defaults: name `Thread-N`, daemon flag inherited from the
    /// creating thread, the default stack size ([`stack_size`](crate::stack_size)).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the thread (Python's `name=`). Any string is accepted; the OS thread gets the
    /// same name (with NUL bytes removed, which the OS cannot store; on Linux cut to 15
    /// bytes at a character boundary, as Python 3.14 does). An empty name means the
    /// default `Thread-N`, as in Python.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Makes the thread a daemon or not (Python's `daemon=` / `setDaemon()` before
    /// `start()`).
    ///
    /// Left unset, the thread inherits the flag of the thread that spawns it, as in
    /// Python: the main thread's children are not daemons. Daemon-ness matters only to
    /// [`ExitGuard`](crate::ExitGuard), which waits for non-daemon threads when `main`
    /// ends; see the crate docs on exit.
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = Some(daemon);
        self
    }

    /// Sets this thread's stack size in bytes (Python's `threading.stack_size(n)`, for
    /// one thread). Below [`MIN_STACK_SIZE`] `spawn` returns an error.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    /// Starts a thread running `f` (Python's `Thread(target=f).start()`), returning its
    /// [`JoinHandle`].
    ///
    /// A panic in `f` is reported to the [excepthook](crate::set_excepthook) with the
    /// thread's name, and [`JoinHandle::join`] returns it as an error. Either way the
    /// thread leaves the registry before any joiner wakes.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] when the stack size is below [`MIN_STACK_SIZE`] or the OS refuses to
    /// create a thread; the thread is then never registered.
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, SpawnError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let stack_size = self.stack_size.or_else(|| match stack_size() {
            0 => None,
            size => Some(size),
        });
        if let Some(size) = stack_size {
            if size < MIN_STACK_SIZE {
                return Err(SpawnError::stack_size(size));
            }
        }
        let daemon = self.daemon.unwrap_or_else(registry::current_is_daemon);
        // Python: `Thread(name="")` gets the default name too.
        let name = self
            .name
            .filter(|name| !name.is_empty())
            .unwrap_or_else(registry::default_name);
        let os_name = name.replace('\0', "");
        let os_name_fix = native::os_name_fix(&os_name);
        let thread = Thread::new(registry::next_ident(), name, daemon, Kind::Skein);

        let mut std_builder = std::thread::Builder::new().name(os_name);
        if let Some(size) = stack_size {
            std_builder = std_builder.stack_size(size);
        }
        registry::insert(&thread);
        let theirs = thread.clone();
        match std_builder.spawn(move || {
            if let Some(short) = &os_name_fix {
                native::set_os_name(short);
            }
            run_thread(theirs, f)
        }) {
            Ok(native) => Ok(JoinHandle::new(thread, native)),
            Err(e) => {
                registry::remove(&thread);
                thread.finish(None);
                Err(SpawnError::os(e))
            }
        }
    }

    /// Starts a [`Run`] object on a new thread (Python's `start()` on a `Thread`
    /// subclass). The handle's `join` gives the object back, with whatever `run` stored
    /// in it.
    ///
    /// The thread is named by [`Builder::name`], else by [`Run::name`], else `Thread-N`.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Builder::spawn).
    pub fn start<R: Run>(mut self, mut runnable: R) -> Result<JoinHandle<R>, SpawnError> {
        if self.name.as_deref().is_none_or(str::is_empty) {
            self.name = runnable.name();
        }
        self.spawn(move || {
            runnable.run();
            runnable
        })
    }

    /// Starts a [`Timer`] with this builder's name, daemon flag and stack size: `f` runs
    /// on the new thread after `interval` unless cancelled first (Python's
    /// `threading.Timer(interval, f)` followed by `start()`).
    ///
    /// # Errors
    ///
    /// As [`spawn`](Builder::spawn).
    pub fn spawn_timer<F>(self, interval: Duration, f: F) -> Result<Timer, SpawnError>
    where
        F: FnOnce() + Send + 'static,
    {
        Timer::spawn_with(self, interval, f)
    }
}

/// Spawns a thread with the default [`Builder`] (Python's `Thread(target=f).start()`).
///
/// # Errors
///
/// As [`Builder::spawn`].
///
/// # Examples
///
/// ```
/// let handle = skein_threads::spawn(|| 6 * 7).unwrap();
/// assert_eq!(handle.join().unwrap(), 42);
/// ```
pub fn spawn<F, T>(f: F) -> Result<JoinHandle<T>, SpawnError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f)
}

/// The body of every skein thread: run `f`, report a panic, leave the registry, wake
/// joiners.
fn run_thread<F, T>(thread: Thread, f: F) -> Result<T, Box<dyn Any + Send + 'static>>
where
    F: FnOnce() -> T,
{
    thread.record_native_id(native::current_native_id());
    registry::set_current(thread.clone());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let panic = match &result {
        Ok(_) => None,
        Err(payload) => {
            excepthook::report(&thread, &**payload);
            Some(panic_message(&**payload).to_owned())
        }
    };
    registry::remove(&thread);
    thread.finish(panic);
    result
}

/// The default stack size of new threads, in bytes; 0 means the platform default
/// (Python's `threading.stack_size()` with no argument).
///
/// # Examples
///
/// ```
/// assert_eq!(skein_threads::stack_size(), 0);
/// ```
pub fn stack_size() -> usize {
    STACK_SIZE.load(Ordering::Relaxed)
}

/// Sets the default stack size of threads started from now on, returning the previous
/// one (Python's `threading.stack_size(size)`); 0 restores the platform default.
/// [`Builder::stack_size`] overrides it for one thread.
///
/// # Errors
///
/// [`StackSizeError`] when `size` is neither 0 nor at least [`MIN_STACK_SIZE`] (Python's
/// `ValueError`); the default is then unchanged.
///
/// # Examples
///
/// ```
/// assert!(skein_threads::set_stack_size(1024).is_err());
/// ```
pub fn set_stack_size(size: usize) -> Result<usize, StackSizeError> {
    if size != 0 && size < MIN_STACK_SIZE {
        return Err(StackSizeError::new(size));
    }
    Ok(STACK_SIZE.swap(size, Ordering::Relaxed))
}
