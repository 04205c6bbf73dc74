//! Spawning green tasks and waiting for them: gevent's `spawn`, `Greenlet`, `join`,
//! `joinall`, `kill`, `getcurrent`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::core::{Body, Killed, Start, Task, Wake, checkpoint, hub};
use super::error::{JoinError, SpawnError};

pub(super) type ResultSlot<T> = Rc<RefCell<Option<Result<T, JoinError>>>>;

/// The handle of a green task: gevent's `Greenlet` object, returned by [`spawn`].
///
/// `!Send`: a task lives on its hub's thread, and so does its handle. Dropping the handle
/// detaches the task (it still runs).
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub;
///
/// let task = hub::spawn(|| 6 * 7);
/// assert_eq!(task.join().unwrap(), 42);
/// ```
#[must_use = "dropping a JoinHandle detaches the task; join it to get its result"]
pub struct JoinHandle<T> {
    pub(super) task: Rc<Task>,
    pub(super) slot: ResultSlot<T>,
}

/// A reference to a green task (or to a thread's main context), as
/// [`getcurrent`] returns it.
#[derive(Clone)]
pub struct TaskRef {
    pub(super) task: Rc<Task>,
}

/// How a wait ended.
pub(super) enum Outcome {
    Done,
    TimedOut,
    Deadlock,
    JoinSelf,
}

/// Waits until `task` finishes or `deadline` passes.
pub(super) fn wait_task(task: &Rc<Task>, deadline: Option<Instant>) -> Outcome {
    let hub = hub();
    loop {
        if task.is_done() {
            return Outcome::Done;
        }
        if Rc::ptr_eq(&hub.current(), task) {
            return Outcome::JoinSelf;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Outcome::TimedOut;
        }
        task.add_joiner(hub.waiter());
        match hub.park_deadline(deadline) {
            Wake::Woken | Wake::TimedOut => {}
            Wake::Interrupted => checkpoint(),
            Wake::Deadlock => return Outcome::Deadlock,
        }
    }
}

impl<T> JoinHandle<T> {
    fn new(task: Rc<Task>, slot: ResultSlot<T>) -> Self {
        JoinHandle { task, slot }
    }

    /// Waits for the task and returns its result: `Err` when it panicked, was killed or
    /// never got a stack (gevent's `g.join(); g.value` / `g.get()`).
    ///
    /// From the main context this runs the hub until the task ends. When the task has
    /// [`link`](Self::link) callbacks, it also waits until they have returned (they
    /// read the result in place).
    ///
    /// # Errors
    ///
    /// [`JoinError`]: the task's panic, [`JoinError::Killed`], [`JoinError::Stack`];
    /// [`JoinError::JoinSelf`] when a task joins itself; [`JoinError::WouldBlockForever`]
    /// when the main context waits for a task (or a link callback of it) nothing can
    /// wake.
    pub fn join(self) -> Result<T, JoinError> {
        match wait_task(&self.task, None) {
            Outcome::Done => match self.wait_links() {
                Outcome::Done => self.take(),
                _ => Err(JoinError::WouldBlockForever),
            },
            Outcome::Deadlock => Err(JoinError::WouldBlockForever),
            Outcome::JoinSelf => Err(JoinError::JoinSelf),
            Outcome::TimedOut => unreachable!("no deadline"),
        }
    }

    fn take(&self) -> Result<T, JoinError> {
        self.slot
            .borrow_mut()
            .take()
            .expect("a finished task has a result until its handle takes it")
    }

    /// Waits until every `link` callback of the task has returned (they borrow its
    /// result).
    fn wait_links(&self) -> Outcome {
        let hub = hub();
        loop {
            let Some(task) = hub.pending_link_runner(&self.task) else {
                return Outcome::Done;
            };
            match wait_task(&task, None) {
                Outcome::Done => {}
                other => return other,
            }
        }
    }

