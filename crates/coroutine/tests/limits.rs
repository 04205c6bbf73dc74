//! Limits as typed errors and memory figures, each measured in a child process (this
//! test binary re-run with `--exact NAME --ignored`) so that nothing else in the process
//! skews the counts: the `vm.max_map_count` cap, `RLIMIT_AS`, resident memory per idle
//! coroutine and memory mappings per stack.
//!
//! The system is never changed: the map-count cap is reached by forcing `mprotect`
//! guard pages (two mappings per stack) and creating stacks until the kernel refuses.

use std::process::Command;

use skein_coroutine::{Generator, StackError};

fn run_child(name: &str, envs: &[(&str, &str)]) -> String {
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
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name} failed: {:?}\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// The value printed by a child as `KEY=value`.
fn figure(out: &str, key: &str) -> u64 {
    // libtest prints "test NAME ... " on the line where the child's output starts.
    let tag = format!("{key}=");
    out.lines()
        .find_map(|l| l.find(&tag).map(|i| &l[i + tag.len()..]))
        .unwrap_or_else(|| panic!("no {key} in child output:\n{out}"))
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn page() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * page()
}

fn map_count() -> u64 {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count() as u64
}

fn idle(n: usize) -> Vec<Generator<u32>> {
    (0..n)
        .map(|_| {
            let mut g = Generator::<u32>::new(|co| {
                let mut i = 0;
                loop {
                    co.yield_(i);
                    i += 1;
                }
            });
            assert_eq!(g.next(), Some(0));
            g
        })
        .collect()
}

#[test]
#[ignore = "child of map_count_cap_is_a_typed_error"]
fn child_map_count_cap() {
    const CEILING: usize = 300_000;
    let mut live = Vec::new();
    let err: StackError = loop {
        match Generator::<u8>::try_new(|co| co.yield_(1)) {
            Ok(g) => live.push(g),
            Err(e) => break e,
        }
        if live.len() == CEILING {
            println!("SKIP=1");
            return;
        }
    };
    assert!(err.is_map_count_limit(), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("vm.max_map_count") && msg.contains("sysctl"),
        "{msg}"
    );
    println!("REACHED={}", live.len());
    println!("MESSAGE={msg}");
    // Nothing is broken: freeing stacks makes room again.
    live.truncate(live.len() / 2);
    let mut g = Generator::<u8>::try_new(|co| co.yield_(7)).expect("room after freeing");
    assert_eq!(g.next(), Some(7));
    println!("SKIP=0");
}

#[test]
fn map_count_cap_is_a_typed_error() {
    let out = run_child("child_map_count_cap", &[("SKEIN_STACK_GUARD", "mprotect")]);
    if figure(&out, "SKIP") == 1 {
        eprintln!("vm.max_map_count is too high to reach here; cap not exercised");
        return;
    }
    let reached = figure(&out, "REACHED");
    let max = std::fs::read_to_string("/proc/sys/vm/max_map_count").unwrap();
    let max: u64 = max.trim().parse().unwrap();
    // Two mappings per live stack: the cap bites near max/2 (minus what the test binary
    // maps itself).
    assert!(
        reached > max / 2 - 2_000 && reached <= max / 2,
        "reached {reached} of max {max}"
    );
    eprintln!("mprotect guards: {reached} live generators at vm.max_map_count={max}");
}

#[test]
#[ignore = "child of marker_guards_cost_no_mapping"]
fn child_marker_guards() {
    let before = map_count();
    let live = idle(20_000);
    let after = map_count();
    println!("MAPS_ADDED={}", after.saturating_sub(before));
    println!("LIVE={}", live.len());
}

#[test]
fn marker_guards_cost_no_mapping() {
    let out = run_child("child_marker_guards", &[]);
    // MADV_GUARD_INSTALL (Linux 6.13+): 20,000 stacks in a handful of regions. On older
    // kernels the pool falls back to mprotect (two mappings per stack).
    let added = figure(&out, "MAPS_ADDED");
    let uname = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = uname
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    if (major, minor) >= (6, 13) {
        assert!(added < 100, "{added} mappings for 20,000 stacks");
    } else {
        assert!(added >= 40_000, "{added}");
    }
}

#[test]
#[ignore = "child of rlimit_as_is_a_typed_error"]
fn child_rlimit_as() {
    // Allow 256 MiB of address space beyond what the process has now.
    let vm: u64 = std::fs::read_to_string("/proc/self/statm")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let limit = vm * page() + (256 << 20);
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit with a valid struct; lowering our own limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
    let mut live = Vec::new();
    let err = loop {
        match Generator::<u8>::builder()
            .stack_size(1 << 20)
            .build(|co| co.yield_(1))
        {
            Ok(g) => live.push(g),
            Err(e) => break e,
        }
        assert!(live.len() < 10_000, "RLIMIT_AS not enforced");
    };
    assert!(err.is_address_space(), "{err:?}");
    println!("REACHED={}", live.len());
    println!("MESSAGE={err}");
}

#[test]
fn rlimit_as_is_a_typed_error() {
    let out = run_child("child_rlimit_as", &[]);
    assert!(out.contains("ulimit -v"), "{out}");
    assert!(figure(&out, "REACHED") < 256);
}

#[test]
#[ignore = "child of resident_memory_per_idle_generator"]
fn child_resident_per_idle() {
    // Warm up one size class so the figure is per additional stack.
    drop(idle(16));
    let n = std::env::var("SKEIN_IDLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let before = rss_bytes();
    let live = idle(n);
    let after = rss_bytes();
    println!("PER_STACK={}", (after - before) / live.len() as u64);
    println!("LIVE={}", live.len());
}

#[test]
fn resident_memory_per_idle_generator() {
    let out = run_child("child_resident_per_idle", &[]);
    let per = figure(&out, "PER_STACK");
    eprintln!("resident memory per idle generator: {per} bytes");
    // The bar is 8 KiB (two pages: the coroutine's frames and the closure). Debug builds
    // use bigger frames; allow 16 KiB here and report the release figure in the docs.
    assert!(per <= 16 * 1024, "{per} bytes per idle generator");
}
