//! Python's generators as stackful coroutines: `yield` from any depth, `send`, `throw`,
//! `close`, and `Iterator` when nothing is sent.

mod co;
#[cfg(test)]
mod test;

use std::any::Any;
use std::fmt;
use std::iter::FusedIterator;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};

use corosensei::{Coroutine, CoroutineResult, Yielder};

pub use co::{Co, Thrown};
pub(crate) use co::{Input, ThrowSignal, put_thrown, take_thrown};

use crate::error::{SendError, StackError, StartError};
use crate::stack::{self, DEFAULT_STACK_SIZE, PooledStack};

/// What a resumed generator did: yielded a value, or returned (Python's
/// `StopIteration(value)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GeneratorState<Y, R> {
    /// The generator paused at `co.yield_(value)`.
    Yielded(Y),
    /// The generator's body returned this value; it is finished.
    Complete(R),
}

/// How the body finished.
enum Outcome<R> {
    Returned(R),
    Thrown(Box<dyn Any + Send>),
}

type Inner<Y, R, S> = Coroutine<Input<S>, Y, Outcome<R>, PooledStack>;

/// A generator: a function that pauses at each `co.yield_(v)` and resumes where it
/// stopped (Python's `def f(): ... yield v ...`).
///
/// The body runs on its own stack from the thread's [stack pool](crate::stack), so it can
/// yield from any call depth (Python needs `yield from` for that). `Y` is what it
/// yields, `R` what it returns (Python's `StopIteration.value`), `S` what
/// [`send`](Generator::send) passes in (the value of the `yield` expression).
///
/// A `Generator` with `S: Default` (e.g. `S = ()`) is an [`Iterator`] over its yielded
/// values; the return value is kept for [`return_value`](Generator::return_value).
///
/// # Soundness: why the body is `'static`
///
/// A suspended coroutine that borrows from its creator's stack frame must be dropped
/// (unwound) before that frame ends; `mem::forget` would skip that and leave a live
/// stack pointing into freed memory (corosensei#27). `Generator` therefore takes only
/// `'static` bodies (owned data, `Rc`, channels): forgetting one merely leaks its stack.
/// Borrowing generators would need a scope whose guard cannot be leaked, which costs an
/// extra closure level for every use; owned data is what Python's generators hold too.
///
/// # Threads
///
/// `Generator` is `!Send`: its stack belongs to the creating thread's pool and the code
/// on it may hold thread-local data (`Rc`, `RefCell`, thread-locals read mid-body).
///
/// # Examples
///
/// ```
/// use skein_coroutine::{Generator, GeneratorState};
///
/// // Python: def averager(): total, n, avg = 0, 0, None
/// //             while True: x = yield avg; total += x; n += 1; avg = total / n
/// let mut avg = Generator::<f64, (), f64>::new(|co| {
///     let (mut total, mut n) = (0.0, 0.0);
///     let mut x = co.yield_(f64::NAN);
///     loop {
///         total += x;
///         n += 1.0;
///         x = co.yield_(total / n);
///     }
/// });
/// avg.start().unwrap(); // Python: next(avg) primes it
/// assert_eq!(avg.send(10.0).unwrap(), GeneratorState::Yielded(10.0));
/// assert_eq!(avg.send(20.0).unwrap(), GeneratorState::Yielded(15.0));
/// avg.close(); // Python: avg.close()
/// ```
pub struct Generator<Y, R = (), S = ()> {
    phase: Phase<Inner<Y, R, S>>,
    ret: Option<R>,
}

/// Where a generator is in its life, with its coroutine while it has one.
///
/// Keeping the coroutine inside the variants makes a resume of a paused generator cost
/// one tag compare beside corosensei's own `resume` (whose "not done" check the
/// compiler shares with ours): no separate `Option` and `started` flags to test.
enum Phase<I> {
    /// Made, body not yet run.
    Created(I),
    /// Paused at a `yield_` — or done, if its body panicked out of the last resume
    /// (corosensei then marks the coroutine done; the next call drops it).
    Suspended(I),
    /// Returned, panicked, thrown out of or closed; its stack went back to the pool.
    Finished,
}

