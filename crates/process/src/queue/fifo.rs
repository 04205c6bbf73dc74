//! `Queue<T>` (the FIFO): a bounded multi-producer multi-consumer queue between processes.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ring::{Fail, Ring, Wait};
use super::{
    CodecError, DEFAULT_RING_BYTES, GetError, GetTimeoutError, PutError, PutTimeoutError,
    TryGetError, TryPutError,
};
use crate::shared::futex;
use crate::shm::ShmError;

thread_local! {
    static ENCODE_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Serialises `item`, then runs `send` on the bytes (reusing a per-thread buffer).
pub(crate) fn with_encoded<T: Serialize, R>(
    item: &T,
    send: impl FnOnce(&[u8]) -> R,
) -> Result<R, CodecError> {
    ENCODE_BUF.with(|cell| {
        let mut guard = cell.try_borrow_mut();
        let mut fresh = Vec::new();
        let buf: &mut Vec<u8> = match guard.as_deref_mut() {
            Ok(b) => b,
            Err(_) => &mut fresh,
        };
        buf.clear();
        postcard::to_io(item, &mut *buf).map_err(CodecError::new)?;
        Ok(send(buf))
    })
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    postcard::from_bytes(bytes).map_err(CodecError::new)
}

/// A queue between processes — `multiprocessing.Queue(maxsize)`.
///
/// Clone it (or let a child inherit it) to give more processes access: any number of
/// producers and consumers. Each item is a `T: Serialize + DeserializeOwned` sent by
/// value.
///
/// | Python | skein |
/// |---|---|
/// | `Queue()` / `Queue(maxsize)` | [`Queue::new`] / [`Queue::bounded`] |
/// | `q.put(x)` | [`put`](Self::put) |
/// | `q.put(x, timeout=t)` | [`put_timeout`](Self::put_timeout) / [`put_deadline`](Self::put_deadline) |
/// | `q.put_nowait(x)`, `put(x, False)` | [`try_put`](Self::try_put) |
/// | `q.get()` | [`get`](Self::get) |
/// | `q.get(timeout=t)` | [`get_timeout`](Self::get_timeout) / [`get_deadline`](Self::get_deadline) |
/// | `q.get_nowait()` | [`try_get`](Self::try_get) |
/// | `q.qsize()`, `q.empty()`, `q.full()` | [`qsize`](Self::qsize), [`is_empty`](Self::is_empty), [`is_full`](Self::is_full) |
/// | `queue.Queue.shutdown(immediate)` (3.13; none in multiprocessing) | [`shutdown`](Self::shutdown) |
/// | `q.close()`, `q.join_thread()` | drop the handle (there is no feeder thread) |
///
/// # Examples
///
/// ```
/// use skein_process::Queue;
///
/// let q = Queue::bounded(3)?;
/// q.put(1)?;
/// q.put(2)?;
/// q.put(3)?;
/// assert!(q.is_full());
/// assert!(q.try_put(4).unwrap_err().is_full()); // 4 comes back inside the error
/// assert_eq!(q.get()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct Queue<T> {
    ring: Ring,
    _t: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue {
            ring: self.ring.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.ring.count())
            .field("maxsize", &self.ring.maxsize())
            .finish()
    }
}

