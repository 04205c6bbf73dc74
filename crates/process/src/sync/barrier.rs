//! `Barrier`, shared between processes, broken when a waiting participant dies.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::BrokenBarrierError;
use crate::shared::rawlock::{Acquired, LIVENESS_SLICE, RawLock};
use crate::shared::region::{Shared, atomic_header};
use crate::shared::{futex, ident};
use crate::shm::ShmError;

/// The most parties a barrier can have (one pid slot each in its shared page).
pub(crate) const MAX_PARTIES: usize = 1000;

atomic_header! {
    pub(crate) struct BarrierState {
        lock: RawLock,
        /// Bumped on every pass, break and reset: the word waiters sleep on.
        seq: AtomicU32,
        parties: AtomicU32,
        count: AtomicU32,
        generation: AtomicU32,
        broken: AtomicU32,
        /// `g + 1` when generation `g` ended by a reset (its waiters fail).
        reset_gen: AtomicU32,
        /// 1 if the barrier was built with an action (every party's handle must carry one).
        has_action: AtomicU32,
        /// The default timeout of `wait` in nanoseconds, 0 for none.
        timeout_ns: AtomicU64,
        /// The stamp (pid and start time, see `ident`) of each waiter, by arrival index.
        slots: [AtomicU64; MAX_PARTIES],
        /// The stamp of each enrolled party (0: free slot); see [`Barrier::enroll`].
        enrolled: [AtomicU64; MAX_PARTIES],
    }
}

/// A barrier for `parties` processes — `multiprocessing.Barrier(parties, action,
/// timeout)`.
///
/// Each party calls [`wait`](Self::wait); all block until the last one arrives, then
/// all go on, each with its arrival index (`0..parties`). The last to arrive runs the
/// optional action first. The barrier is reusable. A wait that times out, an
/// [`abort`](Self::abort), a panicking action, or the death of a waiting party *breaks*
/// it: every waiter and every later `wait` gets [`BrokenBarrierError`] until
/// [`reset`](Self::reset).
///
/// **Beyond Python:** if a process dies while waiting at the barrier (or inside one of
/// its operations), the barrier breaks and every other waiter gets
/// [`BrokenBarrierError`] within a few tens of milliseconds (CPython's waiters hang,
/// cpython#123899).
///
/// **A party that dies before it arrives** (it has not called `wait` in this round) is
/// detected only if it [`enroll`](Self::enroll)ed: parties are counted, not named (in
/// Python and here), so the barrier cannot otherwise tell a dead process from a slow
/// one, or from a new process that will take its place. A process that enrolls
/// promises to keep arriving until it drops its [`Enrollment`]; if it dies enrolled
/// (killed, or exits without dropping it), every waiter gets [`BrokenBarrierError`]
/// within a few tens of milliseconds. Without enrollment, give the barrier a default
/// timeout ([`BarrierBuilder::timeout`]) or use [`wait_timeout`](Self::wait_timeout);
/// the timeout breaks the barrier for everyone.
///
/// **The action across processes.** A closure cannot travel into a spawned child, so
/// the action lives in each *handle*: [`BarrierBuilder::action`] gives it to the handle
/// it builds and to every clone of it made in that process (a `Fork` child inherits it
/// with its memory); a handle that arrived in a `Spawn`/`Forkserver` child as an
/// argument has none until the child calls [`set_action`](Self::set_action). The last
/// party to arrive runs the action *of its own handle*. If the barrier was built with
/// an action and the last party's handle has none, the round is not silently run
/// without it: the barrier breaks and that party gets [`BrokenBarrierError`].
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
///
/// With an action and a default timeout (`Barrier(1, action=f, timeout=5)`):
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use skein_process::Barrier;
///
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
/// let b = Barrier::builder(1)
///     .action(|| { RUNS.fetch_add(1, Ordering::SeqCst); })
///     .timeout(Duration::from_secs(5))
///     .build()?;
/// b.wait().unwrap();
/// b.wait().unwrap();
/// assert_eq!(RUNS.load(Ordering::SeqCst), 2);
/// # Ok::<(), skein_process::ShmError>(())
/// ```
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Barrier {
    shared: Shared<BarrierState>,
    /// This process's action (not serialised: see the type's docs).
    #[serde(skip)]
    action: Option<Action>,
}

type Action = Arc<dyn Fn() + Send + Sync>;

/// Builds a [`Barrier`] with an action and/or a default timeout — the `action` and
/// `timeout` arguments of `multiprocessing.Barrier`.
#[must_use = "call build() to get the barrier"]
pub struct BarrierBuilder {
    parties: usize,
    timeout: Option<Duration>,
    action: Option<Action>,
}

/// A process's promise to keep arriving at a [`Barrier`], from
/// [`Barrier::enroll`]; dropping it withdraws the promise.
#[must_use = "dropping the enrollment withdraws it at once"]
pub struct Enrollment<'a> {
    barrier: &'a Barrier,
    slot: usize,
}

