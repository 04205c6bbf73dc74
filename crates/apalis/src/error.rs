//! Errors: connecting, and the ways a job's future fails besides a panic or a cancel.

use std::error::Error;
use std::fmt;

/// Building a [`DistributedExecutor`](crate::DistributedExecutor) or starting a
/// [`Worker`](crate::Worker) failed: the URL is malformed, the Redis server is unreachable,
/// or the local process pool could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL was not a Redis URL (`redis://host:port/db`).
    Url(String),
    /// The server did not answer (refused, timed out, or answered with an error).
    Redis(String),
    /// The worker's local process pool or threads could not start.
    Start(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Url(e) => write!(f, "not a Redis URL: {e}"),
            ConnectError::Redis(e) => write!(f, "the Redis server is unreachable: {e}"),
            ConnectError::Start(e) => write!(f, "the worker could not start: {e}"),
        }
    }
}

impl Error for ConnectError {}

/// A job's worker died (the machine, the worker process, or the pool process running the
/// job) and the retry policy allowed no further attempt — or a worker held it past its
/// lease. The error of its future ([`TaskError::Failed`](skein_pool::TaskError::Failed);
/// `downcast_ref::<WorkerLost>()`).
#[derive(Debug, Clone)]
pub struct WorkerLost {
    pub(crate) reason: String,
}

impl WorkerLost {
    /// What was seen: which worker, how it died, after how many attempts.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for WorkerLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the job's worker died: {}", self.reason)
    }
}

impl Error for WorkerLost {}

/// A worker ran the job (or tried to) and reported a failure other than a panic: no
/// function of that name in the worker, arguments that do not decode there, a value that
/// does not encode, a task timeout. Also: a value that does not decode here.
#[derive(Debug, Clone)]
pub struct JobFailed {
    pub(crate) message: String,
}

impl JobFailed {
    /// The worker's message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JobFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the job failed in its worker: {}", self.message)
    }
}

impl Error for JobFailed {}
