//! The engine both process pools share: the task table, the queue, and the manager thread
//! that starts workers, dispatches batches, completes futures from the workers' replies,
//! and heals (a dead worker fails only the task it ran; its other tasks are requeued; a
//! replacement starts).
//!
//! Who sends a task: the manager (`dispatch`), or — when nothing is queued — the
//! submitter itself, to an idle worker the manager offered (`Inner::idle`), recording it
//! in `Inner::direct` under the same lock; the manager takes those records into its
//! workers' tables (`absorb`) before it reads a reply, buries a worker or assigns tasks.
//!
//! Who resolves a task: whoever *removes* it from the table (under the lock) completes
//! it, exactly once — the manager on a reply, a death, a timeout or terminate; a
//! canceller on `Future::cancel` of a running task. The manager only ever holds ids.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rustix::event::{PollFd, PollFlags, Timespec};
use skein_process::{
    Connection, Context, FN_REF_BYTES, ProcessHandle, RawValue, RecvError, StartMethod,
};

use super::error::{ForcedShutdown, TaskTimedOut, WorkerDied, signal_name};
use super::spin;
use super::wire::{self, Items, Reader};
use super::worker::{INITIALISING, WorkerArgs, worker_main};
use crate::error::{TaskError, WorkerStartError};

pub(crate) type TaskId = u64;

/// The completing side of a task, type-erased (a `Promise`, or a map's chunk sink).
pub(crate) trait Completer: Send {
    /// The task is handed to a worker: `false` if it was cancelled meanwhile (drop it).
    fn start(&mut self) -> bool;
    /// The worker's reply: one outcome per item.
    fn finish(self: Box<Self>, items: Items<'_>);
    /// The task produced no value.
    fn fail(self: Box<Self>, error: TaskError);
}

/// A submitted task, until it is resolved.
pub(crate) struct Task {
    pub(crate) f: [u8; FN_REF_BYTES],
    pub(crate) payload: Vec<u8>,
    pub(crate) completer: Box<dyn Completer>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) started: bool,
}

/// Why `submit` refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    ShutDown,
    Broken,
    Start(WorkerStartError),
}

/// The pool's settings.
#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) workers: usize,
    pub(crate) context: Context,
    pub(crate) initializer: Option<([u8; FN_REF_BYTES], Vec<u8>)>,
    pub(crate) max_tasks_per_child: Option<u64>,
    pub(crate) max_memory_per_child: Option<u64>,
    pub(crate) grace: Duration,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("workers", &self.workers)
            .field("context", &self.context)
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("max_memory_per_child", &self.max_memory_per_child)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<TaskId>,
    tasks: HashMap<TaskId, Task>,
    /// Tasks cancelled while running: their workers are to be stopped.
    cancels: Vec<TaskId>,
    closed: bool,
    cancel_queued: bool,
    terminate: bool,
    /// `terminate_workers()` (`Some(false)`) or `kill_workers()` (`Some(true)`).
    force: Option<bool>,
    broken: Option<Arc<str>>,
    start_error: Option<WorkerStartError>,
    live: usize,
    pids: Vec<i32>,
    sleeping: bool,
    finished: bool,
    /// Idle workers a submitter may hand one task to itself (published by the manager,
    /// see [`Engine::submit`]); each entry is taken by at most one submitter.
    idle: Vec<Idle>,
    /// Tasks submitters sent straight to an idle worker, not yet in the manager's table
    /// (it takes them in, under this lock, before it reads a reply or buries a worker).
    direct: Vec<Direct>,
}

/// An idle worker's task socket, published for a submitter's direct send.
struct Idle {
    key: u64,
    work: Arc<Connection>,
}

/// A task a submitter sent straight to the worker `key`.
struct Direct {
    key: u64,
    id: TaskId,
    timeout: Option<Duration>,
    at: Instant,
}

/// Counters, for tests, demos and `Debug`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) started: AtomicUsize,
    pub(crate) replaced: AtomicUsize,
    pub(crate) completed: AtomicU64,
}

pub(crate) struct Engine {
    inner: Mutex<Inner>,
    finished: Condvar,
    wake: Connection,
    next_id: AtomicU64,
    pub(crate) opts: Options,
    pub(crate) stats: Stats,
    manager: Mutex<Option<JoinHandle<()>>>,
}