    /// Waits until the task finishes or `timeout` passes (gevent's `g.join(timeout)`);
    /// true when it finished. The task keeps running on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline(Instant::now() + timeout)
    }

    /// Waits until the task finishes or `deadline` passes; true when it finished.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        matches!(wait_task(&self.task, Some(deadline)), Outcome::Done)
    }

    /// The result if the task has finished, or the handle back.
    ///
    /// # Errors
    ///
    /// The handle itself while the task still runs, or while one of its
    /// [`link`](Self::link) callbacks has not returned.
    pub fn try_join(self) -> Result<Result<T, JoinError>, Self> {
        if self.task.is_done() && hub().pending_link_runner(&self.task).is_none() {
            Ok(self.take())
        } else {
            Err(self)
        }
    }

    /// True when the task has finished (gevent's `g.dead` / `g.ready()`).
    pub fn is_finished(&self) -> bool {
        self.task.is_done()
    }

    /// True when the task has finished with a value (gevent's `g.successful()`); false
    /// while it runs and when it panicked, was killed or got no stack (gevent counts a
    /// greenlet killed with `GreenletExit` as successful; here its `join` is an `Err`).
    pub fn is_successful(&self) -> bool {
        matches!(*self.slot.borrow(), Some(Ok(_)))
    }

    /// The task's error as text once it has failed (gevent's `g.exception`), `None`
    /// while it runs and when it returned a value.
    pub fn error_message(&self) -> Option<String> {
        match &*self.slot.borrow() {
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        }
    }

    /// Kills the task and waits until it has ended (gevent's `g.kill()`): a task that
    /// has not started never runs; a parked one unwinds from its blocking call, running
    /// its destructors; its `join` gives [`JoinError::Killed`]. A task that is busy
    /// computing is killed at its next hub call. Killing a finished task does nothing.
    pub fn kill(&self) {
        self.kill_nowait();
        let _ = wait_task(&self.task, None);
    }

    /// Asks the task to die and returns at once (gevent's `g.kill(block=False)`).
    pub fn kill_nowait(&self) {
        let hub = hub();
        hub.kill(&self.task);
        if Rc::ptr_eq(&hub.current(), &self.task) {
            checkpoint();
        }
    }

    /// The task's id (1, 2, …; the main context is 0).
    pub fn id(&self) -> u64 {
        self.task.id
    }

    /// The task's name (`task-<id>` unless set with [`Builder::name`]).
    pub fn name(&self) -> String {
        self.task.name().into_owned()
    }

    /// A cloneable reference to the task.
    pub fn task(&self) -> TaskRef {
        TaskRef {
            task: self.task.clone(),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.task.id)
            .field("name", &self.task.name())
            .field("finished", &self.task.is_done())
            .finish()
    }
}

impl TaskRef {
    /// The task's id (0 for the main context).
    pub fn id(&self) -> u64 {
        self.task.id
    }

    /// The task's name (`main` for the main context).
    pub fn name(&self) -> String {
        self.task.name().into_owned()
    }

    /// True for the thread's main context (not a green task).
    pub fn is_main(&self) -> bool {
        self.task.is_main()
    }

    /// True when the task has finished.
    pub fn is_finished(&self) -> bool {
        self.task.is_done()
    }

    /// Asks the task to die and returns at once (see [`JoinHandle::kill`]); the main
    /// context cannot be killed.
    pub fn kill_nowait(&self) {
        let hub = hub();
        hub.kill(&self.task);
        if !self.task.is_main() && Rc::ptr_eq(&hub.current(), &self.task) {
            checkpoint();
        }
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.task, &other.task)
    }
}

impl Eq for TaskRef {}

impl fmt::Display for TaskRef {
    /// `<Greenlet "task-1">`, like gevent's repr of a greenlet.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Greenlet \"{}\">", self.task.name())
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.task.id)
            .field("name", &self.task.name())
            .finish()
    }
}

/// Options for a new green task: its name, and whether it takes its stack at spawn.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub;
///
/// let task = hub::Builder::new().name("worker").spawn(|| hub::getcurrent().name());
/// assert_eq!(task.join().unwrap(), "worker");
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    name: Option<Box<str>>,
}

