//! `Barrier`, shared between processes, broken when a waiting participant dies.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::BrokenBarrierError;
use crate::shared::rawlock::{self, LIVENESS_SLICE};
use crate::shared::region::{AtomicHeader, Shared};
use crate::shared::{futex, ident};
use crate::shm::ShmError;

/// The most parties a barrier can have (one pid slot each in its shared page).
pub(crate) const MAX_PARTIES: usize = 1000;

#[repr(C)]
pub(crate) struct BarrierState {
    lock: AtomicU32,
    /// Bumped on every pass, break and reset: the word waiters sleep on.
    seq: AtomicU32,
    parties: AtomicU32,
    count: AtomicU32,
    generation: AtomicU32,
    broken: AtomicU32,
    /// `g + 1` when generation `g` ended by a reset (its waiters fail).
    reset_gen: AtomicU32,
    /// The pid of each waiter, by arrival index.
    slots: [AtomicU32; MAX_PARTIES],
}

// SAFETY: atomics only; zero is a valid state (parties is set before sharing).
unsafe impl AtomicHeader for BarrierState {}

/// A barrier for `parties` processes — `multiprocessing.Barrier(parties)`.
///
/// **Beyond Python:** if a process dies while waiting at the barrier, the barrier
/// breaks and every other waiter gets [`BrokenBarrierError`] within a few tens of
/// milliseconds (CPython's waiters hang, cpython#123899). A timeout also breaks it, as
/// in Python.
///
/// # Examples
///
/// ```
/// use skein_process::Barrier;
///
/// let b = Barrier::new(1)?;
/// assert_eq!(b.wait(), Ok(0));
/// b.abort();
/// assert!(b.wait().is_err());
/// b.reset();
/// assert_eq!(b.wait(), Ok(0));
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Barrier {
    shared: Shared<BarrierState>,
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}

struct Held<'a>(&'a BarrierState);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        rawlock::unlock(&self.0.lock);
    }
}

impl Barrier {
    /// A barrier for `parties` participants.
    ///
    /// # Errors
    ///
    /// Zero parties or more than 1000, or the system refusing the shared memory.
    pub fn new(parties: usize) -> Result<Barrier, ShmError> {
        if parties == 0 {
            return Err(ShmError::invalid("a barrier needs at least one party"));
        }
        if parties > MAX_PARTIES {
            return Err(ShmError::invalid(
                "a process-shared barrier has at most 1000 parties",
            ));
        }
        let shared = Shared::<BarrierState>::new(0)?;
        shared
            .header()
            .parties
            .store(parties as u32, Ordering::Relaxed);
        Ok(Barrier { shared })
    }

    fn st(&self) -> &BarrierState {
        self.shared.header()
    }

    fn hold(&self) -> Held<'_> {
        let st = self.st();
        let got = rawlock::lock(&st.lock, ident::pid(), None).expect("untimed");
        if got == rawlock::Acquired::OwnerDied {
            // Someone died mid-update: the state may be torn, so break the barrier.
            st.broken.store(1, Ordering::Relaxed);
            st.seq.fetch_add(1, Ordering::Release);
            futex::wake_all(&st.seq);
        }
        Held(st)
    }

    fn break_now(st: &BarrierState) {
        st.broken.store(1, Ordering::Relaxed);
        st.seq.fetch_add(1, Ordering::Release);
        futex::wake_all(&st.seq);
    }

    /// Waits until all parties have arrived — `wait()`. Returns this caller's arrival
    /// index (0 to parties − 1).
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] when the barrier is or becomes broken.
    pub fn wait(&self) -> Result<usize, BrokenBarrierError> {
        self.wait_until(None)
    }

    /// As [`wait`](Self::wait), at most `timeout`; a timeout breaks the barrier.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize, BrokenBarrierError> {
        self.wait_until(Some(futex::deadline_after(timeout)))
    }

    /// As [`wait`](Self::wait), until `deadline`; a timeout breaks the barrier.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_deadline(&self, deadline: Instant) -> Result<usize, BrokenBarrierError> {
        self.wait_until(Some(deadline))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<usize, BrokenBarrierError> {
        let held = self.hold();
        let st = held.0;
        if st.broken.load(Ordering::Relaxed) != 0 {
            return Err(BrokenBarrierError);
        }
        let idx = st.count.load(Ordering::Relaxed) as usize;
        let parties = st.parties.load(Ordering::Relaxed) as usize;
        st.slots[idx].store(ident::pid(), Ordering::Relaxed);
        if idx + 1 == parties {
            st.count.store(0, Ordering::Relaxed);
            st.generation.fetch_add(1, Ordering::Relaxed);
            st.seq.fetch_add(1, Ordering::Release);
            drop(held);
            futex::wake_all(&st.seq);
            return Ok(idx);
        }
        st.count.store(idx as u32 + 1, Ordering::Relaxed);
        let generation = st.generation.load(Ordering::Relaxed);
        let mut held = Some(held);
        loop {
            let seq = st.seq.load(Ordering::Acquire);
            drop(held.take());
            let left = futex::remaining(deadline);
            if let Some(left) = left {
                futex::wait(&st.seq, seq, Some(futex::min_slice(left, LIVENESS_SLICE)));
            }
            let h = self.hold();
            if st.generation.load(Ordering::Relaxed) != generation {
                let reset = st.reset_gen.load(Ordering::Relaxed) == generation.wrapping_add(1);
                return if reset {
                    Err(BrokenBarrierError)
                } else {
                    Ok(idx)
                };
            }
            if st.broken.load(Ordering::Relaxed) != 0 {
                return Err(BrokenBarrierError);
            }
            if left.is_none() {
                Self::break_now(st);
                return Err(BrokenBarrierError);
            }
            let me = ident::pid();
            let arrived = st.count.load(Ordering::Relaxed) as usize;
            let someone_died = st.slots[..arrived.min(MAX_PARTIES)].iter().any(|s| {
                let pid = s.load(Ordering::Relaxed);
                pid != me && !ident::is_alive(pid)
            });
            if someone_died {
                Self::break_now(st);
                return Err(BrokenBarrierError);
            }
            held = Some(h);
        }
    }

    /// Breaks the barrier: current and future waiters fail until [`reset`](Self::reset)
    /// — `abort()`.
    pub fn abort(&self) {
        let held = self.hold();
        Self::break_now(held.0);
    }

    /// Returns the barrier to its initial state; current waiters fail — `reset()`.
    pub fn reset(&self) {
        let held = self.hold();
        let st = held.0;
        if st.count.load(Ordering::Relaxed) > 0 {
            let g = st.generation.load(Ordering::Relaxed);
            st.reset_gen.store(g.wrapping_add(1), Ordering::Relaxed);
            st.generation.store(g.wrapping_add(1), Ordering::Relaxed);
        }
        st.count.store(0, Ordering::Relaxed);
        st.broken.store(0, Ordering::Relaxed);
        st.seq.fetch_add(1, Ordering::Release);
        drop(held);
        futex::wake_all(&self.st().seq);
    }

    /// The number of parties — `parties`.
    pub fn parties(&self) -> usize {
        self.st().parties.load(Ordering::Relaxed) as usize
    }

    /// How many are waiting now — `n_waiting`.
    pub fn n_waiting(&self) -> usize {
        self.st().count.load(Ordering::Relaxed) as usize
    }

    /// Whether the barrier is broken — `broken`.
    pub fn broken(&self) -> bool {
        self.st().broken.load(Ordering::Relaxed) != 0
    }
}
