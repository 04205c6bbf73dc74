//! The blocking layer shared by every queue kind: spinning then parking, Python's
//! unfinished-task counting (`task_done`/`join`) and 3.13's `shutdown(immediate)`.
//!
//! # Task counting
//!
//! Python keeps `unfinished_tasks`, incremented by every `put`. Here the flavor already
//! counts successful pushes (the lock-free flavors read it back from their tail index), so
//! `unfinished = pushes - done` where `done` counts `task_done` calls: a `put` pays
//! nothing for it. `task_done` fails with [`TaskDoneError`] when `done` would pass
//! `pushes`. Joiners are released by an epoch bump whenever the count reaches zero, so a
//! `join` returns even if a new `put` arrives before it wakes up.
//!
//! # Shutdown
//!
//! `shutdown` closes the flavor (no push succeeds afterwards) and wakes every sleeper;
//! getters drain what is left and then fail. `shutdown_immediate` also raises a flag that
//! makes every get fail at once, drains the queue (counting each drained item as done, not
//! below zero) and hands the drained items back.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::error::{
    GetError, GetTimeoutError, PutTimeoutError, TaskDoneError, TryGetError, TryPutError,
};
use crate::flavor::{PopError, PushError, RawQueue};
use crate::primitive::{
    AtomicBool, AtomicUsize, Backoff, Condvar, Mutex, Ordering, fence, loom_seqcst,
};
use crate::signal::Signal;

/// `now + timeout`, or `None` (wait forever) when that is not representable.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Runs a push or pop of flavor `R`. If `R` runs user code that may panic (a priority
/// queue's `Ord`), a panic may leave the queue changed (an item kept by a failed push, one
/// lost by a failed pop), so the unwind wakes one sleeper of `signal` to look again, as the
/// successful operation would have; CPython's `FailingQueueTest` checks the same.
#[inline]
fn wake_on_unwind<T, R: RawQueue<T>, O>(signal: &Signal, op: impl FnOnce() -> O) -> O {
    struct Wake<'a>(&'a Signal);
    impl Drop for Wake<'_> {
        fn drop(&mut self) {
            self.0.notify_one();
        }
    }
    if !R::RUNS_USER_CODE {
        return op();
    }
    let wake = Wake(signal);
    let out = op();
    std::mem::forget(wake);
    out
}

/// Where joiners wait for the unfinished count to reach zero.
#[derive(Default)]
struct AllDone {
    joiners: AtomicUsize,
    /// Bumped each time the count reaches zero while someone joins.
    epoch: Mutex<u64>,
    cond: Condvar,
}

impl AllDone {
    fn release(&self) {
        loom_seqcst();
        if self.joiners.load(Ordering::SeqCst) != 0 {
            let mut epoch = self.epoch.lock();
            *epoch = epoch.wrapping_add(1);
            self.cond.notify_all();
        }
    }
}

/// A queue: storage `R` plus everything that blocks.
pub(crate) struct Core<T, R> {
    raw: R,
    /// Getters waiting for an item. Each signal and the `immediate` flag sit in their own
    /// cache line: a sleeper registering on one side must not make the other side's
    /// hot-path loads miss.
    not_empty: CachePadded<Signal>,
    /// Putters waiting for room.
    not_full: CachePadded<Signal>,
    /// Set by `shutdown_immediate`: every get fails at once.
    immediate: CachePadded<AtomicBool>,
    /// `task_done` calls (wrapping), see the module docs.
    done: CachePadded<AtomicUsize>,
    all_done: AllDone,
    _items: PhantomData<fn(T) -> T>,
}

