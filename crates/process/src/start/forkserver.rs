//! The `Forkserver` start method.
//!
//! On the first `Forkserver` start, this process execs a copy of its own binary in the
//! *forkserver* role. The server is single-threaded and clean (it ran nothing of the
//! program but [`init`](crate::init)), so forking it has none of fork's hazards.
//!
//! ```text
//!  owner ──control (SEQPACKET pair, the server's stdin)──▶ server
//!    │  non-daemon child (the common case): the *spare*
//!    │    owner ── P (make a spare) ──────────────────────▶ server forks it, as the
//!    │    owner ◀── S(pid) + the spare's socket (SCM_RIGHTS) ─ owner's own child
//!    │    start: owner writes the Boot message on that socket ──▶ the spare runs it
//!    │    join:  owner waitpid(pid), as for a `Fork` child
//!    │  daemon child, or no spare: a request
//!    │    per child: a STREAM pair (a ↔ b); b travels over control (SCM_RIGHTS),
//!    │    with the Boot message (≤ 16 KiB) and its handles' descriptors
//!    │    a: owner writes a larger Boot message ───────────▶ child reads it from b
//!    │    a: owner reads ◀── OWN(pid) | PID(pid), later EXIT(code) ── server on b
//! ```
//!
//! * A new server first greets the owner on control with `SKHI` and its executable's
//!   identity (`sys::image`); the owner refuses another executable (killing it), and
//!   one that ends or stays silent past the start timeout.
//! * **The owner's own children.** The server forks a non-daemon child with `clone3`
//!   and `CLONE_PARENT` (`sys::fork_for_parent`): the owner is its kernel parent, gets
//!   its `SIGCHLD` and reaps it with `waitpid`, exactly as a `Fork` child, so its exit
//!   status takes no detour through the server (before: the server's `SIGCHLD`
//!   wake-up, a write on `b`, the owner's wake-up). A daemon child stays the server's
//!   own: its `PR_SET_PDEATHSIG` then follows the single-threaded server, which ends
//!   with its owner, not whichever thread of the owner started the server. Where the
//!   kernel cannot (`clone3` refused, no `PR_GET_TID_ADDRESS`), every child is the
//!   server's and its status is relayed on `b` as described below.
//! * **Spares.** After the greeting, and each time the owner takes one, the owner asks
//!   for spares (`P`) until two are ready or on their way (`SPARES_AHEAD`; with one,
//!   the next spare's fork, sharing a CPU with the running child, was often not done
//!   when the next start came): the server forks a non-daemon child *ahead of time*, which
//!   closes everything of the server's and waits for its boot message on a socket
//!   pair whose other end goes to the owner with the pid. A start then writes the boot
//!   message (any size, with its handles' descriptors) straight to the spare and
//!   returns: no request, no reply, no fork on the way, and the server forks the next
//!   spare while this child runs. The owner waits for a spare it asked for with the
//!   start deadline (a server that misses it is killed and replaced). A spare that
//!   died before use (killed from outside) is reaped at the start that finds it dead,
//!   which then goes through a request; an unused spare sees end-of-file when its
//!   owner ends and exits; a dropped server's spares (those announced on control but
//!   not read yet included) are killed and reaped.
//! * Every wait of `start` on the server has that deadline (the request's send, a
//!   large boot message's send, the reply, a spare): a server that misses it
//!   (stopped, wedged) is killed and forgotten, and the next start launches a new
//!   one.
//! * The server forks one child per request. A boot message that came with the
//!   request is decoded before the fork, so the child only closes everything of the
//!   server's and runs (every page a forked child writes or runs is a page fault, so
//!   the child path reads, allocates and touches as little as it can); otherwise the
//!   child reads its boot message from `b` first.
//! * For the owner's own child the server sends `OWN(pid)` on `b`. For its own child it
//!   sends the pid; when that child ends (`SIGCHLD` through a signalfd) the server
//!   writes its exit status on `b` *before* reaping it, so that the owner, which opens
//!   a pidfd only when it first signals the child, knows the pid still named its child
//!   when it opened one if no status had arrived by then (no pid-reuse race, and no
//!   pidfd to open and pass for the common child that is never signalled). The owner's
//!   `join` waits for `a` to become readable.
//! * If `fork` fails in the server, it writes the `errno` instead of a pid: the
//!   owner's `start` returns that error (a spare that cannot be forked now is `E`:
//!   the start goes through a request, which reports the error).
//! * The server ends when the owner does: it sees end-of-file on its control socket
//!   (the kernel closes the owner's end whatever way it dies, `SIGKILL` included).
//!   Its daemon children carry `PR_SET_PDEATHSIG` pointing at the server, so they die
//!   with it; non-daemon children run on, as in Python.
//! * Every socket is an anonymous `socketpair`: there is no name anyone could guess or
//!   connect to.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::StartCause;
use crate::shared::ident;
use crate::start::init::is_initialized;
use crate::start::record::Waiter;
use crate::start::spawn::self_command;
use crate::start::{Failed, Record, Spec, StartMethod, boot, child, registry};
use crate::sys::image::{self, ImageId};
use crate::sys::{self, ForkOutcome, Pid, SockKind, scm};

