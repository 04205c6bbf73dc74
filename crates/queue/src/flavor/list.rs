//! Unbounded lock-free MPMC queue: a linked list of blocks of slots (the design of
//! crossbeam-channel's list flavor, rewritten so it can be closed while pushes race).
//!
//! With [`super::array`], the only module of the crate with `unsafe` code.
//!
//! # Design
//!
//! Items live in blocks of `BLOCK_CAP` slots linked by `next`. `head` and `tail` are each
//! a position: an index and the block it points into. An index counts in units of
//! `1 << SHIFT`; `(index >> SHIFT) % LAP` is the offset in the current block, and offset
//! `BLOCK_CAP` (one past the last slot) means "the next block is being installed, wait".
//! The low bit (`MARK_BIT`) of `tail.index` means "closed" (set by `close`, preserved by
//! every later update, so a racing push either claims its slot first or sees the bit); in
//! `head.index` it means "has next" (the tail is in a later block, so the head's block is
//! completely claimed and a pop needs not read `tail`).
//!
//! - A producer claims a slot by a CAS on `tail.index`, writes the value and sets the
//!   slot's `WRITE` bit. The producer that claims the last slot of a block installs the
//!   next block (allocated before the CAS) into `tail.block`, then moves `tail.index` past
//!   the gap with a `fetch_add` (which keeps the closed bit), then links `block.next`.
//! - A consumer claims a slot by a CAS on `head.index`, waits for `WRITE`, reads the value
//!   and sets `READ`. The consumer that claims the last slot of a block moves `head` to the
//!   next block and starts destroying the old one.
//! - Destruction walks the block's slots: a slot whose reader has not finished gets
//!   `DESTROY` and that reader, on setting `READ`, continues the walk. The last one frees
//!   the block. No thread touches a block after it claimed no slot in it.
//!
//! A block is only dereferenced by a thread that won a CAS for an index inside it, and the
//! block pointer is always published before the index that leads into it.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_utils::CachePadded;

use super::{PopError, PushError, RawQueue};
use crate::primitive::{AtomicPtr, AtomicUsize, Backoff, Ordering, UnsafeCell, fence};

/// Slot state bit: the value was written.
const WRITE: usize = 1;
/// Slot state bit: the value was read.
const READ: usize = 2;
/// Slot state bit: the block is being destroyed; the reader of this slot continues it.
const DESTROY: usize = 4;

/// Indices per block, one of which (the last) is the "next block" gap.
const LAP: usize = if cfg!(loom) { 4 } else { 64 };
/// Slots per block.
const BLOCK_CAP: usize = LAP - 1;
/// Index bits reserved for metadata.
const SHIFT: usize = 1;
/// In `tail.index`: closed. In `head.index`: the tail is in a later block.
const MARK_BIT: usize = 1;

/// One slot.
struct Slot<T> {
    value: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            state: AtomicUsize::new(0),
        }
    }

    /// Waits until the producer that claimed this slot has written it.
    fn wait_write(&self) {
        let backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            backoff.snooze();
        }
    }
}

