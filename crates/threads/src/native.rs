//! The operating system's view of the current thread: its native id, and whether it is
//! the process's main thread. One place for the per-platform choice.

#[cfg(target_os = "linux")]
mod imp {
    /// Whether [`current_native_id`] returns a value on this platform.
    pub(crate) const SUPPORTED: bool = true;

    /// The calling thread's kernel thread id (`gettid`).
    pub(crate) fn current_native_id() -> Option<u64> {
        Some(rustix::thread::gettid().as_raw_nonzero().get() as u64)
    }

    /// The main thread's native id: on Linux its tid is the process id.
    pub(crate) fn main_native_id() -> Option<u64> {
        Some(rustix::process::getpid().as_raw_nonzero().get() as u64)
    }

    /// Whether the calling thread is the process's main thread (its tid is the pid).
    pub(crate) fn is_main_os_thread() -> bool {
        rustix::thread::gettid() == rustix::process::getpid()
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    /// Whether [`current_native_id`] returns a value on this platform.
    pub(crate) const SUPPORTED: bool = false;

    /// No portable native id without `unsafe`; `None` here.
    pub(crate) fn current_native_id() -> Option<u64> {
        None
    }

    /// No portable native id without `unsafe`; `None` here.
    pub(crate) fn main_native_id() -> Option<u64> {
        None
    }

    /// Rust's runtime names the main thread `main`.
    pub(crate) fn is_main_os_thread() -> bool {
        std::thread::current().name() == Some("main")
    }
}

pub(crate) use imp::{SUPPORTED, current_native_id, is_main_os_thread, main_native_id};
