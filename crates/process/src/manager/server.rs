//! The manager's server process: an accept loop that watches its owner, and one
//! thread per authenticated connection serving requests in order.
//!
//! Objects are opaque postcard bytes in one table behind one mutex; blocking queue
//! operations wait on one condition variable. A request that cannot be read (corrupt,
//! truncated, oversized, undecodable) is answered with a `Malformed` fault if possible
//! and ends *that* connection; the others are not affected.

use std::collections::{HashMap, VecDeque};
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::connection::{Address, AuthKey, Listener};
use crate::handle::HandleFd;
use crate::manager::protocol::{Fault, Kind, ObjectId, Op, Reply, Request, Response};
use crate::pipe::Connection;
use crate::sys;

/// What the owner tells the server on the control pipe.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Control {
    Shutdown,
}

/// The server's arguments: the bound listener (as parts), the owner's pidfd (readable
/// when the owner has ended), and the control pipe's far end.
#[derive(Serialize, Deserialize)]
pub(crate) struct ServerArgs {
    pub(crate) listener: HandleFd,
    pub(crate) address: Address,
    pub(crate) key: Vec<u8>,
    pub(crate) socket_file: Option<PathBuf>,
    pub(crate) socket_dir: Option<PathBuf>,
    pub(crate) owner: HandleFd,
    pub(crate) control: Connection,
    pub(crate) max_frame: u64,
}

enum Obj {
    Map(HashMap<Vec<u8>, Vec<u8>>),
    List(Vec<Vec<u8>>),
    Value(Vec<u8>),
    Queue {
        items: VecDeque<Vec<u8>>,
        max: usize,
    },
}

struct Entry {
    kind: Kind,
    tag: String,
    obj: Obj,
}

#[derive(Default)]
struct Objects {
    next: ObjectId,
    map: HashMap<ObjectId, Entry>,
    names: HashMap<String, ObjectId>,
}

#[derive(Default)]
struct Table {
    objects: Mutex<Objects>,
    /// Notified whenever a queue gains an item or loses one.
    queues: Condvar,
}

impl Table {
    fn lock(&self) -> MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The server process's target.
pub(crate) fn serve(args: ServerArgs) {
    let Some(key) = AuthKey::new(&args.key) else {
        return;
    };
    let listener = match Listener::from_parts(
        args.listener.into_inner(),
        args.address,
        key,
        args.socket_file,
    ) {
        Ok(l) => l,
        Err(_) => return,
    };
    let max_frame = args.max_frame as usize;
    let table = Arc::new(Table::default());
    let owner = args.owner.into_inner();
    loop {
        let fds = [
            listener.as_fd().as_raw_fd(),
            args.control.as_fd().as_raw_fd(),
            owner.as_fd().as_raw_fd(),
        ];
        let Ok([client, control, owner_gone]) = sys::poll_in(fds) else {
            break;
        };
        if owner_gone {
            break;
        }
        if control {
            // A shutdown request, or end-of-stream: the owner dropped the manager.
            let _ = args.control.try_recv::<Control>();
            break;
        }
        if client {
            match listener.accept_raw(Some(Instant::now())) {
                Ok(conn) => {
                    let table = table.clone();
                    // The handshake runs on the connection's thread: a slow or silent
                    // client holds up no one.
                    let auth = listener.authenticator();
                    let _ = std::thread::Builder::new()
                        .name("skein-manager-conn".into())
                        .spawn(move || {
                            if let Ok(mut conn) = auth.authenticate(conn) {
                                conn.set_max_frame(max_frame);
                                serve_connection(&conn, &table);
                            }
                        });
                }
                Err(_) => continue,
            }
        }
    }
    // Removes the socket file; the process then exits, ending the connection threads.
    drop(listener);
    if let Some(dir) = args.socket_dir {
        let _ = std::fs::remove_dir(dir);
    }
}

fn serve_connection(conn: &Connection, table: &Table) {
    let mut buf = Vec::new();
    loop {
        if let Err(e) = conn.recv_bytes_into(&mut buf) {
            if !matches!(e, crate::error::RecvError::Disconnected) {
                let _ = conn.send(&Response {
                    id: 0,
                    result: Err(Fault::Malformed(e.to_string())),
                });
            }
            return;
        }
        let req: Request = match postcard::from_bytes(&buf) {
            Ok(r) => r,
            Err(e) => {
                let _ = conn.send(&Response {
                    id: 0,
                    result: Err(Fault::Malformed(format!("undecodable request: {e}"))),
                });
                return;
            }
        };
        let id = req.id;
        let (result, taken) = match req.op {
            Op::Put {
                obj,
                value,
                timeout_ms,
            } => (put(table, obj, value, timeout_ms), None),
            Op::Take { obj, timeout_ms } => match take(table, obj, timeout_ms) {
                Ok(item) => (Ok(Reply::Bytes(item.clone())), Some((obj, item))),
                Err(f) => (Err(f), None),
            },
            op => (apply(&mut table.lock(), op), None),
        };
        if conn.send(&Response { id, result }).is_err() {
            // The proxy is gone: an item it took goes back to the front, not lost.
            if let Some((obj, item)) = taken {
                if let Some(Entry {
                    obj: Obj::Queue { items, .. },
                    ..
                }) = table.lock().map.get_mut(&obj)
                {
                    items.push_front(item);
                }
                table.queues.notify_all();
            }
            return;
        }
    }
}

fn entry(objs: &mut Objects, obj: ObjectId) -> Result<&mut Entry, Fault> {
    objs.map.get_mut(&obj).ok_or(Fault::NoSuchObject(obj))
}

fn wrong(expected: Kind, found: Kind) -> Fault {
    Fault::WrongKind { expected, found }
}

fn map(objs: &mut Objects, obj: ObjectId) -> Result<&mut HashMap<Vec<u8>, Vec<u8>>, Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Map(m) => Ok(m),
        _ => Err(wrong(Kind::Dict, e.kind)),
    }
}

