//! The hub itself: the per-thread scheduler (ready queue, timers, IO reactor) and the
//! switch between the hub and its green tasks.
//!
//! This module is one of the crate's `unsafe` boundaries: a running task suspends itself
//! through a pointer to its corosensei `Yielder`, which lives on the task's own stack.
//!
//! # How a thread's hub runs
//!
//! The hub of a thread is created on first use. It has no thread of its own and no
//! stack of its own: it runs on the thread's ordinary stack (the "main" context, gevent's
//! main greenlet) whenever that context blocks in a hub call (`join`, `sleep`, `Queue::get`,
//! …). Green tasks run on their own stacks and switch back to that loop when they block.
//! When the main context's wait is over, the loop returns to it — tasks that are still
//! ready wait until the main context blocks again (gevent's behaviour).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic;
use std::rc::Rc;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::detector::Watch;
use super::error::JoinError;
use super::io::Reactor;
use super::prefetch;
use super::stack::{StackCache, TaskStack};
use super::timer::{TimerAction, TimerKey, Timers};
use crate::error::StackError;

type Co = Coroutine<(), (), (), TaskStack>;

/// How a task starts: run its body, or record why it never ran.
pub(crate) enum Start {
    /// Run the body.
    Run,
    /// Do not run it; its result is this error.
    Cancel(JoinError),
}

/// A task's body, type-erased: it runs the user's closure and stores the result.
pub(crate) type Body = Box<dyn FnOnce(Start)>;

/// Where a task is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum State {
    /// Spawned, not yet run (in the ready queue, or waiting for its `spawn_later` timer).
    Unstarted,
    /// In the ready queue.
    Ready,
    /// Running now.
    Running,
    /// Parked until a waiter wakes it.
    Waiting,
    /// Finished; its result is stored.
    Done,
}

/// Why a parked task woke up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Wake {
    /// The event it waited for happened.
    Woken,
    /// Its timer ran out.
    TimedOut,
    /// It was killed or a `Timeout` fired: call [`checkpoint`].
    Interrupted,
    /// The main context waited and no task, timer or socket could ever wake it.
    Deadlock,
}

enum Slot {
    Unstarted(Body, Option<TaskStack>),
    Running(Co),
    Empty,
}

/// The unwinding payload that ends a killed task (gevent's `GreenletExit`).
pub(crate) struct Killed;

/// The unwinding payload of a fired [`Timeout`](super::Timeout), with its scope's id.
pub(crate) struct TimeoutFired(pub(crate) u64);

/// One green task, as the hub sees it.
pub(crate) struct Task {
    pub(crate) id: u64,
    name: Option<Box<str>>,
    state: Cell<State>,
    epoch: Cell<u64>,
    reason: Cell<Wake>,
    /// A kill is pending: the next hub call unwinds.
    killed: Cell<bool>,
    /// The kill was delivered: the task is unwinding (gevent's `GreenletExit` raised).
    /// Its cleanup code may block on the hub again; further kills do nothing. Holds the
    /// first `Timeout` scope id its cleanup may open: scopes from there on were opened
    /// inside a destructor and may fire there.
    dying: Cell<Option<u64>>,
    timeout: Cell<Option<u64>>,
    body: RefCell<Slot>,
    yielder: Cell<*const Yielder<(), ()>>,
    joiners: RefCell<Vec<Waiter>>,
    start_timer: Cell<Option<TimerKey>>,
    /// An address in the task's stack frame at its last switch away (0 before the
    /// first): where the hub prefetches before resuming it.
    parked_sp: Cell<usize>,
    /// The hub's link table has an entry for this task (kept out of the task record,
    /// which every spawn allocates: most tasks have no links).
    has_links: Cell<bool>,
}

/// The links of one task, in the hub's table.
#[derive(Default)]
struct TaskLinks {
    /// Callbacks run by the hub when the task ends (gevent's `rawlink`/`link`), by id.
    hooks: Vec<(u64, Hook)>,
    /// The tasks running the task's `link` callbacks (they read its result, so its
    /// `join` waits for them); each removes itself when it ends.
    runners: Vec<Rc<Task>>,
}

/// A callback the hub runs once (a link of a task, of an `AsyncResult`).
pub(crate) type Hook = Box<dyn FnOnce()>;

