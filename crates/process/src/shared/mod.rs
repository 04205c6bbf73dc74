//! The unsafe floor of part 2: memory mappings, futexes, process identities and the
//! segment janitor.
//!
//! Everything above this module (`shm`, `sync`, `queue`) is safe code over a few small
//! contracts (the one `unsafe` left above it is `SharedMemory::as_slice`/`as_mut_slice`,
//! public `unsafe fn`s whose contract is the caller's):
//!
//! * [`region::Shared`] hands out a `&H` for a header `H` made only of atomics that lives at
//!   the start of a `MAP_SHARED` mapping (an anonymous `memfd`, or a named POSIX segment);
//!   headers are declared with [`region::atomic_header!`], which checks that every field
//!   is one. Its data area is reached through bounds-checked volatile loads and stores of
//!   [`plain::Plain`] values, byte copies, and [`region::Guarded`] — a `[T]` borrowed
//!   while holding the lock that guards it (the `Value`/`Array` guards);
//! * [`futex`] waits on and wakes a 32-bit word in that mapping (shared futexes, so the
//!   wait works across processes);
//! * [`rawlock`] is a lock on one such word that stores its owner's identity, so a waiter
//!   can notice that the owner died and take the lock over instead of hanging;
//! * [`ident`] names processes and threads by id *and* start time, so that a recycled
//!   pid is not mistaken for a dead owner.

pub(crate) mod futex;
pub(crate) mod ident;
pub(crate) mod janitor;
pub(crate) mod plain;
pub(crate) mod rawlock;
pub(crate) mod region;
