//! What a `ProcessPool` hands back: `ApplyResult` (Python's `ApplyResult`/`MapResult`),
//! the ordered and unordered `imap` iterators, and the completers that fill them.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::de::DeserializeOwned;

use super::engine::Completer;
use super::error::{CodecFailure, CodecStage};
use super::wire::{self, Item, Items};
use crate::error::{NotReadyError, ResultTimeoutError, TaskError};
use crate::future::Future;
use crate::promise::Promise;

fn codec(stage: CodecStage, panicked: bool, message: String) -> TaskError {
    TaskError::Failed(Arc::new(CodecFailure {
        stage,
        panicked,
        message,
    }))
}

/// Decodes one item's outcome (on the manager thread: a `Deserialize` that panics fails
/// the task, never the manager).
pub(crate) fn decode<R: DeserializeOwned>(item: Item<'_>) -> Result<R, TaskError> {
    let text = || String::from_utf8_lossy(item.bytes).into_owned();
    match item.kind {
        wire::OK => match std::panic::catch_unwind(|| postcard::from_bytes::<R>(item.bytes)) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(codec(CodecStage::ResultInCaller, false, e.to_string())),
            Err(payload) => Err(codec(
                CodecStage::ResultInCaller,
                true,
                crate::error::panic_message(&*payload),
            )),
        },
        wire::PANICKED => Err(TaskError::Panicked(
            String::from_utf8_lossy(item.bytes).into(),
        )),
        wire::BAD_ARGS => Err(codec(CodecStage::ArgumentsInWorker, false, text())),
        wire::BAD_ARGS_PANIC => Err(codec(CodecStage::ArgumentsInWorker, true, text())),
        wire::BAD_RESULT => Err(codec(CodecStage::ResultInWorker, false, text())),
        wire::BAD_RESULT_PANIC => Err(codec(CodecStage::ResultInWorker, true, text())),
        // The function reference or the frame could not be read: nothing ran.
        _ => Err(codec(CodecStage::ArgumentsInWorker, false, text())),
    }
}

/// A map's progress: items done out of the total so far, plus an optional hook.
pub(crate) struct Progress {
    done: AtomicUsize,
    total: AtomicUsize,
    hook: Option<Box<dyn Fn(usize, usize) + Send + Sync>>,
}

impl Progress {
    pub(crate) fn new(
        total: usize,
        hook: Option<Box<dyn Fn(usize, usize) + Send + Sync>>,
    ) -> Arc<Progress> {
        Arc::new(Progress {
            done: AtomicUsize::new(0),
            total: AtomicUsize::new(total),
            hook,
        })
    }

    fn add(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::AcqRel) + n;
        if let Some(hook) = &self.hook {
            hook(done, self.total.load(Ordering::Acquire));
        }
    }

    pub(crate) fn grow(&self, n: usize) {
        self.total.fetch_add(n, Ordering::AcqRel);
    }

    pub(crate) fn done(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    pub(crate) fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }
}

/// A single task's completer: a promise.
pub(crate) struct One<R: Send + Sync + 'static> {
    pub(crate) promise: Promise<R>,
}

impl<R: DeserializeOwned + Send + Sync + 'static> Completer for One<R> {
    fn start(&mut self) -> bool {
        self.promise.set_running()
    }

    fn finish(self: Box<Self>, mut items: Items<'_>) {
        match items.next() {
            Some(item) => self.promise.complete(decode(item)),
            None => self
                .promise
                .set_error(TaskError::Lost("the worker sent an empty reply".into())),
        }
    }

    fn fail(self: Box<Self>, error: TaskError) {
        if error.is_cancelled() && self.promise.cancel() {
            return;
        }
        self.promise.set_error(error);
    }
}

/// A whole map's assembly (`map`, `map_async`, `starmap`): chunk outcomes by chunk
/// index; the last one completes the promise with the values in order, or the first
/// failure by position (Python's `map` raises the first failed chunk's error).
pub(crate) struct Assembly<R: Send + Sync + 'static> {
    state: Mutex<AssemblyState<R>>,
    progress: Arc<Progress>,
}

type ChunkOutcome<R> = Result<Vec<R>, TaskError>;

