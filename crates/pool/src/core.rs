//! The worker machinery shared by [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) and
//! [`ThreadPool`](crate::ThreadPool): one shared job queue, lazily started
//! named workers, a sleep protocol, and the shutdown gate.
//!
//! * **Queue.** Submitters push onto one shared `JobQueue` (a lock-free ring with a
//!   locked overflow list, see `queue.rs`); workers take jobs from it one at a time, so
//!   jobs start in submission order (Python's first-in first-out) and nothing ever sits
//!   behind a blocked worker.
//! * **Sleep.** A worker with nothing to do polls briefly (yielding between polls), then
//!   sleeps on a condition variable after announcing itself in the sleeper bits of
//!   `state` (the same word as the submission gate). A submitter learns whether anyone
//!   sleeps from the read-modify-write that leaves the gate after its push, so a busy
//!   pool makes no system call and no extra atomic operation per submission. No wake-up
//!   is lost: both sides write `state`, so either the submitter's write comes first and
//!   the sleeper (acquiring it) sees the queued job, or the sleeper's comes first and the
//!   submitter sees the sleeper and signals it under the sleep lock, which the sleeper
//!   holds until it waits.
//! * **No work on blocked stacks.** Workers only take jobs in their loop. A worker blocked
//!   inside a task (on a future, a lock, a queue) just blocks; the other workers keep
//!   taking jobs from the shared queue. So a task waiting on another task of the same pool
//!   finishes as long as one worker is free.
//! * **Submission gate.** `state` counts submitters in flight plus a `SHUT` bit. `submit`
//!   enters (one `fetch_add`), checks the bit, pushes, leaves. `shutdown` sets the bit,
//!   waits until no submitter is inside, then sets `closed` and wakes every worker;
//!   workers leave once `closed` is set and the queue is empty, so no job is left behind
//!   unrun. Workers read only `closed`, a flag on its own cache line, so spinning workers
//!   do not pull the gate counter away from the submitting thread.
//! * **Spawning** happens inside `submit`, before the job is queued, so a failed spawn
//!   hands the job back to the caller when the pool has no worker at all.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, ThreadId};
use std::time::Instant;

use crossbeam_utils::{Backoff, CachePadded};
use parking_lot::{Condvar, Mutex};
use skein_threads::{JoinHandle, SpawnError};

use crate::cell::Cell;
use crate::error::{BuildError, SubmitError, TaskError, panic_message};
use crate::future::{Future, wait_on};
use crate::queue::JobQueue;
use crate::spawn::spawn;
use crate::task::{Call, TaskRef};

// `state`: the gate's flags, sleeping workers in the upper half, submitters inside the
// gate in the lower half.
const SHUT: usize = 1 << (usize::BITS - 1);
const BROKEN: usize = 1 << (usize::BITS - 2);
const SLEEPER: usize = 1 << (usize::BITS / 2);
const SLEEPERS: usize = !(SHUT | BROKEN) & !(SLEEPER - 1);
const COUNT: usize = SLEEPER - 1;

/// What an `initializer` is.
pub(crate) type Initializer = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) name_prefix: String,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) stack_size: Option<usize>,
}

/// What both builders collect (`ThreadPoolExecutor`'s and `ThreadPool`'s); unset options
/// take each pool's defaults in [`Options::into_config`].
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) workers: Option<usize>,
    pub(crate) prefix: Option<String>,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) stack_size: Option<usize>,
}

impl Options {
    /// The pool's configuration: `default_workers()` workers unless a count was given,
    /// named `{kind}-{n}_…` with `n` drawn from `counter` unless a prefix was given.
    pub(crate) fn into_config(
        self,
        default_workers: impl FnOnce() -> usize,
        kind: &str,
        counter: &AtomicUsize,
    ) -> Result<Config, BuildError> {
        let max_workers = self.workers.unwrap_or_else(default_workers);
        if max_workers == 0 {
            return Err(BuildError::zero_workers());
        }
        let name_prefix = self
            .prefix
            .unwrap_or_else(|| format!("{kind}-{}", counter.fetch_add(1, Ordering::Relaxed)));
        Ok(Config {
            max_workers,
            name_prefix,
            initializer: self.initializer,
            stack_size: self.stack_size,
        })
    }
}

struct Workers {
    handles: Vec<(ThreadId, JoinHandle<()>)>,
    alive: usize,
}

pub(crate) struct Core {
    queue: JobQueue,
    // Written twice per submit by the submitting thread; alone on its line.
    state: CachePadded<AtomicUsize>,
    // Set once the gate is shut and empty; what workers read.
    closed: CachePadded<AtomicBool>,
    /// Set by a shutdown that cancels queued jobs (`terminate`, `cancel_futures`); shared
    /// with the running map jobs, which stop claiming chunks when they see it.
    cancel_queued: Arc<AtomicBool>,
    spawned: AtomicUsize,
    idle: AtomicUsize,
    sleep_lock: Mutex<()>,
    sleep_cond: Condvar,
    workers: Mutex<Workers>,
    exited: Condvar,
    config: Config,
}

