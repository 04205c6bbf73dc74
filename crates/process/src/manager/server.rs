//! The manager's server process: one thread and one epoll set holding the listener,
//! the owner's pidfd, the control pipe and every connection.
//!
//! Each request is read, applied and answered by that thread, with no hand-off:
//! a round trip costs the two messages and nothing else. After answering, the thread
//! keeps polling for a short while before it blocks ([`wire::spin`]), so a proxy that
//! calls again soon finds it awake.
//!
//! * Objects are opaque postcard bytes in one table (no lock: one thread owns it).
//! * The handshake is a state machine ([`ServerHandshake`]) beside the other
//!   connections, with a deadline: a silent or slow client holds up no one.
//! * A queue `get` on an empty queue (or a `put` on a full one) parks the request —
//!   first come, first served — and the thread goes on serving everyone, the same
//!   connection's later requests included; a `put` (or `get`) answers the parked
//!   request, and its deadline answers `Empty` (`Full`).
//! * Answers are buffered per connection and written without blocking: a client that
//!   stops reading stops being read once [`BACKLOG`] bytes of answers wait, and costs
//!   no one else anything.
//! * A request that cannot be read (corrupt, truncated, oversized, undecodable) is
//!   answered with a `Malformed` fault if possible and ends *that* connection.
//! * An item taken from a queue for an answer that could not be written (the proxy's
//!   connection ended first) goes back to the front of its queue, not lost.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rustix::buffer::spare_capacity;
use rustix::event::{Timespec, epoll};
use rustix::net::RecvFlags;
use serde::{Deserialize, Serialize};

use crate::connection::{Address, AuthKey, HANDSHAKE_MAX, Listener, Next, ServerHandshake};
use crate::handle::HandleFd;
use crate::manager::ordered::OrderedMap;
use crate::manager::protocol::{Fault, Kind, ObjectId, Op, Reply, Request, Response};
use crate::manager::wire::{self, Frames, Read};
use crate::pipe::{Connection, DEFAULT_MAX_FRAME};

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

/// How long the server keeps polling after its last event before it blocks.
const SPIN: Duration = Duration::from_micros(100);
/// Unwritten answers to one connection beyond which its requests are not read.
const BACKLOG: usize = 4 << 20;
/// The longest single epoll wait (deadlines further away are waited for in steps).
const MAX_WAIT: Duration = Duration::from_secs(3600);

const LISTENER: u64 = 0;
const CONTROL: u64 = 1;
const OWNER: u64 = 2;
const FIRST_CONN: u64 = 3;

enum Obj {
    Map(OrderedMap),
    List(Vec<Vec<u8>>),
    Value(Vec<u8>),
    Queue {
        items: VecDeque<Vec<u8>>,
        max: usize,
        /// Items put and not yet marked done (`task_done`); `join` waits for 0.
        unfinished: u64,
    },
    Lock {
        /// The connection that acquired it.
        holder: Option<u64>,
        /// Whether the last holder's connection ended while holding it (told to the
        /// next one to acquire it).
        orphaned: bool,
    },
    Event(bool),
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

/// A queue request waiting for an item (a `get`) or for room (a `put`).
struct Waiter {
    /// Unique, for its timer.
    wid: u64,
    conn: u64,
    /// The request's id, for the answer.
    id: u64,
}

/// Requests waiting on one object: gets and puts of a queue, acquires of a lock,
/// waits of an event.
#[derive(Default)]
struct Parked {
    takers: VecDeque<Waiter>,
    putters: VecDeque<(Waiter, Vec<u8>)>,
    lockers: VecDeque<Waiter>,
    watchers: VecDeque<Waiter>,
}

impl Parked {
    fn is_empty(&self) -> bool {
        self.takers.is_empty()
            && self.putters.is_empty()
            && self.lockers.is_empty()
            && self.watchers.is_empty()
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Handshake(u64),
    Waiter(ObjectId, u64),
}

struct Conn {
    fd: OwnedFd,
    frames: Frames,
    /// Answers not written yet: `out[sent..]`.
    out: Vec<u8>,
    sent: usize,
    /// Items taken from queues for answers in `out`: (end of that answer in `out`,
    /// queue, item). Put back if the answer is never written.
    taken: VecDeque<(usize, ObjectId, Vec<u8>)>,
    /// The handshake under way and its deadline; `None` once authenticated.
    handshake: Option<(ServerHandshake, Instant)>,
    interest: epoll::EventFlags,
    /// Locks this connection acquired and holds.
    held: Vec<ObjectId>,
}

impl Conn {
    fn backlog(&self) -> usize {
        self.out.len() - self.sent
    }

