//! A throwaway `redis-server` on a free loopback port, for tests, demos and benches.
//!
//! [`RedisServer::start`] runs the `redis-server` found on the `PATH` (or named by
//! `SKEIN_REDIS_SERVER`) in a temporary folder, with the append-only file on and
//! `appendfsync always`, so that a write Redis acknowledged survives a `SIGKILL` of the
//! server ([`RedisServer::kill`] then [`RedisServer::restart`] on the same port). The server
//! is killed and its folder removed on drop.
//!
//! [`RedisServer::for_tests`] is what the crate's tests call: it uses `SKEIN_REDIS_URL`
//! when set, else starts a server; when none can be started it prints a loud note and
//! returns `None` (the test then skips) — except under `CI`, where it panics, so CI never
//! passes by skipping.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` this process started (or one named by `SKEIN_REDIS_URL`).
pub struct RedisServer {
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    port: u16,
    url: String,
    program: PathBuf,
}

/// Why [`RedisServer::start`] could not run a server.
#[derive(Debug)]
pub struct StartError(String);

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not start redis-server: {}", self.0)
    }
}

impl std::error::Error for StartError {}

fn program() -> PathBuf {
    std::env::var_os("SKEIN_REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// Sends `PING` and waits for `+PONG`.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts `redis-server` on a free port of 127.0.0.1, persisting to an append-only file
    /// in a new temporary folder, and waits until it answers `PING` (5 s at most).
    ///
    /// # Errors
    ///
    /// [`StartError`] when the program is missing or the server did not come up.
    pub fn start() -> Result<RedisServer, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("skein-redis-")
            .tempdir()
            .map_err(|e| StartError(format!("no temporary folder: {e}")))?;
        let mut last = String::new();
        // A port picked free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            let port = free_port().map_err(|e| StartError(e.to_string()))?;
            let mut server = RedisServer {
                child: None,
                dir: None,
                port,
                url: format!("redis://127.0.0.1:{port}/"),
                program: program(),
            };
            match server.spawn(dir.path()) {
                Ok(()) => {
                    server.dir = Some(dir);
                    return Ok(server);
                }
                Err(e) => last = e.0,
            }
        }
        Err(StartError(last))
    }

    fn spawn(&mut self, dir: &Path) -> Result<(), StartError> {
        let log = dir.join("redis.log");
        let mut child = Command::new(&self.program)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| StartError(format!("{}: {e}", self.program.display())))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if ping(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(3).collect();
                return Err(StartError(format!(
                    "redis-server exited ({status}): {}",
                    tail.join(" | ")
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(StartError("redis-server did not answer PING in 5 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// For tests: the server at `SKEIN_REDIS_URL` if set, else a new one. When none can be
    /// started, prints a loud note and returns `None` so the test can skip — but panics when
    /// the environment variable `CI` is set.
    pub fn for_tests() -> Option<RedisServer> {
        if let Ok(url) = std::env::var("SKEIN_REDIS_URL") {
            return Some(RedisServer {
                child: None,
                dir: None,
                port: 0,
                url,
                program: program(),
            });
        }
        match RedisServer::start() {
            Ok(s) => Some(s),
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("{e} (CI is set: the Redis-backed tests must run; .ci/redis installs it)")
            }
            Err(e) => {
                eprintln!(
                    "\n********************************************************************\n\
                     ** SKIPPED: {e}\n\
                     ** Install redis-server (.ci/redis) or set SKEIN_REDIS_URL.\n\
                     ********************************************************************\n"
                );
                None
            }
        }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The port (0 for a server named by `SKEIN_REDIS_URL`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `true` if this process started the server (so it can kill and restart it).
    pub fn is_owned(&self) -> bool {
        self.dir.is_some()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with `SIGKILL` (no chance to flush anything it had not written).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port and folder (it reloads its append-only
    /// file). Kills it first if it runs.
    ///
    /// # Errors
    ///
    /// [`StartError`] if it does not come back (or was not started by this process).
    pub fn restart(&mut self) -> Result<(), StartError> {
        self.kill();
        let dir = match &self.dir {
            Some(d) => d.path().to_path_buf(),
            None => return Err(StartError("the server was not started here".into())),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn(&dir) {
                Ok(()) => return Ok(()),
                // The old socket may linger a moment.
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("url", &self.url)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}