impl Task {
    fn new(id: u64, name: Option<Box<str>>, slot: Slot) -> Self {
        Task {
            id,
            name,
            state: Cell::new(State::Unstarted),
            epoch: Cell::new(0),
            reason: Cell::new(Wake::Woken),
            killed: Cell::new(false),
            dying: Cell::new(None),
            timeout: Cell::new(None),
            body: RefCell::new(slot),
            yielder: Cell::new(std::ptr::null()),
            joiners: RefCell::new(Vec::new()),
            start_timer: Cell::new(None),
            parked_sp: Cell::new(0),
            has_links: Cell::new(false),
        }
    }

    /// The task's name (`task-N` unless one was given; `main` for the main context).
    pub(crate) fn name(&self) -> std::borrow::Cow<'_, str> {
        match &self.name {
            Some(name) => std::borrow::Cow::Borrowed(name),
            None => std::borrow::Cow::Owned(format!("task-{}", self.id)),
        }
    }

    pub(crate) fn is_main(&self) -> bool {
        self.id == 0
    }

    pub(crate) fn is_done(&self) -> bool {
        self.state.get() == State::Done
    }

    /// Notes where the running task's stack is as it switches away.
    #[inline(always)]
    fn note_stack_depth(&self) {
        let marker = 0u8;
        self.parked_sp
            .set(std::hint::black_box(&marker) as *const u8 as usize);
    }

    /// Adds a waiter woken when this task finishes.
    pub(crate) fn add_joiner(&self, waiter: Waiter) {
        self.joiners.borrow_mut().push(waiter);
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id)
            .field("name", &self.name())
            .field("state", &self.state.get())
            .finish()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // A task dropped while suspended (its hub's thread exits, or nothing can ever
        // wake it) is abandoned, not unwound: unwinding would run user code during
        // thread-local destruction. Its closure is `'static`, so forgetting it is sound;
        // the stack is leaked.
        if let Slot::Running(co) = std::mem::replace(self.body.get_mut(), Slot::Empty) {
            if !co.done() {
                std::mem::forget(co);
            }
        }
    }
}

/// A handle that wakes one particular park of one task (stale once the task woke).
#[derive(Clone, Debug)]
pub(crate) struct Waiter {
    task: Rc<Task>,
    epoch: u64,
}

impl Waiter {
    /// Whether this waiter's park is still current.
    pub(crate) fn is_live(&self) -> bool {
        self.task.state.get() == State::Waiting && self.task.epoch.get() == self.epoch
    }
}

/// The per-thread hub.
pub(crate) struct Hub {
    ready: RefCell<VecDeque<Rc<Task>>>,
    current: RefCell<Rc<Task>>,
    main: Rc<Task>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) reactor: RefCell<Option<Reactor>>,
    io_waiting: Cell<usize>,
    stacks: RefCell<StackCache>,
    next_id: Cell<u64>,
    next_timeout: Cell<u64>,
    live: Cell<usize>,
    idle: RefCell<Vec<Waiter>>,
    pub(crate) watch: RefCell<Option<Watch>>,
    next_link: Cell<u64>,
    /// Links of tasks, by task id (see `Task::has_links`).
    links: RefCell<HashMap<u64, TaskLinks>>,
    /// Inside a hook run by the hub (a rawlink callback): blocking is refused.
    in_hook: Cell<u32>,
}

thread_local! {
    static HUB: Rc<Hub> = Rc::new(Hub::new());
}

/// The current thread's hub.
pub(crate) fn hub() -> Rc<Hub> {
    HUB.with(Rc::clone)
}

/// The current thread's hub, unless the thread is tearing down its thread-locals.
pub(crate) fn try_hub() -> Option<Rc<Hub>> {
    HUB.try_with(Rc::clone).ok()
}

/// Unwinds the current task if it was killed or one of its `Timeout`s fired.
///
/// A kill is delivered once, as gevent raises `GreenletExit` once: the task's cleanup
/// (destructors run by the unwinding) may block on the hub again — take a lock, put on
/// a queue, sleep, join. A `Timeout` scope opened inside that cleanup fires as usual (its
/// own `catch_unwind` stops it inside the destructor); one opened before the kill and
/// running out during the cleanup is dropped: nothing may unwind out of a destructor.
/// While any task of the thread is unwinding (the panic count is per thread, not per
/// coroutine) other interruptions wait: they stay pending and are delivered at a later
/// hub call.
pub(crate) fn checkpoint() {
    let hub = hub();
    let cur = hub.current();
    if std::thread::panicking() {
        // Already unwinding (a destructor blocked): finish that first.
        if let Some(first_inner) = cur.dying.get() {
            match cur.timeout.take() {
                Some(id) if id >= first_inner => {
                    panic::resume_unwind(Box::new(TimeoutFired(id)));
                }
                _ => {}
            }
        }
        return;
    }
    if cur.killed.get() && !cur.is_main() {
        cur.killed.set(false);
        cur.dying.set(Some(hub.next_timeout.get()));
        panic::resume_unwind(Box::new(Killed));
    }
    if let Some(id) = cur.timeout.take() {
        panic::resume_unwind(Box::new(TimeoutFired(id)));
    }
}

