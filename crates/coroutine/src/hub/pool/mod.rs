//! gevent's `Pool`: a bound on how many green tasks run at once.

mod imap;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::JoinError;
use super::core::{Killed, TimeoutFired, hub};
use super::sync::{Event, Semaphore};
use super::task::{Builder, JoinHandle, TaskRef};

pub use imap::Imap;

struct Inner {
    size: usize,
    slots: Semaphore,
    running: Cell<usize>,
    idle: Event,
    /// The pool's unfinished tasks by id (for `apply`'s re-entrance rule and `kill`).
    members: RefCell<HashMap<u64, TaskRef>>,
}

/// A bounded group of green tasks (gevent's `gevent.pool.Pool(size)`): [`spawn`](Pool::spawn)
/// waits while `size` tasks of the pool are running. Clones share one pool.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub::{self, Pool};
///
/// let pool = Pool::new(2);
/// let squares = pool.map(1..=5, |i| { hub::sleep(Duration::from_millis(1)); i * i });
/// let squares: Vec<i32> = squares.into_iter().map(Result::unwrap).collect();
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
#[derive(Clone)]
pub struct Pool {
    inner: Rc<Inner>,
}

/// Gives the pool slot back when its task ends (returns, panics, is killed or never
/// starts).
struct Slot {
    inner: Rc<Inner>,
    /// The task's id, set once it is spawned.
    member: Rc<Cell<Option<u64>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let inner = &self.inner;
        if let Some(id) = self.member.get() {
            inner.members.borrow_mut().remove(&id);
        }
        inner.running.set(inner.running.get() - 1);
        let _ = inner.slots.release();
        if inner.running.get() == 0 {
            inner.idle.set();
        }
    }
}

