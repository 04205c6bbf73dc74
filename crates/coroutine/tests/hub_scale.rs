//! Scale: many live green tasks at once, and the kernel's memory-map cap reached as a
//! clean error at spawn (in a re-executed child process, so exhausting the mappings
//! cannot disturb the other tests).

use std::process::Command;
use std::time::Duration;

use skein_coroutine::hub::{self, Event};

#[test]
fn twenty_thousand_tasks_parked_at_once() {
    const N: usize = 20_000;
    let gate = Event::new();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let gate = gate.clone();
            hub::spawn(move || {
                gate.wait();
                i
            })
        })
        .collect();
    hub::sleep(Duration::ZERO); // every task starts, takes a stack and parks
    assert_eq!(hub::live_tasks(), N);
    assert!(tasks.iter().all(|t| !t.is_finished()));
    gate.set();
    let sum: usize = tasks.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(sum, N * (N - 1) / 2);
    assert_eq!(hub::live_tasks(), 0);
}

const CHILD_ENV: &str = "SKEIN_HUB_SCALE_CHILD";

/// Runs in the child: spawn with eager stacks until the map-count cap, then check the
/// error and that the hub recovers once the stacks come back.
#[test]
#[ignore = "run by map_count_cap_is_an_error_at_spawn in a child process"]
fn child_spawn_until_the_map_count_cap() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let mut handles = Vec::new();
    let err = loop {
        match hub::Builder::new().try_spawn(|| 1u8) {
            Ok(h) => handles.push(h),
            Err(e) => break e,
        }
        assert!(handles.len() < 10_000_000, "no cap reached");
    };
    assert!(err.stack_error().is_map_count_limit(), "{err}");
    let message = err.to_string();
    assert!(message.contains("max_map_count"), "{message}");
    let closure = err.into_inner();
    assert_eq!(closure(), 1, "the closure is handed back");
    println!("LIVE_AT_CAP={}", handles.len());
    println!("MESSAGE={message}");
    // The tasks that got stacks run; their stacks go back and spawning works again.
    let ran: usize = handles
        .into_iter()
        .map(|h| usize::from(h.join().unwrap()))
        .sum();
    assert!(ran > 0);
    assert_eq!(hub::spawn(|| 2).join().unwrap(), 2);
    println!("CHILD_OK");
}

#[test]
fn map_count_cap_is_an_error_at_spawn() {
    // With guard pages made by mprotect every live stack costs two mappings, so the
    // default vm.max_map_count caps live stacks near 32k; force that mode in a child.
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "child_spawn_until_the_map_count_cap",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, "1")
        .env("SKEIN_STACK_GUARD", "mprotect")
        .env("SKEIN_HUB_BLOCKING_MS", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("CHILD_OK"), "{stdout}\n{stderr}");
    let live: usize = stdout
        .split("LIVE_AT_CAP=")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the child reports how many stacks it got");
    assert!(live > 1_000, "only {live} stacks before the cap");
    eprintln!("map-count cap reached after {live} live stacks");
}
