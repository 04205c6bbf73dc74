//! The bootstrap message a `Spawn` or `Forkserver` child reads before anything else:
//! who it is, which function to run, its serialised arguments, and the descriptors of
//! the handles inside them.
//!
//! Wire format, on a private stream socket pair: a 46-byte preamble (magic `SKBT`,
//! descriptor count, body length, little endian; then the parent's executable
//! identity, see `sys::image`) carrying the descriptors as `SCM_RIGHTS`, then the
//! postcard-encoded [`Boot`] body. The child checks the identity against its own
//! before it decodes anything else: a different executable never jumps to the
//! parent's code offsets.
//!
//! A `Spawn` child answers on the same socket before it runs its target
//! ([`answer`]): `SKOK`, or a refusal with its reason. The parent waits for that
//! answer with a deadline ([`await_answer`]), so that an executable that is not this
//! program (another skein binary, `/bin/true`, a script that never reads) is a
//! `StartError` at `start`.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::StartCause;
use crate::start::child::{self, Me};
use crate::start::{Payload, Spec};
use crate::sys::entry::Entry;
use crate::sys::image::{self, ImageId};
use crate::sys::{self, scm};

const MAGIC: u32 = u32::from_le_bytes(*b"SKBT");
/// The largest body a child accepts (arguments beyond this are refused at start).
const MAX_BODY: usize = 1 << 30;
/// The preamble: magic, descriptor count, body length, the parent's image identity.
const PRE: usize = 12 + image::ENCODED_LEN;

/// Everything a fresh child needs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Boot {
    pub(crate) entry: Entry,
    pub(crate) me: Me,
    pub(crate) args: Vec<u8>,
}

/// Builds the boot message for `p` (serialising its arguments and collecting its
/// handles' descriptors), or the cause of failure.
pub(crate) fn prepare(p: &Spec, me: Me) -> Result<(Vec<u8>, Vec<RawFd>), StartCause> {
    let Payload::Args(args) = &p.payload else {
        return Err(StartCause::ClosureNeedsFork);
    };
    let (bytes, fds) = args.encode().map_err(StartCause::Serialize)?;
    let boot = Boot {
        entry: args.entry(),
        me,
        args: bytes,
    };
    // The body is encoded after room for the preamble, which is filled in below (no
    // second copy of the body).
    let mut msg = postcard::to_extend(&boot, vec![0u8; PRE])
        .map_err(|e| StartCause::Serialize(e.to_string()))?;
    let body_len = msg.len() - PRE;
    if body_len > MAX_BODY {
        return Err(StartCause::Serialize(format!(
            "arguments of {body_len} bytes exceed the {MAX_BODY}-byte limit"
        )));
    }
    msg[..4].copy_from_slice(&MAGIC.to_le_bytes());
    msg[4..8].copy_from_slice(&(fds.len() as u32).to_le_bytes());
    msg[8..12].copy_from_slice(&(body_len as u32).to_le_bytes());
    msg[12..PRE].copy_from_slice(&image::own().encode());
    Ok((msg, fds))
}

/// Sends a prepared boot message.
pub(crate) fn send(sock: BorrowedFd<'_>, msg: &[u8], fds: &[RawFd]) -> io::Result<()> {
    scm::send_with_fds(sock, msg, fds)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn recv_exact(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match sys::recv(sock, &mut buf[got..])? {
            0 => return Err(bad("the parent went away during the bootstrap")),
            n => got += n,
        }
    }
    Ok(())
}

/// Why a child refuses its bootstrap.
#[derive(Debug)]
pub(crate) enum BootError {
    /// The parent runs another executable (both identities named).
    WrongExecutable(String),
    /// Anything else: a broken or truncated message, a parent that went away.
    Io(io::Error),
}

impl From<io::Error> for BootError {
    fn from(e: io::Error) -> BootError {
        BootError::Io(e)
    }
}

impl std::fmt::Display for BootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootError::WrongExecutable(m) => f.write_str(m),
            BootError::Io(e) => e.fmt(f),
        }
    }
}

/// Checks that the parent runs this very executable.
fn check_image(parent: &ImageId) -> Result<(), BootError> {
    let own = image::own();
    if parent == own {
        return Ok(());
    }
    let path = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/proc/self/exe".into());
    Err(BootError::WrongExecutable(format!(
        "the parent runs {parent}, but the child's executable {path} is {own}; \
         give with_executable a copy of the parent's binary"
    )))
}