fn make_body<F, T>(f: F, slot: ResultSlot<T>) -> Body
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Box::new(move |start| {
        let result = match start {
            Start::Cancel(e) => Err(e),
            Start::Run => match panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(value) => Ok(value),
                Err(payload) if payload.is::<Killed>() => Err(JoinError::Killed),
                Err(payload) => {
                    let task = hub().current().name().into_owned();
                    let err = JoinError::Panicked { task, payload };
                    // gevent prints a failed greenlet's traceback; the panic hook has
                    // printed the message and location, this names the task.
                    eprintln!("skein hub: {err}");
                    Err(err)
                }
            },
        };
        *slot.borrow_mut() = Some(result);
    })
}

impl Builder {
    /// A builder with the default options.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the task (shown by [`getcurrent`], panics and the blocking detector).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns the task on this thread's hub; it first runs when the running context
    /// blocks or yields. Its stack is taken when it starts, so spawning is cheap and
    /// 100,000 short tasks share a few stacks; a task that cannot get one never runs and
    /// its `join` returns [`JoinError::Stack`].
    pub fn spawn<F, T>(self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let hub = hub();
        let slot: ResultSlot<T> = Rc::new(RefCell::new(None));
        let body = make_body(f, slot.clone());
        let task = match hub.new_task(self.name, body, false) {
            Ok(task) => task,
            Err(_) => unreachable!("a lazy spawn takes no stack"),
        };
        hub.schedule_new(task.clone());
        JoinHandle::new(task, slot)
    }

    /// Spawns the task and takes its stack now, so that reaching the kernel's limit
    /// on memory mappings (`vm.max_map_count`) or memory is an error here, at spawn.
    ///
    /// # Errors
    ///
    /// [`SpawnError`] with the closure handed back when no stack can be mapped.
    pub fn try_spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let hub = hub();
        let slot: ResultSlot<T> = Rc::new(RefCell::new(None));
        // The closure goes into the body only once a stack is in hand, so that it can
        // be handed back on failure.
        let cell: Rc<Cell<Option<F>>> = Rc::new(Cell::new(Some(f)));
        let inner = cell.clone();
        let body = make_body(
            move || {
                (inner
                    .take()
                    .expect("the closure is there until the task runs"))()
            },
            slot.clone(),
        );
        match hub.new_task(self.name, body, true) {
            Ok(task) => {
                hub.schedule_new(task.clone());
                Ok(JoinHandle::new(task, slot))
            }
            Err((e, body)) => {
                drop(body);
                let f = cell.take().expect("the closure was not moved");
                Err(SpawnError::new(e, f))
            }
        }
    }

    /// Spawns the task to start after `delay` (gevent's `spawn_later`). Killing it
    /// before then cancels its timer.
    pub fn spawn_later<F, T>(self, delay: Duration, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let hub = hub();
        let slot: ResultSlot<T> = Rc::new(RefCell::new(None));
        let body = make_body(f, slot.clone());
        let task = match hub.new_task(self.name, body, false) {
            Ok(task) => task,
            Err(_) => unreachable!("a lazy spawn takes no stack"),
        };
        hub.schedule_later(task.clone(), delay);
        JoinHandle::new(task, slot)
    }
}

/// Spawns a green task on this thread's hub (gevent's `gevent.spawn(f, *args)`: the
/// arguments go into the closure).
///
/// The task runs when the running context blocks or yields — in the main context, at
/// its first hub call (`join`, `sleep`, …). See [`Builder`] for names and for
/// [`Builder::try_spawn`], which reports the memory-map cap at spawn.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub;
///
/// let tasks: Vec<_> = (0..3).map(|i| hub::spawn(move || i * 10)).collect();
/// let values: Vec<i32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
/// assert_eq!(values, [0, 10, 20]);
/// ```
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().spawn(f)
}

/// Spawns a green task that starts after `delay` (gevent's `spawn_later`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let late = hub::spawn_later(Duration::from_millis(5), || "late");
/// assert_eq!(late.join().unwrap(), "late");
/// ```
pub fn spawn_later<F, T>(delay: Duration, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().spawn_later(delay, f)
}

/// The running green task, or the thread's main context (gevent's `getcurrent()`).
pub fn getcurrent() -> TaskRef {
    TaskRef {
        task: hub().current(),
    }
}

