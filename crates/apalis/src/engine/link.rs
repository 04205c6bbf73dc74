//! A connection to Redis that reconnects after the server went away, with a bound on
//! every wait (connect, read, write) so nothing blocks forever on an unreachable server.

use std::time::Duration;

use redis::{Client, Connection, RedisError, RedisResult};

use super::keys::{GROUP, Keys};

/// One lazily (re)opened connection.
pub(crate) struct Link {
    client: Client,
    conn: Option<Connection>,
    timeout: Duration,
}

/// `true` for errors after which the connection is not usable (or the server is gone).
pub(crate) fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}

impl Link {
    /// A link to `url` whose connects, reads and writes give up after `timeout`
    /// (a blocking read waits `timeout` past its own block time).
    pub(crate) fn new(url: &str, timeout: Duration) -> RedisResult<Link> {
        Ok(Link {
            client: Client::open(url)?,
            conn: None,
            timeout,
        })
    }

    fn connection(&mut self, extra: Duration) -> RedisResult<&mut Connection> {
        if self.conn.is_none() {
            let c = self.client.get_connection_with_timeout(self.timeout)?;
            self.conn = Some(c);
        }
        let c = self.conn.as_mut().expect("connected just above");
        c.set_read_timeout(Some(self.timeout + extra))?;
        c.set_write_timeout(Some(self.timeout))?;
        Ok(c)
    }

    /// Runs `f` on the connection (opening it first if needed); a connection error drops
    /// the connection so the next call opens a new one. `block` is how long `f` may block
    /// inside Redis (an `XREAD … BLOCK`), added to the read timeout.
    pub(crate) fn run<T>(
        &mut self,
        block: Duration,
        f: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let r = self.connection(block).and_then(f);
        if matches!(&r, Err(e) if is_connection_error(e)) {
            self.conn = None;
        }
        r
    }

    /// Creates the queue's stream and consumer group if missing.
    pub(crate) fn ensure_group(&mut self, keys: &Keys) -> RedisResult<()> {
        let r = self.run(Duration::ZERO, |c| {
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&keys.stream)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .exec(c)
        });
        match r {
            Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
            r => r,
        }
    }
}
