//! `Pipe` and `Connection`: framed messages over a private socket pair.
//!
//! # Frames
//!
//! Every message is one frame: an 8-byte header — `b"SK"`, version `1`, a reserved
//! zero byte, the payload length as a little-endian `u32` — and the payload (raw bytes
//! for `send_bytes`, postcard for `send`). A small frame (payload ≤ 248 bytes) is built
//! on the stack and goes out with one plain `send`; a larger one with one `sendmsg` of
//! header and payload.
//!
//! Small frames are read many at a time into a receive buffer and handed out from it
//! without an allocation; while frames stream in, a receive that finds a whole small
//! frame there takes it after one header check, without the general state machine.
//!
//! The receiver trusts nothing: a header that is not a skein header is
//! [`RecvError::Corrupt`]; a length above the connection's maximum is
//! [`RecvError::TooLarge`] *before anything is allocated*; the payload buffer grows
//! only as bytes actually arrive (at most [`READ_CHUNK`] ahead), so a peer that
//! announces 4 GiB and sends 10 bytes costs 10 bytes plus one chunk; end-of-stream
//! inside a frame is [`RecvError::Truncated`]. After a corrupt or oversized header
//! the stream cannot be re-synchronised, so the connection refuses further receives
//! ([`RecvError::Closed`]).
//!
//! A receive that times out part-way through a frame keeps what arrived; the next
//! receive completes the frame, so timeouts never desynchronise the stream.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{RecvError, RecvTimeoutError, SendError};
use crate::handle;
use crate::sys::{self, SockKind};

/// The default largest frame a connection sends or accepts: 64 MiB.
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;
/// The most the receive buffer grows ahead of the bytes that actually arrived.
pub const READ_CHUNK: usize = 1 << 20;

const HEADER: usize = 8;
/// Payloads up to this size are framed on the stack and sent with one plain `send`.
const SMALL: usize = 248;
const MAGIC: [u8; 3] = [b'S', b'K', 1];
/// The first four bytes of every header (magic, version, reserved zero) as one
/// little-endian word: a header is `MAGIC_WORD | len << 32`.
const MAGIC_WORD: u32 = u32::from_le_bytes([MAGIC[0], MAGIC[1], MAGIC[2], 0]);

/// Python's `multiprocessing.Pipe(duplex)`: a connected pair of [`Connection`]s.
///
/// With `duplex = true` both ends send and receive. With `duplex = false` the first
/// end only receives and the second only sends, as in Python.
///
/// # Errors
///
/// The system's error if no socket pair can be made (descriptor limit).
///
/// # Examples
///
/// ```
/// let (a, b) = skein_process::pipe(true).unwrap();
/// a.send(&("ping", 1u32)).unwrap();
/// let (word, n): (String, u32) = b.recv().unwrap();
/// assert_eq!((word.as_str(), n), ("ping", 1));
/// ```
pub fn pipe(duplex: bool) -> io::Result<(Connection, Connection)> {
    let (x, y) = sys::socketpair(SockKind::Stream)?;
    if duplex {
        Ok((
            Connection::from_fd(x, true, true),
            Connection::from_fd(y, true, true),
        ))
    } else {
        sys::shutdown(x.as_fd(), libc::SHUT_WR)?;
        sys::shutdown(y.as_fd(), libc::SHUT_RD)?;
        Ok((
            Connection::from_fd(x, true, false),
            Connection::from_fd(y, false, true),
        ))
    }
}

/// The receive buffer: small frames are read many at a time into it, and received
/// from it without an allocation.
const RBUF: usize = 64 * 1024;
/// Frames at least this long are read straight into a payload vector (the caller's
/// reused one, for `recv_bytes_into`), not through the receive buffer.
const LARGE: usize = 8 * 1024;

#[derive(Default)]
struct ReadState {
    /// Bytes read from the socket; `buf[pos..]` is not received yet.
    buf: Vec<u8>,
    pos: usize,
    /// The current frame's length, once its header was taken.
    expect: Option<usize>,
    /// The payload of a large frame as it arrives (reused between frames).
    large: Vec<u8>,
    /// Whether the last frame was large: then the next read at a frame's start goes
    /// straight into `large` (header and payload in one `recvmsg`).
    last_large: bool,
    broken: bool,
}

