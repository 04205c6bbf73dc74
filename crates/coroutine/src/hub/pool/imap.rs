//! gevent's `pool.imap` and `pool.imap_unordered`: a feeder task spawns the items on the
//! pool and hands their handles, then their completions, to the iterator through a
//! green queue.

use std::any::Any;
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use super::Pool;
use crate::hub::JoinError;
use crate::hub::core::Killed;
use crate::hub::sync::{Event, Queue};
use crate::hub::task::{JoinHandle, spawn};

/// What the feeder and the item tasks send to the iterator.
enum Msg<T> {
    /// The item with this index is spawned.
    Spawned(usize, JoinHandle<T>),
    /// The item's task has ended (returned, panicked, was killed or never ran).
    Done(usize),
    /// The feeder has spawned this many items and stopped.
    Fed(usize),
    /// The items' iterator panicked after this many items.
    FeederPanicked(usize, Box<dyn Any + Send>),
}

/// Tells the iterator that an item's task has ended, however it ended: it is dropped
/// with the task's closure.
struct DoneGuard<T: 'static> {
    tx: Queue<Msg<T>>,
    index: usize,
    backlog: Rc<Backlog>,
}

/// gevent's `maxsize`: how many finished results wait for the consumer.
struct Backlog {
    maxsize: Option<usize>,
    /// Item tasks that have ended.
    done: Cell<usize>,
    /// Results handed out by the iterator.
    taken: Cell<usize>,
    /// Set when the consumer takes a result or goes away.
    room: Event,
}

impl Backlog {
    /// The feeder waits while `maxsize` finished results wait for the consumer.
    fn wait_for_room(&self, stopped: &Cell<bool>) {
        let Some(maxsize) = self.maxsize else { return };
        while !stopped.get() && self.done.get() - self.taken.get() >= maxsize {
            self.room.clear();
            self.room.wait();
        }
    }
}

impl<T: 'static> Drop for DoneGuard<T> {
    fn drop(&mut self) {
        self.backlog.done.set(self.backlog.done.get() + 1);
        // An unbounded queue: this never parks, even during unwinding.
        self.tx.put(Msg::Done(self.index));
    }
}

/// The results of [`Pool::imap`] or [`Pool::imap_unordered`], an [`Iterator`] of
/// `Result<T, JoinError>`: each item's result as [`JoinHandle::join`] gives it (a panic
/// in the function is that item's `Err`).
///
/// Its `next` waits on the hub. Dropping it stops the feeding of further items; the
/// tasks already spawned run to their end.
#[must_use = "the results come only by iterating"]
pub struct Imap<T: 'static> {
    messages: Queue<Msg<T>>,
    ordered: bool,
    handles: HashMap<usize, JoinHandle<T>>,
    /// Unordered: items whose task ended, in the order they ended.
    ended: VecDeque<usize>,
    next_index: usize,
    taken: usize,
    total: Option<usize>,
    feeder_panic: Option<Box<dyn Any + Send>>,
    stop: Rc<Cell<bool>>,
    backlog: Rc<Backlog>,
}

impl<T: 'static> Imap<T> {
    pub(super) fn new<I, F>(
        pool: Pool,
        items: I,
        f: F,
        ordered: bool,
        maxsize: Option<usize>,
    ) -> Self
    where
        I: Iterator + 'static,
        I::Item: 'static,
        F: Fn(I::Item) -> T + 'static,
    {
        let messages = Queue::new();
        let stop = Rc::new(Cell::new(false));
        let f = Rc::new(f);
        let backlog = Rc::new(Backlog {
            maxsize: maxsize.map(|m| m.max(1)),
            done: Cell::new(0),
            taken: Cell::new(0),
            room: Event::new(),
        });
        let (tx, stopped, gate) = (messages.clone(), stop.clone(), backlog.clone());
        // The feeder is detached: it ends by itself when the items run out or the
        // iterator is dropped.
        drop(spawn(move || {
            let mut items = items;
            let mut count = 0;
            while !stopped.get() {
                gate.wait_for_room(&stopped);
                if stopped.get() {
                    break;
                }
                let item = match panic::catch_unwind(AssertUnwindSafe(|| items.next())) {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(payload) if payload.is::<Killed>() => panic::resume_unwind(payload),
                    Err(payload) => {
                        tx.put(Msg::FeederPanicked(count, payload));
                        return;
                    }
                };
                let f = f.clone();
                let done = DoneGuard {
                    tx: tx.clone(),
                    index: count,
                    backlog: gate.clone(),
                };
                let handle = pool.spawn(move || {
                    let _done = done;
                    f(item)
                });
                tx.put(Msg::Spawned(count, handle));
                count += 1;
            }
            tx.put(Msg::Fed(count));
        }));
        Imap {
            messages,
            ordered,
            handles: HashMap::new(),
            ended: VecDeque::new(),
            next_index: 0,
            taken: 0,
            total: None,
            feeder_panic: None,
            stop,
            backlog,
        }
    }

    /// The index of the next result to hand out, if it is known yet.
    fn ready_index(&mut self) -> Option<usize> {
        if self.ordered {
            self.handles
                .contains_key(&self.next_index)
                .then_some(self.next_index)
        } else {
            self.ended.pop_front()
        }
    }
}

impl<T: 'static> Iterator for Imap<T> {
    type Item = Result<T, JoinError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(index) = self.ready_index() {
                let handle = self
                    .handles
                    .remove(&index)
                    .expect("an item is spawned before its task ends");
                self.next_index = index + 1;
                self.taken += 1;
                self.backlog.taken.set(self.taken);
                self.backlog.room.set();
                return Some(handle.join());
            }
            if self.total.is_some_and(|total| self.taken >= total) {
                if let Some(payload) = self.feeder_panic.take() {
                    panic::resume_unwind(payload);
                }
                return None;
            }
            match self.messages.get() {
                Msg::Spawned(index, handle) => {
                    self.handles.insert(index, handle);
                }
                Msg::Done(index) => {
                    if !self.ordered {
                        self.ended.push_back(index);
                    }
                }
                Msg::Fed(count) => self.total = Some(count),
                Msg::FeederPanicked(count, payload) => {
                    self.total = Some(count);
                    self.feeder_panic = Some(payload);
                }
            }
        }
    }
}

impl<T: 'static> Drop for Imap<T> {
    fn drop(&mut self) {
        self.stop.set(true);
        self.backlog.room.set();
    }
}

impl<T: 'static> fmt::Debug for Imap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("ordered", &self.ordered)
            .field("taken", &self.taken)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}