/// A block of slots.
struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot::new()),
        })
    }

    /// Waits until the producer of this block's last slot has linked the next block.
    fn wait_next(&self) -> *mut Self {
        let backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees `this` (or keeps it in `spare` for the next block a producer needs) once every
    /// slot from `start` on has been read.
    ///
    /// # Safety
    ///
    /// `this` came from `Box::into_raw`, every slot before `start` has been read, and the
    /// caller has finished with the block (it never touches it again).
    unsafe fn destroy(this: *mut Self, start: usize, spare: &AtomicPtr<Self>) {
        // The last slot is read by the consumer that starts destruction: skip it.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is still alive: at least the reader of slot `i` or we
            // (the caller's contract) keep it so until the walk below hands it off or ends.
            let slot = unsafe { (*this).slots.get_unchecked(i) };
            // If the reader of slot `i` is not done, hand destruction over to it.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                return;
            }
        }
        // SAFETY: every slot has been read and no thread will touch the block again.
        Self::recycle(unsafe { Box::from_raw(this) }, spare);
    }

    /// Keeps a block nobody uses any more as `spare` (reset to empty), unless one is kept
    /// already; then frees it. A block holds `BLOCK_CAP` items, so without this a stream of
    /// items costs one allocation in one thread and one free in another per `BLOCK_CAP`.
    fn recycle(block: Box<Self>, spare: &AtomicPtr<Self>) {
        for slot in &block.slots {
            slot.state.store(0, Ordering::Relaxed);
        }
        block.next.store(ptr::null_mut(), Ordering::Relaxed);
        let raw = Box::into_raw(block);
        // Release: the resets above happen before a producer's `take_spare` acquires it.
        if spare
            .compare_exchange(ptr::null_mut(), raw, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: `raw` came from `Box::into_raw` just above and was not published.
            drop(unsafe { Box::from_raw(raw) });
        }
    }

    /// The kept spare block, or a new one.
    fn take_or_new(spare: &AtomicPtr<Self>) -> Box<Self> {
        if spare.load(Ordering::Relaxed).is_null() {
            return Self::new();
        }
        let raw = spare.swap(ptr::null_mut(), Ordering::Acquire);
        if raw.is_null() {
            Self::new()
        } else {
            // SAFETY: `recycle` published a block it owned alone; the swap handed it to us
            // alone (whoever swaps next finds null or a later block).
            unsafe { Box::from_raw(raw) }
        }
    }
}

/// A position in the list.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// An unbounded multi-producer multi-consumer list of blocks.
pub(crate) struct List<T> {
    head: CachePadded<Position<T>>,
    tail: CachePadded<Position<T>>,
    /// One emptied block kept for reuse (null when none), see [`Block::recycle`].
    spare: AtomicPtr<Block<T>>,
}

// SAFETY: values of type `T` move from producer threads to consumer threads; nothing hands
// out `&T`. Slot and block access is made exclusive by the CAS protocol in the module docs.
unsafe impl<T: Send> Send for List<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for List<T> {}

impl<T> List<T> {
    /// An empty list with its first block allocated.
    pub(crate) fn new() -> Self {
        let first = Box::into_raw(Block::new());
        Self {
            head: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            tail: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(first),
            }),
            spare: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

impl<T: Send> RawQueue<T> for List<T> {
    fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block: Option<Box<Block<T>>> = None;
        loop {
            if tail & MARK_BIT != 0 {
                return Err(PushError::Closed(value));
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another producer is installing the next block.
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            // About to fill the block: allocate the next one before claiming, so the
            // window in which others wait is short.
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::take_or_new(&self.spare));
            }
            let new_tail = tail + (1 << SHIFT);
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next = match next_block.take() {
                            Some(b) => Box::into_raw(b),
                            None => unreachable!("allocated before claiming the last slot"),
                        };
                        self.tail.block.store(next, Ordering::Release);
                        // Past the gap; `fetch_add` keeps a closed bit set meanwhile.
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: we claimed a slot of `block`, so consumers cannot have
                        // destroyed it (its last slot, ours, is not written yet).
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    // SAFETY: `block` is the block of the index we claimed (its pointer is
                    // published before any index inside it, and our CAS proved the index
                    // unchanged since we loaded both), it stays alive until our slot is
                    // read, and the slot is ours alone until we set WRITE.
                    unsafe {
                        let slot = (*block).slots.get_unchecked(offset);
                        slot.value.with_mut(|p| p.write(MaybeUninit::new(value)));
                        slot.state.fetch_or(WRITE, Ordering::Release);
                    }
                    return Ok(());
                }
                Err(current) => {
                    tail = current;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    fn try_pop(&self) -> Result<T, PopError> {
        let backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another consumer is moving to the next block.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                // Not known to have a next block: compare with the tail.
                fence(Ordering::SeqCst);
                let tail = self.tail.index.load(Ordering::Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    return Err(if tail & MARK_BIT != 0 {
                        PopError::Closed
                    } else {
                        PopError::Empty
                    });
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    // SAFETY: as in `try_push`, `block` is the block of the index we
                    // claimed and it stays alive until we set READ on our slot (or, for
                    // the last slot, until we start its destruction ourselves).
                    unsafe {
                        if offset + 1 == BLOCK_CAP {
                            let next = (*block).wait_next();
                            let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                            if !(*next).next.load(Ordering::Relaxed).is_null() {
                                next_index |= MARK_BIT;
                            }
                            self.head.block.store(next, Ordering::Release);
                            self.head.index.store(next_index, Ordering::Release);
                        }
                        let slot = (*block).slots.get_unchecked(offset);
                        slot.wait_write();
                        let value = slot.value.with_mut(|p| p.read().assume_init());
                        if offset + 1 == BLOCK_CAP {
                            Block::destroy(block, 0, &self.spare);
                        } else if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                            Block::destroy(block, offset + 1, &self.spare);
                        }
                        return Ok(value);
                    }
                }
                Err(current) => {
                    head = current;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                tail >>= SHIFT;
                head >>= SHIFT;
                // Count the gap positions as the next block's first index.
                if tail % LAP == BLOCK_CAP {
                    tail = tail.wrapping_add(1);
                }
                if head % LAP == BLOCK_CAP {
                    head = head.wrapping_add(1);
                }
                let base = head / LAP * LAP;
                let (head, tail) = (head - base, tail.wrapping_sub(base));
                return tail - head - tail / LAP;
            }
        }
    }

    fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    fn is_full(&self) -> bool {
        false
    }

    fn capacity(&self) -> Option<usize> {
        None
    }

    fn close(&self) -> bool {
        self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst) & MARK_BIT == 0
    }

    fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    fn pushes(&self) -> usize {
        let index = self.tail.index.load(Ordering::SeqCst) >> SHIFT;
        // Every lap skips one index (the gap).
        index - index / LAP
    }
}

