//! `QueueProxy`: Python's `Manager().Queue()`.

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::Pending;
use crate::manager::error::{ManagerError, ProxyPutError};
use crate::manager::protocol::Op;
use crate::manager::proxy::{Core, boolean, bytes, encode, len, proxy_common, unit};

/// A FIFO queue held by a manager (Python's `Manager().Queue(maxsize)`).
///
/// Unlike [`Queue`](crate::Queue) (a ring in shared memory, reachable only by handles
/// given to children), a manager queue can be reached by *any* process that has the
/// manager's address and authkey. A failed put hands the value back; an item taken by
/// a proxy that vanished before the answer reached it goes back to the front.
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let q = m.queue::<String>()?;
/// q.put("job".to_string())?;
/// assert_eq!(q.qsize()?, 1);
/// assert_eq!(q.get()?, "job");
/// assert!(q.try_get().unwrap_err().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct QueueProxy<T> {
    core: Core,
    _t: PhantomData<fn(T) -> T>,
}

proxy_common!(QueueProxy<T>);

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    pub(crate) fn new(core: Core) -> Self {
        QueueProxy {
            core,
            _t: PhantomData,
        }
    }

    fn put_inner(&self, value: T, timeout_ms: Option<u64>) -> Result<(), ProxyPutError<T>> {
        let r = encode(&value).and_then(|b| {
            unit(self.core.call(Op::Put {
                obj: self.core.obj(),
                value: b,
                timeout_ms,
            })?)
        });
        r.map_err(|error| ProxyPutError { error, value })
    }

    /// `q.put(v)`: waits while a bounded queue is full.
    ///
    /// # Errors
    ///
    /// [`ProxyPutError`] with the value: the server is gone, or the value cannot be
    /// serialised.
    pub fn put(&self, value: T) -> Result<(), ProxyPutError<T>> {
        self.put_inner(value, None)
    }

    /// `q.put(v, timeout=t)`.
    ///
    /// # Errors
    ///
    /// As [`put`](QueueProxy::put); [`ManagerError::Full`] after the timeout.
    pub fn put_timeout(&self, value: T, timeout: Duration) -> Result<(), ProxyPutError<T>> {
        self.put_inner(value, Some(ms(timeout)))
    }

    /// `q.put_nowait(v)`.
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](QueueProxy::put_timeout), without waiting.
    pub fn try_put(&self, value: T) -> Result<(), ProxyPutError<T>> {
        self.put_inner(value, Some(0))
    }

    /// Sends `q.put(v)` without waiting for the answer (pipelining).
    ///
    /// # Errors
    ///
    /// [`ManagerError::Encode`] or a broken connection, for the sending.
    pub fn start_put(&self, value: &T) -> Result<Pending<()>, ManagerError> {
        let op = Op::Put {
            obj: self.core.obj(),
            value: encode(value)?,
            timeout_ms: None,
        };
        self.core.start(op, unit)
    }

    /// `q.get()`: waits for an item.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone; [`ManagerError::Decode`].
    pub fn get(&self) -> Result<T, ManagerError> {
        self.get_inner(None)
    }

    /// `q.get(timeout=t)`.
    ///
    /// # Errors
    ///
    /// As [`get`](QueueProxy::get); [`ManagerError::Empty`] after the timeout.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, ManagerError> {
        self.get_inner(Some(ms(timeout)))
    }

    /// `q.get_nowait()`.
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](QueueProxy::get_timeout), without waiting.
    pub fn try_get(&self) -> Result<T, ManagerError> {
        self.get_inner(Some(0))
    }

    /// Sends `q.get()` without waiting for the answer (pipelining).
    ///
    /// # Errors
    ///
    /// A broken connection, for the sending.
    pub fn start_get(&self) -> Result<Pending<T>, ManagerError> {
        let op = Op::Take {
            obj: self.core.obj(),
            timeout_ms: None,
        };
        self.core.start(op, bytes::<T>)
    }

    fn get_inner(&self, timeout_ms: Option<u64>) -> Result<T, ManagerError> {
        bytes(self.core.call(Op::Take {
            obj: self.core.obj(),
            timeout_ms,
        })?)
    }

    /// `q.qsize()`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn qsize(&self) -> Result<usize, ManagerError> {
        len(self.core.call(Op::Len {
            obj: self.core.obj(),
        })?)
    }

    /// `q.full()`: whether a bounded queue holds `maxsize` items (never for an
    /// unbounded one).
    ///
    /// # Errors
    ///
    /// As [`qsize`](QueueProxy::qsize).
    pub fn is_full(&self) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::IsFull {
            obj: self.core.obj(),
        })?)
    }

    /// `q.maxsize`: the capacity the queue was made with (`0`: unbounded).
    ///
    /// # Errors
    ///
    /// As [`qsize`](QueueProxy::qsize).
    pub fn maxsize(&self) -> Result<usize, ManagerError> {
        len(self.core.call(Op::MaxSize {
            obj: self.core.obj(),
        })?)
    }

    /// `q.task_done()`: one item taken earlier is finished. Every manager queue counts
    /// unfinished items, as Python's (whose `Manager().Queue()` and
    /// `Manager().JoinableQueue()` are both `queue.Queue`).
    ///
    /// # Errors
    ///
    /// [`ManagerError::TooManyTaskDone`] if called more times than items were put
    /// (Python's `ValueError`); as [`qsize`](QueueProxy::qsize).
    pub fn task_done(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::TaskDone {
            obj: self.core.obj(),
        })?)
    }

    /// `q.join()`: waits until every item put has been marked done with
    /// [`task_done`](QueueProxy::task_done) (at once if none is unfinished).
    ///
    /// # Errors
    ///
    /// As [`qsize`](QueueProxy::qsize).
    pub fn join(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::JoinQueue {
            obj: self.core.obj(),
        })?)
    }

    /// `q.empty()`.
    ///
    /// # Errors
    ///
    /// As [`qsize`](QueueProxy::qsize).
    pub fn is_empty(&self) -> Result<bool, ManagerError> {
        Ok(self.qsize()? == 0)
    }
}