fn list(objs: &mut Objects, obj: ObjectId) -> Result<&mut Vec<Vec<u8>>, Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::List(l) => Ok(l),
        _ => Err(wrong(Kind::List, e.kind)),
    }
}

fn value(objs: &mut Objects, obj: ObjectId) -> Result<&mut Vec<u8>, Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Value(v) => Ok(v),
        _ => Err(wrong(Kind::Value, e.kind)),
    }
}

/// Python's index rules: negative counts from the end; `insert` clamps.
fn index(i: i64, len: usize, clamp: bool) -> Result<usize, Fault> {
    let n = len as i64;
    let j = if i < 0 { i + n } else { i };
    if clamp {
        return Ok(j.clamp(0, n) as usize);
    }
    if (0..n).contains(&j) {
        Ok(j as usize)
    } else {
        Err(Fault::IndexOutOfRange {
            index: i,
            len: len as u64,
        })
    }
}

fn apply(objs: &mut Objects, op: Op) -> Result<Reply, Fault> {
    Ok(match op {
        Op::Ping => Reply::Unit,
        Op::Create {
            kind,
            tag,
            name,
            init,
            maxsize,
        } => {
            if let Some(name) = &name {
                if let Some(&id) = objs.names.get(name) {
                    let e = &objs.map[&id];
                    if e.kind != kind || e.tag != tag {
                        return Err(Fault::TypeMismatch {
                            name: name.clone(),
                            expected: tag,
                            found: e.tag.clone(),
                        });
                    }
                    return Ok(Reply::Created(id));
                }
            }
            let obj = match kind {
                Kind::Dict | Kind::Namespace => Obj::Map(HashMap::new()),
                Kind::List => Obj::List(Vec::new()),
                Kind::Value => Obj::Value(init),
                Kind::Queue => Obj::Queue {
                    items: VecDeque::new(),
                    max: usize::try_from(maxsize).unwrap_or(usize::MAX),
                },
            };
            objs.next += 1;
            let id = objs.next;
            objs.map.insert(id, Entry { kind, tag, obj });
            if let Some(name) = name {
                objs.names.insert(name, id);
            }
            Reply::Created(id)
        }
        Op::Get { obj, key } => Reply::Maybe(map(objs, obj)?.get(&key).cloned()),
        Op::Set { obj, key, value } => {
            map(objs, obj)?.insert(key, value);
            Reply::Unit
        }
        Op::Remove { obj, key } => Reply::Maybe(map(objs, obj)?.remove(&key)),
        Op::Contains { obj, key } => Reply::Bool(map(objs, obj)?.contains_key(&key)),
        Op::Keys { obj } => Reply::Many(map(objs, obj)?.keys().cloned().collect()),
        Op::Items { obj } => Reply::Pairs(
            map(objs, obj)?
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        Op::Cas {
            obj,
            key,
            expect,
            new,
        } => {
            let m = map(objs, obj)?;
            if m.get(&key) == expect.as_ref() {
                match &new {
                    Some(v) => m.insert(key, v.clone()),
                    None => m.remove(&key),
                };
                Reply::Swapped {
                    done: true,
                    current: new,
                }
            } else {
                Reply::Swapped {
                    done: false,
                    current: m.get(&key).cloned(),
                }
            }
        }
        Op::Len { obj } => {
            let e = entry(objs, obj)?;
            Reply::Len(match &e.obj {
                Obj::Map(m) => m.len(),
                Obj::List(l) => l.len(),
                Obj::Queue { items, .. } => items.len(),
                Obj::Value(_) => return Err(wrong(Kind::List, e.kind)),
            } as u64)
        }
        Op::Clear { obj } => {
            let e = entry(objs, obj)?;
            match &mut e.obj {
                Obj::Map(m) => m.clear(),
                Obj::List(l) => l.clear(),
                _ => return Err(wrong(Kind::List, e.kind)),
            }
            Reply::Unit
        }
        Op::Push { obj, value } => {
            list(objs, obj)?.push(value);
            Reply::Unit
        }
        Op::Extend { obj, values } => {
            list(objs, obj)?.extend(values);
            Reply::Unit
        }
        Op::Index { obj, index: i } => {
            let l = list(objs, obj)?;
            Reply::Bytes(l[index(i, l.len(), false)?].clone())
        }
        Op::SetIndex {
            obj,
            index: i,
            value,
        } => {
            let l = list(objs, obj)?;
            let j = index(i, l.len(), false)?;
            l[j] = value;
            Reply::Unit
        }
        Op::Insert {
            obj,
            index: i,
            value,
        } => {
            let l = list(objs, obj)?;
            let j = index(i, l.len(), true)?;
            l.insert(j, value);
            Reply::Unit
        }
        Op::Pop { obj, index: i } => {
            let l = list(objs, obj)?;
            if l.is_empty() {
                return Err(Fault::Empty);
            }
            let j = index(i.unwrap_or(-1), l.len(), false)?;
            Reply::Bytes(l.remove(j))
        }
        Op::Values { obj } => Reply::Many(list(objs, obj)?.clone()),
        Op::Load { obj } => Reply::Bytes(value(objs, obj)?.clone()),
        Op::Store { obj, value: v } => {
            *value(objs, obj)? = v;
            Reply::Unit
        }
        Op::Swap { obj, expect, new } => {
            let v = value(objs, obj)?;
            if *v == expect {
                *v = new.clone();
                Reply::Swapped {
                    done: true,
                    current: Some(new),
                }
            } else {
                Reply::Swapped {
                    done: false,
                    current: Some(v.clone()),
                }
            }
        }
        Op::Put { .. } | Op::Take { .. } => unreachable!("queue operations are handled apart"),
    })
}

fn deadline(timeout_ms: Option<u64>) -> Option<Instant> {
    timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms))
}

