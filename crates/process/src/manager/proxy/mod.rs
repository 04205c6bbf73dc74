//! Typed proxies over the server's byte-valued objects, and what they share: the
//! object's address (`Core`), how a proxy crosses into a child, value encoding.

mod dict;
mod event;
mod list;
mod lock;
mod namespace;
mod queue;
mod value;

pub use dict::DictProxy;
pub use event::EventProxy;
pub use list::ListProxy;
pub use lock::{LockProxy, LockProxyGuard};
pub use namespace::NamespaceProxy;
pub use queue::QueueProxy;
pub use value::ValueProxy;

use std::sync::Arc;

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::connection::{Address, AuthKey};
use crate::handle;
use crate::manager::client::{Pending, Remote, Session, Slot, unexpected};
use crate::manager::error::ManagerError;
use crate::manager::protocol::{ObjectId, Op, Reply};

/// Which object of which manager, and the session to reach it.
#[derive(Clone)]
pub(crate) struct Core {
    remote: Arc<Remote>,
    slot: Arc<Slot>,
    obj: ObjectId,
}

impl Core {
    pub(crate) fn new(remote: Arc<Remote>, slot: Arc<Slot>, obj: ObjectId) -> Core {
        Core { remote, slot, obj }
    }

    pub(crate) fn obj(&self) -> ObjectId {
        self.obj
    }

    fn session(&self) -> Result<Arc<Session>, ManagerError> {
        self.slot.get(&self.remote)
    }

    pub(crate) fn call(&self, op: Op) -> Result<Reply, ManagerError> {
        self.session()?.call(op)
    }

    pub(crate) fn start<T>(
        &self,
        op: Op,
        decode: fn(Reply) -> Result<T, ManagerError>,
    ) -> Result<Pending<T>, ManagerError> {
        let s = self.session()?;
        let id = s.send(op)?;
        Ok(Pending::new(s, id, decode))
    }
}

/// What a proxy is on the wire to a child: the manager's address and key, and the
/// object's id. The child opens its own connection on first use.
#[derive(Serialize, Deserialize)]
struct ProxyWire {
    address: Address,
    key: Vec<u8>,
    obj: ObjectId,
}

impl Serialize for Core {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !handle::collecting() {
            return Err(S::Error::custom(handle::note(
                "a manager proxy carries its manager's authkey and serialises only into a \
                 child's arguments; elsewhere send the manager's address and authkey",
            )));
        }
        ProxyWire {
            address: self.remote.address.clone(),
            key: self.remote.key.as_bytes().to_vec(),
            obj: self.obj,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Core {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Core, D::Error> {
        let w = ProxyWire::deserialize(d)?;
        let key = AuthKey::new(&w.key).ok_or_else(|| D::Error::custom("empty authkey"))?;
        Ok(Core {
            remote: Arc::new(Remote {
                address: w.address,
                key,
            }),
            slot: Arc::new(Slot::default()),
            obj: w.obj,
        })
    }
}

pub(crate) fn encode<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, ManagerError> {
    postcard::to_allocvec(v).map_err(|e| ManagerError::Encode(e.to_string()))
}

/// Decodes a whole value: bytes left over mean the value was stored as another type
/// (postcard is not self-describing, so this is the check it allows).
pub(crate) fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, ManagerError> {
    match postcard::take_from_bytes(b) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(ManagerError::Decode(format!(
            "{} bytes left over: the value was stored as another type",
            rest.len()
        ))),
        Err(e) => Err(ManagerError::Decode(e.to_string())),
    }
}

pub(crate) fn unit(r: Reply) -> Result<(), ManagerError> {
    match r {
        Reply::Unit => Ok(()),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn len(r: Reply) -> Result<usize, ManagerError> {
    match r {
        Reply::Len(n) => Ok(n as usize),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn boolean(r: Reply) -> Result<bool, ManagerError> {
    match r {
        Reply::Bool(b) => Ok(b),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn maybe<T: DeserializeOwned>(r: Reply) -> Result<Option<T>, ManagerError> {
    match r {
        Reply::Maybe(None) => Ok(None),
        Reply::Maybe(Some(b)) => decode(&b).map(Some),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn bytes<T: DeserializeOwned>(r: Reply) -> Result<T, ManagerError> {
    match r {
        Reply::Bytes(b) => decode(&b),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn many<T: DeserializeOwned>(r: Reply) -> Result<Vec<T>, ManagerError> {
    match r {
        Reply::Many(v) => v.iter().map(|b| decode(b)).collect(),
        other => Err(unexpected(&other)),
    }
}

pub(crate) fn swapped(r: Reply) -> Result<(bool, Option<Vec<u8>>), ManagerError> {
    match r {
        Reply::Swapped { done, current } => Ok((done, current)),
        other => Err(unexpected(&other)),
    }
}

/// Implements `Clone`, `Debug`, `Serialize` and `Deserialize` for a typed proxy
/// (`struct P<..> { core: Core, _t: PhantomData<..> }`) without bounds on its types.
macro_rules! proxy_common {
    ($name:ident) => {
        $crate::manager::proxy::proxy_common!($name<>);
    };
    ($name:ident < $($t:ident),* >) => {
        impl<$($t),*> Clone for $name<$($t),*> {
            fn clone(&self) -> Self {
                $name { core: self.core.clone(), _t: std::marker::PhantomData }
            }
        }
        impl<$($t),*> std::fmt::Debug for $name<$($t),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("object", &self.core.obj()).finish()
            }
        }
        impl<$($t),*> serde::Serialize for $name<$($t),*> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.core.serialize(s)
            }
        }
        impl<'de, $($t),*> serde::Deserialize<'de> for $name<$($t),*> {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name { core: $crate::manager::proxy::Core::deserialize(d)?, _t: std::marker::PhantomData })
            }
        }
    };
}
pub(crate) use proxy_common;
