//! The few concurrency building blocks skein-locks uses, swapped for loom's models under
//! `cfg(loom)` so `tests/loom.rs` can check every interleaving of the lock word, the wait
//! queues and the parking slots (see that file for how to run it).
//!
//! Under loom there is no spinning (it only multiplies the schedules to explore), a wait with
//! a deadline may time out at any moment (loom has no clock), and deadlock detection is off
//! (its global graph is not a loom object).

use std::time::Instant;

#[cfg(not(loom))]
mod imp {
    use super::Instant;
    pub(crate) use crossbeam_utils::Backoff;
    pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize};
    pub(crate) use std::thread::{self, Thread};

    /// Parks and unparks one thread: std's thread parking.
    pub(crate) struct Parker(Thread);

    impl Parker {
        pub(crate) fn for_current_thread() -> Self {
            Parker(thread::current())
        }

        /// Wakes the thread (or makes its next `park` return at once).
        pub(crate) fn unpark(&self) {
            self.0.unpark();
        }

        /// Parks the calling thread (which must own this parker) until `unpark`, the
        /// deadline, or spuriously, unless `still_waiting` is already false.
        pub(crate) fn park(&self, still_waiting: impl Fn() -> bool, deadline: Option<Instant>) {
            if !still_waiting() {
                return;
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now < d {
                        thread::park_timeout(d - now);
                    }
                }
            }
        }
    }

    /// parking_lot's `SpinWait`, as its mutex uses it before parking: three rounds of busy
    /// spinning (2, 4, 8 spin hints), then up to seven `yield_now`s. Without yields (a
    /// thread coming back from a `Condition` wait) it busy-spins six rounds (2 to 64 hints,
    /// the spin part of crossbeam's `Backoff`): its notifier is about to release the lock,
    /// and parking there costs a futex wake on both sides.
    pub(crate) struct SpinWait {
        counter: u32,
        busy: u32,
        limit: u32,
    }

    impl SpinWait {
        /// parking_lot's schedule, or (`may_yield == false`) a longer busy spin only.
        pub(crate) fn new(may_yield: bool) -> Self {
            let (busy, limit) = if may_yield { (3, 10) } else { (6, 6) };
            SpinWait {
                counter: 0,
                busy,
                limit,
            }
        }

        /// Spins or yields once; returns `false` when it is time to park instead.
        pub(crate) fn spin(&mut self) -> bool {
            if self.counter >= self.limit {
                return false;
            }
            self.counter += 1;
            if self.counter <= self.busy {
                for _ in 0..1 << self.counter {
                    std::hint::spin_loop();
                }
            } else {
                thread::yield_now();
            }
            true
        }
    }

    /// parking_lot's mutex (no poisoning, `const` constructor).
    pub(crate) type Mutex<T> = parking_lot::Mutex<T>;

    pub(crate) const fn mutex<T>(value: T) -> Mutex<T> {
        parking_lot::const_mutex(value)
    }
}

#[cfg(loom)]
mod imp {
    use super::Instant;
    pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize};
    pub(crate) use loom::thread;

    /// loom's mutex with parking_lot's (unpoisoned) `lock` signature.
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }

    pub(crate) fn mutex<T>(value: T) -> Mutex<T> {
        Mutex(loom::sync::Mutex::new(value))
    }

    /// loom's `unpark` may not reach a thread blocked on a loom mutex, so under loom a
    /// parker is a mutex and a condition variable.
    pub(crate) struct Parker {
        lock: loom::sync::Mutex<()>,
        cv: loom::sync::Condvar,
    }

    impl Parker {
        pub(crate) fn for_current_thread() -> Self {
            Parker {
                lock: loom::sync::Mutex::new(()),
                cv: loom::sync::Condvar::new(),
            }
        }

        pub(crate) fn unpark(&self) {
            let _g = self.lock.lock().unwrap();
            self.cv.notify_one();
        }

        /// loom has no clock: a wait with a deadline times out at once.
        pub(crate) fn park(&self, still_waiting: impl Fn() -> bool, deadline: Option<Instant>) {
            let g = self.lock.lock().unwrap();
            if still_waiting() && deadline.is_none() {
                drop(self.cv.wait(g).unwrap());
            }
        }
    }

    /// No spinning under loom.
    pub(crate) struct SpinWait;

    impl SpinWait {
        pub(crate) fn new(_may_yield: bool) -> Self {
            SpinWait
        }
        pub(crate) fn spin(&mut self) -> bool {
            false
        }
    }

    /// No spinning under loom.
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }
        pub(crate) fn is_completed(&self) -> bool {
            true
        }
        pub(crate) fn snooze(&self) {}
    }
}

pub(crate) use imp::*;

/// Declares a function `const` normally and non-`const` under loom (whose atomics and
/// mutexes have no `const` constructors).
macro_rules! loom_const_fn {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty $body:block) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $name($($arg: $ty),*) -> $ret $body
        #[cfg(loom)]
        $(#[$attr])* $vis fn $name($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use loom_const_fn;
