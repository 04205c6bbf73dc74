//! `Condition`: Python's `threading.Condition`, over a [`Lock`] or an [`RLock`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::lock::Lock;
use crate::primitive::{Mutex, mutex};
use crate::rlock::RLock;
use crate::waiter::{self, WAITING, Waiter, current_id};

mod sealed {
    /// How a condition drives its lock. Sealed: implemented for skein's locks only.
    pub trait Sealed {
        /// Takes the lock (once more), waiting until `deadline`; false on timeout.
        fn cond_acquire(&self, deadline: Option<std::time::Instant>) -> bool;
        /// Takes the lock only if free (or already ours, for `RLock`).
        fn cond_try_acquire(&self) -> bool;
        /// Undoes one acquisition by this thread.
        fn cond_release(&self);
        /// Releases the lock completely before a wait; returns what `cond_restore` needs.
        fn cond_release_all(&self) -> usize;
        /// Takes the lock back after a wait.
        fn cond_restore(&self, saved: usize);
    }
}

/// A lock a [`Condition`] can be built on: [`Lock`], [`RLock`] (Python's default), or an
/// `Arc` of either (to share one lock between several conditions). Sealed.
pub trait ConditionLock: sealed::Sealed {}

impl sealed::Sealed for Lock {
    fn cond_acquire(&self, deadline: Option<Instant>) -> bool {
        self.raw()
            .lock_until(current_id(), deadline, self.name_arc())
    }
    fn cond_try_acquire(&self) -> bool {
        self.raw().try_lock(current_id())
    }
    fn cond_release(&self) {
        self.raw().unlock_owned(current_id());
    }
    fn cond_release_all(&self) -> usize {
        self.raw().unlock_owned(current_id());
        1
    }
    fn cond_restore(&self, _saved: usize) {
        self.raw().lock_after_wait(current_id(), self.name_arc());
    }
}
impl ConditionLock for Lock {}

impl sealed::Sealed for RLock {
    fn cond_acquire(&self, deadline: Option<Instant>) -> bool {
        self.acquire_raw(deadline)
    }
    fn cond_try_acquire(&self) -> bool {
        self.try_acquire().map(|g| g.leak()).is_some()
    }
    fn cond_release(&self) {
        let _ = self.release();
    }
    fn cond_release_all(&self) -> usize {
        self.release_all()
    }
    fn cond_restore(&self, saved: usize) {
        self.reacquire(saved);
    }
}
impl ConditionLock for RLock {}

impl<L: ConditionLock> sealed::Sealed for Arc<L> {
    fn cond_acquire(&self, deadline: Option<Instant>) -> bool {
        (**self).cond_acquire(deadline)
    }
    fn cond_try_acquire(&self) -> bool {
        (**self).cond_try_acquire()
    }
    fn cond_release(&self) {
        (**self).cond_release()
    }
    fn cond_release_all(&self) -> usize {
        (**self).cond_release_all()
    }
    fn cond_restore(&self, saved: usize) {
        (**self).cond_restore(saved)
    }
}
impl<L: ConditionLock> ConditionLock for Arc<L> {}

/// A condition variable bound to a lock — Python's `threading.Condition(lock)`.
///
/// [`acquire`](Condition::acquire) takes the lock and returns a [`ConditionGuard`]; waiting
/// and notifying are methods of the guard, so Python's `RuntimeError: cannot wait on
/// un-acquired lock` cannot happen. `wait` releases the lock completely (all levels of an
/// `RLock`), sleeps until notified, and takes the lock back. Waiters are woken in FIFO order;
/// `notify(n)` wakes exactly `min(n, waiting)` of them, never spuriously. A waiter spins
/// briefly before parking, so a notify that follows quickly costs no system call.
///
/// The data the condition is about must live in something `Sync` (atomics, or a container of
/// its own); the condition's lock orders the checks and the waits.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use skein_locks::Condition;
///
/// let cond = Condition::new(); // over an RLock, like Python's default
/// let ready = AtomicBool::new(false);
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         let mut g = cond.acquire();                          // with cond:
///         g.wait_for(|| ready.load(Ordering::Relaxed));        //     cond.wait_for(...)
///     });
///     let g = cond.acquire();
///     ready.store(true, Ordering::Relaxed);
///     g.notify_all();                                          // cond.notify_all()
/// });
/// ```
pub struct Condition<L: ConditionLock = RLock> {
    lock: L,
    waiters: Mutex<VecDeque<Arc<Waiter>>>,
}