impl<T: Send, R: RawQueue<T>> Core<T, R> {
    pub(crate) fn new(raw: R) -> Self {
        Self {
            raw,
            not_empty: CachePadded::new(Signal::default()),
            not_full: CachePadded::new(Signal::default()),
            immediate: CachePadded::new(AtomicBool::new(false)),
            done: CachePadded::new(AtomicUsize::new(0)),
            all_done: AllDone::default(),
            _items: PhantomData,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.raw.is_full()
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        self.raw.capacity()
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.raw.is_closed()
    }

    /// Callers registered as blocked: getters and putters past their spinning (counted
    /// until a notifier picks them), and joiners (counted under the epoch lock, which they
    /// let go of only to wait, until they return). A waiter counted here needs a wakeup to
    /// go on: tests wait for this count to force "blocked, then woken" interleavings.
    pub(crate) fn waiters(&self) -> usize {
        self.not_empty.sleepers()
            + self.not_full.sleepers()
            + self.raw.waiters()
            + self.all_done.joiners.load(Ordering::SeqCst)
    }

    #[inline]
    pub(crate) fn try_put(&self, value: T) -> Result<(), TryPutError<T>> {
        match wake_on_unwind::<T, R, _>(&self.not_empty, || self.raw.try_push(value)) {
            Ok(()) => {
                self.not_empty.notify_one();
                Ok(())
            }
            Err(PushError::Full(v)) => Err(TryPutError::Full(v)),
            Err(PushError::Closed(v)) => Err(TryPutError::ShutDown(v)),
        }
    }

    /// Blocking put; `None` waits as long as it takes.
    #[inline]
    pub(crate) fn put_until(
        &self,
        mut value: T,
        deadline: Option<Instant>,
    ) -> Result<(), PutTimeoutError<T>> {
        loop {
            let backoff = Backoff::new();
            loop {
                match self.try_put(value) {
                    Ok(()) => return Ok(()),
                    Err(TryPutError::ShutDown(v)) => return Err(PutTimeoutError::ShutDown(v)),
                    Err(TryPutError::Full(v)) => value = v,
                }
                if backoff.is_completed() {
                    break;
                }
                backoff.snooze();
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(PutTimeoutError::Timeout(value));
            }
            self.not_full
                .sleep_unless(|| !self.raw.is_full() || self.raw.is_closed(), deadline);
        }
    }

    #[inline]
    pub(crate) fn try_get(&self) -> Result<T, TryGetError> {
        if self.immediate.load(Ordering::Relaxed) {
            return Err(TryGetError::ShutDown);
        }
        match wake_on_unwind::<T, R, _>(&self.not_full, || self.raw.try_pop()) {
            Ok(v) => {
                self.not_full.notify_one();
                Ok(v)
            }
            Err(PopError::Empty) => Err(TryGetError::Empty),
            Err(PopError::Closed) => Err(TryGetError::ShutDown),
        }
    }

    /// Blocking get; `None` waits as long as it takes.
    #[inline]
    pub(crate) fn get_until(&self, deadline: Option<Instant>) -> Result<T, GetTimeoutError> {
        match self.try_get() {
            Ok(v) => return Ok(v),
            Err(TryGetError::ShutDown) => return Err(GetTimeoutError::ShutDown),
            Err(TryGetError::Empty) => {}
        }
        // A flavor that makes getters wait itself (the unbounded deque hands items over).
        if let Some(got) = self.raw.pop_wait(deadline) {
            return match got {
                Ok(v) => {
                    self.not_full.notify_one();
                    Ok(v)
                }
                Err(PopError::Closed) => Err(GetTimeoutError::ShutDown),
                Err(PopError::Empty) => Err(GetTimeoutError::Timeout),
            };
        }
        self.get_slow(deadline)
    }

    /// Spins, then sleeps on `not_empty`, until an item comes.
    fn get_slow(&self, deadline: Option<Instant>) -> Result<T, GetTimeoutError> {
        loop {
            let backoff = Backoff::new();
            loop {
                match self.try_get() {
                    Ok(v) => return Ok(v),
                    Err(TryGetError::ShutDown) => return Err(GetTimeoutError::ShutDown),
                    Err(TryGetError::Empty) => {}
                }
                if backoff.is_completed() {
                    break;
                }
                backoff.snooze();
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(GetTimeoutError::Timeout);
            }
            self.not_empty.sleep_unless(
                || {
                    self.immediate.load(Ordering::SeqCst)
                        || !self.raw.is_empty()
                        || self.raw.is_closed()
                },
                deadline,
            );
        }
    }

    pub(crate) fn get(&self) -> Result<T, GetError> {
        self.get_until(None).map_err(|_| GetError)
    }

    /// `pushes - done`, read so that it never underflows (`done` first).
    pub(crate) fn unfinished(&self) -> usize {
        let done = self.done.load(Ordering::SeqCst);
        self.raw.pushes().wrapping_sub(done)
    }

    pub(crate) fn task_done(&self) -> Result<(), TaskDoneError> {
        // `pushes` only grows and `done <= pushes` always holds, so a `pushes` read earlier
        // is a lower bound. It is re-read (a cache line the producers keep writing) only
        // when that bound cannot prove there is a task to mark done, or cannot rule out
        // that this call brings the count to zero. `done` may move on between tries (other
        // calls succeed), so the gap is recomputed against the current `done` each time.
        let mut done = self.done.load(Ordering::SeqCst);
        let mut pushes = self.raw.pushes();
        loop {
            // Signed: with a stale `pushes` and a fresher `done` the gap can be negative.
            let mut gap = pushes.wrapping_sub(done) as isize;
            if gap <= 0 {
                pushes = self.raw.pushes();
                gap = pushes.wrapping_sub(done) as isize;
                if gap <= 0 {
                    return Err(TaskDoneError);
                }
            }
            let next = done.wrapping_add(1);
            match self
                .done
                .compare_exchange_weak(done, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    // gap >= 2: even the stale bound shows another unfinished task.
                    if gap == 1 && self.raw.pushes() == next {
                        self.all_done.release();
                    }
                    return Ok(());
                }
                Err(current) => done = current,
            }
        }
    }

