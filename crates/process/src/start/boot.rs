//! The bootstrap message a `Spawn` or `Forkserver` child reads before anything else:
//! who it is, which function to run, its serialised arguments, and the descriptors of
//! the handles inside them.
//!
//! Wire format, on a private stream socket pair: a 12-byte preamble (magic `SKBT`,
//! descriptor count, body length; little endian) carrying the descriptors as
//! `SCM_RIGHTS`, then the postcard-encoded [`Boot`] body.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::StartCause;
use crate::start::child::{self, Me};
use crate::start::{Payload, Spec};
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
pub(crate) fn prepare(p: &Spec, me: Me) -> Result<(Vec<u8>, Vec<RawFd>), StartCause> {
    let Payload::Args(args) = &p.payload else {
        return Err(StartCause::ClosureNeedsFork);
    };
    let (bytes, fds) = args.encode().map_err(StartCause::Serialize)?;
    let boot = Boot {
        layout: entry::layout_check(),
        entry: args.entry(),
        me,
        args: bytes,
    };
    // The body is encoded after room for the preamble, which is filled in below (no
    // second copy of the body).
    let mut msg = postcard::to_extend(&boot, vec![0u8; 12])
        .map_err(|e| StartCause::Serialize(e.to_string()))?;
    let body_len = msg.len() - 12;
    if body_len > MAX_BODY {
        return Err(StartCause::Serialize(format!(
            "arguments of {body_len} bytes exceed the {MAX_BODY}-byte limit"
        )));
    }
    msg[..4].copy_from_slice(&MAGIC.to_le_bytes());
    msg[4..8].copy_from_slice(&(fds.len() as u32).to_le_bytes());
    msg[8..12].copy_from_slice(&(body_len as u32).to_le_bytes());
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

/// Checks a message's 12-byte preamble against the descriptors that came with it;
/// returns the body's length.
fn check_preamble(pre: &[u8], fds: &[OwnedFd]) -> io::Result<usize> {
    let word = |i: usize| u32::from_le_bytes(pre[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    if word(0) != MAGIC {
        return Err(bad("not a skein-process bootstrap message"));
    }
    let (nfds, len) = (word(1) as usize, word(2) as usize);
    if fds.len() != nfds {
        return Err(bad(format!(
            "expected {nfds} handle descriptors, received {}",
            fds.len()
        )));
    }
    if len > MAX_BODY {
        return Err(bad(format!("bootstrap body of {len} bytes is too large")));
    }
    Ok(len)
}

fn decode_body(body: &[u8]) -> io::Result<Boot> {
    let boot: Boot = postcard::from_bytes(body).map_err(|e| bad(e.to_string()))?;
    if boot.layout != entry::layout_check() {
        return Err(bad("the child runs a different binary than its parent"));
    }
    Ok(boot)
}

/// Decodes a whole boot message that is already in memory (the forkserver receives a
/// small one with the request, and decodes it before it forks).
pub(crate) fn parse(msg: &[u8], fds: Vec<OwnedFd>, hooks: Vec<fn()>) -> io::Result<Prepared> {
    if msg.len() < 12 {
        return Err(bad("truncated bootstrap message"));
    }
    let len = check_preamble(&msg[..12], &fds)?;
    if msg.len() - 12 != len {
        return Err(bad("bootstrap message of the wrong length"));
    }
    Ok(Prepared::new(decode_body(&msg[12..])?, fds, hooks))
}

/// Reads the boot message from `sock` (in the child). A small message arrives whole in
/// the first read (one system call, no allocation for the body); a larger one is read
/// on.
pub(crate) fn recv(sock: BorrowedFd<'_>) -> io::Result<Prepared> {
    // Small: every byte of stack this child touches may be a copy-on-write fault.
    let mut first = [0u8; 512];
    let (mut have, fds) = scm::recv_with_fds(sock, &mut first)?;
    if have == 0 {
        return Err(bad("the parent went away before the bootstrap"));
    }
    if have < 12 {
        recv_exact(sock, &mut first[have..12])?;
        have = 12;
    }
    let len = check_preamble(&first[..12], &fds)?;
    if have - 12 > len {
        return Err(bad("bytes after the bootstrap message"));
    }
    let boot = if have - 12 == len {
        decode_body(&first[12..have])?
    } else {
        let mut body = vec![0u8; len];
        body[..have - 12].copy_from_slice(&first[12..have]);
        recv_exact(sock, &mut body[have - 12..])?;
        decode_body(&body)?
    };
    Ok(Prepared::new(boot, fds, child::child_hooks()))
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
                .map_err(|e| format!("cannot decode the arguments: {e}"))
        })
    }
}