/// Checks a message's preamble against the descriptors that came with it, and the
/// parent's executable against ours; returns the body's length.
fn check_preamble(pre: &[u8], fds: &[OwnedFd]) -> Result<usize, BootError> {
    let word = |i: usize| u32::from_le_bytes(pre[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    if word(0) != MAGIC {
        return Err(bad("not a skein-process bootstrap message").into());
    }
    // Before anything else is trusted: the same executable, or nothing.
    check_image(&ImageId::decode(
        pre[12..PRE].try_into().expect("the preamble's identity"),
    ))?;
    let (nfds, len) = (word(1) as usize, word(2) as usize);
    if fds.len() != nfds {
        return Err(bad(format!(
            "expected {nfds} handle descriptors, received {}",
            fds.len()
        ))
        .into());
    }
    if len > MAX_BODY {
        return Err(bad(format!("bootstrap body of {len} bytes is too large")).into());
    }
    Ok(len)
}

fn decode_body(body: &[u8]) -> io::Result<Boot> {
    postcard::from_bytes(body).map_err(|e| bad(e.to_string()))
}

/// Decodes a whole boot message that is already in memory (the forkserver receives a
/// small one with the request, and decodes it before it forks).
pub(crate) fn parse(
    msg: &[u8],
    fds: Vec<OwnedFd>,
    hooks: Vec<fn()>,
) -> Result<Prepared, BootError> {
    if msg.len() < PRE {
        return Err(bad("truncated bootstrap message").into());
    }
    let len = check_preamble(&msg[..PRE], &fds)?;
    if msg.len() - PRE != len {
        return Err(bad("bootstrap message of the wrong length").into());
    }
    Ok(Prepared::new(decode_body(&msg[PRE..])?, fds, hooks))
}

/// Reads the boot message from `sock` (in the child). A small message arrives whole in
/// the first read (one system call, no allocation for the body); a larger one is read
/// on.
pub(crate) fn recv(sock: BorrowedFd<'_>) -> Result<Prepared, BootError> {
    recv_with_hooks(sock, child::child_hooks)
}

/// [`recv`] with the child hooks read by `hooks` once a message came (a forkserver's
/// spare child has them from the server: it takes no lock for them).
pub(crate) fn recv_with_hooks(
    sock: BorrowedFd<'_>,
    hooks: impl FnOnce() -> Vec<fn()>,
) -> Result<Prepared, BootError> {
    // Small: every byte of stack this child touches may be a copy-on-write fault.
    let mut first = [0u8; 512];
    let (mut have, fds) = scm::recv_with_fds(sock, &mut first)?;
    if have == 0 {
        return Err(BootError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the parent went away before the bootstrap",
        )));
    }
    if have < PRE {
        recv_exact(sock, &mut first[have..PRE])?;
        have = PRE;
    }
    let len = check_preamble(&first[..PRE], &fds)?;
    if have - PRE > len {
        return Err(bad("bytes after the bootstrap message").into());
    }
    let boot = if have - PRE == len {
        decode_body(&first[PRE..have])?
    } else {
        let mut body = vec![0u8; len];
        body[..have - PRE].copy_from_slice(&first[PRE..have]);
        recv_exact(sock, &mut body[have - PRE..])?;
        decode_body(&body)?
    };
    Ok(Prepared::new(boot, fds, hooks()))
}

/// A received boot message with everything the child will need already allocated: a
/// forkserver builds it *before* it forks, so that its child allocates nothing (every
/// heap page a forked child writes is a copy-on-write fault).
pub(crate) struct Prepared {
    me: Arc<Me>,
    entry: Entry,
    args: Vec<u8>,
    fds: Vec<Option<OwnedFd>>,
    hooks: Vec<fn()>,
}

impl Prepared {
    fn new(boot: Boot, fds: Vec<OwnedFd>, hooks: Vec<fn()>) -> Prepared {
        Prepared {
            me: Arc::new(boot.me),
            entry: boot.entry,
            args: boot.args,
            fds: fds.into_iter().map(Some).collect(),
            hooks,
        }
    }

    /// The pid of the process that asked for this child.
    pub(crate) fn parent_pid(&self) -> sys::Pid {
        self.me.parent_pid()
    }

    /// Runs the child in this process; never returns. `creator` is the process that
    /// created this one (the parent for `Spawn`, the forkserver for its children), for
    /// the daemon's death signal.
    pub(crate) fn run(self, creator: sys::Pid) -> ! {
        let Prepared {
            me,
            entry,
            args,
            fds,
            hooks,
        } = self;
        let daemon = me.daemon;
        child::become_child(me);
        if daemon {
            child::die_with_parent(creator);
        }
        child::run_and_exit(hooks, move || {
            let mut provided = Some(crate::handle::Provided::new(fds));
            entry
                .run(&args, &mut || drop(provided.take()))
                .map_err(|e| e.to_string())
        })
    }
}

