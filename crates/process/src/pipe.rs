//! `Pipe` and `Connection`: framed messages over a private socket pair.
//!
//! # Frames
//!
//! Every message is one frame: an 8-byte header — `b"SK"`, version `1`, a reserved
//! zero byte, the payload length as a little-endian `u32` — and the payload (raw bytes
//! for `send_bytes`, postcard for `send`). Header and payload go out in one
//! `sendmsg`.
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
const MAGIC: [u8; 3] = [b'S', b'K', 1];

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

#[derive(Default)]
struct ReadState {
    header: [u8; HEADER],
    have: usize,
    /// The payload's length once the header is complete.
    expect: Option<usize>,
    payload: Vec<u8>,
    /// Bytes of following frames that arrived with the last header-and-payload read.
    ahead: Vec<u8>,
    broken: bool,
}

impl ReadState {
    fn partial(&self) -> bool {
        self.have > 0 || !self.ahead.is_empty()
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
        let mut buf = postcard::to_extend(value, vec![0u8; HEADER])
            .map_err(|e| SendError::Serialize(handle::describe(&e)))?;
        let len = buf.len() - HEADER;
        buf[..HEADER].copy_from_slice(&self.header(len)?);
        self.write_frame(&mut [io::IoSlice::new(&buf)])
    }

