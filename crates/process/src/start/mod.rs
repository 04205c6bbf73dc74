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
use std::time::Duration;

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
    /// How long a start waits for a child's or the forkserver's answer.
    pub(crate) start_timeout: Duration,
    pub(crate) payload: Payload,
}

/// The default of `Context::with_start_timeout`: long enough for an exec on a
/// loaded machine, short enough that a silent executable is an error, not a hang.
pub(crate) const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed start: why, and the unstarted spec (nothing is lost). Boxed: the error
/// path is cold, and the `Ok` path should not move a large `Result`.
pub(crate) type Failed = Box<(StartCause, Spec)>;

/// Starts `spec` with its start method.
pub(crate) fn start(spec: Spec) -> Result<Arc<Record>, Failed> {
    registry::prune();
    match spec.method {
        StartMethod::Fork => fork::start(spec),
        StartMethod::Spawn => spawn::start(spec),
        StartMethod::Forkserver => forkserver::start(spec),
    }
}
