//! A wrong executable is a typed error, never a jump into foreign code (issue 17,
//! item 1), and a silent one is bounded (item 4's start timeout). Each scenario runs
//! under every start method: `Fork` ignores the executable (it execs nothing), so
//! there the target must simply run.
//!
//! On the main branch before this fix, another binary linking skein-process started
//! "fine" and its child died of SIGSEGV (the child added the parent's code offsets to
//! its own image), `/bin/true` under `Spawn` reported exit 0 for a target that never
//! ran, and a silent forkserver made `start` hang forever.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use skein_process::{Connection, StartMethod, get_context, pipe};

#[macro_use]
mod common;

skein_process::test_support!();

matrix!(
    another_skein_binary_is_refused_naming_both,
    bin_true_is_a_wrong_executable,
    a_script_that_never_answers_times_out,
    a_copy_of_this_binary_is_accepted,
);

/// The target: tells the parent it ran.
fn ran(conn: Connection) {
    conn.send(&"ran".to_string()).unwrap();
}

/// A second program that links skein-process and calls `init()` first: an example of
/// this crate (built by `cargo test`), or else another test binary of it.
fn other_skein_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap();
    let deps = me.parent().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .join("examples")
        .join("02_process_target_args");
    if example.exists() {
        return example;
    }
    // The newest `sync-<hash>` test binary (it has `test_support!()`).
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(deps)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("sync-") && p.extension().is_none()
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .expect("another binary linking skein-process (run through cargo test)")
}

/// A private temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "skein-exe-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn executable(path: &Path, body: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Starts `ran` with `exe` as the executable; under `Fork` it must run (the executable
/// is not used), otherwise `start` must fail: returns that error.
fn start_with(
    method: StartMethod,
    exe: &Path,
    timeout: Duration,
) -> Option<skein_process::StartError> {
    let (here, there) = pipe(true).unwrap();
    let r = get_context(method)
        .with_executable(exe)
        .with_start_timeout(timeout)
        .process(ran, there)
        .start();
    match (method, r) {
        (StartMethod::Fork, Ok(child)) => {
            assert_eq!(here.recv::<String>().unwrap(), "ran");
            assert_eq!(child.join().unwrap(), 0);
            None
        }
        (StartMethod::Fork, Err(e)) => panic!("fork ignores the executable, yet: {e}"),
        (_, Ok(child)) => {
            let code = child.join_timeout(Duration::from_secs(30));
            panic!("started with a wrong executable {exe:?}; the child ended with {code:?}")
        }
        (_, Err(e)) => {
            // Nothing ran (and nothing will: a child that did not answer was killed).
            assert!(!here.poll().unwrap(), "the target must not run");
            Some(e)
        }
    }
}

fn another_skein_binary_is_refused_naming_both(method: StartMethod) {
    let other = other_skein_binary();
    let Some(e) = start_with(method, &other, Duration::from_secs(10)) else {
        return;
    };
    let msg = e.to_string();
    assert!(e.is_wrong_executable(), "{msg}");
    // Both identities are named: ours and the other binary's.
    assert_eq!(msg.matches("build-id ").count(), 2, "{msg}");
    assert!(msg.contains(&other.display().to_string()), "{msg}");
}

fn bin_true_is_a_wrong_executable(method: StartMethod) {
    let Some(e) = start_with(method, Path::new("/bin/true"), Duration::from_secs(30)) else {
        return;
    };
    assert!(e.is_wrong_executable(), "{e}");
    assert!(e.to_string().contains("/bin/true"), "{e}");
}

fn a_script_that_never_answers_times_out(method: StartMethod) {
    let dir = TempDir::new("silent");
    let script = dir.0.join("silent.sh");
    executable(&script, b"#!/bin/sh\nexec sleep 600\n");
    let t0 = Instant::now();
    let Some(e) = start_with(method, &script, Duration::from_millis(300)) else {
        return;
    };
    assert!(e.is_timeout(), "{e}");
    // Two starts of at most 300 ms each; a generous bound, not a timing assertion.
    assert!(t0.elapsed() < Duration::from_secs(30));
}

fn a_copy_of_this_binary_is_accepted(method: StartMethod) {
    let dir = TempDir::new("copy");
    let copy = dir.0.join("copy-of-test");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let (here, there) = pipe(true).unwrap();
    let child = get_context(method)
        .with_executable(&copy)
        .process(ran, there)
        .start()
        .unwrap();
    assert_eq!(here.recv::<String>().unwrap(), "ran");
    assert_eq!(child.join().unwrap(), 0);
}

/// The target for the forkserver test: reports its kernel parent (the server, for a
/// daemon child; a non-daemon one is forked as our own child).
fn report_server(conn: Connection) {
    conn.send(&skein_process::getppid()).unwrap();
}

fn server_of(ctx: &skein_process::Context) -> i32 {
    let (here, there) = pipe(true).unwrap();
    let child = ctx
        .process(report_server, there)
        .daemon(true)
        .start()
        .unwrap();
    let server: i32 = here.recv().unwrap();
    assert_eq!(child.join().unwrap(), 0);
    server
}

/// Item 4: with the forkserver stopped (`SIGSTOP`), `start` returns a timeout error
/// instead of blocking forever, and the next start gets a new server. (Before the fix
/// this test hung in the second `start`.)
#[test]
fn a_stopped_forkserver_is_a_timeout_and_is_replaced() {
    // A private server: a copy of this binary is another executable path, so no other
    // test of this binary shares (and is stopped with) this server.
    let dir = TempDir::new("stopped");
    let copy = dir.0.join("copy-of-test");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let patient = get_context(StartMethod::Forkserver).with_executable(&copy);
    // Launching the server (an exec) gets the default timeout: a loaded machine must
    // not make this test fail; only the start against the stopped server is short.
    let server = server_of(&patient);
    let ctx = patient
        .clone()
        .with_start_timeout(Duration::from_millis(300));
    // SAFETY: kill with a pid and a signal number has no memory preconditions.
    assert_eq!(unsafe { libc::kill(server, libc::SIGSTOP) }, 0);
    let (_here, there) = pipe(true).unwrap();
    let t0 = Instant::now();
    let e = ctx.process(ran, there).start().unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains(&server.to_string()), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(30), "bounded");
    // The stopped server was killed and reaped: its pid names nobody of ours now.
    // SAFETY: as above (signal 0 only checks).
    let gone = unsafe { libc::kill(server, 0) } == -1;
    assert!(gone, "the stopped server must be gone");
    // The next start launches a new server and works.
    let again = server_of(&patient);
    assert_ne!(again, server);
}
