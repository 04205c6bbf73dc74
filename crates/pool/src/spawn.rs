//! The one place that starts OS threads for pools.

use std::io;
use std::thread::JoinHandle;

/// Starts a named worker thread.
pub(crate) fn spawn<F>(name: String, stack_size: Option<usize>, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let mut builder = std::thread::Builder::new().name(name);
    if let Some(size) = stack_size {
        builder = builder.stack_size(size);
    }
    builder.spawn(f)
}
