//! Handle passing: how an IPC object given as an argument reaches a child under every
//! start method. **This is the extension point for new handle kinds.**
//!
//! # The mechanism
//!
//! A *handle* is a value that owns operating-system descriptors (a [`Connection`] owns
//! a socket; queues, locks and shared arrays own memory descriptors and sockets). It
//! crosses into a child in one of two ways:
//!
//! * **`Fork`**: the child is a copy of the parent, descriptors included. The argument
//!   value is moved into the child as it is; nothing is serialised.
//! * **`Spawn` and `Forkserver`**: the arguments are serialised with serde (postcard).
//!   While they are, a *collector* is active on the serialising thread: each handle's
//!   `Serialize` impl pushes its descriptors into the collector and writes only their
//!   **index** into the byte stream. The bytes and the descriptors travel together over
//!   a Unix socket, the descriptors as `SCM_RIGHTS` ancillary data (the kernel
//!   duplicates them into the receiver). In the child a *source* holding the received
//!   descriptors is active while the arguments are deserialised: each handle's
//!   `Deserialize` impl takes its descriptors back by index. Descriptors nobody claims
//!   are closed when deserialisation ends.
//!
//! Outside a child start no collector is active, so serialising a handle (to JSON, or
//! through a [`Connection`]) fails with a clear error instead of sending a meaningless
//! number.
//!
//! # Adding a handle kind
//!
//! A handle kind only has to make its descriptors [`HandleFd`] fields (or call
//! [`serialize_fd`]/[`deserialize_fd`] from hand-written impls) and derive or write
//! `Serialize`/`Deserialize` for the plain rest of its state:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use skein_process::HandleFd;
//!
//! /// A handle kind: a memory segment descriptor plus its length.
//! #[derive(Serialize, Deserialize)]
//! struct SegmentHandle {
//!     memory: HandleFd,
//!     len: usize,
//! }
//! ```
//!
//! Rebuilding in the child is the `Deserialize` impl (for example, `mmap` the received
//! descriptor again). Work that must happen in every child whatever the start method
//! (for example, re-registering a resource with a tracker after a `fork`, where no
//! deserialisation happens) goes in a hook registered with `start::child::on_child_start`; hooks
//! run in the child after its bookkeeping is reset and before the target runs.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

thread_local! {
    /// Descriptors collected while arguments for a child are serialised.
    static OUTGOING: RefCell<Option<Vec<RawFd>>> = const { RefCell::new(None) };
    /// Descriptors received by a child while its arguments are deserialised.
    static INCOMING: RefCell<Option<Vec<Option<OwnedFd>>>> = const { RefCell::new(None) };
    /// The message of the last handle serialisation error (postcard keeps only "custom
    /// error", not the message).
    static NOTE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Whether `NOTE` may hold a message: a plain flag (no destructor, so no lazy
    /// registration to check) that lets [`clear_note`] skip `NOTE` on every send.
    static NOTED: Cell<bool> = const { Cell::new(false) };
}

/// Records why a handle refused to serialise, and returns the message.
pub(crate) fn note(msg: &str) -> &str {
    NOTE.with(|n| *n.borrow_mut() = Some(msg.to_owned()));
    NOTED.with(|f| f.set(true));
    msg
}

/// Describes a serialisation failure, with the handle's own message if it noted one.
pub(crate) fn describe(e: &dyn std::fmt::Display) -> String {
    NOTE.with(|n| n.borrow_mut().take())
        .unwrap_or_else(|| e.to_string())
}

/// Forgets a stale note (before a serialisation starts).
#[inline]
pub(crate) fn clear_note() {
    if NOTED.with(Cell::get) {
        NOTED.with(|f| f.set(false));
        NOTE.with(|n| n.borrow_mut().take());
    }
}

/// Whether a child's arguments are being serialised on this thread right now (a
/// handle that carries a secret, like a manager proxy's authkey, serialises only then).
pub(crate) fn collecting() -> bool {
    OUTGOING.with(|o| o.borrow().is_some())
}

/// Runs `f` (which serialises a child's arguments) with a collector active, and returns
/// its result with the raw descriptors the handles inside pushed, in index order.
///
/// The descriptors are borrowed from the values being serialised: the caller keeps
/// those values alive until the descriptors have been sent.
pub(crate) fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<RawFd>) {
    clear_note();
    let saved = OUTGOING.with(|o| o.borrow_mut().replace(Vec::new()));
    let r = f();
    let fds = OUTGOING.with(|o| std::mem::replace(&mut *o.borrow_mut(), saved));
    (r, fds.unwrap_or_default())
}

/// Runs `f` (which deserialises a child's arguments) with `fds` available to the
/// handles inside; descriptors left unclaimed are closed afterwards.
pub(crate) fn provide<R>(fds: Vec<OwnedFd>, f: impl FnOnce() -> R) -> R {
    let _provided = Provided::new(fds.into_iter().map(Some).collect());
    f()
}

/// Descriptors available to handles being deserialised, until dropped; dropping
/// closes those left unclaimed.
pub(crate) struct Provided {
    saved: Option<Vec<Option<OwnedFd>>>,
}

impl Provided {
    /// Makes `slots` available to handles deserialised on this thread.
    pub(crate) fn new(slots: Vec<Option<OwnedFd>>) -> Provided {
        Provided {
            saved: INCOMING.with(|i| i.borrow_mut().replace(slots)),
        }
    }
}

