//! The process-wide default stack size (Python's `threading.stack_size`), in its own test
//! binary: changing it would affect every other test's threads.
//! Follows CPython's `test_various_ops_small_stack` / `_large_stack` (our own words).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use skein_threads::{Builder, MIN_STACK_SIZE, set_stack_size, stack_size};

/// Ten threads started with the current default stack size, each using `dig_kib` KiB of it.
fn start_ten(dig_kib: usize) {
    let ran = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let ran = ran.clone();
            Builder::new()
                .spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    dig(dig_kib)
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        let thread = h.thread().clone();
        assert!(h.join().unwrap() > 0);
        assert!(!thread.is_alive());
    }
    assert_eq!(ran.load(Ordering::SeqCst), 10);
}

/// Uses about `kib` KiB of stack (one 1 KiB frame per level).
#[inline(never)]
fn dig(kib: usize) -> u64 {
    let frame = std::hint::black_box([kib as u8; 1024]);
    if kib == 0 {
        return 1;
    }
    dig(kib - 1) + u64::from(frame[1023] & 1)
}

#[test]
fn the_default_stack_size_applies_to_new_threads_and_zero_restores_the_platforms() {
    assert_eq!(stack_size(), 0, "the platform default at first");
    // Small (256 KiB): threads still run ordinary code.
    assert_eq!(set_stack_size(256 * 1024).unwrap(), 0);
    assert_eq!(stack_size(), 256 * 1024);
    start_ten(64);
    // Large (32 MiB): deep enough for 4 MiB of frames, which std's 2 MiB default is not
    // (an overflow would abort this test binary).
    assert_eq!(set_stack_size(32 * 1024 * 1024).unwrap(), 256 * 1024);
    start_ten(4 * 1024);
    // A builder's own size still wins over the default.
    let h = Builder::new()
        .stack_size(MIN_STACK_SIZE * 8)
        .spawn(|| dig(16))
        .unwrap();
    assert!(h.join().unwrap() > 0);
    // Invalid sizes change nothing (Python's ValueError).
    assert!(set_stack_size(MIN_STACK_SIZE - 1).is_err());
    assert_eq!(stack_size(), 32 * 1024 * 1024);
    assert_eq!(set_stack_size(0).unwrap(), 32 * 1024 * 1024);
    assert_eq!(stack_size(), 0);
    start_ten(64);
}
