//! Python's `multiprocessing` for Rust (chapter 5).
#![deny(missing_docs)]

// ==== part 2 (issue 7): shared memory, process-shared synchronisation, queues ====
pub mod queue;
mod shared;
pub mod shm;
pub mod sync;

pub use queue::{
    CodecError, GetError, GetTimeoutError, JoinableQueue, PutError, PutTimeoutError, Queue,
    SimpleQueue, TaskDoneError, TryGetError, TryPutError,
};
pub use shm::{
    Array, ArrayGuard, IndexError, Plain, RawArray, RawValue, SharedMemory, ShmError, Value,
    ValueGuard,
};
pub use sync::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, ConditionError, Event, Lock,
    LockGuard, OwnerDied, RLock, RLockGuard, ReleaseError, Semaphore,
};
// ==== end of part 2 ====
