//! Workers: consume a queue's jobs and run each in a local skein process pool.

mod reader;
mod writer;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::{Condvar, Mutex};
use skein_pool::{Executor, ProcessPoolExecutor};

use crate::engine::keys::Keys;
use crate::engine::link::Link;
use crate::engine::scripts::Scripts;
use crate::error::ConnectError;
use crate::registry::{Registry, RunOutcome};

/// Python (Celery): `celery -A app worker --concurrency N`. Starts building a worker for
/// the Redis server at `url` that runs the functions of `registry`; finish with
/// [`WorkerBuilder::start`].
///
/// # Examples
///
/// ```no_run
/// use skein_apalis::Registry;
///
/// #[inline(never)]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// fn main() {
///     skein_process::init(); // the worker's process pool re-executes this binary
///     let registry = Registry::new().register("square", square);
///     let worker = skein_apalis::worker("redis://127.0.0.1:6379/", registry)
///         .concurrency(4)
///         .start()
///         .expect("Redis reachable");
///     worker.join(); // runs until stopped
/// }
/// ```
pub fn worker(url: &str, registry: Registry) -> WorkerBuilder {
    WorkerBuilder {
        url: url.to_owned(),
        registry,
        queue: "default".into(),
        concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        max_retries: 0,
        lease: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        name: None,
    }
}

/// Options of a worker: [`worker`].
#[derive(Debug, Clone)]
pub struct WorkerBuilder {
    url: String,
    registry: Registry,
    queue: String,
    concurrency: usize,
    max_retries: u32,
    lease: Duration,
    timeout: Duration,
    name: Option<String>,
}

impl WorkerBuilder {
    /// The queue to consume (the executor's [`queue`](crate::DistributedExecutorBuilder::queue)).
    /// Default `"default"`.
    pub fn queue(mut self, name: &str) -> Self {
        self.queue = name.to_owned();
        self
    }

    /// How many jobs run at once: the size of the worker's process pool (Celery's
    /// `--concurrency`). Default: the number of CPUs.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many times a job whose worker died is run again before its future fails with
    /// [`WorkerLost`](crate::WorkerLost). Default 0: a job is never run twice (Celery's
    /// `acks_late` with `reject_on_worker_lost=False`).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// How long this worker's lease lasts without renewal (it renews every third of it).
    /// Other workers take over the jobs of a worker whose lease expired. Default 10 s;
    /// every worker of a queue should use the same value.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    /// How long one Redis operation may take before it is retried. Default 5 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The consumer name in Redis (unique per worker). Default: host name, pid and a
    /// random suffix.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Connects, starts the process pool and the worker's two threads (one takes jobs,
    /// one stores outcomes), and returns at once.
    ///
    /// # Errors
    ///
    /// [`ConnectError`]: a malformed URL, an unreachable server, or a pool that could not
    /// start.
    pub fn start(self) -> Result<Worker, ConnectError> {
        let mut link =
            Link::new(&self.url, self.timeout).map_err(|e| ConnectError::Url(e.to_string()))?;
        let keys = Keys::new(&self.queue);
        link.ensure_group(&keys)
            .map_err(|e| ConnectError::Redis(e.to_string()))?;
        let pool = ProcessPoolExecutor::builder()
            .max_workers(self.concurrency)
            .build()
            .map_err(|e| ConnectError::Start(e.to_string()))?;
        let consumer = self
            .name
            .unwrap_or_else(|| format!("{}-{}-{}", host(), std::process::id(), crate::unique_id()));
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            url: self.url,
            keys,
            scripts: Scripts::new(),
            registry: self.registry,
            pool,
            consumer,
            concurrency: self.concurrency,
            max_retries: self.max_retries,
            lease: self.lease,
            timeout: self.timeout,
            stop: AtomicBool::new(false),
            inflight: Mutex::new(HashSet::new()),
            freed: Condvar::new(),
            done: tx,
            completed: AtomicU64::new(0),
        });
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| ConnectError::Start(e.to_string()))
        };
        let s = shared.clone();
        let reader = spawn("skein-apalis-take", Box::new(move || reader::run(&s, link)))?;
        let s = shared.clone();
        let writer = spawn("skein-apalis-store", Box::new(move || writer::run(&s, &rx)))?;
        Ok(Worker {
            shared,
            threads: vec![reader, writer],
        })
    }
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into())
}

