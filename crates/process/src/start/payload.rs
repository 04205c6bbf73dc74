//! What a child runs: a plain `fn(A)` with serialisable arguments, a [`Run`] value,
//! or (under `Fork` only) a closure.

use std::os::fd::RawFd;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::handle;
use crate::sys;
use crate::sys::entry::Entry;

/// The subclass form: a value that is the process (Python's `class P(Process): def
/// run(self)`). Its fields are the process's state; [`run`](Run::run) runs in the
/// child.
///
/// Under `Spawn`/`Forkserver` the value is serialised into the child, so it must be
/// `Serialize + DeserializeOwned`; the trait asks for that under every method so that
/// one program works with all three.
///
/// # Examples
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use skein_process::{Process, Run, StartMethod};
///
/// #[derive(Serialize, Deserialize)]
/// struct MyProcess {
///     name: String,
/// }
///
/// impl Run for MyProcess {
///     fn run(self) {
///         println!("process {} is running", self.name);
///     }
/// }
///
/// let p = Process::from_run(MyProcess { name: "p1".into() })
///     .start_method(StartMethod::Fork)
///     .start()
///     .unwrap();
/// assert_eq!(p.join().unwrap(), 0);
/// ```
pub trait Run: Serialize + DeserializeOwned + Send + 'static {
    /// The body of the process (Python's `run`).
    fn run(self);
}

/// Arguments bound to their target, with the type erased.
pub(crate) trait ErasedArgs: Send {
    /// The entry that rebuilds this in a fresh exec.
    fn entry(&self) -> Entry;
    /// The serialised arguments and the descriptors of the handles inside them.
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String>;
    /// Runs the target here (in a forked child).
    fn run_here(self: Box<Self>);
}

struct FnArgs<A> {
    target: fn(A),
    args: A,
}

impl<A: Serialize + DeserializeOwned + Send + 'static> ErasedArgs for FnArgs<A> {
    fn entry(&self) -> Entry {
        Entry::of(self.target)
    }
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String> {
        let (r, fds) = handle::collect(|| postcard::to_allocvec(&self.args));
        r.map(|b| (b, fds)).map_err(|e| handle::describe(&e))
    }
    fn run_here(self: Box<Self>) {
        // A forked child leaks the box rather than free it: freeing writes to heap
        // pages (a copy-on-write fault each) just before the process ends anyway.
        let FnArgs { target, args } = sys::unbox_leaking(self);
        target(args)
    }
}

struct RunArgs<R>(R);

impl<R: Run> ErasedArgs for RunArgs<R> {
    fn entry(&self) -> Entry {
        Entry::of::<R>(R::run)
    }
    fn encode(&self) -> Result<(Vec<u8>, Vec<RawFd>), String> {
        let (r, fds) = handle::collect(|| postcard::to_allocvec(&self.0));
        r.map(|b| (b, fds)).map_err(|e| handle::describe(&e))
    }
    fn run_here(self: Box<Self>) {
        sys::unbox_leaking(self).0.run()
    }
}

/// What a child runs.
pub(crate) enum Payload {
    /// A target with serialisable arguments: any start method.
    Args(Box<dyn ErasedArgs>),
    /// A closure: `Fork` only.
    Closure(Box<dyn FnOnce() + Send>),
}

impl Payload {
    /// `target(args)`.
    pub(crate) fn of_fn<A: Serialize + DeserializeOwned + Send + 'static>(
        target: fn(A),
        args: A,
    ) -> Payload {
        Payload::Args(Box::new(FnArgs { target, args }))
    }

    /// `value.run()`.
    pub(crate) fn of_run<R: Run>(value: R) -> Payload {
        Payload::Args(Box::new(RunArgs(value)))
    }

    /// Runs the payload here (in a forked child).
    pub(crate) fn run_here(self) {
        match self {
            Payload::Args(a) => a.run_here(),
            Payload::Closure(f) => f(),
        }
    }
}
