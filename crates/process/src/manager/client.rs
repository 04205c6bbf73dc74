//! The proxy side: sessions (one authenticated connection per process, shared by a
//! proxy's clones, with pipelined calls), [`ManagerClient`] and [`Pending`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::connection::{Address, AuthKey, ConnectError, DEFAULT_HANDSHAKE_TIMEOUT, client_key};
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Fault, Kind, ObjectId, Op, Reply, Request, Response};
use crate::pipe::Connection;
use crate::sys;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a manager is and the key to it.
#[derive(Clone)]
pub(crate) struct Remote {
    pub(crate) address: Address,
    pub(crate) key: AuthKey,
}

#[derive(Default)]
struct Inbox {
    /// Responses read for other callers, by request id.
    done: HashMap<u64, Result<Reply, Fault>>,
    /// Requests whose [`Pending`] was dropped unawaited: their responses are skipped.
    dropped: HashSet<u64>,
    /// Why the session can no longer be used.
    broken: Option<String>,
}

/// One authenticated connection to the server. Calls from several threads are
/// pipelined: each sends its request at once, and whoever holds the inbox reads
/// responses, keeping those for others, until its own arrives.
pub(crate) struct Session {
    conn: Connection,
    /// The process that opened it: a forked child never uses its parent's socket.
    pid: sys::Pid,
    next: AtomicU64,
    inbox: Mutex<Inbox>,
}

impl Session {
    fn open(remote: &Remote) -> Result<Session, ManagerError> {
        let conn = client_key(&remote.address, &remote.key, DEFAULT_HANDSHAKE_TIMEOUT)?;
        Ok(Session {
            conn,
            pid: sys::getpid(),
            next: AtomicU64::new(1),
            inbox: Mutex::new(Inbox::default()),
        })
    }

    pub(crate) fn send(&self, op: Op) -> Result<u64, ManagerError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.conn.send(&Request { id, op })?;
        Ok(id)
    }

    pub(crate) fn wait(&self, id: u64) -> Result<Reply, ManagerError> {
        let mut inbox = lock(&self.inbox);
        loop {
            if let Some(r) = inbox.done.remove(&id) {
                return r.map_err(ManagerError::from);
            }
            if let Some(why) = &inbox.broken {
                return Err(if why.is_empty() {
                    ManagerError::Disconnected
                } else {
                    ManagerError::Protocol(why.clone())
                });
            }
            let resp: Response = match self.conn.recv() {
                Ok(r) => r,
                Err(e) => {
                    let e = ManagerError::from(e);
                    inbox.broken = Some(match &e {
                        ManagerError::Disconnected => String::new(),
                        other => other.to_string(),
                    });
                    continue;
                }
            };
            if resp.id == id {
                return resp.result.map_err(ManagerError::from);
            }
            if resp.id == 0 {
                // The server could not read one of our requests and closed.
                let why = match resp.result {
                    Err(Fault::Malformed(m)) => m,
                    _ => "unexpected response".into(),
                };
                inbox.broken = Some(why);
                continue;
            }
            if !inbox.dropped.remove(&resp.id) {
                inbox.done.insert(resp.id, resp.result);
            }
        }
    }

    pub(crate) fn call(&self, op: Op) -> Result<Reply, ManagerError> {
        let id = self.send(op)?;
        self.wait(id)
    }

    fn forget(&self, id: u64) {
        let mut inbox = lock(&self.inbox);
        if inbox.done.remove(&id).is_none() {
            inbox.dropped.insert(id);
        }
    }
}

/// A lazily opened session, reopened in a process other than the one that opened it
/// (after a fork, or when a proxy reached a child by serialisation).
#[derive(Default)]
pub(crate) struct Slot(Mutex<Option<Arc<Session>>>);

impl Slot {
    pub(crate) fn get(&self, remote: &Remote) -> Result<Arc<Session>, ManagerError> {
        let mut s = lock(&self.0);
        if let Some(sess) = &*s {
            if sess.pid == sys::getpid() {
                return Ok(sess.clone());
            }
        }
        let sess = Arc::new(Session::open(remote)?);
        *s = Some(sess.clone());
        Ok(sess)
    }
}

