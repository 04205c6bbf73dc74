//! Cooperative TCP sockets: what `monkey.patch_all()` makes of Python's `socket` module.
//!
//! The sockets are non-blocking and registered with the hub's poller; a read, write,
//! accept or connect that would block parks the calling task (or, in the main context,
//! runs the hub) until the socket is ready.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::core::{hub, try_hub};
use super::io::{Direction, IoEntry};

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the operation timed out")
}

fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in addr.to_socket_addrs()? {
        match f(addr) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to use")))
}

/// Runs a non-blocking operation, parking on the socket while it would block.
fn cooperative<R>(
    entry: &IoEntry,
    direction: Direction,
    deadline: Option<Instant>,
    mut op: impl FnMut() -> io::Result<R>,
) -> io::Result<R> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !hub().wait_io(entry, direction, deadline) {
                    return Err(timed_out());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// The listen backlog of [`TcpListener::bind`] (the kernel caps it at `somaxconn`).
const BACKLOG: i32 = 1024;

/// A cooperative TCP listening socket (gevent's patched `socket` / `StreamServer`).
///
/// # Examples
///
/// ```
/// use std::io::{Read, Write};
/// use skein_coroutine::hub::{self, TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = hub::spawn(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     conn.write_all(&buf).unwrap();
/// });
/// let mut client = TcpStream::connect(addr).unwrap();
/// client.write_all(b"hello").unwrap();
/// let mut buf = [0; 5];
/// client.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"hello");
/// server.join().unwrap();
/// ```
pub struct TcpListener {
    inner: mio::net::TcpListener,
    entry: Rc<IoEntry>,
}

impl TcpListener {
    /// Binds a listening socket (`SO_REUSEADDR` set, backlog 1024).
    ///
    /// # Errors
    ///
    /// The operating system's error for each address tried (the last one is returned).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let inner = each_addr(addr, |a| {
            let listener = mio::net::TcpListener::bind(a)?;
            // mio (like std) listens with a backlog of 128: a burst of connections
            // beyond it stalls in the kernel's handshake retries (seconds) before the
            // acceptor sees them. Listening again on a listening socket raises it.
            rustix::net::listen(&listener, BACKLOG)?;
            Ok(listener)
        })?;
        Self::from_mio(inner)
    }

    /// Wraps a std listener (switched to non-blocking mode).
    ///
    /// # Errors
    ///
    /// When the socket cannot be made non-blocking or registered with the poller.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpListener::from_std(listener))
    }

    fn from_mio(mut inner: mio::net::TcpListener) -> io::Result<Self> {
        let entry = hub().register(&mut inner)?;
        Ok(TcpListener { inner, entry })
    }

    /// Accepts a connection, parking the task until one arrives.
    ///
    /// # Errors
    ///
    /// The operating system's error (e.g. `EMFILE` when out of file descriptors).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline_opt(None)
    }

    /// Accepts a connection, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `ErrorKind::TimedOut` when no connection came in time; else as [`accept`](Self::accept).
    pub fn accept_timeout(&self, timeout: Duration) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline_opt(Some(Instant::now() + timeout))
    }

    /// Accepts a connection, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`accept_timeout`](Self::accept_timeout).
    pub fn accept_deadline(&self, deadline: Instant) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_deadline_opt(Some(deadline))
    }

    fn accept_deadline_opt(
        &self,
        deadline: Option<Instant>,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = cooperative(&self.entry, Direction::Read, deadline, || {
            self.inner.accept()
        })?;
        Ok((TcpStream::from_mio(stream)?, addr))
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        if let Some(hub) = try_hub() {
            hub.deregister(&mut self.inner, &self.entry);
        }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.inner.local_addr().ok())
            .finish()
    }
}

/// A cooperative TCP connection: `Read`/`Write` park the task instead of blocking the
/// thread.
///
/// Small reads (under 1 KiB) go through a 4 KiB receive buffer of the stream's own,
/// made at the first one: a read that gets less than the buffer holds shows the socket
/// drained, so the next read parks at once instead of trying a syscall that would fail
/// with `WouldBlock` (a request/response exchange of small messages makes a third fewer
/// syscalls). Bytes are always delivered in order, whichever task reads.
///
/// # Differences from gevent's socket
///
/// - Several tasks may read (or write) one stream at once, through `&TcpStream` in an
///   `Rc`: they are served in the order they parked (gevent raises `AssertionError` for
///   a second reader of one socket).
/// - A stream cannot be closed while a task is parked on it (the task borrows it); the
///   way for another task to end it is [`shutdown`](Self::shutdown): a parked reader
///   wakes with `Ok(0)`, a parked writer with `BrokenPipe` (gevent's `close()` wakes them
///   with `EBADF`). Dropping the last handle closes the socket.
/// - A timeout of `Some(Duration::ZERO)` fails a read or write that would wait at once
///   with `TimedOut` (Python's `settimeout(0)` raises `BlockingIOError`; std rejects a
///   zero timeout).
pub struct TcpStream {
    inner: mio::net::TcpStream,
    entry: Rc<IoEntry>,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
    rbuf: RefCell<ReadBuf>,
}

