//! Python's `multiprocessing.Manager`: a server process holding shared objects,
//! reached through typed proxies.
//!
//! ```text
//! owner ── Manager ──start──▶ server process (one thread: epoll over every connection)
//!   │                             ▲        ▲                 ▲
//!   └ proxies ────────────────────┘        │                 │
//!   child: proxies given as arguments ─────┘                 │
//!   unrelated process: ManagerClient::connect(address, authkey)
//! ```
//!
//! * Values are serde types, stored on the server as postcard bytes (the server never
//!   decodes them); typed proxies encode and decode.
//! * Every connection passes the mutual HMAC-SHA256 handshake of
//!   [`connection`](crate::connection).
//! * Requests carry ids and are answered in order on their connection, so calls can be
//!   pipelined (`start_*` methods and [`Pending`]), and threads sharing a proxy's
//!   connection overlap their round trips.
//! * A request the server cannot read (corrupt, truncated, oversized, undecodable) ends
//!   that connection only: the proxy sees [`ManagerError::Protocol`], everyone else
//!   goes on.
//! * The server watches its owner through a pidfd and a control pipe: it exits, removing
//!   its socket file and directory, when the owner drops the `Manager` or dies.
//!
//! The server-side design is in `server.rs`, the wire format in `protocol.rs`.

mod client;
mod error;
mod objects;
mod owner;
mod protocol;
mod proxy;
mod server;
mod wire;

pub use client::{ManagerClient, Pending};
pub use error::{ManagerError, ProxyPutError};
pub use owner::{DEFAULT_MAX_REQUEST, Manager, ManagerBuilder};
pub use proxy::{
    DictProxy, EventProxy, ListProxy, LockProxy, LockProxyGuard, NamespaceProxy, QueueProxy,
    ValueProxy,
};
