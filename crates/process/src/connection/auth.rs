//! The authentication handshake: a mutual HMAC-SHA256 challenge.
//!
//! ```text
//! server → client   "SKEIN-AUTH-1" ‖ ns                  (ns: 32 random bytes)
//! client → server   "SKEIN-AUTH-1" ‖ nc ‖ HMAC(k, "client" ‖ ns ‖ nc)
//! server → client   "OK" ‖ HMAC(k, "server" ‖ nc ‖ ns)    or "NO" (client refused)
//! client → server   "OK"                                  or "NO" (server refused)
//! ```
//!
//! Each side proves the key over both nonces, with its own label, so a proof can be
//! neither replayed nor reflected. Tags are compared in constant time (`hmac`'s
//! `verify_slice`). There is one version and no negotiation, hence no downgrade: a
//! peer that says anything else is a [`AuthenticationError::Protocol`] error. Every
//! handshake frame is at most [`HANDSHAKE_MAX`] bytes, whatever the connection's
//! usual maximum, and the whole exchange has a deadline.

use std::fmt;
use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::connection::error::AuthenticationError;
use crate::error::RecvTimeoutError;
use crate::pipe::{Connection, DEFAULT_MAX_FRAME};

type HmacSha256 = Hmac<Sha256>;

const HELLO: &[u8] = b"SKEIN-AUTH-1";
const NONCE: usize = 32;
const TAG: usize = 32;
/// The largest frame accepted during the handshake.
pub(crate) const HANDSHAKE_MAX: usize = 128;

/// A shared secret; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AuthKey(Vec<u8>);

impl AuthKey {
    pub(crate) fn new(key: &[u8]) -> Option<AuthKey> {
        (!key.is_empty()).then(|| AuthKey(key.to_vec()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// 32 random bytes (Python's `os.urandom(32)` process authkey).
    pub(crate) fn random() -> std::io::Result<AuthKey> {
        Ok(AuthKey(nonce()?.to_vec()))
    }

    fn mac(&self, label: &[u8], a: &[u8], b: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        m.update(label);
        m.update(a);
        m.update(b);
        m
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthKey(<hidden>)")
    }
}

fn nonce() -> std::io::Result<[u8; NONCE]> {
    let mut n = [0u8; NONCE];
    getrandom::fill(&mut n).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(n)
}

fn recv(conn: &Connection, deadline: Instant) -> Result<Vec<u8>, AuthenticationError> {
    match conn.recv_bytes_deadline(deadline) {
        Ok(b) => Ok(b),
        Err(RecvTimeoutError::Timeout) => Err(AuthenticationError::Timeout),
        Err(RecvTimeoutError::Recv(e)) => Err(e.into()),
    }
}

fn with_small_frames<R>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<R, AuthenticationError>,
) -> Result<R, AuthenticationError> {
    conn.set_max_frame(HANDSHAKE_MAX);
    let r = f(conn);
    conn.set_max_frame(DEFAULT_MAX_FRAME);
    r
}

/// The server's side of the handshake as a state machine, for a server that reads
/// many sockets from one thread: [`start`](ServerHandshake::start) gives the
/// challenge to send, [`on_frame`](ServerHandshake::on_frame) takes each frame the
/// client sends and says what to do next. The caller enforces [`HANDSHAKE_MAX`] and
/// the deadline.
pub(crate) struct ServerHandshake {
    key: AuthKey,
    ns: [u8; NONCE],
    /// Whether the client's answer passed (the next frame is its verdict).
    proved: bool,
}

/// What the server does after a client's handshake frame.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this frame and wait for the client's next one.
    Reply(Vec<u8>),
    /// The client is authenticated.
    Done,
    /// The handshake failed: send `reply` (if any), then close.
    Fail {
        reply: Option<&'static [u8]>,
        error: AuthenticationError,
    },
}

impl ServerHandshake {
    /// A new handshake and its first frame (the challenge).
    pub(crate) fn start(key: &AuthKey) -> Result<(ServerHandshake, Vec<u8>), AuthenticationError> {
        let ns = nonce().map_err(|e| AuthenticationError::Protocol(e.to_string()))?;
        let hello = [HELLO, &ns].concat();
        Ok((
            ServerHandshake {
                key: key.clone(),
                ns,
                proved: false,
            },
            hello,
        ))
    }

