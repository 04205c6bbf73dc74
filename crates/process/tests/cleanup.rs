//! No segment outlives its process tree, even under SIGKILL; none is unlinked while
//! another process maps it. The creator runs as a child copy of this test binary.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eventually, shm_exists};
use skein_process::SharedMemory;

const HELPER_ENV: &str = "SKEIN_SHM_CLEANUP_HELPER";

/// Whether this test binary was started by [`helper`] (the ignored helper tests do
/// nothing in an ordinary `--ignored` run).
fn running_as_helper() -> bool {
    std::env::var_os(HELPER_ENV).is_some()
}

/// This test binary, set to run only the ignored helper test `name`.
fn helper(name: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--ignored", "--nocapture"])
        .env(HELPER_ENV, "1")
        .stderr(Stdio::null());
    cmd
}

/// What the helper reported after `tag` on this line of its output. The tag may follow
/// libtest's own `test NAME ... ` on the same line: libtest prints that before it runs
/// the test when tests run one at a time (`RUST_TEST_THREADS=1`, inherited by the helper).
fn reported<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.split_once(tag).map(|(_, rest)| rest)
}

/// Run by the tests below in a child process: creates two segments, forks a child that
/// maps them too, prints the names, and waits to be killed.
#[test]
#[ignore = "helper process for the cleanup tests"]
fn helper_create_segments_and_wait() {
    let _serial = common::serial();
    if !running_as_helper() {
        return;
    }
    let a = SharedMemory::create(4096).unwrap();
    let b = SharedMemory::create(1 << 20).unwrap();
    let child = common::fork(|| {
        std::thread::sleep(Duration::from_secs(60));
        0
    });
    println!("SEGMENT {}", a.name());
    println!("SEGMENT {}", b.name());
    println!("CHILD {child}");
    std::thread::sleep(Duration::from_secs(60));
}

/// Run by `a_segment_forgotten_at_exit_is_unlinked`: leaks a handle and exits.
#[test]
#[ignore = "helper process for the cleanup tests"]
fn helper_forget_segment_and_exit() {
    let _serial = common::serial();
    if !running_as_helper() {
        return;
    }
    let shm = SharedMemory::create(4096).unwrap();
    println!("SEGMENT {}", shm.name());
    std::mem::forget(shm); // never dropped: only the janitor can clean up
    std::process::exit(0);
}

#[test]
fn a_segment_forgotten_at_exit_is_unlinked() {
    let _serial = common::serial();
    let out = helper("helper_forget_segment_and_exit").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let name = stdout
        .lines()
        .find_map(|l| reported(l, "SEGMENT "))
        .expect("helper did not report its segment")
        .to_owned();
    assert!(
        eventually(Duration::from_secs(20), || !shm_exists(&name)),
        "{name} leaked after its creator exited without dropping it"
    );
}

fn start_helper() -> (std::process::Child, Vec<String>) {
    let mut helper = helper("helper_create_segments_and_wait")
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let out = BufReader::new(helper.stdout.take().unwrap());
    let mut names = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        if let Some(name) = reported(&line, "SEGMENT ") {
            names.push(name.to_owned());
        }
        if reported(&line, "CHILD ").is_some() {
            break;
        }
    }
    if names.len() != 2 {
        kill_tree(&mut helper); // not left running for its minute
        panic!("helper did not report its segments: {names:?}");
    }
    (helper, names)
}

fn kill_tree(helper: &mut std::process::Child) {
    // SAFETY: signals the process group we created for the helper.
    unsafe { libc::killpg(helper.id() as i32, libc::SIGKILL) };
    helper.wait().unwrap();
}

#[test]
fn segments_vanish_after_sigkill_of_the_whole_tree() {
    let _serial = common::serial();
    let (mut helper, names) = start_helper();
    assert!(names.iter().all(|n| shm_exists(n)));
    kill_tree(&mut helper);
    assert!(
        eventually(Duration::from_secs(20), || names
            .iter()
            .all(|n| !shm_exists(n))),
        "segments leaked after SIGKILL: {names:?}"
    );
}

#[test]
fn a_segment_an_unrelated_process_maps_is_kept_until_it_lets_go() {
    let _serial = common::serial();
    let (mut helper, names) = start_helper();
    let mine = SharedMemory::attach(&names[0]).unwrap();
    kill_tree(&mut helper);
    // The janitor must clean the other one ...
    assert!(eventually(Duration::from_secs(20), || !shm_exists(
        &names[1]
    )));
    // ... but leave ours: we still map it.
    assert!(
        shm_exists(&names[0]),
        "unlinked while this process still maps it"
    );
    mine.write(0, b"still here").unwrap();
    drop(mine); // the last user unlinks (or the janitor, which waits on our lock)
    assert!(eventually(Duration::from_secs(20), || !shm_exists(
        &names[0]
    )));
}
