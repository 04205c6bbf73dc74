//! `JoinableQueue<T>`: a [`Queue`] that also counts unfinished tasks.

use std::fmt;
use std::ops::Deref;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DEFAULT_RING_BYTES, LostTasks, OnLostTasks, Queue, TaskDoneError};
use crate::shared::futex;
use crate::shm::ShmError;

/// A queue whose consumers report each item done, so a producer can wait for all of
/// them — `multiprocessing.JoinableQueue(maxsize)`.
///
/// It derefs to [`Queue`] for `put`/`get` and the rest; the count of unfinished tasks
/// is shared by every process.
///
/// **A consumer that dies holding tasks** (killed between `get` and `task_done`) does
/// not leave `join` waiting forever, as it does in Python: the queue records which
/// process holds each task it handed out, and `join` returns [`LostTasks`] (how many,
/// which pid) as soon as it finds such a process dead — or, after
/// [`on_lost_tasks`](Self::on_lost_tasks)`(OnLostTasks::CountDone)`, counts them done.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::JoinableQueue;
///
/// let q = JoinableQueue::new()?;
/// q.put("job".to_string())?;
/// assert!(!q.join_timeout(Duration::from_millis(1))?); // one unfinished task
/// let job: String = q.get()?;
/// q.task_done()?;
/// q.join()?;
/// assert!(q.task_done().is_err()); // too many calls
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableQueue").field(&self.queue).finish()
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A joinable queue bounded by its ring only — `JoinableQueue()`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<JoinableQueue<T>, ShmError> {
        Self::with_capacity(0, DEFAULT_RING_BYTES)
    }

    /// A joinable queue of at most `maxsize` items — `JoinableQueue(maxsize)`.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn bounded(maxsize: usize) -> Result<JoinableQueue<T>, ShmError> {
        Self::with_capacity(maxsize, DEFAULT_RING_BYTES)
    }

    /// As [`Queue::with_capacity`].
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn with_capacity(maxsize: usize, ring_bytes: usize) -> Result<JoinableQueue<T>, ShmError> {
        Ok(JoinableQueue {
            queue: Queue::build(maxsize, ring_bytes, true)?,
        })
    }

    /// Marks one item taken with `get` as done — `task_done()`.
    ///
    /// # Errors
    ///
    /// [`TaskDoneError`] when called more times than items were put.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        if self.queue.ring().finish_task() {
            Ok(())
        } else {
            Err(TaskDoneError)
        }
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.queue.ring().unfinished() as usize
    }

    /// What [`join`](Self::join) does about tasks whose consumer died before marking
    /// them done, for every process using the queue. The default is
    /// [`OnLostTasks::Error`].
    pub fn on_lost_tasks(&self, policy: OnLostTasks) {
        self.queue.ring().set_lost_tasks_policy(policy);
    }

    /// Blocks until every item put has been marked done — `join()`.
    ///
    /// # Errors
    ///
    /// [`LostTasks`] when a consumer holding tasks died (see the type's docs); those
    /// tasks are written off.
    pub fn join(&self) -> Result<(), LostTasks> {
        self.queue.ring().join(None).map(|_| ())
    }

    /// As [`join`](Self::join), at most `timeout`; `Ok(false)` if tasks remain (CPython
    /// declined this, cpython#86586).
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, LostTasks> {
        self.queue.ring().join(Some(futex::deadline_after(timeout)))
    }

    /// As [`join`](Self::join), until `deadline`; `Ok(false)` if tasks remain.
    ///
    /// # Errors
    ///
    /// As [`join`](Self::join).
    pub fn join_deadline(&self, deadline: Instant) -> Result<bool, LostTasks> {
        self.queue.ring().join(Some(deadline))
    }
}
