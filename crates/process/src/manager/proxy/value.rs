//! `ValueProxy`: Python's `Manager().Value(typecode, value)`.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::error::ManagerError;
use crate::manager::protocol::Op;
use crate::manager::proxy::{Core, bytes, decode, encode, proxy_common, swapped, unit};

/// One value held by a manager (Python's `Manager().Value('i', 0)`), any serde type.
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let v = m.value(0u64)?;
/// v.set(&5)?;
/// assert_eq!(v.update(|x| x + 1)?, 6);
/// assert_eq!(v.get()?, 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ValueProxy<T> {
    core: Core,
    _t: PhantomData<fn(T) -> T>,
}

proxy_common!(ValueProxy<T>);

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    pub(crate) fn new(core: Core) -> Self {
        ValueProxy {
            core,
            _t: PhantomData,
        }
    }

    /// `v.value`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone; [`ManagerError::Decode`].
    pub fn get(&self) -> Result<T, ManagerError> {
        bytes(self.core.call(Op::Load {
            obj: self.core.obj(),
        })?)
    }

    /// `v.value = x`.
    ///
    /// # Errors
    ///
    /// As [`get`](ValueProxy::get); [`ManagerError::Encode`].
    pub fn set(&self, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Store {
            obj: self.core.obj(),
            value: encode(value)?,
        })?)
    }

    /// Atomically replaces the value with `f(value)` and returns the new one (`v.value
    /// += 1` that loses no update, without a lock: `f` reruns on conflict).
    ///
    /// # Errors
    ///
    /// As [`set`](ValueProxy::set).
    pub fn update(&self, mut f: impl FnMut(T) -> T) -> Result<T, ManagerError> {
        let mut raw = match self.core.call(Op::Load {
            obj: self.core.obj(),
        })? {
            crate::manager::protocol::Reply::Bytes(b) => b,
            other => return Err(crate::manager::client::unexpected(&other)),
        };
        loop {
            let new = f(decode(&raw)?);
            let (done, now) = swapped(self.core.call(Op::Swap {
                obj: self.core.obj(),
                expect: raw,
                new: encode(&new)?,
            })?)?;
            if done {
                return Ok(new);
            }
            raw = now.unwrap_or_default();
        }
    }
}
