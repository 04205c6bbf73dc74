//! One region of address space carved into equally sized stacks, each with a guard page
//! at its low end, and the process-wide registry of regions the overflow handler reads.
//!
//! Layout of a region of `capacity` stacks (stacks grow down, towards the guard):
//!
//! ```text
//! base                                                            base + len
//! | guard | usable (stride - guard) | guard | usable | ... | guard | usable |
//!   slot 0                             slot 1                slot n-1
//! ```
//!
//! The whole region is one `mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|
//! MAP_NORESERVE|MAP_STACK)`: nothing is resident or charged until a page is touched. A
//! slot's guard page is installed when the slot is first handed out:
//! - [`GuardKind::Marker`]: `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+) puts a guard
//!   marker in the page table. The region stays ONE mapping whatever the number of
//!   stacks, so `vm.max_map_count` never caps the number of live coroutines.
//! - [`GuardKind::Mprotect`]: `mprotect(PROT_NONE)` on the page. Each guard splits the
//!   mapping, so each live stack costs two mappings and Linux's default
//!   `vm.max_map_count` (65,530) caps a process near 32,000 stacks. Used on older kernels
//!   and other Unixes, or when `SKEIN_STACK_GUARD=mprotect` is set.

use std::io;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::error::StackError;

/// `MADV_GUARD_INSTALL` from linux/mman.h (not yet in the libc crate).
#[cfg(target_os = "linux")]
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// How guard pages are made; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GuardKind {
    /// `madvise(MADV_GUARD_INSTALL)`: no extra memory mapping per stack.
    Marker,
    /// `mprotect(PROT_NONE)`: two memory mappings per stack.
    Mprotect,
}

/// 0 = not decided yet, 1 = Marker, 2 = Mprotect.
static GUARD_KIND: AtomicU8 = AtomicU8::new(0);

/// The guard kind in use (decided by the first region, or forced by the environment).
pub(crate) fn guard_kind() -> GuardKind {
    match GUARD_KIND.load(Ordering::Relaxed) {
        1 => GuardKind::Marker,
        2 => GuardKind::Mprotect,
        _ => {
            let forced = std::env::var_os("SKEIN_STACK_GUARD").is_some_and(|v| v == "mprotect");
            let kind = if forced || !cfg!(target_os = "linux") {
                GuardKind::Mprotect
            } else {
                GuardKind::Marker
            };
            set_guard_kind(kind);
            kind
        }
    }
}

fn set_guard_kind(kind: GuardKind) {
    let v = match kind {
        GuardKind::Marker => 1,
        GuardKind::Mprotect => 2,
    };
    GUARD_KIND.store(v, Ordering::Relaxed);
}

/// The system page size, read once.
pub(crate) fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p > 0 { p as usize } else { 4096 }
    })
}

/// A mapped region of `capacity` stack slots of `stride` bytes each.
#[derive(Debug)]
pub(crate) struct Region {
    base: usize,
    len: usize,
    stride: usize,
    guard: usize,
    capacity: usize,
    registry_slot: Option<usize>,
}

impl Region {
    /// Reserves a region for `capacity` stacks of `stride` bytes (guard included).
    pub(crate) fn map(
        stride: usize,
        capacity: usize,
        live_on_thread: usize,
    ) -> Result<Self, StackError> {
        let guard = page_size();
        debug_assert!(stride > guard && stride % guard == 0 && capacity > 0);
        let len = stride
            .checked_mul(capacity)
            .ok_or_else(|| StackError::AddressSpace {
                requested: usize::MAX,
                source: io::Error::from_raw_os_error(libc::ENOMEM),
            })?;
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        // SAFETY: an anonymous mapping at an address of the kernel's choice touches no
        // existing memory; the result is checked against MAP_FAILED.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            return Err(classify_enomem(err, "mmap", len, live_on_thread));
        }
        let base = p as usize;
        // Transparent huge pages would make one touched stack page cost 2 MiB of RSS.
        #[cfg(target_os = "linux")]
        // SAFETY: the range is the mapping just created and owned by this Region.
        unsafe {
            libc::madvise(p, len, libc::MADV_NOHUGEPAGE);
        }
        let registry_slot = registry::register(base, len, stride, guard);
        Ok(Region {
            base,
            len,
            stride,
            guard,
            capacity,
            registry_slot,
        })
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Installs slot `i`'s guard page and returns its (limit, base) addresses: the low
    /// end including the guard, and the high end where the stack starts.
    pub(crate) fn carve(
        &self,
        i: usize,
        live_on_thread: usize,
    ) -> Result<(usize, usize), StackError> {
        assert!(i < self.capacity, "stack slot out of range");
        let lo = self.base + i * self.stride;
        install_guard(lo, self.guard, live_on_thread)?;
        Ok((lo, lo + self.stride))
    }

    /// Drops the resident pages of the usable parts of `[lo, hi)`, a run of whole slots
    /// in this region; the guards and the reservation stay.
    pub(crate) fn discard(&self, lo: usize, hi: usize) {
        debug_assert!(lo >= self.base && hi <= self.base + self.len && lo < hi);
        // Skip the first guard page: the rest is usable memory or other guards, which
        // MADV_DONTNEED leaves in place (markers survive, PROT_NONE pages hold nothing).
        let start = lo + self.guard;
        // SAFETY: the range lies inside this region and holds only free stacks, which no
        // coroutine uses; dropping their pages makes them read as zeroes on next touch.
        unsafe {
            libc::madvise(start as *mut libc::c_void, hi - start, libc::MADV_DONTNEED);
        }
    }

