//! The start layer: everything that makes a child process and runs it.
//!
//! ```text
//! handle layer   Process, ProcessHandle, Context      (process.rs, context.rs, …)
//!      │ calls start(spec) → Arc<Record>
//! start layer    mod.rs      Spec: what to start; dispatch on the method
//!                method.rs   StartMethod
//!                payload.rs  what a child runs (Run, fn targets, closures)
//!                fork.rs / spawn.rs / forkserver.rs   the three start methods
//!                boot.rs     the bootstrap message of a Spawn/Forkserver child
//!                init.rs     init(), test_support!(): a fresh exec learns its role
//!                child.rs    the child's side: who am I, fork-safe reset, run-and-exit
//!                record.rs   the parent's record of a child: wait and signal
//!                registry.rs unreaped children, exit-time join/terminate
//!      │
//! sys layer      sys/        every system call (the unsafe boundary)
//! ```
//!
//! Nothing here imports from the handle layer: a start path takes a [`Spec`] and
//! gives back the child's [`Record`] or the cause of failure with the `Spec`, which
//! the handle layer wraps into `ProcessHandle` or `StartError`.

use std::path::PathBuf;
use std::sync::Arc;

pub(crate) mod boot;
pub(crate) mod child;
pub(crate) mod fork;
pub(crate) mod forkserver;
pub(crate) mod init;
pub(crate) mod method;
pub(crate) mod payload;
pub(crate) mod record;
pub(crate) mod registry;
pub(crate) mod spawn;

pub(crate) use method::StartMethod;
pub(crate) use payload::Payload;
pub(crate) use record::Record;

use crate::error::StartCause;

/// What to start: the target with its arguments, and the settings of `Process`.
pub(crate) struct Spec {
    pub(crate) name: Option<String>,
    pub(crate) daemon: bool,
    pub(crate) method: StartMethod,
    pub(crate) executable: Option<PathBuf>,
    pub(crate) payload: Payload,
}

/// A failed start: why, and the unstarted spec (nothing is lost).
pub(crate) type Failed = (StartCause, Spec);

/// Starts `spec` with its start method.
pub(crate) fn start(spec: Spec) -> Result<Arc<Record>, Failed> {
    registry::prune();
    match spec.method {
        StartMethod::Fork => fork::start(spec),
        StartMethod::Spawn => spawn::start(spec),
        StartMethod::Forkserver => forkserver::start(spec),
    }
}
