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

    /// The longest OS thread name in bytes (`TASK_COMM_LEN` less its NUL).
    const OS_NAME_MAX: usize = 15;

    /// Names the calling thread for the OS with at most [`OS_NAME_MAX`] bytes of `name`
    /// (NUL-free), cut at a character boundary, as Python 3.14 does. std has already set
    /// the name cut at byte 15, which may split a UTF-8 character (tools such as `top -H`
    /// then show a broken character); only then is it set again.
    pub(crate) fn set_os_name(name: &str) {
        if name.len() <= OS_NAME_MAX || name.is_char_boundary(OS_NAME_MAX) {
            return;
        }
        let end = (0..OS_NAME_MAX)
            .rev()
            .find(|&i| name.is_char_boundary(i))
            .unwrap_or(0);
        if let Ok(short) = std::ffi::CString::new(&name[..end]) {
            // Best effort, as std's own naming: the name is cosmetic.
            let _ = rustix::thread::set_name(&short);
        }
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

    /// std's naming is all there is here.
    pub(crate) fn set_os_name(_name: &str) {}
}

pub(crate) use imp::{
    SUPPORTED, current_native_id, is_main_os_thread, main_native_id, set_os_name,
};
