//! The excepthook: a panicking thread is reported with its name, through a hook that can
//! be replaced; the default prints Python's `Exception in thread NAME:`.
//!
//! The hook is process-wide, so the tests here take turns (a lock).

use std::process::Command;
use std::sync::Arc;

use parking_lot::Mutex;
use skein_threads::{Builder, reset_excepthook, set_excepthook};

static SERIAL: Mutex<()> = parking_lot::const_mutex(());

#[test]
fn a_replaced_hook_hears_the_thread_name_and_message_before_join_returns() {
    let _serial = SERIAL.lock();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    set_excepthook(move |args| {
        log.lock().push((
            args.thread().name(),
            args.message().to_string(),
            args.thread().is_alive(),
        ));
    });
    let handle = Builder::new()
        .name("hooked")
        .spawn(|| panic!("kaboom"))
        .unwrap();
    let err = handle.join().unwrap_err();
    reset_excepthook();
    assert!(err.is_panic());
    // The hook ran on the thread, while it was still alive, before join returned.
    assert_eq!(
        *heard.lock(),
        [("hooked".to_string(), "kaboom".to_string(), true)]
    );
}

#[test]
fn a_hook_that_panics_is_contained() {
    let _serial = SERIAL.lock();
    set_excepthook(|_| panic!("the hook itself broke"));
    let handle = Builder::new()
        .name("double-fault")
        .spawn(|| panic!("first"))
        .unwrap();
    let err = handle.join().unwrap_err();
    reset_excepthook();
    assert_eq!(err.panic_message(), Some("first"));
    assert!(
        !skein_threads::enumerate()
            .iter()
            .any(|t| t.name() == "double-fault")
    );
}

#[test]
fn successful_threads_never_reach_the_hook() {
    let _serial = SERIAL.lock();
    let calls = Arc::new(Mutex::new(0));
    let c = calls.clone();
    set_excepthook(move |_| *c.lock() += 1);
    for _ in 0..10 {
        Builder::new().spawn(|| ()).unwrap().join().unwrap();
    }
    reset_excepthook();
    assert_eq!(*calls.lock(), 0);
}

/// Run as a child by the next test: a thread panics under the default hook.
#[test]
#[ignore = "run as a child process by default_hook_prints_like_python"]
fn child_default_hook() {
    let handle = Builder::new()
        .name("Thread-X (worker)")
        .spawn(|| panic!("ValueError: boom"))
        .unwrap();
    assert!(handle.join().is_err());
}

#[test]
fn default_hook_prints_like_python() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_default_hook",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stderr}");
    assert!(
        stderr.contains("Exception in thread Thread-X (worker):\npanicked: ValueError: boom\n"),
        "stderr was:\n{stderr}"
    );
}
