//! `NamespaceProxy`: Python's `Manager().Namespace()`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::unexpected;
use crate::manager::error::ManagerError;
use crate::manager::protocol::{Op, Reply};
use crate::manager::proxy::{Core, boolean, decode, encode, many, maybe, swapped, unit};

/// Python's `Manager().Namespace()`: named attributes of any serde type, shared by
/// processes. `ns.x = 1` is [`set("x", &1)`](NamespaceProxy::set), `ns.x` is
/// [`get::<T>("x")`](NamespaceProxy::get) (`None` for a missing attribute, where
/// Python raises `AttributeError`).
///
/// # Examples
///
/// ```
/// use skein_process::{Manager, StartMethod};
///
/// let m = Manager::builder().start_method(StartMethod::Fork).start()?;
/// let ns = m.namespace()?;
/// ns.set("x", &10i32)?;
/// ns.set("name", &"w1")?;
/// assert_eq!(ns.get::<i32>("x")?, Some(10));
/// assert_eq!(ns.update("x", |x: Option<i32>| x.unwrap_or(0) * 2)?, 20);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct NamespaceProxy {
    core: Core,
}

impl std::fmt::Debug for NamespaceProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceProxy")
            .field("object", &self.core.obj())
            .finish()
    }
}

impl Serialize for NamespaceProxy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for NamespaceProxy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(NamespaceProxy {
            core: Core::deserialize(d)?,
        })
    }
}

impl NamespaceProxy {
    pub(crate) fn new(core: Core) -> Self {
        NamespaceProxy { core }
    }

    /// `ns.name`, or `None` if unset.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone; [`ManagerError::Decode`]
    /// if the attribute holds another type.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ManagerError> {
        maybe(self.core.call(Op::Get {
            obj: self.core.obj(),
            key: encode(name)?,
        })?)
    }

    /// `ns.name = value`.
    ///
    /// # Errors
    ///
    /// As [`get`](NamespaceProxy::get); [`ManagerError::Encode`].
    pub fn set<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<(), ManagerError> {
        unit(self.core.call(Op::Set {
            obj: self.core.obj(),
            key: encode(name)?,
            value: encode(value)?,
        })?)
    }

    /// `del ns.name`; whether it was set.
    ///
    /// # Errors
    ///
    /// As [`get`](NamespaceProxy::get).
    pub fn remove(&self, name: &str) -> Result<bool, ManagerError> {
        match self.core.call(Op::Remove {
            obj: self.core.obj(),
            key: encode(name)?,
        })? {
            Reply::Maybe(v) => Ok(v.is_some()),
            other => Err(unexpected(&other)),
        }
    }

    /// `hasattr(ns, name)`.
    ///
    /// # Errors
    ///
    /// As [`get`](NamespaceProxy::get).
    pub fn contains(&self, name: &str) -> Result<bool, ManagerError> {
        boolean(self.core.call(Op::Contains {
            obj: self.core.obj(),
            key: encode(name)?,
        })?)
    }

    /// The names set (`vars(ns).keys()`, in no particular order).
    ///
    /// # Errors
    ///
    /// As [`get`](NamespaceProxy::get).
    pub fn names(&self) -> Result<Vec<String>, ManagerError> {
        many(self.core.call(Op::Keys {
            obj: self.core.obj(),
        })?)
    }

    /// Atomically sets `ns.name = f(ns.name)` and returns the new value (no update is
    /// lost when several processes do this at once).
    ///
    /// # Errors
    ///
    /// As [`set`](NamespaceProxy::set).
    pub fn update<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        mut f: impl FnMut(Option<T>) -> T,
    ) -> Result<T, ManagerError> {
        let key = encode(name)?;
        let mut raw = match self.core.call(Op::Get {
            obj: self.core.obj(),
            key: key.clone(),
        })? {
            Reply::Maybe(b) => b,
            other => return Err(unexpected(&other)),
        };
        loop {
            let old = raw.as_deref().map(decode::<T>).transpose()?;
            let new = f(old);
            let (done, now) = swapped(self.core.call(Op::Cas {
                obj: self.core.obj(),
                key: key.clone(),
                expect: raw.take(),
                new: Some(encode(&new)?),
            })?)?;
            if done {
                return Ok(new);
            }
            raw = now;
        }
    }
}
