//! The `Spawn` start method: a fresh exec of this binary per child.
//!
//! The child gets the bootstrap socket as its stdin (so no descriptor needs to survive
//! `exec` by any other route), started by [`spawn_self`] (`clone` + `execve` with every
//! signal blocked, see `sys::exec`); it reads the [`Boot`](crate::start::boot::Boot)
//! message from it, puts `/dev/null` on stdin, and runs — from the crate's `.init_array`
//! entry, before `main` (see `init.rs`).

use std::ffi::{CString, c_char};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use std::sync::Arc;

use crate::error::StartCause;
use crate::start::init::{ROLE_VAR, is_initialized};
use crate::start::record::Waiter;
use crate::start::{Failed, Record, Spec, StartMethod, boot, child, registry};
use crate::sys::{self, SockKind};

/// A command that runs this binary (or `exe`) in `role`, with `stdin` as its stdin.
pub(crate) fn self_command(exe: Option<&Path>, role: &str, stdin: OwnedFd) -> Command {
    let mut cmd = Command::new(exe.unwrap_or(Path::new("/proc/self/exe")));
    if let Some(arg0) = std::env::args_os().next() {
        cmd.arg0(arg0);
    }
    cmd.env(ROLE_VAR, role).stdin(Stdio::from(stdin));
    cmd
}

/// Starts this binary (or `exe`) in the `spawn` role with `stdin` as its stdin; returns
/// its pid.
///
/// Not through `Command`: glibc's `posix_spawn` resets every signal's disposition one
/// system call at a time in its child (128 of them per start); `sys::exec` keeps the
/// child's signals blocked instead until [`child_main`] unblocks them. An `exe` without
/// a `/` is looked up in `PATH`, as `Command` does.
fn spawn_self(exe: Option<&Path>, stdin: OwnedFd) -> io::Result<sys::Pid> {
    use std::os::unix::ffi::OsStrExt;
    let found;
    let path = match exe {
        None => Path::new("/proc/self/exe"),
        Some(exe) if exe.as_os_str().as_bytes().contains(&b'/') => exe,
        Some(name) => {
            found = find_in_path(name)?;
            &found
        }
    };
    let cstr = |bytes: &[u8]| {
        CString::new(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "nul byte in the executable's path, argv[0] or environment",
            )
        })
    };
    let path = cstr(path.as_os_str().as_bytes())?;
    let arg0 = match std::env::args_os().next() {
        Some(a) => cstr(a.as_bytes())?,
        None => path.clone(),
    };
    let role = format!("{ROLE_VAR}=spawn");
    let mut env = vec![cstr(role.as_bytes())?];
    for (k, v) in std::env::vars_os() {
        if k != ROLE_VAR {
            let mut kv = Vec::with_capacity(k.len() + v.len() + 1);
            kv.extend_from_slice(k.as_bytes());
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            env.push(cstr(&kv)?);
        }
    }
    let argv = [arg0.as_ptr(), std::ptr::null()];
    let envp: Vec<*const c_char> = env
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    sys::exec::spawn_blocked(&path, &argv, &envp, stdin.as_fd())
}

/// The first executable file called `name` in a directory of `PATH`, as `execvp` and
/// `Command` look it up.
fn find_in_path(name: &Path) -> io::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let dirs = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no executable {} in PATH", name.display()),
            )
        })
}

/// Starts `p` with the `Spawn` start method.
pub(crate) fn start(p: Spec) -> Result<Arc<Record>, Failed> {
    if !is_initialized() {
        return Err(Box::new((StartCause::NotInitialized, p)));
    }
    let me = child::describe_next_child(p.name.as_deref(), p.daemon, StartMethod::Spawn);
    let name = me.name.clone();
    let owner = me.parent_pid();
    let (msg, fds) = match boot::prepare(&p, me) {
        Ok(m) => m,
        Err(cause) => return Err(Box::new((cause, p))),
    };
    let (ours, theirs) = match sys::socketpair(SockKind::Stream) {
        Ok(pair) => pair,
        Err(e) => return Err(Box::new((StartCause::Os(e), p))),
    };
    let pid = match spawn_self(p.executable.as_deref(), theirs) {
        Ok(pid) => pid,
        Err(e) => return Err(Box::new((StartCause::Os(e), p))),
    };
    let deadline = Instant::now() + p.start_timeout;
    let exe = p.executable.as_deref();
    // The boot message, then the child's answer: it runs its target only after it
    // checked that it is this very executable, and says so. A child that dies first
    // (EPIPE on the send) has not answered either, and one that never reads makes a
    // large message's send time out (`SO_SNDTIMEO`).
    let sent = sys::set_send_timeout(ours.as_fd(), p.start_timeout)
        .and_then(|()| boot::send(ours.as_fd(), &msg, &fds));
    let answered = match sent {
        Ok(()) => boot::await_answer(ours.as_fd(), deadline, exe, p.start_timeout),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => {
            boot::await_answer(ours.as_fd(), deadline, exe, p.start_timeout)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(StartCause::Timeout(format!(
            "the child ({}) did not read its bootstrap within {:?}",
            exe.map_or_else(|| "this program".into(), |p| p.display().to_string()),
            p.start_timeout
        ))),
        Err(e) => Err(StartCause::Os(e)),
    };
    if let Err(cause) = answered {
        // Nothing of the target ran: kill (if it still runs) and reap the child.
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::waitpid(pid, false);
        return Err(Box::new((cause, p)));
    }
    let shared = Record::with_owner(&p, name, pid, Waiter::Own { pidfd: None }, owner);
    drop(p); // closes the parent's copies of handles that moved into the child
    registry::register(shared.clone());
    Ok(shared)
}

/// The child's side, called from [`init`](crate::init) when the role is `spawn`.
pub(crate) fn child_main() -> ! {
    // `spawn_self` started this process with every signal blocked; `Command` would
    // have given it an empty mask.
    sys::unblock_all_signals();
    sys::ignore_sigpipe();
    let sock = match sys::take_stdin() {
        Ok(s) if sys::is_socket(s.as_fd()) => s,
        _ => {
            eprintln!("skein-process: started as a spawn child without a bootstrap socket");
            sys::exit_now(1)
        }
    };
    let child = boot::recv(sock.as_fd());
    // Answer before running anything: the parent's `start` waits for it.
    boot::answer(sock.as_fd(), &child);
    match child {
        Ok(child) => {
            drop(sock);
            let parent = child.parent_pid();
            child.run(parent)
        }
        Err(e) => {
            eprintln!("skein-process: spawn child cannot start: {e}");
            sys::exit_now(1)
        }
    }
}