const TAG_PID: u32 = 1;
const TAG_ERR: u32 = 2;
const TAG_EXIT: u32 = 3;
const TAG_OWN: u32 = 4;

/// A request's first byte: fork the child as the owner's own child if the server can
/// (`CLONE_PARENT`), or as the server's (a daemon, which dies with the server).
const REQ_OWNER_CHILD: u8 = b'F';
const REQ_SERVER_CHILD: u8 = b'D';
/// A request for a spare child: one forked ahead of time as the owner's own child,
/// which waits for its boot message from the owner. Answered on the control socket with
/// `SPARE_*` and the spare's pid (or an `errno`), the owner's end of the spare's socket
/// riding along.
const REQ_SPARE: u8 = b'P';
const SPARE_READY: u8 = b'S';
const SPARE_NOT_NOW: u8 = b'E';
const SPARE_NEVER: u8 = b'N';
const SPARE_REPLY_LEN: usize = 5;

/// A message from the server about one child.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The server's child: its exit status follows on the same socket.
    Pid(Pid),
    /// `fork` failed with this `errno`.
    Err(i32),
    /// The exit status of the server's child.
    Exit(i32),
    /// The owner's own child (forked with `CLONE_PARENT`): the owner reaps it.
    Own(Pid),
}

fn encode(tag: u32, value: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&tag.to_le_bytes());
    b[4..].copy_from_slice(&value.to_le_bytes());
    b
}

/// Reads one 8-byte reply; `Ok(None)` at end of stream (the server is gone).
pub(crate) fn read_reply(sock: BorrowedFd<'_>) -> io::Result<Option<Reply>> {
    let mut buf = [0u8; 8];
    finish_reply(sock, &mut buf, 0)
}

/// Reads the reply waiting on `sock` without blocking: `Ok(None)` if none has come
/// yet, `Ok(Some(None))` at end of stream.
pub(crate) fn try_read_reply(sock: BorrowedFd<'_>) -> io::Result<Option<Option<Reply>>> {
    let mut buf = [0u8; 8];
    match sys::recv_nowait(sock, &mut buf)? {
        None => Ok(None),
        Some(0) => Ok(Some(None)),
        // The server writes each reply whole; a partial one completes at once.
        Some(got) => finish_reply(sock, &mut buf, got).map(Some),
    }
}

fn finish_reply(
    sock: BorrowedFd<'_>,
    buf: &mut [u8; 8],
    mut got: usize,
) -> io::Result<Option<Reply>> {
    while got < 8 {
        match sys::recv(sock, &mut buf[got..])? {
            0 => return Ok(None),
            n => got += n,
        }
    }
    let tag = u32::from_le_bytes(buf[..4].try_into().expect("4 bytes"));
    let value = i32::from_le_bytes(buf[4..].try_into().expect("4 bytes"));
    Ok(Some(match tag {
        TAG_PID => Reply::Pid(value),
        TAG_ERR => Reply::Err(value),
        TAG_EXIT => Reply::Exit(value),
        TAG_OWN => Reply::Own(value),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad forkserver reply",
            ));
        }
    }))
}

/// The owner's connection to one server.
pub(crate) struct Server {
    exe: Option<PathBuf>,
    control: OwnedFd,
    pid: Pid,
    /// Children the server forked ahead of time (our own children), each waiting for
    /// a boot message on its socket: the next non-daemon starts' children, oldest
    /// first.
    ready: Vec<Spare>,
    /// How many requests for a spare (`REQ_SPARE`) the server owes us an answer to.
    asked: usize,
    /// Cleared when the server answers that it cannot make spares.
    spares: bool,
}

/// A spare child: its pid and our end of its boot socket.
struct Spare {
    pid: Pid,
    sock: OwnedFd,
}

impl Spare {
    /// Kills and reaps an unused spare (it has run no code of the program). Nobody
    /// else waits for it, so the pid is still ours.
    fn discard(self) {
        let _ = sys::kill(self.pid, libc::SIGKILL);
        drop(self.sock);
        let _ = sys::waitpid(self.pid, false);
    }
}