struct AssemblyState<R: Send + Sync + 'static> {
    chunks: Vec<Option<ChunkOutcome<R>>>,
    left: usize,
    items: usize,
    promise: Option<Promise<Vec<R>>>,
}

impl<R: Send + Sync + 'static> Assembly<R> {
    pub(crate) fn new(
        chunks: usize,
        items: usize,
        promise: Promise<Vec<R>>,
        progress: Arc<Progress>,
    ) -> Arc<Assembly<R>> {
        let mut slots = Vec::with_capacity(chunks);
        slots.resize_with(chunks, || None);
        let a = Arc::new(Assembly {
            state: Mutex::new(AssemblyState {
                chunks: slots,
                left: chunks,
                items,
                promise: Some(promise),
            }),
            progress,
        });
        if chunks == 0 {
            a.finish_if_done();
        }
        a
    }

    fn put(&self, chunk: usize, len: usize, outcome: ChunkOutcome<R>) {
        {
            let mut st = self.state.lock();
            if st.chunks[chunk].is_none() {
                st.chunks[chunk] = Some(outcome);
                st.left -= 1;
            }
        }
        self.progress.add(len);
        self.finish_if_done();
    }

    fn finish_if_done(&self) {
        let (promise, chunks, items) = {
            let mut st = self.state.lock();
            if st.left > 0 || st.promise.is_none() {
                return;
            }
            (st.promise.take(), std::mem::take(&mut st.chunks), st.items)
        };
        let Some(promise) = promise else { return };
        let mut values = Vec::with_capacity(items);
        for chunk in chunks {
            match chunk {
                Some(Ok(v)) => values.extend(v),
                Some(Err(e)) => return promise.set_error(e),
                None => return promise.set_error(TaskError::Lost("a chunk was lost".into())),
            }
        }
        promise.set_result(values);
    }

    pub(crate) fn start(&self) -> bool {
        let st = self.state.lock();
        match &st.promise {
            Some(p) if !p.is_cancelled() => {
                let _ = p.set_running();
                true
            }
            _ => false,
        }
    }
}

/// An `imap`'s sink: outcomes by index (ordered) or in arrival order (unordered).
pub(crate) struct Stream<R> {
    state: Mutex<StreamState<R>>,
    cond: Condvar,
    pub(crate) progress: Arc<Progress>,
}

struct StreamState<R> {
    by_index: HashMap<usize, Result<R, TaskError>>,
    arrived: VecDeque<Result<R, TaskError>>,
    ordered: bool,
    abandoned: bool,
}

impl<R> Stream<R> {
    pub(crate) fn new(ordered: bool, progress: Arc<Progress>) -> Arc<Stream<R>> {
        Arc::new(Stream {
            state: Mutex::new(StreamState {
                by_index: HashMap::new(),
                arrived: VecDeque::new(),
                ordered,
                abandoned: false,
            }),
            cond: Condvar::new(),
            progress,
        })
    }

    fn put(&self, start: usize, len: usize, outcome: ChunkOutcome<R>)
    where
        TaskError: Clone,
    {
        {
            let mut st = self.state.lock();
            let outcomes: Vec<Result<R, TaskError>> = match outcome {
                Ok(values) => values.into_iter().map(Ok).collect(),
                Err(e) => (0..len).map(|_| Err(e.clone())).collect(),
            };
            for (k, o) in outcomes.into_iter().enumerate() {
                if st.ordered {
                    st.by_index.insert(start + k, o);
                } else {
                    st.arrived.push_back(o);
                }
            }
        }
        self.cond.notify_all();
        self.progress.add(len);
    }

    /// Waits for item `index` (ordered) or any item (unordered); `None` on timeout.
    pub(crate) fn take(
        &self,
        index: usize,
        deadline: Option<Instant>,
    ) -> Option<Result<R, TaskError>> {
        let mut st = self.state.lock();
        loop {
            let got = if st.ordered {
                st.by_index.remove(&index)
            } else {
                st.arrived.pop_front()
            };
            if got.is_some() {
                return got;
            }
            match deadline {
                None => self.cond.wait(&mut st),
                Some(d) => {
                    if self.cond.wait_until(&mut st, d).timed_out() {
                        return None;
                    }
                }
            }
        }
    }

