//! `DistributedExecutor`: skein's `Executor` + `Submit` over a Redis job stream.

mod listener;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_pool::{
    Call, EncodeError, EngineError, Executor, Future, Map, Promise, Submit, SubmitError, TaskError,
};

use crate::engine::Reply;
use crate::engine::keys::{GROUP, Keys};
use crate::engine::link::{Link, is_connection_error};
use crate::engine::scripts::Scripts;
use crate::error::{ConnectError, JobFailed, WorkerLost};
use crate::registry::Registry;

type Completer = Box<dyn FnOnce(Reply) + Send>;

/// What the executor, its listener thread and its futures' cancellers share.
pub(crate) struct Shared {
    pub(crate) url: String,
    pub(crate) keys: Keys,
    /// This executor's reply stream.
    pub(crate) reply: String,
    id: String,
    registry: Registry,
    scripts: Scripts,
    link: Mutex<Link>,
    pub(crate) timeout: Duration,
    /// Jobs submitted and not resolved, by sequence number.
    pending: Mutex<Pending>,
    drained: Condvar,
    seq: AtomicU64,
    closed: AtomicBool,
    max_workers: usize,
}

#[derive(Default)]
pub(crate) struct Pending {
    jobs: HashMap<u64, Completer>,
    closed: bool,
}

impl Shared {
    fn job_id(&self, seq: u64) -> String {
        format!("{}-{seq}", self.id)
    }

    /// Completes the job `seq` with `reply` (nothing if it was resolved already).
    pub(crate) fn complete(&self, seq: u64, reply: Reply) {
        let completer = {
            let mut p = self.pending.lock();
            let c = p.jobs.remove(&seq);
            if p.jobs.is_empty() {
                self.drained.notify_all();
            }
            c
        };
        if let Some(c) = completer {
            c(reply);
        }
    }

    /// `true` once shut down and nothing is pending: the listener may stop.
    pub(crate) fn finished(&self) -> bool {
        let p = self.pending.lock();
        p.closed && p.jobs.is_empty()
    }

    /// The sequence number of a job id of this executor.
    pub(crate) fn seq_of(&self, job_id: &[u8]) -> Option<u64> {
        let s = std::str::from_utf8(job_id).ok()?;
        let (exec, seq) = s.rsplit_once('-')?;
        if exec != self.id {
            return None;
        }
        seq.parse().ok()
    }

    /// Removes a job that no worker has started; `true` if it was removed.
    fn cancel(&self, seq: u64) -> bool {
        let job = self.keys.job(&self.job_id(seq));
        let r: redis::RedisResult<i64> = self.link.lock().run(Duration::ZERO, |c| {
            self.scripts
                .cancel
                .key(&self.keys.stream)
                .key(&job)
                .arg(GROUP)
                .invoke(c)
        });
        if matches!(r, Ok(1)) {
            self.complete(seq, Reply::Cancelled);
            true
        } else {
            false
        }
    }

    /// Adds the job: one script call, retried once on a dropped connection (the script
    /// is idempotent per job id, so a retry never queues a job twice).
    fn enqueue(
        &self,
        seq: u64,
        name: &str,
        args: &[u8],
        limit: Option<Duration>,
    ) -> redis::RedisResult<()> {
        let limit = crate::stream::encode_limit(limit);
        let id = self.job_id(seq);
        let job = self.keys.job(&id);
        let run = |link: &mut Link| {
            link.run(Duration::ZERO, |c| {
                self.scripts
                    .submit
                    .key(&self.keys.stream)
                    .key(&job)
                    .arg(&id)
                    .arg(name)
                    .arg(args)
                    .arg(&self.reply)
                    .arg(&limit)
                    .invoke::<String>(c)
            })
        };
        let mut link = self.link.lock();
        match run(&mut link) {
            Err(e) if is_connection_error(&e) => run(&mut link).map(drop),
            r => r.map(drop),
        }
    }

    fn wait_drained(&self, deadline: Option<Instant>) -> bool {
        let mut p = self.pending.lock();
        while !p.jobs.is_empty() {
            match deadline {
                Some(d) => {
                    if self.drained.wait_until(&mut p, d).timed_out() {
                        return p.jobs.is_empty();
                    }
                }
                None => self.drained.wait(&mut p),
            }
        }
        true
    }
}

