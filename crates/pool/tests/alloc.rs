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

/// Allocations of one `map_chunked` of `items` items in chunks of `chunk`, after a warm-up.
fn allocations_of_one_map(pool: &ThreadPool, items: u64, chunk: usize) -> usize {
    let _ = pool.map_chunked(|x: u64| x, 0..items, chunk).unwrap();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let out = pool.map_chunked(|x: u64| x + 1, 0..items, chunk).unwrap();
    let used = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(out.len(), items as usize);
    assert_eq!(out[items as usize - 1], items);
    used
}

/// Items gathered once, results written in place, one shared job: a map allocates a fixed
/// handful of times (input, output, job, the result's state) whatever its chunk size,
/// even with one chunk per item.
#[test]
fn map_allocates_neither_per_item_nor_per_chunk() {
    const ITEMS: u64 = 200_000;
    let pool = ThreadPool::new(2).unwrap();
    for chunk in [1, 7, 2_000, 1_000_000] {
        let used = allocations_of_one_map(&pool, ITEMS, chunk);
        assert!(
            used <= 8,
            "{used} allocations for {ITEMS} items in chunks of {chunk}"
        );
    }
    let _ = pool.map(|x: u64| x, 0..ITEMS).unwrap();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let out = pool.map(|x: u64| x * 2, 0..ITEMS).unwrap();
    let used = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(out[1], 2);
    assert!(
        used <= 8,
        "{used} allocations for map with the default chunk size"
    );
}
