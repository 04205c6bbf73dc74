//! The one `unsafe` of the greenlet module: suspending the running greenlet through the
//! raw pointer to its corosensei `Yielder` (the `Yielder` lives on the greenlet's own
//! stack and is only reachable from code running there; greenlet's `switch` is called
//! from arbitrary depth, so the pointer is kept in the greenlet's node).

use std::marker::PhantomData;

use super::node::{GreenYielder, Message, Node, Request};

/// Records the running greenlet's yielder; called at the start of its coroutine.
pub(crate) fn set_yielder(n: &Node, y: &GreenYielder) {
    n.yielder.set(y as *const GreenYielder);
}

/// Proof that the code running now is the running non-root greenlet's own code, on its
/// own stack: what [`suspend`] needs. Made by [`on_own_stack`], used at once.
pub(crate) struct OnOwnStack {
    yielder: *const GreenYielder,
    /// Not to be kept or sent anywhere.
    marker: PhantomData<*const ()>,
}

/// Checks that the caller runs on the stack of `cur`, the running non-root greenlet.
///
/// # Panics
///
/// If it does not — a generator (or hub task) running inside the greenlet called
/// `switch`: suspending `cur` from there would strand that coroutine's frames, so it is
/// refused.
pub(crate) fn on_own_stack(cur: &Node) -> OnOwnStack {
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    let (lo, hi) = cur.stack;
    assert!(
        sp >= lo && sp < hi,
        "greenlet switch from inside another coroutine (a generator or green task running \
         in this greenlet): switch from the greenlet's own code"
    );
    let yielder = cur.yielder.get();
    assert!(!yielder.is_null(), "a running greenlet has a yielder");
    OnOwnStack {
        yielder,
        marker: PhantomData,
    }
}

/// Suspends the running non-root greenlet (checked by `token`) with `req`; returns the
/// message it is resumed with. No strong handle to the greenlet stays on its own stack
/// meanwhile (it would keep the greenlet and its stack alive forever): the caller holds
/// none, and the trampoline holds the node while it runs.
pub(crate) fn suspend(token: OnOwnStack, req: Request) -> Message {
    // SAFETY: `token.yielder` was set by `set_yielder` at the start of the running
    // greenlet's coroutine and points to corosensei's Yielder on that greenlet's stack,
    // which lives as long as the coroutine. `on_own_stack` checked that we run on that
    // stack, so the coroutine is alive and is the one executing (the token is used right
    // after the check, before any switch): suspending it through its own Yielder is
    // corosensei's normal use.
    let yielder: &GreenYielder = unsafe { &*token.yielder };
    yielder.suspend(req)
}
