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
//! * Objects: dict, list, `Value`, `Namespace`, `Queue`, `Lock`, `Event`.
//! * Values are serde types, stored on the server as postcard bytes (the server never
//!   decodes them); typed proxies encode and decode.
//! * Every connection passes the mutual HMAC-SHA256 handshake of
//!   [`connection`](crate::connection).
//! * Requests carry ids, so calls can be pipelined (`start_*` methods and [`Pending`])
//!   and threads sharing a proxy's connection overlap their round trips. Requests on a
//!   connection are applied in order; one that has to wait (a queue `get` on an empty
//!   queue, a lock's `acquire`, an event's `wait`) waits on the server without holding
//!   up the requests sent after it, so threads sharing a connection never block each
//!   other.
//! * The server is one thread over an epoll set: it reads, applies and answers each
//!   request itself. Both sides poll for a short while after each message before they
//!   block (a blocked thread's wake-up costs more than the round trip on a virtual
//!   machine), so a proxy call costs about two socket messages; the figures beside
//!   CPython's are in the `process/manager_round_trip` bench.
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
mod ordered;
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
