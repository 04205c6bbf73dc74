//! `Call`: the job both kinds of executor accept — a plain function and its argument —
//! so code written against `Submit<Call<A, R>>` runs on threads or processes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::SubmitError;
use crate::executor::Submit;
use crate::future::Future;
use crate::thread_executor::ThreadPoolExecutor;

/// A call of a plain function `f(args)`: the job of a
/// [`ProcessPoolExecutor`](crate::ProcessPoolExecutor) (Python's `executor.submit(fn,
/// *args)`), also accepted by [`ThreadPoolExecutor`], so the executor is chosen by one
/// line.
///
/// A process pool serialises `args` (postcard) at `submit`, in the caller: a value that
/// cannot be serialised is [`SubmitError::Encode`] there, with the call handed back.
/// The function is a plain `fn` (not a closure) so that a worker started by `spawn` or
/// `forkserver` — a fresh execution of this binary — can find it. Several arguments go in
/// a tuple.
///
/// # Examples
///
/// ```
/// use skein_pool::{Call, Submit, ThreadPoolExecutor};
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let pool = ThreadPoolExecutor::new(2).unwrap(); // or ProcessPoolExecutor::new(2)
/// let f = pool.submit(Call::new(square, 7)).unwrap();
/// assert_eq!(*f.result().unwrap(), 49);
/// ```
pub struct Call<A, R> {
    pub(crate) f: fn(A) -> R,
    pub(crate) args: A,
    pub(crate) timeout: Option<Duration>,
    pub(crate) name: Option<&'static str>,
}

impl<A, R> Call<A, R> {
    /// The call `f(args)`.
    pub fn new(f: fn(A) -> R, args: A) -> Call<A, R> {
        Call {
            f,
            args,
            timeout: None,
            name: None,
        }
    }

    /// Names the function (Celery's `@app.task(name=...)`): an executor that sends jobs
    /// to other machines (skein-apalis's `DistributedExecutor`) looks the function up by
    /// this name instead of by its address, which the compiler does not keep unique (two
    /// functions with the same body may share one; a small one may have several). Local
    /// pools ignore it.
    pub fn named(mut self, name: &'static str) -> Call<A, R> {
        self.name = Some(name);
        self
    }

    /// Gives the task a time limit once it starts (pebble's `schedule(timeout=)`): in a
    /// process pool a task still running after `timeout` has its worker terminated and
    /// replaced, and its future fails with [`TaskTimedOut`](crate::TaskTimedOut). A thread
    /// pool cannot stop a thread and ignores it.
    pub fn timeout(mut self, timeout: Duration) -> Call<A, R> {
        self.timeout = Some(timeout);
        self
    }

    /// The name given with [`named`](Call::named), if any.
    pub fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// The time limit given with [`timeout`](Call::timeout), if any.
    pub fn time_limit(&self) -> Option<Duration> {
        self.timeout
    }

    /// The function.
    pub fn function(&self) -> fn(A) -> R {
        self.f
    }

    /// The argument.
    pub fn args(&self) -> &A {
        &self.args
    }

    /// Runs the call here.
    pub fn call(self) -> R {
        (self.f)(self.args)
    }

    /// The function and its argument.
    pub fn into_parts(self) -> (fn(A) -> R, A) {
        (self.f, self.args)
    }
}

impl<A, R> fmt::Debug for Call<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<A, R> Submit<Call<A, R>> for ThreadPoolExecutor
where
    A: Send + 'static,
    R: Send + Sync + 'static,
{
    type Output = R;

    fn submit(&self, job: Call<A, R>) -> Result<Future<R>, SubmitError<Call<A, R>>> {
        // The call rides in a shared cell so that a refused submission hands it back.
        let cell = Arc::new(Mutex::new(Some(job)));
        let inner = cell.clone();
        let run = move || {
            let job = inner.lock().take().expect("a submitted call runs once");
            job.call()
        };
        let back = |_| cell.lock().take().expect("a refused call was not run");
        match self.submit(run) {
            Ok(f) => Ok(f),
            Err(SubmitError::ShutDown(r)) => Err(SubmitError::ShutDown(back(r))),
            Err(SubmitError::Broken(r)) => Err(SubmitError::Broken(back(r))),
            Err(SubmitError::Spawn(r, e)) => Err(SubmitError::Spawn(back(r), e)),
            Err(SubmitError::Encode(r, e)) => Err(SubmitError::Encode(back(r), e)),
            Err(SubmitError::Start(r, e)) => Err(SubmitError::Start(back(r), e)),
            Err(SubmitError::Engine(r, e)) => Err(SubmitError::Engine(back(r), e)),
        }
    }
}
