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
    // A daemon: a non-daemon child could be the spare the server forked before it was
    // stopped (`a_ready_spare_needs_no_server` below); a daemon needs the server.
    let e = ctx.process(ran, there).daemon(true).start().unwrap_err();
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

/// Generous bound for a process to end or appear on a loaded machine.
const LONG: Duration = Duration::from_secs(30);

/// Our live children (kernel parent: this process, not yet ended) that run `exe`.
fn live_children_running(exe: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let exe = std::fs::canonicalize(exe).unwrap();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": the command name may contain spaces.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() < 2 || fields[0] == "Z" || fields[1].parse::<i32>() != Ok(me) {
            continue;
        }
        if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == exe) {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` has ended (gone, or a zombie not yet reaped).
fn ended(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// A forkserver forks the next non-daemon child ahead of time (a *spare*, our own
/// child, waiting for its boot message). One killed from outside before it is used
/// is found dead at the next start, reaped, and the child is started anyway.
#[test]
fn a_killed_spare_is_reaped_and_the_start_still_works() {
    let dir = TempDir::new("spare");
    let copy = dir.0.join("copy-of-test");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let ctx = get_context(StartMethod::Forkserver).with_executable(&copy);
    let server = server_of(&ctx);
    let mut spare = None;
    assert!(
        common::eventually(LONG, || {
            spare = live_children_running(&copy)
                .into_iter()
                .find(|&p| p != server);
            spare.is_some()
        }),
        "the server forks a spare after its first start"
    );
    let spare = spare.unwrap();
    // SAFETY: kill with a pid and a signal number has no memory preconditions.
    assert_eq!(unsafe { libc::kill(spare, libc::SIGKILL) }, 0);
    // Dead (its socket closed), not yet reaped: nobody waits for a spare but `start`.
    assert!(common::eventually(LONG, || ended(spare)));
    let (here, there) = pipe(true).unwrap();
    let child = ctx.process(ran, there).start().unwrap();
    assert_ne!(child.pid(), spare);
    assert_eq!(here.recv::<String>().unwrap(), "ran");
    assert_eq!(child.join().unwrap(), 0);
    // Reaped: no zombie of ours keeps its pid.
    let stat = std::fs::read_to_string(format!("/proc/{spare}/stat"));
    assert!(
        stat.map_or(true, |s| !s.starts_with(&format!("{spare} "))
            || !s.contains(") Z")),
        "the dead spare {spare} was not reaped"
    );
}

fn nothing(_: ()) {}

/// The owner for the test below: starts and joins one forkserver child (after which
/// the server forks two spares), reports its live children (the server and the
/// spares), and ends.
fn owner_with_a_spare(conn: Connection) {
    let g = get_context(StartMethod::Forkserver)
        .process(nothing, ())
        .start()
        .unwrap();
    assert_eq!(g.join().unwrap(), 0);
    let exe = std::env::current_exe().unwrap();
    let mut kids = Vec::new();
    assert!(common::eventually(LONG, || {
        kids = live_children_running(&exe);
        kids.len() >= 3
    }));
    conn.send(&kids).unwrap();
}

/// An unused spare, and the server, end when their owner ends: nothing outlives it.
#[test]
fn an_unused_spare_ends_with_its_owner() {
    let (here, there) = pipe(true).unwrap();
    let owner = get_context(StartMethod::Spawn)
        .process(owner_with_a_spare, there)
        .start()
        .unwrap();
    let kids: Vec<i32> = here.recv().unwrap();
    assert_eq!(kids.len(), 3, "the server and its two spares: {kids:?}");
    assert_eq!(owner.join().unwrap(), 0);
    for pid in kids {
        assert!(
            common::eventually(LONG, || ended(pid)),
            "{pid} outlived its owner"
        );
    }
}

/// With spares, a stopped server still bounds a non-daemon start: the spares it forked
/// before it was stopped may serve a start each, the next one times out.
#[test]
fn a_stopped_forkserver_bounds_non_daemon_starts_too() {
    let dir = TempDir::new("stopped-spare");
    let copy = dir.0.join("copy-of-test");
    std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
    let patient = get_context(StartMethod::Forkserver).with_executable(&copy);
    let server = server_of(&patient);
    let ctx = patient
        .clone()
        .with_start_timeout(Duration::from_millis(300));
    // SAFETY: kill with a pid and a signal number has no memory preconditions.
    assert_eq!(unsafe { libc::kill(server, libc::SIGSTOP) }, 0);
    let mut timed_out = false;
    for _ in 0..3 {
        let (here, there) = pipe(true).unwrap();
        match ctx.process(ran, there).start() {
            Ok(child) => {
                assert_eq!(here.recv::<String>().unwrap(), "ran");
                assert_eq!(child.join().unwrap(), 0);
            }
            Err(e) => {
                assert!(e.is_timeout(), "{e}");
                timed_out = true;
                break;
            }
        }
    }
    assert!(
        timed_out,
        "a start needing the stopped server must time out"
    );
    // SAFETY: as above (signal 0 only checks).
    assert_eq!(unsafe { libc::kill(server, 0) }, -1, "killed and reaped");
    let again = server_of(&patient);
    assert_ne!(again, server);
}

fn wait_then_report((go, conn): (skein_process::Event, Connection)) {
    go.wait();
    conn.send(&"done".to_string()).unwrap();
}

/// Python's `test_forkserver_sigint` / `test_forkserver_sigkill` (bpo-31308): the
/// forkserver ignores SIGINT; after it is killed by SIGKILL, a child it started earlier
/// runs on to a clean exit, and new processes, daemon or not, start (a new server is
/// launched).
#[test]
fn a_killed_forkserver_is_replaced_and_its_children_run_on() {
    for sig in [libc::SIGINT, libc::SIGKILL] {
        let dir = TempDir::new("killed");
        let copy = dir.0.join("copy-of-test");
        std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
        let ctx = get_context(StartMethod::Forkserver).with_executable(&copy);
        let server = server_of(&ctx);
        let go = skein_process::Event::new().unwrap();
        let (here, there) = pipe(true).unwrap();
        let early = ctx
            .process(wait_then_report, (go.clone(), there))
            .start()
            .unwrap();
        // SAFETY: kill with a pid and a signal number has no memory preconditions.
        assert_eq!(unsafe { libc::kill(server, sig) }, 0);
        if sig == libc::SIGKILL {
            assert!(common::eventually(Duration::from_secs(60), || ended(
                server
            )));
        } else {
            // Ignored, as Python's forkserver does (Ctrl-C reaches the whole process
            // group): the same server serves on.
            assert_eq!(server_of(&ctx), server);
        }
        for daemon in [true, false] {
            let (h, t) = pipe(true).unwrap();
            let p = ctx.process(ran, t).daemon(daemon).start().unwrap();
            assert_eq!(
                h.recv_timeout::<String>(Duration::from_secs(60)).unwrap(),
                "ran"
            );
            assert_eq!(p.join().unwrap(), 0, "signal {sig}, daemon {daemon}");
        }
        go.set();
        assert_eq!(
            here.recv_timeout::<String>(Duration::from_secs(60))
                .unwrap(),
            "done"
        );
        assert_eq!(early.join().unwrap(), 0, "signal {sig}");
    }
}

/// `Spawn` looks an executable named without a `/` up in `PATH`, as `Command` and
/// `execvp` do (it starts children with its own `clone` + `execve`).
#[test]
fn a_bare_executable_name_is_looked_up_in_path() {
    // `true` is found (in /usr/bin or /bin), started, and refused as not this program.
    let e = start_with(
        StartMethod::Spawn,
        Path::new("true"),
        Duration::from_secs(30),
    )
    .expect("spawn uses the executable");
    assert!(e.is_wrong_executable(), "{e}");
    // A name in no directory of PATH fails the start at once, naming it.
    let e = start_with(
        StartMethod::Spawn,
        Path::new("no-such-skein-program"),
        Duration::from_secs(30),
    )
    .expect("spawn uses the executable");
    assert!(!e.is_wrong_executable() && !e.is_timeout(), "{e}");
    assert!(e.to_string().contains("no-such-skein-program"), "{e}");
}
