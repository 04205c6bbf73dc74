//! `ListProxy`: Python's `Manager().list()`.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::Pending;
use crate::manager::error::ManagerError;
use crate::manager::protocol::Op;
use crate::manager::proxy::{Core, bytes, encode, len, many, proxy_common, unit};

/// A `list` held by a manager (Python's `Manager().list()`). Indices follow Python:
/// negative ones count from the end.
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let l = m.list::<u32>()?;
/// l.push(&1)?;
/// l.extend(&[2, 3])?;
/// assert_eq!(l.get(-1)?, 3);
/// assert_eq!(l.pop()?, 3);
/// assert_eq!(l.to_vec()?, vec![1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ListProxy<T> {
    core: Core,
    _t: PhantomData<fn(T) -> T>,
}

proxy_common!(ListProxy<T>);

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    pub(crate) fn new(core: Core) -> Self {
        ListProxy {
            core,
            _t: PhantomData,
        }
    }

    /// `l.append(v)`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone; [`ManagerError::Encode`].
    pub fn push(&self, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Push {
            obj: self.core.obj(),
            value: encode(value)?,
        })?)
    }

    /// Sends `l.append(v)` without waiting.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push), for the sending.
    pub fn start_push(&self, value: &T) -> Result<Pending<()>, ManagerError> {
        let op = Op::Push {
            obj: self.core.obj(),
            value: encode(value)?,
        };
        self.core.start(op, unit)
    }

    /// `l.extend(values)`, in one round trip.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn extend(&self, values: &[T]) -> Result<(), ManagerError> {
        let values = values.iter().map(encode).collect::<Result<_, _>>()?;
        unit(self.core.call(Op::Extend {
            obj: self.core.obj(),
            values,
        })?)
    }

    /// `l[index]`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::IndexOutOfRange`]; as [`push`](ListProxy::push).
    pub fn get(&self, index: i64) -> Result<T, ManagerError> {
        bytes(self.core.call(Op::Index {
            obj: self.core.obj(),
            index,
        })?)
    }

    /// `l[index] = value`.
    ///
    /// # Errors
    ///
    /// As [`get`](ListProxy::get).
    pub fn set(&self, index: i64, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::SetIndex {
            obj: self.core.obj(),
            index,
            value: encode(value)?,
        })?)
    }

    /// `l.insert(index, value)` (an index past either end inserts at that end).
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn insert(&self, index: i64, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Insert {
            obj: self.core.obj(),
            index,
            value: encode(value)?,
        })?)
    }

    /// `l.pop()`: removes and returns the last item.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Empty`] on an empty list; as [`push`](ListProxy::push).
    pub fn pop(&self) -> Result<T, ManagerError> {
        bytes(self.core.call(Op::Pop {
            obj: self.core.obj(),
            index: None,
        })?)
    }

    /// `l.pop(index)`.
    ///
    /// # Errors
    ///
    /// As [`pop`](ListProxy::pop) and [`get`](ListProxy::get).
    pub fn pop_at(&self, index: i64) -> Result<T, ManagerError> {
        bytes(self.core.call(Op::Pop {
            obj: self.core.obj(),
            index: Some(index),
        })?)
    }

    /// `len(l)`.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn len(&self) -> Result<usize, ManagerError> {
        len(self.core.call(Op::Len {
            obj: self.core.obj(),
        })?)
    }

    /// `len(l) == 0`.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn is_empty(&self) -> Result<bool, ManagerError> {
        Ok(self.len()? == 0)
    }

    /// `l[:]`: a snapshot of the whole list.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn to_vec(&self) -> Result<Vec<T>, ManagerError> {
        many(self.core.call(Op::Values {
            obj: self.core.obj(),
        })?)
    }

    /// `l.clear()`.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn clear(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Clear {
            obj: self.core.obj(),
        })?)
    }
}