/// A job taken from the queue and handed to the pool, and how it ended.
pub(crate) struct Finished {
    pub(crate) entry: String,
    pub(crate) id: Vec<u8>,
    pub(crate) func: Vec<u8>,
    pub(crate) args: Vec<u8>,
    /// The job's time limit as it travels (see `stream::encode_limit`).
    pub(crate) limit: Vec<u8>,
    pub(crate) outcome: RunOutcome,
}

pub(crate) struct Shared {
    pub(crate) url: String,
    pub(crate) keys: Keys,
    pub(crate) scripts: Scripts,
    pub(crate) registry: Registry,
    pub(crate) pool: ProcessPoolExecutor,
    pub(crate) consumer: String,
    pub(crate) concurrency: usize,
    pub(crate) max_retries: u32,
    pub(crate) lease: Duration,
    pub(crate) timeout: Duration,
    pub(crate) stop: AtomicBool,
    /// The stream entries of the jobs handed to the pool and not yet stored.
    pub(crate) inflight: Mutex<HashSet<String>>,
    pub(crate) freed: Condvar,
    pub(crate) done: Sender<Finished>,
    pub(crate) completed: AtomicU64,
}

impl Shared {
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Hands a job to the pool; its outcome goes to the store thread.
    pub(crate) fn dispatch(
        &self,
        entry: String,
        id: Vec<u8>,
        func: Vec<u8>,
        args: Vec<u8>,
        limit: Vec<u8>,
    ) {
        self.inflight.lock().insert(entry.clone());
        let tx = self.done.clone();
        let name = String::from_utf8_lossy(&func).into_owned();
        let job_args = args.clone();
        self.registry.run(
            &name,
            &self.pool,
            &job_args,
            crate::stream::decode_limit(&limit),
            Box::new(move |outcome| {
                let _ = tx.send(Finished {
                    entry,
                    id,
                    func,
                    args,
                    limit,
                    outcome,
                });
            }),
        );
    }

    pub(crate) fn release(&self, entry: &str) {
        self.inflight.lock().remove(entry);
        self.freed.notify_all();
    }
}

/// A running worker: [`worker`]`(...).start()`.
///
/// It takes at most `concurrency` jobs at a time from the queue's consumer group, runs
/// each in its [`ProcessPoolExecutor`] (so a job that crashes its process fails — or, with
/// retries, re-queues — only itself), and stores each outcome in Redis together with the
/// acknowledgement. Dropping it is [`stop`](Worker::stop) then [`join`](Worker::join).
pub struct Worker {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Worker {
    /// This worker's consumer name in Redis.
    pub fn name(&self) -> &str {
        &self.shared.consumer
    }

    /// Jobs this worker finished and stored (values, panics and failures alike).
    pub fn completed(&self) -> u64 {
        self.shared.completed.load(Ordering::Relaxed)
    }

    /// Stops taking jobs; the jobs running finish and their outcomes are stored (Celery's
    /// warm shutdown). Returns at once; [`join`](Worker::join) waits.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.freed.notify_all();
    }

    /// Waits until the worker has stopped (after [`stop`](Worker::stop), from another
    /// thread or a signal handler's flag) and shuts its pool down.
    pub fn join(mut self) {
        self.join_threads();
    }

    fn join_threads(&mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.shared.pool.shutdown(true, false);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
        self.join_threads();
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("name", &self.shared.consumer)
            .field("queue", &self.shared.keys.stream)
            .field("concurrency", &self.shared.concurrency)
            .field("max_retries", &self.shared.max_retries)
            .finish_non_exhaustive()
    }
}

pub(crate) type DoneRx = Receiver<Finished>;