    /// Waits until every put item was marked done; `false` if `deadline` passed first.
    pub(crate) fn join_until(&self, deadline: Option<Instant>) -> bool {
        if self.unfinished() == 0 {
            return true;
        }
        let gate = &self.all_done;
        let mut epoch = gate.epoch.lock();
        gate.joiners.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let start = *epoch;
        let released = loop {
            if *epoch != start || self.unfinished() == 0 {
                break true;
            }
            match deadline {
                None => gate.cond.wait(&mut epoch),
                Some(d) => {
                    if gate.cond.wait_until(&mut epoch, d).timed_out() {
                        break *epoch != start || self.unfinished() == 0;
                    }
                }
            }
        };
        gate.joiners.fetch_sub(1, Ordering::SeqCst);
        released
    }

    pub(crate) fn shutdown(&self) {
        self.raw.close();
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }

    pub(crate) fn shutdown_immediate(&self) -> Vec<T> {
        self.immediate.store(true, Ordering::SeqCst);
        self.raw.close();
        let mut drained = Vec::new();
        while let Ok(v) = self.raw.try_pop() {
            drained.push(v);
        }
        for _ in 0..drained.len() {
            if self.task_done().is_err() {
                break;
            }
        }
        self.not_empty.notify_all();
        self.not_full.notify_all();
        drained
    }
}

/// What the draining iterators need from a queue, whatever its storage.
pub(crate) trait Source<T>: Sync {
    fn get(&self) -> Result<T, GetError>;
    fn try_get(&self) -> Result<T, TryGetError>;
}

impl<T: Send, R: RawQueue<T>> Source<T> for Core<T, R> {
    fn get(&self) -> Result<T, GetError> {
        Core::get(self)
    }
    fn try_get(&self) -> Result<T, TryGetError> {
        Core::try_get(self)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::flavor::array::Array;
    use std::sync::{Arc, mpsc};
    use std::thread;

    /// The deterministic form of `join_returns_even_if_new_work_arrives_before_waking`
    /// (tests/kinds.rs): a registered joiner is released by the count reaching zero even
    /// when a new item is put before it can wake up. Holding the epoch lock keeps the
    /// joiner asleep (and the releasing `task_done` waiting) until the new item is in.
    #[test]
    fn join_released_by_epoch_even_if_new_work_arrives_first() {
        let q = Arc::new(Core::new(Array::with_capacity(4)));
        q.try_put(1).ok().unwrap();
        let (tx, rx) = mpsc::channel();
        let joiner = {
            let q = Arc::clone(&q);
            thread::spawn(move || tx.send(q.join_until(None)).unwrap())
        };
        // The joiner registers under the epoch lock and only lets go of it to wait.
        while q.all_done.joiners.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        let epoch = q.all_done.epoch.lock();
        assert_eq!(q.try_get().ok(), Some(1));
        let doer = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.task_done().unwrap())
        };
        while q.unfinished() != 0 {
            thread::yield_now();
        }
        q.try_put(2).ok().unwrap();
        assert_eq!(q.unfinished(), 1);
        drop(epoch);
        let released = rx.recv_timeout(Duration::from_secs(30));
        assert_eq!(
            released,
            Ok(true),
            "the zero reached before the put releases join"
        );
        assert_eq!(q.unfinished(), 1);
        doer.join().unwrap();
        joiner.join().unwrap();
    }
}

