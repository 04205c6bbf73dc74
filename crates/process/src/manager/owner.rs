//! `Manager`: starts the server process, owns it, and shuts it down.

use std::fmt;
use std::ops::Deref;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::connection::{Address, AuthKey, ConnectError, Listener};
use crate::context::Context;
use crate::handle::HandleFd;
use crate::manager::client::{ManagerClient, Remote, SHUTDOWN_GRACE};
use crate::manager::error::ManagerError;
use crate::manager::server::{self, Control, ServerArgs};
use crate::pipe::{DEFAULT_MAX_FRAME, pipe};
use crate::process::{Process, ProcessHandle};
use crate::start::method::StartMethod;
use crate::start::registry;
use crate::sys;

/// The largest request a manager accepts by default: 16 MiB. A larger one is an error
/// for the connection that sent it; the server goes on serving the others.
pub const DEFAULT_MAX_REQUEST: usize = 16 << 20;

/// Python's `multiprocessing.Manager()`: a server process that holds shared objects
/// (dict, list, `Value`, `Namespace`, `Queue`), reached through proxies.
///
/// `Manager` derefs to its [`ManagerClient`], which creates the objects. Proxies work
/// in this process, in children they are given to (as arguments, under every start
/// method), and in unrelated processes that know the [`address`](ManagerClient::address)
/// and [`authkey`](ManagerClient::authkey) ([`ManagerClient::connect`]).
///
/// The server is started with this crate's start methods (the default context's, or
/// [`ManagerBuilder::context`]'s), listens on a Unix socket in a private directory
/// (mode 0700) by default, and authenticates every connection with the mutual
/// HMAC-SHA256 handshake. It ends — removing its socket and directory — when the
/// `Manager` is dropped or [`shutdown`](Manager::shutdown), and also when this process
/// dies, even by `SIGKILL` (it watches a pidfd of its owner).
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, Process, StartMethod, DictProxy};
///
/// fn worker((d, n): (DictProxy<String, u32>, u32)) {
///     d.set(&format!("w{n}"), &(n * n)).unwrap();
/// }
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let d = m.dict::<String, u32>()?;
/// let kids: Vec<_> = (1..=3)
///     .map(|n| Process::new(worker, (d.clone(), n)).start_method(StartMethod::Fork).start())
///     .collect::<Result<_, _>>()?;
/// for k in kids {
///     k.join()?;
/// }
/// assert_eq!(d.get(&"w3".into())?, Some(9));
/// assert_eq!(d.len()?, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Manager {
    client: ManagerClient,
    server: Option<ProcessHandle>,
    control: Option<crate::pipe::Connection>,
    socket_file: Option<PathBuf>,
    socket_dir: Option<PathBuf>,
}

/// Configures a [`Manager`] (Python's `BaseManager(address, authkey)` and
/// `get_context(m).Manager()`).
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until start()"]
pub struct ManagerBuilder {
    address: Option<Address>,
    authkey: Option<Vec<u8>>,
    context: Option<Context>,
    max_request: Option<usize>,
}

impl ManagerBuilder {
    /// Listen here instead of a fresh private Unix socket (a TCP address with port 0
    /// picks a free port).
    pub fn address(mut self, address: Address) -> Self {
        self.address = Some(address);
        self
    }

    /// Use this key instead of 32 random bytes.
    pub fn authkey(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.authkey = Some(key.into());
        self
    }

    /// Start the server with this context's start method.
    pub fn context(mut self, ctx: &Context) -> Self {
        self.context = Some(ctx.clone());
        self
    }

    /// Start the server with this start method (Python's
    /// `get_context(method).Manager()`).
    pub fn start_method(self, method: StartMethod) -> Self {
        self.context(&crate::context::get_context(method))
    }

    /// The largest request the server accepts (default [`DEFAULT_MAX_REQUEST`]).
    pub fn max_request(mut self, bytes: usize) -> Self {
        self.max_request = Some(bytes);
        self
    }

