//! The raw layer: every `unsafe` call of the crate lives under `sys/`.
//!
//! Each function here wraps one or a few system calls with a safe signature and checks
//! its result; the rest of the crate never calls `libc` directly. The contract of the
//! one `unsafe fn` ([`fork`]) is written on it.

pub(crate) mod entry;
pub(crate) mod exec;
pub(crate) mod image;
pub(crate) mod remote;
pub(crate) mod scm;
pub(crate) mod shm;

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A process id, as the kernel gives it.
pub(crate) type Pid = i32;

/// Retries `f` while it fails with `EINTR`; turns `-1` into the `errno` error.
fn cvt_retry<T: PartialEq + From<i8> + Copy>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let r = f();
        if r != T::from(-1) {
            return Ok(r);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `getpid()`.
pub(crate) fn getpid() -> Pid {
    // SAFETY: getpid has no preconditions and cannot fail.
    unsafe { libc::getpid() }
}

/// `getppid()`.
pub(crate) fn getppid() -> Pid {
    // SAFETY: getppid has no preconditions and cannot fail.
    unsafe { libc::getppid() }
}

/// What `fork` returned in this copy of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForkOutcome {
    /// We are the parent; the child has this pid.
    Parent(Pid),
    /// We are the child.
    Child,
}

/// `fork()`.
///
/// # Safety
///
/// After a fork in a process that runs other threads, the child holds only the calling
/// thread: locks held by the vanished threads stay locked forever, and data they were
/// changing is left half-changed. The caller must make sure that the child touches no
/// such state (in practice: the process is single-threaded, or the child restricts
/// itself to state the calling thread owns, and accepts the deadlock risk the crate
/// warns about).
pub(crate) unsafe fn fork() -> io::Result<ForkOutcome> {
    // SAFETY: the caller upholds the contract above; fork itself has no preconditions.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(ForkOutcome::Child),
        pid => Ok(ForkOutcome::Parent(pid)),
    }
}

/// `fork()` in a process where no other thread runs: the child then holds every lock
/// and datum the parent had, so the hazard of [`fork`] cannot arise. Refuses
/// (`WouldBlock`) when another thread may run. (Only this thread could start one
/// between the check and the fork.) For the forkserver, which is single-threaded.
pub(crate) fn fork_single_threaded() -> io::Result<ForkOutcome> {
    if !certainly_single_threaded() && thread_count() != Some(1) {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "refusing to fork: other threads run in this process",
        ));
    }
    // SAFETY: no other thread exists (checked above), so no lock or datum of a
    // vanished thread can be left behind in the child.
    unsafe { fork() }
}

/// What a single-threaded process needs to fork a child *for its own parent*
/// ([`fork_for_parent`]), read once: where the C library keeps this thread's id, and
/// this thread's robust-futex list.
///
/// glibc's `fork` has the kernel store the child's thread id in the thread's control
/// block (`CLONE_CHILD_SETTID` with the address glibc gave `set_tid_address` at
/// startup, which `PR_GET_TID_ADDRESS` reads back), and registers the robust-futex list
/// again in the child (the kernel clears it on fork); a raw `clone3` has to do both
/// itself, or the child would carry its parent's thread id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParentFork {
    tid_address: u64,
    robust_head: usize,
    robust_len: usize,
}

impl ParentFork {
    /// `None` where it cannot be done: a kernel without `PR_GET_TID_ADDRESS` (built
    /// without `CONFIG_CHECKPOINT_RESTORE`) or without robust-list calls.
    pub(crate) fn probe() -> Option<ParentFork> {
        let mut tid_address: *mut libc::c_int = std::ptr::null_mut();
        // SAFETY: PR_GET_TID_ADDRESS writes one pointer to the address it is given,
        // which points at a live, writable pointer-sized local.
        let r = unsafe {
            libc::prctl(
                libc::PR_GET_TID_ADDRESS,
                (&raw mut tid_address) as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        if r != 0 || tid_address.is_null() {
            return None;
        }
        let mut head: *mut libc::c_void = std::ptr::null_mut();
        let mut len: libc::size_t = 0;
        // SAFETY: get_robust_list(0, ..) writes this thread's list head pointer and
        // its length to the two live locals it is given.
        let r = unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &raw mut head, &raw mut len) };
        if r != 0 || head.is_null() {
            return None;
        }
        Some(ParentFork {
            tid_address: tid_address as u64,
            robust_head: head as usize,
            robust_len: len,
        })
    }
}

