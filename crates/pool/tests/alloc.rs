//! `ThreadPool::map` / `map_chunked` allocate neither per item nor per chunk: counted with a global
//! allocator that tallies allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use skein_pool::ThreadPool;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations of one `map_chunked` of `items()` in chunks of `chunk` (`None`: `map`, the
/// default chunk size), after a warm-up.
fn allocations_of_one_map<I>(
    pool: &ThreadPool,
    items: impl Fn() -> I,
    chunk: Option<usize>,
) -> usize
where
    I: IntoIterator<Item = u64>,
{
    let map = |f: fn(u64) -> u64| match chunk {
        Some(chunk) => pool.map_chunked(f, items(), chunk).unwrap(),
        None => pool.map(f, items()).unwrap(),
    };
    let _ = map(|x| x);
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let out = map(|x| x + 1);
    let used = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(out.len(), ITEMS as usize);
    assert_eq!(out[ITEMS as usize - 1], ITEMS);
    used
}

const ITEMS: u64 = 200_000;

/// One shared job, the items counted (a range) or gathered once (any other iterator), the
/// results written in place: a map allocates a fixed handful of times (input, output, job,
/// the result's state) whatever its chunk size, even with one chunk per item.
#[test]
fn map_allocates_neither_per_item_nor_per_chunk() {
    let pool = ThreadPool::new(2).unwrap();
    for chunk in [Some(1), Some(7), Some(2_000), Some(1_000_000), None] {
        let counted = allocations_of_one_map(&pool, || 0..ITEMS, chunk);
        // Not a range: gathered into a list first.
        let gathered = allocations_of_one_map(&pool, || (0..ITEMS).step_by(1), chunk);
        for (used, what) in [(counted, "a range"), (gathered, "an iterator")] {
            assert!(
                used <= 8,
                "{used} allocations for {ITEMS} items of {what} in chunks of {chunk:?}"
            );
        }
    }
}
