//! The shared job of one `ThreadPool::map_async`: the items, the output and the function
//! in one allocation, run by up to `processes` runner tasks that claim chunks from an
//! atomic counter. One of the crate's `unsafe` modules (with `outcome` and `cell`).
//!
//! Python's `Pool.map` sends each chunk to a worker as its own task. Doing the same here
//! cost a `Vec`, an `Arc` with a `Mutex`, two shared `Arc` clones and a locked counter per
//! chunk, which at `chunksize = 1` is per item. Instead the items are gathered once into
//! one vector (Python makes a list of the iterable too) — except a range of integers,
//! whose items are counted by index and never stored (`items.rs`; rayon splits a range
//! the same way) — and the pool queues one runner task per worker (at most one per
//! chunk), all pointing at this job. A runner claims the next chunk with one `fetch_add`,
//! reads its items (moves them out of the list, or counts them), calls `f`, and writes
//! each result straight into its slot of the output buffer, until no chunk is left. So a map allocates a fixed handful of times whatever its length or chunk size,
//! and a chunk costs one uncontended-in-the-common-case atomic operation; the chunk is
//! still the unit of distribution and of failure, as in Python.
//!
//! When an item and its result have the same size and alignment (`u64 → u64`, say), the
//! results are written over the items they came from, in the same buffer, and that buffer
//! becomes the output `Vec` (std's `collect` does the same for `vec.into_iter().map(f)`):
//! half the memory traffic and no second allocation.
//!
//! Gathering a range was a serial pass on the caller, writing every item to memory that
//! the workers then read back: for 100,000 `u64` about 22 µs of a map of 60–90 µs, which
//! is what kept `pool.map(f, 0..n)` at 0.71–0.90× rayon's `par_iter().map().collect()`.
//!
//! # Safety argument
//!
//! * Chunk `c` covers items `c × chunksize .. min((c + 1) × chunksize, len)`. The
//!   `fetch_add` on `next` hands each chunk index to exactly one runner, so each input slot
//!   is read (moved out) at most once and each output slot written at most once, each by
//!   the thread that claimed its chunk. In place, slot `i` is read before it is written,
//!   by the same thread, so it holds an item before and a result after.
//! * `active` counts the runner tasks not yet finished (run or failed: a queued runner
//!   that is dropped fails, so each one finishes exactly once). The runner that brings it
//!   to zero (`AcqRel`, so it sees every other runner's writes) is the only thread left
//!   that touches the buffers: it hands the output to the promise or drops what was
//!   produced, drops the items no runner took, and frees both buffers.
//! * A chunk whose `f` panics cleans up after itself before it is recorded as failed: the
//!   results it wrote are dropped and the items it had not read yet too. So at the end a
//!   claimed chunk is either complete (all its results written) or failed (nothing left),
//!   and an unclaimed one still holds all its items.
#![deny(unsafe_op_in_unsafe_fn)]

use std::any::TypeId;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;
use parking_lot::Mutex;

use crate::error::TaskError;
use crate::promise::Promise;
use crate::task::{Runnable, TaskRef};

mod items;

use self::items::{Counted, Gathered, Items};

/// Python's default `chunksize` for `map`: `ceil(len / (4 × workers))`.
pub(crate) fn default_chunksize(len: usize, workers: usize) -> usize {
    len.div_ceil(workers * 4).max(1)
}

/// Starts a map of `f` over `items` in chunks of `chunksize` (Python's default when
/// `None`): queues its runner tasks (at most `workers`) with `push`, and `promise` gets
/// the results in order.
///
/// A range of integers is split by index (see `items`); any other iterator is gathered
/// into a list first, on the caller, as Python does.
pub(crate) fn start<A, T, F, I>(
    mut items: I,
    f: F,
    chunksize: Option<usize>,
    workers: usize,
    promise: Promise<Vec<T>>,
    stop: Arc<AtomicBool>,
    push: &mut dyn FnMut(TaskRef),
) where
    A: Send + 'static,
    T: Send + Sync + 'static,
    F: Fn(A) -> T + Send + Sync + 'static,
    I: Iterator<Item = A>,
{
    macro_rules! counted {
        ($($int:ty),*) => {$(
            if TypeId::of::<A>() == TypeId::of::<$int>() {
                match items::as_range::<I, $int>(items) {
                    Ok(counted) => {
                        let f = move |x: $int| {
                            // SAFETY: `A` is `$int` (checked above).
                            f(unsafe { items::same_type::<$int, A>(x) })
                        };
                        return launch::<Counted<$int>, T, _>(
                            counted, f, chunksize, workers, promise, stop, push,
                        );
                    }
                    Err(back) => items = back,
                }
            }
        )*};
    }
    counted!(
        u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize
    );
    let items = Gathered::new(items.collect());
    launch(items, f, chunksize, workers, promise, stop, push);
}

