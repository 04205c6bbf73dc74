//! The per-thread pool: size classes, free lists, trimming.

use std::cell::RefCell;
use std::rc::Rc;

use corosensei::stack::{MIN_STACK_SIZE, Stack, StackPointer};

use super::overflow;
use super::region::{Region, page_size};
use crate::error::StackError;

/// Free stacks kept warm (pages resident) per size class; past [`TRIM_HIGH`] warm ones
/// the coldest are given back to the OS down to this many.
const TRIM_KEEP: usize = 1024;
/// See [`TRIM_KEEP`].
const TRIM_HIGH: usize = 4096;
/// Stacks in a size class's first region; each new region doubles, up to
/// [`MAX_REGION_STACKS`] (and at most [`MAX_REGION_BYTES`] of address space).
const FIRST_REGION_STACKS: usize = 16;
const MAX_REGION_STACKS: usize = 8192;
const MAX_REGION_BYTES: usize = 4 << 30;

/// A coroutine stack from the calling thread's pool: `usable` bytes above one guard
/// page. Dropping it returns it to that thread's pool (its pages stay resident, so the
/// next coroutine starts without page faults); it is `!Send` because the pool is
/// per-thread.
#[derive(Debug)]
pub(crate) struct PooledStack {
    lo: usize,
    /// The top, kept as corosensei's non-null `StackPointer`: `base()` is read on every
    /// resume, and a plain `usize` would cost a null check each time.
    hi: StackPointer,
    region: Option<Rc<Region>>,
}

impl PooledStack {
    /// Usable bytes (guard page excluded).
    #[allow(dead_code)]
    pub(crate) fn usable(&self) -> usize {
        self.hi.get() - self.lo - page_size()
    }
}

// SAFETY: `hi` is page-aligned (so STACK_ALIGNMENT-aligned) and is the top of a slot of
// at least MIN_STACK_SIZE usable bytes; `lo` is the slot's low end, which is a guard page
// installed by `Region::carve` before the stack was first handed out and never removed
// while the region is mapped. The region stays mapped while this stack exists (Rc).
unsafe impl Stack for PooledStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.hi
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        StackPointer::new(self.lo).expect("stack limit is never null")
    }
}

/// A stack's top as a `StackPointer` (a slot's top is never address 0).
fn top_of(hi: usize) -> StackPointer {
    StackPointer::new(hi).expect("stack top is never null")
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        let Some(region) = self.region.take() else {
            return;
        };
        let lo = self.lo;
        // During thread teardown the pool may be gone; then the Rc alone frees memory.
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                p.release(lo, region);
            }
        });
    }
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { classes: Vec::new(), live: 0, ready: false }) };
}

#[derive(Debug)]
struct FreeStack {
    lo: usize,
    region: Rc<Region>,
}

#[derive(Debug)]
struct SizeClass {
    stride: usize,
    /// LIFO free list: the most recently used (warmest) stacks at the end.
    free: Vec<FreeStack>,
    /// `free[..cold]` have had their pages discarded already.
    cold: usize,
    current: Option<Rc<Region>>,
    next_slot: usize,
    next_capacity: usize,
}

#[derive(Debug)]
struct Pool {
    classes: Vec<SizeClass>,
    live: usize,
    ready: bool,
}

/// What [`stats`] reports about the calling thread's pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Stacks handed out and not yet returned.
    pub(crate) live: usize,
    /// Stacks waiting in the free lists.
    pub(crate) free: usize,
}

impl Pool {
    fn acquire(&mut self, size: usize) -> Result<PooledStack, StackError> {
        if !self.ready {
            overflow::ensure_installed();
            self.ready = true;
        }
        let page = page_size();
        let usable = size
            .max(MIN_STACK_SIZE)
            .checked_next_multiple_of(page)
            .ok_or_else(|| StackError::AddressSpace {
                requested: size,
                source: std::io::Error::from_raw_os_error(libc::ENOMEM),
            })?;
        let stride = usable + page;
        let live = self.live;
        let class = match self.classes.iter().position(|c| c.stride == stride) {
            Some(i) => &mut self.classes[i],
            None => {
                self.classes.push(SizeClass {
                    stride,
                    free: Vec::new(),
                    cold: 0,
                    current: None,
                    next_slot: 0,
                    next_capacity: FIRST_REGION_STACKS.min(MAX_REGION_BYTES / stride).max(1),
                });
                self.classes.last_mut().expect("just pushed")
            }
        };
        let stack = match class.free.pop() {
            Some(f) => {
                class.cold = class.cold.min(class.free.len());
                PooledStack {
                    lo: f.lo,
                    hi: top_of(f.lo + stride),
                    region: Some(f.region),
                }
            }
            None => class.carve(live)?,
        };
        self.live += 1;
        Ok(stack)
    }

    fn release(&mut self, lo: usize, region: Rc<Region>) {
        self.live = self.live.saturating_sub(1);
        let stride = region.stride();
        let Some(class) = self.classes.iter_mut().find(|c| c.stride == stride) else {
            return;
        };
        class.free.push(FreeStack { lo, region });
        if class.free.len() - class.cold > TRIM_HIGH {
            class.trim(TRIM_KEEP);
        }
    }
}

impl SizeClass {
    fn carve(&mut self, live: usize) -> Result<PooledStack, StackError> {
        let region = match &self.current {
            Some(r) if self.next_slot < r.capacity() => r.clone(),
            _ => {
                let r = Rc::new(Region::map(self.stride, self.next_capacity, live)?);
                self.next_capacity = (self.next_capacity * 2)
                    .min(MAX_REGION_STACKS)
                    .min(MAX_REGION_BYTES / self.stride)
                    .max(1);
                self.current = Some(r.clone());
                self.next_slot = 0;
                r
            }
        };
        let (lo, hi) = region.carve(self.next_slot, live)?;
        self.next_slot += 1;
        Ok(PooledStack {
            lo,
            hi: top_of(hi),
            region: Some(region),
        })
    }

    /// Discards the pages of all warm free stacks but the `keep` most recent, in as few
    /// `madvise` calls as contiguous runs allow.
    fn trim(&mut self, keep: usize) {
        let end = self.free.len().saturating_sub(keep);
        if end <= self.cold {
            return;
        }
        let run = &mut self.free[self.cold..end];
        run.sort_unstable_by_key(|f| f.lo);
        let mut i = 0;
        while i < run.len() {
            let start = run[i].lo;
            let mut hi = start + self.stride;
            let mut j = i + 1;
            while j < run.len() && run[j].lo == hi && Rc::ptr_eq(&run[j].region, &run[i].region) {
                hi += self.stride;
                j += 1;
            }
            run[i].region.discard(start, hi);
            i = j;
        }
        self.cold = end;
    }
}

/// Takes a stack of at least `size` usable bytes from the calling thread's pool.
pub(crate) fn acquire(size: usize) -> Result<PooledStack, StackError> {
    POOL.with(|p| p.borrow_mut().acquire(size))
}

/// The calling thread's pool figures.
#[allow(dead_code)]
pub(crate) fn stats() -> PoolStats {
    POOL.with(|p| {
        let p = p.borrow();
        PoolStats {
            live: p.live,
            free: p.classes.iter().map(|c| c.free.len()).sum(),
        }
    })
}

/// Gives the pages of the calling thread's free stacks back to the OS, keeping the
/// `keep` most recently used per size class warm. The hub calls it when idle.
#[allow(dead_code)]
pub(crate) fn trim(keep: usize) {
    POOL.with(|p| {
        for c in &mut p.borrow_mut().classes {
            c.trim(keep);
        }
    });
}