impl Pool {
    /// A pool running at most `size` tasks at once (a size of 0 is treated as 1; gevent's
    /// `Pool(0)` is always full).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        let idle = Event::new();
        idle.set();
        Pool {
            inner: Rc::new(Inner {
                size,
                slots: Semaphore::bounded(size),
                running: Cell::new(0),
                idle,
                members: RefCell::new(HashMap::new()),
            }),
        }
    }

    /// A pool with no bound (gevent's `Group`: it tracks its tasks for `join`).
    pub fn unbounded() -> Self {
        Pool::new(usize::MAX)
    }

    /// The bound.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// Tasks of the pool not finished (Python's `len(pool)`).
    pub fn len(&self) -> usize {
        self.inner.running.get()
    }

    /// True when no task of the pool runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots (gevent's `free_count()`).
    pub fn free_count(&self) -> usize {
        self.inner.size - self.len()
    }

    /// True when a spawn would wait (gevent's `full()`).
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }

    /// Spawns `f` in the pool, first waiting for a free slot.
    ///
    /// # Panics
    ///
    /// In the main context, when the pool is full of tasks that can never finish
    /// (gevent's `LoopExit`).
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        self.inner.slots.acquire().forget();
        self.start(Builder::new(), f)
    }

    /// Spawns `f` if a slot is free now; the closure is handed back otherwise.
    ///
    /// # Errors
    ///
    /// The closure when the pool is full.
    pub fn try_spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, F>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        match self.inner.slots.try_acquire() {
            Some(permit) => {
                permit.forget();
                Ok(self.start(Builder::new(), f))
            }
            None => Err(f),
        }
    }

    /// Spawns `f` in the pool, waiting at most `timeout` for a free slot (gevent's
    /// `pool.spawn` under a `Timeout`, `pool.add(g, timeout=t)`).
    ///
    /// # Errors
    ///
    /// The closure when no slot freed in time (gevent's `PoolFull`).
    pub fn spawn_timeout<F, T>(&self, timeout: Duration, f: F) -> Result<JoinHandle<T>, F>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        match self.inner.slots.acquire_timeout(timeout) {
            Some(permit) => {
                permit.forget();
                Ok(self.start(Builder::new(), f))
            }
            None => Err(f),
        }
    }

    /// Runs `f` on the pool and waits for its result (gevent's `pool.apply(f)`). Called
    /// from one of the pool's own tasks it runs `f` right there, as gevent does, so a
    /// full pool cannot deadlock on itself.
    ///
    /// # Errors
    ///
    /// [`JoinError`] as [`JoinHandle::join`]: `f`'s panic, or the task was killed.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::Pool;
    ///
    /// let pool = Pool::new(1);
    /// let inner = pool.clone();
    /// // The outer call holds the only slot; the inner one runs in place.
    /// let n = pool.apply(move || inner.apply(|| 5 + 1).unwrap()).unwrap();
    /// assert_eq!(n, 6);
    /// ```
    pub fn apply<F, T>(&self, f: F) -> Result<T, JoinError>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let me = hub().current();
        if !self.inner.members.borrow().contains_key(&me.id) {
            return self.spawn(f).join();
        }
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => Ok(value),
            Err(payload) if payload.is::<Killed>() || payload.is::<TimeoutFired>() => {
                panic::resume_unwind(payload)
            }
            Err(payload) => Err(JoinError::Panicked {
                task: me.name().into_owned(),
                payload,
            }),
        }
    }

    fn start<F, T>(&self, builder: Builder, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let inner = &self.inner;
        inner.running.set(inner.running.get() + 1);
        inner.idle.clear();
        let member = Rc::new(Cell::new(None));
        let slot = Slot {
            inner: inner.clone(),
            member: member.clone(),
        };
        let handle = builder.spawn(move || {
            let _slot = slot;
            f()
        });
        // The task cannot have run yet: spawning only queues it.
        member.set(Some(handle.id()));
        inner
            .members
            .borrow_mut()
            .insert(handle.id(), handle.task());
        handle
    }

    /// Kills every task of the pool and waits until they have ended (gevent's
    /// `pool.kill()`): tasks not started never run, parked ones unwind from their hub
    /// call, and tasks spawned into the pool meanwhile are killed too, until the pool is
    /// empty. Called from one of the pool's own tasks, it asks the others to die and
    /// then ends the calling task (which unwinds at once, as a task killing itself does).
    pub fn kill(&self) {
        let me = hub().current();
        loop {
            let tasks: Vec<TaskRef> = self.inner.members.borrow().values().cloned().collect();
            if tasks.is_empty() {
                return;
            }
            let mut own = None;
            for task in tasks {
                if task.id() == me.id && !me.is_main() {
                    own = Some(task);
                } else {
                    task.kill_nowait();
                }
            }
            if let Some(own) = own {
                own.kill_nowait();
            }
            self.join();
        }
    }

    /// Applies `f` to every item on the pool's tasks, at most `size` at once, and
    /// returns the results in order (gevent's `pool.map`; a panic is that item's `Err`).
    pub fn map<I, F, T>(&self, items: I, f: F) -> Vec<Result<T, super::JoinError>>
    where
        I: IntoIterator,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        let f = Rc::new(f);
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| {
                let f = f.clone();
                self.spawn(move || f(item))
            })
            .collect();
        handles.into_iter().map(JoinHandle::join).collect()
    }

    /// Applies `f` to every item on the pool's tasks, at most `size` at once, and yields
    /// the results in the items' order as they become available (gevent's
    /// `pool.imap`). A feeder task spawns the items as slots free up, so at most `size`
    /// run at once; finished results wait in the iterator until taken. Dropping the
    /// iterator stops the feeding.
    ///
    /// A panic in `f` is that item's `Err`; a panic of the items' iterator itself comes
    /// out of `next` once the results before it are taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use skein_coroutine::hub::{self, Pool};
    ///
    /// let pool = Pool::new(2);
    /// let slow_first = pool.imap([40u64, 1, 20], |ms| { hub::sleep(Duration::from_millis(ms)); ms });
    /// let got: Vec<u64> = slow_first.map(Result::unwrap).collect();
    /// assert_eq!(got, [40, 1, 20]);
    /// ```
    pub fn imap<I, F, T>(&self, items: I, f: F) -> Imap<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        Imap::new(self.clone(), items.into_iter(), f, true, None)
    }

    /// As [`imap`](Self::imap), with gevent's `maxsize`: the feeder starts no further
    /// item while `maxsize` finished results wait for the consumer (a slow consumer
    /// holds the producers back instead of letting results pile up). Tasks already
    /// running still finish, so at most `maxsize` + the pool's size − 1 results wait.
    /// A `maxsize` of 0 is treated as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::Pool;
    ///
    /// let pool = Pool::new(2);
    /// let squares = pool.imap_maxsize(1..=5, 1, |n: u32| n * n);
    /// assert_eq!(squares.map(Result::unwrap).collect::<Vec<_>>(), [1, 4, 9, 16, 25]);
    /// ```
    pub fn imap_maxsize<I, F, T>(&self, items: I, maxsize: usize, f: F) -> Imap<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        Imap::new(self.clone(), items.into_iter(), f, true, Some(maxsize))
    }

    /// As [`imap`](Self::imap), but yields each result as soon as its task finishes
    /// (gevent's `pool.imap_unordered`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use skein_coroutine::hub::{self, Pool};
    ///
    /// let pool = Pool::new(3);
    /// let fastest_first = pool.imap_unordered([40u64, 1, 20], |ms| { hub::sleep(Duration::from_millis(ms)); ms });
    /// let got: Vec<u64> = fastest_first.map(Result::unwrap).collect();
    /// assert_eq!(got, [1, 20, 40]);
    /// ```
    pub fn imap_unordered<I, F, T>(&self, items: I, f: F) -> Imap<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        Imap::new(self.clone(), items.into_iter(), f, false, None)
    }

    /// As [`imap_unordered`](Self::imap_unordered), with gevent's `maxsize` (see
    /// [`imap_maxsize`](Self::imap_maxsize)).
    pub fn imap_unordered_maxsize<I, F, T>(&self, items: I, maxsize: usize, f: F) -> Imap<T>
    where
        I: IntoIterator,
        I::IntoIter: 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
        T: 'static,
    {
        Imap::new(self.clone(), items.into_iter(), f, false, Some(maxsize))
    }

    /// Waits until every task of the pool has finished (gevent's `pool.join()`).
    pub fn join(&self) {
        self.inner.idle.wait();
    }

    /// Waits at most `timeout` for every task of the pool; true when they finished.
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.inner.idle.wait_timeout(timeout)
    }

    /// Waits until `deadline` at most for every task of the pool.
    pub fn join_deadline(&self, deadline: Instant) -> bool {
        self.inner.idle.wait_deadline(deadline)
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.inner.size)
            .field("running", &self.len())
            .finish()
    }
}
