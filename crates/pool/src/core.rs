//! The worker machinery shared by [`ThreadPoolExecutor`](crate::ThreadPoolExecutor) and
//! [`ThreadPool`](crate::ThreadPool): one MPMC queue, lazily started named workers, and the
//! shutdown protocol.
//!
//! * **Queue.** An unbounded crossbeam channel carries [`TaskRef`]s and exit sentinels.
//!   Its receive spins briefly before parking, and a send wakes a worker only when one is
//!   parked, so a busy pool makes no system calls per task.
//! * **Workers** only ever take jobs from that queue. A worker blocked inside a task (on a
//!   future, a lock, a queue) just blocks: it never runs other tasks on its stack, so a task
//!   waiting on another task of the same pool only needs one free worker.
//! * **Submission gate.** `state` counts submitters in flight plus a `SHUT` bit. `submit`
//!   enters (one `fetch_add`), checks the bit, enqueues, leaves. `shutdown` sets the bit,
//!   waits until no submitter is inside, and only then sends one exit sentinel per worker:
//!   no job can land behind the sentinels and be orphaned.
//! * **Spawning** happens inside `submit`, before the job is enqueued, so a failed spawn
//!   hands the job back to the caller when the pool has no worker at all.

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use parking_lot::{Condvar, Mutex};

use crate::error::{TaskError, panic_message};
use crate::spawn::spawn;
use crate::task::TaskRef;

const SHUT: usize = 1 << (usize::BITS - 1);
const BROKEN: usize = 1 << (usize::BITS - 2);
const COUNT: usize = !(SHUT | BROKEN);

pub(crate) enum Msg {
    Run(TaskRef),
    Exit,
}

/// What an `initializer` is.
pub(crate) type Initializer = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct Config {
    pub(crate) max_workers: usize,
    pub(crate) name_prefix: String,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) stack_size: Option<usize>,
}

struct Workers {
    handles: Vec<(ThreadId, JoinHandle<()>)>,
    alive: usize,
}

pub(crate) struct Core {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    state: AtomicUsize,
    spawned: AtomicUsize,
    idle: AtomicUsize,
    sentinels_sent: AtomicBool,
    workers: Mutex<Workers>,
    exited: Condvar,
    config: Config,
}

/// A submitter inside the gate; leaving it lets `shutdown` proceed.
pub(crate) struct Entered<'a>(&'a Core);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.state.fetch_sub(1, Ordering::Release);
    }
}

/// Why the gate refused a submitter.
pub(crate) enum Refused {
    ShutDown,
    Broken,
}

