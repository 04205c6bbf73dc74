//! Bounded lock-free MPMC ring: Dmitry Vyukov's array queue with per-slot stamps.
//!
//! With [`super::list`], the only module of the crate with `unsafe` code (slot values live
//! in `UnsafeCell<MaybeUninit<T>>`).
//!
//! # Design
//!
//! `head` and `tail` are words `lap | index`: `index < cap` is the slot, the bits from
//! `one_lap` up count laps around the ring, and the bit `mark_bit` (between them) is set
//! in `tail` when the queue is closed, so a push racing with `close` either claims its
//! slot first or sees the mark: after `close` returns no push can succeed.
//!
//! Each slot carries a `stamp`:
//! - `stamp == tail`: the slot is empty for this lap, a producer may claim it by moving
//!   `tail` forward with a CAS; it then writes the value and stores `stamp = tail + 1`.
//! - `stamp == head + 1`: the slot holds this lap's value; a consumer claims it by moving
//!   `head` with a CAS, reads the value and stores `stamp = head + one_lap` (empty for the
//!   next lap).
//!
//! Winning the CAS on `tail` (resp. `head`) for a given value is what gives one thread the
//! exclusive right to write (resp. read) the slot; the stamp's release store publishes the
//! write to the consumer that acquires it. A consumer that finds a slot claimed but not yet
//! written spins until it is (a producer is between its CAS and its stamp store).
//!
//! The total number of successful pushes is read back from `tail` (`laps * cap + index`),
//! so the queue's task counter costs a put nothing.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::{PopError, PushError, RawQueue};
use crate::primitive::{AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// One cell of the ring.
struct Slot<T> {
    /// Which lap/state the slot is in (see the module docs).
    stamp: AtomicUsize,
    /// The value; initialised exactly when `stamp == lap_index + 1` for some claimed index.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A bounded multi-producer multi-consumer ring.
pub(crate) struct Array<T> {
    /// Next slot to pop from (`lap | index`).
    head: CachePadded<AtomicUsize>,
    /// Next slot to push into (`lap | mark | index`).
    tail: CachePadded<AtomicUsize>,
    /// The ring, `cap` slots.
    slots: Box<[Slot<T>]>,
    /// Capacity, at least 1.
    cap: usize,
    /// Set in `tail` once closed; a power of two greater than `cap`.
    mark_bit: usize,
    /// `mark_bit * 2`: the unit of the lap counter.
    one_lap: usize,
    /// `log2(one_lap)`.
    lap_shift: u32,
}

// SAFETY: values of type `T` are moved in by one thread and out by another, so `T: Send`
// is required and sufficient; every access to a slot's value is made exclusive by the
// head/tail CAS protocol described in the module docs.
unsafe impl<T: Send> Send for Array<T> {}
// SAFETY: as above: shared access only hands whole values from thread to thread, never
// `&T`, so `T: Send` is enough for `&Array<T>` to cross threads.
unsafe impl<T: Send> Sync for Array<T> {}

impl<T> Array<T> {
    /// A ring of `cap` slots.
    ///
    /// # Panics
    ///
    /// If `cap == 0` (a bug in the caller inside this crate) or if `cap` is so large that
    /// the lap arithmetic would overflow ("capacity overflow", like `Vec`).
    pub(crate) fn with_capacity(cap: usize) -> Self {
        assert!(cap > 0, "a bounded ring needs at least one slot");
        let mark_bit = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .expect("capacity overflow");
        let one_lap = mark_bit.checked_mul(2).expect("capacity overflow");
        let mut slots = Vec::new();
        // A clear panic rather than an allocation-failure abort for absurd sizes.
        if slots.try_reserve_exact(cap).is_err() {
            panic!("capacity overflow: cannot allocate {cap} queue slots");
        }
        slots.extend((0..cap).map(|i| Slot {
            stamp: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }));
        let slots = slots.into_boxed_slice();
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            cap,
            mark_bit,
            one_lap,
            lap_shift: one_lap.trailing_zeros(),
        }
    }

    /// The word that follows `pos` (`lap | index`, no mark).
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.mark_bit - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }
}

