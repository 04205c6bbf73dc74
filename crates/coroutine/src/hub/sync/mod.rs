//! Green synchronisation: gevent's `Event`, `AsyncResult`, `Lock`, `Semaphore`,
//! `BoundedSemaphore`, `Queue`, `LifoQueue`, `PriorityQueue` and `Channel`. They park green tasks (never the thread)
//! and belong to one hub: their handles are `Clone` and `!Send`.

mod async_result;
mod channel;
mod event;
mod lock;
mod order;
mod queue;
mod semaphore;
mod waitlist;

pub use async_result::AsyncResult;
pub use channel::Channel;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use order::{Fifo, Lifo, Order, Priority};
pub use queue::{
    LifoQueue, PriorityQueue, PutTimeoutError, Queue, ShutDown, TaskDoneError, TryPutError,
};
pub use semaphore::{ReleaseError, Semaphore, SemaphoreGuard};