    pub(crate) fn abandon(&self) {
        self.state.lock().abandoned = true;
    }

    fn is_abandoned(&self) -> bool {
        self.state.lock().abandoned
    }
}

/// Where a chunk's outcomes go.
pub(crate) enum Sink<R: Send + Sync + 'static> {
    Assembly(Arc<Assembly<R>>),
    Stream(Arc<Stream<R>>),
}

/// The completer of one chunk of a map: chunk number `index`, `len` items from item
/// `start`. The worker maps the whole chunk in one call (`FnRef::of_map`).
pub(crate) struct Chunk<R: Send + Sync + 'static> {
    pub(crate) sink: Sink<R>,
    pub(crate) index: usize,
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl<R: Send + Sync + 'static> Chunk<R> {
    fn put(&self, outcome: ChunkOutcome<R>) {
        match &self.sink {
            Sink::Assembly(a) => a.put(self.index, self.len, outcome),
            Sink::Stream(s) => s.put(self.start, self.len, outcome),
        }
    }
}

impl<R: DeserializeOwned + Send + Sync + 'static> Completer for Chunk<R> {
    fn start(&mut self) -> bool {
        match &self.sink {
            Sink::Assembly(a) => a.start(),
            Sink::Stream(s) => !s.is_abandoned(),
        }
    }

    fn finish(self: Box<Self>, mut items: Items<'_>) {
        let outcome = match items.next().map(decode::<Vec<R>>) {
            Some(Ok(values)) if values.len() == self.len => Ok(values),
            Some(Ok(_)) | None => Err(TaskError::Lost(
                "the worker's reply did not match its chunk".into(),
            )),
            Some(Err(e)) => Err(e),
        };
        self.put(outcome);
    }

    fn fail(self: Box<Self>, error: TaskError) {
        self.put(Err(error));
    }
}

/// The result of [`ProcessPool::apply_async`](crate::ProcessPool::apply_async) and, as
/// [`MapResult`], of `map_async`/`starmap_async` (Python's `ApplyResult`/`MapResult`).
pub struct ApplyResult<T> {
    pub(crate) future: Future<T>,
    pub(crate) progress: Option<Arc<Progress>>,
}

/// The result of `map_async`: an [`ApplyResult`] of the whole list (Python's `MapResult`,
/// a subclass of `ApplyResult`).
pub type MapResult<T> = ApplyResult<Vec<T>>;

impl<T> ApplyResult<T> {
    /// Python `get()`: waits, then the value (or the task's error; for a map, the first
    /// failed item's).
    ///
    /// # Errors
    ///
    /// The task's [`TaskError`].
    pub fn get(&self) -> Result<&T, TaskError> {
        self.spin();
        self.future.result()
    }

    /// Polls for the outcome briefly before the future's own wait sleeps: a short task's
    /// reply then finds this thread awake (see `spin.rs`).
    fn spin(&self) {
        super::spin::until(|| self.future.done());
    }

    /// Python `get(timeout)`.
    ///
    /// # Errors
    ///
    /// [`ResultTimeoutError::Timeout`] if not ready in time, or the task's error.
    pub fn get_timeout(&self, timeout: Duration) -> Result<&T, ResultTimeoutError> {
        self.future.result_timeout(timeout)
    }

    /// Waits, then moves the value out.
    ///
    /// # Errors
    ///
    /// The task's [`TaskError`].
    pub fn into_result(self) -> Result<T, TaskError> {
        self.spin();
        self.future.into_result()
    }

    /// Python `wait()`.
    pub fn wait(&self) {
        self.spin();
        self.future.wait()
    }