impl Drop for Provided {
    fn drop(&mut self) {
        let saved = self.saved.take();
        let unclaimed = INCOMING.with(|i| std::mem::replace(&mut *i.borrow_mut(), saved));
        drop(unclaimed);
    }
}

/// Serialises a descriptor as a handle index. For hand-written `Serialize` impls of
/// handle kinds; [`HandleFd`] does this for you.
///
/// # Errors
///
/// Fails (with the serializer's error) outside the start of a child: a descriptor's
/// number means nothing in another process unless the descriptor travels with it.
pub fn serialize_fd<S: Serializer>(fd: BorrowedFd<'_>, s: S) -> Result<S::Ok, S::Error> {
    let index = OUTGOING.with(|o| {
        o.borrow_mut().as_mut().map(|v| {
            v.push(fd.as_raw_fd());
            v.len() - 1
        })
    });
    match index {
        Some(i) => s.serialize_u32(i as u32),
        None => Err(S::Error::custom(note(
            "a skein-process handle can only be serialised as an argument of a child process",
        ))),
    }
}

/// Deserialises a descriptor written by [`serialize_fd`], taking ownership of it.
///
/// # Errors
///
/// Fails when no descriptors are being received (not inside a child's start), when
/// the index is out of range, or when the descriptor was already taken.
pub fn deserialize_fd<'de, D: Deserializer<'de>>(d: D) -> Result<OwnedFd, D::Error> {
    let index = u32::deserialize(d)? as usize;
    INCOMING.with(|i| match i.borrow_mut().as_mut() {
        None => Err(D::Error::custom(
            "a skein-process handle can only be deserialised in a child process's arguments",
        )),
        Some(v) => match v.get_mut(index) {
            None => Err(D::Error::custom(format!(
                "handle index {index} out of range ({} descriptors received)",
                v.len()
            ))),
            Some(slot) => slot
                .take()
                .ok_or_else(|| D::Error::custom(format!("handle index {index} taken twice"))),
        },
    })
}

/// An owned descriptor that can be passed to a child as (part of) an argument, under
/// every start method. The building block of every handle kind.
///
/// # Examples
///
/// ```
/// use std::os::fd::OwnedFd;
/// use skein_process::HandleFd;
///
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let handle = HandleFd::new(OwnedFd::from(file));
/// let _back: OwnedFd = handle.into_inner();
/// ```
pub struct HandleFd(OwnedFd);

impl HandleFd {
    /// Wraps an owned descriptor.
    pub fn new(fd: OwnedFd) -> HandleFd {
        HandleFd(fd)
    }

    /// The descriptor back.
    pub fn into_inner(self) -> OwnedFd {
        self.0
    }
}

impl AsFd for HandleFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for HandleFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl From<OwnedFd> for HandleFd {
    fn from(fd: OwnedFd) -> HandleFd {
        HandleFd(fd)
    }
}

impl From<HandleFd> for OwnedFd {
    fn from(h: HandleFd) -> OwnedFd {
        h.0
    }
}

impl fmt::Debug for HandleFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HandleFd")
            .field(&self.0.as_raw_fd())
            .finish()
    }
}

impl Serialize for HandleFd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_fd(self.0.as_fd(), s)
    }
}

impl<'de> Deserialize<'de> for HandleFd {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HandleFd, D::Error> {
        deserialize_fd(d).map(HandleFd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct TwoFds {
        a: HandleFd,
        label: String,
        b: HandleFd,
    }

    fn devnull() -> HandleFd {
        HandleFd::new(std::fs::File::open("/dev/null").unwrap().into())
    }

    #[test]
    fn collect_then_provide_rebuilds_handles_in_order() {
        let v = TwoFds {
            a: devnull(),
            label: "x".into(),
            b: devnull(),
        };
        let (bytes, fds) = collect(|| postcard::to_allocvec(&v).unwrap());
        assert_eq!(fds, vec![v.a.as_raw_fd(), v.b.as_raw_fd()]);
        // Stand-ins for received descriptors: duplicates, as SCM_RIGHTS would give.
        let dups: Vec<OwnedFd> = [&v.a, &v.b]
            .iter()
            .map(|h| h.as_fd().try_clone_to_owned().unwrap())
            .collect();
        let expected: Vec<RawFd> = dups.iter().map(|d| d.as_raw_fd()).collect();
        let back: TwoFds = provide(dups, || postcard::from_bytes(&bytes).unwrap());
        assert_eq!(back.label, "x");
        assert_eq!(
            [back.a.as_raw_fd(), back.b.as_raw_fd()],
            [expected[0], expected[1]]
        );
    }

    #[test]
    fn handles_outside_a_child_start_are_errors() {
        let h = devnull();
        let e = postcard::to_allocvec(&h).unwrap_err();
        assert!(describe(&e).contains("argument of a child process"));
        let bytes = postcard::to_allocvec(&0u32).unwrap();
        assert!(postcard::from_bytes::<HandleFd>(&bytes).is_err());
    }

    #[test]
    fn an_index_is_taken_once_and_bounds_checked() {
        let dup = || std::fs::File::open("/dev/null").unwrap().into();
        let bytes = postcard::to_allocvec(&(0u32, 0u32)).unwrap();
        let r: Result<(HandleFd, HandleFd), _> =
            provide(vec![dup()], || postcard::from_bytes(&bytes));
        assert!(r.is_err(), "index 0 taken twice");
        let bytes = postcard::to_allocvec(&5u32).unwrap();
        let r: Result<HandleFd, _> = provide(vec![dup()], || postcard::from_bytes(&bytes));
        assert!(r.is_err(), "index out of range");
    }
}
