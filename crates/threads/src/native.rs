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

    /// The OS name to set again in a new thread called `name` (NUL-free): `None` when
    /// std's own cut at [`OS_NAME_MAX`] bytes is right, else the name cut at the last
    /// character boundary within it, as Python 3.14 does (std's cut may split a UTF-8
    /// character, which tools such as `top -H` then show broken). Computed by the
    /// spawning thread so the usual case costs nothing.
    pub(crate) fn os_name_fix(name: &str) -> Option<std::ffi::CString> {
        if name.len() <= OS_NAME_MAX || name.is_char_boundary(OS_NAME_MAX) {
            return None;
        }
        let end = (0..OS_NAME_MAX)
            .rev()
            .find(|&i| name.is_char_boundary(i))
            .unwrap_or(0);
        std::ffi::CString::new(&name[..end]).ok()
    }

    /// Names the calling thread for the OS (see [`os_name_fix`]).
    pub(crate) fn set_os_name(short: &std::ffi::CStr) {
        // Best effort, as std's own naming: the name is cosmetic.
        let _ = rustix::thread::set_name(short);
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
    pub(crate) fn os_name_fix(_name: &str) -> Option<std::ffi::CString> {
        None
    }

    /// Never called: [`os_name_fix`] is always `None` here.
    pub(crate) fn set_os_name(_short: &std::ffi::CStr) {}
}

pub(crate) use imp::{
    SUPPORTED, current_native_id, is_main_os_thread, main_native_id, os_name_fix, set_os_name,
};
