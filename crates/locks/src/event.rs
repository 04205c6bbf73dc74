//! `Event`: Python's `threading.Event`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::primitive::{AtomicU8, Mutex, loom_const_fn, mutex};

use crate::waiter::{self, NOTIFIED, WAITING, Waiter};

const SET: u8 = 1;
const PARKED: u8 = 2;

/// A flag threads can wait for — Python's `threading.Event`.
///
/// `set` raises the flag and wakes every waiter, `clear` lowers it, `wait` blocks while it
/// is down. A waiter first spins briefly (as crossbeam-channel does) and only then parks, so
/// two threads handing control back and forth never pay for a system call while both are
/// running. `set` with nobody parked is a single atomic operation.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_locks::Event;
///
/// let gate = Event::new();
/// std::thread::scope(|s| {
///     s.spawn(|| gate.wait());     // blocks until the main thread opens the gate
///     assert!(!gate.is_set());
///     gate.set();
/// });
/// gate.clear();
/// assert!(!gate.wait_timeout(Duration::from_millis(1))); // event.wait(0.001) -> False
/// ```
pub struct Event {
    state: AtomicU8,
    waiters: Mutex<Vec<Arc<Waiter>>>,
}

impl Event {
    loom_const_fn! {
        /// A new event with its flag down — `threading.Event()`.
        pub fn new() -> Self {
            Event { state: AtomicU8::new(0), waiters: mutex(Vec::new()) }
        }
    }

    /// Whether the flag is up — `event.is_set()`.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.state.load(Ordering::Acquire) & SET != 0
    }

    /// Raises the flag and wakes every waiter — `event.set()`.
    #[inline]
    pub fn set(&self) {
        let prev = self.state.fetch_or(SET, Ordering::AcqRel);
        if prev & PARKED != 0 {
            self.wake_all();
        }
    }

    #[cold]
    fn wake_all(&self) {
        let mut w = self.waiters.lock();
        self.state.fetch_and(!PARKED, Ordering::Relaxed);
        for waiter in w.drain(..) {
            waiter.wake(NOTIFIED);
        }
    }

    /// Lowers the flag — `event.clear()`.
    #[inline]
    pub fn clear(&self) {
        self.state.fetch_and(!SET, Ordering::Release);
    }

    /// Blocks until the flag is up — `event.wait()`.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout` — `event.wait(timeout)`. Returns `true` if the flag was set
    /// (now, or by a `set` that happened during the wait, even if a `clear` followed before
    /// this thread looked again), `false` on timeout.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Waits until `deadline` at the latest; returns like [`wait_timeout`](Event::wait_timeout).
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.wait_until(Some(deadline))
    }

    #[inline]
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.is_set() {
            return true;
        }
        self.wait_slow(deadline)
    }

    #[cold]
    fn wait_slow(&self, deadline: Option<Instant>) -> bool {
        let w = waiter::current();
        // Remember what ended the spin: a `set` seen here counts even if a `clear` follows
        // before we return (Python's `wait` returns True then too, bpo-13502).
        let mut seen_set = false;
        if waiter::spin_until(|| {
            seen_set = self.is_set();
            seen_set || deadline.is_some_and(|d| Instant::now() >= d)
        }) {
            return seen_set;
        }
        {
            let mut q = self.waiters.lock();
            let prev = self.state.fetch_or(PARKED, Ordering::AcqRel);
            if prev & SET != 0 {
                if q.is_empty() {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
                return true;
            }
            w.prepare();
            q.push(Arc::clone(&w));
        }
        if w.park(deadline) != WAITING {
            return true;
        }
        // Timed out: leave the queue, unless a `set` took us out just now.
        let mut q = self.waiters.lock();
        match q.iter().position(|x| Arc::ptr_eq(x, &w)) {
            Some(i) => {
                q.swap_remove(i);
                if q.is_empty() {
                    self.state.fetch_and(!PARKED, Ordering::Relaxed);
                }
                false
            }
            None => true,
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::thread;
    use std::time::{Duration, Instant};

    use super::Event;

    /// Yields (bounded) until `n` threads are parked on `e`.
    fn until_parked(e: &Event, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while e.waiters.lock().len() < n {
            assert!(Instant::now() < deadline, "the waiters never parked");
            thread::yield_now();
        }
    }

    /// The parked-waiter path every time: both waits are queued before the `set`.
    #[test]
    fn a_set_wakes_parked_waiters_plain_and_timed() {
        let e = Event::new();
        thread::scope(|s| {
            let plain = s.spawn(|| e.wait());
            let timed = s.spawn(|| e.wait_timeout(Duration::from_secs(60)));
            until_parked(&e, 2);
            e.set();
            plain.join().unwrap();
            assert!(timed.join().unwrap(), "a set during a timed wait is seen");
        });
    }
}