    /// Python `wait(timeout)`; `true` if ready.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.future.wait_timeout(timeout)
    }

    /// Python `ready()`.
    pub fn ready(&self) -> bool {
        self.future.done()
    }

    /// Python `successful()`.
    ///
    /// # Errors
    ///
    /// [`NotReadyError`] before the result is ready (Python: `ValueError`).
    pub fn successful(&self) -> Result<bool, NotReadyError> {
        match self.future.try_result() {
            Some(r) => Ok(r.is_ok()),
            None => Err(NotReadyError),
        }
    }

    /// Items finished so far (a map's progress, for a progress bar; 0 or 1 for `apply`).
    pub fn completed(&self) -> usize {
        match &self.progress {
            Some(p) => p.done(),
            None => usize::from(self.future.done()),
        }
    }

    /// Items in total (1 for `apply`).
    pub fn total(&self) -> usize {
        self.progress.as_ref().map_or(1, |p| p.total())
    }

    /// The underlying [`Future`] (for `wait`, `as_completed`, `add_done_callback`).
    pub fn future(&self) -> &Future<T> {
        &self.future
    }

    /// Cancels the task: a queued one is dropped, a running one has its worker terminated.
    pub fn cancel(&self) -> bool {
        self.future.cancel()
    }
}

impl<T> fmt::Debug for ApplyResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyResult")
            .field("ready", &self.future.done())
            .finish_non_exhaustive()
    }
}

/// Feeds an `imap` lazily: items are chunked and submitted as results are taken.
pub(crate) trait Feeder<R>: Send {
    /// Submits the next chunk; `false` when the input is exhausted or refused.
    fn feed(&mut self, stream: &Arc<Stream<R>>) -> Option<usize>;
}

/// Python's `IMapIterator` (`pool.imap`): results in input order, computed lazily — at
/// most a window of chunks is in flight, so an endless input works. Each item is
/// `Ok(value)` or its [`TaskError`]; [`completed`](IMapIterator::completed) counts items
/// finished so far (for a progress bar). Dropping it abandons the chunks not started.
pub struct IMapIterator<'a, R: Send + Sync + 'static> {
    pub(crate) stream: Arc<Stream<R>>,
    pub(crate) feeder: Box<dyn Feeder<R> + 'a>,
    pub(crate) next: usize,
    pub(crate) submitted: usize,
    pub(crate) window: usize,
    pub(crate) exhausted: bool,
    pub(crate) deadline: Option<Instant>,
    pub(crate) _p: PhantomData<&'a ()>,
}

impl<R: Send + Sync + 'static> IMapIterator<'_, R> {
    fn refill(&mut self) {
        while !self.exhausted && self.submitted < self.next + self.window {
            match self.feeder.feed(&self.stream) {
                Some(n) => self.submitted += n,
                None => self.exhausted = true,
            }
        }
    }

    /// Items finished so far.
    pub fn completed(&self) -> usize {
        self.stream.progress.done()
    }

    /// Items submitted so far.
    pub fn submitted(&self) -> usize {
        self.submitted
    }

    /// Gives each `next` at most `timeout` (Python's `next(timeout)`): an item not ready
    /// in time ends the iteration with `Err(TaskError::Lost("timed out"))`.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, ResultTimeoutError>> {
        self.deadline = Some(Instant::now() + timeout);
        let r = self.take();
        self.deadline = None;
        r
    }

    fn take(&mut self) -> Option<Result<R, ResultTimeoutError>> {
        self.refill();
        if self.next >= self.submitted {
            return None;
        }
        let got = self.stream.take(self.next, self.deadline);
        match got {
            Some(r) => {
                self.next += 1;
                Some(r.map_err(ResultTimeoutError::Failed))
            }
            None => Some(Err(ResultTimeoutError::Timeout)),
        }
    }
}

impl<R: Send + Sync + 'static> Iterator for IMapIterator<'_, R> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Result<R, TaskError>> {
        match self.take()? {
            Ok(v) => Some(Ok(v)),
            Err(ResultTimeoutError::Failed(e)) => Some(Err(e)),
            Err(ResultTimeoutError::Timeout) => None,
        }
    }
}

impl<R: Send + Sync + 'static> Drop for IMapIterator<'_, R> {
    fn drop(&mut self) {
        self.stream.abandon();
    }
}

impl<R: Send + Sync + 'static> fmt::Debug for IMapIterator<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IMapIterator")
            .field("next", &self.next)
            .field("submitted", &self.submitted)
            .field("completed", &self.completed())
            .finish_non_exhaustive()
    }
}

/// Python's `IMapUnorderedIterator` (`pool.imap_unordered`): an [`IMapIterator`] that
/// yields results as they finish.
pub type IMapUnorderedIterator<'a, R> = IMapIterator<'a, R>;