    /// Takes the client's next frame.
    pub(crate) fn on_frame(&mut self, msg: &[u8]) -> Next {
        if self.proved {
            return match msg {
                b"OK" => Next::Done,
                b"NO" => Next::Fail {
                    reply: None,
                    error: AuthenticationError::Refused,
                },
                _ => Next::Fail {
                    reply: None,
                    error: AuthenticationError::Protocol("bad client verdict".into()),
                },
            };
        }
        let Some(body) = msg.strip_prefix(HELLO).filter(|b| b.len() == NONCE + TAG) else {
            return Next::Fail {
                reply: None,
                error: AuthenticationError::Protocol("bad client answer".into()),
            };
        };
        let (nc, tag) = body.split_at(NONCE);
        if self
            .key
            .mac(b"client", &self.ns, nc)
            .verify_slice(tag)
            .is_err()
        {
            // The peer learns only that it was refused.
            return Next::Fail {
                reply: Some(b"NO"),
                error: AuthenticationError::WrongKey,
            };
        }
        self.proved = true;
        let proof = self
            .key
            .mac(b"server", nc, &self.ns)
            .finalize()
            .into_bytes();
        Next::Reply([b"OK".as_slice(), &proof].concat())
    }
}

/// The server's side: challenges the client, then proves the key itself.
pub(crate) fn serve(
    conn: &mut Connection,
    key: &AuthKey,
    deadline: Instant,
) -> Result<(), AuthenticationError> {
    with_small_frames(conn, |conn| {
        let (mut hs, hello) = ServerHandshake::start(key)?;
        conn.send_bytes(&hello)?;
        loop {
            let msg = recv(conn, deadline)?;
            match hs.on_frame(&msg) {
                Next::Reply(r) => conn.send_bytes(&r)?,
                Next::Done => return Ok(()),
                Next::Fail { reply, error } => {
                    if let Some(r) = reply {
                        let _ = conn.send_bytes(r);
                    }
                    return Err(error);
                }
            }
        }
    })
}

/// The client's side: answers the challenge, then checks the server's proof.
pub(crate) fn answer(
    conn: &mut Connection,
    key: &AuthKey,
    deadline: Instant,
) -> Result<(), AuthenticationError> {
    with_small_frames(conn, |conn| {
        let msg = recv(conn, deadline)?;
        let ns = msg
            .strip_prefix(HELLO)
            .filter(|b| b.len() == NONCE)
            .ok_or_else(|| AuthenticationError::Protocol("bad server challenge".into()))?;
        let nc = nonce().map_err(|e| AuthenticationError::Protocol(e.to_string()))?;
        let tag = key.mac(b"client", ns, &nc).finalize().into_bytes();
        conn.send_bytes(&[HELLO, &nc, &tag].concat())?;
        let verdict = match recv(conn, deadline) {
            Ok(v) => v,
            // A server that refused may close before we read its "NO".
            Err(AuthenticationError::Disconnected) => return Err(AuthenticationError::Refused),
            Err(e) => return Err(e),
        };
        if verdict == b"NO" {
            return Err(AuthenticationError::Refused);
        }
        let proof = verdict
            .strip_prefix(b"OK".as_slice())
            .filter(|p| p.len() == TAG)
            .ok_or_else(|| AuthenticationError::Protocol("bad server verdict".into()))?;
        if key.mac(b"server", &nc, ns).verify_slice(proof).is_err() {
            let _ = conn.send_bytes(b"NO");
            return Err(AuthenticationError::WrongKey);
        }
        conn.send_bytes(b"OK")?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn run(
        server_key: &[u8],
        client_key: &[u8],
    ) -> (
        Result<(), AuthenticationError>,
        Result<(), AuthenticationError>,
    ) {
        let (mut a, mut b) = crate::pipe(true).unwrap();
        let sk = AuthKey::new(server_key).unwrap();
        let ck = AuthKey::new(client_key).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let t = std::thread::spawn(move || answer(&mut b, &ck, deadline));
        let s = serve(&mut a, &sk, deadline);
        (s, t.join().unwrap())
    }

    #[test]
    fn same_key_passes_both_ways() {
        let (s, c) = run(b"secret", b"secret");
        assert!(s.is_ok() && c.is_ok(), "{s:?} {c:?}");
    }

    #[test]
    fn different_keys_are_refused_on_both_sides() {
        let (s, c) = run(b"secret", b"guess");
        assert!(matches!(s, Err(AuthenticationError::WrongKey)), "{s:?}");
        assert!(matches!(c, Err(AuthenticationError::Refused)), "{c:?}");
    }

    #[test]
    fn an_impostor_server_that_skips_the_check_is_caught_by_the_client() {
        let (a, mut b) = crate::pipe(true).unwrap();
        let ck = AuthKey::new(b"secret").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let t = std::thread::spawn(move || answer(&mut b, &ck, deadline));
        // Accepts anything and claims "OK" with a made-up proof.
        a.send_bytes(&[HELLO, &[7u8; NONCE]].concat()).unwrap();
        let _ = a.recv_bytes().unwrap();
        a.send_bytes(&[b"OK".as_slice(), &[0u8; TAG]].concat())
            .unwrap();
        assert!(matches!(
            t.join().unwrap(),
            Err(AuthenticationError::WrongKey)
        ));
        assert_eq!(a.recv_bytes().unwrap(), b"NO");
    }

    #[test]
    fn a_peer_speaking_another_protocol_gets_no_fallback() {
        let (mut a, b) = crate::pipe(true).unwrap();
        let k = AuthKey::new(b"secret").unwrap();
        let t = std::thread::spawn(move || {
            let _ = b.recv_bytes();
            b.send_bytes(b"#CHALLENGE#md5").unwrap();
        });
        let r = serve(&mut a, &k, Instant::now() + Duration::from_secs(10));
        t.join().unwrap();
        assert!(matches!(r, Err(AuthenticationError::Protocol(_))), "{r:?}");
    }

    #[test]
    fn a_silent_peer_times_out() {
        let (mut a, _b) = crate::pipe(true).unwrap();
        let k = AuthKey::new(b"secret").unwrap();
        let r = serve(&mut a, &k, Instant::now() + Duration::from_millis(50));
        assert!(matches!(r, Err(AuthenticationError::Timeout)), "{r:?}");
    }
}