/// Reads smaller than this go through the stream's receive buffer.
const SMALL_READ: usize = 1024;
/// Size of a stream's receive buffer.
const READ_BUF: usize = 4096;

/// Bytes received but not yet read: `data[start..end]`.
#[derive(Default)]
struct ReadBuf {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// Copies buffered bytes into `buf`; how many (0 when empty).
    fn copy_to(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.end - self.start);
        buf[..n].copy_from_slice(&self.data[self.start..self.start + n]);
        self.start += n;
        n
    }
}

impl TcpStream {
    /// Connects to `addr`, parking the task while the connection is set up.
    ///
    /// # Errors
    ///
    /// The operating system's error (e.g. `ConnectionRefused`) for the last address tried.
    pub fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        each_addr(addr, |a| Self::connect_addr(a, None))
    }

    /// Connects to `addr`, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// `ErrorKind::TimedOut`, or as [`connect`](Self::connect).
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<Self> {
        Self::connect_addr(*addr, Some(Instant::now() + timeout))
    }

    fn connect_addr(addr: SocketAddr, deadline: Option<Instant>) -> io::Result<Self> {
        let stream = Self::from_mio(mio::net::TcpStream::connect(addr)?)?;
        loop {
            if let Some(e) = stream.inner.take_error()? {
                return Err(e);
            }
            match stream.inner.peer_addr() {
                Ok(_) => return Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => return Err(e),
            }
            if !hub().wait_io(&stream.entry, Direction::Write, deadline) {
                return Err(timed_out());
            }
        }
    }

    /// Wraps a connected std stream (switched to non-blocking mode).
    ///
    /// # Errors
    ///
    /// When the socket cannot be made non-blocking or registered with the poller.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    fn from_mio(mut inner: mio::net::TcpStream) -> io::Result<Self> {
        let entry = hub().register(&mut inner)?;
        Ok(TcpStream {
            inner,
            entry,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            rbuf: RefCell::new(ReadBuf::default()),
        })
    }

    /// Limits each read to `timeout` (`None`: wait as long as needed), like
    /// `std::net::TcpStream::set_read_timeout`; a read that runs out fails with
    /// `ErrorKind::TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.read_timeout.set(timeout);
    }

    /// Limits each write to `timeout` (`None`: wait as long as needed).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) {
        self.write_timeout.set(timeout);
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Shuts down the read half, the write half or both.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)?;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.entry.read_shut();
        }
        Ok(())
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set (`getsockopt(IPPROTO_TCP, TCP_NODELAY)`).
    ///
    /// # Errors
    ///
    /// The operating system's error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    fn deadline(timeout: &Cell<Option<Duration>>) -> Option<Instant> {
        timeout.get().map(|t| Instant::now() + t)
    }

    fn read_coop(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = Self::deadline(&self.read_timeout);
        loop {
            // Never hold the buffer across a park: another task may read meanwhile.
            let result = {
                let mut rb = self.rbuf.borrow_mut();
                if rb.start < rb.end {
                    return Ok(rb.copy_to(buf));
                }
                if !self.entry.may_read() {
                    Err(io::ErrorKind::WouldBlock.into())
                } else if buf.len() < SMALL_READ {
                    if rb.data.is_empty() {
                        rb.data = vec![0; READ_BUF].into_boxed_slice();
                    }
                    match (&self.inner).read(&mut rb.data) {
                        Ok(n) if n > 0 => {
                            if n < READ_BUF {
                                self.entry.drained();
                            }
                            rb.start = 0;
                            rb.end = n;
                            return Ok(rb.copy_to(buf));
                        }
                        other => other,
                    }
                } else {
                    match (&self.inner).read(buf) {
                        Ok(n) if n > 0 && n < buf.len() => {
                            self.entry.drained();
                            Ok(n)
                        }
                        other => other,
                    }
                }
            };
            match result {
                // Ok(0) is the end of the stream: it stays readable (no event would come).
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.entry.drained();
                    if !hub().wait_io(&self.entry, Direction::Read, deadline) {
                        return Err(timed_out());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write_coop(&self, buf: &[u8]) -> io::Result<usize> {
        let deadline = Self::deadline(&self.write_timeout);
        cooperative(&self.entry, Direction::Write, deadline, || {
            (&self.inner).write(buf)
        })
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_coop(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_coop(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_coop(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_coop(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        if let Some(hub) = try_hub() {
            hub.deregister(&mut self.inner, &self.entry);
        }
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.inner.local_addr().ok())
            .field("peer_addr", &self.inner.peer_addr().ok())
            .finish()
    }
}
