//! Unbounded MPMC queue: a `VecDeque` behind a [`SpinLock`], with getters that wait handed
//! their item directly by the next put (kanal's design; and Python's `queue.Queue` is a
//! `deque` behind a lock too).
//!
//! Why not the lock-free list of blocks (crossbeam-channel's design) that was here before
//! (`flavor/list.rs`, removed): it ran at crossbeam-channel's speed (it was the same
//! algorithm), and the bar is to beat it. There, each item costs compare-and-swaps on an index and on a slot
//! state word that both sides touch, and a getter polling an empty queue keeps reading the
//! producers' index, so every item moves several cache lines between cores. Here:
//!
//! - a put or get with no waiter involved is one compare-and-swap on the lock and plain
//!   stores, all in **one cache line** (`Shared`: the lock word, the `VecDeque`'s header,
//!   the first waiter and both counters);
//! - a getter that finds the queue empty **registers a [`Waiter`] on its own stack** (under
//!   the lock) and waits on that, touching no shared line; the next put takes the oldest
//!   waiter out of the list under the lock and, after releasing it, writes the item into
//!   the waiter and flips its state. So a fast consumer never makes the producer's line
//!   bounce, and an item handed over is never pushed or popped at all;
//! - a thread that finds the lock held gets out of the way (see [`crate::spin_lock`]).
//!
//! # Counters readable without the lock
//!
//! `tail` counts the items ever pushed (in steps of `ONE_PUSH`, its low bit is "closed")
//! and `head` those ever taken (same steps, wrapping; an item handed to a waiter counts as
//! pushed and taken at once). They change only with the lock held (plain `Release` stores
//! inside the critical section), so `len` and `pushes` (task counting) never take the
//! lock. A getter takes only an item whose push it saw through the lock, so the takes never
//! pass the pushes for anyone who reads `head` first (task counting relies on that). After `close` sets the bit no push succeeds, and every waiter is told.
//!
//! # Waiters
//!
//! Invariant: while any getter waits, the `VecDeque` is empty (a getter registers only when
//! it finds it empty, and a put serves the oldest waiter before it would push). A
//! [`Waiter`]'s `state` goes `WAITING` → (`PARKED`, set by the getter just before it
//! parks) → `FILLED` or `CLOSED` (set by the put or close that took it out of the list).
//! Whoever takes a waiter out of the list owns it until it sets the final state, and must
//! not touch it afterwards: the getter may return at once and its stack frame is gone. So
//! it writes the item, then sets the state with a compare-and-swap from `WAITING`; if the
//! getter had parked (`PARKED`), it clones the getter's thread handle *before* storing the
//! final state, and unparks the clone. A getter that times out takes the lock and removes
//! itself from the list; if it is no longer there, a put or close took it, and it waits
//! (without deadline: the answer is microseconds away) for the item or the news.
//!
//! # No lost wakeup
//!
//! A getter registers and a put serves waiters under the same lock, so a put either sees
//! the waiter or comes before the getter's check of the `VecDeque` (which then sees its
//! item). The blocking layer's own sleeper protocol is not used for getters of this flavor.
//!
//! Together with [`crate::spin_lock`] and the other flavors, one of the crate's modules with
//! `unsafe` code: the waiter is reached through a raw pointer to the getter's stack.

#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr;
use std::time::Instant;

use crossbeam_utils::CachePadded;

use super::{PopError, PushError, RawQueue};
use crate::primitive::{AtomicUsize, Backoff, Ordering, UnsafeCell, thread};
use crate::spin_lock::SpinLock;

/// A `VecDeque` holding more bytes of room than this is given back to the allocator when it
/// runs empty, so a burst does not keep its memory for the queue's life. (Not lower: giving
/// it back and growing it again costs page faults and copies in a steady stream.)
const SHRINK_ABOVE_BYTES: usize = 4 << 20;

/// In `tail`: the queue is closed. The push count sits above it.
const CLOSED: usize = 1;
/// One push in `tail`, one take in `head`.
const ONE_PUSH: usize = 2;

/// How many times a waiter yields its core, checking its state, before it parks.
#[cfg(not(loom))]
const WAIT_YIELDS: u32 = 64;

