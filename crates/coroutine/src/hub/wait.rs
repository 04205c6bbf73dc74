//! Waiting on several objects at once: gevent's `gevent.wait(objects, timeout, count)`,
//! `gevent.iwait(objects, timeout)` and `joinall(greenlets, timeout, raise_error, count)`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::core::{Hook, Waiter, Wake, checkpoint, hub};
use super::sync::{AsyncResult, Event};
use super::task::{JoinHandle, TaskRef};

mod sealed {
    use crate::hub::core::Hook;

    /// How `iwait` is told that an object became ready.
    pub trait Sealed {
        /// Runs `hook` once when the object becomes ready: its id, or the hook back
        /// when it is ready now.
        fn link_ready(&self, hook: Hook) -> Result<u64, Hook>;
        /// Removes a hook that has not run.
        fn unlink_ready(&self, id: u64);
    }
}

/// Something [`iwait`] and [`wait_ready`] can wait on (gevent's objects with
/// `rawlink`): a task ([`JoinHandle`], [`TaskRef`]) is ready when it has finished, an
/// [`Event`] when it is set, an [`AsyncResult`] when its result is set. Mix kinds
/// with `&dyn Waitable`. Sealed: implemented by the hub's own types only.
pub trait Waitable: sealed::Sealed {}

impl<T> sealed::Sealed for JoinHandle<T> {
    fn link_ready(&self, hook: Hook) -> Result<u64, Hook> {
        hub().add_link(&self.task, hook)
    }
    fn unlink_ready(&self, id: u64) {
        hub().unlink(&self.task, id);
    }
}
impl<T> Waitable for JoinHandle<T> {}

impl sealed::Sealed for TaskRef {
    fn link_ready(&self, hook: Hook) -> Result<u64, Hook> {
        if self.task.is_main() {
            // The main context never finishes.
            return Ok(hub().link_id());
        }
        hub().add_link(&self.task, hook)
    }
    fn unlink_ready(&self, id: u64) {
        hub().unlink(&self.task, id);
    }
}
impl Waitable for TaskRef {}

impl sealed::Sealed for Event {
    fn link_ready(&self, hook: Hook) -> Result<u64, Hook> {
        self.add_hook(hook)
    }
    fn unlink_ready(&self, id: u64) {
        self.remove_hook(id);
    }
}
impl Waitable for Event {}

impl<T, E> sealed::Sealed for AsyncResult<T, E> {
    fn link_ready(&self, hook: Hook) -> Result<u64, Hook> {
        if self.is_ready() {
            return Err(hook);
        }
        self.ready_event().add_hook(hook)
    }
    fn unlink_ready(&self, id: u64) {
        self.ready_event().remove_hook(id);
    }
}
impl<T, E> Waitable for AsyncResult<T, E> {}

impl<W: Waitable + ?Sized> sealed::Sealed for &W {
    fn link_ready(&self, hook: Hook) -> Result<u64, Hook> {
        (**self).link_ready(hook)
    }
    fn unlink_ready(&self, id: u64) {
        (**self).unlink_ready(id);
    }
}
impl<W: Waitable + ?Sized> Waitable for &W {}

#[derive(Default)]
struct Shared {
    /// Indices of the objects that became ready, in that order, not yet yielded.
    ready: VecDeque<usize>,
    /// The consumer's park, woken when an object becomes ready.
    waiter: Option<Waiter>,
}

/// The iterator of [`iwait`]: the indices of the objects in the order they became
/// ready.
#[must_use = "iwait waits only while it is iterated"]
pub struct Iwait<'a, W: Waitable> {
    objects: &'a [W],
    shared: Rc<RefCell<Shared>>,
    /// `(object index, hook id)` of hooks that may still be pending.
    linked: Vec<(usize, u64)>,
    deadline: Option<Instant>,
    left: usize,
    ended: bool,
}

/// Yields the index of each object as it becomes ready, in the order they became
/// ready (gevent's `gevent.iwait(objects, timeout)`); objects ready at the call come
/// first, in slice order. Ends when every object has been yielded, when `timeout`
/// passes, or — in the main context — when nothing could ever make another object
/// ready (gevent raises `LoopExit` there). Dropping it removes its callbacks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub::{self, Event, Waitable};
///
/// let slow = hub::spawn(|| hub::sleep(Duration::from_millis(20)));
/// let fast = hub::spawn(|| hub::sleep(Duration::from_millis(1)));
/// let flag = Event::new();
/// let f = flag.clone();
/// let setter = hub::spawn(move || { hub::sleep(Duration::from_millis(10)); f.set() });
/// let objects: [&dyn Waitable; 3] = [&slow, &fast, &flag];
/// let order: Vec<usize> = hub::iwait(&objects, None).collect();
/// assert_eq!(order, [1, 2, 0]);
/// # setter.join().unwrap();
/// ```
pub fn iwait<W: Waitable>(objects: &[W], timeout: Option<Duration>) -> Iwait<'_, W> {
    let shared = Rc::new(RefCell::new(Shared::default()));
    let mut linked = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        let to = shared.clone();
        let hook: Hook = Box::new(move || {
            let mut s = to.borrow_mut();
            s.ready.push_back(index);
            if let Some(waiter) = s.waiter.take() {
                hub().wake(&waiter, Wake::Woken);
            }
        });
        match object.link_ready(hook) {
            Ok(id) => linked.push((index, id)),
            Err(_) => shared.borrow_mut().ready.push_back(index),
        }
    }
    Iwait {
        objects,
        shared,
        linked,
        deadline: timeout.map(|t| Instant::now() + t),
        left: objects.len(),
        ended: false,
    }
}