/// How many spares the owner keeps ready or on their way: two, so that a start finds
/// one forked while an earlier child ran, even when the server's last fork shared a
/// CPU with that child and is not done yet.
const SPARES_AHEAD: usize = 2;

impl Server {
    /// Forgets a server that has ended (killed and reaped by the caller, or gone): its
    /// unused spares, our own children, are killed and reaped, those announced on
    /// control but not read yet included.
    fn discard(self) {
        for spare in self.ready {
            spare.discard();
        }
        // The server is gone: what is queued on control is all there will be.
        let mut buf = [0u8; SPARE_REPLY_LEN];
        while matches!(
            sys::poll_one(self.control.as_fd(), libc::POLLIN, Some(Duration::ZERO)),
            Ok(true)
        ) {
            match scm::recv_with_fds(self.control.as_fd(), &mut buf) {
                Ok((SPARE_REPLY_LEN, mut fds)) if buf[0] == SPARE_READY => {
                    if let Some(sock) = fds.pop() {
                        let pid = i32::from_le_bytes(buf[1..].try_into().expect("4 bytes"));
                        Spare { pid, sock }.discard();
                    }
                }
                Ok((0, _)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

impl AsFd for Server {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.control.as_fd()
    }
}

/// In a forked child: closes the inherited control sockets (so that the child never
/// keeps a server alive) and spare sockets (so that an unused spare still sees its
/// owner go) without freeing the records (see `ForkGuards::reset_in_child`).
pub(crate) fn forget_all_in_child(servers: &mut Vec<Server>) {
    let all = std::mem::take(servers);
    // The spares' descriptors are closed through borrowed handles, and their owners
    // (inside `all`) are forgotten just below, so each is closed once.
    sys::close_and_forget(
        all.iter()
            .flat_map(|s| s.ready.iter().map(|sp| sp.sock.as_fd())),
    );
    sys::close_and_forget(all);
}

pub(crate) fn servers() -> MutexGuard<'static, Vec<Server>> {
    child::STATE
        .servers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Set on the server's exec when we added `LD_BIND_NOW` to its environment (the
/// server removes both, so its children and their execs see the owner's environment).
const BIND_NOW_MARK: &str = "__SKEIN_PROCESS_BIND_NOW";

/// The server's greeting on its control socket, right after it starts: `SKHI` and
/// its executable's identity (`sys::image`).
const HELLO: &[u8; 4] = b"SKHI";
const HELLO_LEN: usize = 4 + image::ENCODED_LEN;

fn exe_name(exe: Option<&Path>) -> String {
    exe.map_or_else(|| "this program".into(), |p| p.display().to_string())
}

/// Starts a server for `exe` and waits (until `timeout`) for its greeting: a server
/// that runs another executable, ends, or stays silent is killed, reaped and refused.
fn launch(exe: Option<&Path>, timeout: Duration) -> Result<Server, StartCause> {
    let deadline = Instant::now() + timeout;
    let (ours, theirs) = sys::socketpair(SockKind::SeqPacket).map_err(StartCause::Os)?;
    let mut cmd = self_command(exe, "forkserver", theirs);
    // Resolve every dynamic symbol once in the server: otherwise each forked child
    // binds the library functions it calls lazily, writing (and so copying) the
    // server's symbol tables page by page, once per child.
    if std::env::var_os("LD_BIND_NOW").is_none() {
        cmd.env("LD_BIND_NOW", "1").env(BIND_NOW_MARK, "1");
    }
    let child = cmd.spawn().map_err(StartCause::Os)?;
    // The command holds the server's end of the control socket: close ours of it, or
    // a server that ends would never look ended (no end-of-file).
    drop(cmd);
    let pid = child.id() as Pid;
    drop(child);
    let mut server = Server {
        exe: exe.map(Path::to_path_buf),
        control: ours,
        pid,
        ready: Vec::new(),
        asked: 0,
        spares: true,
    };
    let greeted = await_hello(&server, deadline, timeout)
        // A stopped or wedged server must not block a request's send either.
        .and_then(|()| {
            sys::set_send_timeout(server.control.as_fd(), timeout).map_err(StartCause::Os)
        });
    match greeted {
        Ok(()) => {
            // The first spares, forked while the caller prepares its first child.
            ask_for_spare(&mut server);
            Ok(server)
        }
        Err(cause) => {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, false);
            Err(cause)
        }
    }
}

/// Waits for a new server's greeting and checks that it runs this very executable.
fn await_hello(server: &Server, deadline: Instant, timeout: Duration) -> Result<(), StartCause> {
    let exe = exe_name(server.exe.as_deref());
    let left = deadline.saturating_duration_since(Instant::now());
    if !sys::poll_one(server.control.as_fd(), libc::POLLIN, Some(left)).map_err(StartCause::Os)? {
        return Err(StartCause::Timeout(format!(
            "the forkserver ({exe}, pid {}) did not greet within {timeout:?}: it is not this \
             program, or it is stuck",
            server.pid
        )));
    }
    let mut hello = [0u8; 64];
    let n = match sys::recv(server.control.as_fd(), &mut hello) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => 0,
        Err(e) => return Err(StartCause::Os(e)),
    };
    if n == 0 {
        return Err(StartCause::WrongExecutable(format!(
            "the forkserver ({exe}) ended without greeting: it is not this program, or it \
             does not call skein_process::init() first in main"
        )));
    }
    if n != HELLO_LEN || &hello[..4] != HELLO {
        return Err(StartCause::WrongExecutable(format!(
            "the forkserver ({exe}) greeted with {:?}, not as a skein forkserver",
            &hello[..n.min(8)]
        )));
    }
    let theirs = ImageId::decode(hello[4..HELLO_LEN].try_into().expect("the identity"));
    let ours = image::own();
    if theirs != *ours {
        return Err(StartCause::WrongExecutable(format!(
            "this process runs {ours}, but the forkserver's executable {exe} is {theirs}; \
             give with_executable a copy of this program's binary"
        )));
    }
    Ok(())
}

/// Kills and forgets the server `pid` (it missed a deadline): the next start for its
/// executable launches a new one. Its children that are still running lose their
/// exit status (`ProcessError::Lost`); its daemon children die with it.
fn retire(pid: Pid) {
    let mut servers = servers();
    if let Some(i) = servers.iter().position(|s| s.pid == pid) {
        let dead = servers.remove(i);
        drop(servers);
        let _ = sys::kill(dead.pid, libc::SIGKILL);
        let _ = sys::waitpid(dead.pid, false);
        dead.discard();
    }
}

/// Asks the server for spare children until [`SPARES_AHEAD`] are ready or on their
/// way (answered on control, read by [`take_spare`]).
fn ask_for_spare(server: &mut Server) {
    while server.spares
        && server.ready.len() + server.asked < SPARES_AHEAD
        && sys::send_all(server.control.as_fd(), &[REQ_SPARE]).is_ok()
    {
        server.asked += 1;
    }
}

/// Waits (until `deadline`) for the server's answer to our request for a spare.
/// `Err(true)`: the deadline passed; `Err(false)`: the server is gone.
fn await_spare(server: &mut Server, deadline: Instant) -> Result<(), bool> {
    let left = deadline.saturating_duration_since(Instant::now());
    match sys::poll_one(server.control.as_fd(), libc::POLLIN, Some(left)) {
        Ok(true) => {}
        Ok(false) => return Err(true),
        Err(_) => return Err(false),
    }
    let mut buf = [0u8; SPARE_REPLY_LEN];
    let (n, mut fds) = match scm::recv_with_fds(server.control.as_fd(), &mut buf) {
        Ok(r) => r,
        Err(_) => return Err(false),
    };
    server.asked = server.asked.saturating_sub(1);
    if n != SPARE_REPLY_LEN {
        return Err(false);
    }
    let value = i32::from_le_bytes(buf[1..].try_into().expect("4 bytes"));
    match (buf[0], fds.pop()) {
        (SPARE_READY, Some(sock)) if fds.is_empty() => {
            server.ready.push(Spare { pid: value, sock });
        }
        // Not now (out of processes or memory): the next start asks again.
        (SPARE_NOT_NOW, None) => {}
        (SPARE_NEVER, None) => server.spares = false,
        _ => return Err(false),
    }
    Ok(())
}

/// Takes the spare child of the server for `exe` (launching the server first if
/// needed), waiting for one the server owes us until `deadline` (the caller then asks
/// for the next one with [`replace_spare`], which the server forks while the child
/// runs). `Ok(None)`: no spare (the server cannot make them, or could not now); start
/// the child through a request instead.
fn take_spare(
    exe: Option<&Path>,
    timeout: Duration,
    deadline: Instant,
) -> Result<Option<Spare>, StartCause> {
    let mut servers = servers();
    let idx = match servers.iter().position(|s| s.exe.as_deref() == exe) {
        Some(i) => i,
        None => {
            servers.push(launch(exe, timeout)?);
            servers.len() - 1
        }
    };
    let server = &mut servers[idx];
    if server.ready.is_empty() && server.asked > 0 {
        match await_spare(server, deadline) {
            Ok(()) => {}
            Err(true) => {
                let pid = server.pid;
                drop(servers);
                retire(pid);
                return Err(StartCause::Timeout(format!(
                    "the forkserver (pid {pid}) did not fork a child within {timeout:?}; it \
                     was killed, and the next start launches a new one"
                )));
            }
            Err(false) => {
                // Gone: the request path finds it dead, and launches a new one.
                server.spares = false;
                return Ok(None);
            }
        }
    }
    let spare = (!server.ready.is_empty()).then(|| server.ready.remove(0));
    if spare.is_none() {
        // For the next start (this one goes through a request).
        ask_for_spare(server);
    }
    Ok(spare)
}

/// Asks the server for `exe` for the next spares, once the one just taken has its
/// boot message (so that the server's fork does not delay that child).
fn replace_spare(exe: Option<&Path>) {
    let mut servers = servers();
    if let Some(server) = servers.iter_mut().find(|s| s.exe.as_deref() == exe) {
        ask_for_spare(server);
    }
}

/// The largest boot message sent inline with its request (see [`request`]).
const INLINE_MAX: usize = 16 * 1024;

/// Sends the far end `b` of a child's socket pair to the server for `exe`, starting
/// (or restarting) the server as needed. A small boot message (with its handles'
/// descriptors) rides along in the same message: the server then decodes it before it
/// forks, and the child reads nothing (one system call fewer for each side, and no
/// allocation in the child). Otherwise the child reads it from `b`.
///
/// Returns the pid of the server that took the request.
fn request(
    exe: Option<&Path>,
    kind: u8,
    b: &OwnedFd,
    inline: Option<(&[u8], &[RawFd])>,
    timeout: Duration,
) -> Result<Pid, StartCause> {
    let mut data = Vec::with_capacity(1 + inline.map_or(0, |(m, _)| m.len()));
    data.push(kind);
    let mut fds = vec![b.as_raw_fd()];
    if let Some((msg, handle_fds)) = inline {
        data.extend_from_slice(msg);
        fds.extend_from_slice(handle_fds);
    }
    let mut servers = servers();
    for attempt in 0..2 {
        let idx = match servers.iter().position(|s| s.exe.as_deref() == exe) {
            Some(i) => i,
            None => {
                servers.push(launch(exe, timeout)?);
                servers.len() - 1
            }
        };
        let pid = servers[idx].pid;
        match scm::send_with_fds(servers[idx].control.as_fd(), &data, &fds) {
            Ok(()) => return Ok(pid),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Its control socket is full: the server stopped reading.
                drop(servers);
                retire(pid);
                return Err(StartCause::Timeout(format!(
                    "the forkserver (pid {pid}) took no request within its send timeout; \
                     it was killed, and the next start launches a new one"
                )));
            }
            Err(e) => {
                // The server died: reap it and try once with a fresh one.
                let dead = servers.remove(idx);
                let _ = sys::waitpid(dead.pid, true);
                dead.discard();
                if attempt == 1 {
                    return Err(StartCause::Os(e));
                }
            }
        }
    }
    unreachable!("the loop returns on its second attempt")
}

/// Starts `p` with the `Forkserver` start method.
pub(crate) fn start(p: Spec) -> Result<Arc<Record>, Failed> {
    if !is_initialized() {
        return Err(Box::new((StartCause::NotInitialized, p)));
    }
    let me = child::describe_next_child(p.name.as_deref(), p.daemon, StartMethod::Forkserver);
    let name = me.name.clone();
    let owner = me.parent_pid();
    let (msg, fds) = match boot::prepare(&p, me) {
        Ok(m) => m,
        Err(cause) => return Err(Box::new((cause, p))),
    };
    let deadline = Instant::now() + p.start_timeout;
    // A non-daemon child: the spare child the server forked ahead of time, if any.
    if !p.daemon {
        match take_spare(p.executable.as_deref(), p.start_timeout, deadline) {
            Ok(Some(spare)) => {
                // A large message to a spare that does not read (stopped) gives up at
                // the deadline; a small one fits in the socket's buffer.
                let sent = if msg.len() > INLINE_MAX {
                    sys::set_send_timeout(spare.sock.as_fd(), p.start_timeout)
                } else {
                    Ok(())
                }
                .and_then(|()| boot::send(spare.sock.as_fd(), &msg, &fds));
                drop(spare.sock);
                replace_spare(p.executable.as_deref());
                match sent {
                    Ok(()) => {
                        let waiter = Waiter::Own { pidfd: None };
                        let shared = Record::with_owner(&p, name, spare.pid, waiter, owner);
                        drop(p); // closes our copies of handles that moved into the child
                        registry::register(shared.clone());
                        return Ok(shared);
                    }
                    Err(e) => {
                        // The spare is gone (killed from outside?) or stuck: it has run
                        // none of the program; kill and reap it. Too many descriptors
                        // (an error before anything was sent) is the caller's error.
                        let _ = sys::kill(spare.pid, libc::SIGKILL);
                        let _ = sys::waitpid(spare.pid, false);
                        if e.kind() == io::ErrorKind::WouldBlock {
                            return Err(Box::new((
                                StartCause::Timeout(format!(
                                    "the forkserver's child (pid {}) did not read its \
                                     bootstrap within {:?}",
                                    spare.pid, p.start_timeout
                                )),
                                p,
                            )));
                        }
                        if !matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) {
                            return Err(Box::new((StartCause::Os(e), p)));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(cause) => return Err(Box::new((cause, p))),
        }
    }
    let (a, b) = match sys::socketpair(SockKind::Stream) {
        Ok(pair) => pair,
        Err(e) => return Err(Box::new((StartCause::Os(e), p))),
    };
    let inline = msg.len() <= INLINE_MAX && fds.len() < scm::MAX_FDS;
    let with_request = inline.then_some((&msg[..], &fds[..]));
    // A daemon stays the server's child: its death signal then follows the
    // single-threaded server, which ends with its owner, and not whichever thread of
    // the owner happened to start the server (`PR_SET_PDEATHSIG` follows a thread).
    let kind = if p.daemon {
        REQ_SERVER_CHILD
    } else {
        REQ_OWNER_CHILD
    };
    let server = match request(
        p.executable.as_deref(),
        kind,
        &b,
        with_request,
        p.start_timeout,
    ) {
        Ok(pid) => pid,
        Err(cause) => return Err(Box::new((cause, p))),
    };
    drop(b);
    // If the fork failed, the server closed `b` after writing its error: the send
    // fails with EPIPE and the reply below says why. A large message to a child that
    // never comes (a stopped server) gives up at the deadline.
    let sent = if inline {
        Ok(())
    } else {
        sys::set_send_timeout(a.as_fd(), p.start_timeout)
            .and_then(|()| boot::send(a.as_fd(), &msg, &fds))
    };
    // The reply, within the deadline: a server that misses it is replaced.
    let left = deadline.saturating_duration_since(Instant::now());
    match sys::poll_one(a.as_fd(), libc::POLLIN, Some(left)) {
        Ok(true) => {}
        Ok(false) => {
            retire(server);
            return Err(Box::new((
                StartCause::Timeout(format!(
                    "the forkserver (pid {server}) did not reply within {:?}; it was killed, \
                     and the next start launches a new one",
                    p.start_timeout
                )),
                p,
            )));
        }
        Err(e) => return Err(Box::new((StartCause::Os(e), p))),
    }
    match read_reply(a.as_fd()) {
        Ok(Some(reply @ (Reply::Pid(pid) | Reply::Own(pid)))) => {
            let waiter = match reply {
                Reply::Own(_) => {
                    // Our own child: reaped by us with `waitpid`, like a `Fork` child.
                    if let Err(e) = sent {
                        // It could not get (all of) its bootstrap and has run nothing of
                        // the program: end it (it may be waiting for the rest of the
                        // message on `a`) and reap it.
                        drop(a);
                        let _ = sys::kill(pid, libc::SIGKILL);
                        let _ = sys::waitpid(pid, false);
                        return Err(Box::new((StartCause::Os(e), p)));
                    }
                    drop(a);
                    Waiter::Own { pidfd: None }
                }
                _ => {
                    if let Err(e) = sent {
                        // The child exists but could not get its bootstrap; it exits
                        // with 1, and the server reaps it.
                        return Err(Box::new((StartCause::Os(e), p)));
                    }
                    Waiter::Server {
                        status: Arc::new(a),
                        pidfd: None,
                    }
                }
            };
            let shared = Record::with_owner(&p, name, pid, waiter, owner);
            drop(p); // closes the parent's copies of handles that moved into the child
            registry::register(shared.clone());
            Ok(shared)
        }
        Ok(Some(Reply::Err(errno))) => Err(Box::new((
            StartCause::Os(io::Error::from_raw_os_error(errno)),
            p,
        ))),
        Ok(Some(Reply::Exit(_))) => Err(Box::new((
            StartCause::Forkserver("status before pid".into()),
            p,
        ))),
        Ok(None) => Err(Box::new((
            StartCause::Forkserver("the server died".into()),
            p,
        ))),
        Err(e) => Err(Box::new((StartCause::Os(e), p))),
    }
}

/// The server, called from [`init`](crate::init) when the role is `forkserver`.
/// Whether `SIGINT` was ignored when the server started (its children inherit that,
/// not the server's own ignoring).
static SIGINT_WAS_IGNORED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

fn child_signals() {
    sys::restore_sigint(SIGINT_WAS_IGNORED.load(std::sync::atomic::Ordering::Relaxed));
    sys::unblock_all_signals();
}

pub(crate) fn server_main() -> ! {
    sys::ignore_sigpipe();
    SIGINT_WAS_IGNORED.store(sys::ignore_sigint(), std::sync::atomic::Ordering::Relaxed);
    if std::env::var_os(BIND_NOW_MARK).is_some() {
        sys::remove_env_single_threaded(BIND_NOW_MARK);
        sys::remove_env_single_threaded("LD_BIND_NOW");
    }
    // Done once here rather than in every child: after a fork, every page a child
    // writes (and every code page it runs) costs it a page fault, so the server sets up
    // what each child would otherwise set up for itself: the naming panic hook, the
    // standard output's buffer, and the thread-local handle table (whose destructor
    // registration goes through the dynamic loader).
    child::install_panic_hook();
    {
        use std::io::Write as _;
        let _ = std::io::stdout().lock().flush();
        let _ = std::io::stderr().lock().flush();
    }
    crate::handle::provide(Vec::new(), || ());
    // Its first call looks a symbol up in the dynamic loader: dozens of pages.
    sys::certainly_single_threaded();
    let control = match sys::take_stdin() {
        Ok(s) if sys::is_socket(s.as_fd()) => s,
        _ => {
            eprintln!("skein-process: started as a forkserver without a control socket");
            sys::exit_now(1)
        }
    };
    // The greeting: who we are, so that the owner refuses another executable.
    let mut hello = [0u8; HELLO_LEN];
    hello[..4].copy_from_slice(HELLO);
    hello[4..].copy_from_slice(&image::own().encode());
    if sys::send_all(control.as_fd(), &hello).is_err() {
        sys::exit_now(1)
    }
    let sigchld = match sys::sigchld_fd() {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("skein-process: forkserver cannot watch its children: {e}");
            sys::exit_now(1)
        }
    };
    let me = sys::getpid();
    let mut children: HashMap<Pid, OwnedFd> = HashMap::new();
    // One request: `F`, then an inline boot message if small enough. Allocated (and
    // written) once, so a child reads its boot message from pages it shares with us.
    let mut request = vec![0u8; 1 + INLINE_MAX];
    // Read once: nothing registers child hooks in the server after this point.
    let hooks = child::child_hooks();
    // How to fork a child as the owner's own (`None`: this kernel cannot; every child
    // is then the server's, its status relayed).
    let mut for_owner = sys::ParentFork::probe();
    loop {
        let ready = match sys::poll_in([control.as_raw_fd(), sigchld.as_raw_fd()]) {
            Ok(r) => r,
            Err(_) => sys::exit_now(1),
        };
        if ready[1] {
            sys::drain(sigchld.as_fd());
            // Report, then reap: see the module docs (the owner's lazy pidfd).
            while let Ok(Some((pid, code))) = sys::peek_any_ended() {
                if let Some(b) = children.remove(&pid) {
                    let _ = sys::send_all(b.as_fd(), &encode(TAG_EXIT, code));
                }
                if sys::waitpid(pid, true).is_err() {
                    break;
                }
            }
        }
        if ready[0] {
            let (n, mut fds) = match scm::recv_with_fds(control.as_fd(), &mut request) {
                Ok(r) => r,
                Err(_) => sys::exit_now(1),
            };
            if n == 0 {
                // The owner is gone. Daemon children die with us (PR_SET_PDEATHSIG).
                sys::exit_now(0);
            }
            if request[0] == REQ_SPARE {
                let how = for_owner.filter(|_| !ident::atfork_registered());
                let Some(how) = how else {
                    let _ = sys::send_all(control.as_fd(), &spare_reply(SPARE_NEVER, 0));
                    continue;
                };
                let (ours, theirs) = match sys::socketpair(SockKind::Stream) {
                    Ok(pair) => pair,
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(libc::EMFILE);
                        let _ = sys::send_all(control.as_fd(), &spare_reply(SPARE_NOT_NOW, errno));
                        continue;
                    }
                };
                match sys::fork_for_parent(&how) {
                    Ok(ForkOutcome::Child) => {
                        drop(ours);
                        drop(control);
                        drop(sigchld);
                        sys::close_and_forget(children.into_values());
                        child_signals();
                        spare_main(theirs, hooks, me)
                    }
                    Ok(ForkOutcome::Parent(pid)) => {
                        let reply = spare_reply(SPARE_READY, pid);
                        if scm::send_with_fds(control.as_fd(), &reply, &[ours.as_raw_fd()]).is_err()
                        {
                            // The owner is gone (the spare then sees end-of-file).
                            sys::exit_now(0);
                        }
                    }
                    Err(e) => {
                        let errno = e.raw_os_error().unwrap_or(libc::EAGAIN);
                        let tag = if matches!(errno, libc::EAGAIN | libc::ENOMEM) {
                            SPARE_NOT_NOW
                        } else {
                            // No `clone3` here (or a filter refuses it).
                            for_owner = None;
                            SPARE_NEVER
                        };
                        let _ = sys::send_all(control.as_fd(), &spare_reply(tag, errno));
                    }
                }
                continue;
            }
            if !matches!(request[0], REQ_OWNER_CHILD | REQ_SERVER_CHILD) || fds.is_empty() {
                continue;
            }
            let b = fds.remove(0);
            // An inline boot message is decoded here, before the fork (see `request`).
            let child = (n > 1).then(|| boot::parse(&request[1..n], fds, hooks.clone()));
            // The server is single-threaded (it runs only this loop), so the child
            // holds every lock and datum the server had; `sys` checks it. A raw
            // `clone3` skips glibc's `pthread_atfork` handlers: not once one exists.
            let as_owners = match for_owner {
                Some(how) if request[0] == REQ_OWNER_CHILD && !ident::atfork_registered() => {
                    Some(how)
                }
                _ => None,
            };
            let forked = match as_owners {
                Some(how) => match sys::fork_for_parent(&how) {
                    // Out of processes or memory: the caller's error, as with `fork`.
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::ENOMEM)) => {
                        Err(e)
                    }
                    // No `clone3` here (or a filter refuses it): fork as before, for
                    // good.
                    Err(_) => {
                        for_owner = None;
                        sys::fork_single_threaded().map(|f| (f, false))
                    }
                    Ok(f) => Ok((f, true)),
                },
                None => sys::fork_single_threaded().map(|f| (f, false)),
            };
            match forked {
                Ok((ForkOutcome::Child, _)) => {
                    drop(control);
                    drop(sigchld);
                    // Close the other children's sockets, but leave the table's
                    // memory alone (freeing it only costs this child page faults).
                    sys::close_and_forget(children.into_values());
                    child_signals();
                    server_child(b, child, me)
                }
                // The owner's child: the owner gets its SIGCHLD and reaps it. Our
                // copy of `b` closes below.
                Ok((ForkOutcome::Parent(pid), true)) => {
                    let _ = sys::send_all(b.as_fd(), &encode(TAG_OWN, pid));
                }
                Ok((ForkOutcome::Parent(pid), false)) => {
                    let _ = sys::send_all(b.as_fd(), &encode(TAG_PID, pid));
                    children.insert(pid, b);
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EAGAIN);
                    let _ = sys::send_all(b.as_fd(), &encode(TAG_ERR, errno));
                }
            }
            // Closes the server's copies of the child's handle descriptors.
            drop(child);
        }
    }
}

