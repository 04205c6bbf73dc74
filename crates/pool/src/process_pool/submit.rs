//! Turning calls and map inputs into tasks (serialised here, in the caller).

use std::marker::PhantomData;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use skein_process::{FN_REF_BYTES, FnRef};

use super::call::Call;
use super::engine::{Engine, Refusal, Task, TaskId};
use super::results::{
    ApplyResult, Assembly, Chunk, Feeder, IMapIterator, MapResult, One, Progress, Sink, Stream,
};
use super::wire::Payload;
use crate::error::{EncodeError, PoolError, SubmitError, TaskError};
use crate::future::Future;
use crate::promise::Promise;

pub(crate) type ProgressHook = Box<dyn Fn(usize, usize) + Send + Sync>;

/// Submits one call; the future's `cancel` reaches a running task.
pub(crate) fn submit_call<A, R>(
    engine: &Arc<Engine>,
    job: Call<A, R>,
) -> Result<Future<R>, SubmitError<Call<A, R>>>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let mut payload = Payload::new();
    if let Err(e) = payload.push(&job.args) {
        return Err(SubmitError::Encode(job, EncodeError(e.into())));
    }
    let (promise, future) = Promise::new();
    let id = engine.new_id();
    let weak = Arc::downgrade(engine);
    let _ = promise.on_cancel_running(move || weak.upgrade().is_some_and(|e| e.cancel_running(id)));
    let task = Task {
        f: FnRef::of(job.f).to_bytes(),
        payload: payload.bytes,
        completer: Box::new(One { promise }),
        timeout: job.timeout,
        started: false,
    };
    match engine.submit(id, task) {
        Ok(()) => Ok(future),
        Err((Refusal::ShutDown, _)) => Err(SubmitError::ShutDown(job)),
        Err((Refusal::Broken, _)) => Err(SubmitError::Broken(job)),
        Err((Refusal::Start(e), _)) => Err(SubmitError::Start(job, e)),
    }
}

/// Python's default `chunksize` for `map`: `ceil(len / (4 × workers))`.
pub(crate) fn default_chunksize(len: usize, workers: usize) -> usize {
    len.div_ceil(workers.max(1) * 4).max(1)
}

fn refusal_error(r: Refusal) -> PoolError {
    match r {
        Refusal::ShutDown | Refusal::Broken => PoolError::NotRunning,
        Refusal::Start(e) => PoolError::Start(e),
    }
}

/// A whole map: every item serialised now (a failure queues nothing), in chunks.
pub(crate) fn submit_map<T, R>(
    engine: &Arc<Engine>,
    f: [u8; FN_REF_BYTES],
    items: Vec<T>,
    chunksize: Option<usize>,
    hook: Option<ProgressHook>,
) -> Result<MapResult<R>, PoolError>
where
    T: Serialize,
    R: DeserializeOwned + Send + Sync + 'static,
{
    let len = items.len();
    let chunksize = chunksize
        .unwrap_or_else(|| default_chunksize(len, engine.opts.workers))
        .max(1);
    let mut payloads = Vec::with_capacity(len.div_ceil(chunksize));
    for chunk in items.chunks(chunksize) {
        // The whole chunk is one argument: the worker maps it in one call.
        let mut p = Payload::new();
        p.push(chunk)
            .map_err(|e| PoolError::Encode(EncodeError(e.into())))?;
        payloads.push((p, chunk.len()));
    }
    let (promise, future) = Promise::new();
    let progress = Progress::new(len, hook);
    let assembly = Assembly::new(payloads.len(), len, promise, progress.clone());
    let mut tasks: Vec<(TaskId, Task)> = Vec::with_capacity(payloads.len());
    let mut start = 0;
    for (index, (p, n)) in payloads.into_iter().enumerate() {
        let chunk = Chunk {
            sink: Sink::Assembly(assembly.clone()),
            index,
            start,
            len: n,
        };
        start += n;
        tasks.push((
            engine.new_id(),
            Task {
                f,
                payload: p.bytes,
                completer: Box::new(chunk),
                timeout: None,
                started: false,
            },
        ));
    }
    engine.submit_many(tasks).map_err(refusal_error)?;
    Ok(ApplyResult {
        future,
        progress: Some(progress),
    })
}

/// Feeds an imap from its input iterator, a chunk at a time.
pub(crate) struct IterFeeder<T, I> {
    pub(crate) engine: Arc<Engine>,
    pub(crate) f: [u8; FN_REF_BYTES],
    pub(crate) items: I,
    pub(crate) chunksize: usize,
    pub(crate) index: usize,
    pub(crate) chunks: usize,
    pub(crate) _t: PhantomData<fn() -> T>,
}

impl<T, I, R> Feeder<R> for IterFeeder<T, I>
where
    T: Serialize,
    I: Iterator<Item = T> + Send,
    R: DeserializeOwned + Send + Sync + 'static,
{
    fn feed(&mut self, stream: &Arc<Stream<R>>) -> Option<usize> {
        let items: Vec<T> = self.items.by_ref().take(self.chunksize).collect();
        let n = items.len();
        if n == 0 {
            return None;
        }
        let mut p = Payload::new();
        let bad = p.push(&items).err();
        stream.progress.grow(n);
        let chunk = Box::new(Chunk {
            sink: Sink::Stream(stream.clone()),
            index: self.chunks,
            start: self.index,
            len: n,
        });
        self.index += n;
        self.chunks += 1;
        if let Some(e) = bad {
            // An item that cannot be serialised fails its chunk here, in the caller.
            let e = TaskError::Failed(Arc::new(EncodeError(e.into())));
            super::engine::Completer::fail(chunk, e);
            return Some(n);
        }
        let task = Task {
            f: self.f,
            payload: p.bytes,
            completer: chunk,
            timeout: None,
            started: false,
        };
        match self.engine.submit(self.engine.new_id(), task) {
            Ok(()) => Some(n),
            Err((r, task)) => {
                let e = match r {
                    Refusal::Start(e) => TaskError::Lost(e.to_string().into()),
                    _ => TaskError::Lost("the pool is not running".into()),
                };
                task.completer.fail(e);
                Some(n)
            }
        }
    }
}

/// An imap over `items`.
pub(crate) fn imap<'a, T, I, R>(
    engine: &Arc<Engine>,
    f: [u8; FN_REF_BYTES],
    items: I,
    chunksize: Option<usize>,
    ordered: bool,
) -> IMapIterator<'a, R>
where
    T: Serialize + 'a,
    I: Iterator<Item = T> + Send + 'a,
    R: DeserializeOwned + Send + Sync + 'static,
{
    let workers = engine.opts.workers;
    let chunksize = chunksize
        .unwrap_or_else(|| match items.size_hint() {
            (lo, Some(hi)) if lo == hi => default_chunksize(lo, workers),
            _ => 1,
        })
        .max(1);
    let stream = Stream::new(ordered, Progress::new(0, None));
    IMapIterator {
        stream,
        feeder: Box::new(IterFeeder {
            engine: engine.clone(),
            f,
            items,
            chunksize,
            index: 0,
            chunks: 0,
            _t: PhantomData,
        }),
        next: 0,
        submitted: 0,
        window: 2 * workers * chunksize,
        exhausted: false,
        deadline: None,
        _p: PhantomData,
    }
}