    fn max_frame(&self, max: usize) -> usize {
        if self.handshake.is_some() {
            HANDSHAKE_MAX
        } else {
            max
        }
    }
}

/// The server process's target.
pub(crate) fn serve(args: ServerArgs) {
    let Some(key) = AuthKey::new(&args.key) else {
        return;
    };
    if let Ok(listener) = Listener::from_parts(
        args.listener.into_inner(),
        args.address,
        key,
        args.socket_file,
    ) {
        let owner = args.owner.into_inner();
        if let Ok(mut server) = Server::new(listener, args.max_frame as usize) {
            let _ = server.run(&args.control, &owner);
        }
        // The server (and its listener, removing the socket file) is dropped here; the
        // process then exits, closing every connection.
    }
    if let Some(dir) = args.socket_dir {
        let _ = std::fs::remove_dir(dir);
    }
}

struct Server {
    epoll: OwnedFd,
    listener: Listener,
    max_frame: usize,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    objs: Objects,
    parked: HashMap<ObjectId, Parked>,
    next_wid: u64,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    /// Connections with answers to write.
    dirty: Vec<u64>,
    /// Queues whose parked requests may be answerable now.
    settle: Vec<ObjectId>,
    /// Connections that may hold whole requests already read (after a backlog
    /// cleared).
    resume: Vec<u64>,
}

fn flag(on: bool, f: epoll::EventFlags) -> epoll::EventFlags {
    if on { f } else { epoll::EventFlags::empty() }
}

fn wait_events(
    epoll: &OwnedFd,
    events: &mut Vec<epoll::Event>,
    timeout: Option<Duration>,
) -> io::Result<()> {
    events.clear();
    let ts = timeout.map(|d| {
        let d = d.min(MAX_WAIT);
        Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: d.subsec_nanos().into(),
        }
    });
    loop {
        match epoll::wait(epoll, spare_capacity(events), ts.as_ref()) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

impl Server {
    fn new(listener: Listener, max_frame: usize) -> io::Result<Server> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        epoll::add(
            &epoll,
            &listener,
            epoll::EventData::new_u64(LISTENER),
            epoll::EventFlags::IN,
        )?;
        Ok(Server {
            epoll,
            listener,
            max_frame,
            conns: HashMap::new(),
            next_conn: FIRST_CONN,
            objs: Objects::default(),
            parked: HashMap::new(),
            next_wid: 0,
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            settle: Vec::new(),
            resume: Vec::new(),
        })
    }

    /// Serves until the owner asks it to stop, drops its end of the control pipe, or
    /// dies.
    fn run(&mut self, control: &Connection, owner: &OwnedFd) -> io::Result<()> {
        let data = epoll::EventData::new_u64;
        epoll::add(&self.epoll, control, data(CONTROL), epoll::EventFlags::IN)?;
        epoll::add(&self.epoll, owner, data(OWNER), epoll::EventFlags::IN)?;
        let mut events = Vec::with_capacity(256);
        loop {
            wait_events(&self.epoll, &mut events, Some(Duration::ZERO))?;
            if events.is_empty() && self.resume.is_empty() {
                let epoll = &self.epoll;
                wire::spin(SPIN, || {
                    let _ = wait_events(epoll, &mut events, Some(Duration::ZERO));
                    (!events.is_empty()).then_some(())
                });
                if events.is_empty() {
                    let timeout = self
                        .timers
                        .peek()
                        .map(|Reverse((at, _))| at.saturating_duration_since(Instant::now()));
                    wait_events(&self.epoll, &mut events, timeout)?;
                }
            }
            for ev in &events {
                let (flags, token) = (ev.flags, ev.data.u64());
                match token {
                    LISTENER => self.accept_all(),
                    // A shutdown request, end-of-stream (the owner dropped the
                    // manager), or the owner's death.
                    CONTROL | OWNER => return Ok(()),
                    t => {
                        if flags.contains(epoll::EventFlags::OUT) {
                            self.flush(t);
                        }
                        if flags.intersects(
                            epoll::EventFlags::IN | epoll::EventFlags::HUP | epoll::EventFlags::ERR,
                        ) {
                            self.read(t);
                        }
                    }
                }
            }
            for t in std::mem::take(&mut self.resume) {
                self.process(t);
            }
            self.expire(Instant::now());
            self.settle_all();
            self.flush_dirty();
        }
    }

    fn accept_all(&mut self) {
        while let Ok(Some(fd)) = self.listener.accept_nonblocking() {
            let Ok((hs, hello)) = ServerHandshake::start(self.listener.key()) else {
                continue;
            };
            let t = self.next_conn;
            self.next_conn += 1;
            let deadline = Instant::now() + self.listener.handshake_timeout();
            let mut out = Vec::new();
            wire::push_bytes(&mut out, &hello);
            let interest = epoll::EventFlags::IN;
            if epoll::add(&self.epoll, &fd, epoll::EventData::new_u64(t), interest).is_err() {
                continue;
            }
            self.conns.insert(
                t,
                Conn {
                    fd,
                    frames: Frames::default(),
                    out,
                    sent: 0,
                    taken: VecDeque::new(),
                    handshake: Some((hs, deadline)),
                    interest,
                    held: Vec::new(),
                },
            );
            self.timers.push(Reverse((deadline, Timer::Handshake(t))));
            self.dirty.push(t);
        }
    }

    /// Reads what connection `t` sent and serves the whole requests in it.
    fn read(&mut self, t: u64) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        if c.backlog() > BACKLOG {
            return;
        }
        let max = c.max_frame(self.max_frame);
        let eof = match c.frames.read(c.fd.as_fd(), max, RecvFlags::DONTWAIT) {
            Ok(Read::Bytes(_)) => false,
            Ok(Read::WouldBlock) => return,
            Ok(Read::Eof) => true,
            Err(_) => {
                self.close(t);
                return;
            }
        };
        self.process(t);
        if eof {
            match self.conns.get(&t) {
                Some(c) if c.frames.partial() && c.handshake.is_none() => {
                    let why = c.frames.ended().to_string();
                    self.fail(t, why);
                }
                Some(_) => {
                    // Answers already buffered go out if the peer still reads.
                    self.flush(t);
                    self.close(t);
                }
                None => {}
            }
        }
    }