fn launch<S, T, F>(
    items: S,
    f: F,
    chunksize: Option<usize>,
    workers: usize,
    promise: Promise<Vec<T>>,
    stop: Arc<AtomicBool>,
    push: &mut dyn FnMut(TaskRef),
) where
    S: Items,
    T: Send + Sync + 'static,
    F: Fn(S::Item) -> T + Send + Sync + 'static,
{
    let len = items.len();
    if len == 0 {
        // SAFETY: no item to read or drop.
        unsafe { items.free() };
        promise.set_result(Vec::new());
        return;
    }
    let chunksize = chunksize.unwrap_or_else(|| default_chunksize(len, workers));
    let runners = workers.min(len.div_ceil(chunksize));
    let job = MapJob::new(items, chunksize, f, promise, runners, stop);
    for _ in 0..runners {
        push(TaskRef::new(job.clone()));
    }
}

/// What only the finishing runner needs (and the rare failure path).
struct End<T: Send + Sync + 'static> {
    promise: Option<Promise<Vec<T>>>,
    /// The first panic of a chunk (Python re-raises the first failure), else the error a
    /// runner was failed with (cancelled by `terminate`, its queue dropped).
    error: Option<TaskError>,
    panicked: bool,
    /// Chunks whose `f` panicked (they cleaned up after themselves).
    failed_chunks: Vec<usize>,
}

/// One map: see the module docs.
pub(crate) struct MapJob<S: Items, T: Send + Sync + 'static, F> {
    /// The next chunk to claim; the only word the runners write per chunk.
    next: CachePadded<AtomicUsize>,
    // Read-only after creation.
    items: S,
    output: *mut T,
    output_capacity: usize,
    /// `output` is the items' buffer: the results overwrite the items (same layout).
    in_place: bool,
    len: usize,
    chunksize: usize,
    chunks: usize,
    f: F,
    /// Set when a chunk panicked: runners stop claiming.
    failed: AtomicBool,
    /// Set by the pool's `terminate`: runners stop claiming, and the map fails as
    /// cancelled unless every chunk was claimed already (Python's `terminate` drops the
    /// chunks not started; a runner must not go on through the rest of a long map).
    stop: Arc<AtomicBool>,
    /// Runner tasks not finished yet.
    active: AtomicUsize,
    end: Mutex<End<T>>,
}

// SAFETY: the items (`S: Send + Sync`, each moved out by the one thread that claimed its
// chunk) and the output buffer are owned by the job; results (`T: Send`) are written by
// the one thread that claimed their chunk, and handed over (or dropped) by the last
// runner, which synchronised with all others through `active` (see the module docs).
// `f` is shared by reference between runners: `F: Sync`.
unsafe impl<S: Items, T: Send + Sync, F: Send + Sync> Send for MapJob<S, T, F> {}
// SAFETY: as above: through `&MapJob` each buffer slot is touched by one thread only,
// guarded by the chunk claim, and the buffers as a whole only by the last runner.
unsafe impl<S: Items, T: Send + Sync, F: Send + Sync> Sync for MapJob<S, T, F> {}

/// Where a runner is inside its chunk, so a panic can clean up: items before `read` were
/// moved out, results before `written` (from the chunk's start) were written.
struct Progress {
    read: usize,
    written: usize,
}

