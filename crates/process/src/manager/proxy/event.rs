//! `EventProxy`: Python's `Manager().Event()`.

use std::time::Duration;

use crate::manager::error::ManagerError;
use crate::manager::protocol::Op;
use crate::manager::proxy::{Core, boolean, proxy_common, unit};

/// An event flag held by a manager (Python's `Manager().Event()`): processes wait
/// until one of them sets it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let ready = m.event()?;
/// assert!(!ready.wait_timeout(Duration::from_millis(10))?);
/// ready.set()?;
/// ready.wait()?;
/// assert!(ready.is_set()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EventProxy {
    core: Core,
    _t: std::marker::PhantomData<()>,
}

proxy_common!(EventProxy);

impl EventProxy {
    pub(crate) fn new(core: Core) -> Self {
        EventProxy {
            core,
            _t: std::marker::PhantomData,
        }
    }

    /// `event.set()`: sets the flag and wakes every waiter.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn set(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::SetEvent {
            obj: self.core.obj(),
        })?)
    }

    /// `event.clear()`.
    ///
    /// # Errors
    ///
    /// As [`set`](EventProxy::set).
    pub fn clear(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::ClearEvent {
            obj: self.core.obj(),
        })?)
    }

    /// `event.is_set()`.
    ///
    /// # Errors
    ///
    /// As [`set`](EventProxy::set).
    pub fn is_set(&self) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::IsSet {
            obj: self.core.obj(),
        })?)
    }

    fn wait_ms(&self, timeout_ms: Option<u64>) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::WaitEvent {
            obj: self.core.obj(),
            timeout_ms,
        })?)
    }

    /// `event.wait()`: returns once the flag is set.
    ///
    /// # Errors
    ///
    /// As [`set`](EventProxy::set).
    pub fn wait(&self) -> Result<(), ManagerError> {
        self.wait_ms(None).map(drop)
    }

    /// `event.wait(timeout)`: whether the flag was set within `timeout`.
    ///
    /// # Errors
    ///
    /// As [`set`](EventProxy::set).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, ManagerError> {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.wait_ms(Some(ms))
    }
}