/// `fork()` in a process where no other thread runs, whose child is a child of *this
/// process's parent* (`clone3` with `CLONE_PARENT`): the parent gets its `SIGCHLD`
/// and reaps it with `waitpid`, as if it had forked it itself. For the forkserver,
/// which forks on behalf of the process that started it.
///
/// It bypasses glibc's `fork`, so neither `pthread_atfork` handlers nor glibc's own
/// child-side bookkeeping run: the caller must not use it once anything registered an
/// `atfork` handler (the rest of that bookkeeping — its locks and thread list — is
/// about other threads, which do not exist here). The thread id and the robust-futex
/// list are set up as glibc's `fork` does (see [`ParentFork`]). Refuses (`WouldBlock`)
/// when another thread may run.
pub(crate) fn fork_for_parent(how: &ParentFork) -> io::Result<ForkOutcome> {
    if !certainly_single_threaded() && thread_count() != Some(1) {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "refusing to fork: other threads run in this process",
        ));
    }
    // `struct clone_args` as of Linux 5.3 (CLONE_ARGS_SIZE_VER0), spelled out here:
    // the libc crate defines it for a few targets only.
    #[repr(C, align(8))]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
    }
    let args = CloneArgs {
        flags: (libc::CLONE_PARENT | libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as u64,
        pidfd: 0,
        child_tid: how.tid_address,
        parent_tid: 0,
        // Must be 0 with CLONE_PARENT: the child's exit signal is then this process's
        // own (SIGCHLD for a process started by `Command`), sent to our parent.
        exit_signal: 0,
        // A zero stack: the child runs on a copy of this one, as after `fork`.
        stack: 0,
        stack_size: 0,
        tls: 0,
    };
    // SAFETY: no other thread exists (checked above), so no lock or datum of a
    // vanished thread can be left behind in the child; the child gets a copy of this
    // address space (no CLONE_VM) and of this stack, so returning through the
    // `syscall` wrapper is as after `fork`. `child_tid` is this thread's own id slot
    // in its control block (PR_GET_TID_ADDRESS), which glibc's `fork` has the kernel
    // fill in the same way.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &raw const args, size_of::<CloneArgs>()) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: the head and length are this very thread's robust list, as
            // get_robust_list reported it in the parent (the child's copy of the list
            // lives at the same address); the kernel cleared the registration in the
            // child, and glibc's fork registers it again in the same way.
            unsafe { libc::syscall(libc::SYS_set_robust_list, how.robust_head, how.robust_len) };
            Ok(ForkOutcome::Child)
        }
        pid => Ok(ForkOutcome::Parent(pid as Pid)),
    }
}

/// `fork()` whose child runs `in_child` and never returns into the caller's frames;
/// the parent gets `state` back with the child's pid (or the error).
///
/// Safe where [`fork`] is not because of what remains of its hazard: the child never
/// returns, and state that another thread held at the moment of the fork is behind
/// that thread's locks, which stay locked in the child — a deadlock if the child
/// touches it, never a data race (the vanished thread runs no more). The `Fork` start
/// method takes every lock of the crate's own state across the call, so that the
/// child resets it without waiting; other code's locks are the documented hazard of
/// the `Fork` method, announced by a warning as CPython does.
#[inline(always)]
pub(crate) fn fork_child_never_returns<T>(
    state: T,
    in_child: impl FnOnce(T) -> Never,
) -> Result<(Pid, T), (io::Error, T)> {
    // SAFETY: see above: the child runs `in_child`, which cannot return, so no frame
    // of the caller runs in the child; what the child may touch of other threads'
    // state is guarded by their locks (a deadlock, the documented Fork hazard).
    match unsafe { fork() } {
        // `in_child` returns `Never`: the match on it has no arm, which is the proof.
        #[allow(unreachable_code)]
        Ok(ForkOutcome::Child) => match in_child(state) {},
        Ok(ForkOutcome::Parent(pid)) => Ok((pid, state)),
        Err(e) => Err((e, state)),
    }
}