impl<S, T, F> MapJob<S, T, F>
where
    S: Items,
    T: Send + Sync + 'static,
    F: Fn(S::Item) -> T + Send + Sync + 'static,
{
    /// A job over `items` (not empty) cut into chunks of `chunksize` (at least 1), with
    /// `runners` runner tasks to come (at least 1), that stops claiming chunks once `stop`
    /// is set.
    pub(crate) fn new(
        items: S,
        chunksize: usize,
        f: F,
        promise: Promise<Vec<T>>,
        runners: usize,
        stop: Arc<AtomicBool>,
    ) -> Arc<Self> {
        let len = items.len();
        debug_assert!(len > 0 && chunksize > 0 && runners > 0);
        let (output, output_capacity, in_place) = match items.reuse::<T>() {
            Some((buffer, capacity)) => (buffer, capacity, true),
            None => {
                let mut output = ManuallyDrop::new(Vec::<T>::with_capacity(len));
                (output.as_mut_ptr(), output.capacity(), false)
            }
        };
        Arc::new(MapJob {
            next: CachePadded::new(AtomicUsize::new(0)),
            items,
            output,
            output_capacity,
            in_place,
            len,
            chunksize,
            chunks: len.div_ceil(chunksize),
            f,
            failed: AtomicBool::new(false),
            stop,
            active: AtomicUsize::new(runners),
            end: Mutex::new(End {
                promise: Some(promise),
                error: None,
                panicked: false,
                failed_chunks: Vec::new(),
            }),
        })
    }

    /// The number of chunks.
    #[cfg(test)]
    fn chunks(&self) -> usize {
        self.chunks
    }

    fn bounds(&self, chunk: usize) -> (usize, usize) {
        let start = chunk * self.chunksize;
        (start, (start + self.chunksize).min(self.len))
    }

    /// Claims and runs chunks until none is left, one failed or the pool was terminated.
    fn work(&self) {
        while !self.failed.load(Ordering::Relaxed) {
            if self.stop.load(Ordering::Relaxed) {
                let mut end = self.end.lock();
                if end.error.is_none() {
                    end.error = Some(TaskError::Cancelled);
                }
                return;
            }
            let chunk = self.next.fetch_add(1, Ordering::Relaxed);
            if chunk >= self.chunks {
                return;
            }
            let (start, end) = self.bounds(chunk);
            let mut at = Progress {
                read: start,
                written: start,
            };
            let ran = panic::catch_unwind(AssertUnwindSafe(|| {
                // Reader and output pointer in locals, and in place one base pointer for
                // both sides, so the compiler sees slot `i` read then written and nothing
                // else (the loop vectorises when `f` is simple).
                let f = &self.f;
                let input = self.items.reader();
                let output = match S::base::<T>(input) {
                    Some(base) if self.in_place => base,
                    _ => self.output,
                };
                for i in start..end {
                    // SAFETY: this thread claimed `chunk`, so it alone touches slots
                    // `start..end`; item `i < end <= len` was never read before.
                    let item = unsafe { S::read(input, i) };
                    at.read = i + 1;
                    let value = f(item);
                    // SAFETY: as above; output slot `i` was never written (in place, its
                    // item was just moved out).
                    unsafe { output.add(i).write(value) };
                    at.written = i + 1;
                }
            }));
            if let Err(payload) = ran {
                // SAFETY: our chunk: results `start..written` were written, items
                // `read..end` not read; nobody else touches them.
                unsafe {
                    drop_range(self.output, start, at.written);
                    self.items.drop_range(at.read, end);
                }
                self.failed.store(true, Ordering::Relaxed);
                let mut end = self.end.lock();
                end.failed_chunks.push(chunk);
                if !end.panicked {
                    end.panicked = true;
                    end.error = Some(TaskError::from_panic(payload));
                }
            }
        }
    }

    /// A runner is done (ran or failed); the last one finishes the map.
    fn leave(&self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish();
        }
    }

    /// Hands over the output, or cleans up a failed map. Called once, by the last runner.
    fn finish(&self) {
        let mut end = self.end.lock();
        let claimed = self.next.load(Ordering::Relaxed).min(self.chunks);
        let complete = claimed == self.chunks && end.failed_chunks.is_empty();
        // Every runner has left (`active` reached zero with `AcqRel`), so this thread
        // alone owns both buffers; they were allocated by `Vec` with these capacities.
        if complete {
            // SAFETY: see above; every slot `0..len` was written.
            let output =
                unsafe { Vec::from_raw_parts(self.output, self.len, self.output_capacity) };
            if !self.in_place {
                // SAFETY: see above; the items were all read.
                unsafe { self.items.free() };
            }
            if let Some(promise) = end.promise.take() {
                promise.set_result(output);
            }
            return;
        }
        let failed = std::mem::take(&mut end.failed_chunks);
        for chunk in 0..claimed {
            if !failed.contains(&chunk) {
                let (start, stop) = self.bounds(chunk);
                // SAFETY: a claimed chunk that did not fail is complete: all its results
                // are written, and only this thread is left.
                unsafe { drop_range(self.output, start, stop) };
            }
        }
        let unclaimed = (claimed * self.chunksize).min(self.len);
        // SAFETY: chunks from `claimed` on were never claimed, so their items are still
        // there; then both buffers are freed empty (once when they are the same one).
        unsafe {
            self.items.drop_range(unclaimed, self.len);
            drop(Vec::from_raw_parts(self.output, 0, self.output_capacity));
            if !self.in_place {
                self.items.free();
            }
        }
        let error = end.error.take().unwrap_or_else(|| {
            TaskError::Lost("the map's runner tasks ended before every chunk ran".into())
        });
        if let Some(promise) = end.promise.take() {
            promise.set_error(error);
        }
    }
}

