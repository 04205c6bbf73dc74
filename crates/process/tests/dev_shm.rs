//! `/dev/shm` is unchanged after the crate's heaviest shared-memory and queue scenarios,
//! both when their process tree exits normally and when it is killed with SIGKILL.
//!
//! The scenarios run in a child copy of this test binary (its own process tree), so the
//! comparison covers everything they created, named or not. Entries are compared by
//! name (`skein-` prefix); an entry that was not there before must be gone (within a
//! generous limit: the creator's janitor unlinks after the tree ends). Another process
//! on the machine could create `skein-` entries meanwhile; those too must vanish for
//! the test to pass, which only makes it stricter.

mod common;

skein_process::test_support!();

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::eventually;
use skein_process::{
    Array, Barrier, JoinableQueue, Lock, Queue, SharedMemory, SimpleQueue, StartMethod, Value,
    get_context,
};

const HELPER_ENV: &str = "SKEIN_DEV_SHM_HELPER";

fn skein_entries() -> BTreeSet<String> {
    std::fs::read_dir("/dev/shm")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("skein-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Every kind of shared object, as a child's argument.
type Shared = (
    String,
    Array<i32>,
    Value<u64>,
    Lock,
    Queue<Vec<u8>>,
    JoinableQueue<u32>,
    SimpleQueue<String>,
    Barrier,
);

/// What a child does with every kind of shared object it is given.
fn worker((shm_name, arr, val, lock, q, jq, sq, barrier): Shared) {
    let shm = SharedMemory::attach(&shm_name).unwrap();
    shm.write(0, b"child").unwrap();
    let mine = SharedMemory::create(1 << 16).unwrap(); // the child's own named segment
    mine.write(0, b"x").unwrap();
    for i in 0..arr.len() {
        arr.set(i, i as i32).unwrap();
    }
    *val.lock().unwrap() += 1;
    drop(lock.lock().unwrap());
    // a large message streams through the ring
    q.put(vec![7u8; 1 << 20]).unwrap();
    for i in 0..100 {
        jq.put(i).unwrap();
    }
    sq.put(mine.name().to_owned()).unwrap();
    barrier.wait_timeout(Duration::from_secs(60)).unwrap();
}

fn heavy_scenarios() -> Vec<String> {
    let shm = SharedMemory::create(1 << 20).unwrap();
    let forgotten = SharedMemory::create(4096).unwrap();
    let mut names = vec![shm.name().to_owned(), forgotten.name().to_owned()];
    std::mem::forget(forgotten); // only the janitor can clean this one
    let arr = Array::<i32>::new(1000).unwrap();
    let val = Value::new(0u64).unwrap();
    let lock = Lock::new().unwrap();
    let q = Queue::<Vec<u8>>::bounded(4).unwrap();
    let jq = JoinableQueue::<u32>::new().unwrap();
    let sq = SimpleQueue::<String>::new().unwrap();
    let methods = [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ];
    let barrier = Barrier::new(methods.len() + 1).unwrap();
    let kids: Vec<_> = methods
        .iter()
        .map(|&m| {
            let args = (
                shm.name().to_owned(),
                arr.clone(),
                val.clone(),
                lock.clone(),
                q.clone(),
                jq.clone(),
                sq.clone(),
                barrier.clone(),
            );
            get_context(m).process(worker, args).start().unwrap()
        })
        .collect();
    for _ in &methods {
        assert_eq!(q.get().unwrap().len(), 1 << 20);
        names.push(sq.get().unwrap());
    }
    for _ in 0..100 * methods.len() {
        jq.get().unwrap();
        jq.task_done().unwrap();
    }
    jq.join().unwrap();
    barrier.wait_timeout(Duration::from_secs(60)).unwrap();
    for k in kids {
        assert_eq!(k.join().unwrap(), 0);
    }
    assert_eq!(val.get(), methods.len() as u64);
    assert_eq!(arr.get(999), Some(999));
    names
}

/// Run by the tests below in a child process: the heavy scenarios, then either a
/// normal exit or (mode `hold`) the segments held until the tree is killed.
#[test]
#[ignore = "helper process for the /dev/shm tests"]
fn helper_heavy_scenarios() {
    let _serial = common::serial();
    let Some(mode) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let names = heavy_scenarios();
    if mode == "hold" {
        let held: Vec<_> = names
            .iter()
            .filter_map(|n| SharedMemory::attach(n).ok())
            .collect();
        let extra = SharedMemory::create(4096).unwrap();
        let child = common::fork(|| {
            std::thread::sleep(Duration::from_secs(60));
            0
        });
        println!("SEGMENT {}", extra.name());
        println!("CHILD {child} READY");
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    }
}

fn helper(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "helper_heavy_scenarios",
        "--ignored",
        "--nocapture",
    ])
    .env(HELPER_ENV, mode)
    .stderr(Stdio::null());
    cmd
}

fn assert_back_to(before: &BTreeSet<String>) {
    let left = || {
        skein_entries()
            .difference(before)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(30), || left().is_empty()),
        "left in /dev/shm: {:?}",
        left()
    );
}

#[test]
fn dev_shm_is_unchanged_after_the_heavy_scenarios_exit() {
    let _serial = common::serial();
    let before = skein_entries();
    let out = helper("exit").output().unwrap();
    assert!(out.status.success(), "scenarios failed: {out:?}");
    assert_back_to(&before);
}

#[test]
fn dev_shm_is_unchanged_after_sigkill_of_a_parent_holding_segments() {
    let _serial = common::serial();
    let before = skein_entries();
    let mut child = helper("hold")
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut segment = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // The tag may follow libtest's own `test NAME ... ` on the same line: libtest
        // prints that before it runs the test when tests run one at a time
        // (`RUST_TEST_THREADS=1`, inherited by the helper).
        if let Some((_, name)) = line.split_once("SEGMENT ") {
            segment = Some(name.trim_start_matches('/').to_owned());
        }
        if line.ends_with("READY") {
            break;
        }
    }
    let Some(segment) = segment else {
        // SAFETY: signals the process group created for the helper.
        unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        panic!("helper did not get ready");
    };
    // the test can fail: the tree does hold new entries right now
    assert!(skein_entries().contains(&segment));
    // SAFETY: signals the process group created for the helper.
    unsafe { libc::killpg(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_back_to(&before);
}