/// Model checks of the parking protocol (no lost wakeup) and of join's release, on the
/// bounded ring and on the unbounded deque (whose getters wait in the flavor):
/// `RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::flavor::array::Array;
    use crate::flavor::deque::Deque;
    use loom::sync::Arc;
    use loom::thread;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(2);
        model.check(f);
    }

    #[test]
    fn loom_blocking_put_and_get_never_miss_a_wakeup() {
        model(|| {
            let q = Arc::new(Core::new(Array::with_capacity(1)));
            let p = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    q.put_until(1, None).ok().unwrap();
                    q.put_until(2, None).ok().unwrap();
                })
            };
            assert_eq!(q.get(), Ok(1));
            assert_eq!(q.get(), Ok(2));
            p.join().unwrap();
        });
    }

    /// A getter blocked on an empty queue of flavor `R` is woken by `shutdown` and fails.
    fn shutdown_wakes_a_blocked_getter<R: RawQueue<u8> + Send + Sync + 'static>(make: fn() -> R) {
        model(move || {
            let q = Arc::new(Core::new(make()));
            let g = {
                let q = Arc::clone(&q);
                thread::spawn(move || q.get())
            };
            q.shutdown();
            assert_eq!(g.join().unwrap(), Err(GetError));
        });
    }

    #[test]
    fn loom_shutdown_wakes_a_blocked_getter() {
        shutdown_wakes_a_blocked_getter(|| Array::with_capacity(1));
    }

    #[test]
    fn loom_task_done_never_overtakes_put() {
        model(|| {
            let q = Arc::new(Core::new(Array::with_capacity(4)));
            q.try_put(1).ok().unwrap();
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || q.try_put(2).ok().unwrap())
            };
            let doners: Vec<_> = (0..2)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || usize::from(q.task_done().is_ok()))
                })
                .collect();
            let mine = usize::from(q.task_done().is_ok());
            producer.join().unwrap();
            let ok = mine + doners.into_iter().map(|d| d.join().unwrap()).sum::<usize>();
            assert!(ok <= 2, "{ok} task_done calls succeeded for 2 puts");
            assert_eq!(q.unfinished(), 2 - ok);
        });
    }

    #[test]
    fn loom_immediate_shutdown_races_with_put_and_join() {
        model(|| {
            let q = Arc::new(Core::new(Array::with_capacity(2)));
            q.try_put(1).ok().unwrap();
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || q.try_put(2).is_ok())
            };
            let joiner = {
                let q = Arc::clone(&q);
                thread::spawn(move || q.join_until(None))
            };
            let drained = q.shutdown_immediate();
            let pushed = producer.join().unwrap();
            // `close` comes before the drain: a put either succeeded before it (and its
            // item is drained) or fails; nothing lands after the drain.
            let want = if pushed { vec![1, 2] } else { vec![1] };
            assert_eq!(drained, want);
            assert_eq!(q.try_get(), Err(TryGetError::ShutDown));
            assert_eq!(q.unfinished(), 0);
            assert!(joiner.join().unwrap(), "join released by the drain");
        });
    }

    #[test]
    fn loom_join_released_by_last_task_done() {
        model(|| {
            let q = Arc::new(Core::new(Array::with_capacity(1)));
            q.try_put(7).ok().unwrap();
            let w = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    assert_eq!(q.try_get(), Ok(7));
                    q.task_done().unwrap();
                })
            };
            assert!(q.join_until(None));
            assert_eq!(q.unfinished(), 0);
            w.join().unwrap();
        });
    }

    #[test]
    fn loom_deque_waiting_getter_is_handed_each_item() {
        model(|| {
            let q = Arc::new(Core::new(Deque::new()));
            let p = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    q.try_put(1).ok().unwrap();
                    q.try_put(2).ok().unwrap();
                })
            };
            assert_eq!(q.get(), Ok(1));
            assert_eq!(q.get(), Ok(2));
            p.join().unwrap();
            assert_eq!(q.unfinished(), 2);
            assert_eq!(q.len(), 0);
        });
    }

    #[test]
    fn loom_deque_shutdown_wakes_a_waiting_getter() {
        shutdown_wakes_a_blocked_getter(Deque::new);
    }

    #[test]
    fn loom_deque_two_getters_one_item_then_shutdown() {
        model(|| {
            let q: Arc<Core<u8, Deque<u8>>> = Arc::new(Core::new(Deque::new()));
            let getters: Vec<_> = (0..2)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || q.get().ok())
                })
                .collect();
            q.try_put(7).ok().unwrap();
            q.shutdown();
            let mut got: Vec<Option<u8>> = getters.into_iter().map(|g| g.join().unwrap()).collect();
            got.sort();
            // The item reaches exactly one getter (handed over or popped); the other is
            // told of the shutdown. Nothing is lost, nobody hangs.
            assert_eq!(got, vec![None, Some(7)]);
        });
    }
}