    /// Serves the whole requests buffered for connection `t`.
    fn process(&mut self, t: u64) {
        loop {
            let Some(c) = self.conns.get_mut(&t) else {
                return;
            };
            if c.backlog() > BACKLOG {
                return;
            }
            let range = match c.frames.next(c.max_frame(self.max_frame)) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    if c.handshake.is_some() {
                        self.close(t);
                    } else {
                        self.fail(t, e.to_string());
                    }
                    return;
                }
            };
            if let Some((hs, _)) = &mut c.handshake {
                match hs.on_frame(c.frames.bytes(range)) {
                    Next::Reply(r) => wire::push_bytes(&mut c.out, &r),
                    Next::Done => c.handshake = None,
                    Next::Fail { reply, .. } => {
                        if let Some(r) = reply {
                            wire::push_bytes(&mut c.out, r);
                        }
                        self.flush(t);
                        self.close(t);
                        return;
                    }
                }
                self.dirty.push(t);
                continue;
            }
            let req: Request = match postcard::from_bytes(c.frames.bytes(range)) {
                Ok(r) => r,
                Err(e) => {
                    self.fail(t, format!("undecodable request: {e}"));
                    return;
                }
            };
            self.handle(t, req);
        }
    }

    /// Answers a request that could not be read with a `Malformed` fault (id 0) and
    /// ends the connection.
    fn fail(&mut self, t: u64, why: String) {
        self.respond(
            t,
            Response {
                id: 0,
                result: Err(Fault::Malformed(why)),
            },
        );
        self.flush(t);
        self.close(t);
    }

    fn handle(&mut self, t: u64, req: Request) {
        let id = req.id;
        match req.op {
            Op::Put {
                obj,
                value,
                timeout_ms,
            } => self.put(t, id, obj, value, timeout_ms),
            Op::Take { obj, timeout_ms } => self.take(t, id, obj, timeout_ms),
            Op::Acquire { obj, timeout_ms } => self.acquire(t, id, obj, timeout_ms),
            Op::TaskDone { obj } => {
                let result = unfinished(&mut self.objs, obj).and_then(|n| {
                    *n = n.checked_sub(1).ok_or(Fault::TooManyTaskDone)?;
                    Ok(Reply::Unit)
                });
                self.settle.push(obj);
                self.respond(t, Response { id, result });
            }
            Op::JoinQueue { obj } => {
                let result = match unfinished(&mut self.objs, obj) {
                    Ok(0) => Ok(Reply::Unit),
                    Ok(_) => {
                        let wid = self.park(obj, None);
                        let w = Waiter { wid, conn: t, id };
                        self.parked.entry(obj).or_default().watchers.push_back(w);
                        return;
                    }
                    Err(f) => Err(f),
                };
                self.respond(t, Response { id, result });
            }
            Op::Release { obj } => {
                let result = self.release(obj);
                self.respond(t, Response { id, result });
            }
            Op::SetEvent { obj } => {
                let result = event(&mut self.objs, obj).map(|set| {
                    *set = true;
                    Reply::Unit
                });
                self.settle.push(obj);
                self.respond(t, Response { id, result });
            }
            Op::WaitEvent { obj, timeout_ms } => {
                let result = match event(&mut self.objs, obj) {
                    Ok(set) if *set => Ok(Reply::Bool(true)),
                    Ok(_) if timeout_ms == Some(0) => Ok(Reply::Bool(false)),
                    Ok(_) => {
                        let wid = self.park(obj, timeout_ms);
                        let w = Waiter { wid, conn: t, id };
                        self.parked.entry(obj).or_default().watchers.push_back(w);
                        return;
                    }
                    Err(f) => Err(f),
                };
                self.respond(t, Response { id, result });
            }
            op => {
                let result = apply(&mut self.objs, op);
                self.respond(t, Response { id, result });
            }
        }
    }

    /// Buffers an answer for connection `t` (if it is still there).
    fn respond(&mut self, t: u64, resp: Response) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        if let Err(e) = wire::push_frame(&mut c.out, &resp, DEFAULT_MAX_FRAME) {
            let why = match e {
                wire::PushError::TooLarge { len, max } => {
                    format!("the answer ({len} bytes) is larger than a frame may be ({max})")
                }
                wire::PushError::Encode(m) => m,
            };
            let fault = Response {
                id: resp.id,
                result: Err(Fault::Malformed(why)),
            };
            let _ = wire::push_frame(&mut c.out, &fault, DEFAULT_MAX_FRAME);
        }
        self.dirty.push(t);
    }

    /// Answers a `get` with an item taken from queue `obj`; the item goes back to the
    /// queue's front if connection `t` is gone (now, or before the answer is written).
    fn give(&mut self, t: u64, id: u64, obj: ObjectId, item: Vec<u8>) {
        let Some(c) = self.conns.get_mut(&t) else {
            self.put_back(obj, item);
            return;
        };
        let resp = Response {
            id,
            result: Ok(Reply::Bytes(item)),
        };
        let pushed = wire::push_frame(&mut c.out, &resp, DEFAULT_MAX_FRAME);
        let Ok(Reply::Bytes(item)) = resp.result else {
            unreachable!("built above")
        };
        match pushed {
            Ok(()) => {
                c.taken.push_back((c.out.len(), obj, item));
                self.dirty.push(t);
            }
            Err(_) => {
                self.put_back(obj, item);
                self.respond(
                    t,
                    Response {
                        id,
                        result: Err(Fault::Malformed("the item is larger than a frame".into())),
                    },
                );
            }
        }
    }

    fn put_back(&mut self, obj: ObjectId, item: Vec<u8>) {
        if let Ok((items, _)) = queue(&mut self.objs, obj) {
            items.push_front(item);
            self.settle.push(obj);
        }
    }

    fn park(&mut self, obj: ObjectId, timeout_ms: Option<u64>) -> u64 {
        let wid = self.next_wid;
        self.next_wid += 1;
        if let Some(ms) = timeout_ms {
            let at = Instant::now() + Duration::from_millis(ms);
            self.timers.push(Reverse((at, Timer::Waiter(obj, wid))));
        }
        wid
    }

    fn put(&mut self, t: u64, id: u64, obj: ObjectId, value: Vec<u8>, timeout_ms: Option<u64>) {
        let (items, max) = match queue(&mut self.objs, obj) {
            Ok(q) => q,
            Err(f) => return self.respond(t, Response { id, result: Err(f) }),
        };
        let result = if max == 0 || items.len() < max {
            items.push_back(value);
            *unfinished(&mut self.objs, obj).expect("a queue, checked above") += 1;
            self.settle.push(obj);
            Ok(Reply::Unit)
        } else if timeout_ms == Some(0) {
            Err(Fault::Full)
        } else {
            let wid = self.park(obj, timeout_ms);
            let w = Waiter { wid, conn: t, id };
            self.parked
                .entry(obj)
                .or_default()
                .putters
                .push_back((w, value));
            return;
        };
        self.respond(t, Response { id, result });
    }

    fn take(&mut self, t: u64, id: u64, obj: ObjectId, timeout_ms: Option<u64>) {
        let (items, _) = match queue(&mut self.objs, obj) {
            Ok(q) => q,
            Err(f) => return self.respond(t, Response { id, result: Err(f) }),
        };
        if let Some(item) = items.pop_front() {
            self.settle.push(obj);
            self.give(t, id, obj, item);
        } else if timeout_ms == Some(0) {
            self.respond(
                t,
                Response {
                    id,
                    result: Err(Fault::Empty),
                },
            );
        } else {
            let wid = self.park(obj, timeout_ms);
            let w = Waiter { wid, conn: t, id };
            self.parked.entry(obj).or_default().takers.push_back(w);
        }
    }

    fn acquire(&mut self, t: u64, id: u64, obj: ObjectId, timeout_ms: Option<u64>) {
        let result = match lock(&mut self.objs, obj) {
            Err(f) => Err(f),
            Ok((holder @ None, orphaned)) => {
                *holder = Some(t);
                let owner_died = std::mem::take(orphaned);
                if let Some(c) = self.conns.get_mut(&t) {
                    c.held.push(obj);
                }
                Ok(Reply::Acquired { owner_died })
            }
            Ok(_) if timeout_ms == Some(0) => Ok(Reply::Bool(false)),
            Ok(_) => {
                let wid = self.park(obj, timeout_ms);
                let w = Waiter { wid, conn: t, id };
                self.parked.entry(obj).or_default().lockers.push_back(w);
                return;
            }
        };
        self.respond(t, Response { id, result });
    }

    /// Releases lock `obj` (any connection may, as with Python's `Lock`).
    fn release(&mut self, obj: ObjectId) -> Result<Reply, Fault> {
        let (holder, _) = lock(&mut self.objs, obj)?;
        let Some(h) = holder.take() else {
            return Err(Fault::NotLocked);
        };
        if let Some(c) = self.conns.get_mut(&h) {
            if let Some(i) = c.held.iter().position(|&o| o == obj) {
                c.held.swap_remove(i);
            }
        }
        self.settle.push(obj);
        Ok(Reply::Unit)
    }

    /// Answers the parked requests of the objects that changed, first come first
    /// served, skipping those whose connection ended.
    fn settle_all(&mut self) {
        while let Some(obj) = self.settle.pop() {
            let mut gives = Vec::new();
            let mut answers = Vec::new();
            let Some(p) = self.parked.get_mut(&obj) else {
                continue;
            };
            let Some(e) = self.objs.map.get_mut(&obj) else {
                continue;
            };
            let alive = |w: &Waiter| self.conns.contains_key(&w.conn);
            match &mut e.obj {
                Obj::Queue {
                    items,
                    max,
                    unfinished,
                } => loop {
                    let mut progress = false;
                    while !items.is_empty() {
                        let Some(w) = p.takers.pop_front() else { break };
                        if alive(&w) {
                            gives.push((w, items.pop_front().expect("not empty")));
                            progress = true;
                        }
                    }
                    while *max == 0 || items.len() < *max {
                        let Some((w, v)) = p.putters.pop_front() else {
                            break;
                        };
                        if alive(&w) {
                            items.push_back(v);
                            *unfinished += 1;
                            answers.push((w, Reply::Unit));
                            progress = true;
                        }
                    }
                    if *unfinished == 0 {
                        answers.extend(p.watchers.drain(..).map(|w| (w, Reply::Unit)));
                    }
                    if !progress {
                        break;
                    }
                },
                Obj::Lock { holder, orphaned } => {
                    while holder.is_none() {
                        let Some(w) = p.lockers.pop_front() else {
                            break;
                        };
                        if alive(&w) {
                            *holder = Some(w.conn);
                            let owner_died = std::mem::take(orphaned);
                            answers.push((w, Reply::Acquired { owner_died }));
                        }
                    }
                }
                Obj::Event(true) => {
                    answers.extend(p.watchers.drain(..).map(|w| (w, Reply::Bool(true))));
                }
                _ => {}
            }
            if p.is_empty() {
                self.parked.remove(&obj);
            }
            for (w, item) in gives {
                self.give(w.conn, w.id, obj, item);
            }
            for (w, reply) in answers {
                if matches!(reply, Reply::Acquired { .. }) {
                    if let Some(c) = self.conns.get_mut(&w.conn) {
                        c.held.push(obj);
                    }
                }
                self.respond(
                    w.conn,
                    Response {
                        id: w.id,
                        result: Ok(reply),
                    },
                );
            }
        }
    }

    /// Ends handshakes and parked requests whose deadline passed.
    fn expire(&mut self, now: Instant) {
        while let Some(&Reverse((at, timer))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Handshake(t) => {
                    if self.conns.get(&t).is_some_and(|c| c.handshake.is_some()) {
                        self.close(t);
                    }
                }
                Timer::Waiter(obj, wid) => {
                    let Some(p) = self.parked.get_mut(&obj) else {
                        continue;
                    };
                    let find = |q: &VecDeque<Waiter>| q.iter().position(|w| w.wid == wid);
                    let answer = if let Some(i) = find(&p.takers) {
                        p.takers.remove(i).map(|w| (w, Err(Fault::Empty)))
                    } else if let Some(i) = p.putters.iter().position(|(w, _)| w.wid == wid) {
                        p.putters.remove(i).map(|(w, _)| (w, Err(Fault::Full)))
                    } else if let Some(i) = find(&p.lockers) {
                        p.lockers.remove(i).map(|w| (w, Ok(Reply::Bool(false))))
                    } else if let Some(i) = find(&p.watchers) {
                        p.watchers.remove(i).map(|w| (w, Ok(Reply::Bool(false))))
                    } else {
                        None
                    };
                    if p.is_empty() {
                        self.parked.remove(&obj);
                    }
                    if let Some((w, result)) = answer {
                        self.respond(w.conn, Response { id: w.id, result });
                    }
                }
            }
        }
    }

    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for &t in &dirty {
            self.flush(t);
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    /// Writes what connection `t` can take now, and asks epoll for what it waits for.
    fn flush(&mut self, t: u64) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        let paused = c.backlog() > BACKLOG;
        if c.sent < c.out.len() {
            match wire::write_some(c.fd.as_fd(), &c.out[c.sent..]) {
                Ok(n) => c.sent += n,
                Err(_) => {
                    self.close(t);
                    return;
                }
            }
        }
        while c.taken.front().is_some_and(|(end, ..)| *end <= c.sent) {
            c.taken.pop_front();
        }
        if c.sent == c.out.len() {
            c.out.clear();
            c.sent = 0;
        } else if c.sent >= BACKLOG {
            c.out.drain(..c.sent);
            for (end, ..) in &mut c.taken {
                *end -= c.sent;
            }
            c.sent = 0;
        }
        let resumed = paused && c.backlog() <= BACKLOG;
        let want = flag(c.backlog() <= BACKLOG, epoll::EventFlags::IN)
            | flag(c.backlog() > 0, epoll::EventFlags::OUT);
        if want != c.interest {
            if epoll::modify(&self.epoll, &c.fd, epoll::EventData::new_u64(t), want).is_err() {
                self.close(t);
                return;
            }
            c.interest = want;
        }
        if resumed {
            self.resume.push(t);
        }
    }

    /// Ends connection `t`: items taken for answers it never got go back to their queues.
    fn close(&mut self, t: u64) {
        let Some(c) = self.conns.remove(&t) else {
            return;
        };
        let _ = epoll::delete(&self.epoll, &c.fd);
        // Locks it holds pass on, the next holder being told.
        for obj in c.held {
            if let Ok((holder, orphaned)) = lock(&mut self.objs, obj) {
                if *holder == Some(t) {
                    *holder = None;
                    *orphaned = true;
                    self.settle.push(obj);
                }
            }
        }
        for (end, obj, item) in c.taken.into_iter().rev() {
            if end > c.sent {
                self.put_back(obj, item);
            }
        }
    }
}

