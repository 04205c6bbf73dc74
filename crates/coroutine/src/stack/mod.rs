//! The stack pool: guard-paged, lazily committed, per-thread, reused stacks for every
//! coroutine of the crate (generators, greenlets, the hub's green tasks).
//!
//! **Unsafe boundary.** This module is one of the two places of the crate allowed to
//! use `unsafe` (the other is `greenlet/current.rs`): `mmap`/`madvise`/`mprotect`, the
//! `corosensei::stack::Stack` impl, and the SIGSEGV handler.
//!
//! # Crate-internal API (stable: the hub builds on it)
//!
//! ```text
//! stack::acquire(size: usize) -> Result<PooledStack, StackError>
//!     A stack with at least `size` usable bytes (rounded up to whole pages, at least
//!     corosensei's MIN_STACK_SIZE) above one guard page, from the calling thread's pool.
//! stack::DEFAULT_STACK_SIZE            256 KiB, what Generator/Greenlet use by default
//! PooledStack: corosensei::stack::Stack + !Send + Debug
//!     Dropping it returns it to the pool of the thread it came from (pages stay
//!     resident for the next coroutine; past 4096 idle stacks per size the coldest are
//!     discarded down to 1024 with batched MADV_DONTNEED).
//! stack::stats() -> PoolStats { live, free }      this thread's figures
//! stack::trim(keep: usize)                         give idle stacks' pages back
//! stack::guard_kind() -> GuardKind { Marker, Mprotect }
//! stack::map_count() / max_map_count()             /proc figures, for tests and docs
//! ```
//!
//! # How stacks are made
//!
//! Stacks are carved from regions of address space reserved with one `mmap(MAP_NORESERVE
//! | MAP_STACK)` each (16 stacks in the first region of a size, doubling up to 8192), with
//! transparent huge pages turned off so a touched page costs 4 KiB, not 2 MiB. Only
//! touched pages become resident: an idle coroutine costs the pages its deepest call
//! touched. Each stack has a guard page at its low end, installed when the stack is
//! first handed out:
//! - on Linux 6.13 and later with `madvise(MADV_GUARD_INSTALL)`, which adds **no**
//!   memory mapping, so `vm.max_map_count` does not cap the number of live coroutines;
//! - elsewhere (or with the environment variable `SKEIN_STACK_GUARD=mprotect`) with
//!   `mprotect(PROT_NONE)`, which splits the region: two mappings per live stack, so
//!   Linux's default `vm.max_map_count` of 65,530 caps a process near 32,000 live stacks.
//!   Reaching the cap is [`StackError::MapCountLimit`] at creation, whose message says
//!   how to raise it.
//!
//! A stack overflow runs into the guard page; the SIGSEGV handler (on an alternate
//! signal stack) recognises the address as a coroutine guard page, prints
//! `stack overflow in coroutine: ...` with the stack's range, and aborts — never memory
//! corruption. Rust's stack probes make every frame larger than a page touch the guard
//! before anything below it.
//!
//! [`StackError::MapCountLimit`]: crate::StackError::MapCountLimit

mod overflow;
mod pool;
mod region;

#[allow(unused_imports)]
pub(crate) use pool::{PoolStats, PooledStack, acquire, stats, trim};
#[allow(unused_imports)]
pub(crate) use region::{GuardKind, guard_kind, map_count, max_map_count, page_size};

/// Usable bytes of a coroutine stack unless a builder asks for another size (256 KiB;
/// only the pages a coroutine touches become resident).
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

#[cfg(test)]
mod test;
