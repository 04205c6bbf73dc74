//! The unsafe floor of part 2: memory mappings, futexes, process identities and the
//! segment janitor.
//!
//! Everything above this module (`shm`, `sync`, `queue`) is safe code over three small
//! contracts:
//!
//! * [`region::Shared`] hands out a `&H` for a header `H` made only of atomics that lives at
//!   the start of a `MAP_SHARED` mapping (an anonymous `memfd`, or a named POSIX segment);
//! * [`futex`] waits on and wakes a 32-bit word in that mapping (shared futexes, so the
//!   wait works across processes);
//! * [`rawlock`] is a lock on one such word that stores its owner's id, so a waiter can
//!   notice that the owner died and take the lock over instead of hanging.

pub(crate) mod futex;
pub(crate) mod ident;
pub(crate) mod janitor;
pub(crate) mod rawlock;
pub(crate) mod region;
