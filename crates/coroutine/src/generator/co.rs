//! The generator's side of the conversation: `yield`.

use std::any::Any;
use std::cell::Cell;
use std::fmt;
use std::panic;

use corosensei::Yielder;

/// What the resumer hands the generator.
pub(crate) enum Input<S> {
    /// First resume of a fresh generator (`next(gen)` on a new generator).
    Start,
    /// A value for the paused `yield_` (`gen.send(v)`, or `S::default()` for `next`).
    Value(S),
    /// `gen.throw(e)`: raise `e` at the paused `yield_`. The value itself travels
    /// beside the switch, in [`THROWN`]: keeping `Input` two words small lets it pass in
    /// registers (a 24-byte `Input` made every resume stall on store forwarding).
    Throw,
}

thread_local! {
    /// The value being thrown into a generator: set by `Generator::throw` right before
    /// it resumes the generator, taken by the resumed `yield_` right after.
    static THROWN: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
}

/// Stores the value `throw` is about to deliver.
pub(crate) fn put_thrown(e: Box<dyn Any + Send>) {
    THROWN.with(|t| t.set(Some(e)));
}

/// Takes the value delivered with [`Input::Throw`].
pub(crate) fn take_thrown() -> Box<dyn Any + Send> {
    THROWN
        .with(|t| t.take())
        .expect("Input::Throw comes with a thrown value")
}

/// Panic payload carrying a thrown value through the generator's stack; caught at the
/// generator's root and handed back to `throw`'s caller. Never seen by the panic hook
/// (it travels with `resume_unwind`).
pub(crate) struct ThrowSignal(pub(crate) Box<dyn Any + Send>);

/// `Input::Throw` at a plain `yield_`: unwind the generator with the thrown value.
#[cold]
#[inline(never)]
fn thrown_at_yield<S>(input: Input<S>) -> S {
    match input {
        Input::Value(s) => s,
        Input::Throw => panic::resume_unwind(Box::new(ThrowSignal(take_thrown()))),
        Input::Start => unreachable!("a started generator is never started again"),
    }
}

/// Handle a generator body gets to yield values (Python's `yield` expression).
///
/// `co.yield_(v)` suspends the generator, hands `v` to whoever resumed it, and returns
/// what the next [`send`](crate::Generator::send) passes in (`S::default()` when the
/// generator is driven as an iterator). It borrows the generator's stack, so it cannot
/// escape the body, and it is neither `Send` nor `Sync`.
pub struct Co<'a, Y, S = ()> {
    pub(crate) yielder: &'a Yielder<Input<S>, Y>,
}

impl<Y, S> Co<'_, Y, S> {
    /// Python's `x = yield value`: suspends until resumed, then returns the sent value.
    ///
    /// If the resumer calls [`throw`](crate::Generator::throw) instead, the thrown value
    /// unwinds the generator from here (its destructors run) and goes back to the
    /// thrower, as an uncaught exception does in Python. Use
    /// [`try_yield`](Co::try_yield) to catch it.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::Generator;
    ///
    /// // Python: def countdown(n): while n > 0: yield n; n -= 1
    /// let g = Generator::<i32>::new(|co| {
    ///     for n in (1..=3).rev() {
    ///         co.yield_(n);
    ///     }
    /// });
    /// assert_eq!(g.collect::<Vec<_>>(), [3, 2, 1]);
    /// ```
    #[inline]
    pub fn yield_(&self, value: Y) -> S {
        match self.yielder.suspend(value) {
            Input::Value(s) => s,
            // Out of line: the common case is one compare, not a jump table.
            other => thrown_at_yield(other),
        }
    }

    /// `try: x = yield value / except E: ...`: like [`yield_`](Co::yield_), but a value
    /// thrown in with [`throw`](crate::Generator::throw) comes back as `Err` and the
    /// generator keeps running.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::{Generator, GeneratorState};
    ///
    /// let mut g = Generator::<&str, &str, ()>::new(|co| match co.try_yield("waiting") {
    ///     Ok(()) => "sent",
    ///     Err(thrown) => *thrown.downcast::<&str>().unwrap(),
    /// });
    /// assert!(matches!(g.start(), Ok(GeneratorState::Yielded("waiting"))));
    /// assert!(matches!(g.throw("stop"), Ok(GeneratorState::Complete("stop"))));
    /// ```
    pub fn try_yield(&self, value: Y) -> Result<S, Thrown> {
        match self.yielder.suspend(value) {
            Input::Value(s) => Ok(s),
            Input::Throw => Err(Thrown(take_thrown())),
            Input::Start => unreachable!("a started generator is never started again"),
        }
    }
}

impl<Y, S> fmt::Debug for Co<'_, Y, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Co").finish_non_exhaustive()
    }
}

/// A value thrown into a generator with [`Generator::throw`](crate::Generator::throw),
/// caught by [`Co::try_yield`].
pub struct Thrown(Box<dyn Any + Send>);

impl Thrown {
    /// The thrown value, if it has type `E`; otherwise `self` back.
    pub fn downcast<E: Any>(self) -> Result<Box<E>, Thrown> {
        self.0.downcast::<E>().map_err(Thrown)
    }

    /// True if the thrown value has type `E`.
    pub fn is<E: Any>(&self) -> bool {
        self.0.is::<E>()
    }

    /// Python's bare `raise` in an `except` block: lets the value go on unwinding the
    /// generator back to the thrower.
    pub fn rethrow(self) -> ! {
        panic::resume_unwind(Box::new(ThrowSignal(self.0)))
    }
}

impl fmt::Debug for Thrown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thrown").finish_non_exhaustive()
    }
}
