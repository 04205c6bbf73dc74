//! Callbacks run when a green task ends: gevent's `g.link`, `g.rawlink`,
//! `g.link_value`, `g.link_exception` and `g.unlink`.
//!
//! The rules are in the hub module docs, section "Links".

use std::rc::Rc;

use super::core::{Hook, hub};
use super::error::JoinError;
use super::task::{Builder, JoinHandle};

/// The id of a link callback, for [`JoinHandle::unlink`] and
/// [`AsyncResult::unlink`](super::AsyncResult::unlink).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkId(pub(super) u64);

impl<T: 'static> JoinHandle<T> {
    /// Runs `callback` in the hub when the task ends, with its outcome (gevent's
    /// `g.rawlink(callback)`); at once when it has ended already. The callback must not
    /// block: see [Links](crate::hub#links) — use [`link`](Self::link) for one
    /// that does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use skein_coroutine::hub;
    ///
    /// let seen = Rc::new(Cell::new(0));
    /// let task = hub::spawn(|| 6 * 7);
    /// let s = seen.clone();
    /// task.rawlink(move |outcome| s.set(*outcome.as_ref().unwrap()));
    /// assert_eq!(task.join().unwrap(), 42);
    /// assert_eq!(seen.get(), 42);
    /// ```
    pub fn rawlink(&self, callback: impl FnOnce(&Result<T, JoinError>) + 'static) -> LinkId {
        let slot = self.slot.clone();
        let hook: Hook = Box::new(move || {
            if let Some(outcome) = slot.borrow().as_ref() {
                callback(outcome);
            }
        });
        let hub = hub();
        match hub.add_link(&self.task, hook) {
            Ok(id) => LinkId(id),
            Err(hook) => {
                hub.run_hook(hook);
                LinkId(hub.link_id())
            }
        }
    }

    /// Runs `callback` in a new green task when the task ends, with its outcome
    /// (gevent's `g.link(callback)`); it may block on the hub. Linked after the task
    /// ended, it still runs (in a task spawned now). The task's `join` waits until the
    /// callback has returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::{self, Queue};
    ///
    /// let done: Queue<String> = Queue::bounded(1);
    /// let task = hub::spawn(|| "ok");
    /// let d = done.clone();
    /// // A link callback may block: here on a bounded queue.
    /// task.link(move |outcome| d.put(format!("ended: {}", outcome.as_ref().unwrap())));
    /// assert_eq!(done.get(), "ended: ok");
    /// assert_eq!(task.join().unwrap(), "ok");
    /// ```
    pub fn link(&self, callback: impl FnOnce(&Result<T, JoinError>) + 'static) -> LinkId {
        let slot = self.slot.clone();
        let linked = Rc::downgrade(&self.task);
        let name = format!("{}-link", self.task.name());
        let spawn_link: Hook = Box::new(move || {
            let runner = Builder::new().name(name).spawn(move || {
                if let Some(outcome) = slot.borrow().as_ref() {
                    callback(outcome);
                }
            });
            if let Some(linked) = linked.upgrade() {
                linked.link_runners.borrow_mut().push(runner.task.clone());
            }
        });
        let hub = hub();
        match hub.add_link(&self.task, spawn_link) {
            Ok(id) => LinkId(id),
            Err(spawn_link) => {
                spawn_link();
                LinkId(hub.link_id())
            }
        }
    }

    /// Like [`link`](Self::link), called only when the task returned a value (gevent's
    /// `g.link_value(callback)`).
    pub fn link_value(&self, callback: impl FnOnce(&T) + 'static) -> LinkId {
        self.link(move |outcome| {
            if let Ok(value) = outcome {
                callback(value);
            }
        })
    }

    /// Like [`link`](Self::link), called only when the task failed: it panicked, was
    /// killed or got no stack (gevent's `g.link_exception(callback)`).
    pub fn link_exception(&self, callback: impl FnOnce(&JoinError) + 'static) -> LinkId {
        self.link(move |outcome| {
            if let Err(error) = outcome {
                callback(error);
            }
        })
    }

    /// Removes a callback that has not run yet (gevent's `g.unlink(callback)`); true
    /// when it was removed, false when it has run (or is running) already.
    pub fn unlink(&self, id: LinkId) -> bool {
        hub().unlink(&self.task, id.0)
    }
}
