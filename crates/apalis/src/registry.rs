//! `Registry`: the functions a queue runs, each under a stable name.

use std::any::TypeId;
use std::collections::HashMap;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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

type Runner = dyn Fn(&ProcessPoolExecutor, &[u8], Option<Duration>, Done) + Send + Sync;

/// A registered function: how to run it, and what a call of it must look like.
#[derive(Clone)]
struct Registered {
    runner: Arc<Runner>,
    /// `TypeId` of `fn(A) -> R`: a named call must have this type.
    signature: TypeId,
    /// The function's address in this build.
    addr: usize,
}

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
/// A call finds its function by the name it carries ([`Call::named`]), or else by the
/// function's address. Rust does not keep addresses unique: the compiler may merge two
/// functions with the same body into one address, and may give a small function a copy
/// per code unit. So a call of an unnamed function whose address is shared by two
/// registered names, or matches none, is refused at `submit`
/// ([`SubmitError::Encode`](skein_pool::SubmitError::Encode)) — never run as the wrong
/// function. Naming calls avoids both; `#[inline(never)]` on registered functions keeps
/// the address lookup working in optimised builds.
///
/// ```
/// use skein_apalis::Registry;
/// use skein_pool::Call;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let registry = Registry::new().register("square", square);
/// assert_eq!(registry.name_of(square), Some("square"));
/// assert_eq!(registry.resolve(&Call::new(square, 7).named("square")), Ok("square"));
/// assert!(registry.resolve(&Call::new(square, 7).named("cube")).is_err());
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    by_name: HashMap<Arc<str>, Registered>,
    by_addr: HashMap<usize, Vec<Arc<str>>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `f` under `name` (Celery: `@app.task(name=...)`).
    ///
    /// One function may be registered under several names, and two functions that the
    /// compiler merged into one address may both be registered: calls of those must then
    /// carry their name ([`Call::named`]).
    ///
    /// # Panics
    ///
    /// If `name` is registered already: two functions under one name would make the name
    /// ambiguous.
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
        let runner =
            move |pool: &ProcessPoolExecutor, args: &[u8], limit: Option<Duration>, done: Done| {
                let a: A = match postcard::from_bytes(args) {
                    Ok(a) => a,
                    Err(e) => {
                        return done(RunOutcome::Reply(Reply::Failed(format!(
                            "the arguments do not decode as {}: {e}",
                            std::any::type_name::<A>()
                        ))));
                    }
                };
                let call = match limit {
                    Some(t) => Call::new(f, a).timeout(t),
                    None => Call::new(f, a),
                };
                match pool.submit(call) {
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
        let registered = Registered {
            runner: Arc::new(runner),
            signature: TypeId::of::<fn(A) -> R>(),
            addr,
        };
        self.by_name.insert(name.clone(), registered);
        self.by_addr.entry(addr).or_default().push(name);
        self
    }

    /// The one name `f` is registered under, found by the function's address; `None`
    /// when no name or more than one has that address (see the type's docs).
    pub fn name_of<A, R>(&self, f: fn(A) -> R) -> Option<&str> {
        match self.by_addr.get(&(f as usize)).map(Vec::as_slice) {
            Some([name]) => Some(name),
            _ => None,
        }
    }

    /// The registered name `call` runs under: its own name, checked against the
    /// registry (the name must be registered, for a function of the call's type, and a
    /// function registered under other names only must not be called by this one), or
    /// else the one name of its function's address. The error says why neither holds.
    pub fn resolve<A: 'static, R: 'static>(&self, call: &Call<A, R>) -> Result<&str, String> {
        let f = call.function();
        let at_addr = self.by_addr.get(&(f as usize)).map(Vec::as_slice);
        let Some(name) = call.name() else {
            return match at_addr {
                Some([name]) => Ok(name),
                Some(names) => Err(format!(
                    "the function's address is registered under several names ({names:?}: the \
                     compiler merged functions with the same body); name the call with \
                     Call::named"
                )),
                None => Err(format!(
                    "the function is not in the registry (register it under a name, and name \
                     the call with Call::named or mark the function #[inline(never)] so an \
                     optimised build keeps one address for it; registered: {:?})",
                    self.names()
                )),
            };
        };
        let Some((key, registered)) = self.by_name.get_key_value(name) else {
            return Err(format!(
                "no function is registered as {name:?} (registered: {:?})",
                self.names()
            ));
        };
        if registered.signature != TypeId::of::<fn(A) -> R>() {
            return Err(format!(
                "{name:?} is registered for another signature than fn({}) -> {}",
                std::any::type_name::<A>(),
                std::any::type_name::<R>()
            ));
        }
        if let Some(names) = at_addr
            && registered.addr != f as usize
        {
            return Err(format!(
                "the call is named {name:?}, but its function is registered as {names:?}"
            ));
        }
        Ok(key)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_name.keys().map(|n| &**n).collect();
        v.sort_unstable();
        v
    }

    /// Runs the function named `name` on `args` in `pool`; `done` gets the outcome.
    pub(crate) fn run(
        &self,
        name: &str,
        pool: &ProcessPoolExecutor,
        args: &[u8],
        limit: Option<Duration>,
        done: Done,
    ) {
        match self.by_name.get(name) {
            Some(registered) => (registered.runner)(pool, args, limit, done),
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
    fn named_calls_are_checked_against_the_registry() {
        let r = Registry::new()
            .register("double", double)
            .register("add", add);
        assert_eq!(r.resolve(&Call::new(double, 1)), Ok("double"));
        assert_eq!(
            r.resolve(&Call::new(double, 1).named("double")),
            Ok("double")
        );
        let e = r.resolve(&Call::new(double, 1).named("nope")).unwrap_err();
        assert!(e.contains("no function is registered as \"nope\""), "{e}");
        fn halve(x: u32) -> u32 {
            x / 2
        }
        // A function of the same type under a name it is not registered as.
        let r = r.register("halve", halve);
        let e = r.resolve(&Call::new(double, 1).named("halve")).unwrap_err();
        assert!(e.contains("registered as [\"double\"]"), "{e}");
        // A name registered for another signature.
        fn shout(s: String) -> String {
            s.to_uppercase()
        }
        let e = r
            .resolve(&Call::new(shout, "a".into()).named("double"))
            .unwrap_err();
        assert!(e.contains("another signature"), "{e}");
    }

    #[test]
    fn one_address_under_two_names_needs_named_calls() {
        // What the compiler does to two functions with the same body, made certain: one
        // function registered twice.
        let r = Registry::new()
            .register("double", double)
            .register("twice", double);
        assert_eq!(r.name_of(double), None);
        let e = r.resolve(&Call::new(double, 1)).unwrap_err();
        assert!(e.contains("several names"), "{e}");
        assert_eq!(r.resolve(&Call::new(double, 1).named("twice")), Ok("twice"));
        assert_eq!(
            r.resolve(&Call::new(double, 1).named("double")),
            Ok("double")
        );
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