/// A `Spawn` child's answers to its bootstrap (see [`answer`]).
const ANSWER_OK: &[u8; 4] = b"SKOK";
const ANSWER_WRONG_EXE: &[u8; 4] = b"SKNI";
const ANSWER_BROKEN: &[u8; 4] = b"SKNB";

/// In a `Spawn` child, after reading the boot message: tells the parent that the
/// target is about to run (`SKOK`), or why the child refuses (a tag, a `u32` length
/// and the reason), before it exits.
pub(crate) fn answer(sock: BorrowedFd<'_>, result: &Result<Prepared, BootError>) {
    let _ = match result {
        Ok(_) => sys::send_all(sock, ANSWER_OK),
        Err(e) => {
            let tag = match e {
                BootError::WrongExecutable(_) => ANSWER_WRONG_EXE,
                BootError::Io(_) => ANSWER_BROKEN,
            };
            let why = e.to_string();
            let mut msg = Vec::with_capacity(8 + why.len());
            msg.extend_from_slice(tag);
            msg.extend_from_slice(&(why.len() as u32).to_le_bytes());
            msg.extend_from_slice(why.as_bytes());
            sys::send_all(sock, &msg)
        }
    };
}

/// What [`recv_until`] got.
pub(crate) enum Got {
    /// The buffer is full.
    All,
    /// End of stream first.
    Eof,
    /// The deadline passed first.
    Timeout,
}

/// Reads exactly `buf.len()` bytes from `sock`, waiting until `deadline` at most.
pub(crate) fn recv_until(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
    deadline: std::time::Instant,
) -> io::Result<Got> {
    let mut got = 0;
    while got < buf.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if !sys::poll_one(sock, libc::POLLIN, Some(left))? {
            return Ok(Got::Timeout);
        }
        match sys::recv(sock, &mut buf[got..]) {
            Ok(0) => return Ok(Got::Eof),
            Ok(n) => got += n,
            // A child that exits with unread data in its socket resets the connection.
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Ok(Got::Eof),
            Err(e) => return Err(e),
        }
    }
    Ok(Got::All)
}

/// In the parent of a `Spawn` child: waits until `deadline` for the child's
/// [`answer`]. `Ok` when the child is about to run its target; otherwise why not
/// (the caller then kills and reaps the child).
pub(crate) fn await_answer(
    sock: BorrowedFd<'_>,
    deadline: std::time::Instant,
    exe: Option<&std::path::Path>,
    timeout: std::time::Duration,
) -> Result<(), StartCause> {
    let exe = exe.map_or_else(|| "this program".into(), |p| p.display().to_string());
    let mut tag = [0u8; 4];
    let silent = || {
        StartCause::WrongExecutable(format!(
            "the child ({exe}) ended without answering its bootstrap: it is not this \
             program, or it does not call skein_process::init() first in main"
        ))
    };
    match recv_until(sock, &mut tag, deadline).map_err(StartCause::Os)? {
        Got::All => {}
        Got::Eof => return Err(silent()),
        Got::Timeout => {
            return Err(StartCause::Timeout(format!(
                "the child ({exe}) did not answer its bootstrap within {timeout:?}: it is \
                 not this program, or it is stuck"
            )));
        }
    }
    if &tag == ANSWER_OK {
        return Ok(());
    }
    if &tag != ANSWER_WRONG_EXE && &tag != ANSWER_BROKEN {
        return Err(StartCause::WrongExecutable(format!(
            "the child ({exe}) answered its bootstrap with {tag:?}, not as a skein child"
        )));
    }
    let mut len = [0u8; 4];
    let mut why = Vec::new();
    if let Got::All = recv_until(sock, &mut len, deadline).map_err(StartCause::Os)? {
        why = vec![0u8; (u32::from_le_bytes(len) as usize).min(4096)];
        if !matches!(recv_until(sock, &mut why, deadline), Ok(Got::All)) {
            why.clear();
        }
    }
    let why = String::from_utf8_lossy(&why).into_owned();
    Err(if &tag == ANSWER_WRONG_EXE {
        StartCause::WrongExecutable(why)
    } else {
        StartCause::Os(bad(format!("the child refused its bootstrap: {why}")))
    })
}