impl<T> Drop for List<T> {
    fn drop(&mut self) {
        // `&mut self`: no claim is in flight, every index from head to tail (but the gaps)
        // holds a written, unread value.
        let mut head = self.head.index.load(Ordering::Relaxed) >> SHIFT;
        let tail = self.tail.index.load(Ordering::Relaxed) >> SHIFT;
        let mut block = self.head.block.load(Ordering::Relaxed);
        while head != tail {
            let offset = head % LAP;
            if offset < BLOCK_CAP {
                // SAFETY: see above; each value is dropped once.
                unsafe {
                    (*block).slots[offset]
                        .value
                        .with_mut(|p| (*p).assume_init_drop())
                };
            } else {
                // SAFETY: the block is fully read now; the next one was linked before any
                // index inside it was claimed.
                let next = unsafe { (*block).next.load(Ordering::Relaxed) };
                // SAFETY: blocks come from `Box::into_raw` and are freed once.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head = head.wrapping_add(1);
        }
        // SAFETY: the last (current) block is freed once; it is never null (`new`
        // allocates the first block and every advance installs a non-null one).
        drop(unsafe { Box::from_raw(block) });
        let spare = self.spare.load(Ordering::Relaxed);
        if !spare.is_null() {
            // SAFETY: the spare block is owned by the list alone and freed once.
            drop(unsafe { Box::from_raw(spare) });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fifo_across_many_blocks() {
        let l = List::new();
        for i in 0..1000usize {
            l.try_push(i).ok().unwrap();
            assert_eq!(l.len(), i + 1);
            assert_eq!(l.pushes(), i + 1);
        }
        for i in 0..1000usize {
            assert_eq!(l.try_pop().ok(), Some(i));
            assert_eq!(l.len(), 999 - i);
        }
        assert_eq!(l.try_pop().err(), Some(PopError::Empty));
        assert!(l.is_empty());
        assert_eq!(l.pushes(), 1000);
    }

    #[test]
    fn interleaved_push_pop_len() {
        let l = List::new();
        let mut model = std::collections::VecDeque::new();
        for i in 0..500usize {
            l.try_push(i).ok().unwrap();
            model.push_back(i);
            if i % 3 == 0 {
                assert_eq!(l.try_pop().ok(), model.pop_front());
            }
            assert_eq!(l.len(), model.len());
            assert_eq!(l.is_empty(), model.is_empty());
        }
    }

    #[test]
    fn close_keeps_items_and_rejects_pushes() {
        let l = List::new();
        for i in 0..40 {
            l.try_push(i).ok().unwrap();
        }
        assert!(l.close());
        assert!(matches!(l.try_push(99), Err(PushError::Closed(99))));
        assert_eq!(std::iter::from_fn(|| l.try_pop().ok()).count(), 40);
        assert_eq!(l.try_pop().err(), Some(PopError::Closed));
    }

    #[test]
    fn drop_frees_values_and_blocks() {
        let token = Arc::new(());
        let l = List::new();
        for _ in 0..100 {
            l.try_push(Arc::clone(&token)).ok().unwrap();
        }
        for _ in 0..45 {
            drop(l.try_pop().ok().unwrap());
        }
        assert_eq!(Arc::strong_count(&token), 56);
        drop(l);
        assert_eq!(Arc::strong_count(&token), 1);
    }

    #[test]
    fn concurrent_push_pop_loses_nothing() {
        const PER: usize = 20_000;
        let l = Arc::new(List::new());
        let sum = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for p in 0..2 {
            let l = Arc::clone(&l);
            hs.push(std::thread::spawn(move || {
                for i in 0..PER {
                    assert!(l.try_push(p * PER + i + 1).is_ok());
                }
            }));
        }
        for _ in 0..2 {
            let (l, sum) = (Arc::clone(&l), Arc::clone(&sum));
            hs.push(std::thread::spawn(move || {
                let mut n = 0;
                while n < PER {
                    if let Ok(v) = l.try_pop() {
                        sum.fetch_add(v, Ordering::Relaxed);
                        n += 1;
                    } else {
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
        assert!(l.is_empty());
    }
}

/// Model checks with `LAP = 4` (3 slots per block) so scenarios cross block boundaries:
/// `RUSTFLAGS="--cfg loom" cargo test -p skein-queue --lib --release loom`.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// Explores every interleaving with at most 3 preemptions.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(f);
    }

    fn pop_retrying(l: &List<usize>) -> usize {
        loop {
            match l.try_pop() {
                Ok(v) => return v,
                Err(_) => thread::yield_now(),
            }
        }
    }

    #[test]
    fn loom_spsc_across_a_block() {
        model(|| {
            let l = Arc::new(List::new());
            // Start near the end of the first block so the scenario crosses it.
            l.try_push(0).ok().unwrap();
            l.try_push(1).ok().unwrap();
            assert_eq!(l.try_pop().ok(), Some(0));
            let p = {
                let l = Arc::clone(&l);
                thread::spawn(move || {
                    l.try_push(2).ok().unwrap();
                    l.try_push(3).ok().unwrap();
                })
            };
            assert_eq!(pop_retrying(&l), 1);
            assert_eq!(pop_retrying(&l), 2);
            assert_eq!(pop_retrying(&l), 3);
            p.join().unwrap();
            assert_eq!(l.pushes(), 4);
            assert!(l.is_empty());
        });
    }

    #[test]
    fn loom_two_consumers_split_a_block_boundary() {
        model(|| {
            let l = Arc::new(List::new());
            for v in 1..=4 {
                l.try_push(v).ok().unwrap();
            }
            let c = {
                let l = Arc::clone(&l);
                thread::spawn(move || pop_retrying(&l) + pop_retrying(&l))
            };
            let mine = pop_retrying(&l) + pop_retrying(&l);
            assert_eq!(mine + c.join().unwrap(), 10);
            assert_eq!(l.try_pop().err(), Some(PopError::Empty));
        });
    }

    #[test]
    fn loom_close_races_with_push_at_block_end() {
        model(|| {
            let l = Arc::new(List::new());
            l.try_push(0).ok().unwrap();
            l.try_push(1).ok().unwrap();
            let p = {
                let l = Arc::clone(&l);
                // This push claims the last slot of the first block and installs the next.
                thread::spawn(move || l.try_push(2).is_ok())
            };
            l.close();
            let pushed = p.join().unwrap();
            assert!(
                l.is_closed(),
                "installing a block must not lose the closed bit"
            );
            assert!(matches!(l.try_push(9), Err(PushError::Closed(9))));
            let got: Vec<usize> = std::iter::from_fn(|| l.try_pop().ok()).collect();
            let want: Vec<usize> = if pushed { vec![0, 1, 2] } else { vec![0, 1] };
            assert_eq!(got, want);
            assert_eq!(l.try_pop().err(), Some(PopError::Closed));
        });
    }
}
