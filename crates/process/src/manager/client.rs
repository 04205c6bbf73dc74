//! The proxy side: sessions (one authenticated connection per process, shared by a
//! proxy's clones, with pipelined calls), [`ManagerClient`] and [`Pending`].

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rustix::net::RecvFlags;

use crate::connection::{Address, AuthKey, ConnectError, DEFAULT_HANDSHAKE_TIMEOUT, client_key};
use crate::error::SendError;
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Fault, Kind, ObjectId, Op, Reply, Request, Response};
use crate::manager::wire::{self, Frames, Read};
use crate::pipe::DEFAULT_MAX_FRAME;
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
    /// Whether a caller is reading the socket (the others wait for `turn`).
    reading: bool,
    /// Callers waiting for `turn`.
    waiting: usize,
}

/// How long a caller polls its socket for the answer before it blocks (see
/// [`wire::spin`]): long enough to cover the server's own wake-up if it was asleep.
const SPIN: Duration = Duration::from_micros(200);

/// One authenticated connection to the server. Calls from several threads are
/// pipelined: each sends its request at once; one of them at a time reads the socket,
/// keeps answers for the others and wakes them, until its own arrives.
///
/// A caller alone on the session writes its request and reads the answer itself,
/// polling the socket for a short while before it blocks: no other thread, no
/// hand-off, no allocation for the frames.
pub(crate) struct Session {
    fd: OwnedFd,
    /// The process that opened it: a forked child never uses its parent's socket.
    pid: sys::Pid,
    next: AtomicU64,
    /// The request being written (whole frames only), reused; `true` once a write
    /// failed part-way (the stream is then unusable).
    write: Mutex<(Vec<u8>, bool)>,
    inbox: Mutex<Inbox>,
    turn: Condvar,
    /// Bytes read from the socket; used by the reading caller only.
    frames: Mutex<Frames>,
}

impl Session {
    fn open(remote: &Remote) -> Result<Session, ManagerError> {
        let conn = client_key(&remote.address, &remote.key, DEFAULT_HANDSHAKE_TIMEOUT)?;
        // The server says nothing after the handshake until asked, so nothing is read
        // ahead in `conn`: its socket is all there is.
        let fd = sys::dup(conn.as_fd())?;
        drop(conn);
        Ok(Session {
            fd,
            pid: sys::getpid(),
            next: AtomicU64::new(1),
            write: Mutex::new((Vec::new(), false)),
            inbox: Mutex::new(Inbox::default()),
            turn: Condvar::new(),
            frames: Mutex::new(Frames::default()),
        })
    }

    pub(crate) fn send(&self, op: Op) -> Result<u64, ManagerError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut w = lock(&self.write);
        let (buf, broken) = &mut *w;
        if *broken {
            return Err(ManagerError::Disconnected);
        }
        buf.clear();
        wire::push_frame(buf, &Request { id, op }, DEFAULT_MAX_FRAME).map_err(|e| match e {
            wire::PushError::Encode(m) => ManagerError::Encode(m),
            wire::PushError::TooLarge { len, max } => {
                ManagerError::from(SendError::TooLarge { len, max })
            }
        })?;
        if let Err(e) = wire::write_all(self.fd.as_fd(), buf) {
            *broken = true;
            return Err(if wire::is_disconnect(&e) {
                ManagerError::Disconnected
            } else {
                ManagerError::Io(e)
            });
        }
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
            if inbox.reading {
                inbox.waiting += 1;
                inbox = self.turn.wait(inbox).unwrap_or_else(|e| e.into_inner());
                inbox.waiting -= 1;
                continue;
            }
            inbox.reading = true;
            drop(inbox);
            let got = self.read_one();
            inbox = lock(&self.inbox);
            inbox.reading = false;
            let mine = match got {
                Ok(resp) if resp.id == id => Some(resp.result),
                Ok(resp) if resp.id == 0 => {
                    // The server could not read one of our requests and closed.
                    inbox.broken = Some(match resp.result {
                        Err(Fault::Malformed(m)) => m,
                        _ => "unexpected response".into(),
                    });
                    None
                }
                Ok(resp) => {
                    if !inbox.dropped.remove(&resp.id) {
                        inbox.done.insert(resp.id, resp.result);
                    }
                    None
                }
                Err(e) => {
                    inbox.broken = Some(match &e {
                        ManagerError::Disconnected => String::new(),
                        other => other.to_string(),
                    });
                    None
                }
            };
            if inbox.waiting > 0 {
                // An answer for another caller, or the reader's turn is free.
                self.turn.notify_all();
            }
            if let Some(r) = mine {
                return r.map_err(ManagerError::from);
            }
        }
    }

    /// Reads the next response: from bytes already read, else polling the socket for a
    /// while, else blocking.
    fn read_one(&self) -> Result<Response, ManagerError> {
        let mut frames = lock(&self.frames);
        let fd = self.fd.as_fd();
        let mut spun = false;
        loop {
            match frames.next(DEFAULT_MAX_FRAME) {
                Ok(Some(r)) => {
                    return postcard::from_bytes(frames.bytes(r))
                        .map_err(|e| ManagerError::Protocol(format!("undecodable answer: {e}")));
                }
                Ok(None) => {}
                Err(e) => return Err(ManagerError::from(e)),
            }
            let read = if spun {
                frames.read(fd, DEFAULT_MAX_FRAME, RecvFlags::empty())
            } else {
                spun = true;
                let got = wire::spin(SPIN, || {
                    match frames.read(fd, DEFAULT_MAX_FRAME, RecvFlags::DONTWAIT) {
                        Ok(Read::WouldBlock) => None,
                        other => Some(other),
                    }
                });
                match got {
                    Some(r) => r,
                    None => frames.read(fd, DEFAULT_MAX_FRAME, RecvFlags::empty()),
                }
            };
            match read {
                Ok(Read::Bytes(_)) => {}
                // A blocking read does not say this; a signal may have cut it short.
                Ok(Read::WouldBlock) => {}
                Ok(Read::Eof) => return Err(ManagerError::from(frames.ended())),
                Err(e) if wire::is_disconnect(&e) => {
                    return Err(ManagerError::from(frames.ended()));
                }
                Err(e) => return Err(ManagerError::Io(e)),
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
