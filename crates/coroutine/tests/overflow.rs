//! A stack overflow in a coroutine runs into its guard page and is reported — never
//! memory corruption. Each case re-runs this test binary as a child
//! (`--exact NAME --ignored`) and checks the child's stderr and exit.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use skein_coroutine::{Generator, Greenlet};

fn run_child(name: &str, envs: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.envs(envs.iter().copied());
    let out = cmd.output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let pad = [n; 32];
    std::hint::black_box(&pad);
    if n == 0 {
        0
    } else {
        recurse(n - 1).wrapping_add(std::hint::black_box(pad[7]))
    }
}

fn assert_reported(name: &str, envs: &[(&str, &str)]) {
    let (status, stderr) = run_child(name, envs);
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "{name}: {status:?}\n{stderr}"
    );
    assert!(
        stderr.contains("stack overflow in coroutine"),
        "{name}: {stderr}"
    );
    assert!(stderr.contains("KiB usable"), "{name}: {stderr}");
    assert!(!stderr.contains("child survived"), "{name}: {stderr}");
}

#[test]
#[ignore = "child of generator_overflow_is_caught"]
fn child_generator_overflow() {
    let mut g = Generator::<u64>::builder()
        .stack_size(32 * 1024)
        .build(|co| {
            co.yield_(1);
            co.yield_(recurse(u64::MAX));
        })
        .unwrap();
    assert_eq!(g.next(), Some(1));
    g.next();
    eprintln!("child survived");
}

#[test]
fn generator_overflow_is_caught() {
    assert_reported("child_generator_overflow", &[]);
}

#[test]
fn generator_overflow_is_caught_with_mprotect_guards() {
    assert_reported(
        "child_generator_overflow",
        &[("SKEIN_STACK_GUARD", "mprotect")],
    );
}

#[test]
#[ignore = "child of greenlet_overflow_is_caught"]
fn child_greenlet_overflow() {
    let g = Greenlet::<u64>::new(|n| recurse(n));
    g.switch(u64::MAX);
    eprintln!("child survived");
}

#[test]
fn greenlet_overflow_is_caught() {
    assert_reported("child_greenlet_overflow", &[]);
}

#[test]
#[ignore = "child of overflow_on_a_second_thread_is_caught"]
fn child_overflow_on_thread() {
    std::thread::spawn(|| {
        let mut g = Generator::<u64>::new(|co| {
            co.yield_(recurse(u64::MAX));
        });
        g.next();
    })
    .join()
    .unwrap();
    eprintln!("child survived");
}

#[test]
fn overflow_on_a_second_thread_is_caught() {
    assert_reported("child_overflow_on_thread", &[]);
}

#[test]
#[ignore = "child of a_fault_outside_guard_pages_is_not_reported_as_overflow"]
fn child_null_write() {
    let mut g = Generator::<u64>::new(|co| {
        let p = std::hint::black_box(16usize) as *mut u64;
        // SAFETY: deliberately invalid: the test checks that a fault that is not a guard
        // page hit is left to the default SIGSEGV action.
        unsafe { p.write_volatile(1) };
        co.yield_(0);
    });
    g.next();
    eprintln!("child survived");
}

#[test]
fn a_fault_outside_guard_pages_is_not_reported_as_overflow() {
    let (status, stderr) = run_child("child_null_write", &[]);
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}\n{stderr}");
    assert!(!stderr.contains("stack overflow in coroutine"), "{stderr}");
}

/// A thread stack overflow outside any coroutine still gets Rust's own report: our
/// handler passes faults that are not coroutine guard pages to the previous handler.
#[test]
#[ignore = "child of thread_overflow_still_reported_by_std"]
fn child_thread_overflow() {
    // Make sure our handler is installed first.
    let _g = Generator::<u8>::new(|co| co.yield_(0));
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| recurse(u64::MAX))
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn thread_overflow_still_reported_by_std() {
    let (status, stderr) = run_child("child_thread_overflow", &[]);
    assert!(!status.success());
    assert!(stderr.contains("has overflowed its stack"), "{stderr}");
    assert!(!stderr.contains("stack overflow in coroutine"), "{stderr}");
}
