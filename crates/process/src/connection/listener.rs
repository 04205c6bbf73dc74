//! `Listener` and `client`: authenticated connections between unrelated processes.

use std::fmt;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::connection::address::Address;
use crate::connection::auth::{self, AuthKey};
use crate::connection::error::ConnectError;
use crate::pipe::Connection;
use crate::sys;

/// How long a handshake may take by default, on either side.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

enum Socket {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// A Unix socket file this listener created, removed when it closes — unless it was
/// replaced by another file meanwhile (compared by device and inode).
struct Cleanup {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Cleanup {
    fn run(&self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if m.dev() == self.dev && m.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Python's `multiprocessing.connection.Listener(address, authkey=key)`: accepts
/// connections from other processes and authenticates each one.
///
/// Every accepted connection has passed the mutual HMAC-SHA256 handshake (see the
/// [`connection`](crate::connection) module): the client proved that it knows the
/// authkey and checked that the listener does too. A failed handshake is an error for
/// that connection only; the listener keeps listening.
///
/// A Unix socket file is created with mode 0600 and removed when the listener is
/// dropped.
///
/// # Examples
///
/// ```
/// use skein_process::{client, Address, Listener};
///
/// let listener = Listener::bind(&Address::loopback(), b"secret")?;
/// let address = listener.address().clone();
/// let t = std::thread::spawn(move || {
///     let conn = client(&address, b"secret").unwrap();
///     conn.send(&"hello").unwrap();
/// });
/// let conn = listener.accept()?;
/// assert_eq!(conn.recv::<String>()?, "hello");
/// t.join().unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Listener {
    socket: Socket,
    address: Address,
    key: AuthKey,
    handshake_timeout: Duration,
    cleanup: Option<Cleanup>,
}

impl Listener {
    /// Listens on `address` (Python's `Listener(address, authkey=key)`).
    ///
    /// # Errors
    ///
    /// [`ConnectError::EmptyKey`] for an empty key (every listener authenticates);
    /// [`ConnectError::Io`] if the address is in use or cannot be bound.
    pub fn bind(address: &Address, authkey: &[u8]) -> Result<Listener, ConnectError> {
        let key = AuthKey::new(authkey).ok_or(ConnectError::EmptyKey)?;
        Listener::bind_key(address, key)
    }

    pub(crate) fn bind_key(address: &Address, key: AuthKey) -> Result<Listener, ConnectError> {
        let (socket, address, cleanup) = match address {
            Address::Unix(path) => {
                let l = UnixListener::bind(path)?;
                let m = std::fs::symlink_metadata(path)?;
                let cleanup = Cleanup {
                    path: path.clone(),
                    dev: m.dev(),
                    ino: m.ino(),
                };
                if let Err(e) =
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                {
                    cleanup.run();
                    return Err(e.into());
                }
                (Socket::Unix(l), address.clone(), Some(cleanup))
            }
            Address::Tcp(a) => {
                let l = TcpListener::bind(a)?;
                let real = l.local_addr()?;
                (Socket::Tcp(l), Address::Tcp(real), None)
            }
        };
        let l = Listener {
            socket,
            address,
            key,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            cleanup,
        };
        l.set_nonblocking()?;
        Ok(l)
    }

    fn set_nonblocking(&self) -> io::Result<()> {
        match &self.socket {
            Socket::Unix(l) => l.set_nonblocking(true),
            Socket::Tcp(l) => l.set_nonblocking(true),
        }
    }

    /// The address clients connect to (with the real port if port 0 was asked for;
    /// Python's `address`).
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// How long an accepted client has to finish the handshake (default
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`]); a client that stays silent cannot hold the
    /// listener up for longer.
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// Waits for a client and authenticates it (Python's `accept()`).
    ///
    /// # Errors
    ///
    /// [`ConnectError::Auth`] when this client failed the handshake (accept again for
    /// the next one); [`ConnectError::Io`] if the system refused.
    pub fn accept(&self) -> Result<Connection, ConnectError> {
        self.accept_inner(None)
    }

    /// As [`accept`](Listener::accept), waiting at most `timeout` for a client.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Timeout`] if none came; otherwise as `accept`.
    pub fn accept_timeout(&self, timeout: Duration) -> Result<Connection, ConnectError> {
        self.accept_inner(Some(Instant::now() + timeout))
    }

    /// As [`accept`](Listener::accept), waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`accept_timeout`](Listener::accept_timeout).
    pub fn accept_deadline(&self, deadline: Instant) -> Result<Connection, ConnectError> {
        self.accept_inner(Some(deadline))
    }

