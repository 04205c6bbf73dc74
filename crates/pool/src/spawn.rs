//! The one place that starts OS threads for pools: named skein-threads daemon threads, so
//! they show in `skein_threads::enumerate()` and never hold up the end of `main`.

use std::thread::ThreadId;

use skein_threads::{Builder, JoinHandle, SpawnError};

/// Starts a named worker thread; returns its handle and its std thread id.
pub(crate) fn spawn<F>(
    name: String,
    stack_size: Option<usize>,
    f: F,
) -> Result<(ThreadId, JoinHandle<()>), SpawnError>
where
    F: FnOnce() + Send + 'static,
{
    let mut builder = Builder::new().name(name).daemon(true);
    if let Some(size) = stack_size {
        builder = builder.stack_size(size);
    }
    let handle = builder.spawn(f)?;
    Ok((handle.as_std().thread().id(), handle))
}