/// The type of a function that never returns (`!` on stable Rust).
pub(crate) enum Never {}

/// Moves the value out of `b` and leaks its allocation instead of freeing it (a
/// forked child about to `_exit` saves the copy-on-write faults a `free` costs).
pub(crate) fn unbox_leaking<T>(b: Box<T>) -> T {
    let ptr = Box::into_raw(b);
    // SAFETY: `ptr` comes from a live `Box<T>`: valid, aligned and initialised. The
    // value is read once and the allocation is never used (nor freed) again, so the
    // value has exactly one owner.
    unsafe { ptr.read() }
}

/// Closes the descriptor of every item in `items` without dropping (or freeing) the
/// items or the collection they came in (a forked child saves the copy-on-write faults
/// that freeing costs, and the code pages of the destructors). For a vector of records
/// that own a descriptor, or a map's `into_values()`.
pub(crate) fn close_and_forget<T: AsFd>(items: impl IntoIterator<Item = T>) {
    let mut iter = items.into_iter();
    for item in &mut iter {
        // SAFETY: `item` is forgotten right after, so its owner never closes (or uses)
        // this descriptor again: it is closed exactly once, here.
        unsafe { libc::close(item.as_fd().as_raw_fd()) };
        std::mem::forget(item);
    }
    // Holds the collection's allocation: never freed.
    std::mem::forget(iter);
}

/// `_exit(code)`: ends the process now, without running `atexit` handlers or
/// destructors (the copy of the parent's state a forked child holds must not run them).
// Inlined: a forked child's last code page would otherwise be this function's own.
#[inline(always)]
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and never returns.
    unsafe { libc::_exit(code) }
}

/// Turns a `waitpid` status into Python's `exitcode`: the exit code, or minus the
/// number of the signal that killed the process.
pub(crate) fn decode_status(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        -libc::WTERMSIG(status)
    } else {
        // Stopped/continued are not asked for (no WUNTRACED); keep a clear value.
        -255
    }
}

/// `waitpid(pid, WNOHANG?)`: `Ok(Some(exitcode))` once reaped, `Ok(None)` while the
/// child runs (only with `nohang`).
pub(crate) fn waitpid(pid: Pid, nohang: bool) -> io::Result<Option<i32>> {
    let mut status: libc::c_int = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    // SAFETY: `status` is a valid out-pointer for the duration of the call.
    let r = cvt_retry(|| unsafe { libc::waitpid(pid, &mut status, flags) })?;
    if r == 0 {
        Ok(None)
    } else {
        Ok(Some(decode_status(status)))
    }
}

/// Blocks until child `pid` has ended, without reaping it
/// (`waitid(P_PID, pid, WEXITED | WNOWAIT)`): the caller then reaps it where it
/// chooses (under its record's lock), so that a signal sent under that lock never
/// reaches a recycled pid. The kernel pins the child's `struct pid` for the duration
/// of the call, so a pid reused meanwhile is not waited for.
pub(crate) fn wait_ended_nowait(pid: Pid) -> io::Result<()> {
    // SAFETY: an all-zero siginfo is a valid out-buffer.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid out-pointer for the duration of the call.
    cvt_retry(|| unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    })
    .map(drop)
}

/// `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)`: a child that has ended, with its
/// exit code, *left unreaped* (reap it with [`waitpid`]); `None` if none has.
pub(crate) fn peek_any_ended() -> io::Result<Option<(Pid, i32)>> {
    // SAFETY: an all-zero siginfo is a valid out-buffer (and reads as "no child").
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: `info` is a valid out-pointer for the duration of the call.
    cvt_retry(|| unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    })?;
    // SAFETY: waitid filled in a SIGCHLD siginfo (or left it zeroed: pid 0), whose
    // pid and status fields these accessors read.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    let code = match info.si_code {
        libc::CLD_EXITED => status,
        libc::CLD_KILLED | libc::CLD_DUMPED => -status,
        _ => -255,
    };
    Ok(Some((pid, code)))
}

