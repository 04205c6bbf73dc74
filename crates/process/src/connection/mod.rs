//! Python's `multiprocessing.connection`: [`Listener`] and [`client`] connect
//! unrelated processes by [`Address`] and authkey; [`wait`] waits on several
//! connections, listeners and process [`Sentinel`]s at once.
//!
//! # Authentication
//!
//! Every connection is authenticated both ways with a mutual HMAC-SHA256 challenge:
//! each side sends a 32-byte random nonce, and each proves the key with an HMAC over
//! both nonces and its own role label. Tags are compared in constant time. There is a
//! single protocol version and no negotiation, so there is nothing to downgrade to
//! (CPython used HMAC-MD5 until 3.12, cpython#61460). A client with the wrong key is
//! refused by the listener, and a listener with the wrong key is refused by the
//! client. Handshake frames are capped at 128 bytes and the handshake has a deadline
//! on both sides, so a silent or hostile peer costs one connection, nothing more.
//!
//! After the handshake the socket is an ordinary [`Connection`](crate::Connection): the `Pipe` API with
//! the same frames, limits and typed errors.

mod address;
mod auth;
mod error;
mod listener;
mod wait;

pub(crate) use auth::{AuthKey, HANDSHAKE_MAX, Next, ServerHandshake};
pub(crate) use listener::client_key;

pub use address::Address;
pub use error::{AuthenticationError, ConnectError};
pub use listener::{DEFAULT_HANDSHAKE_TIMEOUT, Listener, client, client_timeout};
pub use wait::{Sentinel, Waitable, wait, wait_deadline};
