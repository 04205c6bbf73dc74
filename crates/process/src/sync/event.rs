//! `Event`, shared between processes.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::shared::futex;
use crate::shared::region::{Shared, atomic_header};
use crate::shm::ShmError;

/// Polls of the flag before sleeping on the futex.
const SPIN: u32 = 100;

atomic_header! {
    pub(crate) struct EventState {
        flag: AtomicU32,
        sleepers: AtomicU32,
    }
}

/// A flag processes wait on — `multiprocessing.Event()`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_process::Event;
///
/// let ev = Event::new()?;
/// assert!(!ev.wait_timeout(Duration::from_millis(1)));
/// ev.set();
/// ev.wait();
/// assert!(ev.is_set());
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Event {
    shared: Shared<EventState>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}

impl Event {
    /// A new, clear event.
    ///
    /// # Errors
    ///
    /// When the system cannot provide the shared memory.
    pub fn new() -> Result<Event, ShmError> {
        Ok(Event {
            shared: Shared::new(0)?,
        })
    }

    fn st(&self) -> &EventState {
        self.shared.header()
    }

    /// Sets the flag and wakes every waiter — `set()`.
    pub fn set(&self) {
        let st = self.st();
        st.flag.store(1, Ordering::SeqCst);
        if st.sleepers.load(Ordering::SeqCst) > 0 {
            futex::wake_all(&st.flag);
        }
    }

    /// Clears the flag — `clear()`.
    pub fn clear(&self) {
        self.st().flag.store(0, Ordering::SeqCst);
    }

    /// Whether the flag is set — `is_set()`.
    pub fn is_set(&self) -> bool {
        self.st().flag.load(Ordering::Acquire) != 0
    }

    /// Blocks until the flag is set — `wait()`.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether the flag is set — `wait(timeout)`.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Some(futex::deadline_after(timeout)))
    }

    /// Waits until `deadline`; returns whether the flag is set.
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let st = self.st();
        // Spin briefly (a peer process often sets the flag within a microsecond), but
        // not long: on a busy machine the peer may need this very CPU to do it.
        for _ in 0..SPIN {
            if self.is_set() {
                return true;
            }
            std::hint::spin_loop();
        }
        loop {
            if self.is_set() {
                return true;
            }
            let Some(left) = futex::remaining(deadline) else {
                return false;
            };
            futex::wait_counted(&st.flag, &st.sleepers, 0, left);
        }
    }
}
