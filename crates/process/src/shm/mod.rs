//! Shared memory: `Value`, `Array`, their lock-free `Raw` forms, and named
//! [`SharedMemory`] segments that unrelated processes attach to.
//!
//! # Where segments live, and why none leaks
//!
//! * `Value`, `Array`, every `sync` primitive and every queue live in an anonymous
//!   `memfd` segment. It has no name in `/dev/shm`: the kernel frees it with the last
//!   descriptor or mapping, so it cannot outlive the processes using it, whatever kills
//!   them. Children get it by inheritance (`fork`) or as a descriptor (handle passing).
//! * [`SharedMemory`] is Python's `shared_memory.SharedMemory`: a named POSIX segment
//!   (`/dev/shm/skein-<128 random bits>`, mode 0600, created with `O_EXCL`) that any
//!   process of the same user can attach to by name. Each process mapping it holds a
//!   shared `flock` on it; the last one to drop its handle unlinks the name, and nobody
//!   unlinks it while another process still maps it. If processes die without dropping
//!   their handles (SIGKILL), the creator's **janitor** — a tiny process that outlives
//!   the creator's process tree only to clean up — unlinks the name once every process
//!   that mapped it is gone (see `shared::janitor`).
//!
//! # Why not the `shared_memory` crate
//!
//! The design card names `shared_memory` (0.12). It creates 0600 segments with random
//! names, but its owner unlinks the name on drop even while other processes map it, and
//! it has no cleanup after a crash (shared_memory#105); it exposes no descriptor to hang a
//! `flock` on. `tests/shared_memory_crate.rs` shows both failures with ignored tests that
//! fail. So skein maps segments itself with `rustix` (maintained; `shm_open`, `memfd`,
//! `mmap`), in `shared::region` — about a hundred lines.

mod array;
mod error;
mod segment;
mod value;

pub use crate::shared::plain::Plain;
pub use array::{Array, ArrayGuard, RawArray};
pub use error::{IndexError, ShmError};
pub use segment::SharedMemory;
pub use value::{RawValue, Value, ValueGuard};
