//! The options both process pools take (Python's constructor arguments), and the builders.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_process::{Context, FnRef, get_context, get_start_method};

use super::engine::{Engine, Options};
use crate::error::{BuildError, EncodeError};

/// How long a worker being stopped (cancel, timeout, terminate) gets between `SIGTERM`
/// and `SIGKILL`, unless set.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_millis(500);

/// A function and its serialised argument, as a worker receives them.
pub(crate) type EncodedCall = ([u8; skein_process::FN_REF_BYTES], Vec<u8>);

#[derive(Clone)]
pub(crate) struct Settings {
    workers: Option<usize>,
    context: Option<Context>,
    initializer: Option<Result<EncodedCall, EncodeError>>,
    max_tasks_per_child: Option<u64>,
    max_memory_per_child: Option<u64>,
    grace: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            workers: None,
            context: None,
            initializer: None,
            max_tasks_per_child: None,
            max_memory_per_child: None,
            grace: DEFAULT_GRACE,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("workers", &self.workers)
            .field("context", &self.context)
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("max_memory_per_child", &self.max_memory_per_child)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub(crate) fn workers(&mut self, n: usize) {
        self.workers = Some(n);
    }

    pub(crate) fn context(&mut self, ctx: Context) {
        self.context = Some(ctx);
    }

    pub(crate) fn initializer<A>(&mut self, f: fn(A), args: A)
    where
        A: Serialize + DeserializeOwned + 'static,
    {
        self.initializer = Some(match postcard::to_allocvec(&args) {
            Ok(bytes) => Ok((FnRef::of(f).to_bytes(), bytes)),
            Err(e) => Err(EncodeError(e.to_string().into())),
        });
    }

    pub(crate) fn max_tasks_per_child(&mut self, n: u64) {
        self.max_tasks_per_child = Some(n);
    }

    pub(crate) fn max_memory_per_child(&mut self, bytes: u64) {
        self.max_memory_per_child = Some(bytes);
    }

    pub(crate) fn grace(&mut self, grace: Duration) {
        self.grace = grace;
    }

    pub(crate) fn start(self) -> Result<Arc<Engine>, BuildError> {
        let workers = self.workers.unwrap_or_else(skein_process::cpu_count);
        if workers == 0 {
            return Err(BuildError::zero_workers());
        }
        if self.max_tasks_per_child == Some(0) {
            // Python: ValueError("maxtasksperchild must be a positive int or None").
            return Err(BuildError::zero_tasks_per_child());
        }
        let initializer = match self.initializer {
            Some(Ok(i)) => Some(i),
            Some(Err(e)) => return Err(BuildError::encode(e)),
            None => None,
        };
        let opts = Options {
            workers,
            context: self
                .context
                .unwrap_or_else(|| get_context(get_start_method())),
            initializer,
            max_tasks_per_child: self.max_tasks_per_child,
            max_memory_per_child: self.max_memory_per_child,
            grace: self.grace,
        };
        Engine::start(opts).map_err(BuildError::start)
    }
}

macro_rules! common_setters {
    () => {
        /// The start method of the workers (Python's `mp_context=get_context(m)`); the
        /// default is [`get_start_method()`](skein_process::get_start_method).
        pub fn start_method(mut self, method: skein_process::StartMethod) -> Self {
            self.settings.context(skein_process::get_context(method));
            self
        }

        /// The context to start workers from (Python's `mp_context` / `context`).
        pub fn context(mut self, ctx: skein_process::Context) -> Self {
            self.settings.context(ctx);
            self
        }

        /// Python's `initializer=f, initargs=(args,)`: every worker runs `f(args)` once
        /// before its first task. If it panics, the pool is broken: every task fails with
        /// [`TaskError::Broken`](crate::TaskError::Broken) and submissions are refused
        /// (CPython's `BrokenProcessPool`; its `Pool` restarts such workers forever).
        pub fn initializer<A>(mut self, f: fn(A), args: A) -> Self
        where
            A: serde::Serialize + serde::de::DeserializeOwned + 'static,
        {
            self.settings.initializer(f, args);
            self
        }

        /// Python's `max_tasks_per_child` / `maxtasksperchild`: a worker leaves after this
        /// many tasks (a map chunk counts as one) and a fresh one replaces it. 0 makes
        /// `build` fail (Python's `ValueError`).
        pub fn max_tasks_per_child(mut self, n: u64) -> Self {
            self.settings.max_tasks_per_child(n);
            self
        }

        /// billiard's `max_memory_per_child`: a worker whose resident set passed `bytes`
        /// after a task is replaced by a fresh one (the task's result is kept).
        pub fn max_memory_per_child(mut self, bytes: u64) -> Self {
            self.settings.max_memory_per_child(bytes);
            self
        }

        /// How long a worker being stopped (cancel, timeout, terminate) has between
        /// `SIGTERM` and `SIGKILL`; the default is 500 ms.
        pub fn kill_grace(mut self, grace: std::time::Duration) -> Self {
            self.settings.grace(grace);
            self
        }
    };
}

/// Configures a [`ProcessPoolExecutor`](crate::ProcessPoolExecutor).
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug, Default)]
pub struct ProcessPoolExecutorBuilder {
    pub(crate) settings: Settings,
}

impl ProcessPoolExecutorBuilder {
    /// Python's `max_workers`; the default is the number of CPUs.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.settings.workers(n);
        self
    }

    common_setters!();

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for 0 workers or `max_tasks_per_child(0)`, an initializer argument
    /// that cannot be serialised, or when the system refuses to start a worker.
    pub fn build(self) -> Result<crate::ProcessPoolExecutor, BuildError> {
        Ok(crate::ProcessPoolExecutor {
            engine: self.settings.start()?,
        })
    }
}

/// Configures a [`ProcessPool`](crate::ProcessPool).
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug, Default)]
pub struct ProcessPoolBuilder {
    pub(crate) settings: Settings,
}

impl ProcessPoolBuilder {
    /// Python's `processes`; the default is the number of CPUs.
    pub fn processes(mut self, n: usize) -> Self {
        self.settings.workers(n);
        self
    }

    common_setters!();

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// As [`ProcessPoolExecutorBuilder::build`].
    pub fn build(self) -> Result<crate::ProcessPool, BuildError> {
        Ok(crate::ProcessPool {
            engine: self.settings.start()?,
        })
    }
}
