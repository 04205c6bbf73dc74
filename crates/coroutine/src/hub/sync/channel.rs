//! gevent's `Channel`: a queue of size zero, where a put meets a get.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::queue::{PutTimeoutError, TryPutError};
use super::waitlist::LOOP_EXIT;
use crate::hub::core::{Hub, Waiter, Wake, checkpoint, hub};

/// One parked task and the cell its item passes through.
type Party<T> = (Waiter, Rc<Cell<Option<T>>>);

struct Inner<T> {
    getters: RefCell<VecDeque<Party<T>>>,
    putters: RefCell<VecDeque<Party<T>>>,
}

/// An unbuffered queue between green tasks (gevent's `gevent.queue.Channel`): `put`
/// waits until a `get` takes its item, `get` waits until a `put` brings one. Nothing is
/// ever stored in the channel itself. Clones share one channel.
///
/// A `put` that finds a getter waiting hands the item over and yields, so the getter
/// runs before the putter goes on (as in gevent).
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::{self, Channel};
///
/// let ch = Channel::new();
/// let rx = { let ch = ch.clone(); hub::spawn(move || (ch.get(), ch.get())) };
/// ch.put("hello");
/// ch.put("world");
/// assert_eq!(rx.join().unwrap(), ("hello", "world"));
/// ```
pub struct Channel<T> {
    inner: Rc<Inner<T>>,
}

/// Pops the first party whose park is still current.
fn pop_live<T>(list: &RefCell<VecDeque<Party<T>>>) -> Option<Party<T>> {
    loop {
        let next = list.borrow_mut().pop_front();
        match next {
            Some(party) if party.0.is_live() => return Some(party),
            Some(_) => continue,
            None => return None,
        }
    }
}

impl<T> Channel<T> {
    /// A new channel.
    pub fn new() -> Self {
        Channel {
            inner: Rc::new(Inner {
                getters: RefCell::new(VecDeque::new()),
                putters: RefCell::new(VecDeque::new()),
            }),
        }
    }

    /// Hands `item` to a waiting getter, or gives it back.
    fn hand_over(&self, hub: &Hub, item: T) -> Result<(), T> {
        match pop_live(&self.inner.getters) {
            Some((waiter, cell)) => {
                cell.set(Some(item));
                hub.wake(&waiter, Wake::Woken);
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Takes the item of a waiting putter.
    fn take_over(&self, hub: &Hub) -> Option<T> {
        let (waiter, cell) = pop_live(&self.inner.putters)?;
        let item = cell.take();
        hub.wake(&waiter, Wake::Woken);
        item
    }

    /// True when a getter waits (a `try_put` would succeed).
    pub fn has_getters(&self) -> bool {
        self.inner.getters.borrow().iter().any(|(w, _)| w.is_live())
    }

    /// True when a putter waits (a `try_get` would succeed).
    pub fn has_putters(&self) -> bool {
        self.inner.putters.borrow().iter().any(|(w, _)| w.is_live())
    }

    /// Puts an item, waiting until a getter takes it.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever take it
    /// (gevent's `LoopExit`).
    pub fn put(&self, item: T) {
        if self.put_deadline_opt(item, None).is_err() {
            unreachable!("no deadline");
        }
    }

    /// Hands the item to a getter that waits now (gevent's `put_nowait`); does not
    /// yield.
    ///
    /// # Errors
    ///
    /// [`TryPutError`] with the item when no getter waits.
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        self.hand_over(&hub(), item).map_err(TryPutError)
    }

    /// Puts an item, waiting at most `timeout` for a getter to take it.
    ///
    /// # Errors
    ///
    /// [`PutTimeoutError`] with the item when no getter took it in time.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutTimeoutError<T>> {
        self.put_deadline_opt(item, Some(Instant::now() + timeout))
    }

    fn put_deadline_opt(
        &self,
        item: T,
        deadline: Option<Instant>,
    ) -> Result<(), PutTimeoutError<T>> {
        let hub = hub();
        let mut item = item;
        loop {
            item = match self.hand_over(&hub, item) {
                Ok(()) => {
                    // Let the getter run first, as gevent's switch to it does.
                    crate::hub::sleep(Duration::ZERO);
                    return Ok(());
                }
                Err(item) => item,
            };
            let cell = Rc::new(Cell::new(Some(item)));
            self.inner
                .putters
                .borrow_mut()
                .push_back((hub.waiter(), cell.clone()));
            let wake = hub.park_deadline(deadline);
            // A getter empties the cell before it wakes us; otherwise the item is ours.
            let Some(back) = cell.take() else {
                return Ok(());
            };
            match wake {
                Wake::Deadlock => panic!("{LOOP_EXIT}"),
                Wake::Interrupted => checkpoint(),
                Wake::TimedOut if deadline.is_some() => return Err(PutTimeoutError(back)),
                Wake::TimedOut | Wake::Woken => {}
            }
            item = back;
        }
    }

    /// Takes an item, waiting until a putter brings one.
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever put one
    /// (gevent's `LoopExit`).
    pub fn get(&self) -> T {
        self.get_deadline_opt(None).expect("no deadline")
    }

    /// The item of a putter that waits now (gevent's `get_nowait`).
    pub fn try_get(&self) -> Option<T> {
        self.take_over(&hub())
    }

    /// Takes an item, waiting at most `timeout`; `None` when none came.
    pub fn get_timeout(&self, timeout: Duration) -> Option<T> {
        self.get_deadline_opt(Some(Instant::now() + timeout))
    }

    fn get_deadline_opt(&self, deadline: Option<Instant>) -> Option<T> {
        let hub = hub();
        loop {
            if let Some(item) = self.take_over(&hub) {
                return Some(item);
            }
            let cell = Rc::new(Cell::new(None));
            self.inner
                .getters
                .borrow_mut()
                .push_back((hub.waiter(), cell.clone()));
            let wake = hub.park_deadline(deadline);
            // A putter fills the cell before it wakes us.
            if let Some(item) = cell.take() {
                return Some(item);
            }
            match wake {
                Wake::Deadlock => panic!("{LOOP_EXIT}"),
                Wake::Interrupted => checkpoint(),
                Wake::TimedOut if deadline.is_some() => return None,
                Wake::TimedOut | Wake::Woken => {}
            }
        }
    }
}

impl<T> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Default for Channel<T> {
    fn default() -> Self {
        Channel::new()
    }
}

impl<T> fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("getters", &self.has_getters())
            .field("putters", &self.has_putters())
            .finish()
    }
}