impl Core {
    pub(crate) fn new(config: Config) -> Arc<Core> {
        let (tx, rx) = crossbeam_channel::unbounded();
        Arc::new(Core {
            tx,
            rx,
            state: AtomicUsize::new(0),
            spawned: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            sentinels_sent: AtomicBool::new(false),
            workers: Mutex::new(Workers {
                handles: Vec::new(),
                alive: 0,
            }),
            exited: Condvar::new(),
            config,
        })
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

    /// Makes sure a worker will pick up the next job: Python's `_adjust_thread_count`.
    /// Starts a worker when none is idle and the pool is below `max_workers`. Fails only
    /// when the pool has no worker at all and the OS refused to start one.
    pub(crate) fn ensure_worker(self: &Arc<Self>, _entered: &Entered<'_>) -> io::Result<()> {
        if self.spawned.load(Ordering::Relaxed) >= self.config.max_workers {
            return Ok(());
        }
        if self
            .idle
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
            .is_ok()
        {
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
    pub(crate) fn spawn_all(self: &Arc<Self>) -> io::Result<()> {
        while self.spawned.load(Ordering::Acquire) < self.config.max_workers {
            self.spawn_one()?;
        }
        Ok(())
    }

    fn spawn_one(self: &Arc<Self>) -> io::Result<()> {
        let mut workers = self.workers.lock();
        let n = self.spawned.load(Ordering::Acquire);
        if n >= self.config.max_workers {
            return Ok(());
        }
        let name = format!("{}_{}", self.config.name_prefix, n);
        let core = self.clone();
        workers.alive += 1;
        match spawn(name, self.config.stack_size, move || core.worker()) {
            Ok(handle) => {
                workers.handles.push((handle.thread().id(), handle));
                self.spawned.store(n + 1, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                workers.alive -= 1;
                Err(e)
            }
        }
    }

    pub(crate) fn push(&self, task: TaskRef, _entered: &Entered<'_>) {
        // The receiver lives in `self`, so the channel is never disconnected here.
        if let Err(crossbeam_channel::SendError(Msg::Run(task))) = self.tx.send(Msg::Run(task)) {
            task.fail(TaskError::Lost("the pool's queue is closed".into()));
        }
    }

    fn recv(&self) -> Msg {
        match self.rx.try_recv() {
            Ok(msg) => msg,
            Err(TryRecvError::Empty) => {
                self.idle.fetch_add(1, Ordering::AcqRel);
                let msg = self.rx.recv();
                let _ = self
                    .idle
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
                msg.unwrap_or(Msg::Exit)
            }
            Err(TryRecvError::Disconnected) => Msg::Exit,
        }
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
            match self.recv() {
                Msg::Run(task) => match &broken {
                    None => task.run(),
                    Some(why) => task.fail(TaskError::Broken(why.clone())),
                },
                Msg::Exit => break,
            }
        }
        let mut workers = self.workers.lock();
        workers.alive -= 1;
        self.exited.notify_all();
    }

    /// Closes the gate, optionally cancels queued jobs, and tells every worker to exit once
    /// the queue before its sentinel is done.
    pub(crate) fn begin_shutdown(&self, cancel_futures: bool) {
        self.state.fetch_or(SHUT, Ordering::AcqRel);
        // Wait for submitters already inside the gate to finish enqueueing.
        let backoff = crossbeam_utils::Backoff::new();
        while self.state.load(Ordering::Acquire) & COUNT != 0 {
            backoff.snooze();
        }
        let mut eaten = 0;
        if cancel_futures {
            while let Ok(msg) = self.rx.try_recv() {
                match msg {
                    Msg::Run(task) => task.fail(TaskError::Cancelled),
                    Msg::Exit => eaten += 1,
                }
            }
        }
        let first = !self.sentinels_sent.swap(true, Ordering::AcqRel);
        let sentinels = if first {
            self.spawned.load(Ordering::Acquire)
        } else {
            eaten
        };
        for _ in 0..sentinels {
            let _ = self.tx.send(Msg::Exit);
        }
    }

    /// Waits until every worker has exited (or `deadline` passes), then joins them, except
    /// the calling thread if it is one of them. `true` if all exited.
    pub(crate) fn join_workers(&self, deadline: Option<Instant>) -> bool {
        let me = thread::current().id();
        let mut workers = self.workers.lock();
        let own = workers.handles.iter().any(|(id, _)| *id == me) as usize;
        while workers.alive > own {
            match deadline {
                None => self.exited.wait(&mut workers),
                Some(d) => {
                    if self.exited.wait_until(&mut workers, d).timed_out() && workers.alive > own {
                        return false;
                    }
                }
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

    /// Workers still running.
    pub(crate) fn alive(&self) -> usize {
        self.workers.lock().alive
    }
}

impl Core {
    /// Submits a job that runs in place on a worker: the gate, a worker if needed, one
    /// allocation for job + future, one enqueue.
    pub(crate) fn submit_call<J>(
        self: &Arc<Self>,
        job: J,
    ) -> Result<crate::Future<J::Output>, crate::SubmitError<J>>
    where
        J: crate::task::Call,
        J::Output: Send + Sync + 'static,
    {
        use crate::SubmitError;
        let entered = match self.enter() {
            Ok(entered) => entered,
            Err(Refused::ShutDown) => return Err(SubmitError::ShutDown(job)),
            Err(Refused::Broken) => return Err(SubmitError::Broken(job)),
        };
        if let Err(e) = self.ensure_worker(&entered) {
            return Err(SubmitError::Spawn(job, e));
        }
        let (task, future) = crate::task::Cell::create(job);
        self.push(task, &entered);
        Ok(future)
    }
}