impl ReadState {
    /// Whether bytes of an unfinished or a following frame are held here.
    fn partial(&self) -> bool {
        self.pos < self.buf.len() || self.expect.is_some()
    }

    fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next frame's payload range in `buf` when it is small, whole in the buffer
    /// and has a good header — the common case while small messages stream in, decided
    /// with one load and three comparisons. `None` leaves everything as it was for the
    /// general path (no whole frame here, a large frame, or a header to refuse).
    #[inline]
    fn take_small(&mut self, max_frame: usize) -> Option<std::ops::Range<usize>> {
        if self.expect.is_some() {
            return None;
        }
        let rest = &self.buf[self.pos..];
        let word = u64::from_le_bytes(*rest.first_chunk::<HEADER>()?);
        let len = (word >> 32) as usize;
        if word as u32 != MAGIC_WORD || len >= LARGE || len > max_frame {
            return None;
        }
        if rest.len() - HEADER < len {
            return None;
        }
        let start = self.pos + HEADER;
        self.pos = start + len;
        self.last_large = false;
        Some(start..self.pos)
    }

    /// After a frame: an emptied buffer restarts at its front.
    #[inline]
    fn reset_if_drained(&mut self) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }
}

/// A received frame's payload, lent to the receiving method.
enum Frame<'a> {
    /// In the receive buffer (a small frame).
    Buffered(&'a [u8]),
    /// In the large-frame vector (taken or swapped by the receiver).
    Large(&'a mut Vec<u8>),
}

impl Frame<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Frame::Buffered(b) => b,
            Frame::Large(v) => v,
        }
    }

    /// Replaces `out`'s contents with the payload, reusing `out`'s allocation (small
    /// frames) or swapping buffers (large ones: no copy).
    fn into_vec(self, out: &mut Vec<u8>) {
        match self {
            Frame::Buffered(b) => {
                out.clear();
                out.extend_from_slice(b);
            }
            Frame::Large(v) => {
                std::mem::swap(out, v);
                v.clear();
            }
        }
    }
}

/// One end of a [`pipe`] (Python's `multiprocessing.connection.Connection`).
///
/// Methods take `&self`: one thread may send while another receives. A `Connection`
/// is a handle: pass it in a child's arguments and it moves into the child under
/// every start method (the parent's copy closes when the child starts, so the other
/// end sees end-of-stream when the child ends).
pub struct Connection {
    fd: OwnedFd,
    readable: bool,
    writable: bool,
    max_frame: usize,
    read: Mutex<ReadState>,
    write_broken: Mutex<bool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::NotConnected
    )
}

/// A failed write: part of a frame may have been written, so the caller marks the
/// stream unusable; a gone peer is `Disconnected`.
fn write_failed(e: io::Error) -> SendError {
    if is_disconnect(&e) {
        SendError::Disconnected
    } else {
        SendError::Io(e)
    }
}

impl Connection {
    pub(crate) fn from_fd(fd: OwnedFd, readable: bool, writable: bool) -> Connection {
        Connection {
            fd,
            readable,
            writable,
            max_frame: DEFAULT_MAX_FRAME,
            read: Mutex::new(ReadState::default()),
            write_broken: Mutex::new(false),
        }
    }

    /// Whether this end can receive (Python's `readable`).
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// Whether this end can send (Python's `writable`).
    pub fn writable(&self) -> bool {
        self.writable
    }

    /// The largest frame this end sends or accepts.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Sets the largest frame this end sends or accepts (at most `u32::MAX`; the
    /// default is [`DEFAULT_MAX_FRAME`]). Set it on both ends.
    pub fn set_max_frame(&mut self, max: usize) {
        self.max_frame = max.min(u32::MAX as usize);
    }

    /// Another connection on the same socket (`dup`).
    ///
    /// # Errors
    ///
    /// The system's error (descriptor limit).
    pub fn try_clone(&self) -> io::Result<Connection> {
        let mut c = Connection::from_fd(sys::dup(self.fd.as_fd())?, self.readable, self.writable);
        c.max_frame = self.max_frame;
        Ok(c)
    }