static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);
static WORKER_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Engine {
    /// Starts the manager thread, which starts the workers; returns once they run (or the
    /// first could not start).
    pub(crate) fn start(opts: Options) -> Result<Arc<Engine>, WorkerStartError> {
        super::worker::install_hook();
        let (wake_rx, wake_tx) =
            skein_process::pipe(false).map_err(|e| WorkerStartError(e.to_string().into()))?;
        let engine = Arc::new(Engine {
            inner: Mutex::new(Inner::default()),
            finished: Condvar::new(),
            wake: wake_tx,
            next_id: AtomicU64::new(1),
            opts,
            stats: Stats::default(),
            manager: Mutex::new(None),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel();
        let weak = Arc::downgrade(&engine);
        let n = POOL_COUNTER.fetch_add(1, Ordering::Relaxed);
        let handle = std::thread::Builder::new()
            .name(format!("ProcessPool-{n}"))
            .spawn(move || {
                // The first workers start once this thread waits for them (below).
                if go_rx.recv().is_ok() {
                    Manager::run(weak, wake_rx, ready_tx);
                }
            })
            .map_err(|e| WorkerStartError(e.to_string().into()))?;
        *engine.manager.lock() = Some(handle);
        // From here until `ready` comes, this thread only waits on the two channels:
        // it holds no lock a forked worker could need (see `Manager::run`).
        let _ = go_tx.send(());
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(engine),
            Ok(Err(e)) => {
                engine.join_manager(None);
                Err(e)
            }
            Err(_) => Err(WorkerStartError("the pool's manager thread ended".into())),
        }
    }

    pub(crate) fn new_id(&self) -> TaskId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn wake(&self) {
        let _ = self.wake.send_bytes(&[]);
    }

    /// Queues a task under `id` (from [`new_id`](Engine::new_id)).
    ///
    /// The direct path: when nothing is queued and the manager has published an idle
    /// worker, the submitter writes the task to that worker's socket itself and records
    /// it (all under the lock the manager assigns tasks under), so a round trip skips the
    /// wake-up of the manager on the way out. The manager takes the record in before it
    /// reads that worker's reply or buries it, so healing, cancel, timeouts and the
    /// budgets see the task exactly as if the manager had sent it.
    pub(crate) fn submit(&self, id: TaskId, mut task: Task) -> Result<(), (Refusal, Task)> {
        let size = 1 + 8 + FN_REF_BYTES + 4 + task.payload.len();
        let frame = (size <= SMALL_FRAME).then(|| {
            let mut frame = Vec::with_capacity(size);
            frame.push(wire::BATCH);
            wire::put_task(&mut frame, id, &task.f, &task.payload);
            frame
        });
        let wake = {
            let mut inner = self.inner.lock();
            if let Some(refusal) = Self::refusal(&inner) {
                return Err((refusal, task));
            }
            if let Some(frame) = frame.filter(|_| inner.queue.is_empty()) {
                if let Some(idle) = inner.idle.pop() {
                    if task.completer.start() {
                        task.started = true;
                        if idle.work.send_bytes(&frame).is_ok() {
                            let timeout = task.timeout;
                            inner.direct.push(Direct {
                                key: idle.key,
                                id,
                                timeout,
                                at: Instant::now(),
                            });
                            inner.tasks.insert(id, task);
                            // A sleeping manager learns of it from the reply; one that
                            // must time the task is woken to set its clock.
                            let wake = timeout.is_some() && std::mem::take(&mut inner.sleeping);
                            drop(inner);
                            if wake {
                                self.wake();
                            }
                            return Ok(());
                        }
                        // The worker is gone (the manager buries it): queue the task.
                    } else {
                        inner.idle.push(idle); // cancelled meanwhile: `dispatch` drops it
                    }
                }
            }
            inner.tasks.insert(id, task);
            inner.queue.push_back(id);
            std::mem::take(&mut inner.sleeping)
        };
        if wake {
            self.wake();
        }
        Ok(())
    }

    /// Queues several tasks at once (a map's chunks).
    pub(crate) fn submit_many(&self, tasks: Vec<(TaskId, Task)>) -> Result<(), Refusal> {
        let wake = {
            let mut inner = self.inner.lock();
            if let Some(refusal) = Self::refusal(&inner) {
                return Err(refusal);
            }
            for (id, task) in tasks {
                inner.tasks.insert(id, task);
                inner.queue.push_back(id);
            }
            std::mem::take(&mut inner.sleeping)
        };
        if wake {
            self.wake();
        }
        Ok(())
    }

    fn refusal(inner: &Inner) -> Option<Refusal> {
        if inner.broken.is_some() {
            Some(Refusal::Broken)
        } else if inner.closed || inner.finished {
            Some(Refusal::ShutDown)
        } else if inner.live == 0 {
            inner.start_error.clone().map(Refusal::Start)
        } else {
            None
        }
    }

    /// `Future::cancel` of a running task: resolve it as cancelled now, and have the
    /// manager stop the worker running it.
    pub(crate) fn cancel_running(&self, id: TaskId) -> bool {
        let (task, wake) = {
            let mut inner = self.inner.lock();
            let task = inner.tasks.remove(&id);
            if task.is_some() {
                inner.cancels.push(id);
            }
            (task, std::mem::take(&mut inner.sleeping))
        };
        if wake {
            self.wake();
        }
        match task {
            Some(task) => {
                task.completer.fail(TaskError::Cancelled);
                true
            }
            None => false,
        }
    }

    /// Refuses new tasks; with `cancel_queued`, cancels those not started. The manager
    /// ends once every started task is resolved.
    pub(crate) fn close(&self, cancel_queued: bool) {
        let wake = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.cancel_queued |= cancel_queued;
            std::mem::take(&mut inner.sleeping)
        };
        if wake {
            self.wake();
        }
    }

    /// Stops every worker now: queued tasks are cancelled, running ones fail.
    pub(crate) fn terminate(&self) {
        let wake = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.terminate = true;
            std::mem::take(&mut inner.sleeping)
        };
        if wake {
            self.wake();
        }
    }

    /// Python 3.14's `terminate_workers()` / `kill_workers()`: refuses new tasks, fails
    /// every unresolved one with [`ForcedShutdown`], signals every worker (`SIGKILL` if
    /// `kill`, else `SIGTERM`, then `SIGKILL` after the grace period). Does nothing
    /// once the manager has ended (the workers are gone).
    pub(crate) fn force_shutdown(&self, kill: bool) {
        let wake = {
            let mut inner = self.inner.lock();
            if inner.finished {
                return;
            }
            inner.closed = true;
            inner.terminate = true;
            inner.force.get_or_insert(kill);
            std::mem::take(&mut inner.sleeping)
        };
        if wake {
            self.wake();
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    pub(crate) fn is_broken(&self) -> bool {
        self.inner.lock().broken.is_some()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.inner.lock().finished
    }

    /// The pids of the live workers.
    pub(crate) fn pids(&self) -> Vec<i32> {
        self.inner.lock().pids.clone()
    }

    /// Tasks submitted and not yet resolved.
    pub(crate) fn pending(&self) -> usize {
        self.inner.lock().tasks.len()
    }

    /// Waits until the manager has ended (every worker joined); `false` on timeout.
    pub(crate) fn join_manager(&self, deadline: Option<Instant>) -> bool {
        let on_manager = self
            .manager
            .lock()
            .as_ref()
            .is_some_and(|h| h.thread().id() == std::thread::current().id());
        if on_manager {
            // A done-callback (run by the manager) waiting for the manager: it cannot.
            return self.inner.lock().finished;
        }
        {
            let mut inner = self.inner.lock();
            while !inner.finished {
                match deadline {
                    None => self.finished.wait(&mut inner),
                    Some(d) => {
                        if self.finished.wait_until(&mut inner, d).timed_out() && !inner.finished {
                            return false;
                        }
                    }
                }
            }
        }
        if let Some(handle) = self.manager.lock().take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
        true
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("opts", &self.opts)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// The manager thread.

/// Why the pool is stopping a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    /// Its running task was cancelled (already resolved).
    Cancel(TaskId),
    /// Its running task passed its timeout (already resolved).
    Timeout(TaskId),
    /// `terminate()`.
    Terminate,
}

struct Worker {
    /// Unique in this pool (the key of its `Idle`/`Direct` entries).
    key: u64,
    name: String,
    pid: i32,
    handle: ProcessHandle,
    work: Arc<Connection>,
    results: Connection,
    slot: RawValue<u64>,
    /// Tasks sent, in order, with their timeouts.
    outstanding: VecDeque<(TaskId, Option<Duration>)>,
    /// When the first outstanding task (about) started.
    head_since: Instant,
    /// Tasks it may still be sent (`max_tasks_per_child`).
    budget: Option<u64>,
    stopping: Option<(StopReason, Instant)>,
    /// Cancelled tasks it was sent but had not started: stopped if it starts one.
    doomed: Vec<TaskId>,
    killed: bool,
    gone: bool,
    /// The last poll found its reply socket readable (a reply, or its end).
    readable: bool,
}

/// The most tasks in one batch frame, and the frame size above which a batch goes only to
/// an idle worker (so a send never blocks on a worker that is itself blocked sending us a
/// reply: at most two small frames are ever unread in a worker's socket).
const MAX_BATCH: usize = 64;
const SMALL_FRAME: usize = 64 << 10;

struct Manager {
    engine: Arc<Engine>,
    wake_rx: Connection,
    workers: Vec<Worker>,
    buf: Vec<u8>,
    retry_at: Option<Instant>,
    retry_step: Duration,
    /// A running average of how long a task takes (from the replies).
    task_time: Option<Duration>,
    /// The last dispatch or reply (the manager polls for a while after it).
    last_active: Instant,
}

/// Tasks that take at least this long are "long": a round trip to an idle worker is small
/// beside one, and a long task sent ahead to a busy worker can leave another worker idle at
/// the end of a run.
const LONG_TASK: Duration = Duration::from_micros(500);

/// Whether a worker (given the queue) is one `dispatch` sends to: live, not stopping,
/// with budget, at most one task outstanding; a busy one only gets a task sent ahead of
/// the one it runs when that task is small and [`sends_ahead`] allows it.
fn takes(w: &Worker, queued: usize, front_large: bool, long: bool, workers: usize) -> bool {
    let ready = !w.gone && w.stopping.is_none() && w.outstanding.len() < 2 && w.budget != Some(0);
    ready && (w.outstanding.is_empty() || (!front_large && sends_ahead(queued, long, workers)))
}

/// Whether a task is sent ahead to a busy worker (so it starts the moment the running one
/// ends, without a round trip through the manager). Not for long tasks at the end of a run
/// (no more queued than there are workers): those wait for the first worker to become
/// idle, so that none is left idle while another still holds a task it has not started
/// (the CPU-bound map's tail; CPython's `Pool` gets the same from its shared queue).
fn sends_ahead(queued: usize, long: bool, workers: usize) -> bool {
    !long || queued > workers
}

/// Whether the task at the head of the queue is too large to go ahead of a running task.
fn front_is_large(inner: &Inner) -> bool {
    inner
        .queue
        .front()
        .and_then(|id| inner.tasks.get(id))
        .is_some_and(|t| 1 + 8 + FN_REF_BYTES + 4 + t.payload.len() > SMALL_FRAME)
}

impl Manager {
    fn long_tasks(&self) -> bool {
        self.task_time.is_some_and(|t| t >= LONG_TASK)
    }

    fn run(
        weak: Weak<Engine>,
        wake_rx: Connection,
        ready: std::sync::mpsc::Sender<Result<(), WorkerStartError>>,
    ) {
        let Some(engine) = weak.upgrade() else { return };
        let mut m = Manager {
            engine,
            wake_rx,
            workers: Vec::new(),
            buf: Vec::new(),
            retry_at: None,
            retry_step: Duration::from_millis(10),
            task_time: None,
            last_active: Instant::now(),
        };
        // The thread that builds the pool waits for this (`Engine::start`), holding
        // nothing: if it and this thread are the process's only ones, forking the first
        // workers from here is as safe as CPython's forking them from the building
        // thread, so a `Fork` pool does not print skein-process's multi-threaded-fork
        // warning for them. (A worker started later, to replace one, is forked while
        // the program runs: a process with other threads then gets the warning, as
        // CPython 3.12+ gives it for its pool's replacements.)
        let first = skein_process::with_parked_threads(1, || {
            for _ in 0..m.engine.opts.workers {
                m.start_worker()?;
            }
            Ok(())
        });
        let failed = first.is_err();
        if failed {
            m.stop_all(StopReason::Terminate);
            m.reap_all();
        }
        let _ = ready.send(first);
        if !failed {
            m.serve();
        }
        // A panic in the manager would leave futures hanging: a bug, but still resolve
        // them (the promises' drop fails them as lost).
        let engine = m.engine.clone();
        drop(m);
        let tasks = {
            let mut inner = engine.inner.lock();
            inner.finished = true;
            inner.live = 0;
            inner.pids.clear();
            inner.queue.clear();
            std::mem::take(&mut inner.tasks)
        };
        engine.finished.notify_all();
        for (_, t) in tasks {
            t.completer
                .fail(TaskError::Lost("the process pool stopped".into()));
        }
    }

    fn start_worker(&mut self) -> Result<(), WorkerStartError> {
        let opts = &self.engine.opts;
        let err = |e: &dyn fmt::Display| WorkerStartError(e.to_string().into());
        let (work_rx, work_tx) = skein_process::pipe(false).map_err(|e| err(&e))?;
        let (res_rx, res_tx) = skein_process::pipe(false).map_err(|e| err(&e))?;
        // A worker with an initializer starts marked as initialising (it clears the mark
        // once the initializer returned): one that dies still marked broke the pool.
        let mark = if opts.initializer.is_some() {
            INITIALISING
        } else {
            0
        };
        let slot = RawValue::new(mark).map_err(|e| err(&e))?;
        let args = WorkerArgs {
            work: work_rx,
            results: res_tx,
            slot: slot.clone(),
            initializer: opts.initializer.clone(),
            max_tasks: opts.max_tasks_per_child,
            max_rss: opts.max_memory_per_child,
        };
        let kind = match opts.context.start_method() {
            StartMethod::Fork => "Fork",
            StartMethod::Spawn => "Spawn",
            StartMethod::Forkserver => "ForkServer",
        };
        let key = WORKER_COUNTER.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        let name = format!("{kind}PoolWorker-{key}");
        let handle = opts
            .context
            .process(worker_main, args)
            .name(name.clone())
            .daemon(true)
            .start()
            .map_err(|e| err(&e))?;
        let pid = handle.pid();
        self.workers.push(Worker {
            key,
            name,
            pid,
            handle,
            work: Arc::new(work_tx),
            results: res_rx,
            slot,
            outstanding: VecDeque::new(),
            head_since: Instant::now(),
            budget: opts.max_tasks_per_child,
            stopping: None,
            doomed: Vec::new(),
            killed: false,
            gone: false,
            readable: false,
        });
        self.engine.stats.started.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.engine.inner.lock();
        inner.live += 1;
        inner.pids.push(pid);
        inner.start_error = None;
        Ok(())
    }

    /// The main loop: until the pool is closed and drained, or terminated.
    fn serve(&mut self) {
        loop {
            if self.step_locked() {
                return;
            }
            let timeout = self.next_deadline();
            self.wait(timeout);
            self.read_replies();
            self.bury_dead();
            self.check_timers();
            self.replace_workers();
        }
    }

    /// Handles cancels, terminate, close and dispatch under the lock; `true` when done.
    fn step_locked(&mut self) -> bool {
        let mut to_fail: Vec<(Box<dyn Completer>, TaskError)> = Vec::new();
        let mut sends: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut done = false;
        let engine = self.engine.clone();
        {
            let mut inner = engine.inner.lock();
            inner.sleeping = false;
            // Direct sends first (the cancels below look for their workers); no worker
            // is offered to submitters while this step assigns tasks.
            self.absorb(&mut inner);
            inner.idle.clear();
            // Cancelled running tasks: stop the worker that runs one.
            for id in std::mem::take(&mut inner.cancels) {
                if let Some(w) = self
                    .workers
                    .iter_mut()
                    .find(|w| !w.gone && w.outstanding.iter().any(|(t, _)| *t == id))
                {
                    if w.stopping.is_none() {
                        if w.slot.get() == id {
                            stop_worker(w, StopReason::Cancel(id), self.engine.opts.grace);
                        } else {
                            // Sent ahead but not started: stop the worker if it starts it.
                            w.doomed.push(id);
                        }
                    }
                }
            }
            if inner.terminate || inner.broken.is_some() {
                let forced = |running| {
                    inner
                        .force
                        .map(|kill| TaskError::Failed(Arc::new(ForcedShutdown { kill, running })))
                };
                let error = match &inner.broken {
                    Some(m) => TaskError::Broken(m.clone()),
                    None => forced(false).unwrap_or(TaskError::Cancelled),
                };
                let running = match &inner.broken {
                    Some(m) => TaskError::Broken(m.clone()),
                    None => forced(true).unwrap_or_else(|| {
                        TaskError::Lost("the pool was terminated while the task ran".into())
                    }),
                };
                for id in std::mem::take(&mut inner.queue) {
                    if let Some(t) = inner.tasks.remove(&id) {
                        to_fail.push((t.completer, error.clone()));
                    }
                }
                for w in &mut self.workers {
                    // The worker's current task ran; those sent ahead had not started.
                    let current = w.slot.get();
                    for (id, _) in w.outstanding.drain(..) {
                        if let Some(t) = inner.tasks.remove(&id) {
                            let e = if id == current { &running } else { &error };
                            to_fail.push((t.completer, e.clone()));
                        }
                    }
                }
                done = true;
            } else {
                if inner.cancel_queued {
                    inner.cancel_queued = false;
                    for id in std::mem::take(&mut inner.queue) {
                        if let Some(t) = inner.tasks.remove(&id) {
                            to_fail.push((t.completer, TaskError::Cancelled));
                        }
                    }
                }
                self.dispatch(&mut inner, &mut sends, &mut to_fail);
                if !inner.closed {
                    self.publish(&mut inner);
                }
                if inner.live == 0 && inner.start_error.is_some() && !inner.queue.is_empty() {
                    // No worker and none can start: fail what waits rather than orphan it.
                    let cause = inner.start_error.clone().expect("checked");
                    for id in std::mem::take(&mut inner.queue) {
                        if let Some(t) = inner.tasks.remove(&id) {
                            to_fail.push((t.completer, TaskError::Lost(cause.to_string().into())));
                        }
                    }
                }
                let idle =
                    inner.queue.is_empty() && self.workers.iter().all(|w| w.outstanding.is_empty());
                if inner.closed && idle {
                    done = true;
                }
            }
        }
        for (c, e) in to_fail {
            c.fail(e);
        }
        if !sends.is_empty() {
            self.last_active = Instant::now();
        }
        for (i, frame) in sends {
            if self.workers[i].work.send_bytes(&frame).is_err() {
                // It died: its reply socket ends too, and the death is handled there.
            }
        }
        if done {
            let (terminate, kill) = {
                let mut inner = self.engine.inner.lock();
                // Unlisted before they are told to end: an ended worker may be reaped at
                // once (by its handle, or by a process start's reaping of ended
                // children), and a reaped pid may name another process, which
                // `worker_pids` must never do.
                inner.pids.clear();
                (
                    inner.terminate || inner.broken.is_some(),
                    inner.force == Some(true),
                )
            };
            if kill {
                self.kill_all();
            } else if terminate {
                self.stop_all(StopReason::Terminate);
            } else {
                for w in &self.workers {
                    let _ = w.work.send_bytes(&[wire::STOP]);
                }
            }
            self.reap_all();
        }
        done
    }

    /// Hands queued tasks to workers that are (nearly) idle, in batches.
    fn dispatch(
        &mut self,
        inner: &mut Inner,
        sends: &mut Vec<(usize, Vec<u8>)>,
        to_fail: &mut Vec<(Box<dyn Completer>, TaskError)>,
    ) {
        if inner.queue.is_empty() {
            return;
        }
        let long = self.long_tasks();
        let workers = self.workers.len();
        let front_large = front_is_large(inner);
        // Idle workers first, then those about to finish their last task.
        let mut order: Vec<usize> = (0..workers)
            .filter(|&i| {
                takes(
                    &self.workers[i],
                    inner.queue.len(),
                    front_large,
                    long,
                    workers,
                )
            })
            .collect();
        order.sort_by_key(|&i| self.workers[i].outstanding.len());
        let takers = order.len().max(1);
        let now = Instant::now();
        for i in order {
            if inner.queue.is_empty() {
                break;
            }
            let w = &mut self.workers[i];
            let idle = w.outstanding.is_empty();
            if !idle && !sends_ahead(inner.queue.len(), long, workers) {
                continue;
            }
            // Batches only when the queue is long: a short queue goes one task per worker,
            // so long tasks spread over every worker (Python's "the first 4 start at once").
            let mut n = (inner.queue.len() / (takers * 4)).clamp(1, MAX_BATCH);
            if let Some(b) = w.budget {
                n = n.min(b as usize);
            }
            let mut frame = vec![wire::BATCH];
            let mut sent = 0;
            while sent < n {
                let Some(&id) = inner.queue.front() else {
                    break;
                };
                let Some(task) = inner.tasks.get_mut(&id) else {
                    inner.queue.pop_front(); // resolved meanwhile (cancelled)
                    continue;
                };
                let size = 8 + FN_REF_BYTES + 4 + task.payload.len();
                if sent > 0 && frame.len() + size > SMALL_FRAME {
                    break;
                }
                if !idle && frame.len() + size > SMALL_FRAME {
                    break; // a large frame waits for an idle worker
                }
                inner.queue.pop_front();
                if !task.started {
                    if !task.completer.start() {
                        let t = inner.tasks.remove(&id).expect("present");
                        to_fail.push((t.completer, TaskError::Cancelled));
                        continue;
                    }
                    task.started = true;
                }
                wire::put_task(&mut frame, id, &task.f, &task.payload);
                w.outstanding.push_back((id, task.timeout));
                sent += 1;
            }
            if sent > 0 {
                if idle {
                    w.head_since = now;
                }
                if let Some(b) = &mut w.budget {
                    *b -= sent as u64;
                }
                sends.push((i, frame));
            }
        }
    }

    /// Takes the submitters' direct sends into the workers' tables (under the lock).
    fn absorb(&mut self, inner: &mut Inner) {
        for d in std::mem::take(&mut inner.direct) {
            match self.workers.iter_mut().find(|w| w.key == d.key) {
                Some(w) => {
                    if w.outstanding.is_empty() {
                        w.head_since = d.at;
                    }
                    w.outstanding.push_back((d.id, d.timeout));
                    if let Some(b) = &mut w.budget {
                        *b = b.saturating_sub(1);
                    }
                }
                // Not reachable (a worker's entries are taken in before it is buried),
                // but never orphan a task: it goes back to the queue.
                None => {
                    if inner.tasks.contains_key(&d.id) {
                        inner.queue.push_front(d.id);
                    }
                }
            }
        }
    }

    /// Offers the idle workers to submitters (replacing the previous offer): live, not
    /// stopping, nothing outstanding, budget left.
    fn publish(&mut self, inner: &mut Inner) {
        inner.idle.clear();
        if !inner.queue.is_empty() {
            return;
        }
        for w in &self.workers {
            if !w.gone
                && w.stopping.is_none()
                && w.outstanding.is_empty()
                && w.doomed.is_empty()
                && w.budget != Some(0)
            {
                inner.idle.push(Idle {
                    key: w.key,
                    work: w.work.clone(),
                });
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = self.retry_at;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for w in &self.workers {
            if let Some((_, at)) = w.stopping {
                consider(at);
            }
            if !w.doomed.is_empty() {
                consider(Instant::now() + Duration::from_millis(1));
            }
            if let Some((_, Some(timeout))) = w.outstanding.front() {
                consider(w.head_since + *timeout);
            }
        }
        next
    }

    /// Sleeps until a worker replies or ends, a submitter wakes us, or `deadline`.
    ///
    /// While tasks are short, it first polls for up to [`spin::SPIN`] after the last
    /// dispatch or reply (see `spin.rs`): the next reply or submit of a stream of short
    /// round trips then finds the manager awake.
    fn wait(&mut self, deadline: Option<Instant>) {
        if !self.long_tasks() {
            let mut end = self.last_active + spin::SPIN;
            if let Some(d) = deadline {
                end = end.min(d);
            }
            if Instant::now() < end {
                let zero = Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                loop {
                    if self.has_work(false) || self.poll_once(Some(&zero)) {
                        return;
                    }
                    if Instant::now() >= end {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
        }
        if self.has_work(true) {
            return;
        }
        let timeout = deadline.map(|d| {
            let left = d.saturating_duration_since(Instant::now());
            Timespec {
                tv_sec: left.as_secs() as _,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        self.poll_once(timeout.as_ref());
    }

    /// Whether `step_locked` has something to do now; if not and `sleep`, tells
    /// submitters (under the same lock) that the manager sleeps and must be woken.
    fn has_work(&self, sleep: bool) -> bool {
        let mut inner = self.engine.inner.lock();
        let work = !inner.cancels.is_empty()
            || !inner.direct.is_empty()
            || inner.terminate
            || inner.cancel_queued
            || (inner.closed
                && inner.queue.is_empty()
                && self.workers.iter().all(|w| w.outstanding.is_empty()))
            || (!inner.queue.is_empty() && {
                // Exactly the workers `dispatch` would send to (else this would spin).
                let (long, workers) = (self.long_tasks(), self.workers.len());
                let front_large = front_is_large(&inner);
                let queued = inner.queue.len();
                self.workers
                    .iter()
                    .any(|w| takes(w, queued, front_large, long, workers))
            });
        if !work && sleep {
            inner.sleeping = true;
        }
        work
    }

    /// One poll of the wake-up pipe and the workers' reply sockets (`None`: no
    /// timeout); marks the readable ones, drains the wake-ups. `true` if any was ready.
    fn poll_once(&mut self, timeout: Option<&Timespec>) -> bool {
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(self.workers.len() + 1);
        fds.push(PollFd::new(&self.wake_rx, PollFlags::IN));
        for w in &self.workers {
            if !w.gone {
                fds.push(PollFd::from_borrowed_fd(w.results.as_fd(), PollFlags::IN));
            }
        }
        let _ = rustix::event::poll(&mut fds, timeout);
        let ready = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
        let woken = fds[0].revents().intersects(ready);
        let readable: Vec<bool> = fds[1..]
            .iter()
            .map(|f| f.revents().intersects(ready))
            .collect();
        drop(fds);
        let any = woken || readable.contains(&true);
        let mut readable = readable.into_iter();
        for w in &mut self.workers {
            if !w.gone {
                w.readable = readable.next().unwrap_or(false);
            }
        }
        if woken {
            // The poll said so: this receive does not block. Wake-ups that came together
            // were read with it (no system call per extra frame).
            loop {
                if self.wake_rx.recv_bytes_into(&mut self.buf).is_err()
                    || !self.wake_rx.has_buffered()
                {
                    break;
                }
            }
        }
        any
    }

    /// Reads every reply that is waiting; marks workers whose reply socket ended.
    ///
    /// One receive per worker the poll in [`wait`](Manager::wait) found readable: it
    /// takes every frame the socket holds, and the frames read ahead are taken from the
    /// connection's buffer without a system call (a reply costs the manager one poll and
    /// one receive, so it steals as little time as possible from the workers on the
    /// cores they share).
    fn read_replies(&mut self) {
        for i in 0..self.workers.len() {
            if self.workers[i].gone {
                continue;
            }
            let w = &mut self.workers[i];
            if !std::mem::take(&mut w.readable) && !w.results.has_buffered() {
                continue;
            }
            loop {
                let mut buf = std::mem::take(&mut self.buf);
                let r = self.workers[i].results.recv_bytes_into(&mut buf);
                match r {
                    Ok(_) => self.on_reply(i, &buf),
                    Err(RecvError::Disconnected) | Err(_) => self.workers[i].gone = true,
                }
                self.buf = buf;
                if self.workers[i].gone || !self.workers[i].results.has_buffered() {
                    break;
                }
            }
        }
    }

    fn on_reply(&mut self, i: usize, frame: &[u8]) {
        let mut r = Reader::new(frame);
        match r.u8() {
            Some(wire::DONE) => {}
            Some(wire::INIT_FAILED) => {
                let text = String::from_utf8_lossy(r.rest());
                let mut inner = self.engine.inner.lock();
                inner.broken.get_or_insert_with(|| {
                    format!("the initializer failed in a worker: {text}").into()
                });
                return;
            }
            _ => return,
        }
        let (Some(id), Some(rss), Some(count)) = (r.u64(), r.u64(), r.u32()) else {
            return;
        };
        let engine = self.engine.clone();
        let mut inner = engine.inner.lock();
        // The task may have been sent by a submitter: its record comes in first.
        self.absorb(&mut inner);
        let w = &mut self.workers[i];
        if engine.opts.max_memory_per_child.is_some_and(|m| rss > m) {
            w.budget = Some(0); // it leaves after this task: offer it to no one
        }
        if let Some(pos) = w.outstanding.iter().position(|(t, _)| *t == id) {
            w.outstanding.remove(pos);
        }
        let now = Instant::now();
        // The head task ran from `head_since` (its dispatch to an idle worker, or the
        // previous reply) until now: a running estimate of how long a task takes.
        let took = now.saturating_duration_since(w.head_since);
        self.task_time = Some(match self.task_time {
            Some(t) => (t * 3 + took) / 4,
            None => took,
        });
        let w = &mut self.workers[i];
        w.head_since = now;
        self.last_active = now;
        // Offered to submitters before the caller learns its result, so the caller's
        // next task can go straight to it.
        if !inner.closed {
            self.publish(&mut inner);
        }
        let task = inner.tasks.remove(&id);
        drop(inner);
        if let Some(task) = task {
            self.engine.stats.completed.fetch_add(1, Ordering::Relaxed);
            task.completer.finish(Items::new(r, count));
        }
    }

    /// Joins workers whose reply socket ended: fails the task each one ran, requeues the
    /// rest it held.
    fn bury_dead(&mut self) {
        if self.workers.iter().any(|w| w.gone) {
            // Every direct send to a dead worker is in its table before it is buried,
            // and no submitter can pick it after this.
            let engine = self.engine.clone();
            let mut inner = engine.inner.lock();
            self.absorb(&mut inner);
            let workers = &self.workers;
            inner
                .idle
                .retain(|d| workers.iter().any(|w| w.key == d.key && !w.gone));
        }
        let mut i = 0;
        while i < self.workers.len() {
            if !self.workers[i].gone {
                i += 1;
                continue;
            }
            let w = self.workers.swap_remove(i);
            self.bury(w);
        }
    }

    fn bury(&mut self, w: Worker) {
        // Unlisted before it is reaped: once reaped, its pid may go to another process,
        // which `worker_pids` must never name.
        self.engine.inner.lock().pids.retain(|p| *p != w.pid);
        let grace = self.engine.opts.grace;
        let code = match w.handle.join_timeout(grace) {
            Ok(Some(c)) => Some(c),
            _ => {
                let _ = w.handle.kill();
                w.handle.join().ok()
            }
        };
        let running = w.slot.get();
        let mut to_fail = Vec::new();
        {
            let mut inner = self.engine.inner.lock();
            inner.live = inner.live.saturating_sub(1);
            if running == INITIALISING && w.stopping.is_none() {
                // It died in its initializer (an abort, an exit, a signal): every
                // replacement would too. Python: `BrokenProcessPool`.
                let how = match code {
                    Some(c) if c < 0 => {
                        format!("was killed by signal {} ({})", -c, signal_name(-c))
                    }
                    Some(c) => format!("exited with code {c}"),
                    None => "ended".to_string(),
                };
                inner.broken.get_or_insert_with(|| {
                    format!(
                        "the initializer crashed: worker {} (pid {}) {how} before it was ready",
                        w.name, w.pid
                    )
                    .into()
                });
            }
            let mut requeue = Vec::new();
            for &(id, _) in &w.outstanding {
                let blamed = match w.stopping {
                    // Stopped for a task already resolved: nothing else is to blame.
                    Some((StopReason::Cancel(_) | StopReason::Timeout(_), _)) => false,
                    Some((StopReason::Terminate, _)) => true,
                    None => id == running,
                };
                if blamed {
                    if let Some(t) = inner.tasks.remove(&id) {
                        let died = WorkerDied {
                            name: w.name.clone(),
                            pid: w.pid,
                            exitcode: code,
                        };
                        to_fail.push((t.completer, TaskError::Failed(Arc::new(died))));
                    }
                } else if inner.tasks.contains_key(&id) {
                    requeue.push(id);
                }
            }
            for id in requeue.into_iter().rev() {
                inner.queue.push_front(id);
            }
        }
        if w.stopping.is_none() && code != Some(0) {
            self.engine.stats.replaced.fetch_add(1, Ordering::Relaxed);
        }
        for (c, e) in to_fail {
            c.fail(e);
        }
    }

    /// Timeouts of running tasks and the grace period of workers being stopped.
    fn check_timers(&mut self) {
        let now = Instant::now();
        let grace = self.engine.opts.grace;
        for w in &mut self.workers {
            if w.gone {
                continue;
            }
            if let Some((_, at)) = w.stopping {
                if now >= at && !w.killed {
                    let _ = w.handle.kill();
                    w.killed = true;
                }
                continue;
            }
            if !w.doomed.is_empty() {
                let running = w.slot.get();
                if w.doomed.contains(&running) {
                    w.doomed.clear();
                    stop_worker(w, StopReason::Cancel(running), grace);
                    continue;
                }
                let outstanding = &w.outstanding;
                w.doomed
                    .retain(|id| outstanding.iter().any(|(t, _)| t == id));
            }
            let Some(&(id, Some(timeout))) = w.outstanding.front() else {
                continue;
            };
            if now < w.head_since + timeout {
                continue;
            }
            if w.slot.get() != id {
                // Not started yet (still reading its batch): its clock starts later.
                w.head_since = now;
                continue;
            }
            let task = self.engine.inner.lock().tasks.remove(&id);
            stop_worker(w, StopReason::Timeout(id), grace);
            if let Some(task) = task {
                let e = TaskTimedOut {
                    timeout,
                    pid: w.pid,
                };
                task.completer.fail(TaskError::Failed(Arc::new(e)));
            }
        }
    }

    /// Starts workers until there are `workers` of them (retrying failed starts).
    fn replace_workers(&mut self) {
        let (closed, queued) = {
            let inner = self.engine.inner.lock();
            (inner.closed, inner.queue.len())
        };
        let live = self
            .workers
            .iter()
            .filter(|w| !w.gone && w.stopping.is_none())
            .count();
        // A closed pool restarts workers only while tasks still wait.
        if live >= self.engine.opts.workers || (closed && queued == 0) {
            return;
        }
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        while self
            .workers
            .iter()
            .filter(|w| !w.gone && w.stopping.is_none())
            .count()
            < self.engine.opts.workers
        {
            match self.start_worker() {
                Ok(()) => {
                    self.retry_at = None;
                    self.retry_step = Duration::from_millis(10);
                }
                Err(e) => {
                    self.engine.inner.lock().start_error = Some(e);
                    self.retry_at = Some(Instant::now() + self.retry_step);
                    self.retry_step = (self.retry_step * 2).min(Duration::from_secs(1));
                    return;
                }
            }
        }
    }

    fn stop_all(&mut self, reason: StopReason) {
        let grace = self.engine.opts.grace;
        for w in &mut self.workers {
            if w.stopping.is_none() {
                stop_worker(w, reason, grace);
            }
        }
    }

    /// `kill_workers()`: `SIGKILL` to every worker at once, no grace period.
    fn kill_all(&mut self) {
        for w in &mut self.workers {
            let _ = w.handle.kill();
            w.stopping = Some((StopReason::Terminate, Instant::now()));
        }
    }

    /// Waits for every worker to end (killing those past their grace period).
    fn reap_all(&mut self) {
        let grace = self.engine.opts.grace;
        for w in std::mem::take(&mut self.workers) {
            // Unlisted before it is reaped, as in `bury` (the shutdown in `step_locked`
            // unlisted every worker already; this covers a failed start).
            self.engine.inner.lock().pids.retain(|p| *p != w.pid);
            let deadline = match w.stopping {
                Some((_, at)) => at,
                None => Instant::now() + grace.max(Duration::from_secs(5)),
            };
            if !matches!(w.handle.join_deadline(deadline), Ok(Some(_))) {
                let _ = w.handle.kill();
                let _ = w.handle.join();
            }
            let _ = w.handle.close();
        }
        let mut inner = self.engine.inner.lock();
        inner.live = 0;
    }
}

fn stop_worker(w: &mut Worker, reason: StopReason, grace: Duration) {
    let _ = w.handle.terminate();
    w.stopping = Some((reason, Instant::now() + grace));
}
