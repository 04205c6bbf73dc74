//! Creating shared objects: `m.dict()`, `m.list()`, `m.Value()`, `m.Namespace()`,
//! `m.Queue()`, and their named forms for unrelated processes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manager::client::ManagerClient;
use crate::manager::error::ManagerError;
use crate::manager::protocol::Kind;
use crate::manager::proxy::{
    Core, DictProxy, EventProxy, ListProxy, LockProxy, NamespaceProxy, QueueProxy, ValueProxy,
    encode,
};

fn tag1<T>(kind: &str) -> String {
    format!("{kind}<{}>", std::any::type_name::<T>())
}

fn tag2<K, V>(kind: &str) -> String {
    format!(
        "{kind}<{}, {}>",
        std::any::type_name::<K>(),
        std::any::type_name::<V>()
    )
}

impl ManagerClient {
    fn core(
        &self,
        kind: Kind,
        tag: String,
        name: Option<&str>,
        init: Vec<u8>,
        maxsize: u64,
    ) -> Result<Core, ManagerError> {
        let id = self.create(kind, tag, name, init, maxsize)?;
        Ok(Core::new(self.remote.clone(), self.slot.clone(), id))
    }

    /// Python's `m.dict()`: a new, empty shared dict.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Disconnected`] if the server is gone.
    pub fn dict<K, V>(&self) -> Result<DictProxy<K, V>, ManagerError>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        Ok(DictProxy::new(self.core(
            Kind::Dict,
            tag2::<K, V>("dict"),
            None,
            Vec::new(),
            0,
        )?))
    }

    /// The dict called `name`, created empty if there is none (how an unrelated
    /// process finds a shared object).
    ///
    /// # Errors
    ///
    /// [`ManagerError::TypeMismatch`] if `name` holds another kind of object or other
    /// key/value types; as [`dict`](ManagerClient::dict).
    pub fn dict_named<K, V>(&self, name: &str) -> Result<DictProxy<K, V>, ManagerError>
    where
        K: Serialize + DeserializeOwned,
        V: Serialize + DeserializeOwned,
    {
        let tag = tag2::<K, V>("dict");
        Ok(DictProxy::new(self.core(
            Kind::Dict,
            tag,
            Some(name),
            Vec::new(),
            0,
        )?))
    }

    /// Python's `m.list()`: a new, empty shared list.
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn list<T: Serialize + DeserializeOwned>(&self) -> Result<ListProxy<T>, ManagerError> {
        Ok(ListProxy::new(self.core(
            Kind::List,
            tag1::<T>("list"),
            None,
            Vec::new(),
            0,
        )?))
    }

    /// The list called `name`, created empty if there is none.
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn list_named<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<ListProxy<T>, ManagerError> {
        let tag = tag1::<T>("list");
        Ok(ListProxy::new(self.core(
            Kind::List,
            tag,
            Some(name),
            Vec::new(),
            0,
        )?))
    }

    /// Python's `m.Value(typecode, value)`: a shared value of any serde type.
    ///
    /// # Errors
    ///
    /// [`ManagerError::Encode`]; as [`dict`](ManagerClient::dict).
    pub fn value<T: Serialize + DeserializeOwned>(
        &self,
        initial: T,
    ) -> Result<ValueProxy<T>, ManagerError> {
        let init = encode(&initial)?;
        Ok(ValueProxy::new(self.core(
            Kind::Value,
            tag1::<T>("Value"),
            None,
            init,
            0,
        )?))
    }

    /// The value called `name`, created with `initial` if there is none.
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn value_named<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        initial: T,
    ) -> Result<ValueProxy<T>, ManagerError> {
        let init = encode(&initial)?;
        let tag = tag1::<T>("Value");
        Ok(ValueProxy::new(self.core(
            Kind::Value,
            tag,
            Some(name),
            init,
            0,
        )?))
    }

    /// Python's `m.Namespace()`.
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn namespace(&self) -> Result<NamespaceProxy, ManagerError> {
        Ok(NamespaceProxy::new(self.core(
            Kind::Namespace,
            "Namespace".into(),
            None,
            Vec::new(),
            0,
        )?))
    }

    /// The namespace called `name`, created empty if there is none.
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn namespace_named(&self, name: &str) -> Result<NamespaceProxy, ManagerError> {
        let core = self.core(
            Kind::Namespace,
            "Namespace".into(),
            Some(name),
            Vec::new(),
            0,
        )?;
        Ok(NamespaceProxy::new(core))
    }

    /// Python's `m.Queue()`: an unbounded shared queue.
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn queue<T: Serialize + DeserializeOwned>(&self) -> Result<QueueProxy<T>, ManagerError> {
        self.queue_bounded(0)
    }

    /// Python's `m.Queue(maxsize)` (`0`: unbounded).
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn queue_bounded<T: Serialize + DeserializeOwned>(
        &self,
        maxsize: usize,
    ) -> Result<QueueProxy<T>, ManagerError> {
        let tag = tag1::<T>("Queue");
        Ok(QueueProxy::new(self.core(
            Kind::Queue,
            tag,
            None,
            Vec::new(),
            maxsize as u64,
        )?))
    }

    /// The queue called `name`, created with `maxsize` if there is none (Python's
    /// `BaseManager.register('get_queue', …)` pattern).
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn queue_named<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        maxsize: usize,
    ) -> Result<QueueProxy<T>, ManagerError> {
        let tag = tag1::<T>("Queue");
        Ok(QueueProxy::new(self.core(
            Kind::Queue,
            tag,
            Some(name),
            Vec::new(),
            maxsize as u64,
        )?))
    }

    /// Python's `m.Lock()`: a lock held by the manager.
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn lock(&self) -> Result<LockProxy, ManagerError> {
        let core = self.core(Kind::Lock, "Lock".into(), None, Vec::new(), 0)?;
        Ok(LockProxy::new(core))
    }

    /// The lock called `name`, created unlocked if there is none.
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn lock_named(&self, name: &str) -> Result<LockProxy, ManagerError> {
        let core = self.core(Kind::Lock, "Lock".into(), Some(name), Vec::new(), 0)?;
        Ok(LockProxy::new(core))
    }

    /// Python's `m.Event()`: an event flag held by the manager, initially clear.
    ///
    /// # Errors
    ///
    /// As [`dict`](ManagerClient::dict).
    pub fn event(&self) -> Result<EventProxy, ManagerError> {
        let core = self.core(Kind::Event, "Event".into(), None, Vec::new(), 0)?;
        Ok(EventProxy::new(core))
    }

    /// The event called `name`, created clear if there is none.
    ///
    /// # Errors
    ///
    /// As [`dict_named`](ManagerClient::dict_named).
    pub fn event_named(&self, name: &str) -> Result<EventProxy, ManagerError> {
        let core = self.core(Kind::Event, "Event".into(), Some(name), Vec::new(), 0)?;
        Ok(EventProxy::new(core))
    }
}