impl Condition<RLock> {
    /// A condition over a new [`RLock`] — `threading.Condition()`.
    pub fn new() -> Self {
        Condition::with_lock(RLock::new())
    }
}

impl Default for Condition<RLock> {
    fn default() -> Self {
        Condition::new()
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over `lock` — `threading.Condition(lock)`. Pass an `Arc<Lock>` to share
    /// one lock between conditions.
    pub fn with_lock(lock: L) -> Self {
        Condition {
            lock,
            waiters: mutex(VecDeque::new()),
        }
    }

    /// The underlying lock.
    pub fn lock(&self) -> &L {
        &self.lock
    }

    fn guard(&self) -> ConditionGuard<'_, L> {
        ConditionGuard {
            cond: self,
            to_unpark: RefCell::new(Vec::new()),
            _not_send: PhantomData,
        }
    }

    /// Takes the lock — `cond.acquire()` / `with cond:`.
    pub fn acquire(&self) -> ConditionGuard<'_, L> {
        self.lock.cond_acquire(None);
        self.guard()
    }

    /// Takes the lock only if it is free — `cond.acquire(blocking=False)`.
    pub fn try_acquire(&self) -> Option<ConditionGuard<'_, L>> {
        self.lock.cond_try_acquire().then(|| self.guard())
    }

    /// Waits at most `timeout` for the lock — `cond.acquire(timeout=t)`.
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<ConditionGuard<'_, L>> {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.acquire_deadline(d),
            None => Some(self.acquire()),
        }
    }

    /// Waits until `deadline` at the latest for the lock.
    pub fn acquire_deadline(&self, deadline: Instant) -> Option<ConditionGuard<'_, L>> {
        self.lock.cond_acquire(Some(deadline)).then(|| self.guard())
    }

    /// The number of threads waiting now.
    pub fn n_waiting(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Waits for a notify. `to_unpark` holds threads this guard notified; they are unparked
    /// right after the lock is released.
    fn wait_until(&self, deadline: Option<Instant>, to_unpark: &mut Vec<Arc<Waiter>>) -> bool {
        let w = waiter::current();
        w.prepare();
        self.waiters.lock().push_back(Arc::clone(&w));
        let saved = self.lock.cond_release_all();
        unpark_all(to_unpark);
        let mut notified = w.spin_then_park(deadline) != WAITING;
        if !notified {
            let mut q = self.waiters.lock();
            match q.iter().position(|x| Arc::ptr_eq(x, &w)) {
                Some(i) => {
                    q.remove(i);
                }
                // A notify took us out of the queue just as we timed out.
                None => notified = true,
            }
        }
        self.lock.cond_restore(saved);
        notified
    }

    /// Marks up to `n` waiters notified (a spinning one goes on at once) and adds them to
    /// `to_unpark`: the guard unparks them once it has released the lock, so a parked waiter
    /// does not wake up only to find the lock still held (parking_lot's condvar gets the same
    /// effect by requeueing waiters onto the mutex).
    fn notify(&self, n: usize, to_unpark: &mut Vec<Arc<Waiter>>) -> usize {
        let mut q = self.waiters.lock();
        let mut woken = 0;
        while woken < n {
            match q.pop_front() {
                Some(w) => {
                    if w.mark(waiter::NOTIFIED) {
                        woken += 1;
                        to_unpark.push(w);
                    }
                }
                None => break,
            }
        }
        woken
    }
}

