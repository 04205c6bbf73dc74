//! Where green tasks get their stacks: the one place that names the stack type.
//!
//! A task takes a stack when it first runs (not at `spawn`), and gives it back when it
//! ends, so 100,000 tasks that each run to completion share a handful of stacks.

use std::io;

use corosensei::stack::DefaultStack;

/// The stack type every green task runs on.
pub(crate) type TaskStack = DefaultStack;

/// Usable bytes of one green task's stack (untouched pages cost no memory).
pub(crate) const STACK_SIZE: usize = 256 * 1024;

/// Stacks this many or fewer are kept for reuse after their task ends.
const KEEP: usize = 64;

/// A per-hub free list of stacks.
#[derive(Default)]
pub(crate) struct StackCache {
    free: Vec<TaskStack>,
}

impl StackCache {
    /// A stack for a task about to start: a reused one, or a fresh mapping.
    pub(crate) fn take(&mut self) -> io::Result<TaskStack> {
        match self.free.pop() {
            Some(stack) => Ok(stack),
            None => DefaultStack::new(STACK_SIZE),
        }
    }

    /// A stack whose task has ended.
    pub(crate) fn give(&mut self, stack: TaskStack) {
        if self.free.len() < KEEP {
            self.free.push(stack);
        }
    }
}