/// Waits on the queues' condition until `ready` holds or the deadline passes.
fn wait_until<'a>(
    table: &'a Table,
    mut objs: MutexGuard<'a, Objects>,
    deadline: Option<Instant>,
) -> Option<MutexGuard<'a, Objects>> {
    match deadline {
        None => Some(table.queues.wait(objs).unwrap_or_else(|e| e.into_inner())),
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            objs = table
                .queues
                .wait_timeout(objs, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            Some(objs)
        }
    }
}

fn put(
    table: &Table,
    obj: ObjectId,
    value: Vec<u8>,
    timeout_ms: Option<u64>,
) -> Result<Reply, Fault> {
    let deadline = deadline(timeout_ms);
    let mut objs = table.lock();
    loop {
        let e = entry(&mut objs, obj)?;
        let Obj::Queue { items, max } = &mut e.obj else {
            return Err(wrong(Kind::Queue, e.kind));
        };
        if *max == 0 || items.len() < *max {
            items.push_back(value);
            table.queues.notify_all();
            return Ok(Reply::Unit);
        }
        objs = wait_until(table, objs, deadline).ok_or(Fault::Full)?;
    }
}

fn take(table: &Table, obj: ObjectId, timeout_ms: Option<u64>) -> Result<Vec<u8>, Fault> {
    let deadline = deadline(timeout_ms);
    let mut objs = table.lock();
    loop {
        let e = entry(&mut objs, obj)?;
        let Obj::Queue { items, .. } = &mut e.obj else {
            return Err(wrong(Kind::Queue, e.kind));
        };
        if let Some(item) = items.pop_front() {
            table.queues.notify_all();
            return Ok(item);
        }
        objs = wait_until(table, objs, deadline).ok_or(Fault::Empty)?;
    }
}
