//! `Run`: the "subclass `Thread` and override `run`" pattern as a trait.

use crate::builder::Builder;
use crate::error::SpawnError;
use crate::handle::JoinHandle;

/// A type with its own thread body (Python: subclass `threading.Thread`, override `run`).
///
/// Calling [`run`](Run::run) directly is an ordinary method call: it runs on the *caller's*
/// thread, one call after another — the notes' point that `s1.run(); s2.run()` is not
/// concurrency. [`start`](Run::start) moves the object to a new thread and calls `run`
/// there; `join` on the handle gives the object back, with whatever `run` stored in it.
///
/// # Examples
///
/// ```
/// use skein_threads::{Run, current_thread};
///
/// struct Study {
///     subject: &'static str,
///     ran_on: String,
/// }
///
/// impl Run for Study {
///     fn run(&mut self) {
///         self.ran_on = current_thread().name();
///     }
///     fn name(&self) -> Option<String> {
///         Some(format!("study-{}", self.subject))
///     }
/// }
///
/// let caller = current_thread().name();
/// let mut s1 = Study { subject: "maths", ran_on: String::new() };
/// s1.run(); // on the caller's thread
/// assert_eq!(s1.ran_on, caller);
///
/// let s2 = Study { subject: "chinese", ran_on: String::new() };
/// let s2 = s2.start().unwrap().join().unwrap(); // on its own thread
/// assert_eq!(s2.ran_on, "study-chinese");
/// ```
pub trait Run: Send + 'static {
    /// The thread body (Python's `run()`).
    fn run(&mut self);

    /// The name [`start`](Run::start) gives the thread (Python: `self.name = …` in
    /// `__init__`); `None`, the default, means `Thread-N` (so does an empty name).
    fn name(&self) -> Option<String> {
        None
    }

    /// Runs [`run`](Run::run) on a new thread (Python's `start()`); see
    /// [`Builder::start`] to set a name, daemon flag or stack size.
    ///
    /// # Errors
    ///
    /// As [`Builder::spawn`].
    fn start(self) -> Result<JoinHandle<Self>, SpawnError>
    where
        Self: Sized,
    {
        Builder::new().start(self)
    }
}