/// A submitter inside the gate; leaving it lets `shutdown` proceed.
pub(crate) struct Entered<'a>(&'a Core);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        // Release: a sleeper that announces itself after this sees what was pushed.
        let state = self.0.state.fetch_sub(1, Ordering::AcqRel);
        if state & SLEEPERS != 0 {
            self.0.notify_one();
        }
    }
}

/// Why the gate refused a submitter.
pub(crate) enum Refused {
    ShutDown,
    Broken,
}

/// Rounds an idle worker looks for work (yielding its core each round) before it sleeps.
/// A sleeping worker costs the next submitter a futex wake and the job a wake-up latency
/// of tens of microseconds on a busy machine; rayon's workers likewise yield 32 rounds
/// before they sleep, so back-to-back `map` calls find them awake.
const IDLE_ROUNDS: u32 = 64;

impl Core {
    pub(crate) fn new(config: Config) -> Arc<Core> {
        Arc::new(Core {
            queue: JobQueue::new(),
            state: CachePadded::new(AtomicUsize::new(0)),
            closed: CachePadded::new(AtomicBool::new(false)),
            cancel_queued: Arc::new(AtomicBool::new(false)),
            spawned: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            sleep_cond: Condvar::new(),
            workers: Mutex::new(Workers {
                handles: Vec::new(),
                alive: 0,
            }),
            exited: Condvar::new(),
            config,
        })
    }