impl<T: Send> RawQueue<T> for Array<T> {
    #[inline]
    fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(PushError::Closed(value));
            }
            let index = tail & (self.mark_bit - 1);
            debug_assert!(index < self.cap);
            let slot = &self.slots[index];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                // Empty for this lap: try to claim it.
                let new_tail = self.next(tail);
                match self.tail.compare_exchange_weak(
                    tail,
                    new_tail,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: our CAS moved `tail` past this slot for this lap, and
                        // `stamp == tail` said its previous value (if any) was already
                        // taken; no other producer can win a CAS from the same `tail`, and
                        // no consumer reads it before our stamp store below.
                        unsafe { slot.value.with_mut(|p| p.write(MaybeUninit::new(value))) };
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds last lap's value: the ring may be full.
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(PushError::Full(value));
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer claimed it and is writing, or we read a stale tail.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    #[inline]
    fn try_pop(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = head & (self.mark_bit - 1);
            debug_assert!(index < self.cap);
            let slot = &self.slots[index];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                // Written for this lap: try to claim it.
                let new_head = self.next(head);
                match self.head.compare_exchange_weak(
                    head,
                    new_head,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: `stamp == head + 1` (acquired) means a producer wrote
                        // this lap's value and published it; our CAS moved `head` past the
                        // slot, so no other consumer reads it, and no producer writes it
                        // again before our stamp store below marks it empty.
                        let value = unsafe { slot.value.with_mut(|p| p.read().assume_init()) };
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Ok(value);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Not written for this lap yet: the ring may be empty.
                fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if tail & !self.mark_bit == head {
                    return Err(if tail & self.mark_bit != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // A producer claimed it and is still writing, or we read a stale head.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                let hix = head & (self.mark_bit - 1);
                let tix = tail & (self.mark_bit - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if tail & !self.mark_bit == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }

    fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        tail & !self.mark_bit == head
    }

    fn is_full(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        head.wrapping_add(self.one_lap) == tail & !self.mark_bit
    }

    fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }

    fn close(&self) -> bool {
        self.tail.fetch_or(self.mark_bit, Ordering::SeqCst) & self.mark_bit == 0
    }

    fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    fn pushes(&self) -> usize {
        let tail = self.tail.load(Ordering::SeqCst) & !self.mark_bit;
        (tail >> self.lap_shift)
            .wrapping_mul(self.cap)
            .wrapping_add(tail & (self.mark_bit - 1))
    }
}

impl<T> Drop for Array<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can hold a claim, so every slot between head and
        // tail holds an initialised value.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        let mut pos = head;
        while pos != tail {
            let index = pos & (self.mark_bit - 1);
            let slot = &self.slots[index];
            debug_assert_eq!(slot.stamp.load(Ordering::Relaxed), pos + 1);
            // SAFETY: slots from head up to tail were written (stamp == pos + 1) and not
            // read; we own the ring exclusively and drop each value once.
            unsafe { slot.value.with_mut(|p| (*p).assume_init_drop()) };
            pos = self.next(pos);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_full_empty_and_wraparound() {
        let a = Array::with_capacity(3);
        for round in 0..10usize {
            for i in 0..3 {
                assert!(a.try_push(round * 10 + i).is_ok());
            }
            assert!(a.is_full());
            assert_eq!(a.len(), 3);
            assert!(matches!(a.try_push(99), Err(PushError::Full(99))));
            for i in 0..3 {
                assert_eq!(a.try_pop().ok(), Some(round * 10 + i));
            }
            assert!(a.is_empty());
            assert_eq!(a.try_pop().err(), Some(PopError::Empty));
            assert_eq!(a.pushes(), (round + 1) * 3);
        }
    }

    #[test]
    fn pushes_counts_across_laps_for_odd_capacity() {
        let a = Array::with_capacity(5);
        for i in 0..1000usize {
            a.try_push(i).ok().unwrap();
            if i % 2 == 1 {
                a.try_pop().ok().unwrap();
                a.try_pop().ok().unwrap();
            }
            assert_eq!(a.pushes(), i + 1);
        }
    }

    #[test]
    fn close_rejects_pushes_but_keeps_items() {
        let a = Array::with_capacity(2);
        a.try_push(String::from("x")).ok().unwrap();
        assert!(a.close());
        assert!(!a.close());
        assert!(a.is_closed());
        assert!(matches!(a.try_push(String::from("y")), Err(PushError::Closed(s)) if s == "y"));
        assert_eq!(a.try_pop().ok().as_deref(), Some("x"));
        assert_eq!(a.try_pop().err(), Some(PopError::Closed));
    }

    #[test]
    fn drop_frees_remaining_values() {
        let counter = Arc::new(());
        let a = Array::with_capacity(4);
        for _ in 0..3 {
            a.try_push(Arc::clone(&counter)).ok().unwrap();
        }
        a.try_pop().ok().unwrap();
        a.try_push(Arc::clone(&counter)).ok().unwrap();
        a.try_push(Arc::clone(&counter)).ok().unwrap();
        assert_eq!(Arc::strong_count(&counter), 5);
        drop(a);
        assert_eq!(Arc::strong_count(&counter), 1);
    }

    #[test]
    fn concurrent_push_pop_loses_nothing() {
        const PER: usize = 20_000;
        let a = Arc::new(Array::with_capacity(7));
        let sum = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for p in 0..2 {
            let a = Arc::clone(&a);
            hs.push(std::thread::spawn(move || {
                for i in 0..PER {
                    let mut v = p * PER + i + 1;
                    loop {
                        match a.try_push(v) {
                            Ok(()) => break,
                            Err(PushError::Full(back)) => {
                                v = back;
                                std::thread::yield_now();
                            }
                            Err(PushError::Closed(_)) => unreachable!(),
                        }
                    }
                }
            }));
        }
        for _ in 0..2 {
            let (a, sum) = (Arc::clone(&a), Arc::clone(&sum));
            hs.push(std::thread::spawn(move || {
                for _ in 0..PER {
                    loop {
                        if let Ok(v) = a.try_pop() {
                            sum.fetch_add(v, Ordering::Relaxed);
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        let n = 2 * PER;
        assert_eq!(sum.load(Ordering::Relaxed), n * (n + 1) / 2);
        assert!(a.is_empty());
    }
}

/// Model checks: every interleaving of small scenarios (loom), run with
/// `RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn push_retrying(a: &Array<usize>, mut v: usize) {
        loop {
            match a.try_push(v) {
                Ok(()) => return,
                Err(PushError::Full(back)) => {
                    v = back;
                    thread::yield_now();
                }
                Err(PushError::Closed(_)) => unreachable!(),
            }
        }
    }

    fn pop_retrying(a: &Array<usize>) -> usize {
        loop {
            match a.try_pop() {
                Ok(v) => return v,
                Err(_) => thread::yield_now(),
            }
        }
    }

    #[test]
    fn loom_spsc_wraps_in_order() {
        loom::model(|| {
            let a = Arc::new(Array::with_capacity(1));
            let p = {
                let a = Arc::clone(&a);
                thread::spawn(move || {
                    push_retrying(&a, 1);
                    push_retrying(&a, 2);
                })
            };
            assert_eq!(pop_retrying(&a), 1);
            assert_eq!(pop_retrying(&a), 2);
            p.join().unwrap();
            assert_eq!(a.pushes(), 2);
            assert!(a.is_empty());
        });
    }

    #[test]
    fn loom_two_producers_one_consumer() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let a = Arc::new(Array::with_capacity(2));
            let ps: Vec<_> = [10, 20]
                .into_iter()
                .map(|v| {
                    let a = Arc::clone(&a);
                    thread::spawn(move || a.try_push(v).is_ok())
                })
                .collect();
            let x = pop_retrying(&a);
            let y = pop_retrying(&a);
            assert_eq!(x + y, 30);
            for p in ps {
                assert!(p.join().unwrap());
            }
            assert_eq!(a.pushes(), 2);
        });
    }

    #[test]
    fn loom_close_races_with_push() {
        loom::model(|| {
            let a = Arc::new(Array::with_capacity(2));
            let p = {
                let a = Arc::clone(&a);
                thread::spawn(move || a.try_push(String::from("x")).is_ok())
            };
            a.close();
            let pushed = p.join().unwrap();
            // After close returned and the pusher finished, the ring is settled: the
            // item is there exactly when the push succeeded, and nothing else comes.
            if pushed {
                assert_eq!(a.try_pop().ok().as_deref(), Some("x"));
            }
            assert_eq!(a.try_pop().err(), Some(PopError::Closed));
            assert_eq!(a.pushes(), usize::from(pushed));
        });
    }
}
