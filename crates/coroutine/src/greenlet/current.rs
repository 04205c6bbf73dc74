//! The one `unsafe` of the greenlet module: suspending the running greenlet through the
//! raw pointer to its corosensei `Yielder` (the `Yielder` lives on the greenlet's own
//! stack and is only reachable from code running there; greenlet's `switch` is called
//! from arbitrary depth, so the pointer is kept in the greenlet's node).

use std::rc::Rc;

use super::node::{GreenYielder, Message, Node, Request};

/// Records the running greenlet's yielder; called at the start of its coroutine.
pub(crate) fn set_yielder(n: &Node, y: &GreenYielder) {
    n.yielder.set(y as *const GreenYielder);
}

/// Suspends the running non-root greenlet `cur` (consumed: no handle to it stays on its
/// own stack) with `req`; returns the message it is
/// resumed with.
///
/// # Panics
///
/// If the caller is not running on `cur`'s stack — a generator (or hub task) running
/// inside the greenlet called `switch`: suspending `cur` from there would strand that
/// coroutine's frames, so it is refused.
pub(crate) fn suspend(cur: Rc<Node>, req: Request) -> Message {
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    let (lo, hi) = cur.stack;
    assert!(
        sp >= lo && sp < hi,
        "greenlet switch from inside another coroutine (a generator or green task running \
         in this greenlet): switch from the greenlet's own code"
    );
    let y = cur.yielder.get();
    assert!(!y.is_null(), "a running greenlet has a yielder");
    // No strong handle to ourselves may stay on our own stack while suspended: it would
    // keep the greenlet (and its stack) alive forever.
    drop(cur);
    // SAFETY: `y` was set by `set_yielder` at the start of `cur`'s coroutine and points
    // to corosensei's Yielder on `cur`'s stack, which lives as long as the coroutine. We
    // checked that we run on `cur`'s stack, so `cur`'s coroutine is alive and is the one
    // executing: suspending it through its own Yielder is corosensei's normal use.
    let yielder: &GreenYielder = unsafe { &*y };
    yielder.suspend(req)
}
