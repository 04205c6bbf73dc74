//! `Address`: where a [`Listener`](crate::Listener) listens — a Unix socket path or a
//! TCP address.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::connection::error::ConnectError;

/// A listener's address (Python's `address` with `family='AF_UNIX'` or `'AF_INET'`).
///
/// Written as text, `unix:/run/user/1000/app.sock` or `tcp:127.0.0.1:5000` (a bare
/// path starting with `/` and a bare `host:port` parse too), so it can be handed to an
/// unrelated process on its command line.
///
/// # Examples
///
/// ```
/// use skein_process::Address;
///
/// let a: Address = "tcp:127.0.0.1:5000".parse().unwrap();
/// assert_eq!(a, Address::Tcp("127.0.0.1:5000".parse().unwrap()));
/// assert_eq!(a.to_string().parse::<Address>().unwrap(), a);
/// assert!(matches!("/tmp/x.sock".parse::<Address>().unwrap(), Address::Unix(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Address {
    /// A Unix domain socket at this path (the listener creates it, mode 0600, and
    /// removes it when closed).
    Unix(PathBuf),
    /// A TCP address; port 0 picks a free port ([`Listener::address`](crate::Listener::address)
    /// tells which).
    Tcp(SocketAddr),
}

impl Address {
    /// A Unix socket address at `path`.
    pub fn unix(path: impl AsRef<Path>) -> Address {
        Address::Unix(path.as_ref().to_path_buf())
    }

    /// `127.0.0.1` on a free port.
    pub fn loopback() -> Address {
        Address::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
            Address::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

impl FromStr for Address {
    type Err = ConnectError;

    fn from_str(s: &str) -> Result<Address, ConnectError> {
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(ConnectError::BadAddress("empty socket path".into()));
            }
            return Ok(Address::unix(p));
        }
        if s.starts_with('/') || s.starts_with("./") {
            return Ok(Address::unix(s));
        }
        let t = s.strip_prefix("tcp:").unwrap_or(s);
        t.parse::<SocketAddr>().map(Address::Tcp).map_err(|_| {
            ConnectError::BadAddress(format!("{s:?} is neither unix:PATH nor tcp:HOST:PORT"))
        })
    }
}
