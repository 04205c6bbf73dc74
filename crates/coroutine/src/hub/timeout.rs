//! gevent's `Timeout`: a time limit on a block of code, enforced at its hub calls.

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

use super::core::{TimeoutFired, hub};
use super::error::Timeout;
use super::timer::TimerAction;

/// Runs `f` with a time limit (gevent's `with gevent.Timeout(seconds):`). When the limit
/// passes while `f` waits in a hub call (`sleep`, a socket, a queue, `join`, …), that call
/// unwinds out of `f` (running destructors) and this returns `Err(Timeout)`. Like
/// gevent's, the limit cannot interrupt code that never calls the hub. Scopes nest; the
/// outermost scope that ran out wins.
///
/// # Errors
///
/// [`Timeout`] when the limit passed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// let r = hub::with_timeout(Duration::from_millis(10), || hub::sleep(Duration::from_secs(60)));
/// assert!(r.is_err());
/// let r = hub::with_timeout(Duration::from_secs(60), || 7);
/// assert_eq!(r, Ok(7));
/// ```
pub fn with_timeout<F, T>(duration: Duration, f: F) -> Result<T, Timeout>
where
    F: FnOnce() -> T,
{
    with_deadline(Instant::now() + duration, duration, f)
}

fn with_deadline<F, T>(deadline: Instant, duration: Duration, f: F) -> Result<T, Timeout>
where
    F: FnOnce() -> T,
{
    let hub = hub();
    let id = hub.timeout_id();
    let key = hub
        .timers
        .borrow_mut()
        .add(deadline, TimerAction::Timeout(hub.current(), id));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    hub.timers.borrow_mut().cancel(key);
    hub.clear_timeout(id);
    match result {
        Ok(value) => Ok(value),
        Err(payload) => match payload.downcast::<TimeoutFired>() {
            Ok(fired) if fired.0 == id => Err(Timeout { after: duration }),
            Ok(fired) => panic::resume_unwind(fired),
            Err(payload) => panic::resume_unwind(payload),
        },
    }
}
