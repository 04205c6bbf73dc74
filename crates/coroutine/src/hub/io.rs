//! The hub's IO poller: mio (epoll on Linux, kqueue on the BSDs and macOS) in
//! edge-triggered mode. A socket is registered once for reading and writing; a task that
//! gets `WouldBlock` parks on the socket's reader or writer list until the next event.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Source;
use mio::{Events, Interest, Poll, Token};

use super::core::{Hub, Waiter, Wake, checkpoint};

/// The tasks parked on one direction of a socket, oldest first. The first one is kept
/// inline (one task per direction is the common case), so parking it and waking it
/// touch no memory beyond the socket's entry.
#[derive(Default)]
struct WaitList {
    first: Cell<Option<Waiter>>,
    /// The others, oldest first; empty while `first` is `None`.
    rest: RefCell<Vec<Waiter>>,
}

impl WaitList {
    fn push(&self, waiter: Waiter) {
        match self.first.take() {
            None => self.first.set(Some(waiter)),
            Some(first) => {
                self.first.set(Some(first));
                self.rest.borrow_mut().push(waiter);
            }
        }
    }

    /// Moves every waiter, oldest first, to the end of `woken`.
    fn drain_into(&self, woken: &mut Vec<Waiter>) {
        if let Some(first) = self.first.take() {
            woken.push(first);
            let mut rest = self.rest.borrow_mut();
            if !rest.is_empty() {
                woken.append(&mut rest);
            }
        }
    }
}

impl fmt::Debug for WaitList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first.take();
        let count = usize::from(first.is_some()) + self.rest.borrow().len();
        self.first.set(first);
        f.debug_struct("WaitList").field("waiting", &count).finish()
    }
}

/// One registered socket: who waits to read, who waits to write, and whether a read
/// may find data.
#[derive(Debug)]
pub(crate) struct IoEntry {
    token: usize,
    readers: WaitList,
    writers: WaitList,
    /// False once a read showed the socket's receive queue empty (`WouldBlock`, or a
    /// read that got less than it asked for); true again at the next readable event.
    /// While false a reader parks without trying the syscall, which could only fail
    /// with `WouldBlock` (edge-triggered epoll reports every arrival after that read).
    readable: Cell<bool>,
    /// Set once an event reported the peer's end of the stream (or an error): no event
    /// will follow, so the socket then stays readable (a read returns 0 or the error).
    read_closed: Cell<bool>,
}

impl IoEntry {
    /// This side shut its read half: reads return 0 from now on, never block.
    pub(crate) fn read_shut(&self) {
        self.read_closed.set(true);
        self.readable.set(true);
    }

    /// Whether a read may find data (see the field).
    pub(crate) fn may_read(&self) -> bool {
        self.readable.get()
    }

    /// A read showed the receive queue empty: park before the next syscall — unless
    /// the end of the stream was already reported (its event is consumed; a short read
    /// of the last bytes does not mean that a read would block).
    pub(crate) fn drained(&self) {
        if !self.read_closed.get() {
            self.readable.set(false);
        }
    }
}

/// The direction a task waits for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// The poller of one hub and its registered sockets.
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
    entries: Vec<Option<Rc<IoEntry>>>,
    free: Vec<usize>,
}

impl Reactor {
    fn new() -> io::Result<Self> {
        Ok(Reactor {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            entries: Vec::new(),
            free: Vec::new(),
        })
    }

    /// Waits for events up to `timeout` and returns the waiters to wake.
    pub(crate) fn poll(&mut self, timeout: Option<Duration>) -> Vec<Waiter> {
        let mut woken = Vec::new();
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // EINTR (e.g. the blocking detector's signal): no events this time.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return woken,
            Err(e) => panic!("skein hub: the IO poller failed: {e}"),
        }
        for event in self.events.iter() {
            let Some(Some(entry)) = self.entries.get(event.token().0) else {
                continue;
            };
            let failed = event.is_error();
            if event.is_readable() || event.is_read_closed() || failed {
                entry.readable.set(true);
                if event.is_read_closed() || failed {
                    entry.read_closed.set(true);
                }
                entry.readers.drain_into(&mut woken);
            }
            if event.is_writable() || event.is_write_closed() || failed {
                entry.writers.drain_into(&mut woken);
            }
        }
        woken
    }
}

impl Hub {
    fn with_reactor<R>(&self, f: impl FnOnce(&mut Reactor) -> io::Result<R>) -> io::Result<R> {
        let mut reactor = self.reactor.borrow_mut();
        if reactor.is_none() {
            *reactor = Some(Reactor::new()?);
        }
        f(reactor.as_mut().expect("created above"))
    }

    /// Registers a socket with this hub's poller.
    pub(crate) fn register(&self, source: &mut impl Source) -> io::Result<Rc<IoEntry>> {
        self.with_reactor(|r| {
            let token = match r.free.pop() {
                Some(token) => token,
                None => {
                    r.entries.push(None);
                    r.entries.len() - 1
                }
            };
            if let Err(e) = r.poll.registry().register(
                source,
                Token(token),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                r.free.push(token);
                return Err(e);
            }
            let entry = Rc::new(IoEntry {
                token,
                readers: WaitList::default(),
                writers: WaitList::default(),
                readable: Cell::new(true),
                read_closed: Cell::new(false),
            });
            r.entries[token] = Some(entry.clone());
            Ok(entry)
        })
    }

    /// Removes a socket from this hub's poller (before it is closed).
    pub(crate) fn deregister(&self, source: &mut impl Source, entry: &IoEntry) {
        let mut reactor = self.reactor.borrow_mut();
        if let Some(r) = reactor.as_mut() {
            let _ = r.poll.registry().deregister(source);
            r.entries[entry.token] = None;
            r.free.push(entry.token);
        }
    }

    /// Parks the current task until `entry` is ready in `direction` or `deadline`
    /// passes; false on timeout. Unwinds if the task is killed or times out meanwhile.
    pub(crate) fn wait_io(
        &self,
        entry: &IoEntry,
        direction: Direction,
        deadline: Option<Instant>,
    ) -> bool {
        let waiter = self.waiter();
        match direction {
            Direction::Read => entry.readers.push(waiter),
            Direction::Write => entry.writers.push(waiter),
        }
        match self.park_io(deadline) {
            Wake::Woken => true,
            Wake::TimedOut => false,
            Wake::Interrupted => {
                checkpoint();
                true
            }
            Wake::Deadlock => unreachable!("an IO wait always counts as a possible wake-up"),
        }
    }
}