    /// Accepts one socket without authenticating it (the Manager's server hands it to
    /// a thread that runs [`authenticate`](Listener::authenticate)).
    pub(crate) fn accept_raw(&self, deadline: Option<Instant>) -> Result<Connection, ConnectError> {
        loop {
            let r = match &self.socket {
                Socket::Unix(l) => l.accept().map(|(s, _)| OwnedFd::from(s)),
                Socket::Tcp(l) => l.accept().and_then(|(s, _)| {
                    s.set_nodelay(true)?;
                    Ok(OwnedFd::from(s))
                }),
            };
            match r {
                Ok(fd) => {
                    // Accepted sockets do not inherit O_NONBLOCK on Linux, but be sure.
                    rustix::io::ioctl_fionbio(&fd, false).map_err(io::Error::from)?;
                    return Ok(Connection::from_fd(fd, true, true));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left == Some(Duration::ZERO) {
                        return Err(ConnectError::Timeout);
                    }
                    sys::poll_one(self.as_fd(), libc::POLLIN, left)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The client gave up before we accepted it: wait for the next one.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Accepts one socket if a client is waiting, without authenticating it, and
    /// leaves it non-blocking (the Manager's server runs the handshake as a state
    /// machine beside its other connections). `None` when nobody is waiting.
    pub(crate) fn accept_nonblocking(&self) -> io::Result<Option<OwnedFd>> {
        loop {
            let r = match &self.socket {
                Socket::Unix(l) => l.accept().map(|(s, _)| OwnedFd::from(s)),
                Socket::Tcp(l) => l.accept().and_then(|(s, _)| {
                    s.set_nodelay(true)?;
                    Ok(OwnedFd::from(s))
                }),
            };
            match r {
                Ok(fd) => {
                    rustix::io::ioctl_fionbio(&fd, true).map_err(io::Error::from)?;
                    return Ok(Some(fd));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The client gave up before we accepted it.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The key clients must prove.
    pub(crate) fn key(&self) -> &AuthKey {
        &self.key
    }

    /// How long an accepted client has for the handshake.
    pub(crate) fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// What runs the server's side of the handshake on accepted sockets, on any thread.
    pub(crate) fn authenticator(&self) -> Authenticator {
        Authenticator {
            key: self.key.clone(),
            timeout: self.handshake_timeout,
        }
    }

    fn accept_inner(&self, deadline: Option<Instant>) -> Result<Connection, ConnectError> {
        let conn = self.accept_raw(deadline)?;
        self.authenticator().authenticate(conn)
    }

    /// Closes the listener (Python's `close()`); dropping it does the same.
    pub fn close(self) {}

    /// Takes the socket apart for a child process: its descriptor, address, key and
    /// the file to remove (the parent's copy then removes nothing).
    pub(crate) fn into_parts(mut self) -> io::Result<(OwnedFd, Address, AuthKey, Option<PathBuf>)> {
        let cleanup = self.cleanup.take().map(|c| c.path);
        let fd = sys::dup(self.as_fd())?;
        Ok((fd, self.address.clone(), self.key.clone(), cleanup))
    }

    /// Rebuilds a listener from [`into_parts`](Listener::into_parts) in another process.
    pub(crate) fn from_parts(
        fd: OwnedFd,
        address: Address,
        key: AuthKey,
        cleanup: Option<PathBuf>,
    ) -> io::Result<Listener> {
        let socket = match address {
            Address::Unix(_) => Socket::Unix(UnixListener::from(fd)),
            Address::Tcp(_) => Socket::Tcp(TcpListener::from(fd)),
        };
        let cleanup = match cleanup {
            Some(path) => {
                let m = std::fs::symlink_metadata(&path)?;
                Some(Cleanup {
                    path,
                    dev: m.dev(),
                    ino: m.ino(),
                })
            }
            None => None,
        };
        let l = Listener {
            socket,
            address,
            key,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            cleanup,
        };
        l.set_nonblocking()?;
        Ok(l)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(c) = &self.cleanup {
            c.run();
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            Socket::Unix(l) => l.as_fd(),
            Socket::Tcp(l) => l.as_fd(),
        }
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The server's side of the handshake, detached from the listener.
pub(crate) struct Authenticator {
    key: AuthKey,
    timeout: Duration,
}

impl Authenticator {
    /// Runs the handshake on an accepted socket.
    pub(crate) fn authenticate(&self, mut conn: Connection) -> Result<Connection, ConnectError> {
        auth::serve(&mut conn, &self.key, Instant::now() + self.timeout)?;
        Ok(conn)
    }
}

/// Python's `multiprocessing.connection.Client(address, authkey=key)`: connects to a
/// [`Listener`] and authenticates both ways.
///
/// # Errors
///
/// [`ConnectError::EmptyKey`]; [`ConnectError::Io`] if nobody listens there;
/// [`ConnectError::Auth`] if the keys differ ([`Refused`](crate::AuthenticationError::Refused)
/// when the listener refused our key, [`WrongKey`](crate::AuthenticationError::WrongKey)
/// when the listener could not prove it holds ours).
///
/// # Examples
///
/// See [`Listener`].
pub fn client(address: &Address, authkey: &[u8]) -> Result<Connection, ConnectError> {
    client_timeout(address, authkey, DEFAULT_HANDSHAKE_TIMEOUT)
}

/// As [`client`], with `timeout` for the TCP connect and for the handshake each.
///
/// # Errors
///
/// As [`client`]; a handshake that does not finish in time is
/// [`AuthenticationError::Timeout`](crate::AuthenticationError::Timeout).
pub fn client_timeout(
    address: &Address,
    authkey: &[u8],
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let key = AuthKey::new(authkey).ok_or(ConnectError::EmptyKey)?;
    client_key(address, &key, timeout)
}

pub(crate) fn client_key(
    address: &Address,
    key: &AuthKey,
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let fd = match address {
        Address::Unix(p) => OwnedFd::from(UnixStream::connect(p)?),
        Address::Tcp(a) => {
            let s = TcpStream::connect_timeout(a, timeout)?;
            s.set_nodelay(true)?;
            OwnedFd::from(s)
        }
    };
    let mut conn = Connection::from_fd(fd, true, true);
    auth::answer(&mut conn, key, Instant::now() + timeout)?;
    Ok(conn)
}