impl Hub {
    fn new() -> Self {
        let main = Rc::new(Task::new(0, Some("main".into()), Slot::Empty));
        main.state.set(State::Running);
        Hub {
            ready: RefCell::new(VecDeque::new()),
            current: RefCell::new(main.clone()),
            main,
            timers: RefCell::new(Timers::default()),
            reactor: RefCell::new(None),
            io_waiting: Cell::new(0),
            stacks: RefCell::new(StackCache::default()),
            next_id: Cell::new(1),
            next_timeout: Cell::new(1),
            live: Cell::new(0),
            idle: RefCell::new(Vec::new()),
            watch: RefCell::new(Watch::default_for_build()),
            next_link: Cell::new(1),
            links: RefCell::new(HashMap::new()),
            in_hook: Cell::new(0),
        }
    }

    /// The running task (the main context when no green task runs).
    pub(crate) fn current(&self) -> Rc<Task> {
        self.current.borrow().clone()
    }

    /// Tasks spawned and not finished.
    pub(crate) fn live(&self) -> usize {
        self.live.get()
    }

    /// Creates a task; `eager` takes its stack now (a map-count error shows here).
    pub(crate) fn new_task(
        &self,
        name: Option<Box<str>>,
        body: Body,
        eager: bool,
    ) -> Result<Rc<Task>, (StackError, Body)> {
        let stack = if eager {
            match self.stacks.borrow_mut().take() {
                Ok(stack) => Some(stack),
                Err(e) => return Err((e, body)),
            }
        } else {
            None
        };
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.live.set(self.live.get() + 1);
        Ok(Rc::new(Task::new(id, name, Slot::Unstarted(body, stack))))
    }

    /// Queues a new task to run.
    pub(crate) fn schedule_new(&self, task: Rc<Task>) {
        self.ready.borrow_mut().push_back(task);
    }

    /// Starts a new task after `delay`.
    pub(crate) fn schedule_later(&self, task: Rc<Task>, delay: Duration) {
        let key = self
            .timers
            .borrow_mut()
            .add(Instant::now() + delay, TimerAction::Start(task.clone()));
        task.start_timer.set(Some(key));
    }

    /// A waiter for the current task's next park.
    pub(crate) fn waiter(&self) -> Waiter {
        let task = self.current();
        let epoch = task.epoch.get();
        Waiter { task, epoch }
    }

    /// Wakes a parked task; false when the waiter is stale (it woke already).
    pub(crate) fn wake(&self, waiter: &Waiter, reason: Wake) -> bool {
        if !waiter.is_live() {
            return false;
        }
        let task = &waiter.task;
        task.epoch.set(task.epoch.get() + 1);
        task.reason.set(reason);
        task.state.set(State::Ready);
        self.ready.borrow_mut().push_back(task.clone());
        true
    }

    /// Parks the current task until a waiter taken before this call wakes it.
    pub(crate) fn park(&self) -> Wake {
        self.refuse_block_in_hook();
        let cur = self.current();
        cur.state.set(State::Waiting);
        if cur.killed.get() || cur.timeout.get().is_some() {
            // Interrupted before parking: wake at once.
            let waiter = self.waiter();
            self.wake(&waiter, Wake::Interrupted);
        }
        self.switch_away(&cur);
        cur.reason.get()
    }

    /// Parks the current task until woken or until `deadline`.
    pub(crate) fn park_deadline(&self, deadline: Option<Instant>) -> Wake {
        let Some(deadline) = deadline else {
            return self.park();
        };
        let waiter = self.waiter();
        let key = self
            .timers
            .borrow_mut()
            .add(deadline, TimerAction::Wake(waiter));
        let wake = self.park();
        if wake != Wake::TimedOut {
            self.timers.borrow_mut().cancel(key);
        }
        wake
    }