/// Configures a [`Generator`] before it is made (stack size).
///
/// # Examples
///
/// ```
/// use skein_coroutine::Generator;
///
/// let g = Generator::<i32>::builder()
///     .stack_size(1 << 20)
///     .build(|co| co.yield_(42))?;
/// assert_eq!(g.collect::<Vec<_>>(), [42]);
/// # Ok::<(), skein_coroutine::StackError>(())
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct GeneratorBuilder<Y, R = (), S = ()> {
    stack_size: usize,
    marker: PhantomData<fn(S) -> (Y, R)>,
}

impl<Y, R, S> fmt::Debug for GeneratorBuilder<Y, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratorBuilder")
            .field("stack_size", &self.stack_size)
            .finish()
    }
}

impl<Y: 'static, R: 'static, S: 'static> GeneratorBuilder<Y, R, S> {
    /// Usable bytes of the generator's stack (rounded up to whole pages); default
    /// [`DEFAULT_STACK_SIZE`](crate::stack::DEFAULT_STACK_SIZE). Only touched pages
    /// become resident; overflowing it is reported and aborts (never corruption).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Makes the generator; its body does not run until the first resume.
    ///
    /// # Errors
    ///
    /// [`StackError`] when no stack can be mapped (see its variants).
    pub fn build<F>(self, body: F) -> Result<Generator<Y, R, S>, StackError>
    where
        F: FnOnce(&Co<'_, Y, S>) -> R + 'static,
    {
        let stack = stack::acquire(self.stack_size)?;
        let inner =
            Coroutine::with_stack(stack, move |y: &Yielder<Input<S>, Y>, first: Input<S>| {
                if let Input::Throw = first {
                    // Python: throw() into a just-created generator raises before the body runs.
                    return Outcome::Thrown(take_thrown());
                }
                let co = Co { yielder: y };
                match panic::catch_unwind(AssertUnwindSafe(|| body(&co))) {
                    Ok(r) => Outcome::Returned(r),
                    Err(p) => match p.downcast::<ThrowSignal>() {
                        Ok(t) => Outcome::Thrown(t.0),
                        // A real panic (or corosensei's forced unwind): keep unwinding; the
                        // resumer re-raises it.
                        Err(p) => panic::resume_unwind(p),
                    },
                }
            });
        Ok(Generator {
            phase: Phase::Created(inner),
            ret: None,
        })
    }
}

