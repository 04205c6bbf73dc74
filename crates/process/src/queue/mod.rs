//! Cross-process queues: [`Queue`], [`JoinableQueue`], [`SimpleQueue`] — Python's
//! `multiprocessing` queues with skein-queue's verbs and errors.
//!
//! Values are serialised with `postcard` **in the caller** (a value that cannot be
//! serialised fails at `put`, cpython#109554), then copied into a ring in shared memory
//! (no syscall per message while nobody sleeps; see `ring.rs`). Messages larger than the
//! ring stream through it in chunks, so there is no size limit to hit by accident; such a
//! `put` returns once a consumer has taken all but the last ring-full of it (so one thread
//! cannot `put` a message larger than the ring and then `get` it back itself: give the
//! queue a bigger ring with `with_capacity` for that). Every
//! queue is bounded — by bytes always (the ring), and by item count when built with
//! `bounded(maxsize)` — so a fast producer blocks instead of eating memory. A failed put
//! returns the value inside the error.

mod error;
mod fifo;
mod joinable;
mod ring;
mod simple;
mod tasks;

pub use error::{
    CodecError, GetError, GetTimeoutError, LostTasks, PutError, PutTimeoutError, TaskDoneError,
    TryGetError, TryPutError,
};
pub use fifo::Queue;
pub use joinable::JoinableQueue;
pub use simple::SimpleQueue;
pub use tasks::OnLostTasks;

#[doc(hidden)]
pub use ring::{GetPoint as __GetPoint, set_get_hook as __set_get_hook};

/// The default ring size in bytes (messages larger than a quarter of it are chunked).
pub const DEFAULT_RING_BYTES: usize = 256 * 1024;