    /// Starts the server process and connects to it.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Connect`] for an empty key or an address that cannot be bound;
    /// [`ManagerError::Start`] if the process cannot be started (see
    /// [`StartError`](crate::StartError)); [`ManagerError::Io`] otherwise.
    pub fn start(self) -> Result<Manager, ManagerError> {
        let key = match &self.authkey {
            Some(k) => AuthKey::new(k).ok_or(ConnectError::EmptyKey)?,
            None => AuthKey::random()?,
        };
        let (address, socket_dir) = match self.address {
            Some(a) => (a, None),
            None => {
                let dir = private_dir()?;
                (Address::Unix(dir.join("manager.sock")), Some(dir))
            }
        };
        let cleanup_dir = |dir: &Option<PathBuf>| {
            if let Some(d) = dir {
                let _ = std::fs::remove_dir(d);
            }
        };
        let listener = match Listener::bind_key(&address, key.clone()) {
            Ok(l) => l,
            Err(e) => {
                cleanup_dir(&socket_dir);
                return Err(e.into());
            }
        };
        let (fd, address, key, socket_file) = listener.into_parts()?;
        let remove_socket = |f: &Option<PathBuf>| {
            if let Some(f) = f {
                let _ = std::fs::remove_file(f);
            }
        };
        let started = (|| {
            let owner = sys::pidfd_open(sys::getpid())?;
            let (mine, theirs) = pipe(true)?;
            let args = ServerArgs {
                listener: HandleFd::new(fd),
                address: address.clone(),
                key: key.as_bytes().to_vec(),
                socket_file: socket_file.clone(),
                socket_dir: socket_dir.clone(),
                owner: HandleFd::new(owner),
                control: theirs,
                max_frame: self
                    .max_request
                    .unwrap_or(DEFAULT_MAX_REQUEST)
                    .min(DEFAULT_MAX_FRAME) as u64,
            };
            let mut p = Process::new(server::serve, args).name("SyncManager");
            if let Some(ctx) = &self.context {
                p = p.context(ctx);
            }
            let handle = p.start().map_err(|e| ManagerError::Start(e.to_string()))?;
            // The server watches us and ends when we do: no exit-time join of it (which
            // would wait for it while it waits for us).
            registry::remove(&handle.record);
            Ok::<_, ManagerError>((handle, mine))
        })();
        let (handle, control) = match started {
            Ok(x) => x,
            Err(e) => {
                remove_socket(&socket_file);
                cleanup_dir(&socket_dir);
                return Err(e);
            }
        };
        let m = Manager {
            client: ManagerClient::from_remote(Remote { address, key }),
            server: Some(handle),
            control: Some(control),
            socket_file,
            socket_dir,
        };
        // The listener was bound before the start: connecting cannot race the server.
        m.client.ping()?;
        Ok(m)
    }
}

/// A fresh directory only this user can enter, for the manager's socket.
fn private_dir() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let mut name = [0u8; 8];
    getrandom::fill(&mut name).map_err(|e| std::io::Error::other(e.to_string()))?;
    let hex: String = name.iter().map(|b| format!("{b:02x}")).collect();
    let dir = base.join(format!("skein-manager-{hex}"));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

impl Manager {
    /// Starts a manager with the defaults (Python's `Manager()`): the default start
    /// method, a private Unix socket, a random 32-byte authkey.
    ///
    /// # Errors
    ///
    /// As [`ManagerBuilder::start`].
    pub fn start() -> Result<Manager, ManagerError> {
        ManagerBuilder::default().start()
    }

    /// A builder for address, authkey, start method and request limit.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// The server process's pid.
    pub fn pid(&self) -> i32 {
        self.server.as_ref().map_or(0, ProcessHandle::pid)
    }

    /// The server process.
    pub fn process(&self) -> Option<&ProcessHandle> {
        self.server.as_ref()
    }

    /// Python's `m.shutdown()`: stops the server and waits for it to exit (killing it
    /// after a grace period if it does not). Proxies then fail with
    /// [`ManagerError::Disconnected`]. Dropping the manager does the same.
    ///
    /// # Errors
    ///
    /// The system's error while waiting for the server.
    pub fn shutdown(mut self) -> Result<(), ManagerError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ManagerError> {
        if let Some(c) = self.control.take() {
            let _ = c.send(&Control::Shutdown);
        }
        let mut result = Ok(());
        if let Some(h) = self.server.take() {
            let deadline = Instant::now() + SHUTDOWN_GRACE;
            match h.join_deadline(deadline) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let _ = h.kill();
                    result = h
                        .join_timeout(Duration::from_secs(5))
                        .map(drop)
                        .map_err(|e| ManagerError::Io(std::io::Error::other(e.to_string())));
                }
                Err(e) => result = Err(ManagerError::Io(std::io::Error::other(e.to_string()))),
            }
        }
        // Normally the server removed these; after a kill, we do.
        if let Some(f) = self.socket_file.take() {
            if f.exists() {
                let _ = std::fs::remove_file(&f);
            }
        }
        if let Some(d) = self.socket_dir.take() {
            let _ = std::fs::remove_dir(&d);
        }
        result
    }
}

impl Deref for Manager {
    type Target = ManagerClient;

    fn deref(&self) -> &ManagerClient {
        &self.client
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        // Only the process that started the server stops it (a forked child that
        // inherited this value must not).
        if self
            .server
            .as_ref()
            .is_some_and(|h| h.record.owner == sys::getpid())
        {
            let _ = self.stop();
        }
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("address", self.client.address())
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