impl<L: ConditionLock + fmt::Debug> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("lock", &self.lock)
            .field("n_waiting", &self.n_waiting())
            .finish()
    }
}

/// The lock of a [`Condition`], held: the body of Python's `with cond:`. Releases one
/// acquisition when dropped. Not `Send`.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ConditionGuard<'a, L: ConditionLock = RLock> {
    cond: &'a Condition<L>,
    to_unpark: RefCell<Vec<Arc<Waiter>>>,
    _not_send: PhantomData<*const ()>,
}

impl<L: ConditionLock> ConditionGuard<'_, L> {
    /// Releases the lock, sleeps until notified, takes the lock back — `cond.wait()`.
    pub fn wait(&mut self) {
        self.cond.wait_until(None, self.to_unpark.get_mut());
    }

    /// Like [`wait`](ConditionGuard::wait) for at most `timeout` — `cond.wait(timeout)`.
    /// Returns `false` if it timed out. The lock is held again either way.
    pub fn wait_timeout(&mut self, timeout: Duration) -> bool {
        self.cond.wait_until(
            Instant::now().checked_add(timeout),
            self.to_unpark.get_mut(),
        )
    }

    /// Like [`wait`](ConditionGuard::wait) until `deadline` at the latest.
    pub fn wait_deadline(&mut self, deadline: Instant) -> bool {
        self.cond
            .wait_until(Some(deadline), self.to_unpark.get_mut())
    }

    /// Waits until `predicate()` is true — `cond.wait_for(predicate)`. The predicate runs
    /// with the lock held, first before any wait.
    pub fn wait_for<F: FnMut() -> bool>(&mut self, mut predicate: F) {
        while !predicate() {
            self.cond.wait_until(None, self.to_unpark.get_mut());
        }
    }

    /// Like [`wait_for`](ConditionGuard::wait_for) for at most `timeout` —
    /// `cond.wait_for(predicate, timeout)`. Returns the predicate's last value.
    pub fn wait_for_timeout<F: FnMut() -> bool>(
        &mut self,
        predicate: F,
        timeout: Duration,
    ) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.wait_for_deadline(predicate, d),
            None => {
                self.wait_for(predicate);
                true
            }
        }
    }

    /// Like [`wait_for`](ConditionGuard::wait_for) until `deadline` at the latest. Returns
    /// the predicate's last value.
    pub fn wait_for_deadline<F: FnMut() -> bool>(
        &mut self,
        mut predicate: F,
        deadline: Instant,
    ) -> bool {
        loop {
            if predicate() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.cond
                .wait_until(Some(deadline), self.to_unpark.get_mut());
        }
    }

    /// Wakes up to `n` waiters, oldest first — `cond.notify(n)`. Returns how many it woke.
    pub fn notify(&self, n: usize) -> usize {
        self.cond.notify(n, &mut self.to_unpark.borrow_mut())
    }

    /// Wakes one waiter — `cond.notify()`. Returns whether there was one.
    pub fn notify_one(&self) -> bool {
        self.cond.notify(1, &mut self.to_unpark.borrow_mut()) == 1
    }

    /// Wakes every waiter — `cond.notify_all()`. Returns how many it woke.
    pub fn notify_all(&self) -> usize {
        self.cond
            .notify(usize::MAX, &mut self.to_unpark.borrow_mut())
    }

    /// The condition this guard belongs to.
    pub fn condition(&self) -> &Condition<L> {
        self.cond
    }
}

impl<L: ConditionLock> Drop for ConditionGuard<'_, L> {
    fn drop(&mut self) {
        self.cond.lock.cond_release();
        unpark_all(self.to_unpark.get_mut());
    }
}

impl<L: ConditionLock> fmt::Debug for ConditionGuard<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionGuard").finish_non_exhaustive()
    }
}

fn unpark_all(waiters: &mut Vec<Arc<Waiter>>) {
    for w in waiters.drain(..) {
        w.unpark();
    }
}
