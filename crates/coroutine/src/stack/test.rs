use super::*;
use corosensei::stack::Stack;

#[test]
fn acquire_rounds_up_and_reuses() {
    let page = page_size();
    let s = acquire(10_000).unwrap();
    assert_eq!(s.usable(), 10_000usize.next_multiple_of(page).max(4096));
    let (base, limit) = (s.base(), s.limit());
    assert_eq!(base.get() % 16, 0);
    assert!(base.get() - limit.get() >= 10_000 + page);
    let before = stats();
    drop(s);
    let after = stats();
    assert_eq!(after.live + 1, before.live);
    assert_eq!(after.free, before.free + 1);
    // LIFO: the stack just returned comes back first.
    let again = acquire(10_000).unwrap();
    assert_eq!(again.base(), base);
}

#[test]
fn many_stacks_are_distinct_and_guarded() {
    let stacks: Vec<_> = (0..100)
        .map(|_| acquire(DEFAULT_STACK_SIZE).unwrap())
        .collect();
    let mut bases: Vec<usize> = stacks.iter().map(|s| s.base().get()).collect();
    bases.sort_unstable();
    bases.dedup();
    assert_eq!(bases.len(), 100);
    for s in &stacks {
        let hit = region::registry::find_guard(s.limit().get() + 1).expect("guard page registered");
        assert_eq!(hit.stack_lo, s.limit().get());
        assert_eq!(hit.stack_hi, s.base().get());
        // An address in the usable part is not a guard hit.
        assert!(region::registry::find_guard(s.base().get() - 8).is_none());
    }
}

#[test]
fn stacks_are_writable_to_the_top_and_zero_after_trim() {
    let s = acquire(64 * 1024).unwrap();
    let top = s.base().get();
    let lo = s.limit().get() + page_size();
    // Touch the whole usable part through raw pointers, as a coroutine would.
    for a in (lo..top).step_by(page_size()) {
        let p = a as *mut u8;
        // SAFETY: [lo, top) is the usable part of a stack we own and nobody runs on.
        unsafe { p.write_volatile(7) };
    }
    drop(s);
    trim(0);
    let s = acquire(64 * 1024).unwrap();
    assert_eq!(s.base().get(), top);
    // SAFETY: as above.
    let v = unsafe { ((top - 8) as *const u8).read_volatile() };
    assert_eq!(v, 0, "trim discarded the pages");
}

#[test]
fn guard_kind_on_this_kernel() {
    let _s = acquire(4096).unwrap();
    // Either is valid; the figure goes in the notes.
    let k = guard_kind();
    assert!(matches!(k, GuardKind::Marker | GuardKind::Mprotect));
}

/// Runs `name` (an ignored test of this binary) in a child process and returns its
/// exit status and stderr.
pub(crate) fn run_child(name: &str, envs: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        name,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let buf = [n; 64];
    std::hint::black_box(&buf);
    if n == 0 {
        0
    } else {
        recurse(n - 1) + std::hint::black_box(buf[3])
    }
}

#[test]
#[ignore = "child process of raw_coroutine_overflow_is_reported"]
fn child_raw_overflow() {
    let stack = acquire(16 * 1024).unwrap();
    let mut co = corosensei::Coroutine::with_stack(stack, |_: &corosensei::Yielder<(), ()>, ()| {
        recurse(u64::MAX)
    });
    co.resume(());
    unreachable!("the coroutine overflowed its stack");
}

#[test]
fn raw_coroutine_overflow_is_reported() {
    for mode in ["marker", "mprotect"] {
        let (status, stderr) = run_child(
            "stack::test::child_raw_overflow",
            &[("SKEIN_STACK_GUARD", mode)],
        );
        assert!(!status.success(), "{mode}: child survived: {stderr}");
        assert!(
            stderr.contains("stack overflow in coroutine"),
            "{mode}: no report in stderr: {stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(libc::SIGABRT), "{mode}: {stderr}");
        }
    }
}
