//! Cache prefetch hints for the memory the hub's next task will touch.
//!
//! A hub with many live tasks resumes each one after a thousand others ran: the task's
//! stack frames and its `Task` record have long left the cache, and on a virtual
//! machine a miss that also misses the TLB costs hundreds of nanoseconds. The hub
//! knows which task runs next (the front of the ready queue), so it asks the CPU to
//! fetch those lines while the current task runs. A hint never faults and never
//! changes what the program computes; on targets without one it does nothing.
//!
//! This module is one of the crate's `unsafe` boundaries: the x86_64 prefetch
//! intrinsic is an `unsafe fn` (it is tagged with the SSE target feature).

/// Bytes of a parked task's stack fetched below the address noted at its last switch
/// (the switch's own frame lies below it).
const BELOW: usize = 256;
/// Bytes fetched above it: the frames its resumption returns through, up to the
/// task's body (about 700 bytes for a task parked in a socket read).
const ABOVE: usize = 1024;
/// A cache line.
const LINE: usize = 64;

/// Hints that the cache lines of `[addr, addr + len)` will be read soon.
#[inline]
pub(crate) fn range(addr: usize, len: usize) {
    let first = addr & !(LINE - 1);
    let end = addr.saturating_add(len);
    for p in (first..end).step_by(LINE) {
        line(p);
    }
}

/// Hints the stack window of a task that parked with `sp` noted (0: never parked).
#[inline]
pub(crate) fn stack(sp: usize) {
    if sp != 0 {
        range(sp.saturating_sub(BELOW), BELOW + ABOVE);
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn line(addr: usize) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `prefetcht0` needs SSE, which every x86_64 CPU has (it is part of the
    // target's baseline); it is a hint that reads nothing into the program and never
    // faults, whatever the address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(addr as *const i8) };
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn line(_addr: usize) {}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn hints_on_any_address_never_fault() {
        range(0, 4096);
        range(usize::MAX - 100, 200);
        stack(0);
        stack(64);
        let local = [0u8; 256];
        range(local.as_ptr() as usize, local.len());
        stack(local.as_ptr() as usize);
    }
}