fn lock(objs: &mut Objects, obj: ObjectId) -> Result<(&mut Option<u64>, &mut bool), Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Lock { holder, orphaned } => Ok((holder, orphaned)),
        _ => Err(wrong(Kind::Lock, e.kind)),
    }
}

fn event(objs: &mut Objects, obj: ObjectId) -> Result<&mut bool, Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Event(set) => Ok(set),
        _ => Err(wrong(Kind::Event, e.kind)),
    }
}

fn queue(objs: &mut Objects, obj: ObjectId) -> Result<(&mut VecDeque<Vec<u8>>, usize), Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Queue { items, max, .. } => Ok((items, *max)),
        _ => Err(wrong(Kind::Queue, e.kind)),
    }
}

/// A queue's count of items put and not yet marked done.
fn unfinished(objs: &mut Objects, obj: ObjectId) -> Result<&mut u64, Fault> {
    let e = entry(objs, obj)?;
    match &mut e.obj {
        Obj::Queue { unfinished, .. } => Ok(unfinished),
        _ => Err(wrong(Kind::Queue, e.kind)),
    }
}

fn entry(objs: &mut Objects, obj: ObjectId) -> Result<&mut Entry, Fault> {
    objs.map.get_mut(&obj).ok_or(Fault::NoSuchObject(obj))
}