/// Python's `concurrent.futures` executor past one machine (Celery's `task.delay`): jobs
/// go to a Redis stream, any [`Worker`](crate::Worker) on any machine runs them, and each
/// `submit` returns a skein [`Future`] resolved when the job's reply comes back.
///
/// It implements [`Executor`] and [`Submit<Call<A, R>>`](Submit) like
/// [`ProcessPoolExecutor`](skein_pool::ProcessPoolExecutor), for the same plain functions
/// with serde arguments — registered by name in a [`Registry`] — so moving from one
/// machine to many is the line that builds the executor. `add_done_callback`,
/// [`as_completed`](skein_pool::as_completed), [`wait`](skein_pool::wait) and the lazy
/// [`map`](DistributedExecutor::map) work on its futures unchanged.
///
/// * A future is [`running`](Future::running) from `submit` on: the job is in the
///   engine's hands (CPython marks a process pool's queued calls running too).
///   [`cancel`](Future::cancel) still removes a job no worker has taken and returns
///   `true`; once a worker has it, `false`.
/// * An argument that cannot be serialised, or a function missing from the registry, is
///   [`SubmitError::Encode`] at `submit`; a Redis server that does not answer within the
///   [`timeout`](DistributedExecutorBuilder::timeout) is [`SubmitError::Engine`]. Both hand
///   the call back.
/// * A panic in the job is [`TaskError::Panicked`] with its message; a worker death past
///   the retry policy is [`TaskError::Failed`] with a [`WorkerLost`]; other failures
///   reported by a worker are [`JobFailed`].
///
/// # Examples
///
/// ```no_run
/// use skein_apalis::{DistributedExecutor, Registry};
/// use skein_pool::{Call, Submit};
///
/// #[inline(never)]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// fn registry() -> Registry {
///     Registry::new().register("square", square)
/// }
///
/// // was: let pool = ProcessPoolExecutor::new(4)?;
/// let pool = DistributedExecutor::new("redis://127.0.0.1:6379/", registry())?;
/// let f = pool.submit(Call::new(square, 7))?;
/// assert_eq!(*f.result()?, 49); // once a worker (skein_apalis::worker) runs it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DistributedExecutor {
    shared: Arc<Shared>,
    listener: Mutex<Option<JoinHandle<()>>>,
}

/// Options of a [`DistributedExecutor`]: [`DistributedExecutor::builder`].
#[derive(Debug, Clone)]
pub struct DistributedExecutorBuilder {
    url: String,
    registry: Registry,
    queue: String,
    timeout: Duration,
    max_workers: usize,
}

impl DistributedExecutorBuilder {
    /// The queue (Celery: the queue name) the jobs go to; workers of the same queue run
    /// them. Default `"default"`.
    pub fn queue(mut self, name: &str) -> Self {
        self.queue = name.to_owned();
        self
    }

    /// How long a Redis operation (connect, send, read) may take before `submit` gives
    /// up with [`SubmitError::Engine`]. Default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What [`Executor::max_workers`] reports: `map` keeps twice this many jobs in
    /// flight. Default 8. (The cluster's real size is the sum of its workers'
    /// concurrency, which the submitter does not know.)
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = n.max(1);
        self
    }

    /// Connects, makes sure the queue's stream and consumer group exist, and starts the
    /// thread that reads replies.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Url`] for a malformed URL, [`ConnectError::Redis`] when the server
    /// does not answer within the timeout.
    pub fn build(self) -> Result<DistributedExecutor, ConnectError> {
        let mut link =
            Link::new(&self.url, self.timeout).map_err(|e| ConnectError::Url(e.to_string()))?;
        let keys = Keys::new(&self.queue);
        link.ensure_group(&keys)
            .map_err(|e| ConnectError::Redis(e.to_string()))?;
        let id = crate::unique_id();
        let shared = Arc::new(Shared {
            url: self.url,
            reply: keys.reply(&id),
            keys,
            id,
            registry: self.registry,
            scripts: Scripts::new(),
            link: Mutex::new(link),
            timeout: self.timeout,
            pending: Mutex::new(Pending::default()),
            drained: Condvar::new(),
            seq: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            max_workers: self.max_workers,
        });
        let listener = listener::start(shared.clone())
            .map_err(|e| ConnectError::Start(format!("the reply thread: {e}")))?;
        Ok(DistributedExecutor {
            shared,
            listener: Mutex::new(Some(listener)),
        })
    }
}

impl DistributedExecutor {
    /// An executor sending jobs to the queue `"default"` of the Redis server at `url`
    /// (`redis://host:port/db`), naming functions by `registry`.
    ///
    /// # Errors
    ///
    /// As [`DistributedExecutorBuilder::build`].
    pub fn new(url: &str, registry: Registry) -> Result<DistributedExecutor, ConnectError> {
        DistributedExecutor::builder(url, registry).build()
    }

    /// Options: queue name, Redis timeout, `max_workers`.
    pub fn builder(url: &str, registry: Registry) -> DistributedExecutorBuilder {
        DistributedExecutorBuilder {
            url: url.to_owned(),
            registry,
            queue: "default".into(),
            timeout: Duration::from_secs(5),
            max_workers: 8,
        }
    }

