//! Where green tasks get their stacks: the one place that names the stack type.
//!
//! A task takes a stack from the thread's stack pool ([`crate::stack`]: guard-paged,
//! `MAP_NORESERVE`, reused) when it first runs — not at `spawn` — and the stack goes back
//! to the pool when the task's coroutine is dropped, so 100,000 tasks that each run to
//! completion share a handful of warm stacks. [`Builder::try_spawn`](super::Builder::try_spawn)
//! takes it at spawn instead, to report the map-count cap there.

use crate::error::StackError;
use crate::stack::{self, PooledStack};

/// The stack type every green task runs on.
pub(crate) type TaskStack = PooledStack;

/// A stack for a green task (256 KiB usable; untouched pages cost no memory).
pub(crate) fn take() -> Result<TaskStack, StackError> {
    stack::acquire(stack::DEFAULT_STACK_SIZE)
}