/// Waiter states; see the module docs.
const WAITING: usize = 0;
const PARKED: usize = 1;
const FILLED: usize = 2;
const TERMINATED: usize = 3;

/// A getter waiting for an item; lives on its stack while it is in the list.
struct Waiter<T> {
    state: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
    /// Set by the getter before it moves `state` to `PARKED`.
    thread: UnsafeCell<Option<thread::Thread>>,
    /// Next (younger) waiter; only touched with the queue's lock held.
    next: UnsafeCell<*const Waiter<T>>,
}

/// The oldest waiter, or null. A raw pointer into a getter's stack (see the module docs).
struct WaiterPtr<T>(*const Waiter<T>);

// SAFETY: the pointer is only dereferenced by the thread holding the lock (to link or
// unlink) or by the thread that took the waiter out of the list, per the protocol in the
// module docs; `T` moves to the getter's thread, hence `T: Send`.
unsafe impl<T: Send> Send for WaiterPtr<T> {}

/// What the lock guards.
struct Items<T> {
    deque: VecDeque<T>,
    first: WaiterPtr<T>,
}

/// Everything a put or get touches, in one cache line on 64-bit targets (`repr(C)`: the
/// lock word, the `VecDeque`'s header, the first waiter, both counters).
#[repr(C)]
struct Shared<T> {
    items: SpinLock<Items<T>>,
    /// `pushes * ONE_PUSH | closed`; changed only with the lock held.
    tail: AtomicUsize,
    /// `takes * ONE_PUSH`; changed only with the lock held.
    head: AtomicUsize,
}

/// An unbounded multi-producer multi-consumer queue; see the module docs.
pub(crate) struct Deque<T> {
    shared: CachePadded<Shared<T>>,
}

/// What a getter found under the lock.
enum Found<T> {
    Item(T),
    Closed,
    Registered,
}

impl<T> Deque<T> {
    pub(crate) fn new() -> Self {
        Self {
            shared: CachePadded::new(Shared {
                items: SpinLock::new(Items {
                    deque: VecDeque::new(),
                    first: WaiterPtr(ptr::null()),
                }),
                tail: AtomicUsize::new(0),
                head: AtomicUsize::new(0),
            }),
        }
    }

    /// `(head, tail)` read lock-free, `head` first: the takes then never pass the pushes.
    #[inline]
    fn counts(&self) -> (usize, usize) {
        let head = self.shared.head.load(Ordering::Acquire);
        (head, self.shared.tail.load(Ordering::Acquire))
    }

    /// Counts one take; with the lock held.
    #[inline]
    fn count_take(&self) {
        let head = self.shared.head.load(Ordering::Relaxed);
        self.shared
            .head
            .store(head.wrapping_add(ONE_PUSH), Ordering::Release);
    }
}

impl<T: Send> Deque<T> {
    /// Waits for an item, registered as a waiter; `Err(Empty)` once `deadline` passed.
    fn wait_pop(&self, deadline: Option<Instant>) -> Result<T, PopError> {
        let waiter = Waiter {
            state: AtomicUsize::new(WAITING),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            thread: UnsafeCell::new(None),
            next: UnsafeCell::new(ptr::null()),
        };
        let me: *const Waiter<T> = &waiter;
        let found = self.shared.items.with(|it| {
            if let Some(v) = it.deque.pop_front() {
                self.count_take();
                return Found::Item(v);
            }
            if self.shared.tail.load(Ordering::Relaxed) & CLOSED != 0 {
                return Found::Closed;
            }
            // Append: waiters are served oldest first. The list is as long as the number
            // of getters waiting, so walking it is cheap.
            if it.first.0.is_null() {
                it.first.0 = me;
            } else {
                let mut last = it.first.0;
                loop {
                    // SAFETY: waiters in the list are alive (their getters are inside
                    // `pop_wait` until taken out), and `next` is touched under the lock.
                    let next = unsafe { (*last).next.with_mut(|p| *p) };
                    if next.is_null() {
                        break;
                    }
                    last = next;
                }
                // SAFETY: as above.
                unsafe { (*last).next.with_mut(|p| *p = me) };
            }
            Found::Registered
        });
        match found {
            Found::Item(v) => return Ok(v),
            Found::Closed => return Err(PopError::Closed),
            Found::Registered => {}
        }
        if self.wait(&waiter, deadline) {
            return self.outcome(&waiter);
        }
        // Timed out: leave the list, unless a put or close already took us out.
        let removed = self.shared.items.with(|it| {
            let mut prev: *const Waiter<T> = ptr::null();
            let mut cur = it.first.0;
            while !cur.is_null() {
                // SAFETY: waiters in the list are alive; `next` is touched under the lock.
                let next = unsafe { (*cur).next.with_mut(|p| *p) };
                if ptr::eq(cur, me) {
                    if prev.is_null() {
                        it.first.0 = next;
                    } else {
                        // SAFETY: as above.
                        unsafe { (*prev).next.with_mut(|p| *p = next) };
                    }
                    return true;
                }
                prev = cur;
                cur = next;
            }
            false
        });
        if removed {
            return Err(PopError::Empty);
        }
        self.wait(&waiter, None);
        self.outcome(&waiter)
    }

