//! `init()`: where a fresh exec of this binary learns that it is a child or a
//! forkserver, and `test_support!()`: the same for test binaries, which have no `main`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::start::{forkserver, spawn};
use crate::sys;

/// The environment variable that tells a fresh exec of this binary its role. It is
/// removed as soon as it is read, so the child's own children never see it.
pub(crate) const ROLE_VAR: &str = "__SKEIN_PROCESS_ROLE";

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Whether [`init`] ran in this process (required for `Spawn` and `Forkserver`:
/// without it, the re-executed child would run `main` again instead of its target).
pub(crate) fn is_initialized() -> bool {
    INITIALIZED.load(Ordering::Relaxed)
}

/// Call this first thing in `main` (Python's `if __name__ == "__main__":` guard).
///
/// In the program the user started, it returns at once. In a fresh exec of the
/// program made by the `Spawn` or `Forkserver` start method, it never returns: it runs
/// the child's target (or the forkserver's loop) and exits. `Spawn` and `Forkserver`
/// refuse to start children from a program that did not call it.
///
/// Call it before starting any thread. Test binaries, which have no `main`, use
/// [`test_support!`](crate::test_support) instead.
///
/// # Examples
///
/// ```standalone_crate
/// fn work(n: u64) {
///     assert_eq!(n, 42);
/// }
///
/// fn main() {
///     skein_process::init();
///     // The default start method, Forkserver, re-executes this program.
///     let p = skein_process::Process::new(work, 42).start().unwrap();
///     assert_eq!(p.join().unwrap(), 0);
/// }
/// ```
pub fn init() {
    INITIALIZED.store(true, Ordering::Relaxed);
    let Some(role) = std::env::var_os(ROLE_VAR) else {
        return;
    };
    sys::remove_env_single_threaded(ROLE_VAR);
    // A `Spawn` child's descriptors above stderr were closed before its `execve`
    // (`sys::exec`); the forkserver, started by `Command`, closes its own here.
    if role.to_str() == Some("forkserver") {
        sys::close_inherited_fds();
    }
    match role.to_str() {
        Some("spawn") => spawn::child_main(),
        Some("forkserver") => forkserver::server_main(),
        _ => {
            eprintln!("skein-process: unknown role {role:?} in {ROLE_VAR}");
            sys::exit_now(1)
        }
    }
}

/// A `Spawn` child runs its target from here, before `main`: an entry of the ELF
/// `.init_array` of every program that links this crate, which the loader calls before
/// Rust's runtime initialises the main thread. That initialisation (the main thread's
/// stack bounds, read and parsed from `/proc/self/maps`; the stack-overflow handlers and
/// their alternate stack) costs a fresh exec some 50 µs, about 5% of a spawn+join, and
/// the child's `_exit` never needs it: `spawn::child_main` ignores `SIGPIPE` itself, and
/// std's own argument capture is an earlier `.init_array` entry. Test binaries run their
/// children this way already ([`test_support!`](crate::test_support)). Everything else —
/// the `forkserver` role, and every program that is not a `Spawn` child — is left to
/// [`init`] in `main`; here it costs one environment lookup.
///
/// The parent still requires [`init`] (so that a program which does not call it, and
/// whose child would run `main` again, is refused a `Spawn` start).
#[used]
#[allow(unsafe_code)]
// SAFETY: `.init_array` entries are called by the loader with no arguments the function
// needs; `early` only reads the environment and, in a `Spawn` child, runs it to
// completion and exits.
#[unsafe(link_section = ".init_array")]
static EARLY: extern "C" fn() = early;

extern "C" fn early() {
    if std::env::var_os(ROLE_VAR).is_some_and(|role| role == "spawn") {
        init();
    }
}

/// Makes `Spawn` and `Forkserver` work in a test binary (or any binary without its
/// own `main`, or one that cannot call [`init`] first): write it once at the top
/// level of the test crate.
///
/// `cargo test` binaries have no `main` to call [`init`] from, and the test harness
/// starts threads and parses arguments before any test runs. This macro registers a
/// constructor (an entry in the ELF `.init_array`, which the loader runs before
/// `main`) that calls [`init`]. In the test process it only records that `init` ran;
/// in a re-executed child it runs the child's target and exits before the harness
/// ever starts, so no harness output, filtering or threads get in the way.
///
/// # Examples
///
/// ```standalone_crate
/// // At the top of tests/my_test.rs:
/// skein_process::test_support!();
///
/// fn child(n: u32) {
///     assert_eq!(n, 1);
/// }
///
/// // #[test]
/// fn runs_under_spawn() {
///     let p = skein_process::get_context(skein_process::StartMethod::Spawn)
///         .process(child, 1)
///         .start()
///         .unwrap();
///     assert_eq!(p.join().unwrap(), 0);
/// }
/// # fn main() { runs_under_spawn() }
/// ```
#[macro_export]
macro_rules! test_support {
    () => {
        #[used]
        #[allow(unsafe_code)]
        // SAFETY: `.init_array` entries are called by the loader with no arguments
        // the function needs; `init` only reads the environment and, in a child,
        // runs it to completion and exits.
        #[unsafe(link_section = ".init_array")]
        static __SKEIN_PROCESS_INIT: extern "C" fn() = {
            extern "C" fn __skein_process_init() {
                $crate::init();
            }
            __skein_process_init
        };
    };
}