impl<Y: 'static, R: 'static, S: 'static> Generator<Y, R, S> {
    /// Makes a generator running `body` (Python: calling a generator function). The body
    /// does not run until the first resume.
    ///
    /// # Panics
    ///
    /// If no stack can be mapped (like `std::thread::spawn`); use
    /// [`try_new`](Generator::try_new) or the [builder](Generator::builder) to get the
    /// [`StackError`] instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::Generator;
    ///
    /// fn walk(co: &skein_coroutine::Co<'_, u32>, depth: u32) {
    ///     if depth > 0 {
    ///         walk(co, depth - 1); // yield from any depth: no `yield from` needed
    ///     }
    ///     co.yield_(depth);
    /// }
    /// let g = Generator::new(|co| walk(co, 3));
    /// assert_eq!(g.collect::<Vec<_>>(), [0, 1, 2, 3]);
    /// ```
    pub fn new<F>(body: F) -> Self
    where
        F: FnOnce(&Co<'_, Y, S>) -> R + 'static,
    {
        match Self::try_new(body) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`new`](Generator::new) that returns the [`StackError`] instead of panicking.
    ///
    /// # Errors
    ///
    /// [`StackError`] when no stack can be mapped.
    pub fn try_new<F>(body: F) -> Result<Self, StackError>
    where
        F: FnOnce(&Co<'_, Y, S>) -> R + 'static,
    {
        Self::builder().build(body)
    }

    /// A builder to set the stack size.
    pub fn builder() -> GeneratorBuilder<Y, R, S> {
        GeneratorBuilder {
            stack_size: DEFAULT_STACK_SIZE,
            marker: PhantomData,
        }
    }

    /// Python's first `next(gen)`: runs a fresh generator to its first `yield`.
    ///
    /// # Errors
    ///
    /// [`StartError::AlreadyStarted`] if it was started before, [`StartError::Finished`]
    /// if it was closed or thrown into before starting.
    ///
    /// # Panics
    ///
    /// A panic in the body propagates to the caller (the generator is then finished).
    pub fn start(&mut self) -> Result<GeneratorState<Y, R>, StartError> {
        if !matches!(self.phase, Phase::Created(_)) {
            return Err(if self.is_finished() {
                self.phase = Phase::Finished;
                StartError::Finished
            } else {
                StartError::AlreadyStarted
            });
        }
        Ok(self
            .first_resume(Input::Start)
            .unwrap_or_else(|e| panic::resume_unwind(e)))
    }

    /// Python's `gen.send(value)`: resumes the paused `yield_`, which returns `value`,
    /// and runs to the next `yield_` or to the end.
    ///
    /// # Errors
    ///
    /// [`SendError::NotStarted`] for a fresh generator (Python's `TypeError: can't send
    /// non-None value to a just-started generator`; prime it with
    /// [`start`](Generator::start)), [`SendError::Finished`] for a finished one (Python's
    /// `StopIteration`); both hand `value` back.
    ///
    /// # Panics
    ///
    /// A panic in the body propagates to the caller (the generator is then finished).
    #[inline]
    pub fn send(&mut self, value: S) -> Result<GeneratorState<Y, R>, SendError<S>> {
        match &mut self.phase {
            Phase::Suspended(inner) if !inner.done() => {}
            _ => return Err(self.send_refused(value)),
        }
        Ok(self
            .resume_suspended(Input::Value(value))
            .unwrap_or_else(|e| panic::resume_unwind(e)))
    }

    #[cold]
    fn send_refused(&mut self, value: S) -> SendError<S> {
        if let Phase::Created(_) = self.phase {
            SendError::NotStarted(value)
        } else {
            self.phase = Phase::Finished;
            SendError::Finished(value)
        }
    }

    /// Python's `gen.throw(err)`: raises `err` at the paused `yield_`.
    ///
    /// If the body does not catch it (with [`Co::try_yield`]) the generator unwinds —
    /// its destructors run — and `err` comes back as `Err(err)`, as an uncaught
    /// exception propagates to the caller in Python. If the body catches it, this
    /// returns what the body did next. A fresh generator is finished without running;
    /// a finished one hands `err` straight back.
    ///
    /// # Panics
    ///
    /// A panic in the body propagates to the caller.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_coroutine::Generator;
    ///
    /// let mut g = Generator::<u32>::new(|co| loop { co.yield_(1); });
    /// g.start().unwrap();
    /// assert_eq!(g.throw("enough").unwrap_err(), "enough");
    /// assert!(g.is_finished());
    /// ```
    pub fn throw<E: Any + Send>(&mut self, err: E) -> Result<GeneratorState<Y, R>, E> {
        let result = match &mut self.phase {
            Phase::Created(_) => {
                put_thrown(Box::new(err));
                self.first_resume(Input::Throw)
            }
            Phase::Suspended(inner) if !inner.done() => {
                put_thrown(Box::new(err));
                self.resume_suspended(Input::Throw)
            }
            _ => {
                self.phase = Phase::Finished;
                return Err(err);
            }
        };
        match result {
            Ok(state) => Ok(state),
            Err(thrown) => match thrown.downcast::<E>() {
                Ok(e) => Err(*e),
                // The body threw something else from its handler: that is a bug of the
                // body as far as the caller's types go; surface it as a panic.
                Err(other) => panic::resume_unwind(other),
            },
        }
    }

    /// Python's `gen.close()`: unwinds a paused generator from its `yield_`, running its
    /// destructors, and frees its stack. A fresh generator's body is dropped unrun; a
    /// finished one is left alone. Dropping a `Generator` closes it.
    ///
    /// # Panics
    ///
    /// A panic raised by a destructor while unwinding propagates to the caller. Calling
    /// `yield_` from a destructor during `close` aborts (Python raises `RuntimeError:
    /// generator ignored GeneratorExit`).
    pub fn close(&mut self) {
        // Dropping the coroutine force-unwinds it and returns its stack to the pool.
        let inner = std::mem::replace(&mut self.phase, Phase::Finished);
        drop(inner);
    }

    /// The first resume of a `Created` generator (with `Start` or `Throw`).
    fn first_resume(
        &mut self,
        input: Input<S>,
    ) -> Result<GeneratorState<Y, R>, Box<dyn Any + Send>> {
        let Phase::Created(inner) = std::mem::replace(&mut self.phase, Phase::Finished) else {
            unreachable!("checked by the callers")
        };
        self.phase = Phase::Suspended(inner);
        self.resume_suspended(input)
    }

    // Always inlined: called out of line, the `Input` goes through memory and its
    // reload stalls on store forwarding (measured: 3x slower resume).
    //
    // Called only when the caller saw `Suspended` with a coroutine that is not done; the
    // compiler folds this second look at the tag into the caller's.
    #[inline(always)]
    fn resume_suspended(
        &mut self,
        input: Input<S>,
    ) -> Result<GeneratorState<Y, R>, Box<dyn Any + Send>> {
        let Phase::Suspended(inner) = &mut self.phase else {
            unreachable!("checked by the callers")
        };
        // A panic in the body is re-raised here by corosensei; the coroutine is then
        // done, and the next call sees `done()` and drops it.
        match inner.resume(input) {
            CoroutineResult::Yield(y) => Ok(GeneratorState::Yielded(y)),
            CoroutineResult::Return(out) => self.complete(out),
        }
    }

    /// The body returned (or was thrown out of): the stack goes back to the pool now.
    fn complete(&mut self, out: Outcome<R>) -> Result<GeneratorState<Y, R>, Box<dyn Any + Send>> {
        self.phase = Phase::Finished;
        match out {
            Outcome::Returned(r) => Ok(GeneratorState::Complete(r)),
            Outcome::Thrown(e) => Err(e),
        }
    }
}

impl<Y, R, S> Generator<Y, R, S> {
    /// True once the body returned, panicked, was thrown out of, or was closed.
    pub fn is_finished(&self) -> bool {
        match &self.phase {
            Phase::Created(_) => false,
            Phase::Suspended(inner) => inner.done(),
            Phase::Finished => true,
        }
    }

    /// True once the generator was resumed at least once (or thrown into or closed).
    pub fn is_started(&self) -> bool {
        !matches!(self.phase, Phase::Created(_))
    }

    /// The body's return value (Python's `StopIteration.value`), taken out once it
    /// finished while being driven as an [`Iterator`].
    pub fn return_value(&mut self) -> Option<R> {
        self.ret.take()
    }
}

impl<Y: 'static, R: 'static, S: Default + 'static> Iterator for Generator<Y, R, S> {
    type Item = Y;

    /// Python's `next(gen)`: the next yielded value, or `None` once the body returned
    /// (its value is then in [`return_value`](Generator::return_value)).
    #[inline]
    fn next(&mut self) -> Option<Y> {
        match &mut self.phase {
            Phase::Suspended(inner) if !inner.done() => {}
            _ => return self.next_slow(),
        }
        // The common case returns straight from here: merging it with the first
        // resume's path would send every yielded value through memory.
        match self.resume_suspended(Input::Value(S::default())) {
            Ok(GeneratorState::Yielded(y)) => Some(y),
            other => self.next_end(other),
        }
    }
}

impl<Y: 'static, R: 'static, S: Default + 'static> Generator<Y, R, S> {
    /// `next` on a fresh generator (its first resume) or a finished one.
    #[cold]
    fn next_slow(&mut self) -> Option<Y> {
        if let Phase::Created(_) = self.phase {
            let state = self.first_resume(Input::Start);
            self.next_end(state)
        } else {
            self.phase = Phase::Finished;
            None
        }
    }

    fn next_end(&mut self, state: Result<GeneratorState<Y, R>, Box<dyn Any + Send>>) -> Option<Y> {
        match state.unwrap_or_else(|e| panic::resume_unwind(e)) {
            GeneratorState::Yielded(y) => Some(y),
            GeneratorState::Complete(r) => {
                self.ret = Some(r);
                None
            }
        }
    }
}

impl<Y: 'static, R: 'static, S: Default + 'static> FusedIterator for Generator<Y, R, S> {}

impl<Y, R, S> fmt::Debug for Generator<Y, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.is_started(), self.is_finished()) {
            (false, _) => "created",
            (true, false) => "suspended",
            (true, true) => "closed",
        };
        f.debug_struct("Generator")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}
