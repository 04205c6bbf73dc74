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

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
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
    // SAFETY: the child only calls async-signal-safe functions before `fork` again; the
    // grandchild runs `janitor_main`, which uses raw syscalls and glibc's malloc (made
    // usable in fork children by glibc's own fork handlers), and ends in `_exit`.
    let child = unsafe { libc::fork() };
    match child {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: see above; the intermediate child exits at once so the janitor is
            // reparented and never becomes our zombie.
            unsafe {
                if libc::fork() == 0 {
                    janitor_main(read.as_raw_fd(), ready_w.as_raw_fd());
                }
                libc::_exit(0);
            }
        }
        pid => {
            let mut status = 0;
            // SAFETY: waits for the intermediate child we just forked.
            unsafe {
                while libc::waitpid(pid, &mut status, 0) == -1
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
            }
            drop(read);
            drop(ready_w);
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
    }
}

/// The janitor's whole life. Never returns.
///
/// # Safety
///
/// Only to be called in a freshly forked process, with `read` the pipe's read end and
/// `ready` the write end of the start-up report pipe.
unsafe fn janitor_main(read: i32, ready: i32) -> ! {
    // SAFETY: plain syscalls on descriptors this process owns; the janitor is the only
    // thread of its process.
    unsafe {
        libc::setsid();
        // Out of the creator's session and group now: report, then close everything.
        libc::write(ready, [1u8].as_ptr().cast(), 1);
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        let fd = if read == 3 { 3 } else { libc::dup2(read, 3) };
        if fd != 3 {
            libc::_exit(1);
        }
        for target in 0..3 {
            if devnull >= 0 {
                libc::dup2(devnull, target);
            }
        }
        // Close everything else: inherited pipe and socket ends would otherwise keep
        // other processes from seeing end-of-file.
        if libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) != 0 {
            for other in 4..65536 {
                libc::close(other);
            }
        }
        unmap_shared();
        let read = OwnedFd::from_raw_fd(3);
        serve(&read);
        libc::_exit(0);
    }
}

/// Unmaps every shared mapping the janitor inherited from the process that started it.
///
/// A janitor started by a process that already maps segments (a child that attached its
/// parent's segment, then created one of its own) would otherwise keep those mappings
/// (and with them the shared `flock` of their open file descriptions) for its whole life:
/// it would wait for itself to let go of a segment it was told to unlink, and keep every
/// other janitor from unlinking it too. The janitor needs no shared memory at all.
fn unmap_shared() {
    let Ok(maps) = std::fs::read("/proc/self/maps") else {
        return;
    };
    let mut ranges = Vec::new();
    for line in maps.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        if perms.get(3) != Some(&b's') {
            continue;
        }
        let Some(dash) = range.iter().position(|&b| b == b'-') else {
            continue;
        };
        let parse = |hex: &[u8]| {
            std::str::from_utf8(hex)
                .ok()
                .and_then(|h| usize::from_str_radix(h, 16).ok())
        };
        if let (Some(start), Some(end)) = (parse(&range[..dash]), parse(&range[dash + 1..])) {
            ranges.push((start, end - start));
        }
    }
    for (start, len) in ranges {
        // SAFETY: a shared mapping inherited from the creator; nothing in the janitor
        // (which runs only `serve`, on private memory) refers to it.
        unsafe { libc::munmap(start as *mut libc::c_void, len) };
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
            let mut pfd = libc::pollfd {
                fd: read.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let timeout = if orphans.is_empty() { -1 } else { 100 };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pfd, 1, timeout) };
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
/// Used by the janitor and by `SharedMemory`'s `drop`; raw `libc` calls only, so that it
/// is as safe in the janitor (a fork child) as anywhere.
pub(crate) fn unlink_if_unmapped(name: &[u8]) -> bool {
    let Ok(cname) = CString::new(name) else {
        return true;
    };
    // SAFETY: plain syscalls on a descriptor opened here.
    unsafe {
        let fd = libc::shm_open(cname.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0);
        if fd < 0 {
            return true; // already gone
        }
        let op = libc::LOCK_EX | libc::LOCK_NB;
        let locked = loop {
            if libc::flock(fd, op) == 0 {
                break true;
            }
            if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break false;
            }
        };
        if locked {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) == 0 && st.st_nlink > 0 {
                libc::shm_unlink(cname.as_ptr());
            }
        }
        libc::close(fd);
        locked
    }
}