/// `kill(pid, sig)`.
pub(crate) fn kill(pid: Pid, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory preconditions.
    cvt_retry(|| unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `pidfd_open(pid, 0)` (Linux 5.3+): a descriptor that refers to exactly this
/// process, readable once it has exited, and immune to pid reuse.
pub(crate) fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    // SAFETY: the syscall takes two integers and returns a new descriptor or -1.
    let fd = cvt_retry(|| unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel just returned this descriptor to us; nobody else owns it.
    // (pidfds are always close-on-exec.)
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)` (Linux 5.1+).
pub(crate) fn pidfd_send_signal(fd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: a null siginfo pointer is allowed (the kernel fills in a default one).
    cvt_retry(|| unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            raw,
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    })
    .map(drop)
}

/// Kinds of socket pair.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SockKind {
    /// A byte stream (`SOCK_STREAM`).
    Stream,
    /// Ordered, reliable messages that keep their boundaries (`SOCK_SEQPACKET`).
    SeqPacket,
}

/// `socketpair(AF_UNIX, kind | SOCK_CLOEXEC)`. Anonymous: no name on any filesystem
/// or in the abstract namespace, so nobody else can connect to it.
pub(crate) fn socketpair(kind: SockKind) -> io::Result<(OwnedFd, OwnedFd)> {
    let ty = match kind {
        SockKind::Stream => libc::SOCK_STREAM,
        SockKind::SeqPacket => libc::SOCK_SEQPACKET,
    };
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is a valid out-array of two descriptors.
    cvt_retry(|| unsafe {
        libc::socketpair(libc::AF_UNIX, ty | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    })?;
    // SAFETY: socketpair succeeded, so both descriptors are new and ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `shutdown(fd, how)`; `how` is `libc::SHUT_RD` or `libc::SHUT_WR`.
pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: i32) -> io::Result<()> {
    // SAFETY: shutdown on an integer descriptor has no memory preconditions.
    cvt_retry(|| unsafe { libc::shutdown(fd.as_raw_fd(), how) }).map(drop)
}

/// `dup(fd)` with `FD_CLOEXEC`.
pub(crate) fn dup(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// Polls one descriptor for `events` (`POLLIN`/`POLLOUT`); `None` waits forever.
/// Returns whether it is ready (hang-up and errors count as ready: the next
/// read or write reports them).
pub(crate) fn poll_one(
    fd: BorrowedFd<'_>,
    events: i16,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => timeout_ms(d.saturating_duration_since(Instant::now())),
        };
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        // SAFETY: `pfd` is one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(r > 0);
    }
}

/// Polls several descriptors for `POLLIN`, forever; returns which are ready. (No
/// allocation: the forkserver calls this once per event, and every heap page it
/// writes after a fork is a copy-on-write fault.)
pub(crate) fn poll_in<const N: usize>(fds: [RawFd; N]) -> io::Result<[bool; N]> {
    let mut pfds = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: `pfds` is a valid array of `N` pollfds for the call.
    cvt_retry(|| unsafe { libc::poll(pfds.as_mut_ptr(), N as libc::nfds_t, -1) })?;
    Ok(pfds.map(|p| p.revents != 0))
}

/// Milliseconds for `poll`, rounded up so that a short wait is not a busy loop.
fn timeout_ms(d: Duration) -> i32 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128) as i32
}

/// `recv(fd, buf, MSG_DONTWAIT)`: `Ok(None)` when nothing is there yet, `Ok(Some(0))`
/// at end of stream.
pub(crate) fn recv_nowait(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is valid for writes of its length for the duration of the call.
    match cvt_retry(|| unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    }) {
        Ok(n) => Ok(Some(n as usize)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// `recv(fd, buf, 0)`, retrying on `EINTR`. `Ok(0)` is end of stream.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    let n =
        cvt_retry(|| unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })?;
    Ok(n as usize)
}

/// `recv` into the spare capacity of `buf` (up to `max` bytes), growing its length by
/// what arrived. Never zero-fills and never reserves more than `max`.
pub(crate) fn recv_spare(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let spare: &mut [MaybeUninit<u8>] = buf.spare_capacity_mut();
    let want = spare.len().min(max);
    // SAFETY: `spare` is valid for writes of `want` bytes; recv writes only initialised
    // bytes into it and reports how many.
    let n = cvt_retry(|| unsafe { libc::recv(fd.as_raw_fd(), spare.as_mut_ptr().cast(), want, 0) })?
        as usize;
    debug_assert!(n <= want);
    // SAFETY: recv initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// One `recvmsg` into `header` and then the spare capacity of `payload` (up to
/// `max` bytes of it): a frame's header and payload in one call when both are there.
/// Grows `payload`'s length by what landed in it; returns the total received.
pub(crate) fn recv_header_and_spare(
    fd: BorrowedFd<'_>,
    header: &mut [u8],
    payload: &mut Vec<u8>,
    max: usize,
) -> io::Result<usize> {
    let spare: &mut [MaybeUninit<u8>] = payload.spare_capacity_mut();
    let want = spare.len().min(max);
    let mut iov = [
        libc::iovec {
            iov_base: header.as_mut_ptr().cast(),
            iov_len: header.len(),
        },
        libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: want,
        },
    ];
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = 2;
    // SAFETY: both iovecs are valid for writes of their lengths during the call; the
    // kernel writes only initialised bytes and reports how many.
    let n = cvt_retry(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) })? as usize;
    let in_payload = n.saturating_sub(header.len());
    debug_assert!(in_payload <= want);
    // SAFETY: recvmsg initialised the first `in_payload` bytes of the spare capacity.
    unsafe { payload.set_len(payload.len() + in_payload) };
    Ok(n)
}

/// `sendmsg` of several slices with `MSG_NOSIGNAL` (a closed peer is `EPIPE`, never a
/// `SIGPIPE`), retrying on `EINTR`. Returns the bytes written (maybe short).
fn send_vectored(fd: BorrowedFd<'_>, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    // SAFETY: IoSlice is ABI-compatible with iovec on Unix; every slice is valid for
    // reads of its length during the call.
    let n = cvt_retry(|| unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) })?;
    Ok(n as usize)
}

/// One `send` of `buf` (`MSG_NOSIGNAL`), retrying on `EINTR`; returns how much the
/// socket took (a small frame is taken whole).
#[inline]
pub(crate) fn send_once(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of its length during the call.
    let n = cvt_retry(|| unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            libc::MSG_NOSIGNAL,
        )
    })?;
    Ok(n as usize)
}

/// Sends all of `buf` on a socket (`MSG_NOSIGNAL`), looping over short sends. One
/// contiguous buffer goes out with `send`, which spares the kernel the copy-in of a
/// message header and an iovec array that `sendmsg` costs (small `Pipe` frames).
pub(crate) fn send_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        buf = &buf[send_once(fd, buf)?..];
    }
    Ok(())
}

/// Sends all of `bufs` on a socket, one `sendmsg` for all of them unless a send comes
/// back short. No allocation: the slices are advanced in place (the forkserver replies
/// with this right after a fork, when every heap page it writes is a copy-on-write
/// fault, and a `Connection` sends every frame with it).
pub(crate) fn send_all_vectored(
    fd: BorrowedFd<'_>,
    mut bufs: &mut [io::IoSlice<'_>],
) -> io::Result<()> {
    // Drops leading empty slices (a message with an empty payload, say).
    io::IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let n = send_vectored(fd, bufs)?;
        io::IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}

/// `SO_SNDTIMEO`: a blocking send on `fd` gives up with `EAGAIN` (`WouldBlock`)
/// after `timeout` (rounded up to a microsecond; never zero, which would mean "no
/// timeout").
pub(crate) fn set_send_timeout(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<()> {
    let t = timeout.max(Duration::from_micros(1));
    let tv = libc::timeval {
        tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: `tv` is a valid timeval for the call, and its size is passed.
    cvt_retry(|| unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)`: the kernel sends `sig` to this process when the
/// thread that created it exits.
pub(crate) fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes plain integers.
    cvt_retry(|| unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) })
        .map(drop)
}

