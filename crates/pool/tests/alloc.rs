//! `ThreadPool::map_chunked` allocates per chunk, never per item: counted with a global
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

#[test]
fn map_with_chunksize_does_not_allocate_per_item() {
    const ITEMS: u64 = 200_000;
    const CHUNK: usize = 2_000;
    let pool = ThreadPool::new(2).unwrap();
    // Warm up (thread-locals, queue blocks).
    let _ = pool.map_chunked(|x: u64| x, 0..ITEMS, CHUNK).unwrap();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    let out = pool.map_chunked(|x: u64| x + 1, 0..ITEMS, CHUNK).unwrap();
    let used = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert_eq!(out.len(), ITEMS as usize);
    let chunks = ITEMS as usize / CHUNK;
    assert!(
        used < chunks * 8,
        "{used} allocations for {chunks} chunks of {CHUNK} items"
    );
}
