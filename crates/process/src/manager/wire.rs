//! Frames on a manager socket, read and written without a [`Connection`]: the server
//! reads many non-blocking sockets from one thread, and a proxy's session spins on
//! its socket before it blocks, so both handle the bytes themselves.
//!
//! The format is [`Connection`]'s (an 8-byte header — `b"SK"`, version `1`, a zero
//! byte, the payload length as a little-endian `u32` — then the payload), so the
//! handshake still runs over a `Connection` and the two meet on the same socket. The
//! reader trusts nothing: a bad header or a length above the limit is an error before
//! anything is allocated, and the buffer grows only as bytes arrive.
//!
//! [`Connection`]: crate::Connection

use std::io;
use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::net::{RecvFlags, SendFlags};
use serde::Serialize;

use crate::error::RecvError;

pub(crate) const HEADER: usize = 8;
const MAGIC: [u8; 3] = [b'S', b'K', 1];
/// How much room a read asks for at least.
const READ_ROOM: usize = 16 * 1024;
/// How far the buffer grows ahead of a large frame's bytes.
const READ_CHUNK: usize = 1 << 20;

/// Appends `value` as one frame to `out`. On error `out` is left as it was.
pub(crate) fn push_frame<T: Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    max: usize,
) -> Result<(), PushError> {
    let start = out.len();
    out.extend_from_slice(&[MAGIC[0], MAGIC[1], MAGIC[2], 0, 0, 0, 0, 0]);
    if let Err(e) = postcard::to_io(value, &mut *out) {
        out.truncate(start);
        return Err(PushError::Encode(e.to_string()));
    }
    let len = out.len() - start - HEADER;
    if len > max || u32::try_from(len).is_err() {
        out.truncate(start);
        return Err(PushError::TooLarge { len, max });
    }
    out[start + 4..start + HEADER].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Appends `bytes` as one raw frame to `out` (a handshake message: short).
pub(crate) fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&[MAGIC[0], MAGIC[1], MAGIC[2], 0]);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Why a frame could not be appended.
#[derive(Debug)]
pub(crate) enum PushError {
    Encode(String),
    TooLarge { len: usize, max: usize },
}

/// Bytes read from a socket, cut into frames.
#[derive(Default)]
pub(crate) struct Frames {
    buf: Vec<u8>,
    /// `buf[pos..]` is not consumed yet.
    pos: usize,
}

/// What one read brought.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// This many bytes.
    Bytes(usize),
    /// Nothing yet (non-blocking read).
    WouldBlock,
    /// End-of-stream.
    Eof,
}

impl Frames {
    /// The next whole frame's payload (a range for [`bytes`](Frames::bytes)), if it is
    /// all here; a bad header or a length above `max` is an error.
    pub(crate) fn next(&mut self, max: usize) -> Result<Option<Range<usize>>, RecvError> {
        let Some(len) = self.announced(max)? else {
            return Ok(None);
        };
        let start = self.pos + HEADER;
        if self.buf.len() - start < len {
            return Ok(None);
        }
        self.pos = start + len;
        Ok(Some(start..start + len))
    }

    pub(crate) fn bytes(&self, r: Range<usize>) -> &[u8] {
        &self.buf[r]
    }

    /// The length the buffered header announces, checked.
    fn announced(&self, max: usize) -> Result<Option<usize>, RecvError> {
        let rest = &self.buf[self.pos..];
        if rest.len() < HEADER {
            return Ok(None);
        }
        if rest[..3] != MAGIC || rest[3] != 0 {
            return Err(RecvError::Corrupt(format!(
                "bad frame header {:02x?}",
                &rest[..HEADER]
            )));
        }
        let len = u32::from_le_bytes(rest[4..HEADER].try_into().expect("4 bytes")) as usize;
        if len > max {
            return Err(RecvError::TooLarge { len, max });
        }
        Ok(Some(len))
    }

    /// Whether unconsumed bytes (part of a frame) are held.
    pub(crate) fn partial(&self) -> bool {
        self.pos < self.buf.len()
    }

    /// The error for end-of-stream now: `Disconnected` between frames, `Truncated`
    /// inside one.
    pub(crate) fn ended(&self) -> RecvError {
        let rest = self.buf.len() - self.pos;
        if rest == 0 {
            return RecvError::Disconnected;
        }
        let expected = match self.announced(usize::MAX) {
            Ok(Some(len)) => len,
            _ => HEADER,
        };
        RecvError::Truncated {
            expected,
            got: rest.saturating_sub(HEADER),
        }
    }

