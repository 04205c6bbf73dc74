//! Errors of `Listener`, `client` and the authentication handshake.

use std::fmt;
use std::io;

use crate::error::{RecvError, SendError};

/// Why the authentication handshake failed (Python's
/// `multiprocessing.AuthenticationError`).
///
/// Both sides check the other: a client with the wrong key is refused by the server
/// ([`WrongKey`](AuthenticationError::WrongKey) on the server,
/// [`Refused`](AuthenticationError::Refused) on the client), and a server with the
/// wrong key is refused by the client (the same two errors, the other way round).
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthenticationError {
    /// The peer could not prove that it knows the authkey.
    WrongKey,
    /// The peer refused our proof: it does not hold the same authkey.
    Refused,
    /// The peer does not speak skein's handshake (or another version of it): no
    /// fallback to a weaker scheme is ever made.
    Protocol(String),
    /// The peer hung up during the handshake.
    Disconnected,
    /// The handshake did not finish in time.
    Timeout,
}

impl fmt::Display for AuthenticationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthenticationError::WrongKey => {
                f.write_str("the peer could not prove it knows the authkey")
            }
            AuthenticationError::Refused => f.write_str("the peer refused our authkey"),
            AuthenticationError::Protocol(m) => write!(f, "not a skein handshake: {m}"),
            AuthenticationError::Disconnected => {
                f.write_str("the peer hung up during the handshake")
            }
            AuthenticationError::Timeout => f.write_str("the handshake timed out"),
        }
    }
}

impl std::error::Error for AuthenticationError {}

/// Why [`Listener::bind`](crate::Listener::bind), [`accept`](crate::Listener::accept)
/// or [`client`](crate::client) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The authkey is empty: every listener and client authenticates.
    EmptyKey,
    /// The address cannot be used (an unknown form, a path too long for a socket).
    BadAddress(String),
    /// No client came before the timeout ([`accept_timeout`](crate::Listener::accept_timeout)).
    Timeout,
    /// The handshake failed: this connection is refused (the listener stays usable).
    Auth(AuthenticationError),
    /// The system refused (bind, connect, accept).
    Io(io::Error),
}

impl ConnectError {
    /// Whether the peer was refused or refused us for the authkey.
    pub fn is_auth(&self) -> bool {
        matches!(self, ConnectError::Auth(_))
    }

    /// Whether this is a timeout (no client, or a handshake that did not finish).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            ConnectError::Timeout | ConnectError::Auth(AuthenticationError::Timeout)
        )
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::EmptyKey => f.write_str("an authkey must not be empty"),
            ConnectError::BadAddress(m) => write!(f, "bad address: {m}"),
            ConnectError::Timeout => f.write_str("no connection before the timeout"),
            ConnectError::Auth(e) => write!(f, "authentication failed: {e}"),
            ConnectError::Io(e) => write!(f, "connection failed: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Auth(e) => Some(e),
            ConnectError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ConnectError {
    fn from(e: io::Error) -> ConnectError {
        ConnectError::Io(e)
    }
}

impl From<AuthenticationError> for ConnectError {
    fn from(e: AuthenticationError) -> ConnectError {
        ConnectError::Auth(e)
    }
}

impl From<RecvError> for AuthenticationError {
    fn from(e: RecvError) -> AuthenticationError {
        match e {
            RecvError::Disconnected => AuthenticationError::Disconnected,
            other => AuthenticationError::Protocol(other.to_string()),
        }
    }
}

impl From<SendError> for AuthenticationError {
    fn from(e: SendError) -> AuthenticationError {
        match e {
            SendError::Disconnected => AuthenticationError::Disconnected,
            other => AuthenticationError::Protocol(other.to_string()),
        }
    }
}