/// Sleeps cooperatively: other tasks run meanwhile (gevent's `sleep`, and `time.sleep`
/// after `monkey.patch_all()`). `sleep(Duration::ZERO)` yields: the task goes to the back
/// of the ready queue and every task ready before it runs first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let t = hub::spawn(|| { hub::sleep(Duration::from_millis(1)); "woke" });
/// assert_eq!(t.join().unwrap(), "woke");
/// ```
pub fn sleep(duration: Duration) {
    let hub = hub();
    if duration.is_zero() {
        hub.yield_now();
        checkpoint();
        return;
    }
    let deadline = Instant::now() + duration;
    loop {
        match hub.park_deadline(Some(deadline)) {
            Wake::TimedOut => return,
            Wake::Interrupted => checkpoint(),
            Wake::Woken | Wake::Deadlock => {}
        }
        if Instant::now() >= deadline {
            return;
        }
    }
}

/// Waits for every task (gevent's `joinall(greenlets)`); their results stay in the
/// handles for [`JoinHandle::join`].
pub fn joinall<T>(handles: &[JoinHandle<T>]) {
    for handle in handles {
        let _ = wait_task(&handle.task, None);
    }
}

/// Waits for every task until `timeout` passes (gevent's `joinall(greenlets, timeout)`);
/// returns how many have finished. Unfinished tasks keep running.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let quick = hub::spawn(|| ());
/// let slow = hub::spawn(|| hub::sleep(Duration::from_secs(60)));
/// let both = [quick, slow];
/// assert_eq!(hub::joinall_timeout(&both, Duration::from_millis(10)), 1);
/// both[1].kill();
/// ```
pub fn joinall_timeout<T>(handles: &[JoinHandle<T>], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    for handle in handles {
        if !handle.wait_deadline(deadline) {
            break;
        }
    }
    handles.iter().filter(|h| h.is_finished()).count()
}

/// Kills every task and waits until they have ended (gevent's `killall`).
pub fn killall<T>(handles: &[JoinHandle<T>]) {
    for handle in handles {
        handle.kill_nowait();
    }
    for handle in handles {
        let _ = wait_task(&handle.task, None);
    }
}

/// Runs `f` as a green task named `main-task` and returns its result — one way into the
/// hub from ordinary code (the other: any blocking hub call in the main context runs the
/// hub until that call can return).
///
/// # Errors
///
/// As [`JoinHandle::join`].
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub;
///
/// let n = hub::run(|| {
///     let a = hub::spawn(|| 1);
///     let b = hub::spawn(|| 2);
///     a.join().unwrap() + b.join().unwrap()
/// });
/// assert_eq!(n.unwrap(), 3);
/// ```
pub fn run<F, T>(f: F) -> Result<T, JoinError>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new().name("main-task").spawn(f).join()
}

/// How many green tasks of this thread's hub are spawned and not finished.
pub fn live_tasks() -> usize {
    hub().live()
}

/// Runs the hub until every other green task of this thread has finished (gevent's
/// `gevent.wait()`); false when some task can never finish (it waits for something
/// nothing can signal).
pub fn wait() -> bool {
    wait_until(None)
}

/// Runs the hub until every other green task of this thread has finished or `timeout`
/// has passed (gevent's `gevent.wait(timeout=t)`); true when they all finished. Tasks
/// still running when it returns keep running. `Duration::ZERO` only checks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let slow = hub::spawn_later(Duration::from_secs(60), || ());
/// assert!(!hub::wait_timeout(Duration::from_millis(5)));
/// slow.kill();
/// assert!(hub::wait_timeout(Duration::ZERO));
/// ```
pub fn wait_timeout(timeout: Duration) -> bool {
    wait_until(Some(Instant::now() + timeout))
}

fn wait_until(deadline: Option<Instant>) -> bool {
    let hub = hub();
    let own = usize::from(!hub.current().is_main());
    loop {
        if hub.live() <= own {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        hub.add_idle_waiter(hub.waiter());
        match hub.park_deadline(deadline) {
            Wake::Deadlock => return hub.live() <= own,
            Wake::Interrupted => checkpoint(),
            Wake::Woken | Wake::TimedOut => {}
        }
    }
}