/// The answer to a pipelined call, collected with [`wait`](Pending::wait).
///
/// Send several calls (`start_*` methods of the proxies), then wait for each: the
/// requests travel back to back, and the round trips overlap.
#[must_use = "a pending call's result is lost unless waited for"]
pub struct Pending<T> {
    session: Arc<Session>,
    id: u64,
    decode: fn(Reply) -> Result<T, ManagerError>,
    waited: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T> Pending<T> {
    pub(crate) fn new(
        session: Arc<Session>,
        id: u64,
        decode: fn(Reply) -> Result<T, ManagerError>,
    ) -> Pending<T> {
        Pending {
            session,
            id,
            decode,
            waited: false,
            _t: PhantomData,
        }
    }

    /// Waits for the server's answer.
    ///
    /// # Errors
    ///
    /// As the blocking form of the call.
    pub fn wait(mut self) -> Result<T, ManagerError> {
        self.waited = true;
        let r = self.session.wait(self.id)?;
        (self.decode)(r)
    }
}

impl<T> Drop for Pending<T> {
    fn drop(&mut self) {
        if !self.waited {
            self.session.forget(self.id);
        }
    }
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").field("id", &self.id).finish()
    }
}

/// A connection to a manager by address and authkey (Python's
/// `BaseManager(address, authkey).connect()`): creates shared objects and finds named
/// ones. A [`Manager`](crate::Manager) is one too (it derefs to its client).
///
/// # Examples
///
/// An unrelated process (here a thread, for brevity) finds an object by name:
///
/// ```
/// use skein_process::{Manager, ManagerClient, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let scores = m.dict_named::<String, u32>("scores")?;
/// scores.set(&"ann".into(), &3)?;
///
/// let other = ManagerClient::connect(m.address(), m.authkey())?;
/// let same = other.dict_named::<String, u32>("scores")?;
/// assert_eq!(same.get(&"ann".into())?, Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ManagerClient {
    pub(crate) remote: Arc<Remote>,
    pub(crate) slot: Arc<Slot>,
}

impl ManagerClient {
    /// Connects to the manager at `address` and authenticates (both ways).
    ///
    /// # Errors
    ///
    /// [`ManagerError::Connect`]: nobody there, or the authkey was refused
    /// ([`is_auth`](ManagerError::is_auth)).
    pub fn connect(address: &Address, authkey: &[u8]) -> Result<ManagerClient, ManagerError> {
        let key = AuthKey::new(authkey).ok_or(ConnectError::EmptyKey)?;
        let c = ManagerClient::from_remote(Remote {
            address: address.clone(),
            key,
        });
        c.session()?;
        Ok(c)
    }

    pub(crate) fn from_remote(remote: Remote) -> ManagerClient {
        ManagerClient {
            remote: Arc::new(remote),
            slot: Arc::new(Slot::default()),
        }
    }

    pub(crate) fn session(&self) -> Result<Arc<Session>, ManagerError> {
        self.slot.get(&self.remote)
    }

    /// The manager's address.
    pub fn address(&self) -> &Address {
        &self.remote.address
    }

    /// The manager's authkey (give it, with the address, to processes that connect).
    pub fn authkey(&self) -> &[u8] {
        self.remote.key.as_bytes()
    }

    /// One round trip to the server, for liveness checks and latency measurements.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn ping(&self) -> Result<(), ManagerError> {
        self.session()?.call(Op::Ping).map(drop)
    }

    pub(crate) fn create(
        &self,
        kind: Kind,
        tag: String,
        name: Option<&str>,
        init: Vec<u8>,
        maxsize: u64,
    ) -> Result<ObjectId, ManagerError> {
        let r = self.session()?.call(Op::Create {
            kind,
            tag,
            name: name.map(str::to_owned),
            init,
            maxsize,
        })?;
        match r {
            Reply::Created(id) => Ok(id),
            other => Err(unexpected(&other)),
        }
    }
}

impl fmt::Debug for ManagerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerClient")
            .field("address", &self.remote.address)
            .finish_non_exhaustive()
    }
}

pub(crate) fn unexpected(r: &Reply) -> ManagerError {
    ManagerError::Protocol(format!("unexpected reply {r:?}"))
}

/// How long a manager's owner waits for the server to exit after asking it to.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
