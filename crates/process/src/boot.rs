//! The bootstrap message a `Spawn` or `Forkserver` child reads before anything else:
//! who it is, which function to run, its serialised arguments, and the descriptors of
//! the handles inside them.
//!
//! Wire format, on a private stream socket pair: a 12-byte preamble (magic `SKBT`,
//! descriptor count, body length; little endian) carrying the descriptors as
//! `SCM_RIGHTS`, then the postcard-encoded [`Boot`] body.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use serde::{Deserialize, Serialize};

use crate::child::Me;
use crate::error::StartCause;
use crate::process::{Payload, Process};
use crate::sys::entry::{self, Entry};
use crate::sys::{self, scm};

const MAGIC: u32 = u32::from_le_bytes(*b"SKBT");
/// The largest body a child accepts (arguments beyond this are refused at start).
const MAX_BODY: usize = 1 << 30;

/// Everything a fresh child needs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Boot {
    /// [`entry::layout_check`] in the parent: proves the child runs the same binary.
    pub(crate) layout: usize,
    pub(crate) entry: Entry,
    pub(crate) me: Me,
    pub(crate) args: Vec<u8>,
}

/// Builds the boot message for `p` (serialising its arguments and collecting its
/// handles' descriptors), or the cause of failure.
pub(crate) fn prepare(p: &Process, me: Me) -> Result<(Vec<u8>, Vec<RawFd>), StartCause> {
    let Payload::Args(args) = &p.payload else {
        return Err(StartCause::ClosureNeedsFork);
    };
    let (bytes, fds) = args.encode().map_err(StartCause::Serialize)?;
    let boot = Boot { layout: entry::layout_check(), entry: args.entry(), me, args: bytes };
    let body = postcard::to_allocvec(&boot).map_err(|e| StartCause::Serialize(e.to_string()))?;
    if body.len() > MAX_BODY {
        return Err(StartCause::Serialize(format!(
            "arguments of {} bytes exceed the {MAX_BODY}-byte limit",
            body.len()
        )));
    }
    let mut msg = Vec::with_capacity(12 + body.len());
    msg.extend_from_slice(&MAGIC.to_le_bytes());
    msg.extend_from_slice(&(fds.len() as u32).to_le_bytes());
    msg.extend_from_slice(&(body.len() as u32).to_le_bytes());
    msg.extend_from_slice(&body);
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

/// Reads the boot message (in the child).
pub(crate) fn recv(sock: BorrowedFd<'_>) -> io::Result<(Boot, Vec<OwnedFd>)> {
    let mut pre = [0u8; 12];
    let (n, fds) = scm::recv_with_fds(sock, &mut pre)?;
    if n == 0 {
        return Err(bad("the parent went away before the bootstrap"));
    }
    recv_exact(sock, &mut pre[n..])?;
    let word = |i: usize| u32::from_le_bytes(pre[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    if word(0) != MAGIC {
        return Err(bad("not a skein-process bootstrap message"));
    }
    let (nfds, len) = (word(1) as usize, word(2) as usize);
    if fds.len() != nfds {
        return Err(bad(format!("expected {nfds} handle descriptors, received {}", fds.len())));
    }
    if len > MAX_BODY {
        return Err(bad(format!("bootstrap body of {len} bytes is too large")));
    }
    let mut body = vec![0u8; len];
    recv_exact(sock, &mut body)?;
    let boot: Boot = postcard::from_bytes(&body).map_err(|e| bad(e.to_string()))?;
    if boot.layout != entry::layout_check() {
        return Err(bad("the child runs a different binary than its parent"));
    }
    Ok((boot, fds))
}

/// Runs a received boot message in this (child) process; never returns.
/// `creator` is the process that created this one (the parent for `Spawn`, the
/// forkserver for its children), for the daemon's death signal.
pub(crate) fn run(boot: Boot, fds: Vec<OwnedFd>, creator: sys::Pid) -> ! {
    let daemon = boot.me.daemon;
    let hooks = crate::child::become_child(boot.me);
    if daemon {
        crate::child::die_with_parent(creator);
    }
    let (entry, args) = (boot.entry, boot.args);
    crate::child::run_and_exit(hooks, move || {
        let ready = crate::handle::provide(fds, || entry.decode(&args))
            .map_err(|e| format!("cannot decode the arguments: {e}"))?;
        ready();
        Ok(())
    })
}
