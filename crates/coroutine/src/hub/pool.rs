//! gevent's `Pool`: a bound on how many green tasks run at once.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::sync::{Event, Semaphore};
use super::task::{Builder, JoinHandle};

struct Inner {
    size: usize,
    slots: Semaphore,
    running: Cell<usize>,
    idle: Event,
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
}

impl Drop for Slot {
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.running.set(inner.running.get() - 1);
        let _ = inner.slots.release();
        if inner.running.get() == 0 {
            inner.idle.set();
        }
    }
}

impl Pool {
    /// A pool running at most `size` tasks at once (a size of 0 is treated as 1).
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
            }),
        }
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

    fn start<F, T>(&self, builder: Builder, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let inner = &self.inner;
        inner.running.set(inner.running.get() + 1);
        inner.idle.clear();
        let slot = Slot {
            inner: inner.clone(),
        };
        builder.spawn(move || {
            let _slot = slot;
            f()
        })
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