    /// Parks the current task until an IO event wakes it (counted so the main
    /// context's deadlock check knows a socket may still wake someone).
    pub(crate) fn park_io(&self, deadline: Option<Instant>) -> Wake {
        self.io_waiting.set(self.io_waiting.get() + 1);
        let wake = self.park_deadline(deadline);
        self.io_waiting.set(self.io_waiting.get() - 1);
        wake
    }

    /// Yields: the current task goes to the back of the ready queue (`sleep(0)`).
    pub(crate) fn yield_now(&self) {
        self.refuse_block_in_hook();
        let cur = self.current();
        if cur.is_main() {
            // The main context goes to the back of the ready queue and the loop returns
            // as soon as it comes out again: let the timers that are due and the sockets
            // that are ready queue their tasks first, or a `sleep(0)` loop there would
            // never see a timeout, a timer or IO (a task's yield reaches the loop, which
            // does this after each batch).
            if !self.timers.borrow().is_empty() {
                self.fire_timers(Instant::now());
            }
            if self.io_waiting.get() > 0 {
                self.poll_io(Some(Duration::ZERO));
            }
        }
        cur.epoch.set(cur.epoch.get() + 1);
        cur.state.set(State::Ready);
        cur.reason.set(Wake::Woken);
        self.ready.borrow_mut().push_back(cur.clone());
        self.switch_away(&cur);
    }

    /// Leaves the current task: a green task suspends to the hub loop; the main
    /// context runs the hub loop until it is its turn again.
    fn switch_away(&self, cur: &Rc<Task>) {
        if cur.is_main() {
            self.run_loop();
        } else {
            if let Some(watch) = self.watch.borrow().as_ref() {
                watch.before_switch(cur);
            }
            let yielder = cur.yielder.get();
            cur.note_stack_depth();
            debug_assert!(!yielder.is_null());
            // SAFETY: `yielder` was stored by this task's coroutine body when it started
            // (see `run_task`) and points into that body's frame on the task's own stack;
            // the body is still running (we are inside it: `cur` is the current task and
            // not the main context), so the `Yielder` is alive.
            unsafe { (*yielder).suspend(()) };
        }
    }

    /// The loop, run by the main context while it waits. Returns when the main context
    /// is woken (taken from the ready queue) or when nothing could ever wake it.
    fn run_loop(&self) {
        loop {
            let batch = self.ready.borrow().len();
            for _ in 0..batch {
                let next = self.ready.borrow_mut().pop_front();
                let Some(task) = next else { break };
                self.prefetch_next();
                if task.is_main() {
                    task.state.set(State::Running);
                    return;
                }
                self.run_task(task);
            }
            let timers_pending = !self.timers.borrow().is_empty();
            let mut now = None;
            if timers_pending {
                let t = Instant::now();
                now = Some(t);
                self.fire_timers(t);
            }
            let io = self.io_waiting.get() > 0;
            if !self.ready.borrow().is_empty() {
                if io {
                    self.poll_io(Some(Duration::ZERO));
                }
                continue;
            }
            let next = self.timers.borrow_mut().next_deadline();
            match (next, io) {
                (None, false) => {
                    // Nothing can wake the main context: gevent's LoopExit.
                    let main = &self.main;
                    main.epoch.set(main.epoch.get() + 1);
                    main.reason.set(Wake::Deadlock);
                    main.state.set(State::Running);
                    return;
                }
                (next, true) => {
                    let timeout =
                        next.map(|d| d.saturating_duration_since(now.unwrap_or_else(Instant::now)));
                    self.poll_io(timeout);
                }
                (Some(deadline), false) => {
                    let now = Instant::now();
                    if deadline > now {
                        std::thread::sleep(deadline - now);
                    }
                }
            }
        }
    }

    /// Prefetches what the next two ready tasks touch first: the stack window of the
    /// next one, and the record of the one after it (read when it becomes the next).
    #[inline]
    fn prefetch_next(&self) {
        let ready = self.ready.borrow();
        if let Some(after) = ready.get(1) {
            prefetch::range(Rc::as_ptr(after) as usize, std::mem::size_of::<Task>());
        }
        if let Some(next) = ready.front() {
            prefetch::stack(next.parked_sp.get());
        }
    }

    fn poll_io(&self, timeout: Option<Duration>) {
        let woken = match self.reactor.borrow_mut().as_mut() {
            Some(reactor) => reactor.poll(timeout),
            None => Vec::new(),
        };
        for waiter in woken {
            self.wake(&waiter, Wake::Woken);
        }
    }