fn spare_reply(tag: u8, value: i32) -> [u8; SPARE_REPLY_LEN] {
    let mut b = [tag; SPARE_REPLY_LEN];
    b[1..].copy_from_slice(&value.to_le_bytes());
    b
}

/// A spare child (see [`REQ_SPARE`]): waits for its boot message from the owner, and
/// runs it; ends quietly if the owner drops it unused (end-of-file).
fn spare_main(sock: OwnedFd, hooks: Vec<fn()>, server: Pid) -> ! {
    let child = boot::recv_with_hooks(sock.as_fd(), move || hooks);
    drop(sock);
    match child {
        Ok(child) => child.run(server),
        Err(boot::BootError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => sys::exit_now(0),
        Err(e) => {
            eprintln!("skein-process: forkserver child cannot start: {e}");
            sys::exit_now(1)
        }
    }
}

/// A freshly forked child of the server: runs the boot message decoded before the
/// fork, or reads it from `b`.
fn server_child(
    b: OwnedFd,
    inline: Option<Result<boot::Prepared, boot::BootError>>,
    server: Pid,
) -> ! {
    let child = inline.unwrap_or_else(|| boot::recv(b.as_fd()));
    drop(b);
    match child {
        Ok(child) => child.run(server),
        Err(e) => {
            eprintln!("skein-process: forkserver child cannot start: {e}");
            sys::exit_now(1)
        }
    }
}