impl fmt::Debug for Enrollment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrollment")
            .field("slot", &self.slot)
            .finish()
    }
}

impl Drop for Enrollment<'_> {
    fn drop(&mut self) {
        let held = self.barrier.hold();
        let slot = &held.0.enrolled[self.slot];
        if slot.load(Ordering::Relaxed) == ident::process().stamp {
            slot.store(0, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for BarrierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierBuilder")
            .field("parties", &self.parties)
            .field("timeout", &self.timeout)
            .field("action", &self.action.is_some())
            .finish()
    }
}

impl BarrierBuilder {
    /// Runs `action` once per round, in the process of the last party to arrive, before
    /// any party is released — `Barrier(n, action=f)`. The action belongs to this
    /// process's handles (see [`Barrier`] for children). It may read
    /// [`n_waiting`](Barrier::n_waiting)/[`is_broken`](Barrier::is_broken); calling
    /// `wait`, `abort` or `reset` of the same barrier from it would block. If it panics,
    /// the barrier breaks and the panic continues in the party that ran it.
    pub fn action<F: Fn() + Send + Sync + 'static>(mut self, action: F) -> Self {
        self.action = Some(Arc::new(action));
        self
    }

    /// The timeout of every [`wait`](Barrier::wait) without its own —
    /// `Barrier(n, timeout=t)`. Shared by every process the barrier reaches. A wait that
    /// times out breaks the barrier.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Creates the barrier.
    ///
    /// # Errors
    ///
    /// As [`Barrier::new`].
    pub fn build(self) -> Result<Barrier, ShmError> {
        let mut b = Barrier::new(self.parties)?;
        let st = b.st();
        if let Some(t) = self.timeout {
            let ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1);
            st.timeout_ns.store(ns, Ordering::Relaxed);
        }
        if self.action.is_some() {
            st.has_action.store(1, Ordering::Relaxed);
        }
        b.action = self.action;
        Ok(b)
    }
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
        self.0.lock.unlock();
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
        Ok(Barrier {
            shared,
            action: None,
        })
    }

    /// A builder for a barrier with an action and/or a default timeout.
    pub fn builder(parties: usize) -> BarrierBuilder {
        BarrierBuilder {
            parties,
            timeout: None,
            action: None,
        }
    }

    /// Gives this handle (and clones made from it afterwards) the barrier's action —
    /// for a handle that arrived in a `Spawn`/`Forkserver` child, where the action the
    /// barrier was built with cannot follow. Every party's handle should carry the same
    /// action; see [`Barrier`].
    pub fn set_action<F: Fn() + Send + Sync + 'static>(&mut self, action: F) {
        self.action = Some(Arc::new(action));
    }

    /// Enrolls the calling process as a party that keeps arriving at this barrier
    /// until the returned [`Enrollment`] is dropped: if the process dies enrolled, even
    /// before it arrives, the barrier breaks for the others (see [`Barrier`]). A process
    /// that runs several parties (threads) enrolls once per party. Beyond Python.
    ///
    /// # Errors
    ///
    /// More enrollments than the barrier has parties.
    ///
    /// # Examples
    ///
    /// ```
    /// use skein_process::Barrier;
    ///
    /// let b = Barrier::new(1)?;
    /// let me = b.enroll()?; // as a child would, first thing
    /// assert_eq!(b.wait(), Ok(0));
    /// drop(me); // done with the barrier: leaving is not dying
    /// # Ok::<(), skein_process::ShmError>(())
    /// ```
    pub fn enroll(&self) -> Result<Enrollment<'_>, ShmError> {
        let held = self.hold();
        let st = held.0;
        let parties = st.parties.load(Ordering::Relaxed) as usize;
        let me = ident::process().stamp;
        let free = st.enrolled[..parties]
            .iter()
            .position(|s| s.load(Ordering::Relaxed) == 0)
            .ok_or(ShmError::invalid(
                "more enrollments than the barrier has parties",
            ))?;
        st.enrolled[free].store(me, Ordering::Relaxed);
        Ok(Enrollment {
            barrier: self,
            slot: free,
        })
    }

    /// Whether an enrolled party has died; its slot is freed (so that a `reset`
    /// barrier does not break again for the same death).
    fn enrolled_died(st: &BarrierState, me: ident::Stamp) -> bool {
        let parties = (st.parties.load(Ordering::Relaxed) as usize).min(MAX_PARTIES);
        let mut died = false;
        for slot in &st.enrolled[..parties] {
            let stamp = slot.load(Ordering::Relaxed);
            if stamp != 0 && stamp != me && !ident::is_alive(stamp) {
                slot.store(0, Ordering::Relaxed);
                died = true;
            }
        }
        died
    }

    /// The default timeout given to [`BarrierBuilder::timeout`], if any.
    pub fn timeout(&self) -> Option<Duration> {
        match self.st().timeout_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(Duration::from_nanos(ns)),
        }
    }

    fn st(&self) -> &BarrierState {
        self.shared.header()
    }

    fn hold(&self) -> Held<'_> {
        self.hold_until(None)
            .expect("an untimed lock cannot time out")
    }

    /// Takes the barrier's internal lock, waiting at most until `deadline` (it is held
    /// briefly, but also while the last party runs the action, which may take long).
    fn hold_until(&self, deadline: Option<Instant>) -> Option<Held<'_>> {
        let st = self.st();
        let got = st.lock.lock(ident::process(), deadline)?;
        if got == Acquired::OwnerDied {
            // Someone died mid-update: the state may be torn, so break the barrier.
            Self::break_now(st);
        }
        Some(Held(st))
    }

    fn break_now(st: &BarrierState) {
        st.broken.store(1, Ordering::Relaxed);
        st.seq.fetch_add(1, Ordering::Release);
        futex::wake_all(&st.seq);
    }

    /// Waits until all parties have arrived — `wait()`. Returns this caller's arrival
    /// index (0 to parties − 1). Waits at most the barrier's default timeout, if it has
    /// one (a timeout breaks the barrier).
    ///
    /// # Errors
    ///
    /// [`BrokenBarrierError`] when the barrier is or becomes broken, times out, or its
    /// action cannot run in this process (built with one, none on this handle).
    ///
    /// # Panics
    ///
    /// If this party runs the action and it panics: the barrier is broken first, then
    /// the action's panic continues here (Python re-raises the action's exception in
    /// the thread that ran it).
    pub fn wait(&self) -> Result<usize, BrokenBarrierError> {
        self.wait_until(self.timeout().map(futex::deadline_after))
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
        let Some(held) = self.hold_until(deadline) else {
            // The lock stayed taken until the deadline (an action running long): a
            // timeout, which breaks the barrier (no lock needed to say so).
            Self::break_now(self.st());
            return Err(BrokenBarrierError);
        };
        let st = held.0;
        if st.broken.load(Ordering::Relaxed) != 0 {
            return Err(BrokenBarrierError);
        }
        let idx = st.count.load(Ordering::Relaxed) as usize;
        let parties = st.parties.load(Ordering::Relaxed) as usize;
        st.slots[idx].store(ident::process().stamp, Ordering::Relaxed);
        if idx + 1 == parties {
            if st.has_action.load(Ordering::Relaxed) != 0 {
                let Some(action) = &self.action else {
                    // Built with an action this handle does not carry: never pass a
                    // round without it.
                    st.count.store(0, Ordering::Relaxed);
                    Self::break_now(st);
                    return Err(BrokenBarrierError);
                };
                // The others are all parked: count says everyone has arrived.
                st.count.store(parties as u32, Ordering::Relaxed);
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| action())) {
                    st.count.store(0, Ordering::Relaxed);
                    Self::break_now(st);
                    drop(held);
                    resume_unwind(panic);
                }
                if st.broken.load(Ordering::Relaxed) != 0 {
                    // A party timed out while the action ran (it could not take the
                    // lock to wait on): the round fails for everyone.
                    st.count.store(0, Ordering::Relaxed);
                    return Err(BrokenBarrierError);
                }
            }
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
            let Some(h) = self.hold_until(deadline) else {
                // The deadline passed while another party held the lock (running the
                // action). If our round passed meanwhile, we passed too.
                if st.generation.load(Ordering::Acquire) != generation
                    && st.reset_gen.load(Ordering::Relaxed) != generation.wrapping_add(1)
                {
                    return Ok(idx);
                }
                Self::break_now(st);
                return Err(BrokenBarrierError);
            };
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
            let me = ident::process().stamp;
            let arrived = st.count.load(Ordering::Relaxed) as usize;
            let someone_died = st.slots[..arrived.min(MAX_PARTIES)].iter().any(|s| {
                let stamp = s.load(Ordering::Relaxed);
                stamp != me && !ident::is_alive(stamp)
            });
            if someone_died || Self::enrolled_died(st, me) {
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

    /// How many are waiting now — `n_waiting`; 0 while the barrier is broken (its
    /// waiters are leaving with [`BrokenBarrierError`], as in Python).
    pub fn n_waiting(&self) -> usize {
        let st = self.st();
        if st.broken.load(Ordering::Relaxed) != 0 {
            return 0;
        }
        st.count.load(Ordering::Relaxed) as usize
    }

    /// Whether the barrier is broken — `broken`.
    pub fn is_broken(&self) -> bool {
        self.st().broken.load(Ordering::Relaxed) != 0
    }

    /// The same as [`is_broken`](Self::is_broken), under Python's attribute name.
    pub fn broken(&self) -> bool {
        self.is_broken()
    }
}
