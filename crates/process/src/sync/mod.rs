//! Process-shared synchronisation: `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore`,
//! `Event`, `Condition`, `Barrier` — Python's `multiprocessing` versions, with the API of
//! `threading` (and skein-locks): `acquire`, `try_acquire`, `acquire_timeout`,
//! `acquire_deadline`, `release`, guards that release on drop.
//!
//! Each primitive is a few words in its own anonymous shared segment; a clone, or the
//! copy a child inherits, is the same primitive. Waiting sleeps on a futex on those
//! words (never a busy loop); the uncontended paths make no syscall.
//!
//! **Death of a participant.** A `Lock`/`RLock` whose owner process (or, for `RLock`,
//! thread) dies holding it is taken over by the next acquirer, which gets
//! [`OwnerDied`] — the lock *is* acquired, but what it protected may be half-updated.
//! A `Barrier` whose waiting participant dies breaks for the others. Semaphores have no
//! owner (any process may release), so a holder's death cannot be told apart from a
//! holder that is slow; this is Python's semantics too.

mod barrier;
mod condition;
mod error;
mod event;
mod lock;
mod rlock;
mod semaphore;

pub use barrier::{Barrier, BarrierBuilder, Enrollment};
pub use condition::Condition;
pub use error::{BrokenBarrierError, ConditionError, OwnerDied, ReleaseError};
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore};