    fn fire_timers(&self, now: Instant) {
        let due = self.timers.borrow_mut().take_due(now);
        for action in due {
            match action {
                TimerAction::Wake(waiter) => {
                    self.wake(&waiter, Wake::TimedOut);
                }
                TimerAction::Start(task) => {
                    task.start_timer.set(None);
                    if task.state.get() == State::Unstarted {
                        self.ready.borrow_mut().push_back(task);
                    }
                }
                TimerAction::Timeout(task, id) => {
                    if task.state.get() == State::Done {
                        continue;
                    }
                    let pending = task.timeout.get().map_or(id, |p| p.min(id));
                    task.timeout.set(Some(pending));
                    let waiter = Waiter {
                        epoch: task.epoch.get(),
                        task,
                    };
                    self.wake(&waiter, Wake::Interrupted);
                }
            }
        }
    }

    /// Runs one task until it blocks, yields or ends.
    fn run_task(&self, task: Rc<Task>) {
        let mut co = match task.state.get() {
            State::Ready | State::Unstarted => {
                match std::mem::replace(&mut *task.body.borrow_mut(), Slot::Empty) {
                    Slot::Running(co) => co,
                    Slot::Unstarted(body, stack) => {
                        let stack = match stack {
                            Some(stack) => Ok(stack),
                            None => self.stacks.borrow_mut().take(),
                        };
                        match stack {
                            Ok(stack) => Co::with_stack(stack, move |yielder, ()| {
                                hub().current().yielder.set(yielder);
                                body(Start::Run);
                            }),
                            Err(e) => {
                                body(Start::Cancel(JoinError::stack(e)));
                                self.finish(&task);
                                return;
                            }
                        }
                    }
                    Slot::Empty => return,
                }
            }
            _ => return,
        };
        task.state.set(State::Running);
        *self.current.borrow_mut() = task.clone();
        let watching = self.watch.borrow().is_some();
        if watching {
            if let Some(watch) = self.watch.borrow().as_ref() {
                watch.slice_begin(&task);
            }
        }
        let result = co.resume(());
        if watching {
            if let Some(watch) = self.watch.borrow().as_ref() {
                watch.slice_end(&task);
            }
        }
        *self.current.borrow_mut() = self.main.clone();
        match result {
            CoroutineResult::Yield(()) => *task.body.borrow_mut() = Slot::Running(co),
            CoroutineResult::Return(()) => {
                self.stacks.borrow_mut().give(co.into_stack());
                self.finish(&task);
            }
        }
    }

    fn finish(&self, task: &Rc<Task>) {
        task.state.set(State::Done);
        self.live.set(self.live.get() - 1);
        if task.has_links.get() {
            self.run_links(task);
        }
        let joiners = std::mem::take(&mut *task.joiners.borrow_mut());
        for waiter in &joiners {
            self.wake(waiter, Wake::Woken);
        }
        if self.live.get() <= 1 {
            let idle = std::mem::take(&mut *self.idle.borrow_mut());
            for waiter in &idle {
                self.wake(waiter, Wake::Woken);
            }
        }
    }

    /// Adds a waiter woken when at most one task is left ([`wait`](super::wait)).
    pub(crate) fn add_idle_waiter(&self, waiter: Waiter) {
        self.idle.borrow_mut().push(waiter);
    }

    /// Kills a task: a task that has not started never runs; a parked one is woken and
    /// unwinds from its blocking call. Does not wait.
    pub(crate) fn kill(&self, task: &Rc<Task>) {
        if task.is_main() || task.state.get() == State::Done || task.dying.get().is_some() {
            return;
        }
        task.killed.set(true);
        match task.state.get() {
            State::Unstarted => {
                if let Some(key) = task.start_timer.take() {
                    self.timers.borrow_mut().cancel(key);
                }
                let slot = std::mem::replace(&mut *task.body.borrow_mut(), Slot::Empty);
                if let Slot::Unstarted(body, stack) = slot {
                    if let Some(stack) = stack {
                        self.stacks.borrow_mut().give(stack);
                    }
                    body(Start::Cancel(JoinError::Killed));
                }
                self.finish(task);
            }
            State::Waiting => {
                let waiter = Waiter {
                    epoch: task.epoch.get(),
                    task: task.clone(),
                };
                self.wake(&waiter, Wake::Interrupted);
            }
            State::Ready | State::Running | State::Done => {}
        }
    }

