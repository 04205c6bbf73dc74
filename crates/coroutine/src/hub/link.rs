//! Callbacks run when a green task ends: gevent's `g.link`, `g.rawlink`,
//! `g.link_value`, `g.link_exception` and `g.unlink`.
//!
//! The rules are in the hub module docs, section "Links".

use std::cell::Cell;
use std::rc::Rc;

use super::core::{Hook, Task, hub};
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
            let Some(task) = linked.upgrade() else { return };
            let runner_id = Rc::new(Cell::new(0));
            let done = RunnerDone {
                task: task.clone(),
                runner_id: runner_id.clone(),
            };
            let runner = Builder::new().name(name).spawn(move || {
                let _done = done;
                if let Some(outcome) = slot.borrow().as_ref() {
                    callback(outcome);
                }
            });
            runner_id.set(runner.task.id);
            hub().add_link_runner(&task, runner.task.clone());
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

/// Takes a link runner off its task's table when the runner ends, however it ends.
struct RunnerDone {
    task: Rc<Task>,
    runner_id: Rc<Cell<u64>>,
}

impl Drop for RunnerDone {
    fn drop(&mut self) {
        if let Some(hub) = super::core::try_hub() {
            hub.link_runner_done(&self.task, self.runner_id.get());
        }
    }
}

#[cfg(test)]
mod test {
    use std::time::Duration;

    use crate::hub::{self, Event, Queue};

    use super::super::core::hub as this_hub;

    /// The hub's link table keeps no entry once a task has ended and its link
    /// callbacks have returned: joined, detached, unlinked, iwait dropped early.
    #[test]
    fn the_link_table_empties_itself() {
        let joined = hub::spawn(|| 1);
        joined.rawlink(|_| {});
        joined.link(|_| hub::sleep(Duration::from_millis(1)));
        assert_eq!(joined.join().unwrap(), 1);
        assert_eq!(this_hub().link_entries(), 0);

        let told = Queue::new();
        let detached = hub::spawn(|| 2);
        let t = told.clone();
        detached.link(move |o| t.put(*o.as_ref().unwrap()));
        drop(detached);
        assert_eq!(told.get(), 2);
        hub::sleep(Duration::ZERO);
        assert_eq!(this_hub().link_entries(), 0);

        let gate = Event::new();
        let parked = {
            let gate = gate.clone();
            hub::spawn(move || gate.wait())
        };
        let id = parked.rawlink(|_| {});
        assert!(parked.unlink(id));
        drop(hub::iwait(
            std::slice::from_ref(&parked),
            Some(Duration::ZERO),
        ));
        assert_eq!(
            this_hub().link_entries(),
            1,
            "an entry while the task lives"
        );
        gate.set();
        parked.join().unwrap();
        assert_eq!(this_hub().link_entries(), 0);
    }
}
