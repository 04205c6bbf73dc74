//! Where green tasks get their stacks: the one place that names the stack type.
//!
//! A task takes a stack from the thread's stack pool ([`crate::stack`]: guard-paged,
//! `MAP_NORESERVE`, reused) when it first runs — not at `spawn` — so 100,000 tasks that
//! each run to completion share a handful of warm stacks.
//! [`Builder::try_spawn`](super::Builder::try_spawn) takes it at spawn instead, to report
//! the map-count cap there.
//!
//! The hub keeps the stacks of finished tasks itself, up to [`KEEP`], before giving
//! them back to the pool: the pool trims its idle stacks (their pages go back to the
//! OS) past a few thousand, and a hub whose bursts run ten thousand tasks at once would
//! otherwise fault every stack's pages in again on each burst (that doubled the time of
//! 10k tasks sleeping 10 ms).

use crate::error::StackError;
use crate::stack::{self, PooledStack};

/// The stack type every green task runs on.
pub(crate) type TaskStack = PooledStack;

/// Warm stacks a hub keeps for its next tasks (each costs the pages its last task
/// touched, typically one or two).
pub(crate) const KEEP: usize = 16_384;

/// The hub's warm stacks.
#[derive(Default)]
pub(crate) struct StackCache {
    free: Vec<TaskStack>,
}

impl StackCache {
    /// A stack for a task about to start (256 KiB usable; untouched pages cost nothing).
    pub(crate) fn take(&mut self) -> Result<TaskStack, StackError> {
        match self.free.pop() {
            Some(stack) => Ok(stack),
            None => stack::acquire(stack::DEFAULT_STACK_SIZE),
        }
    }

    /// The stack of a finished task: kept warm, or given back to the pool.
    pub(crate) fn give(&mut self, stack: TaskStack) {
        if self.free.len() < KEEP {
            self.free.push(stack);
        }
    }
}
