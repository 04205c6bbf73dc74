//! `Registry`: the functions a queue runs, each under a stable name.

use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_pool::{Call, ProcessPoolExecutor, Submit, TaskError, TaskTimedOut, WorkerDied};

use crate::engine::Reply;

/// How a job run in a worker's process pool ended, before it goes back to Redis.
#[derive(Debug)]
pub(crate) enum RunOutcome {
    /// The value, the panic message or another failure: stored as the job's reply.
    Reply(Reply),
    /// The pool's worker process running it died: retried or failed per the policy.
    Died(String),
}

pub(crate) type Done = Box<dyn FnOnce(RunOutcome) + Send>;

type Runner = dyn Fn(&ProcessPoolExecutor, &[u8], Done) + Send + Sync;

/// The functions a queue can run, each under a stable name: Celery's `@app.task`
/// registry.
///
/// A function pointer means nothing on another machine, so a job travels as the *name* of
/// its function and its postcard-encoded argument. The submitter and every worker build
/// the same registry — typically from one `fn registry() -> Registry` in a library both
/// binaries link — and [`DistributedExecutor`](crate::DistributedExecutor) looks up the
/// name of each [`Call`]'s function there; a function that is not registered is refused at
/// `submit`. A worker that receives a name it does not know fails that job (it never
/// guesses).
///
/// The functions are the ones a [`ProcessPoolExecutor`] runs: plain `fn(A) -> R` with
/// serde arguments and value (several arguments go in a tuple).
///
/// # Examples
///
/// ```
/// use skein_apalis::Registry;
///
/// #[inline(never)] // one address per function, also in optimised builds
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let registry = Registry::new().register("square", square);
/// assert_eq!(registry.name_of(square), Some("square"));
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    by_name: HashMap<Arc<str>, Arc<Runner>>,
    by_addr: HashMap<usize, Arc<str>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `f` under `name` (Celery: `@app.task(name=...)`).
    ///
    /// # Panics
    ///
    /// If `name` or `f` is registered already: two functions under one name (or one
    /// function under two) would make the name-to-function map ambiguous.
    pub fn register<A, R>(mut self, name: &str, f: fn(A) -> R) -> Registry
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let name: Arc<str> = name.into();
        assert!(
            !self.by_name.contains_key(&name),
            "skein-apalis: a function is registered as {name:?} already"
        );
        let addr = f as usize;
        assert!(
            !self.by_addr.contains_key(&addr),
            "skein-apalis: this function is registered already (as {:?})",
            self.by_addr[&addr]
        );
        let runner = move |pool: &ProcessPoolExecutor, args: &[u8], done: Done| {
            let a: A = match postcard::from_bytes(args) {
                Ok(a) => a,
                Err(e) => {
                    return done(RunOutcome::Reply(Reply::Failed(format!(
                        "the arguments do not decode as {}: {e}",
                        std::any::type_name::<A>()
                    ))));
                }
            };
            match pool.submit(Call::new(f, a)) {
                Ok(fut) => fut.add_done_callback(move |fut| {
                    done(match fut.result() {
                        Ok(v) => match postcard::to_allocvec(v) {
                            Ok(bytes) => RunOutcome::Reply(Reply::Ok(bytes)),
                            Err(e) => RunOutcome::Reply(Reply::Failed(format!(
                                "the value could not be serialised: {e}"
                            ))),
                        },
                        Err(e) => classify(e),
                    })
                }),
                Err(e) => done(RunOutcome::Died(format!(
                    "the worker's process pool refused the job: {e}"
                ))),
            }
        };
        self.by_name.insert(name.clone(), Arc::new(runner));
        self.by_addr.insert(addr, name);
        self
    }

    /// The name `f` is registered under, found by the function's address.
    ///
    /// Rust does not promise one address per function: an optimised build may give a
    /// small function a local copy in each code unit that uses it, and a copy's address is
    /// not the registered one. Mark registered functions `#[inline(never)]` (as the
    /// examples do) so that each has one address; a lookup that misses is an
    /// [`Encode`](skein_pool::SubmitError::Encode) error at `submit`, never a wrong call.
    pub fn name_of<A, R>(&self, f: fn(A) -> R) -> Option<&str> {
        self.by_addr.get(&(f as usize)).map(|n| &**n)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_name.keys().map(|n| &**n).collect();
        v.sort_unstable();
        v
    }

    /// Runs the function named `name` on `args` in `pool`; `done` gets the outcome.
    pub(crate) fn run(&self, name: &str, pool: &ProcessPoolExecutor, args: &[u8], done: Done) {
        match self.by_name.get(name) {
            Some(runner) => runner(pool, args, done),
            None => done(RunOutcome::Reply(Reply::Failed(format!(
                "no function is registered as {name:?} in this worker (it knows {:?})",
                self.names()
            )))),
        }
    }
}

/// Sorts a pool task's error into a reply or a death.
fn classify(e: TaskError) -> RunOutcome {
    match e {
        TaskError::Panicked(m) => RunOutcome::Reply(Reply::Panicked(m.to_string())),
        TaskError::Failed(e) => {
            let e: &(dyn Error + 'static) = &*e;
            if e.downcast_ref::<WorkerDied>().is_some() {
                RunOutcome::Died(e.to_string())
            } else if let Some(t) = e.downcast_ref::<TaskTimedOut>() {
                RunOutcome::Reply(Reply::Failed(t.to_string()))
            } else {
                RunOutcome::Reply(Reply::Failed(e.to_string()))
            }
        }
        TaskError::Lost(m) => RunOutcome::Died(m.to_string()),
        other => RunOutcome::Reply(Reply::Failed(other.to_string())),
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("names", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u32) -> u32 {
        x * 2
    }

    fn add((a, b): (u32, u32)) -> u32 {
        a + b
    }

    #[test]
    fn names_and_functions_map_both_ways() {
        let r = Registry::new()
            .register("double", double)
            .register("add", add);
        assert_eq!(r.name_of(double), Some("double"));
        assert_eq!(r.name_of(add), Some("add"));
        assert_eq!(r.names(), ["add", "double"]);
        fn other(_: u8) {}
        assert_eq!(r.name_of(other), None);
    }

    #[test]
    #[should_panic(expected = "registered as \"double\" already")]
    fn a_name_registered_twice_panics() {
        fn triple(x: u32) -> u32 {
            x * 3
        }
        let _ = Registry::new()
            .register("double", double)
            .register("double", triple);
    }
}