    /// Bytes between slots.
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if let Some(slot) = self.registry_slot {
            registry::unregister(slot);
        }
        // SAFETY: the mapping was created by `map` and no stack of it is alive: every
        // PooledStack and free-list entry holds an Rc to the region.
        let rc = unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
        debug_assert_eq!(rc, 0, "munmap of a stack region failed");
    }
}

fn install_guard(lo: usize, guard: usize, live_on_thread: usize) -> Result<(), StackError> {
    loop {
        match guard_kind() {
            #[cfg(target_os = "linux")]
            GuardKind::Marker => {
                // SAFETY: the page belongs to a region owned by the pool and to a slot no
                // coroutine has used yet (or that is being reused with its guard intact).
                let rc =
                    unsafe { libc::madvise(lo as *mut libc::c_void, guard, MADV_GUARD_INSTALL) };
                if rc == 0 {
                    return Ok(());
                }
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINVAL) {
                    // Kernel older than 6.13: fall back to mprotect for good.
                    set_guard_kind(GuardKind::Mprotect);
                    continue;
                }
                return Err(classify_enomem(
                    err,
                    "madvise(MADV_GUARD_INSTALL)",
                    guard,
                    live_on_thread,
                ));
            }
            #[cfg(not(target_os = "linux"))]
            GuardKind::Marker => {
                set_guard_kind(GuardKind::Mprotect);
                continue;
            }
            GuardKind::Mprotect => {
                // SAFETY: as above; PROT_NONE on a page of our own mapping.
                let rc = unsafe { libc::mprotect(lo as *mut libc::c_void, guard, libc::PROT_NONE) };
                if rc == 0 {
                    return Ok(());
                }
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::ENOMEM) {
                    // mprotect's ENOMEM on our own mapping means the split would exceed
                    // vm.max_map_count.
                    return Err(StackError::MapCountLimit {
                        max_map_count: max_map_count(),
                        live_on_thread,
                    });
                }
                return Err(StackError::Os {
                    op: "mprotect",
                    source: err,
                });
            }
        }
    }
}

/// Tells ENOMEM from the map count apart from ENOMEM from address space.
fn classify_enomem(
    err: io::Error,
    op: &'static str,
    requested: usize,
    live_on_thread: usize,
) -> StackError {
    if err.raw_os_error() != Some(libc::ENOMEM) {
        return StackError::Os { op, source: err };
    }
    if let (Some(max), Some(now)) = (max_map_count(), map_count()) {
        if now + 2 >= max as usize {
            return StackError::MapCountLimit {
                max_map_count: Some(max),
                live_on_thread,
            };
        }
    }
    StackError::AddressSpace {
        requested,
        source: err,
    }
}

/// `/proc/sys/vm/max_map_count`, when readable.
pub(crate) fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The number of memory mappings of this process (lines of `/proc/self/maps`).
pub(crate) fn map_count() -> Option<usize> {
    let maps = std::fs::read("/proc/self/maps").ok()?;
    Some(maps.iter().filter(|&&b| b == b'\n').count())
}

/// A fixed table of live regions that the SIGSEGV handler can read without locks or
/// allocation (async-signal-safe: atomics only).
pub(crate) mod registry {
    use super::{AtomicUsize, Ordering};

    /// Regions grow geometrically, so a process needs few of them; past this many the
    /// extra regions still work but an overflow in them is reported as a plain SIGSEGV.
    const SLOTS: usize = 1024;

    struct Slot {
        /// 0 = free, 1 = being written, 2 = live.
        state: AtomicUsize,
        base: AtomicUsize,
        len: AtomicUsize,
        stride: AtomicUsize,
        guard: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        state: AtomicUsize::new(0),
        base: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        stride: AtomicUsize::new(0),
        guard: AtomicUsize::new(0),
    };
    static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
    /// One past the highest slot ever used: the handler scans `..HIGH`.
    static HIGH: AtomicUsize = AtomicUsize::new(0);

    pub(crate) fn register(base: usize, len: usize, stride: usize, guard: usize) -> Option<usize> {
        for (i, s) in TABLE.iter().enumerate() {
            if s.state
                .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                s.base.store(base, Ordering::Relaxed);
                s.len.store(len, Ordering::Relaxed);
                s.stride.store(stride, Ordering::Relaxed);
                s.guard.store(guard, Ordering::Relaxed);
                s.state.store(2, Ordering::Release);
                HIGH.fetch_max(i + 1, Ordering::Release);
                return Some(i);
            }
        }
        None
    }

    pub(crate) fn unregister(i: usize) {
        TABLE[i].state.store(0, Ordering::Release);
    }

    /// A guard-page hit: the faulting stack's low end (guard included) and high end.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct GuardHit {
        pub(crate) stack_lo: usize,
        pub(crate) stack_hi: usize,
        pub(crate) guard: usize,
    }

    /// Finds the guard page containing `addr`, if any. Async-signal-safe.
    pub(crate) fn find_guard(addr: usize) -> Option<GuardHit> {
        let high = HIGH.load(Ordering::Acquire).min(SLOTS);
        for s in &TABLE[..high] {
            if s.state.load(Ordering::Acquire) != 2 {
                continue;
            }
            let base = s.base.load(Ordering::Relaxed);
            let len = s.len.load(Ordering::Relaxed);
            if addr < base || addr >= base + len {
                continue;
            }
            let stride = s.stride.load(Ordering::Relaxed);
            let guard = s.guard.load(Ordering::Relaxed);
            let off = (addr - base) % stride;
            if off < guard {
                let stack_lo = addr - off;
                return Some(GuardHit {
                    stack_lo,
                    stack_hi: stack_lo + stride,
                    guard,
                });
            }
        }
        None
    }
}
