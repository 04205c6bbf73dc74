//! Descriptors over a Unix socket (`SCM_RIGHTS`): how handles reach a spawned child
//! or a forkserver child.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The most descriptors one message may carry (Linux's `SCM_MAX_FD`).
pub(crate) const MAX_FDS: usize = 253;
/// Room for a control message carrying [`MAX_FDS`] descriptors, in 8-byte words
/// (`CMSG_SPACE(253 * 4)` is 1032 bytes on 64-bit Linux).
const CONTROL_WORDS: usize = (MAX_FDS * size_of::<RawFd>()).div_ceil(8) + 4;

/// Sends `data` with `fds` attached to its first byte (`MSG_NOSIGNAL`). The whole of
/// `data` is written (short writes are continued without descriptors).
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, data: &[u8], fds: &[RawFd]) -> io::Result<()> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "too many handles for one child: {} (at most {MAX_FDS})",
                fds.len()
            ),
        ));
    }
    assert!(
        !data.is_empty(),
        "descriptors must ride on at least one byte"
    );
    let payload_len = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(payload_len) } as usize;
    // u64 storage keeps the control buffer aligned for cmsghdr; on the stack, as in
    // `recv_with_fds` (at most `MAX_FDS` descriptors, checked above).
    let mut control = [0u64; CONTROL_WORDS];
    debug_assert!(space <= size_of_val(&control));
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: msg_control points at `space` writable, aligned bytes, enough for one
        // header with `payload_len` bytes of data, so CMSG_FIRSTHDR is non-null and
        // CMSG_DATA has room for all descriptors.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            debug_assert!(!cmsg.is_null());
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(payload_len) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                payload_len as usize,
            );
        }
    }
    let n = loop {
        // SAFETY: every pointer in `msg` is valid for the call.
        let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    if n < data.len() {
        super::send_all(sock, &data[n..])?;
    }
    Ok(())
}

/// Receives up to `buf.len()` bytes and any descriptors attached to them (taken with
/// `MSG_CMSG_CLOEXEC`). `Ok((0, _))` is end of stream.
pub(crate) fn recv_with_fds(
    sock: BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Vec<OwnedFd>)> {
    // On the stack: no allocation per message (the forkserver and its children call
    // this, and every heap page a forked process writes is a copy-on-write fault).
    let mut control = [0u64; CONTROL_WORDS];
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE((MAX_FDS * size_of::<RawFd>()) as u32) } as usize;
    debug_assert!(space <= size_of_val(&control));
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    let n = loop {
        // SAFETY: every pointer in `msg` is valid for writes for the call.
        let r = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut fds = Vec::new();
    // SAFETY: the kernel filled `msg.msg_control` with `msg_controllen` bytes of
    // well-formed control messages; the CMSG_* walkers stay inside that range, and each
    // SCM_RIGHTS payload is an array of descriptors that are now ours.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg);
                let len = (*cmsg).cmsg_len as usize - (data as usize - cmsg as usize);
                let count = len / size_of::<RawFd>();
                for i in 0..count {
                    let fd = std::ptr::read_unaligned(data.cast::<RawFd>().add(i));
                    fds.push(OwnedFd::from_raw_fd(fd));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "message larger than the receive buffer (truncated)",
        ));
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "descriptors were lost in transit (control message truncated)",
        ));
    }
    Ok((n, fds))
}