    /// Python `executor.map(fn, items)`: lazy and ordered, at most `2 × max_workers` jobs
    /// in flight (backpressure), each item a [`Call`] of `f`.
    pub fn map<A, R, I>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> Map<'_, Self, Call<A, R>, impl Iterator<Item = Call<A, R>> + use<A, R, I>>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_jobs(items.into_iter().map(move |a| Call::new(f, a)))
    }

    /// Jobs submitted by this executor and not resolved yet.
    pub fn pending(&self) -> usize {
        self.shared.pending.lock().jobs.len()
    }

    /// The registry this executor names functions by.
    pub fn registry(&self) -> &Registry {
        &self.shared.registry
    }

    fn close(&self, cancel_futures: bool) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let seqs: Vec<u64> = {
            let mut p = self.shared.pending.lock();
            p.closed = true;
            if cancel_futures {
                p.jobs.keys().copied().collect()
            } else {
                Vec::new()
            }
        };
        for seq in seqs {
            self.shared.cancel(seq);
        }
    }
}

impl<A, R> Submit<Call<A, R>> for DistributedExecutor
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Output = R;

    fn submit(&self, job: Call<A, R>) -> Result<Future<R>, SubmitError<Call<A, R>>> {
        let shared = &self.shared;
        let name = match shared.registry.resolve(&job) {
            Ok(name) => name,
            Err(why) => return Err(SubmitError::Encode(job, EncodeError::new(why))),
        };
        let bytes = match postcard::to_allocvec(job.args()) {
            Ok(b) => b,
            Err(e) => return Err(SubmitError::Encode(job, EncodeError::new(e.to_string()))),
        };
        let limit = job.time_limit();
        let seq = shared.seq.fetch_add(1, Ordering::Relaxed);
        let (promise, future) = Promise::new();
        promise.set_running();
        let weak = Arc::downgrade(shared);
        promise.on_cancel_running(move || weak.upgrade().is_some_and(|s| s.cancel(seq)));
        {
            let mut p = shared.pending.lock();
            if p.closed {
                return Err(SubmitError::ShutDown(job));
            }
            p.jobs.insert(seq, completer(promise));
        }
        match shared.enqueue(seq, name, &bytes, limit) {
            Ok(()) => Ok(future),
            Err(e) => {
                let c = shared.pending.lock().jobs.remove(&seq);
                drop(c);
                let e = EngineError::new(format!("{} ({e})", shared.url));
                Err(SubmitError::Engine(job, e))
            }
        }
    }
}

/// Completes a typed promise from a reply.
fn completer<R>(promise: Promise<R>) -> Completer
where
    R: DeserializeOwned + Send + Sync + 'static,
{
    Box::new(move |reply| match reply {
        Reply::Ok(bytes) => match postcard::from_bytes::<R>(&bytes) {
            Ok(v) => promise.set_result(v),
            Err(e) => promise.set_error(TaskError::Failed(Arc::new(JobFailed {
                message: format!(
                    "its value does not decode as {} here: {e}",
                    std::any::type_name::<R>()
                ),
            }))),
        },
        Reply::Panicked(m) => promise.set_error(TaskError::Panicked(m.into())),
        Reply::Failed(m) => {
            promise.set_error(TaskError::Failed(Arc::new(JobFailed { message: m })))
        }
        Reply::Lost(m) => promise.set_error(TaskError::Failed(Arc::new(WorkerLost { reason: m }))),
        Reply::Cancelled => promise.set_error(TaskError::Cancelled),
    })
}

impl Executor for DistributedExecutor {
    fn max_workers(&self) -> usize {
        self.shared.max_workers
    }

    fn is_shutdown(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Refuses new jobs; with `cancel_futures` removes the jobs no worker has taken; with
    /// `wait` blocks until every submitted job has its reply. Workers are not touched:
    /// they belong to the cluster, not to this submitter.
    fn shutdown(&self, wait: bool, cancel_futures: bool) {
        self.close(cancel_futures);
        if wait {
            self.shared.wait_drained(None);
            if let Some(h) = self.listener.lock().take() {
                let _ = h.join();
            }
        }
    }

    fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> bool {
        self.close(cancel_futures);
        let ok = self.shared.wait_drained(Some(Instant::now() + timeout));
        if ok {
            if let Some(h) = self.listener.lock().take() {
                let _ = h.join();
            }
        }
        ok
    }
}

impl Drop for DistributedExecutor {
    fn drop(&mut self) {
        self.shutdown(true, false);
    }
}

impl fmt::Debug for DistributedExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DistributedExecutor")
            .field("url", &self.shared.url)
            .field("queue", &self.shared.keys.stream)
            .field("pending", &self.pending())
            .field("shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}