    /// Waits until `waiter` is filled or closed (`true`), or `deadline` passed (`false`).
    fn wait(&self, waiter: &Waiter<T>, deadline: Option<Instant>) -> bool {
        let done = || waiter.state.load(Ordering::Acquire) >= FILLED;
        // A second call (after a timeout) may find the getter registered as parked already;
        // then its thread handle is the filler's to read and must not be written again.
        if waiter.state.load(Ordering::Acquire) == WAITING {
            let backoff = Backoff::new();
            while !backoff.is_completed() {
                if done() {
                    return true;
                }
                backoff.snooze();
            }
            #[cfg(not(loom))]
            for _ in 0..WAIT_YIELDS {
                if done() {
                    return true;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return false;
                }
                thread::yield_now();
            }
            // SAFETY: `thread` is ours until `state` leaves `WAITING` for `PARKED`: a filler
            // reads it only after seeing `PARKED`.
            waiter
                .thread
                .with_mut(|t| unsafe { *t = Some(thread::current()) });
            if waiter
                .state
                .compare_exchange(WAITING, PARKED, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return true; // filled or closed meanwhile
            }
        }
        loop {
            if done() {
                return true;
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if cfg!(loom) || now >= d {
                        return done();
                    }
                    thread::park_timeout(d - now);
                }
            }
        }
    }

    /// The item or news in a waiter whose state is final.
    fn outcome(&self, waiter: &Waiter<T>) -> Result<T, PopError> {
        if waiter.state.load(Ordering::Acquire) == FILLED {
            // SAFETY: `FILLED` was stored (Release) after the item was written, and only
            // once; nobody touches the waiter any more.
            Ok(waiter
                .value
                .with_mut(|p| unsafe { (*p).assume_init_read() }))
        } else {
            Err(PopError::Closed)
        }
    }

    /// Sets a waiter taken out of the list to its final state and wakes its getter.
    ///
    /// # Safety
    ///
    /// The caller took `waiter` out of the list (so it is alive and nobody else will set
    /// its state) and, for `FILLED`, wrote its value. It must not touch it afterwards.
    unsafe fn finish(waiter: *const Waiter<T>, state: usize) {
        // SAFETY: alive until the state is final (the caller's contract).
        let w = unsafe { &*waiter };
        match w
            .state
            .compare_exchange(WAITING, state, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(_parked) => {
                // PARKED: the getter set `thread` before; clone it before the final store.
                // SAFETY: the getter wrote `thread` before its Release CAS to PARKED, which
                // our Acquire failure load saw; it does not touch it again.
                let t = w.thread.with_mut(|t| unsafe { (*t).clone() });
                w.state.store(state, Ordering::Release);
                if let Some(t) = t {
                    t.unpark();
                }
            }
        }
    }
}