    /// Links a hook to run when `task` ends; its id, or the hook back when the task has
    /// ended already.
    pub(crate) fn add_link(&self, task: &Rc<Task>, hook: Hook) -> Result<u64, Hook> {
        if task.is_done() {
            return Err(hook);
        }
        let id = self.link_id();
        task.has_links.set(true);
        self.links
            .borrow_mut()
            .entry(task.id)
            .or_default()
            .hooks
            .push((id, hook));
        Ok(id)
    }

    /// Runs the hooks of a task that has just ended; its entry stays while runners of
    /// its `link` callbacks are alive.
    fn run_links(&self, task: &Rc<Task>) {
        let hooks = match self.links.borrow_mut().get_mut(&task.id) {
            Some(entry) => std::mem::take(&mut entry.hooks),
            None => Vec::new(),
        };
        for (_, hook) in hooks {
            self.run_hook(hook);
        }
        self.drop_links_if_idle(task);
    }

    fn drop_links_if_idle(&self, task: &Task) {
        let mut links = self.links.borrow_mut();
        let idle = links
            .get(&task.id)
            .is_none_or(|e| e.hooks.is_empty() && e.runners.is_empty());
        if idle && task.is_done() {
            links.remove(&task.id);
            task.has_links.set(false);
        }
    }

    /// Records a task that runs one of `task`'s `link` callbacks.
    pub(crate) fn add_link_runner(&self, task: &Rc<Task>, runner: Rc<Task>) {
        task.has_links.set(true);
        self.links
            .borrow_mut()
            .entry(task.id)
            .or_default()
            .runners
            .push(runner);
    }

    /// A runner of `task`'s link callbacks ends.
    pub(crate) fn link_runner_done(&self, task: &Rc<Task>, runner_id: u64) {
        if let Some(entry) = self.links.borrow_mut().get_mut(&task.id) {
            entry.runners.retain(|r| r.id != runner_id);
        }
        self.drop_links_if_idle(task);
    }

    /// How many tasks have an entry in the link table (tests: nothing leaks).
    #[cfg(test)]
    pub(crate) fn link_entries(&self) -> usize {
        self.links.borrow().len()
    }

    /// A runner of `task`'s link callbacks that has not ended, if any.
    pub(crate) fn pending_link_runner(&self, task: &Task) -> Option<Rc<Task>> {
        if !task.has_links.get() {
            return None;
        }
        let links = self.links.borrow();
        let entry = links.get(&task.id)?;
        entry.runners.iter().find(|r| !r.is_done()).cloned()
    }

    /// A fresh id for a link (of a task or of an `AsyncResult`).
    pub(crate) fn link_id(&self) -> u64 {
        let id = self.next_link.get();
        self.next_link.set(id + 1);
        id
    }

    /// Removes a link of `task` that has not run; true when it was there.
    pub(crate) fn unlink(&self, task: &Rc<Task>, id: u64) -> bool {
        if !task.has_links.get() {
            return false;
        }
        let mut links = self.links.borrow_mut();
        let Some(entry) = links.get_mut(&task.id) else {
            return false;
        };
        let before = entry.hooks.len();
        entry.hooks.retain(|(link, _)| *link != id);
        entry.hooks.len() != before
    }

    /// Runs a hook in the running context, as the hub runs gevent's rawlink callbacks:
    /// it may not block (a blocking hub call in it panics), and a panic in it is
    /// reported and stops only that hook.
    pub(crate) fn run_hook(&self, hook: impl FnOnce()) {
        self.in_hook.set(self.in_hook.get() + 1);
        let outcome = panic::catch_unwind(panic::AssertUnwindSafe(hook));
        self.in_hook.set(self.in_hook.get() - 1);
        if let Err(payload) = outcome {
            let msg =
                super::error::panic_message(payload.as_ref()).unwrap_or("a non-string payload");
            eprintln!("skein hub: a link callback panicked: {msg}");
        }
    }

    fn refuse_block_in_hook(&self) {
        if self.in_hook.get() > 0 {
            panic!(
                "a rawlink callback must not block the hub (use link: it runs the callback in a new task)"
            );
        }
    }

    /// A fresh id for a `Timeout` scope.
    pub(crate) fn timeout_id(&self) -> u64 {
        let id = self.next_timeout.get();
        self.next_timeout.set(id + 1);
        id
    }

    /// Clears a fired-but-undelivered timeout of the current task with this id.
    pub(crate) fn clear_timeout(&self, id: u64) {
        let cur = self.current();
        if cur.timeout.get() == Some(id) {
            cur.timeout.set(None);
        }
    }
}