/// Ignores `SIGPIPE` (what Rust's runtime does before `main`; a child started before
/// `main` must do it itself).
pub(crate) fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN for SIGPIPE is always allowed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Ignores `SIGINT` (the forkserver: Ctrl-C goes to the whole process group, and the
/// server must outlive an owner that handles it, as Python's forkserver does); whether
/// it was ignored already.
///
/// It is also blocked: a child forked by the server would otherwise drop a `SIGINT`
/// sent to it before it gave the signal its default action back (an ignored signal is
/// discarded; a blocked one stays pending until the child unblocks it).
pub(crate) fn ignore_sigint() -> bool {
    // SAFETY: an all-zero sigset is the empty set; sigaddset writes into our local;
    // blocking SIGINT and installing SIG_IGN for it are always allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGINT, libc::SIG_IGN) == libc::SIG_IGN
    }
}

/// Gives `SIGINT` its default action back (a forkserver's child), unless it was
/// ignored before the server ignored it.
pub(crate) fn restore_sigint(was_ignored: bool) {
    if !was_ignored {
        // SAFETY: installing SIG_DFL for SIGINT is always allowed.
        unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
    }
}

/// Whether this process has certainly never started a second thread: glibc's
/// `__libc_single_threaded` (2.32+), looked up once with `dlsym` so that older C
/// libraries (and musl) still link; there the answer is always "not known" (`false`).
/// One byte read instead of [`thread_count`]'s `stat` on every `Fork` start.
pub(crate) fn certainly_single_threaded() -> bool {
    use std::sync::atomic::{AtomicPtr, Ordering};
    // Null: not looked up yet; `NOT_FOUND`: the C library has no such variable.
    static FLAG: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
    const NOT_FOUND: *mut libc::c_char = std::ptr::dangling_mut();
    let mut ptr = FLAG.load(Ordering::Relaxed);
    if ptr.is_null() {
        // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads.
        let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__libc_single_threaded".as_ptr()) };
        ptr = if found.is_null() {
            NOT_FOUND
        } else {
            found.cast()
        };
        FLAG.store(ptr, Ordering::Relaxed);
    }
    if ptr == NOT_FOUND {
        return false;
    }
    // SAFETY: `ptr` is the address of glibc's `char __libc_single_threaded`, which
    // lives as long as the process; glibc documents it as readable by applications.
    // glibc clears it before it creates a second thread, so `true` here means no
    // other thread exists (a volatile read: it can change under us only towards
    // `false`, from this very thread's `pthread_create`).
    unsafe { std::ptr::read_volatile(ptr) != 0 }
}