    /// Reads what the socket holds (at most up to the end of a large frame plus one
    /// chunk). `flags` decides whether it may block.
    pub(crate) fn read(
        &mut self,
        fd: BorrowedFd<'_>,
        max: usize,
        flags: RecvFlags,
    ) -> io::Result<Read> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.buf.capacity() - self.buf.len() < READ_ROOM {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Room for the rest of the current frame (never more than a chunk ahead of
        // what arrived), and at least READ_ROOM.
        let need = match self.announced(max) {
            Ok(Some(len)) => (self.pos + HEADER + len).saturating_sub(self.buf.len()),
            _ => 0,
        };
        let room = need.clamp(READ_ROOM, READ_CHUNK);
        if self.buf.capacity() - self.buf.len() < room {
            self.buf.reserve(room);
        }
        loop {
            match rustix::net::recv(fd, spare_capacity(&mut self.buf), flags) {
                Ok((0, _)) => return Ok(Read::Eof),
                Ok((n, _)) => return Ok(Read::Bytes(n)),
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::AGAIN) => return Ok(Read::WouldBlock),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Writes as much of `buf` as the socket takes now without blocking; returns how much.
pub(crate) fn write_some(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match rustix::net::send(fd, &buf[done..], SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
            Ok(n) => done += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

/// Writes all of `buf`, blocking as needed (the socket is a blocking one).
pub(crate) fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::net::send(fd, buf, SendFlags::NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Whether an I/O error means the peer is gone.
pub(crate) fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::NotConnected
    )
}

/// Busy-waits for `ready` to give something, for at most `budget`, yielding the CPU
/// between tries (so a peer on the same CPU still runs).
///
/// Why: on a virtual machine a blocked thread's CPU halts, and waking it costs tens of
/// microseconds — more than the whole round trip to a manager that is awake. Both
/// sides therefore keep trying for a short while after each message before they
/// block; the budget bounds what an idle peer costs.
pub(crate) fn spin<T>(budget: Duration, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = ready() {
            return Some(v);
        }
        if start.elapsed() >= budget {
            return None;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn frames_round_trip_and_bad_headers_are_refused() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut out = Vec::new();
        push_frame(&mut out, &(1u32, "one"), 1024).unwrap();
        push_frame(&mut out, &(2u32, "two"), 1024).unwrap();
        assert!(matches!(
            push_frame(&mut out, &vec![0u8; 100], 10),
            Err(PushError::TooLarge { .. })
        ));
        write_all(a.as_fd(), &out[..5]).unwrap();
        let mut f = Frames::default();
        assert_eq!(
            f.read(b.as_fd(), 1024, RecvFlags::DONTWAIT).unwrap(),
            Read::Bytes(5)
        );
        assert_eq!(f.next(1024).unwrap(), None);
        assert!(matches!(f.ended(), RecvError::Truncated { .. }));
        write_all(a.as_fd(), &out[5..]).unwrap();
        f.read(b.as_fd(), 1024, RecvFlags::empty()).unwrap();
        let r = f.next(1024).unwrap().unwrap();
        let v: (u32, String) = postcard::from_bytes(f.bytes(r)).unwrap();
        assert_eq!(v, (2 - 1, "one".into()));
        let r = f.next(1024).unwrap().unwrap();
        let v: (u32, String) = postcard::from_bytes(f.bytes(r)).unwrap();
        assert_eq!(v, (2, "two".into()));
        assert!(!f.partial());
        assert_eq!(
            f.read(b.as_fd(), 1024, RecvFlags::DONTWAIT).unwrap(),
            Read::WouldBlock
        );
        // Too large, then corrupt.
        write_all(a.as_fd(), &[b'S', b'K', 1, 0, 0xff, 0xff, 0, 0]).unwrap();
        f.read(b.as_fd(), 1024, RecvFlags::empty()).unwrap();
        assert!(matches!(f.next(1024), Err(RecvError::TooLarge { .. })));
        let mut g = Frames::default();
        write_all(a.as_fd(), b"XXXXXXXX").unwrap();
        g.read(b.as_fd(), 1024, RecvFlags::empty()).unwrap();
        assert!(matches!(g.next(1024), Err(RecvError::Corrupt(_))));
        drop(a);
        let mut h = Frames::default();
        assert_eq!(
            h.read(b.as_fd(), 1024, RecvFlags::empty()).unwrap(),
            Read::Eof
        );
        assert!(matches!(h.ended(), RecvError::Disconnected));
    }
}