impl<W: Waitable> Iterator for Iwait<'_, W> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.ended || self.left == 0 {
            return None;
        }
        let hub = hub();
        loop {
            if let Some(index) = self.shared.borrow_mut().ready.pop_front() {
                self.left -= 1;
                return Some(index);
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.ended = true;
                return None;
            }
            self.shared.borrow_mut().waiter = Some(hub.waiter());
            let wake = hub.park_deadline(self.deadline);
            self.shared.borrow_mut().waiter = None;
            match wake {
                Wake::Woken | Wake::TimedOut => {}
                Wake::Interrupted => checkpoint(),
                Wake::Deadlock => {
                    if self.shared.borrow().ready.is_empty() {
                        self.ended = true;
                        return None;
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.shared.borrow().ready.len(), Some(self.left))
    }
}

impl<W: Waitable> Drop for Iwait<'_, W> {
    fn drop(&mut self) {
        for &(index, id) in &self.linked {
            self.objects[index].unlink_ready(id);
        }
    }
}

impl<W: Waitable> fmt::Debug for Iwait<'_, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iwait")
            .field("objects", &self.objects.len())
            .field("left", &self.left)
            .finish()
    }
}

/// Waits until `count` of the objects are ready (all of them with `None`) or
/// `timeout` passes, and returns the indices of the ready ones in the order they
/// became ready (gevent's `gevent.wait(objects, timeout, count)`). Fewer than `count`
/// come back on timeout, or when nothing could ever make another one ready.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let tasks = [
///     hub::spawn(|| hub::sleep(Duration::from_secs(60))),
///     hub::spawn(|| ()),
/// ];
/// assert_eq!(hub::wait_ready(&tasks, Some(1), None), [1]);
/// assert_eq!(hub::wait_ready(&tasks, None, Some(Duration::from_millis(5))), [1]);
/// tasks[0].kill();
/// ```
pub fn wait_ready<W: Waitable>(
    objects: &[W],
    count: Option<usize>,
    timeout: Option<Duration>,
) -> Vec<usize> {
    let count = count.unwrap_or(objects.len()).min(objects.len());
    iwait(objects, timeout).take(count).collect()
}

/// gevent's `joinall(greenlets, timeout=None, raise_error=False, count=None)` with
/// all its options; [`joinall`](super::joinall) and
/// [`joinall_timeout`](super::joinall_timeout) are its short forms.
///
/// [`wait`](Self::wait) returns the indices of the finished tasks in the order they
/// finished (tasks finished at the call first, in slice order); their results stay in
/// the handles for [`JoinHandle::join`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub::{self, JoinAll};
///
/// let tasks = [
///     hub::spawn(|| hub::sleep(Duration::from_secs(60))),
///     hub::spawn(|| panic!("failed")),
///     hub::spawn(|| ()),
/// ];
/// // Stop at the first failure, as `raise_error=True` raises it.
/// let err = JoinAll::new().raise_error(true).wait(&tasks).unwrap_err();
/// assert_eq!(err.failed, 1);
/// assert!(err.to_string().contains("failed"));
/// // Or wait for any two, at most 10 ms.
/// let done = JoinAll::new().count(2).timeout(Duration::from_millis(10)).wait(&tasks).unwrap();
/// assert_eq!(done, [1, 2]);
/// tasks[0].kill();
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "JoinAll does nothing until wait is called"]
pub struct JoinAll {
    timeout: Option<Duration>,
    count: Option<usize>,
    raise_error: bool,
}

/// The first task that failed, from [`JoinAll::wait`] with `raise_error` (gevent's
/// `joinall` raises that greenlet's exception).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinAllError {
    /// The index of the failed task; its `join` gives its [`JoinError`](super::JoinError).
    pub failed: usize,
    /// The tasks finished until then, in the order they finished (the failed one last).
    pub done: Vec<usize>,
    message: String,
}

impl fmt::Display for JoinAllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "joinall: task #{} failed: {}", self.failed, self.message)
    }
}

impl std::error::Error for JoinAllError {}

impl JoinAll {
    /// Wait for every task, with no time limit, errors not raised.
    pub fn new() -> Self {
        JoinAll::default()
    }

    /// Wait at most `timeout` (gevent's `timeout=`); the tasks keep running.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Return once `count` tasks have finished (gevent's `count=`).
    pub fn count(mut self, count: usize) -> Self {
        self.count = Some(count);
        self
    }

    /// Stop at the first task that fails — panics or gets no stack — in the order
    /// they finish (gevent's `raise_error=True`). A killed task is not a failure here,
    /// as gevent's `GreenletExit` is not.
    pub fn raise_error(mut self, raise: bool) -> Self {
        self.raise_error = raise;
        self
    }

    /// Waits as configured; the indices of the finished tasks in the order they
    /// finished. Fewer than asked come back on timeout, or in the main context when
    /// no task could ever finish.
    ///
    /// # Errors
    ///
    /// With `raise_error`, [`JoinAllError`] naming the first task that failed.
    pub fn wait<T>(&self, handles: &[JoinHandle<T>]) -> Result<Vec<usize>, JoinAllError> {
        let count = self.count.unwrap_or(handles.len()).min(handles.len());
        let mut done = Vec::with_capacity(count);
        if count == 0 {
            return Ok(done);
        }
        for index in iwait(handles, self.timeout) {
            done.push(index);
            let failure = match &*handles[index].slot.borrow() {
                Some(Err(e)) if !e.is_killed() => Some(e.to_string()),
                _ => None,
            };
            if let (true, Some(message)) = (self.raise_error, failure) {
                return Err(JoinAllError {
                    failed: index,
                    done,
                    message,
                });
            }
            if done.len() == count {
                break;
            }
        }
        Ok(done)
    }
}