fn timeout_deadline(d: Duration) -> Wait {
    Wait::Until(Some(futex::deadline_after(d)))
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// A queue bounded only by its ring (256 KiB of messages) — `Queue()`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<Queue<T>, ShmError> {
        Self::with_capacity(0, DEFAULT_RING_BYTES)
    }

    /// A queue of at most `maxsize` items — `Queue(maxsize)` (0 means no item bound).
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn bounded(maxsize: usize) -> Result<Queue<T>, ShmError> {
        Self::with_capacity(maxsize, DEFAULT_RING_BYTES)
    }

    /// A queue of at most `maxsize` items (0: no item bound) over a ring of `ring_bytes`
    /// (rounded up to a power of two, at least 4 KiB).
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn with_capacity(maxsize: usize, ring_bytes: usize) -> Result<Queue<T>, ShmError> {
        Self::build(maxsize, ring_bytes, false)
    }

    pub(crate) fn build(
        maxsize: usize,
        ring_bytes: usize,
        joinable: bool,
    ) -> Result<Queue<T>, ShmError> {
        let maxsize =
            u32::try_from(maxsize).map_err(|_| ShmError::invalid("maxsize must fit in 32 bits"))?;
        Ok(Queue {
            ring: Ring::new(ring_bytes, maxsize, joinable)?,
            _t: PhantomData,
        })
    }

    pub(crate) fn ring(&self) -> &Ring {
        &self.ring
    }

    fn put_with(&self, item: T, wait: Wait) -> Result<(), (T, Result<Fail, CodecError>)> {
        match with_encoded(&item, |bytes| self.ring.put(bytes, wait)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(fail)) => Err((item, Ok(fail))),
            Err(codec) => Err((item, Err(codec))),
        }
    }

    /// Puts `item`, waiting for room — `put(item)`.
    ///
    /// # Errors
    ///
    /// [`PutError::ShutDown`] after [`shutdown`](Self::shutdown);
    /// [`PutError::Unencodable`] when `item` cannot be serialised. The item comes back.
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_with(item, Wait::Until(None))
            .map_err(|(t, why)| match why {
                Ok(_) => PutError::ShutDown(t),
                Err(e) => PutError::Unencodable(t, e),
            })
    }

    /// Puts `item` if there is room now — `put_nowait(item)`.
    ///
    /// # Errors
    ///
    /// [`TryPutError::Full`], [`TryPutError::ShutDown`], [`TryPutError::Unencodable`];
    /// the item comes back.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.put_with(item, Wait::No).map_err(|(t, why)| match why {
            Ok(Fail::WouldBlock | Fail::Unlocked) => TryPutError::Full(t),
            Ok(Fail::ShutDown) => TryPutError::ShutDown(t),
            Err(e) => TryPutError::Unencodable(t, e),
        })
    }

    /// Puts `item`, waiting at most `timeout` for room — `put(item, timeout=t)`.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError::Timeout`] and the others; the item comes back.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.put_waiting(item, timeout_deadline(timeout))
    }

    /// Puts `item`, waiting until `deadline` for room.
    ///
    /// # Errors
    ///
    /// As [`put_timeout`](Self::put_timeout).
    pub fn put_deadline(&self, item: T, deadline: Instant) -> Result<(), PutTimeoutError<T>> {
        self.put_waiting(item, Wait::Until(Some(deadline)))
    }

    fn put_waiting(&self, item: T, wait: Wait) -> Result<(), PutTimeoutError<T>> {
        self.put_with(item, wait).map_err(|(t, why)| match why {
            Ok(Fail::WouldBlock | Fail::Unlocked) => PutTimeoutError::Timeout(t),
            Ok(Fail::ShutDown) => PutTimeoutError::ShutDown(t),
            Err(e) => PutTimeoutError::Unencodable(t, e),
        })
    }

    fn get_with(&self, wait: Wait) -> Result<Result<T, CodecError>, Fail> {
        self.ring.get(wait, decode::<T>)
    }

    /// Takes the oldest item, waiting for one — `get()`.
    ///
    /// # Errors
    ///
    /// [`GetError::ShutDown`] once shut down (immediately, or gracefully and drained);
    /// [`GetError::Undecodable`] for a message that is not a valid `T`.
    pub fn get(&self) -> Result<T, GetError> {
        match self.get_with(Wait::Until(None)) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(GetError::Undecodable(e)),
            Err(_) => Err(GetError::ShutDown),
        }
    }

    /// Takes the oldest item if there is one — `get_nowait()`.
    ///
    /// # Errors
    ///
    /// [`TryGetError::Empty`] and the others.
    pub fn try_get(&self) -> Result<T, TryGetError> {
        match self.get_with(Wait::No) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(TryGetError::Undecodable(e)),
            Err(Fail::WouldBlock | Fail::Unlocked) => Err(TryGetError::Empty),
            Err(Fail::ShutDown) => Err(TryGetError::ShutDown),
        }
    }

    /// Takes the oldest item, waiting at most `timeout` — `get(timeout=t)`.
    ///
    /// # Errors
    ///
    /// [`GetTimeoutError::Timeout`] and the others.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetTimeoutError> {
        self.get_waiting(timeout_deadline(timeout))
    }

    /// Takes the oldest item, waiting until `deadline`.
    ///
    /// # Errors
    ///
    /// As [`get_timeout`](Self::get_timeout).
    pub fn get_deadline(&self, deadline: Instant) -> Result<T, GetTimeoutError> {
        self.get_waiting(Wait::Until(Some(deadline)))
    }

    fn get_waiting(&self, wait: Wait) -> Result<T, GetTimeoutError> {
        match self.get_with(wait) {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(e)) => Err(GetTimeoutError::Undecodable(e)),
            Err(Fail::WouldBlock | Fail::Unlocked) => Err(GetTimeoutError::Timeout),
            Err(Fail::ShutDown) => Err(GetTimeoutError::ShutDown),
        }
    }

    /// The number of items in the queue (approximate while others work) — `qsize()`.
    pub fn qsize(&self) -> usize {
        self.ring.count() as usize
    }

    /// Whether the queue holds no item — `empty()`.
    pub fn is_empty(&self) -> bool {
        self.ring.count() == 0
    }

    /// Whether the queue holds `maxsize` items (never for a queue without an item
    /// bound) — `full()`.
    pub fn is_full(&self) -> bool {
        let max = self.ring.maxsize();
        max != 0 && self.ring.count() >= max
    }

    /// The item bound (0: bounded by the ring only) — `maxsize`.
    pub fn maxsize(&self) -> usize {
        self.ring.maxsize() as usize
    }

    /// Shuts the queue down for every process — `shutdown(immediate)` (Python 3.13's
    /// `queue.Queue`; multiprocessing has none).
    ///
    /// Puts fail at once with `ShutDown`. With `immediate == false`, gets drain what is
    /// left and then fail; with `immediate == true` the items left are discarded
    /// (`qsize()` is 0 at once) and every get fails; for a `JoinableQueue` the
    /// discarded items count as done, so `join` waits only for the tasks consumers
    /// already took (as in Python).
    pub fn shutdown(&self, immediate: bool) {
        self.ring.shutdown(immediate);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.ring.is_shutdown()
    }
}
