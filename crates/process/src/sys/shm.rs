//! Safe wrappers for the shared-memory layer (`shared/`, `shm/`): the fork handler of
//! the identity cache, and the process calls of the segment janitor.

/// `pthread_atfork(NULL, NULL, child)`: runs `child` in the child of every `fork`.
///
/// `child` runs in a process that may hold only the forking thread; it must do nothing
/// but async-signal-safe work (stores to atomics).
pub(crate) fn at_fork_child(child: extern "C" fn()) {
    // SAFETY: registers a plain `extern "C"` function (it cannot unwind into the C
    // caller); the contract above is the caller's.
    unsafe {
        libc::pthread_atfork(None, None, Some(child));
    }
}

/// Fills `buf` with random bytes from the kernel (`getrandom`, retried on `EINTR`).
pub(crate) fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: writes at most `rest.len()` bytes into `rest`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    Ok(())
}

/// Starts the segment janitor: a grandchild (so nobody has to reap it) in its own
/// session, with stdio on `/dev/null`, `read` as descriptor 3 and every other descriptor
/// closed, holding none of this process's shared mappings; it writes one byte on
/// `ready` once it has left our session and process group, then runs `serve(read)` and
/// exits. Returns once the intermediate child is reaped.
///
/// `serve` runs in the forked child of a process that may have other threads: it must
/// restrict itself to what stays usable there — system calls, and glibc's `malloc`
/// (made fork-safe by glibc's own fork handlers) — which the janitor's loop does.
pub(crate) fn spawn_janitor(
    read: std::os::fd::OwnedFd,
    ready: std::os::fd::OwnedFd,
    serve: fn(&std::os::fd::OwnedFd),
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: the child only calls async-signal-safe functions (fork, _exit) before the
    // grandchild runs `janitor_process`, whose contract is above; the intermediate child
    // exits at once so that the janitor is reparented and never becomes our zombie.
    let child = unsafe { libc::fork() };
    match child {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: as above.
            if unsafe { libc::fork() } == 0 {
                janitor_process(read.as_raw_fd(), ready.as_raw_fd(), serve);
            }
            crate::sys::exit_now(0)
        }
        pid => crate::sys::waitpid(pid, false).map(drop),
    }
}

/// The janitor's whole life in its own process. Never returns.
fn janitor_process(read: i32, ready: i32, serve: fn(&std::os::fd::OwnedFd)) -> ! {
    use std::os::fd::FromRawFd;
    // SAFETY: plain system calls on descriptors this process owns; it is the only
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
    }
    unmap_shared();
    // SAFETY: descriptor 3 is the pipe's read end, set up above and owned by nobody else.
    let read = unsafe { std::os::fd::OwnedFd::from_raw_fd(3) };
    serve(&read);
    crate::sys::exit_now(0)
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
        // process (which runs only its `serve` loop, on private memory) refers to it.
        unsafe { libc::munmap(start as *mut libc::c_void, len) };
    }
}
