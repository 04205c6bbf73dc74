//! `DictProxy`: Python's `Manager().dict()`.

use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::{Pending, unexpected};
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Op, Reply};
use crate::manager::proxy::{
    Core, boolean, bytes, decode, encode, len, many, maybe, proxy_common, swapped, unit,
};

/// A `dict` held by a manager (Python's `Manager().dict()`), keys `K`, values `V`.
///
/// Every call is one round trip to the server; `start_get`/`start_set` pipeline
/// several. A read-modify-write like `d[k] += 1` is [`update`](DictProxy::update),
/// atomic across processes (a compare-and-swap on the server, retried on conflict).
///
/// A proxy is a handle: clones share one connection; given in a child's arguments it
/// reaches the child under every start method, which opens its own connection.
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let d = m.dict::<String, i64>()?;
/// d.set(&"a".into(), &1)?;
/// assert_eq!(d.update(&"a".into(), |v| v.unwrap_or(0) + 10)?, 11);
/// assert_eq!(d.get(&"a".into())?, Some(11));
/// assert_eq!(d.len()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DictProxy<K, V> {
    core: Core,
    _t: PhantomData<fn(K, V) -> K>,
}

proxy_common!(DictProxy<K, V>);

impl<K, V> DictProxy<K, V>
where
    K: Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    pub(crate) fn new(core: Core) -> Self {
        DictProxy {
            core,
            _t: PhantomData,
        }
    }

    /// `d.get(key)`: the value, or `None`.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone; [`ManagerError::Decode`]
    /// if the stored bytes are not a `V`.
    pub fn get(&self, key: &K) -> Result<Option<V>, ManagerError> {
        maybe(self.core.call(Op::Get {
            obj: self.core.obj(),
            key: encode(key)?,
        })?)
    }

    /// `d[key] = value`.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get); [`ManagerError::Encode`] (nothing sent).
    pub fn set(&self, key: &K, value: &V) -> Result<(), ManagerError> {
        unit(self.core.call(self.set_op(key, value)?)?)
    }

    fn set_op(&self, key: &K, value: &V) -> Result<Op, ManagerError> {
        Ok(Op::Set {
            obj: self.core.obj(),
            key: encode(key)?,
            value: encode(value)?,
        })
    }

    /// Sends `d.get(key)` without waiting: collect the answer with
    /// [`Pending::wait`].
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get), for the sending.
    pub fn start_get(&self, key: &K) -> Result<Pending<Option<V>>, ManagerError> {
        let op = Op::Get {
            obj: self.core.obj(),
            key: encode(key)?,
        };
        self.core.start(op, maybe::<V>)
    }

    /// Sends `d[key] = value` without waiting.
    ///
    /// # Errors
    ///
    /// As [`set`](DictProxy::set), for the sending.
    pub fn start_set(&self, key: &K, value: &V) -> Result<Pending<()>, ManagerError> {
        let op = self.set_op(key, value)?;
        self.core.start(op, unit)
    }

    /// `d.pop(key, None)`: removes the key, returning its value.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn remove(&self, key: &K) -> Result<Option<V>, ManagerError> {
        maybe(self.core.call(Op::Remove {
            obj: self.core.obj(),
            key: encode(key)?,
        })?)
    }

    /// `key in d`.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn contains_key(&self, key: &K) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::Contains {
            obj: self.core.obj(),
            key: encode(key)?,
        })?)
    }

    /// `len(d)`.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn len(&self) -> Result<usize, ManagerError> {
        len(self.core.call(Op::Len {
            obj: self.core.obj(),
        })?)
    }

    /// `len(d) == 0`.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn is_empty(&self) -> Result<bool, ManagerError> {
        Ok(self.len()? == 0)
    }

    /// `list(d.keys())`, in insertion order (as Python's dict).
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn keys(&self) -> Result<Vec<K>, ManagerError> {
        many(self.core.call(Op::Keys {
            obj: self.core.obj(),
        })?)
    }

    /// `list(d.items())`, in insertion order: a snapshot of the whole dict.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn items(&self) -> Result<Vec<(K, V)>, ManagerError> {
        match self.core.call(Op::Items {
            obj: self.core.obj(),
        })? {
            Reply::Pairs(p) => p
                .iter()
                .map(|(k, v)| Ok((decode(k)?, decode(v)?)))
                .collect(),
            other => Err(unexpected(&other)),
        }
    }

    /// `list(d.values())`, in insertion order: a snapshot, taken as
    /// [`items`](DictProxy::items).
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn values(&self) -> Result<Vec<V>, ManagerError> {
        Ok(self.items()?.into_iter().map(|(_, v)| v).collect())
    }

    /// `d.get(key, default)`: the value, or `default` if the key is missing.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn get_or(&self, key: &K, default: V) -> Result<V, ManagerError> {
        Ok(self.get(key)?.unwrap_or(default))
    }

    /// `d.setdefault(key, default)`: the value stored under `key`, or, if there is
    /// none, `default`, stored there and returned — atomically (two processes racing
    /// both get the one value that was stored first).
    ///
    /// # Errors
    ///
    /// As [`set`](DictProxy::set).
    pub fn setdefault(&self, key: &K, default: &V) -> Result<V, ManagerError> {
        bytes(self.core.call(Op::SetDefault {
            obj: self.core.obj(),
            key: encode(key)?,
            value: encode(default)?,
        })?)
    }

    /// `d.popitem()`: removes and returns the key inserted last (LIFO, as Python's
    /// dict; a key whose value was replaced keeps its place).
    ///
    /// # Errors
    ///
    /// [`ManagerError::Empty`] if the dict is empty (Python's `KeyError`); as
    /// [`get`](DictProxy::get).
    pub fn popitem(&self) -> Result<(K, V), ManagerError> {
        match self.core.call(Op::PopItem {
            obj: self.core.obj(),
        })? {
            Reply::Pair(Some((k, v))) => Ok((decode(&k)?, decode(&v)?)),
            Reply::Pair(None) => Err(ManagerError::Empty),
            other => Err(unexpected(&other)),
        }
    }

    /// Python's `d.update(other)`: sets every pair, in order, in one request (no other
    /// process sees half of them). Named `update_from` because
    /// [`update`](DictProxy::update) is the atomic read-modify-write of one key.
    ///
    /// # Errors
    ///
    /// As [`set`](DictProxy::set) (nothing is sent if a pair cannot be serialised).
    pub fn update_from<'a, I>(&self, pairs: I) -> Result<(), ManagerError>
    where
        I: IntoIterator<Item = (&'a K, &'a V)>,
        K: 'a,
        V: 'a,
    {
        let pairs = pairs
            .into_iter()
            .map(|(k, v)| Ok((encode(k)?, encode(v)?)))
            .collect::<Result<_, ManagerError>>()?;
        unit(self.core.call(Op::UpdateFrom {
            obj: self.core.obj(),
            pairs,
        })?)
    }

    /// `d.copy()`: a local `HashMap` with a snapshot of the whole dict (one round
    /// trip, as [`items`](DictProxy::items)).
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn copy(&self) -> Result<HashMap<K, V>, ManagerError>
    where
        K: Eq + Hash,
    {
        Ok(self.items()?.into_iter().collect())
    }

    /// `d.clear()`.
    ///
    /// # Errors
    ///
    /// As [`get`](DictProxy::get).
    pub fn clear(&self) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Clear {
            obj: self.core.obj(),
        })?)
    }

    /// Atomically replaces `d[key]` with `f(d.get(key))` and returns the new value —
    /// `with lock: d[k] = f(d.get(k))` without a lock: if another process changed the
    /// value in between, `f` runs again on the fresh value.
    ///
    /// # Errors
    ///
    /// As [`set`](DictProxy::set).
    pub fn update(&self, key: &K, mut f: impl FnMut(Option<V>) -> V) -> Result<V, ManagerError> {
        let key = encode(key)?;
        let mut raw = match self.core.call(Op::Get {
            obj: self.core.obj(),
            key: key.clone(),
        })? {
            Reply::Maybe(b) => b,
            other => return Err(unexpected(&other)),
        };
        loop {
            let old = raw.as_deref().map(decode::<V>).transpose()?;
            let new = f(old);
            let new_raw = encode(&new)?;
            let (done, now) = swapped(self.core.call(Op::Cas {
                obj: self.core.obj(),
                key: key.clone(),
                expect: raw.take(),
                new: Some(new_raw),
            })?)?;
            if done {
                return Ok(new);
            }
            raw = now;
        }
    }
}