/// The number of threads of this process: procfs gives `/proc/self/task` one link
/// per thread plus two (one `stat` call); `/proc/self/stat` field 20 as a fallback.
pub(crate) fn thread_count() -> Option<usize> {
    // SAFETY: an all-zero stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the path is NUL-terminated and `st` is a valid out-pointer.
    if unsafe { libc::stat(c"/proc/self/task".as_ptr(), &mut st) } == 0 && st.st_nlink > 2 {
        return Some(st.st_nlink as usize - 2);
    }
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after its ')' are plain.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(17)?.parse().ok()
}

/// `sysconf(_SC_NPROCESSORS_ONLN)`.
pub(crate) fn cpu_count() -> usize {
    // SAFETY: sysconf has no memory preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n < 1 { 1 } else { n as usize }
}

/// Takes fd 0 (where a spawned child or the forkserver finds its bootstrap socket) as
/// a new close-on-exec descriptor, and puts `/dev/null` on fd 0 in its place.
pub(crate) fn take_stdin() -> io::Result<OwnedFd> {
    // SAFETY: fd 0 is open (it is our bootstrap socket); we only borrow it to dup it.
    let zero = unsafe { BorrowedFd::borrow_raw(0) };
    let ours = dup(zero)?;
    devnull_stdin()?;
    Ok(ours)
}

/// Closes every descriptor above 2, first thing in the forkserver: it starts with its
/// bootstrap socket (stdin), stdout and stderr only, as Python's (`close_fds=True`),
/// and whatever the owner had open without close-on-exec (a raw `dup`, a library's
/// descriptor) stays out of it and its children. (A `Spawn` child gets the same before
/// its `execve`, in `sys::exec`.)
pub(crate) fn close_inherited_fds() {
    // SAFETY: closes descriptors of this process, which owns none of them yet: this
    // runs at the start of `init`, before anything in the new image opened one.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            // A kernel before 5.9: close them one by one.
            let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(256, 1 << 16) as i32;
            for fd in 3..max {
                libc::close(fd);
            }
        }
    }
}