impl<T: Send> RawQueue<T> for Deque<T> {
    #[inline]
    fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        let sh = &*self.shared;
        match sh.items.with(|it| {
            let tail = sh.tail.load(Ordering::Relaxed);
            if tail & CLOSED != 0 {
                return Pushed::Closed(value);
            }
            sh.tail
                .store(tail.wrapping_add(ONE_PUSH), Ordering::Release);
            let first = it.first.0;
            if first.is_null() {
                it.deque.push_back(value);
                return Pushed::Queued;
            }
            // Hand the item to the oldest waiter: counted as pushed and taken.
            self.count_take();
            // SAFETY: waiters in the list are alive; `next` is touched under the lock.
            it.first.0 = unsafe { (*first).next.with_mut(|p| *p) };
            Pushed::Handed(first, value)
        }) {
            Pushed::Queued => Ok(()),
            Pushed::Handed(waiter, value) => {
                // SAFETY: we took `waiter` out of the list, so it is ours to fill and alive
                // until we finish it; its value slot is empty.
                unsafe {
                    (*waiter).value.with_mut(|p| (*p).write(value));
                    Self::finish(waiter, FILLED);
                }
                Ok(())
            }
            Pushed::Closed(value) => Err(PushError::Closed(value)),
        }
    }

    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        let sh = &*self.shared;
        // Straight to the lock: a load first would fetch the line shared and the
        // compare-and-swap would then have to fetch it again, exclusive. (A getter that
        // finds the queue empty does not poll: it waits in `wait_pop`.)
        let (popped, emptied) = sh.items.with(|it| match it.deque.pop_front() {
            Some(v) => {
                self.count_take();
                let emptied = if it.deque.is_empty()
                    && it.deque.capacity().saturating_mul(size_of::<T>()) > SHRINK_ABOVE_BYTES
                {
                    Some(std::mem::take(&mut it.deque))
                } else {
                    None
                };
                (Ok(v), emptied)
            }
            None => (
                Err(if sh.tail.load(Ordering::Relaxed) & CLOSED != 0 {
                    PopError::Closed
                } else {
                    PopError::Empty
                }),
                None,
            ),
        });
        // A large emptied buffer is freed outside the lock.
        drop(emptied);
        popped
    }

    #[inline]
    fn pop_wait(&self, deadline: Option<Instant>) -> Option<Result<T, PopError>> {
        Some(self.wait_pop(deadline))
    }

    fn waiters(&self) -> usize {
        self.shared.items.with(|it| {
            let mut n = 0;
            let mut cur = it.first.0;
            while !cur.is_null() {
                n += 1;
                // SAFETY: waiters in the list are alive; `next` is touched under the lock.
                cur = unsafe { (*cur).next.with_mut(|p| *p) };
            }
            n
        })
    }

    fn len(&self) -> usize {
        let (head, tail) = self.counts();
        (tail & !CLOSED).wrapping_sub(head) / ONE_PUSH
    }

    fn is_empty(&self) -> bool {
        self.shared.items.with(|it| it.deque.is_empty())
    }

    fn is_full(&self) -> bool {
        false
    }

    fn capacity(&self) -> Option<usize> {
        None
    }

    fn close(&self) -> bool {
        let sh = &*self.shared;
        let (first, waiters) = sh.items.with(|it| {
            let tail = sh.tail.load(Ordering::Relaxed);
            sh.tail.store(tail | CLOSED, Ordering::Release);
            let waiters = std::mem::replace(&mut it.first.0, ptr::null());
            (tail & CLOSED == 0, waiters)
        });
        let mut cur = waiters;
        while !cur.is_null() {
            // SAFETY: we took the whole list out under the lock: each waiter is ours to
            // finish; read its `next` before finishing it (then it may be gone).
            unsafe {
                let next = (*cur).next.with_mut(|p| *p);
                Self::finish(cur, TERMINATED);
                cur = next;
            }
        }
        first
    }

    fn is_closed(&self) -> bool {
        self.shared.tail.load(Ordering::SeqCst) & CLOSED != 0
    }

    fn pushes(&self) -> usize {
        self.shared.tail.load(Ordering::SeqCst) / ONE_PUSH
    }
}