    /// Closes this end (Python's `close()`); dropping it does the same.
    pub fn close(self) {}

    /// Sends `value`, serialised with postcard (Python's `send(obj)`).
    ///
    /// The value is serialised completely before anything is written, so a value that
    /// cannot be serialised fails here, in the caller, and nothing reaches the peer.
    ///
    /// # Errors
    ///
    /// [`SendError::Serialize`], [`SendError::TooLarge`], [`SendError::Disconnected`]
    /// when the other end is gone, [`SendError::NotWritable`] on the receiving end of a
    /// one-way pipe.
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendError> {
        self.check_writable()?;
        handle::clear_note();
        // A small value is framed on the stack (no allocation per message); a larger
        // one in a vector.
        let mut small = [0u8; HEADER + SMALL];
        match postcard::to_slice(value, &mut small[HEADER..]) {
            Ok(body) => {
                let len = body.len();
                self.write_stack_frame(&mut small, len)
            }
            Err(postcard::Error::SerializeBufferFull) => {
                let mut frame = postcard::to_extend(value, vec![0u8; HEADER])
                    .map_err(|e| SendError::Serialize(handle::describe(&e)))?;
                let len = frame.len() - HEADER;
                frame[..HEADER].copy_from_slice(&self.header(len)?);
                self.write_contiguous(&frame)
            }
            Err(e) => Err(SendError::Serialize(handle::describe(&e))),
        }
    }

