//! The segment janitor: unlinks named segments once their whole process tree is gone,
//! even when every process in it was killed with SIGKILL.
//!
//! The first named segment a process creates starts a janitor: a grandchild (so nobody
//! has to reap it) in its own session (so a signal to the process group spares it), with
//! stdio on `/dev/null` and every other descriptor closed, holding the read end of a
//! pipe. The creator keeps the write end (close-on-exec, but inherited by `fork`ed
//! children, so the janitor's "tree" is the creator plus its forked descendants) and
//! writes `+name` / `-name` lines as segments are created and unlinked.
//!
//! Every process that maps a segment holds a shared `flock` on it (the kernel drops it
//! when the process dies), so "nobody maps it" is "an exclusive `flock` succeeds". A
//! handle's `drop` unlinks the name when that is so; otherwise it sends `?name` and the
//! janitor re-tries every 100 ms until it is so. When the pipe reports end-of-file —
//! every process holding the write end is gone, however it died — every remaining name
//! is treated the same way, and the janitor exits once all are unlinked. A segment that
//! an unrelated process still maps is therefore never unlinked under it.

use std::os::fd::OwnedFd;
use std::sync::Mutex;

/// The write end of this process tree's janitor pipe, once started.
static JANITOR: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Tells the janitor (starting it if needed) that `name` exists.
pub(crate) fn register(name: &str) -> std::io::Result<()> {
    send(b'+', name, true)
}

/// Tells the janitor (starting it if needed) that every handle of this process on
/// `name` is gone but another process still maps it: unlink it as soon as nobody does.
pub(crate) fn orphan(name: &str) {
    // On failure to start, the creator's janitor still cleans up at the end.
    let _ = send(b'?', name, true);
}

/// Tells the janitor that `name` was unlinked normally.
pub(crate) fn forget(name: &str) {
    let _ = send(b'-', name, false);
}

/// Writes one `op name` line to this process tree's janitor; starts it first if there
/// is none yet and `start_if_needed` (otherwise there is nobody to tell).
fn send(op: u8, name: &str, start_if_needed: bool) -> std::io::Result<()> {
    let mut guard = JANITOR.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() && start_if_needed {
        *guard = Some(start()?);
    }
    match guard.as_ref() {
        Some(fd) => write_line(fd, op, name),
        None => Ok(()),
    }
}

fn write_line(fd: &OwnedFd, op: u8, name: &str) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(name.len() + 2);
    line.push(op);
    line.extend_from_slice(name.as_bytes());
    line.push(b'\n');
    // Lines are far below PIPE_BUF, so each write is atomic even when forked children
    // share the pipe.
    let n = rustix::io::write(fd, &line)?;
    debug_assert_eq!(n, line.len());
    Ok(())
}

fn start() -> std::io::Result<OwnedFd> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // The janitor reports on `ready` once it has left our session and process group,
    // so a signal sent to our group right after `create` returns cannot reach it.
    let (ready_r, ready_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    crate::sys::shm::spawn_janitor(read, ready_w, serve)?;
    let mut byte = [0u8; 1];
    loop {
        match rustix::io::read(&ready_r, &mut byte) {
            Ok(1) => return Ok(write),
            Ok(_) => {
                return Err(std::io::Error::other("the segment janitor failed to start"));
            }
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The janitor's loop. `+name` registers a segment, `-name` forgets it (unlinked
/// normally), `?name` marks it orphaned (its last handle here dropped while another
/// process mapped it). Orphans are unlinked as soon as nobody maps them (re-tried every
/// 100 ms); at end-of-file every registered name becomes an orphan, and the janitor
/// exits once all are gone.
fn serve(read: &OwnedFd) {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut orphans: Vec<Vec<u8>> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut open = true;
    while open || !orphans.is_empty() {
        if open {
            let mut pfd = [rustix::event::PollFd::new(
                read,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 100_000_000,
            };
            let timeout = if orphans.is_empty() {
                None
            } else {
                Some(&timeout)
            };
            let ready = rustix::event::poll(&mut pfd, timeout).unwrap_or(0);
            if ready > 0 {
                match rustix::io::read(read, &mut buf) {
                    Ok(0) => {
                        open = false;
                        orphans.append(&mut names);
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                    Err(_) => {
                        open = false;
                        orphans.append(&mut names);
                    }
                }
            }
        } else {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let (op, name) = (line[0], line[1..line.len() - 1].to_vec());
            match op {
                b'+' => names.push(name),
                b'-' => {
                    names.retain(|n| *n != name);
                    orphans.retain(|n| *n != name);
                }
                b'?' => {
                    names.retain(|n| *n != name);
                    orphans.push(name);
                }
                _ => {}
            }
        }
        orphans.retain(|name| !unlink_if_unmapped(name));
    }
}

/// Unlinks `name` if no process holds a shared `flock` on it. Returns whether the
/// name is gone.
///
/// Used by the janitor and by `SharedMemory`'s `drop`; system calls only (through
/// rustix), so that it is as usable in the janitor (a fork child) as anywhere.
pub(crate) fn unlink_if_unmapped(name: &[u8]) -> bool {
    use rustix::fs::{FlockOperation, Mode};
    use rustix::shm::OFlags;
    let Ok(name) = std::str::from_utf8(name) else {
        return true;
    };
    let Ok(fd) = rustix::shm::open(name, OFlags::RDWR, Mode::empty()) else {
        return true; // already gone (or never ours to remove)
    };
    let locked = loop {
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break true,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break false,
        }
    };
    if locked && rustix::fs::fstat(&fd).is_ok_and(|st| st.st_nlink > 0) {
        let _ = rustix::shm::unlink(name);
    }
    locked
}
