//! gevent's `Event`.

use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::waitlist::WaitList;
use crate::hub::core::{Hook, Wake, hub};

#[derive(Default)]
struct Inner {
    flag: std::cell::Cell<bool>,
    waiters: WaitList,
    /// Run once at the next `set` (gevent's `rawlink`; used by `iwait`).
    hooks: std::cell::RefCell<Vec<(u64, Hook)>>,
}

/// A flag green tasks wait for (gevent's `gevent.event.Event`): `set` wakes every
/// waiter, `clear` resets it. Clones share one event.
///
/// # Examples
///
/// ```
/// use skein_coroutine::hub::{self, Event};
///
/// let ready = Event::new();
/// let waiter = { let ready = ready.clone(); hub::spawn(move || ready.wait()) };
/// let setter = { let ready = ready.clone(); hub::spawn(move || ready.set()) };
/// assert!(waiter.join().unwrap());
/// setter.join().unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Event {
    inner: Rc<Inner>,
}

impl Event {
    /// A new, unset event.
    pub fn new() -> Self {
        Event::default()
    }

    /// Sets the flag and wakes every waiting task.
    pub fn set(&self) {
        self.inner.flag.set(true);
        let hub = hub();
        self.inner.waiters.wake_all(&hub);
        let hooks = std::mem::take(&mut *self.inner.hooks.borrow_mut());
        for (_, hook) in hooks {
            hub.run_hook(hook);
        }
    }

    /// Runs `hook` (in the hub's rawlink way) at the next `set`; the hook back when
    /// the event is set now.
    pub(crate) fn add_hook(&self, hook: Hook) -> Result<u64, Hook> {
        if self.is_set() {
            return Err(hook);
        }
        let id = hub().link_id();
        self.inner.hooks.borrow_mut().push((id, hook));
        Ok(id)
    }

    /// Removes a hook that has not run.
    pub(crate) fn remove_hook(&self, id: u64) {
        self.inner.hooks.borrow_mut().retain(|(h, _)| *h != id);
    }

    /// Resets the flag.
    pub fn clear(&self) {
        self.inner.flag.set(false);
    }

    /// True when the flag is set (Python's `is_set()`).
    pub fn is_set(&self) -> bool {
        self.inner.flag.get()
    }

    /// Waits until the flag is set; returns true (Python's `wait()`).
    ///
    /// # Panics
    ///
    /// In the main context, when no task, timer or socket could ever set it
    /// (gevent's `LoopExit`).
    pub fn wait(&self) -> bool {
        self.wait_deadline_opt(None)
    }

    /// Waits at most `timeout`; true when the flag was set (Python's `wait(timeout)`).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_deadline_opt(Some(Instant::now() + timeout))
    }

    /// Waits until `deadline` at most; true when the flag was set.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.wait_deadline_opt(Some(deadline))
    }

    fn wait_deadline_opt(&self, deadline: Option<Instant>) -> bool {
        loop {
            if self.inner.flag.get() {
                return true;
            }
            match self.inner.waiters.park(&hub(), deadline) {
                // `set` wakes the waiters: the flag was set, even if cleared since.
                Wake::Woken => return true,
                // Without a deadline this is an interruption that could not unwind (a
                // destructor waits during unwinding): wait again.
                _ if deadline.is_none() => {}
                _ => return self.inner.flag.get(),
            }
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}
