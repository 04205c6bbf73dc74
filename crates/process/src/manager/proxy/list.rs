//! `ListProxy`: Python's `Manager().list()`.

use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::{Pending, unexpected};
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Op, Reply};
use crate::manager::proxy::{Core, boolean, bytes, decode, encode, len, many, proxy_common, unit};

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

    /// `l.count(value)`. Items compare by their serialised bytes, which for the usual
    /// types (integers, strings, derived structs) is `==`; floats differ (`0.0` and
    /// `-0.0` are two values, a `NaN` equals itself).
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn count(&self, value: &T) -> Result<usize, ManagerError> {
        len(self.core.call(Op::Count {
            obj: self.core.obj(),
            value: encode(value)?,
        })?)
    }

    /// `l.index(value)`: the position of the first equal item (compared as in
    /// [`count`](ListProxy::count)).
    ///
    /// # Errors
    ///
    /// [`ManagerError::NotInList`] if there is none (Python's `ValueError`); as
    /// [`push`](ListProxy::push).
    pub fn index(&self, value: &T) -> Result<usize, ManagerError> {
        self.index_in(value, 0..)
    }

    /// `l.index(value, start, stop)`: searches `l[start:stop]` only (Python's slice
    /// bounds: negative counts from the end, out of range is clamped); the position
    /// returned counts from the start of the list.
    ///
    /// # Errors
    ///
    /// As [`index`](ListProxy::index).
    pub fn index_in(&self, value: &T, range: impl RangeBounds<i64>) -> Result<usize, ManagerError> {
        let (start, stop) = slice(range);
        len(self.core.call(Op::Find {
            obj: self.core.obj(),
            value: encode(value)?,
            start,
            stop,
        })?)
    }

    /// `l.remove(value)`: removes the first equal item.
    ///
    /// # Errors
    ///
    /// As [`index`](ListProxy::index).
    pub fn remove(&self, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::RemoveValue {
            obj: self.core.obj(),
            value: encode(value)?,
        })?)
    }

    /// `l.reverse()`, in place on the manager.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn reverse(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Reverse {
            obj: self.core.obj(),
        })?)
    }

    /// `l.sort()` (stable). The manager holds bytes and cannot compare `T`s, so the
    /// proxy fetches the list, sorts it and swaps it in only if the list is unchanged
    /// meanwhile (retrying otherwise): the sort is atomic, and never undoes another
    /// process's change.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn sort(&self) -> Result<(), ManagerError>
    where
        T: Ord,
    {
        self.sort_by(T::cmp)
    }

    /// `l.sort(key=…)` with a comparator, as [`sort`](ListProxy::sort).
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn sort_by(
        &self,
        mut compare: impl FnMut(&T, &T) -> std::cmp::Ordering,
    ) -> Result<(), ManagerError> {
        loop {
            let raw: Vec<Vec<u8>> = match self.core.call(Op::Values {
                obj: self.core.obj(),
            })? {
                Reply::Many(v) => v,
                other => return Err(unexpected(&other)),
            };
            let mut items = raw
                .iter()
                .map(|b| Ok((decode::<T>(b)?, b)))
                .collect::<Result<Vec<_>, ManagerError>>()?;
            items.sort_by(|a, b| compare(&a.0, &b.0));
            let new = items.iter().map(|(_, b)| (*b).clone()).collect();
            let done = boolean(self.core.call(Op::ReplaceIf {
                obj: self.core.obj(),
                expect: raw.clone(),
                new,
            })?)?;
            if done {
                return Ok(());
            }
        }
    }

    /// `l[a:b]`: a snapshot of a slice (Python's bounds: negative counts from the end,
    /// out of range is clamped, `b` before `a` is empty). `get_range(1..)` is `l[1:]`,
    /// `get_range(-2..)` the last two.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn get_range(&self, range: impl RangeBounds<i64>) -> Result<Vec<T>, ManagerError> {
        let (start, stop) = slice(range);
        many(self.core.call(Op::Slice {
            obj: self.core.obj(),
            start,
            stop,
        })?)
    }

    /// `l[a:b] = values`: replaces a slice (bounds as [`get_range`](ListProxy::get_range));
    /// the list grows or shrinks when `values` is longer or shorter than the slice.
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push) (nothing is sent if a value cannot be serialised).
    pub fn set_range(
        &self,
        range: impl RangeBounds<i64>,
        values: &[T],
    ) -> Result<(), ManagerError> {
        let (start, stop) = slice(range);
        let values = values.iter().map(encode).collect::<Result<_, _>>()?;
        unit(self.core.call(Op::SetSlice {
            obj: self.core.obj(),
            start,
            stop,
            values,
        })?)
    }

    /// `del l[a:b]` (bounds as [`get_range`](ListProxy::get_range)).
    ///
    /// # Errors
    ///
    /// As [`push`](ListProxy::push).
    pub fn delete_range(&self, range: impl RangeBounds<i64>) -> Result<(), ManagerError> {
        let (start, stop) = slice(range);
        unit(self.core.call(Op::DelSlice {
            obj: self.core.obj(),
            start,
            stop,
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

/// A Rust range as Python slice bounds `[start:stop]` (`None`: to the end).
fn slice(range: impl RangeBounds<i64>) -> (i64, Option<i64>) {
    let start = match range.start_bound() {
        Bound::Included(&a) => a,
        Bound::Excluded(&a) => a.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let stop = match range.end_bound() {
        Bound::Included(&-1) => None,
        Bound::Included(&b) => Some(b.saturating_add(1)),
        Bound::Excluded(&b) => Some(b),
        Bound::Unbounded => None,
    };
    (start, stop)
}