/// Drops the values in slots `from..to` of `base`.
///
/// # Safety
///
/// Those slots hold initialised values that nobody else touches or drops.
unsafe fn drop_range<V>(base: *mut V, from: usize, to: usize) {
    if from < to {
        // SAFETY: the caller's contract.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                base.add(from),
                to - from,
            ))
        };
    }
}

impl<S, T, F> Runnable for MapJob<S, T, F>
where
    S: Items,
    T: Send + Sync + 'static,
    F: Fn(S::Item) -> T + Send + Sync + 'static,
{
    fn run(self: Arc<Self>) {
        self.work();
        self.leave();
    }

    fn fail(self: Arc<Self>, error: TaskError) {
        {
            let mut end = self.end.lock();
            if end.error.is_none() {
                end.error = Some(error);
            }
        }
        // The other runners (if any runs) still take every chunk; if none does, the map
        // fails with this error.
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Counts live values so leaks and double drops show.
    struct Tracked(Arc<AtomicUsize>, u32);

    impl Tracked {
        fn new(live: &Arc<AtomicUsize>, v: u32) -> Tracked {
            live.fetch_add(1, Ordering::SeqCst);
            Tracked(live.clone(), v)
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A stop flag nobody sets.
    fn go() -> Arc<AtomicBool> {
        Arc::new(AtomicBool::new(false))
    }

    fn items(live: &Arc<AtomicUsize>, n: u32) -> Vec<Tracked> {
        (0..n).map(|i| Tracked::new(live, i)).collect()
    }

    /// Different layouts in and out: a separate output buffer.
    #[test]
    fn two_runners_fill_every_slot_in_order() {
        let live = Arc::new(AtomicUsize::new(0));
        let (promise, future) = Promise::new();
        let out_live = live.clone();
        let job = MapJob::new(
            Gathered::new(items(&live, 10)),
            3,
            move |t: Tracked| (Tracked::new(&out_live, t.1 * 2), u64::from(t.1)),
            promise,
            2,
            go(),
        );
        assert!(!job.in_place);
        assert_eq!(job.chunks(), 4);
        job.clone().run();
        job.run();
        let out = future.into_result().unwrap();
        let doubled: Vec<u32> = out.iter().map(|(t, _)| t.1).collect();
        assert_eq!(doubled, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
        assert_eq!(
            live.load(Ordering::SeqCst),
            10,
            "inputs dropped, outputs alive"
        );
        drop(out);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_panicking_chunk_fails_the_map_and_nothing_leaks() {
        let live = Arc::new(AtomicUsize::new(0));
        let (promise, future) = Promise::new();
        let out_live = live.clone();
        let job = MapJob::new(
            Gathered::new(items(&live, 10)),
            4,
            move |t: Tracked| {
                assert_ne!(t.1, 5, "item five");
                Tracked::new(&out_live, t.1)
            },
            promise,
            1,
            go(),
        );
        job.run();
        let error = future.into_result().map(|_| ()).unwrap_err();
        assert!(
            error.is_panic() && error.to_string().contains("item five"),
            "{error}"
        );
        assert_eq!(live.load(Ordering::SeqCst), 0, "no item or result leaked");
    }

    #[test]
    fn runners_failed_before_running_fail_the_map_and_drop_the_items() {
        let live = Arc::new(AtomicUsize::new(0));
        let (promise, future) = Promise::new();
        let job = MapJob::new(
            Gathered::new(items(&live, 5)),
            1,
            |t: Tracked| t.1,
            promise,
            2,
            go(),
        );
        job.clone().fail(TaskError::Cancelled);
        assert!(!future.done(), "one runner may still run");
        job.fail(TaskError::Lost("dropped".into()));
        assert!(future.into_result().unwrap_err().is_cancelled());
        assert_eq!(live.load(Ordering::SeqCst), 0);
    }

    /// Same layout in and out (`Tracked` → `Tracked`): written in place; a panic in the
    /// middle of a chunk leaves a buffer of results, items and holes, all dropped right.
    #[test]
    fn in_place_results_and_a_panic_in_place_leak_nothing() {
        let live = Arc::new(AtomicUsize::new(0));
        let (promise, future) = Promise::new();
        let out_live = live.clone();
        let job = MapJob::new(
            Gathered::new(items(&live, 9)),
            3,
            move |t: Tracked| Tracked::new(&out_live, t.1 + 100),
            promise,
            1,
            go(),
        );
        assert!(job.in_place);
        job.run();
        let out = future.into_result().unwrap();
        assert_eq!(
            out.iter().map(|t| t.1).collect::<Vec<_>>(),
            (100..109).collect::<Vec<_>>()
        );
        drop(out);
        assert_eq!(live.load(Ordering::SeqCst), 0);

        let (promise, future) = Promise::new();
        let out_live = live.clone();
        let job = MapJob::new(
            Gathered::new(items(&live, 9)),
            3,
            move |t: Tracked| {
                assert_ne!(t.1, 4, "item four");
                Tracked::new(&out_live, t.1)
            },
            promise,
            2,
            go(),
        );
        job.clone().run();
        job.run();
        assert!(future.into_result().map(|_| ()).unwrap_err().is_panic());
        assert_eq!(live.load(Ordering::SeqCst), 0, "no item or result leaked");
    }

    #[test]
    fn one_runner_failed_the_other_does_all_the_work() {
        let (promise, future) = Promise::new();
        let job = MapJob::new(
            Gathered::new((0..7u32).collect()),
            2,
            |x: u32| x + 1,
            promise,
            2,
            go(),
        );
        job.clone().fail(TaskError::Cancelled);
        job.run();
        assert_eq!(future.into_result().unwrap(), [1, 2, 3, 4, 5, 6, 7]);
    }

    /// `terminate` during a map: the runner finishes the chunk it is in, claims no more,
    /// and the map fails as cancelled with every item and result dropped.
    #[test]
    fn a_stopped_map_claims_no_more_chunks() {
        let live = Arc::new(AtomicUsize::new(0));
        let (promise, future) = Promise::new();
        let stop = go();
        let (out_live, flag) = (live.clone(), stop.clone());
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let job = MapJob::new(
            Gathered::new(items(&live, 20)),
            2,
            move |t: Tracked| {
                r.fetch_add(1, Ordering::SeqCst);
                if t.1 == 2 {
                    flag.store(true, Ordering::SeqCst);
                }
                (Tracked::new(&out_live, t.1), 0u8)
            },
            promise,
            1,
            stop,
        );
        job.run();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            4,
            "chunk [2, 3] ends, no chunk after"
        );
        assert!(future.into_result().map(|_| ()).unwrap_err().is_cancelled());
        assert_eq!(live.load(Ordering::SeqCst), 0, "no item or result leaked");
    }
}