    /// Sends raw bytes as one frame (Python's `send_bytes(buf)`).
    ///
    /// # Errors
    ///
    /// As [`send`](Connection::send), minus serialisation.
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), SendError> {
        self.check_writable()?;
        let header = self.header(bytes.len())?;
        self.write_frame(&mut [io::IoSlice::new(&header), io::IoSlice::new(bytes)])
    }

    fn check_writable(&self) -> Result<(), SendError> {
        if self.writable {
            Ok(())
        } else {
            Err(SendError::NotWritable)
        }
    }

    fn header(&self, len: usize) -> Result<[u8; HEADER], SendError> {
        if len > self.max_frame {
            return Err(SendError::TooLarge {
                len,
                max: self.max_frame,
            });
        }
        let mut h = [0u8; HEADER];
        h[..3].copy_from_slice(&MAGIC);
        h[4..].copy_from_slice(&(len as u32).to_le_bytes());
        Ok(h)
    }

    fn write_frame(&self, parts: &mut [io::IoSlice<'_>]) -> Result<(), SendError> {
        let mut broken = lock(&self.write_broken);
        if *broken {
            return Err(SendError::Closed);
        }
        match sys::send_all_vectored(self.fd.as_fd(), parts) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Part of a frame may have been written: the stream is unusable.
                *broken = true;
                if is_disconnect(&e) {
                    Err(SendError::Disconnected)
                } else {
                    Err(SendError::Io(e))
                }
            }
        }
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
        let bytes = self.recv_bytes()?;
        decode(&bytes)
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
        let mut buf = Vec::new();
        self.read_frame(&mut buf, Some(deadline))?;
        Ok(decode(&buf)?)
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
        match self.read_frame(buf, None) {
            Ok(n) => Ok(n),
            Err(RecvTimeoutError::Recv(e)) => Err(e),
            Err(RecvTimeoutError::Timeout) => unreachable!("an unbounded receive cannot time out"),
        }
    }

    /// Receives one frame's bytes, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`recv_timeout`](Connection::recv_timeout), minus deserialisation.
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>, RecvTimeoutError> {
        let mut buf = Vec::new();
        self.read_frame(&mut buf, Some(Instant::now() + timeout))?;
        Ok(buf)
    }

    /// Receives one frame's bytes, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes_timeout`](Connection::recv_bytes_timeout).
    pub fn recv_bytes_deadline(&self, deadline: Instant) -> Result<Vec<u8>, RecvTimeoutError> {
        let mut buf = Vec::new();
        self.read_frame(&mut buf, Some(deadline))?;
        Ok(buf)
    }

    /// Whether bytes already read ahead hold (part of) the next frame, so that a
    /// receive may not need the socket (`connection::wait` checks this first).
    pub(crate) fn has_buffered(&self) -> bool {
        self.read.try_lock().is_ok_and(|st| !st.ahead.is_empty())
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
            if !st.ahead.is_empty() {
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

    /// Reads one frame into `out` (replacing its contents).
    fn read_frame(
        &self,
        out: &mut Vec<u8>,
        deadline: Option<Instant>,
    ) -> Result<usize, RecvTimeoutError> {
        if !self.readable {
            return Err(RecvError::NotReadable.into());
        }
        let mut st = lock(&self.read);
        if st.broken {
            return Err(RecvError::Closed.into());
        }
        let fd = self.fd.as_fd();
        let st = &mut *st;
        while st.have < HEADER {
            let have = st.have;
            if !st.ahead.is_empty() {
                let k = (HEADER - have).min(st.ahead.len());
                st.header[have..have + k].copy_from_slice(&st.ahead[..k]);
                st.ahead.drain(..k);
                st.have += k;
                continue;
            }
            self.wait(deadline)?;
            // At a frame's start, read the header and (into the reused buffer's spare
            // capacity) as much payload as is there, in one call. `payload` is empty
            // here: it is cleared at every frame's end.
            let r = if have == 0 && st.payload.capacity() > 0 {
                sys::recv_header_and_spare(fd, &mut st.header, &mut st.payload, self.max_frame)
            } else {
                sys::recv(fd, &mut st.header[have..])
            };
            let n = r.map_err(|e| self.recv_failed(st, e))?;
            if n == 0 {
                if st.have == 0 {
                    return Err(RecvError::Disconnected.into());
                }
                st.broken = true;
                return Err(RecvError::Truncated {
                    expected: HEADER,
                    got: st.have,
                }
                .into());
            }
            st.have += n.min(HEADER - have);
        }
        let len = match st.expect {
            Some(len) => len,
            None => {
                let h = st.header;
                if h[..3] != MAGIC || h[3] != 0 {
                    st.broken = true;
                    return Err(RecvError::Corrupt(format!("bad frame header {h:02x?}")).into());
                }
                let len = u32::from_le_bytes(h[4..].try_into().expect("4 bytes")) as usize;
                if len > self.max_frame {
                    st.broken = true;
                    return Err(RecvError::TooLarge {
                        len,
                        max: self.max_frame,
                    }
                    .into());
                }
                st.expect = Some(len);
                if st.payload.len() > len {
                    // The read went past this frame: keep the rest for the next one.
                    debug_assert!(st.ahead.is_empty());
                    st.ahead.extend_from_slice(&st.payload[len..]);
                    st.payload.truncate(len);
                }
                len
            }
        };
        while st.payload.len() < len {
            if !st.ahead.is_empty() {
                let k = (len - st.payload.len()).min(st.ahead.len());
                st.payload.extend_from_slice(&st.ahead[..k]);
                st.ahead.drain(..k);
                continue;
            }
            self.wait(deadline)?;
            let want = (len - st.payload.len()).min(READ_CHUNK);
            let n =
                sys::recv_spare(fd, &mut st.payload, want).map_err(|e| self.recv_failed(st, e))?;
            if n == 0 {
                st.broken = true;
                let got = st.payload.len();
                return Err(RecvError::Truncated { expected: len, got }.into());
            }
        }
        std::mem::swap(out, &mut st.payload);
        st.payload.clear();
        st.have = 0;
        st.expect = None;
        Ok(len)
    }

    fn recv_failed(&self, st: &mut ReadState, e: io::Error) -> RecvTimeoutError {
        if is_disconnect(&e) {
            if st.partial() {
                st.broken = true;
                let expected = st.expect.unwrap_or(HEADER);
                let got = if st.expect.is_some() {
                    st.payload.len()
                } else {
                    st.have
                };
                return RecvError::Truncated { expected, got }.into();
            }
            return RecvError::Disconnected.into();
        }
        RecvError::Io(e).into()
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