/// What a put did under the lock.
enum Pushed<T> {
    Queued,
    Handed(*const Waiter<T>, T),
    Closed(T),
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_hot_state_fits_one_cache_line() {
        if cfg!(target_pointer_width = "64") {
            assert!(
                size_of::<Shared<u64>>() <= 64,
                "{}",
                size_of::<Shared<u64>>()
            );
        }
    }

    #[test]
    fn fifo_len_close() {
        let q = Deque::new();
        assert!(q.is_empty());
        for i in 0..100 {
            assert!(q.try_push(i).is_ok());
        }
        assert_eq!(q.len(), 100);
        assert_eq!(q.pushes(), 100);
        assert!(q.close());
        assert!(!q.close());
        assert!(matches!(q.try_push(7), Err(PushError::Closed(7))));
        for i in 0..100 {
            assert_eq!(q.try_pop().ok(), Some(i));
        }
        assert_eq!(q.try_pop().err(), Some(PopError::Closed));
        assert_eq!(q.pushes(), 100);
    }

    #[test]
    fn a_burst_gives_its_memory_back() {
        let q = Deque::new();
        let n = SHRINK_ABOVE_BYTES / size_of::<usize>() * 2;
        for i in 0..n {
            assert!(q.try_push(i).is_ok());
        }
        for _ in 0..n {
            assert!(q.try_pop().is_ok());
        }
        assert_eq!(q.shared.items.with(|it| it.deque.capacity()), 0);
        assert!(q.try_push(1).is_ok());
        assert_eq!(q.try_pop().ok(), Some(1));
    }

    #[test]
    fn items_left_behind_are_dropped() {
        let token = Arc::new(());
        let q = Deque::new();
        for _ in 0..10 {
            assert!(q.try_push(Arc::clone(&token)).is_ok());
        }
        drop(q.try_pop());
        drop(q);
        assert_eq!(Arc::strong_count(&token), 1);
    }

    #[test]
    fn mpmc_every_item_once() {
        let q = Arc::new(Deque::new());
        let n = 20_000usize;
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let q = Arc::clone(&q);
                std::thread::spawn(move || {
                    for i in 0..n {
                        assert!(q.try_push(p * n + i).is_ok());
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = Arc::clone(&q);
                std::thread::spawn(move || {
                    let mut got = Vec::with_capacity(n);
                    while got.len() < n {
                        match q.try_pop() {
                            Ok(v) => got.push(v),
                            Err(_) => std::thread::yield_now(),
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..2 * n).collect::<Vec<_>>());
        assert!(q.is_empty());
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(f);
    }

    fn pop_retrying(q: &Deque<usize>) -> usize {
        loop {
            match q.try_pop() {
                Ok(v) => return v,
                Err(_) => thread::yield_now(),
            }
        }
    }

    #[test]
    fn loom_deque_spsc_in_order_and_counted() {
        model(|| {
            let q = Arc::new(Deque::new());
            let p = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    q.try_push(1).ok().unwrap();
                    q.try_push(2).ok().unwrap();
                })
            };
            let a = pop_retrying(&q);
            // A popped item was always counted as pushed first.
            assert!(q.pushes() >= 1);
            let b = pop_retrying(&q);
            assert_eq!((a, b), (1, 2));
            p.join().unwrap();
            assert!(q.is_empty());
            assert_eq!(q.len(), 0);
        });
    }

    #[test]
    fn loom_deque_close_races_with_push() {
        model(|| {
            let q = Arc::new(Deque::new());
            q.try_push(0).ok().unwrap();
            let p = {
                let q = Arc::clone(&q);
                thread::spawn(move || q.try_push(1).is_ok())
            };
            let c = {
                let q = Arc::clone(&q);
                // Closed is reported only once nothing is left.
                thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match q.try_pop() {
                            Ok(v) => got.push(v),
                            Err(PopError::Closed) => return got,
                            Err(PopError::Empty) => thread::yield_now(),
                        }
                    }
                })
            };
            q.close();
            let pushed = p.join().unwrap();
            let got = c.join().unwrap();
            let want: Vec<usize> = if pushed { vec![0, 1] } else { vec![0] };
            assert_eq!(got, want);
        });
    }
}