fn wrong(expected: Kind, found: Kind) -> Fault {
    Fault::WrongKind { expected, found }
}

fn map(objs: &mut Objects, obj: ObjectId) -> Result<&mut OrderedMap, Fault> {
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

/// Python's slice bounds `[start:stop]` (no step): negative counts from the end,
/// both clamped into the list, an empty range if `stop` comes before `start`.
fn bounds(start: i64, stop: Option<i64>, len: usize) -> (usize, usize) {
    let a = index(start, len, true).expect("clamped");
    let b = stop.map_or(len, |s| index(s, len, true).expect("clamped"));
    (a, b.max(a))
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
                Kind::Dict | Kind::Namespace => Obj::Map(OrderedMap::default()),
                Kind::List => Obj::List(Vec::new()),
                Kind::Value => Obj::Value(init),
                Kind::Queue => Obj::Queue {
                    items: VecDeque::new(),
                    max: usize::try_from(maxsize).unwrap_or(usize::MAX),
                    unfinished: 0,
                },
                Kind::Lock => Obj::Lock {
                    holder: None,
                    orphaned: false,
                },
                Kind::Event => Obj::Event(false),
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
        Op::PopItem { obj } => Reply::Pair(map(objs, obj)?.pop_last()),
        Op::SetDefault { obj, key, value } => {
            let m = map(objs, obj)?;
            if let Some(v) = m.get(&key) {
                Reply::Bytes(v.clone())
            } else {
                m.insert(key, value.clone());
                Reply::Bytes(value)
            }
        }
        Op::UpdateFrom { obj, pairs } => {
            let m = map(objs, obj)?;
            for (k, v) in pairs {
                m.insert(k, v);
            }
            Reply::Unit
        }
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
                    None => drop(m.remove(&key)),
                }
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
                Obj::Value(_) | Obj::Lock { .. } | Obj::Event(_) => {
                    return Err(wrong(Kind::List, e.kind));
                }
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
        Op::Count { obj, value } => {
            Reply::Len(list(objs, obj)?.iter().filter(|v| **v == value).count() as u64)
        }
        Op::Find {
            obj,
            value,
            start,
            stop,
        } => {
            let l = list(objs, obj)?;
            let (a, b) = bounds(start, stop, l.len());
            let at = l[a..b].iter().position(|v| *v == value);
            Reply::Len((a + at.ok_or(Fault::NotInList)?) as u64)
        }
        Op::RemoveValue { obj, value } => {
            let l = list(objs, obj)?;
            let at = l.iter().position(|v| *v == value);
            l.remove(at.ok_or(Fault::NotInList)?);
            Reply::Unit
        }
        Op::Reverse { obj } => {
            list(objs, obj)?.reverse();
            Reply::Unit
        }
        Op::Slice { obj, start, stop } => {
            let l = list(objs, obj)?;
            let (a, b) = bounds(start, stop, l.len());
            Reply::Many(l[a..b].to_vec())
        }
        Op::SetSlice {
            obj,
            start,
            stop,
            values,
        } => {
            let l = list(objs, obj)?;
            let (a, b) = bounds(start, stop, l.len());
            l.splice(a..b, values);
            Reply::Unit
        }
        Op::DelSlice { obj, start, stop } => {
            let l = list(objs, obj)?;
            let (a, b) = bounds(start, stop, l.len());
            l.drain(a..b);
            Reply::Unit
        }
        Op::ReplaceIf { obj, expect, new } => {
            let l = list(objs, obj)?;
            let done = *l == expect;
            if done {
                *l = new;
            }
            Reply::Bool(done)
        }
        Op::MaxSize { obj } => Reply::Len(queue(objs, obj)?.1 as u64),
        Op::IsFull { obj } => {
            let (items, max) = queue(objs, obj)?;
            Reply::Bool(max != 0 && items.len() >= max)
        }
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
        Op::Locked { obj } => Reply::Bool(lock(objs, obj)?.0.is_some()),
        Op::ClearEvent { obj } => {
            *event(objs, obj)? = false;
            Reply::Unit
        }
        Op::IsSet { obj } => Reply::Bool(*event(objs, obj)?),
        Op::Put { .. }
        | Op::Take { .. }
        | Op::Acquire { .. }
        | Op::TaskDone { .. }
        | Op::JoinQueue { .. }
        | Op::Release { .. }
        | Op::SetEvent { .. }
        | Op::WaitEvent { .. } => unreachable!("waiting operations are handled apart"),
    })
}