    /// The flag a cancelling shutdown sets (see `cancel_queued`), for jobs that run long
    /// and can stop between their parts (a map's chunks).
    pub(crate) fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel_queued)
    }

    pub(crate) fn max_workers(&self) -> usize {
        self.config.max_workers
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.state.load(Ordering::Acquire) & SHUT != 0
    }

    /// Workers started so far.
    pub(crate) fn spawned(&self) -> usize {
        self.spawned.load(Ordering::Acquire)
    }

    /// Enters the submission gate.
    pub(crate) fn enter(&self) -> Result<Entered<'_>, Refused> {
        let state = self.state.fetch_add(1, Ordering::Acquire);
        let entered = Entered(self);
        if state & BROKEN != 0 {
            Err(Refused::Broken)
        } else if state & SHUT != 0 {
            Err(Refused::ShutDown)
        } else {
            Ok(entered)
        }
    }

    /// Makes sure a worker will pick up the next job (Python's `_adjust_thread_count`,
    /// made exact): while the pool is below `max_workers`, start a worker unless there are
    /// at least as many idle workers as queued jobs (counting this one). So a job queued by
    /// a task that then blocks on it always finds a worker when the pool has room for one.
    /// Fails only when the pool has no worker at all and the OS refused to start one.
    pub(crate) fn ensure_worker(
        self: &Arc<Self>,
        _entered: &Entered<'_>,
    ) -> Result<(), SpawnError> {
        if self.spawned.load(Ordering::Relaxed) >= self.config.max_workers {
            return Ok(());
        }
        if self.idle.load(Ordering::Acquire) > self.queue.len() {
            return Ok(());
        }
        match self.spawn_one() {
            Ok(()) => Ok(()),
            Err(e) if self.spawned.load(Ordering::Acquire) == 0 => Err(e),
            // Other workers exist and will run the job.
            Err(_) => Ok(()),
        }
    }

    /// Starts every worker now (`ThreadPool` does, like `multiprocessing.Pool`).
    pub(crate) fn spawn_all(self: &Arc<Self>) -> Result<(), SpawnError> {
        while self.spawned.load(Ordering::Acquire) < self.config.max_workers {
            self.spawn_one()?;
        }
        Ok(())
    }

    fn spawn_one(self: &Arc<Self>) -> Result<(), SpawnError> {
        let mut workers = self.workers.lock();
        let n = self.spawned.load(Ordering::Acquire);
        if n >= self.config.max_workers {
            return Ok(());
        }
        let name = format!("{}_{}", self.config.name_prefix, n);
        let core = self.clone();
        workers.alive += 1;
        match spawn(name, self.config.stack_size, move || core.worker()) {
            Ok((id, handle)) => {
                workers.handles.push((id, handle));
                self.spawned.store(n + 1, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                workers.alive -= 1;
                Err(e)
            }
        }
    }

    /// Queues a job and wakes a sleeping worker if there is one (for a submitter that
    /// pushes several jobs while inside the gate).
    pub(crate) fn push(&self, task: TaskRef, _entered: &Entered<'_>) {
        self.queue.push(task);
        // A read-modify-write of `state`, like leaving the gate: ordered with a sleeper's.
        if self.state.fetch_add(0, Ordering::AcqRel) & SLEEPERS != 0 {
            self.notify_one();
        }
    }

    /// Submits a job that runs in place on a worker: the gate, a worker if needed, one
    /// allocation for job + future, one push.
    pub(crate) fn submit_call<J>(
        self: &Arc<Self>,
        job: J,
    ) -> Result<Future<J::Output>, SubmitError<J>>
    where
        J: Call,
        J::Output: Send + Sync + 'static,
    {
        let entered = match self.enter() {
            Ok(entered) => entered,
            Err(Refused::ShutDown) => return Err(SubmitError::ShutDown(job)),
            Err(Refused::Broken) => return Err(SubmitError::Broken(job)),
        };
        if let Err(e) = self.ensure_worker(&entered) {
            return Err(SubmitError::Spawn(job, e));
        }
        let (task, future) = Cell::create(job);
        self.queue.push(task);
        // Leaving the gate wakes a sleeping worker if there is one.
        drop(entered);
        Ok(future)
    }

    /// Wakes every sleeping worker now, before their jobs are queued: a submitter about to
    /// spend a while preparing a batch (a `map` gathering its items) lets the wake-up
    /// latency overlap with that work. Costs one load when nobody sleeps.
    pub(crate) fn wake_sleepers(&self) {
        if self.state.load(Ordering::Acquire) & SLEEPERS != 0 {
            self.wake_all();
        }
    }

    fn notify_one(&self) {
        let _guard = self.sleep_lock.lock();
        self.sleep_cond.notify_one();
    }

    fn wake_all(&self) {
        let _guard = self.sleep_lock.lock();
        self.sleep_cond.notify_all();
    }

    fn has_work(&self) -> bool {
        !self.queue.is_empty()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Waits for work; `false` when the worker should exit.
    fn sleep(&self) -> bool {
        for round in 0..IDLE_ROUNDS {
            if self.has_work() {
                return true;
            }
            if self.is_closed() {
                return false;
            }
            // Yield on every round, not only after the spinning ones: when workers outpace
            // the submitter (no-op tasks), a worker polling the queue's indices in a busy
            // loop keeps taking the cache lines the submitter writes, and on a machine
            // with fewer cores than threads it takes the submitter's core as well.
            if round < 6 {
                for _ in 0..1 << round {
                    std::hint::spin_loop();
                }
            }
            thread::yield_now();
        }
        let mut guard = self.sleep_lock.lock();
        // Acquire: pairs with the release of a submitter that wrote `state` before us.
        self.state.fetch_add(SLEEPER, Ordering::AcqRel);
        let work = self.has_work();
        let shut = self.is_closed();
        if !work && !shut {
            self.sleep_cond.wait(&mut guard);
        }
        self.state.fetch_sub(SLEEPER, Ordering::AcqRel);
        work || !shut || self.has_work()
    }

    fn worker(self: Arc<Self>) {
        let mut broken = None;
        if let Some(init) = &self.config.initializer {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| init())) {
                let message = panic_message(&*payload);
                eprintln!(
                    "skein-pool: initializer panicked in {}: {message}; the pool is broken",
                    thread::current().name().unwrap_or("a worker")
                );
                self.state.fetch_or(BROKEN, Ordering::AcqRel);
                broken = Some(Arc::<str>::from(format!("initializer panicked: {message}")));
            }
        }
        loop {
            match self.queue.pop() {
                Some(task) => {
                    if let Some(why) = &broken {
                        task.fail(TaskError::Broken(why.clone()));
                    } else if self.cancel_queued.load(Ordering::Acquire) {
                        task.fail(TaskError::Cancelled);
                    } else {
                        task.run();
                    }
                }
                None => {
                    // Idle workers are counted only while the pool may still grow.
                    let counted = self.spawned.load(Ordering::Relaxed) < self.config.max_workers;
                    if counted {
                        self.idle.fetch_add(1, Ordering::AcqRel);
                    }
                    let keep_going = self.sleep();
                    if counted {
                        self.idle.fetch_sub(1, Ordering::AcqRel);
                    }
                    if !keep_going {
                        break;
                    }
                }
            }
        }
        let mut workers = self.workers.lock();
        workers.alive -= 1;
        self.exited.notify_all();
    }

    /// Closes the gate, optionally cancels queued jobs, and wakes every worker so they
    /// leave once the queues are empty.
    pub(crate) fn begin_shutdown(&self, cancel_futures: bool) {
        self.state.fetch_or(SHUT, Ordering::AcqRel);
        // Wait for submitters already inside the gate to finish pushing.
        let backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & COUNT != 0 {
            backoff.snooze();
        }
        if cancel_futures {
            self.cancel_queued.store(true, Ordering::Release);
            while let Some(task) = self.queue.pop() {
                task.fail(TaskError::Cancelled);
            }
        }
        self.closed.store(true, Ordering::Release);
        self.wake_all();
    }

    /// Waits until every worker has exited (or `deadline` passes), then joins them, except
    /// the calling thread if it is one of them. `true` if all exited.
    pub(crate) fn join_workers(&self, deadline: Option<Instant>) -> bool {
        let me = thread::current().id();
        let mut workers = self.workers.lock();
        let own = workers.handles.iter().any(|(id, _)| *id == me) as usize;
        while workers.alive > own {
            if !wait_on(&self.exited, &mut workers, deadline) && workers.alive > own {
                return false;
            }
        }
        let handles = std::mem::take(&mut workers.handles);
        drop(workers);
        for (id, handle) in handles {
            if id != me {
                let _ = handle.join();
            }
        }
        true
    }

    /// Worker threads still running.
    pub(crate) fn alive(&self) -> usize {
        self.workers.lock().alive
    }
}
