//! One of the crate's two `unsafe` modules (with `cell`): a write-once outcome slot driven
//! by one atomic phase word ([`Outcome`]). A future's state (`future.rs`) keeps its outcome
//! here; the thread-pool task cell (`cell.rs`) drives it through the owned path.
//!
//! The phase word replaces a `OnceLock` (two read-modify-writes to set), a separate phase
//! byte (two more) and an `AtomicCell` around the closure (one more): a task that runs
//! costs one compare-and-swap to start and one `fetch_add` to publish its result.
//!
//! * `PENDING → RUNNING → COMPLETING → FINISHED`: the shared path (promises). Whoever
//!   wins the compare-and-swap into `COMPLETING` owns the slot, writes it, and publishes
//!   it with a release read-modify-write to `FINISHED`.
//! * `PENDING → OWNED → FINISHED`: the owned path, private to the task cell's `run`. The thread
//!   that wins `PENDING → OWNED` is the only one that ever leaves `OWNED` (no other
//!   transition starts from it), so it writes the slot with no further compare-and-swap.
//!   The same win is what lets it move the closure out, exactly once.
//! * `PENDING → CANCELLING → CANCELLED`: cancel, the slot written like a completion.
//! * `TAKEN`: the value was moved out, through `&mut`, or through `&self` by the one
//!   handle that may (`take_shared`: `Future::into_result` once no done-callback can
//!   read the value any more); nothing left to drop.
//! * Flags beside the phase: `HOOKED` (the completer must fire hooks) and `CLAIMED` (the
//!   closure of a task cell was taken: set in the same compare-and-swap that starts the
//!   runner, or by one `fetch_or` once the task can no longer start, to drop it unrun).
//!   Transitions keep the flags: publication adds the difference between two phases
//!   instead of storing a new word.
//!
//! The value is read (by shared reference, by any number of threads) only after an
//! acquire load saw `FINISHED` or `CANCELLED`, which pairs with the writer's release
//! publication; after that nothing writes it again until `&mut` access.
//!
//! Model check: `RUSTFLAGS="--cfg loom" cargo test -p skein-pool --lib --release loom`.
#![deny(unsafe_op_in_unsafe_fn)]

use std::mem::MaybeUninit;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
use loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) const PENDING: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const OWNED: u8 = 2;
pub(crate) const COMPLETING: u8 = 3;
pub(crate) const CANCELLING: u8 = 4;
pub(crate) const FINISHED: u8 = 5;
pub(crate) const CANCELLED: u8 = 6;
pub(crate) const TAKEN: u8 = 7;
pub(crate) const MASK: u8 = 0b111;
/// Set once a callback, a waiter or a blocked reader registered: the completer must take
/// the hooks lock.
pub(crate) const HOOKED: u8 = 0b1000;
/// Set by whoever took the task's closure out of its cell (the runner, in the same
/// compare-and-swap that starts it, or one thread that drops an unrun closure).
pub(crate) const CLAIMED: u8 = 0b1_0000;

/// `std::cell::UnsafeCell` with loom's closure-based access API.
#[cfg(not(loom))]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// What [`Outcome::cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// Cancelled now; `true` if hooks must be fired.
    Now(bool),
    /// It was already cancelled (or being cancelled).
    Already,
    /// It is running or done: not cancelled.
    Refused,
}

/// A write-once slot and its phase word (see the module docs).
pub(crate) struct Outcome<R> {
    phase: AtomicU8,
    value: UnsafeCell<MaybeUninit<R>>,
}

// SAFETY: the value is written by exactly one thread (the winner of the transition into
// `COMPLETING`, `OWNED` or `CANCELLING`) before a release store, and only read through
// `&self` after an acquire load of `FINISHED`/`CANCELLED`; so sharing needs `R: Sync` for
// the readers and `R: Send` because the writer's value is dropped by another thread.
unsafe impl<R: Send + Sync> Sync for Outcome<R> {}
// SAFETY: owning an `Outcome` owns at most one `R`.
unsafe impl<R: Send> Send for Outcome<R> {}