/// Puts `/dev/null` on fd 0 (Python gives children a closed stdin the same way).
pub(crate) fn devnull_stdin() -> io::Result<()> {
    let null = std::fs::File::open("/dev/null")?;
    // SAFETY: dup2 on two integer descriptors; fd 0 is replaced atomically.
    cvt_retry(|| unsafe { libc::dup2(null.as_raw_fd(), 0) }).map(drop)
}

/// Whether `fd` is a Unix socket.
pub(crate) fn is_socket(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: an all-zero stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the call.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    r == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
}

/// A blocked-`SIGCHLD` signalfd, for the forkserver's single-threaded event loop.
pub(crate) fn sigchld_fd() -> io::Result<OwnedFd> {
    // SAFETY: an all-zero sigset is valid storage; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid storage for the calls below.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
    }
    // SAFETY: `set` is initialised; the old mask is not asked for.
    let r = unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` is initialised; -1 asks for a new descriptor.
    let fd =
        cvt_retry(|| unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: signalfd returned a new descriptor that we alone own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads and discards what is pending on a non-blocking signalfd that watches only
/// `SIGCHLD`: a standard signal is pending at most once, so one read takes it.
pub(crate) fn drain(fd: BorrowedFd<'_>) {
    let mut buf = [0u8; 128];
    // SAFETY: `buf` is valid for writes of its length.
    unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
}

/// Unblocks every signal (a forkserver child must not inherit the server's mask).
pub(crate) fn unblock_all_signals() {
    // SAFETY: on Linux a sigset is a bit array, and all-zero is the empty set (what
    // sigemptyset writes; not calling it spares a forkserver child a code page fault).
    let set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid; SIG_SETMASK with an empty set unblocks everything.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
}

/// Removes an environment variable. Used only at startup of a child or forkserver,
/// before any other thread exists.
pub(crate) fn remove_env_single_threaded(key: &str) {
    // SAFETY: called from `init()`, which runs first in `main` (or before `main`), when
    // this process has exactly one thread, so no other thread reads the environment.
    unsafe { std::env::remove_var(key) };
}

/// `atexit(f)`: runs `f` when the process exits normally (returning from `main`,
/// `std::process::exit`). `f` must not unwind.
pub(crate) fn at_exit(f: extern "C" fn()) {
    // SAFETY: `f` is a plain function with the C signature atexit expects; an
    // `extern "C"` Rust function aborts instead of unwinding across the C caller.
    unsafe { libc::atexit(f) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_count_sees_a_new_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        // This test's thread and the new one, whatever other tests do meanwhile.
        assert!(thread_count().unwrap() >= 2);
        tx.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn a_process_that_started_a_thread_is_not_certainly_single_threaded() {
        std::thread::spawn(|| ()).join().unwrap();
        // Stays false after the thread ends, as glibc documents (and a second call
        // reads the cached address).
        assert!(!certainly_single_threaded());
        assert!(!certainly_single_threaded());
    }

    #[test]
    fn send_all_vectored_sends_every_slice_in_order() {
        let (a, b) = socketpair(SockKind::Stream).unwrap();
        let big = vec![7u8; 300 * 1024]; // more than a socket buffer holds at once
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 64 * 1024];
            loop {
                match recv(b.as_fd(), &mut buf).unwrap() {
                    0 => break got,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
        });
        let mut bufs = [
            io::IoSlice::new(b""),
            io::IoSlice::new(b"head"),
            io::IoSlice::new(b""),
            io::IoSlice::new(&big),
            io::IoSlice::new(b"tail"),
        ];
        send_all_vectored(a.as_fd(), &mut bufs).unwrap();
        send_all(a.as_fd(), b"!").unwrap();
        drop(a);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), 4 + big.len() + 4 + 1);
        assert_eq!(&got[..4], b"head");
        assert!(got[4..4 + big.len()].iter().all(|&x| x == 7));
        assert_eq!(&got[4 + big.len()..], b"tail!");
    }

    #[test]
    fn decode_status_follows_python() {
        assert_eq!(decode_status(3 << 8), 3);
        assert_eq!(decode_status(libc::SIGKILL), -9);
    }
}
