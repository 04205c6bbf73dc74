//! The manager's wire protocol: one postcard [`Request`] per frame from a proxy, one
//! [`Response`] per request from the server, in order, each carrying the request's id
//! (so calls can be pipelined: send many, then collect the answers).
//!
//! Values are opaque postcard bytes to the server; proxies encode and decode them.
//! Since postcard is deterministic, equal values have equal bytes, which is what the
//! compare-and-swap operations compare.

use serde::{Deserialize, Serialize};

/// An object's id in its manager.
pub(crate) type ObjectId = u64;

/// What kind of shared object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Kind {
    Dict,
    List,
    Value,
    Namespace,
    Queue,
    Lock,
    Event,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) id: u64,
    pub(crate) op: Op,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Op {
    /// A new object, or (with `name`) the object of that name, created if missing.
    /// `tag` names the Rust types; a named lookup with another tag is refused.
    Create {
        kind: Kind,
        tag: String,
        name: Option<String>,
        /// Initial value (`Value`) or capacity (`Queue`, `0`: unbounded).
        init: Vec<u8>,
        maxsize: u64,
    },
    // Dict and Namespace.
    Get {
        obj: ObjectId,
        key: Vec<u8>,
    },
    Set {
        obj: ObjectId,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Remove {
        obj: ObjectId,
        key: Vec<u8>,
    },
    Contains {
        obj: ObjectId,
        key: Vec<u8>,
    },
    Keys {
        obj: ObjectId,
    },
    Items {
        obj: ObjectId,
    },
    /// Removes and returns the last key inserted (`d.popitem()`).
    PopItem {
        obj: ObjectId,
    },
    /// `d.setdefault(key, value)`: the value there, or `value` stored and returned.
    SetDefault {
        obj: ObjectId,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// `d.update(pairs)`, all at once.
    UpdateFrom {
        obj: ObjectId,
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
    },
    /// Sets `key` to `new` (`None`: removes it) if its value is `expect`.
    Cas {
        obj: ObjectId,
        key: Vec<u8>,
        expect: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    },
    // Any container.
    Len {
        obj: ObjectId,
    },
    Clear {
        obj: ObjectId,
    },
    // List.
    Push {
        obj: ObjectId,
        value: Vec<u8>,
    },
    Extend {
        obj: ObjectId,
        values: Vec<Vec<u8>>,
    },
    Index {
        obj: ObjectId,
        index: i64,
    },
    SetIndex {
        obj: ObjectId,
        index: i64,
        value: Vec<u8>,
    },
    Insert {
        obj: ObjectId,
        index: i64,
        value: Vec<u8>,
    },
    Pop {
        obj: ObjectId,
        index: Option<i64>,
    },
    Values {
        obj: ObjectId,
    },
    /// `l.count(value)` (equal bytes).
    Count {
        obj: ObjectId,
        value: Vec<u8>,
    },
    /// `l.index(value, start, stop)`: the first position, or `NotInList`.
    Find {
        obj: ObjectId,
        value: Vec<u8>,
        start: i64,
        stop: Option<i64>,
    },
    /// `l.remove(value)`: the first equal item, or `NotInList`.
    RemoveValue {
        obj: ObjectId,
        value: Vec<u8>,
    },
    Reverse {
        obj: ObjectId,
    },
    /// `l[start:stop]` (`None`: the end).
    Slice {
        obj: ObjectId,
        start: i64,
        stop: Option<i64>,
    },
    /// `l[start:stop] = values` (the list may grow or shrink).
    SetSlice {
        obj: ObjectId,
        start: i64,
        stop: Option<i64>,
        values: Vec<Vec<u8>>,
    },
    /// `del l[start:stop]`.
    DelSlice {
        obj: ObjectId,
        start: i64,
        stop: Option<i64>,
    },
    /// Replaces the whole list with `new` if it still is `expect` (how a sort computed
    /// by a proxy lands atomically).
    ReplaceIf {
        obj: ObjectId,
        expect: Vec<Vec<u8>>,
        new: Vec<Vec<u8>>,
    },
    // Value.
    Load {
        obj: ObjectId,
    },
    Store {
        obj: ObjectId,
        value: Vec<u8>,
    },
    Swap {
        obj: ObjectId,
        expect: Vec<u8>,
        new: Vec<u8>,
    },
    // Queue: `timeout_ms` None waits forever, Some(0) does not wait.
    Put {
        obj: ObjectId,
        value: Vec<u8>,
        timeout_ms: Option<u64>,
    },
    Take {
        obj: ObjectId,
        timeout_ms: Option<u64>,
    },
    /// The queue's capacity (`0`: unbounded).
    MaxSize {
        obj: ObjectId,
    },
    /// `q.full()`.
    IsFull {
        obj: ObjectId,
    },
    /// `q.task_done()`: `TooManyTaskDone` if no task is unfinished.
    TaskDone {
        obj: ObjectId,
    },
    /// `q.join()`: answered once every item put has been marked done.
    JoinQueue {
        obj: ObjectId,
    },
    /// Round trip only.
    Ping,
    // Lock: `timeout_ms` as for queues.
    Acquire {
        obj: ObjectId,
        timeout_ms: Option<u64>,
    },
    Release {
        obj: ObjectId,
    },
    Locked {
        obj: ObjectId,
    },
    // Event.
    SetEvent {
        obj: ObjectId,
    },
    ClearEvent {
        obj: ObjectId,
    },
    IsSet {
        obj: ObjectId,
    },
    WaitEvent {
        obj: ObjectId,
        timeout_ms: Option<u64>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Response {
    pub(crate) id: u64,
    pub(crate) result: Result<Reply, Fault>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Unit,
    Created(ObjectId),
    Maybe(Option<Vec<u8>>),
    Bytes(Vec<u8>),
    Len(u64),
    Bool(bool),
    Many(Vec<Vec<u8>>),
    Pairs(Vec<(Vec<u8>, Vec<u8>)>),
    /// One key and its value, if any (`popitem`).
    Pair(Option<(Vec<u8>, Vec<u8>)>),
    /// A compare-and-swap: whether it swapped, and the value now there.
    Swapped {
        done: bool,
        current: Option<Vec<u8>>,
    },
    /// A lock was acquired; `owner_died`: its previous holder's connection ended while
    /// holding it. (Not acquired in time: `Bool(false)`.)
    Acquired {
        owner_died: bool,
    },
}

/// What the server refused, sent back to the proxy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Fault {
    NoSuchObject(ObjectId),
    WrongKind {
        expected: Kind,
        found: Kind,
    },
    TypeMismatch {
        name: String,
        expected: String,
        found: String,
    },
    IndexOutOfRange {
        index: i64,
        len: u64,
    },
    Full,
    Empty,
    /// Release of a lock that is not held.
    NotLocked,
    /// `l.index(v)` / `l.remove(v)` of a value not in the list.
    NotInList,
    /// `q.task_done()` called more times than items were put.
    TooManyTaskDone,
    /// The request could not be decoded; the server closes this connection.
    Malformed(String),
}