impl<R> Outcome<R> {
    pub(crate) fn new() -> Outcome<R> {
        Outcome {
            phase: AtomicU8::new(PENDING),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The phase without the `HOOKED` bit.
    pub(crate) fn phase(&self) -> u8 {
        self.phase.load(Ordering::Acquire) & MASK
    }

    /// The whole phase word, `HOOKED` included.
    #[cfg(test)]
    pub(crate) fn phase_word(&self) -> u8 {
        self.phase.load(Ordering::Acquire)
    }

    fn is_done_phase(phase: u8) -> bool {
        matches!(phase & MASK, FINISHED | CANCELLED)
    }

    /// Sets `HOOKED`; returns whether the outcome is already published.
    pub(crate) fn hook_in(&self) -> bool {
        Self::is_done_phase(self.phase.fetch_or(HOOKED, Ordering::AcqRel))
    }

    /// The value, once published.
    pub(crate) fn get(&self) -> Option<&R> {
        if !Self::is_done_phase(self.phase.load(Ordering::Acquire)) {
            return None;
        }
        // SAFETY: the acquire load saw `FINISHED`/`CANCELLED`, stored (release) after the
        // one write of the value; nothing writes it again while `&self` lives.
        Some(self.value.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// Moves the value out through `&self` (leaving `TAKEN`), if it was published and not
    /// taken yet.
    ///
    /// # Safety
    ///
    /// No reference returned by [`get`](Outcome::get) is alive, and none is asked for by
    /// another thread from now on (after this call `get` returns `None` anyway, but a
    /// reader that loaded the phase before it could still be reading).
    pub(crate) unsafe fn take_shared(&self) -> Option<R> {
        self.phase
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |phase| {
                Self::is_done_phase(phase).then_some(TAKEN)
            })
            .ok()?;
        // SAFETY: the acquire read-modify-write saw the value published; it moved the
        // phase to `TAKEN`, so only this call reads the value out (neither `take`, `get`
        // nor `drop` touches it after), and no reader is left (the caller's contract).
        Some(self.value.with_mut(|p| unsafe { (*p).assume_init_read() }))
    }

    /// Python's `set_running_or_notify_cancel` for the shared path: `PENDING → RUNNING`.
    pub(crate) fn set_running(&self) -> bool {
        self.leave_pending(RUNNING)
    }

    /// Moves `PENDING` (keeping `HOOKED`) to `next`; `true` if this call did it.
    fn leave_pending(&self, next: u8) -> bool {
        self.advance(|phase| phase == PENDING, next).is_ok()
    }

    /// Moves the phase to `next`, keeping the flags, if `allowed` accepts the phase found
    /// (re-checked after every failed compare-and-swap); otherwise returns that phase.
    #[inline]
    fn advance(&self, allowed: impl Fn(u8) -> bool, next: u8) -> Result<(), u8> {
        let mut phase = self.phase.load(Ordering::Relaxed);
        loop {
            if !allowed(phase & MASK) {
                return Err(phase & MASK);
            }
            match self.phase.compare_exchange_weak(
                phase,
                (phase & !MASK) | next,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => phase = now,
            }
        }
    }

    /// Writes the value and publishes it as `done`; returns whether `HOOKED` was set.
    ///
    /// # Safety
    ///
    /// The caller won the transition into `COMPLETING`, `OWNED` or `CANCELLING` and has
    /// not published yet: it is the only thread touching the value.
    ///
    /// `from` is the phase the caller moved into (only it can change the phase bits now,
    /// others only set flags), so adding `done - from` publishes and keeps the flags.
    unsafe fn publish(&self, value: R, from: u8, done: u8) -> bool {
        debug_assert!(matches!(from, COMPLETING | OWNED | CANCELLING) && done > from);
        debug_assert_eq!(self.phase.load(Ordering::Relaxed) & MASK, from);
        // SAFETY: the caller owns the unpublished slot (see above); it was never written.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        let before = self.phase.fetch_add(done - from, Ordering::AcqRel);
        debug_assert_eq!(before & MASK, from);
        before & HOOKED != 0
    }

    /// Completes a pending or (shared-path) running outcome with `value`; `Ok(hooked)`, or
    /// the value back if it was already completed, cancelled or is owned by a runner.
    pub(crate) fn complete(&self, value: R) -> Result<bool, R> {
        if self
            .advance(|phase| matches!(phase, PENDING | RUNNING), COMPLETING)
            .is_err()
        {
            return Err(value);
        }
        // SAFETY: this call moved the phase into `COMPLETING`; no transition leaves it but
        // our publish.
        Ok(unsafe { self.publish(value, COMPLETING, FINISHED) })
    }

    /// Cancels a pending outcome, storing `value()`.
    pub(crate) fn cancel(&self, value: impl FnOnce() -> R) -> Cancel {
        match self.advance(|phase| phase == PENDING, CANCELLING) {
            Ok(()) => {}
            Err(CANCELLING | CANCELLED) => return Cancel::Already,
            Err(_) => return Cancel::Refused,
        }
        // A panicking `value` would leave the phase at `CANCELLING` for good; the callers'
        // closures only box an error.
        let value = value();
        // SAFETY: this call moved the phase into `CANCELLING`; no transition leaves it but
        // our publish.
        Cancel::Now(unsafe { self.publish(value, CANCELLING, CANCELLED) })
    }

    /// The owned path: `PENDING → OWNED`. `true` makes the caller the only thread that may
    /// call [`finish_owned`](Outcome::finish_owned), once.
    /// The same compare-and-swap sets `CLAIMED`: the winner takes the closure.
    pub(crate) fn start_owned(&self) -> bool {
        self.leave_pending(OWNED | CLAIMED)
    }

    /// Claims the closure of a task that can no longer start (not pending any more);
    /// `true` for exactly one caller, and never when a runner started it.
    pub(crate) fn claim_unrun(&self) -> bool {
        if self.phase.load(Ordering::Acquire) & MASK == PENDING {
            return false; // it may still start: the closure is the runner's
        }
        self.phase.fetch_or(CLAIMED, Ordering::AcqRel) & CLAIMED == 0
    }

    /// Publishes the runner's value; returns whether `HOOKED` was set.
    ///
    /// # Safety
    ///
    /// The caller's own `start_owned` returned `true` and it has not called this before.
    pub(crate) unsafe fn finish_owned(&self, value: R) -> bool {
        // SAFETY: `OWNED` is left only by this call, made once by the winner of
        // `start_owned`, so the slot is ours (the caller's contract).
        unsafe { self.publish(value, OWNED, FINISHED) }
    }
}

impl<R> Drop for Outcome<R> {
    fn drop(&mut self) {
        if Self::is_done_phase(self.phase.load(Ordering::Acquire)) {
            // SAFETY: published and never taken (`take_shared` leaves `TAKEN`); `&mut self`.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// The owned path against a cancel and a reader: exactly one of run and cancel wins,
    /// and the reader sees either nothing or the winner's value.
    #[test]
    fn loom_owned_run_races_cancel() {
        loom::model(|| {
            let outcome = Arc::new(Outcome::<Box<u32>>::new());
            let runner = {
                let outcome = outcome.clone();
                thread::spawn(move || {
                    if outcome.start_owned() {
                        // SAFETY: won `start_owned` just above; called once.
                        unsafe { outcome.finish_owned(Box::new(1)) };
                        true
                    } else {
                        false
                    }
                })
            };
            let canceller = {
                let outcome = outcome.clone();
                thread::spawn(move || matches!(outcome.cancel(|| Box::new(2)), Cancel::Now(_)))
            };
            if let Some(v) = outcome.get() {
                assert!(**v == 1 || **v == 2);
            }
            let ran = runner.join().unwrap();
            let cancelled = canceller.join().unwrap();
            assert!(ran ^ cancelled, "exactly one of run and cancel wins");
            let v = **outcome.get().unwrap();
            assert_eq!(v, if ran { 1 } else { 2 });
        });
    }

    /// The shared path: set_running + complete, a second completer, and a cancel race;
    /// the slot is written once, `HOOKED` set before publication is reported.
    #[test]
    fn loom_shared_completers_and_hooks() {
        loom::model(|| {
            let outcome = Arc::new(Outcome::<Box<u32>>::new());
            let a = {
                let outcome = outcome.clone();
                thread::spawn(move || {
                    outcome.set_running();
                    outcome.complete(Box::new(1)).ok()
                })
            };
            let b = {
                let outcome = outcome.clone();
                thread::spawn(move || outcome.complete(Box::new(2)).ok())
            };
            let hooked_before_done = !outcome.hook_in();
            let a = a.join().unwrap();
            let b = b.join().unwrap();
            assert!(a.is_some() ^ b.is_some(), "exactly one completer wins");
            let fired = a.or(b).unwrap();
            if hooked_before_done {
                assert!(fired, "a hook registered before publication is fired");
            }
            let v = **outcome.get().unwrap();
            assert_eq!(v, if a.is_some() { 1 } else { 2 });
            assert_eq!(outcome.cancel(|| Box::new(3)), Cancel::Refused);
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn owned_path_publishes_once_and_keeps_flags() {
        let outcome = Outcome::<String>::new();
        assert!(!outcome.hook_in());
        assert!(outcome.start_owned());
        assert!(!outcome.start_owned(), "a cell starts once");
        assert!(!outcome.set_running());
        assert_eq!(outcome.phase(), OWNED);
        assert_eq!(outcome.cancel(String::new), Cancel::Refused);
        assert!(
            outcome.complete(String::from("no")).is_err(),
            "owned: runner only"
        );
        // SAFETY: `start_owned` above won; called once.
        let hooked = unsafe { outcome.finish_owned(String::from("yes")) };
        assert!(hooked, "hook reported");
        assert_eq!(outcome.get().map(String::as_str), Some("yes"));
        assert_eq!(outcome.phase_word(), FINISHED | HOOKED | CLAIMED);
        assert!(!outcome.claim_unrun(), "the runner holds the claim");
    }

    #[test]
    fn cancel_then_claim_once_and_take() {
        let outcome = Outcome::<Box<u8>>::new();
        assert!(!outcome.claim_unrun(), "a pending task keeps its closure");
        assert_eq!(outcome.cancel(|| Box::new(1)), Cancel::Now(false));
        assert_eq!(outcome.cancel(|| Box::new(2)), Cancel::Already);
        assert!(!outcome.start_owned());
        assert!(outcome.claim_unrun());
        assert!(!outcome.claim_unrun());
        // SAFETY: no reader.
        assert_eq!(unsafe { outcome.take_shared() }.as_deref(), Some(&1));
        assert_eq!(outcome.phase(), TAKEN);
        // SAFETY: as above.
        assert!(unsafe { outcome.take_shared() }.is_none());
    }
}
