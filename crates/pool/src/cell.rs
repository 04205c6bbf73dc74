//! The thread-pool task cell: a closure and its future's state in one allocation
//! ([`Cell`]), the usual job in a pool's queue. One of the crate's two `unsafe` modules
//! (with `outcome`): the closure sits in an `UnsafeCell` that only the thread which set the
//! outcome's `CLAIMED` flag touches (see `outcome.rs` for the phase word).
//!
//! Model check: `RUSTFLAGS="--cfg loom" cargo test -p skein-pool --lib --release loom`.
#![deny(unsafe_op_in_unsafe_fn)]

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use crate::error::TaskError;
use crate::future::{Future, Slot, State};
use crate::outcome::UnsafeCell;
use crate::task::{Call, Runnable, TaskRef};

/// A closure and the state of its future, in one allocation: what a thread pool queues.
pub(crate) struct Cell<T, F> {
    state: State<T>,
    // Moved out once, by the thread that set `CLAIMED` (the runner whose `start_owned`
    // won, or whoever drops an unrun job); otherwise dropped with the cell.
    job: UnsafeCell<Option<F>>,
}

// SAFETY: the job is touched through `&self` only by the one thread that set `CLAIMED`
// (so never by two threads), and it is `Send`; the state is `Sync` on its own.
unsafe impl<T: Send + Sync, F: Send> Sync for Cell<T, F> {}

impl<T, F> Cell<T, F>
where
    T: Send + Sync + 'static,
    F: Call<Output = T>,
{
    /// The job for the queue and the future for the submitter.
    pub(crate) fn create(job: F) -> (TaskRef, Future<T>) {
        let cell = Arc::new(Cell {
            state: State::new(),
            job: UnsafeCell::new(Some(job)),
        });
        let future = Future::from_slot(cell.clone() as Arc<dyn Slot<T>>);
        (TaskRef::new(cell), future)
    }
}

impl<T: Send + Sync, F: Send> Slot<T> for Cell<T, F> {
    fn state(&self) -> &State<T> {
        &self.state
    }
}

impl<T, F> Runnable for Cell<T, F>
where
    T: Send + Sync + 'static,
    F: Call<Output = T>,
{
    fn run(self: Arc<Self>) {
        let outcome = self.state.outcome();
        if !outcome.start_owned() {
            self.drop_unrun(); // cancelled or failed while queued
            return;
        }
        // SAFETY: our `start_owned` set `CLAIMED`, which is set once per cell, so this
        // thread alone ever touches the job through `&self`.
        let job = self.job.with_mut(|p| unsafe { (*p).take() });
        debug_assert!(job.is_some(), "a task cell started twice");
        let Some(job) = job else { return };
        let result = panic::catch_unwind(AssertUnwindSafe(|| job.call()))
            .map_err(|payload| Box::new(TaskError::from_panic(payload)));
        // SAFETY: our `start_owned` above won, and this is the only `finish_owned` call.
        let hooked = unsafe { outcome.finish_owned(result) };
        if hooked {
            self.state
                .fire(|| Future::from_slot(self.clone() as Arc<dyn Slot<T>>));
        }
    }

    fn fail(self: Arc<Self>, error: TaskError) {
        let view = || Future::from_slot(self.clone() as Arc<dyn Slot<T>>);
        if error.is_cancelled() {
            self.state.cancel(view);
        } else {
            self.state.complete(Err(error), view);
        }
        self.drop_unrun();
    }
}

impl<T, F> Cell<T, F> {
    /// Drops the closure of a task that will never run, if nobody took it yet (so what it
    /// captured is released when the job leaves the queue, not when the future goes).
    fn drop_unrun(&self) {
        if self.state.outcome().claim_unrun() {
            // SAFETY: `claim_unrun` set `CLAIMED` for us alone, and no runner took the job
            // (a runner sets it in the compare-and-swap that starts it).
            drop(self.job.with_mut(|p| unsafe { (*p).take() }));
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// A queued task cell run by a worker while its future is cancelled: the closure runs
    /// or is dropped unrun, exactly once, and never touched by both threads (loom's
    /// `UnsafeCell` checks that); it is gone once both are done even though the future
    /// is still held.
    #[test]
    fn loom_cell_run_races_cancel_and_drops_the_closure() {
        loom::model(|| {
            let captured = Arc::new(());
            let probe = captured.clone();
            let (task, future) = Cell::create(move || {
                let _keep = &captured;
                7u32
            });
            let worker = thread::spawn(move || task.run());
            let cancelled = future.cancel();
            worker.join().unwrap();
            assert!(future.done());
            assert_eq!(future.cancelled(), cancelled);
            if !cancelled {
                assert_eq!(*future.result().unwrap(), 7);
            }
            assert_eq!(Arc::strong_count(&probe), 1, "the closure was dropped");
        });
    }
}
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_failed_or_cancelled_cell_drops_its_closure_when_it_leaves_the_queue() {
        for error in [TaskError::Cancelled, TaskError::Lost("gone".into())] {
            let captured = Arc::new(());
            let probe = captured.clone();
            let (task, future) = Cell::create(move || drop(captured));
            task.fail(error);
            assert!(future.done());
            assert_eq!(
                Arc::strong_count(&probe),
                1,
                "closure dropped, future still held"
            );
        }
        let captured = Arc::new(());
        let probe = captured.clone();
        let (task, future) = Cell::create(move || drop(captured));
        assert!(future.cancel());
        assert_eq!(Arc::strong_count(&probe), 2, "still queued");
        task.run();
        assert_eq!(Arc::strong_count(&probe), 1, "dropped unrun by the worker");
        assert!(future.cancelled());
    }
}
