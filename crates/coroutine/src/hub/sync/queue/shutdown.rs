//! Python 3.13's `Queue.shutdown(immediate)`, `is_shutdown` and `ShutDown`, for every
//! order of the hub's queue.

use std::fmt;

use super::{GetFail, Order, PutFail, Queue, hub};

/// The queue was shut down (Python 3.13's `queue.ShutDown`): from
/// [`Queue::send`] with the item handed back in `.0`, from [`Queue::recv`] with `()`.
#[derive(PartialEq, Eq)]
pub struct ShutDown<T = ()>(pub T);

put_error!(ShutDown, "the queue was shut down");

impl<T, S: Order<T>> Queue<T, S> {
    /// Shuts the queue down (Python 3.13's `q.shutdown()`): puts fail from now on —
    /// parked putters wake and fail too — while gets go on until the queue is empty,
    /// then fail; parked getters and peekers of an empty queue wake and fail. The
    /// failures: [`send`](Self::send) / [`recv`](Self::recv) return [`ShutDown`],
    /// [`iter`](Self::iter) ends, `try_put` / `put_timeout` hand the item back,
    /// `try_get` / `get_timeout` / `peek_timeout` return `None`, and `put` / `get` /
    /// `peek` panic as Python raises. Shutting down twice does nothing more.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::hub::{self, Queue};
    ///
    /// let q = Queue::bounded(2);
    /// let consumer = { let q = q.clone(); hub::spawn(move || q.iter().sum::<u32>()) };
    /// for n in 1..=4 { q.send(n).unwrap(); }
    /// q.shutdown();
    /// assert_eq!(q.send(5).unwrap_err().into_inner(), 5);
    /// assert_eq!(consumer.join().unwrap(), 10);
    /// ```
    pub fn shutdown(&self) {
        self.inner.shut.set(true);
        let hub = hub();
        self.inner.putters.wake_all(&hub);
        self.inner.getters.wake_all(&hub);
        self.inner.peekers.wake_all(&hub);
    }

    /// Shuts the queue down and empties it (Python 3.13's `q.shutdown(immediate=True)`):
    /// the items are removed — and handed back here, in the order `get` would have
    /// taken them, rather than dropped — and each counts as a `task_done`, so a
    /// [`join`](Self::join) waiting for them returns.
    pub fn shutdown_immediate(&self) -> Vec<T> {
        self.shutdown();
        let mut removed = Vec::with_capacity(self.len());
        while let Some(item) = self.pop() {
            removed.push(item);
        }
        let unfinished = self.inner.unfinished.get();
        self.inner
            .unfinished
            .set(unfinished.saturating_sub(removed.len()));
        if self.inner.unfinished.get() == 0 {
            self.inner.joiners.wake_all(&hub());
        }
        removed
    }

    /// True once [`shutdown`](Self::shutdown) was called (Python 3.13's
    /// `q.is_shutdown`).
    pub fn is_shutdown(&self) -> bool {
        self.inner.shut.get()
    }

    /// Puts an item, waiting while a bounded queue is full: [`put`](Self::put) with
    /// Python 3.13's `ShutDown` as an error.
    ///
    /// # Errors
    ///
    /// [`ShutDown`] with the item when the queue is shut down (before or while waiting).
    pub fn send(&self, item: T) -> Result<(), ShutDown<T>> {
        match self.put_deadline_opt(item, None) {
            Ok(()) => Ok(()),
            Err((item, PutFail::Shut)) => Err(ShutDown(item)),
            Err((_, PutFail::Full)) => unreachable!("no deadline"),
        }
    }

    /// Takes the next item, waiting while the queue is empty: [`get`](Self::get) with
    /// Python 3.13's `ShutDown` as an error.
    ///
    /// # Errors
    ///
    /// [`ShutDown`] when the queue is shut down and empty.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever put an item or
    /// shut the queue down (gevent's `LoopExit`).
    pub fn recv(&self) -> Result<T, ShutDown> {
        match self.get_deadline_opt(None) {
            Ok(item) => Ok(item),
            Err(GetFail::Shut) => Err(ShutDown(())),
            Err(GetFail::Empty) => unreachable!("no deadline"),
        }
    }

    /// The items as they come, waiting for each; ends when the queue is shut down and
    /// empty (the loop of Python's `while True: q.get()` that stops at `ShutDown`).
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(move || self.recv().ok())
    }
}