    /// Sends raw bytes as one frame (Python's `send_bytes(buf)`).
    ///
    /// # Errors
    ///
    /// As [`send`](Connection::send), minus serialisation.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), SendError> {
        self.check_writable()?;
        if bytes.len() <= SMALL {
            // Header and payload contiguous on the stack: one plain `send`.
            let mut frame = [0u8; HEADER + SMALL];
            frame[HEADER..HEADER + bytes.len()].copy_from_slice(bytes);
            return self.write_stack_frame(&mut frame, bytes.len());
        }
        let header = self.header(bytes.len())?;
        self.write_frame(&mut [io::IoSlice::new(&header), io::IoSlice::new(bytes)])
    }

    /// Writes the header of a small frame whose `len` payload bytes follow it in
    /// `frame`, and sends the frame.
    #[inline]
    fn write_stack_frame(
        &self,
        frame: &mut [u8; HEADER + SMALL],
        len: usize,
    ) -> Result<(), SendError> {
        let (header, _) = frame.split_first_chunk_mut::<HEADER>().expect("a header");
        *header = self.header(len)?;
        self.write_contiguous(&frame[..HEADER + len])
    }

    /// Writes one whole frame that is one contiguous buffer: one `send`, which takes a
    /// small frame whole; anything else (a short send, an error) goes to
    /// [`finish_write`](Self::finish_write).
    #[inline]
    fn write_contiguous(&self, frame: &[u8]) -> Result<(), SendError> {
        let mut broken = lock(&self.write_broken);
        if *broken {
            return Err(SendError::Closed);
        }
        match sys::send_once(self.fd.as_fd(), frame) {
            Ok(n) if n == frame.len() => Ok(()),
            first => self.finish_write(&mut broken, frame, first),
        }
    }

    /// The rest of [`write_contiguous`](Self::write_contiguous) after a first `send`
    /// that did not take the whole frame.
    #[cold]
    #[inline(never)]
    fn finish_write(
        &self,
        broken: &mut bool,
        frame: &[u8],
        first: io::Result<usize>,
    ) -> Result<(), SendError> {
        let rest = first.and_then(|n| sys::send_all(self.fd.as_fd(), &frame[n..]));
        rest.map_err(|e| {
            *broken = true;
            write_failed(e)
        })
    }

    fn check_writable(&self) -> Result<(), SendError> {
        if self.writable {
            Ok(())
        } else {
            Err(SendError::NotWritable)
        }
    }

    #[inline]
    fn header(&self, len: usize) -> Result<[u8; HEADER], SendError> {
        if len > self.max_frame {
            return Err(SendError::TooLarge {
                len,
                max: self.max_frame,
            });
        }
        Ok((u64::from(MAGIC_WORD) | (len as u64) << 32).to_le_bytes())
    }

    fn write_frame(&self, parts: &mut [io::IoSlice<'_>]) -> Result<(), SendError> {
        self.write_with(|fd| sys::send_all_vectored(fd, parts))
    }

    fn write_with(
        &self,
        write: impl FnOnce(BorrowedFd<'_>) -> io::Result<()>,
    ) -> Result<(), SendError> {
        let mut broken = lock(&self.write_broken);
        if *broken {
            return Err(SendError::Closed);
        }
        write(self.fd.as_fd()).map_err(|e| {
            *broken = true;
            write_failed(e)
        })
    }

    /// Receives a value sent with [`send`](Connection::send) (Python's `recv()`),
    /// blocking until one arrives.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] when the other end is gone (Python's `EOFError`);
    /// [`RecvError::Truncated`], [`RecvError::Corrupt`], [`RecvError::TooLarge`] for a
    /// bad frame; [`RecvError::Deserialize`] when the frame is not a `T`.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, RecvError> {
        unbounded(self.read_frame(None, |f| decode(f.bytes())))?
    }

    /// Receives a value, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`], or the errors of [`recv`](Connection::recv).
    pub fn recv_timeout<T: DeserializeOwned>(
        &self,
        timeout: Duration,
    ) -> Result<T, RecvTimeoutError> {
        self.recv_deadline(Instant::now() + timeout)
    }

    /// Receives a value, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Connection::recv_timeout).
    pub fn recv_deadline<T: DeserializeOwned>(
        &self,
        deadline: Instant,
    ) -> Result<T, RecvTimeoutError> {
        Ok(self.read_frame(Some(deadline), |f| decode(f.bytes()))??)
    }

    /// Receives a value if one is ready now.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Connection::recv_timeout) (`Timeout` when nothing is ready).
    pub fn try_recv<T: DeserializeOwned>(&self) -> Result<T, RecvTimeoutError> {
        self.recv_deadline(Instant::now())
    }

    /// Receives one frame's bytes (Python's `recv_bytes()`).
    ///
    /// # Errors
    ///
    /// As [`recv`](Connection::recv), minus deserialisation.
    pub fn recv_bytes(&self) -> Result<Vec<u8>, RecvError> {
        let mut buf = Vec::new();
        self.recv_bytes_into(&mut buf)?;
        Ok(buf)
    }

    /// Receives one frame's bytes into `buf`, replacing its contents and reusing its
    /// allocation (Python's `recv_bytes_into`). Returns the frame's length.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Connection::recv_bytes).
    pub fn recv_bytes_into(&self, buf: &mut Vec<u8>) -> Result<usize, RecvError> {
        unbounded(self.read_frame(None, |f| {
            let n = f.bytes().len();
            f.into_vec(buf);
            n
        }))
    }

    /// Receives one frame's bytes into `buf` starting at `offset` (Python's
    /// `recv_bytes_into(buffer, offset)`); returns the frame's length. Bytes of `buf`
    /// outside `offset..offset + len` are left alone.
    ///
    /// # Errors
    ///
    /// [`RecvError::BufferTooShort`] with the whole message when it does not fit after
    /// `offset` (Python's `BufferTooShort`: the message is received, and handed back);
    /// [`RecvError::OffsetOutOfRange`] when `offset > buf.len()` (nothing is
    /// received); otherwise as [`recv_bytes`](Connection::recv_bytes).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = skein_process::pipe(true).unwrap();
    /// a.send_bytes(b"tail").unwrap();
    /// let mut buf = *b"head----";
    /// assert_eq!(b.recv_bytes_into_at(&mut buf, 4).unwrap(), 4);
    /// assert_eq!(&buf, b"headtail");
    /// ```
    pub fn recv_bytes_into_at(&self, buf: &mut [u8], offset: usize) -> Result<usize, RecvError> {
        if offset > buf.len() {
            return Err(RecvError::OffsetOutOfRange {
                offset,
                len: buf.len(),
            });
        }
        let room = &mut buf[offset..];
        unbounded(self.read_frame(None, |f| {
            let bytes = f.bytes();
            if bytes.len() > room.len() {
                return Err(RecvError::BufferTooShort(bytes.to_vec()));
            }
            room[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        }))?
    }

    /// Receives one frame's bytes, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Connection::recv_timeout), minus deserialisation.
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>, RecvTimeoutError> {
        let mut buf = Vec::new();
        self.read_frame(Some(Instant::now() + timeout), |f| f.into_vec(&mut buf))?;
        Ok(buf)
    }

    /// Receives one frame's bytes, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes_timeout`](Connection::recv_bytes_timeout).
    pub fn recv_bytes_deadline(&self, deadline: Instant) -> Result<Vec<u8>, RecvTimeoutError> {
        let mut buf = Vec::new();
        self.read_frame(Some(deadline), |f| f.into_vec(&mut buf))?;
        Ok(buf)
    }

    /// Whether bytes already read ahead hold (part of) the next frame, so that a
    /// receive may not need the socket.
    ///
    /// A receive reads as many small frames as the socket holds at once, so after a
    /// `recv` the next frames may already be here: an event loop that polls the raw
    /// descriptor (`as_fd`) must check this first, as [`wait`](crate::connection::wait)
    /// does, or it would sleep on frames already received. `false` while another thread
    /// is receiving.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = skein_process::pipe(true).unwrap();
    /// a.send_bytes(b"one").unwrap();
    /// a.send_bytes(b"two").unwrap();
    /// assert_eq!(b.recv_bytes().unwrap(), b"one");
    /// // Both frames came in one read: the second needs no system call.
    /// assert!(b.has_buffered());
    /// assert_eq!(b.recv_bytes().unwrap(), b"two");
    /// assert!(!b.has_buffered());
    /// ```
    pub fn has_buffered(&self) -> bool {
        self.read.try_lock().is_ok_and(|st| st.buffered() > 0)
    }

    /// Whether a receive would not block now: data is waiting, or the other end is
    /// gone (Python's `poll()`).
    ///
    /// # Errors
    ///
    /// [`RecvError::NotReadable`] on the sending end of a one-way pipe, or the
    /// system's error.
    pub fn poll(&self) -> Result<bool, RecvError> {
        self.poll_timeout(Duration::ZERO)
    }

    /// Waits at most `timeout` for a receive not to block (Python's `poll(timeout)`).
    ///
    /// # Errors
    ///
    /// As [`poll`](Connection::poll).
    pub fn poll_timeout(&self, timeout: Duration) -> Result<bool, RecvError> {
        if !self.readable {
            return Err(RecvError::NotReadable);
        }
        // Bytes already read ahead make a receive possible without waiting. (If another
        // thread is receiving right now, ask the socket only.)
        if let Ok(st) = self.read.try_lock() {
            if st.buffered() > 0 {
                return Ok(true);
            }
        }
        sys::poll_one(self.fd.as_fd(), libc::POLLIN, Some(timeout)).map_err(RecvError::Io)
    }

    /// Waits until `deadline` at most for a receive not to block.
    ///
    /// # Errors
    ///
    /// As [`poll`](Connection::poll).
    pub fn poll_deadline(&self, deadline: Instant) -> Result<bool, RecvError> {
        self.poll_timeout(deadline.saturating_duration_since(Instant::now()))
    }

    /// Waits for input until `deadline`; `Err(Timeout)` if none came.
    fn wait(&self, deadline: Option<Instant>) -> Result<(), RecvTimeoutError> {
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            match sys::poll_one(self.fd.as_fd(), libc::POLLIN, Some(left)) {
                Ok(true) => {}
                Ok(false) => return Err(RecvTimeoutError::Timeout),
                Err(e) => return Err(RecvError::Io(e).into()),
            }
        }
        Ok(())
    }

    /// Receives one frame and hands its payload to `deliver` (under the read lock).
    ///
    /// Small frames are read into the connection's receive buffer, as many as the
    /// socket holds in one `recv`, and lent from there: one system call per batch
    /// and no allocation per message. A large frame (at least [`LARGE`] bytes) is
    /// read straight into the reused large-frame vector; after one, the next read at
    /// a frame's start takes its header and payload in one `recvmsg` into that
    /// vector, bytes of a following frame going to the buffer as read-ahead.
    fn read_frame<R>(
        &self,
        deadline: Option<Instant>,
        deliver: impl FnOnce(Frame<'_>) -> R,
    ) -> Result<R, RecvTimeoutError> {
        if !self.readable {
            return Err(RecvError::NotReadable.into());
        }
        let mut guard = lock(&self.read);
        let st = &mut *guard;
        // A whole small frame already read ahead (a broken stream holds none: it is
        // marked broken before any frame after the bad one could be taken).
        if let Some(range) = st.take_small(self.max_frame) {
            let r = deliver(Frame::Buffered(&st.buf[range]));
            st.reset_if_drained();
            return Ok(r);
        }
        self.read_frame_slow(st, deadline, deliver)
    }

    /// [`read_frame`](Self::read_frame) when the next frame is not a whole small one
    /// in the buffer: reads, large frames, partial frames, errors.
    #[inline(never)]
    fn read_frame_slow<R>(
        &self,
        st: &mut ReadState,
        deadline: Option<Instant>,
        deliver: impl FnOnce(Frame<'_>) -> R,
    ) -> Result<R, RecvTimeoutError> {
        if st.broken {
            return Err(RecvError::Closed.into());
        }
        let fd = self.fd.as_fd();
        loop {
            if let Some(range) = st.take_small(self.max_frame) {
                let r = deliver(Frame::Buffered(&st.buf[range]));
                st.reset_if_drained();
                return Ok(r);
            }
            match st.expect {
                None if st.buffered() >= HEADER => {
                    let h: [u8; HEADER] = st.buf[st.pos..st.pos + HEADER]
                        .try_into()
                        .expect("a whole header");
                    let len = self.check_header(st, h)?;
                    st.pos += HEADER;
                    st.expect = Some(len);
                    st.last_large = len >= LARGE;
                    if st.last_large {
                        // What of it is buffered moves to the large-frame vector.
                        let take = st.buffered().min(len);
                        st.large.clear();
                        st.large.extend_from_slice(&st.buf[st.pos..st.pos + take]);
                        st.pos += take;
                    }
                    continue;
                }
                None => {
                    if st.buffered() == 0 && st.last_large && st.large.capacity() > 0 {
                        self.wait(deadline)?;
                        self.read_large_start(st)?;
                        continue;
                    }
                }
                Some(len) if len >= LARGE => {
                    if st.large.len() == len {
                        st.expect = None;
                        st.reset_if_drained();
                        return Ok(deliver(Frame::Large(&mut st.large)));
                    }
                    self.wait(deadline)?;
                    let want = (len - st.large.len()).min(READ_CHUNK);
                    let n = sys::recv_spare(fd, &mut st.large, want)
                        .map_err(|e| self.recv_failed(st, e))?;
                    if n == 0 {
                        st.broken = true;
                        let got = st.large.len();
                        return Err(RecvError::Truncated { expected: len, got }.into());
                    }
                    continue;
                }
                Some(len) if st.buffered() >= len => {
                    let range = st.pos..st.pos + len;
                    st.pos += len;
                    st.expect = None;
                    let r = deliver(Frame::Buffered(&st.buf[range]));
                    st.reset_if_drained();
                    return Ok(r);
                }
                Some(_) => {}
            }
            // More bytes are needed in the buffer: move what is left of it to the front
            // (less than a frame, usually nothing), then read as much as there is room.
            if st.pos > 0 {
                st.buf.drain(..st.pos);
                st.pos = 0;
            }
            if st.buf.capacity() < RBUF {
                st.buf.reserve_exact(RBUF - st.buf.len());
            }
            self.wait(deadline)?;
            let room = st.buf.capacity() - st.buf.len();
            let n = sys::recv_spare(fd, &mut st.buf, room).map_err(|e| self.recv_failed(st, e))?;
            if n == 0 {
                return Err(self.ended(st).into());
            }
        }
    }

    /// The socket reached end-of-stream: between frames that is `Disconnected`,
    /// inside one `Truncated` (and the connection is unusable).
    fn ended(&self, st: &mut ReadState) -> RecvError {
        if !st.partial() {
            return RecvError::Disconnected;
        }
        st.broken = true;
        match st.expect {
            Some(len) => RecvError::Truncated {
                expected: len,
                got: st.buffered(),
            },
            None => RecvError::Truncated {
                expected: HEADER,
                got: st.buffered(),
            },
        }
    }

    /// Checks a frame header; returns the payload's length.
    fn check_header(&self, st: &mut ReadState, h: [u8; HEADER]) -> Result<usize, RecvError> {
        if h[..3] != MAGIC || h[3] != 0 {
            st.broken = true;
            return Err(RecvError::Corrupt(format!("bad frame header {h:02x?}")));
        }
        let len = u32::from_le_bytes(h[4..].try_into().expect("4 bytes")) as usize;
        if len > self.max_frame {
            st.broken = true;
            return Err(RecvError::TooLarge {
                len,
                max: self.max_frame,
            });
        }
        Ok(len)
    }

    /// At a frame's start with nothing buffered, after a large frame: one `recvmsg`
    /// for the header and (into the large-frame vector's spare capacity) as much
    /// payload as is there. Whatever turns out not to belong to a large frame's
    /// payload goes to the buffer, where the small-frame path takes it.
    fn read_large_start(&self, st: &mut ReadState) -> Result<(), RecvTimeoutError> {
        let mut header = [0u8; HEADER];
        st.large.clear();
        let n =
            sys::recv_header_and_spare(self.fd.as_fd(), &mut header, &mut st.large, self.max_frame)
                .map_err(|e| self.recv_failed(st, e))?;
        if n == 0 {
            return Err(self.ended(st).into());
        }
        if n < HEADER {
            st.buf.extend_from_slice(&header[..n]);
            return Ok(());
        }
        let len = self.check_header(st, header)?;
        if len < LARGE {
            // A small frame after all: through the buffer (a copy, on a change of
            // message sizes only).
            st.last_large = false;
            st.buf.extend_from_slice(&header);
            st.buf.extend_from_slice(&st.large);
            st.large.clear();
            return Ok(());
        }
        st.expect = Some(len);
        if st.large.len() > len {
            // The read went past this frame: keep the rest for the next one.
            st.buf.extend_from_slice(&st.large[len..]);
            st.large.truncate(len);
        }
        Ok(())
    }

    fn recv_failed(&self, st: &mut ReadState, e: io::Error) -> RecvTimeoutError {
        if is_disconnect(&e) {
            return self.ended(st).into();
        }
        RecvError::Io(e).into()
    }
}

/// The result of a receive without a deadline (which cannot time out).
fn unbounded<R>(r: Result<R, RecvTimeoutError>) -> Result<R, RecvError> {
    match r {
        Ok(v) => Ok(v),
        Err(RecvTimeoutError::Recv(e)) => Err(e),
        Err(RecvTimeoutError::Timeout) => unreachable!("an unbounded receive cannot time out"),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RecvError> {
    postcard::from_bytes(bytes).map_err(|e| RecvError::Deserialize(e.to_string()))
}

impl AsFd for Connection {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Connection {
    /// Python's `fileno()`.
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.fd.as_raw_fd())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .field("max_frame", &self.max_frame)
            .finish()
    }
}

/// What a `Connection` is on the wire to a child: its descriptor (by handle index)
/// and its settings.
#[derive(Serialize, Deserialize)]
struct ConnectionWire<F> {
    fd: F,
    readable: bool,
    writable: bool,
    max_frame: u64,
}

struct FdOut<'a>(BorrowedFd<'a>);

impl Serialize for FdOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        handle::serialize_fd(self.0, s)
    }
}

impl Serialize for Connection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if lock(&self.read).partial() {
            return Err(S::Error::custom(handle::note(
                "a connection holding received bytes not yet returned by recv cannot be \
                 passed to a child",
            )));
        }
        ConnectionWire {
            fd: FdOut(self.fd.as_fd()),
            readable: self.readable,
            writable: self.writable,
            max_frame: self.max_frame as u64,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Connection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Connection, D::Error> {
        let w = ConnectionWire::<handle::HandleFd>::deserialize(d)?;
        if w.max_frame > u32::MAX as u64 {
            return Err(D::Error::custom("connection max_frame out of range"));
        }
        let mut c = Connection::from_fd(w.fd.into_inner(), w.readable, w.writable);
        c.max_frame = w.max_frame as usize;
        Ok(c)
    }
}
