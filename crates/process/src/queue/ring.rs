//! The shared-memory message ring behind every cross-process queue.
//!
//! One anonymous segment holds a header of atomics and a byte ring. A message is one or
//! more 8-byte-aligned records `[len: u32][flags: u32][payload]`; producers append under
//! `put_lock`, consumers take under `get_lock` (both owner-checked [`rawlock`]s, so a
//! process that dies holding one does not wedge the queue). `tail` and `head` are byte
//! positions that only grow; the uncontended path is: lock, copy, one store, unlock —
//! no syscall unless someone sleeps.
//!
//! **Large messages** are split into chunks of at most a quarter of the ring; the
//! producer keeps `put_lock` (the consumer `get_lock`) from first chunk to last, so a
//! message of any size streams through a ring of any size.
//!
//! **Crash consistency.** Every state change is published by one final store, so a
//! process killed anywhere leaves a readable ring. `put_progress` / `get_progress` record
//! whether the lock holder was in the middle of a message; whoever takes the lock over
//! (an [`Acquired::OwnerDied`]) repairs it: a reservation without data is released, a
//! half-written message is closed with an `ABORT` record (its consumer discards the
//! part), a half-read message's remaining chunks are skipped. A consumer killed before
//! it advanced `head` leaves the message for the next consumer: nothing is lost.
//!
//! **Deadlines.** A producer whose `put_timeout` expires in the middle of a chunked
//! message leaves it exactly as a dead producer would (`put_progress` says "mid-message"),
//! after closing it with `ABORT` itself if the ring has room for that: whoever takes
//! `put_lock` next — a producer, or a consumer waiting for the rest — finishes the
//! repair. Repairs run under the deadline of whoever does them; one that cannot finish
//! in time is left, the same way, to the next. So every timed operation returns by its
//! deadline, and a timed-out put hands its item back (its consumers discard the part
//! they saw). The one wait that outlives a deadline is a consumer's in the middle of a
//! message whose producer is alive and still writing it: giving up there would drop a
//! message that its producer is about to report delivered (see DESIGN.md, "Blocking
//! paths and their deadlines").

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use super::LostTasks;
use super::tasks::{OnLostTasks, TaskState};
use crate::shared::rawlock::{Acquired, LIVENESS_SLICE, RawLock};
use crate::shared::region::{CacheLine, Shared, atomic_header};
use crate::shared::{futex, ident};
use crate::shm::ShmError;

const FIRST: u32 = 1;
const LAST: u32 = 2;
const ABORT: u32 = 4;
const PAD: u32 = 8;
const HDR: usize = 8;
/// How many times a waiter polls before sleeping on the futex.
const SPIN: u32 = 200;

/// Shutdown states.
const OPEN: u32 = 0;
const GRACEFUL: u32 = 1;
const IMMEDIATE: u32 = 2;

/// A point inside a consumer's `get` where a test hook can stop it (to be killed there).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetPoint {
    /// Holding the consumers' lock, a one-record message located at `head` and about to
    /// be decoded; nothing taken yet.
    Located,
    /// Holding the consumers' lock, the first chunk of a chunked message taken (the
    /// message counts as taken; its remaining chunks are still in the ring).
    MidMessage,
}

static GET_HOOK: OnceLock<fn(GetPoint)> = OnceLock::new();

/// Installs, once per process, a function every consumer `get` of this process calls at
/// each [`GetPoint`]. For crash tests only (a hook that never returns lets a test kill a
/// consumer mid-operation); a second call is ignored.
#[doc(hidden)]
pub fn set_get_hook(hook: fn(GetPoint)) {
    let _ = GET_HOOK.set(hook);
}

#[inline]
fn get_hook(at: GetPoint) {
    if let Some(hook) = GET_HOOK.get() {
        hook(at);
    }
}

atomic_header! {
    /// Producer-side state, on its own cache line.
    struct PutSide {
        lock: RawLock,
        /// 0 idle, 1 a place reserved, 2 a chunked message under way. Not 0 when the lock
        /// is taken: the previous holder left a message unfinished (it died, or its put
        /// timed out mid-message), and the new holder repairs it first.
        progress: AtomicU32,
        /// `tail` when the current producer reserved its place (for repairs).
        mark: AtomicU64,
        /// Messages ever reserved (minus repaired reservations).
        reserved: AtomicU64,
        /// The lock holder's last view of `head` (saves reading the consumers' line).
        cached_head: AtomicU64,
        /// The lock holder's last view of `taken`.
        cached_taken: AtomicU64,
    }
}

atomic_header! {
    /// Consumer-side state, on its own cache line.
    struct GetSide {
        lock: RawLock,
        /// 1 while the holder is in the middle of a chunked message.
        progress: AtomicU32,
        /// Messages ever taken (first chunk read).
        taken: AtomicU64,
        /// The lock holder's last view of `tail` (saves reading the producers' line).
        cached_tail: AtomicU64,
    }
}

atomic_header! {
    pub(crate) struct RingState {
        maxsize: AtomicU32,
        shutdown: AtomicU32,
        joinable: AtomicU32,
        capacity: AtomicU64,
        put: CacheLine<PutSide>,
        get: CacheLine<GetSide>,
        tail: CacheLine<AtomicU64>,
        /// `[seq, wake_needed]`: consumers sleep on `seq` after setting `wake_needed`.
        data: CacheLine<[AtomicU32; 2]>,
        head: CacheLine<AtomicU64>,
        /// `[seq, wake_needed]`: producers sleep on `seq` after setting `wake_needed`.
        space: CacheLine<[AtomicU32; 2]>,
        /// `JoinableQueue`'s unfinished tasks and who holds them.
        tasks: CacheLine<TaskState>,
    }
}

/// When a blocking operation gives up.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Never: fail at once if it would block.
    No,
    /// At this instant (`None`: never).
    Until(Option<Instant>),
}

impl Wait {
    fn deadline(self) -> Option<Option<Instant>> {
        match self {
            Wait::No => None,
            Wait::Until(d) => Some(d),
        }
    }

    /// The instant to give up at: now for [`Wait::No`].
    fn instant(self) -> Option<Instant> {
        match self {
            Wait::No => Some(Instant::now()),
            Wait::Until(d) => d,
        }
    }
}

/// Why a ring operation did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    /// It would block (with [`Wait::No`]) or the deadline passed.
    WouldBlock,
    ShutDown,
    /// As `WouldBlock`, and the lock the operation held is no longer held (its
    /// re-take after a wait timed out). `Ring::put` reports it as `WouldBlock`.
    Unlocked,
}

/// The kind of a record, from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// Skips the ring's end.
    Pad,
    /// Closes a half-written message (its producer died or gave up).
    Abort,
    /// A whole message in one record.
    Whole,
    /// The first chunk of a chunked message.
    First,
    /// A chunk after the first, not the last.
    Middle,
    /// The last chunk.
    Last,
}

impl Record {
    fn of(flags: u32) -> Record {
        if flags & PAD != 0 {
            Record::Pad
        } else if flags & ABORT != 0 {
            Record::Abort
        } else {
            match (flags & FIRST != 0, flags & LAST != 0) {
                (true, true) => Record::Whole,
                (true, false) => Record::First,
                (false, false) => Record::Middle,
                (false, true) => Record::Last,
            }
        }
    }
}

thread_local! {
    /// A consumer's copy of a one-record message (reused: no allocation per message).
    static GET_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a reusable per-thread buffer (a fresh one if it is in use already).
fn with_get_buf<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    GET_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut Vec::new()),
    })
}

/// A handle on one ring (cloned into every process that uses the queue).
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Ring {
    shared: Shared<RingState>,
    cap: usize,
}

impl<'de> serde::Deserialize<'de> for Ring {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ring, D::Error> {
        use serde::de::Error;
        #[derive(serde::Deserialize)]
        struct Parts {
            shared: Shared<RingState>,
            cap: usize,
        }
        let Parts { shared, cap } = Parts::deserialize(d)?;
        shared.check_data::<D::Error>(Some(cap))?;
        let stored = shared.header().capacity.load(Ordering::Relaxed);
        if !cap.is_power_of_two() || cap < 4096 || stored != cap as u64 {
            return Err(D::Error::custom("received queue handle is inconsistent"));
        }
        Ok(Ring { shared, cap })
    }
}

/// Wakes the sleepers of a `[seq, wake_needed]` pair, if any asked to be woken.
///
/// A sleeper stores `wake_needed = 1`, reads `seq`, re-checks its condition and sleeps
/// on `seq`; the waker changes the condition, then swaps `wake_needed` to 0 and, if it
/// was set, bumps `seq` and wakes. Only the first waker after a sleeper pays a syscall.
fn wake_if_needed([seq, wake_needed]: &[AtomicU32; 2]) {
    if wake_needed.load(Ordering::SeqCst) != 0 && wake_needed.swap(0, Ordering::SeqCst) != 0 {
        seq.fetch_add(1, Ordering::SeqCst);
        futex::wake_all(seq);
    }
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

impl Ring {
    pub(crate) fn new(ring_bytes: usize, maxsize: u32, joinable: bool) -> Result<Ring, ShmError> {
        let cap = ring_bytes.clamp(4096, 1 << 30).next_power_of_two();
        let shared = Shared::<RingState>::new(cap)?;
        let st = shared.header();
        st.capacity.store(cap as u64, Ordering::Relaxed);
        st.maxsize.store(maxsize, Ordering::Relaxed);
        st.joinable.store(u32::from(joinable), Ordering::Relaxed);
        Ok(Ring { shared, cap })
    }

    fn st(&self) -> &RingState {
        self.shared.header()
    }

    pub(crate) fn maxsize(&self) -> u32 {
        self.st().maxsize.load(Ordering::Relaxed)
    }

    /// Messages reserved and not yet taken (`qsize`).
    pub(crate) fn count(&self) -> u32 {
        let st = self.st();
        let taken = st.get.0.taken.load(Ordering::SeqCst);
        let reserved = st.put.0.reserved.load(Ordering::SeqCst);
        reserved.saturating_sub(taken).min(u64::from(u32::MAX)) as u32
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.st().shutdown.load(Ordering::SeqCst) != OPEN
    }

    fn max_single(&self) -> usize {
        self.cap / 2 - HDR
    }

    fn chunk(&self) -> usize {
        self.cap / 4 - HDR
    }

    // ---- record access (copies through `Shared`'s bounds-checked accessors) ----

    fn write_record(&self, tail: u64, len: usize, flags: u32, payload: &[u8]) {
        let pos = (tail as usize) & (self.cap - 1);
        debug_assert!(pos % 8 == 0 && pos + HDR + payload.len() <= self.cap);
        // The bytes lie between `tail` and `head + cap`, which no consumer reads until
        // `tail` is published.
        let mut hdr = [0u8; HDR];
        hdr[..4].copy_from_slice(&(len as u32).to_ne_bytes());
        hdr[4..].copy_from_slice(&flags.to_ne_bytes());
        self.shared.copy_in(pos, &hdr);
        self.shared.copy_in(pos + HDR, payload);
    }

    /// The header of the record at `head` (`head < tail`: it was published before
    /// `tail` was stored with SeqCst).
    fn read_header(&self, head: u64) -> (usize, u32) {
        let pos = (head as usize) & (self.cap - 1);
        let mut hdr = [0u8; HDR];
        self.shared.copy_out(pos, &mut hdr);
        let len = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
        let flags = u32::from_ne_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        (len as usize, flags)
    }

    /// Appends the payload of the record at `head` to `out`. The record is not
    /// overwritten until `head` moves past it, which only the `get_lock` holder does.
    fn read_payload(&self, head: u64, len: usize, out: &mut Vec<u8>) {
        let pos = (head as usize) & (self.cap - 1);
        assert!(pos + HDR + len <= self.cap, "corrupt queue record");
        self.shared.extend_from(pos + HDR, len, out);
    }

    // ---- producers ----

    /// Takes `put_lock` as `wait` allows, and finishes what a previous holder left
    /// unfinished (a dead producer, or one whose put timed out mid-message). On error the
    /// lock is not held.
    /// With [`Wait::No`], only if the lock is free or its owner dead.
    fn lock_put(&self, wait: Wait) -> Result<(), Fail> {
        let put = &self.st().put.0;
        let me = ident::process();
        let got = match wait {
            Wait::No => put.lock.try_lock(me),
            Wait::Until(deadline) => put.lock.lock(me, deadline),
        };
        got.ok_or(Fail::WouldBlock)?;
        if put.progress.load(Ordering::SeqCst) != 0 {
            if let Err(e) = self.repair_put(wait.instant()) {
                self.unlock_put();
                return Err(e);
            }
        }
        Ok(())
    }

    fn unlock_put(&self) {
        self.st().put.0.lock.unlock();
    }

    /// Repairs what the previous `put_lock` holder left unfinished (we hold the lock),
    /// waiting for room at most until `deadline`. On error the repair is still pending
    /// (for the next holder).
    fn repair_put(&self, deadline: Option<Instant>) -> Result<(), Fail> {
        let st = self.st();
        let put = &st.put.0;
        let mark = put.mark.load(Ordering::SeqCst);
        let half_written = match put.progress.load(Ordering::SeqCst) {
            1 if st.tail.0.load(Ordering::SeqCst) == mark => {
                // Reserved, never published.
                self.unreserve();
                false
            }
            // The first record is published; unless it was the whole message, the
            // message is half-written.
            1 => Record::of(self.read_header(mark).1) != Record::Whole,
            2 => true,
            _ => false,
        };
        if half_written {
            // Close it; the ring has room for 8 bytes as soon as consumers move on.
            // Keep the lock while waiting (`first == false`).
            self.append(0, ABORT, &[], Wait::Until(deadline), false)?;
        }
        put.progress.store(0, Ordering::SeqCst);
        Ok(())
    }

    fn unreserve(&self) {
        let st = self.st();
        st.put.0.reserved.fetch_sub(1, Ordering::SeqCst);
        self.space_changed();
        self.drop_task();
    }

    /// Whether [`append`](Self::append) of a `need`-byte record could go on now, judged
    /// from fresh reads of `head` and `tail` (in that order, so `tail - head` cannot
    /// underflow): the sleeping producer's wake-up test.
    ///
    /// It must not use the `tail` its caller saw: a producer waiting for a first record's
    /// room releases `put_lock`, other producers append meanwhile, and consumers can move
    /// `head` past that old `tail`.
    fn room_now(&self, need: usize, first: bool) -> bool {
        let st = self.st();
        let head = st.head.0.load(Ordering::SeqCst);
        let tail = st.tail.0.load(Ordering::SeqCst);
        let free = self.cap - (tail - head) as usize;
        let contiguous = self.cap - ((tail as usize) & (self.cap - 1));
        if need > contiguous {
            // Room for the padding record that skips the ring's end.
            free >= contiguous
        } else {
            free >= need && (!first || self.count_ok())
        }
    }

    /// Free bytes in the ring as the `put_lock` holder sees them: from its cached view
    /// of `head`, refreshed only when that view is not enough for `need`.
    fn free_for(&self, tail: u64, need: usize) -> usize {
        let put = &self.st().put.0;
        let free = self.cap - (tail - put.cached_head.load(Ordering::Relaxed)) as usize;
        if free >= need {
            return free;
        }
        let head = self.st().head.0.load(Ordering::SeqCst);
        put.cached_head.store(head, Ordering::Relaxed);
        self.cap - (tail - head) as usize
    }

    /// Whether `maxsize` allows one more message (fresh read).
    fn count_ok(&self) -> bool {
        let maxsize = self.st().maxsize.load(Ordering::Relaxed);
        maxsize == 0 || self.count() < maxsize
    }

    /// As `count_ok`, for the `put_lock` holder, from its cached view of `taken`.
    fn count_ok_cached(&self) -> bool {
        let st = self.st();
        let maxsize = u64::from(st.maxsize.load(Ordering::Relaxed));
        if maxsize == 0 {
            return true;
        }
        let put = &st.put.0;
        let reserved = put.reserved.load(Ordering::Relaxed);
        if reserved - put.cached_taken.load(Ordering::Relaxed).min(reserved) < maxsize {
            return true;
        }
        let taken = st.get.0.taken.load(Ordering::SeqCst);
        put.cached_taken.store(taken, Ordering::Relaxed);
        reserved.saturating_sub(taken) < maxsize
    }

    /// Appends one record (holding `put_lock`), waiting for room as `wait` allows.
    ///
    /// The first record of a message (`first`) also reserves its place under `maxsize`,
    /// and may drop and re-take the lock while it waits; later records keep the lock.
    fn append(
        &self,
        len: usize,
        flags: u32,
        payload: &[u8],
        wait: Wait,
        first: bool,
    ) -> Result<(), Fail> {
        let st = self.st();
        let need = align8(HDR + payload.len());
        loop {
            let shutdown = st.shutdown.load(Ordering::SeqCst);
            if shutdown == IMMEDIATE || (first && shutdown != OPEN) {
                return Err(Fail::ShutDown);
            }
            let tail = st.tail.0.load(Ordering::Relaxed);
            let pos = (tail as usize) & (self.cap - 1);
            let contiguous = self.cap - pos;
            let free = self.free_for(tail, need.min(contiguous));
            if need > contiguous && free >= contiguous {
                // Skip the ring's end with a padding record, then retry at the start.
                self.write_record(tail, contiguous - HDR, PAD, &[]);
                self.publish(tail + contiguous as u64);
                continue;
            }
            if need <= contiguous && free >= need && (!first || self.count_ok_cached()) {
                if first {
                    st.put.0.mark.store(tail, Ordering::SeqCst);
                    st.put.0.progress.store(1, Ordering::SeqCst);
                    st.put.0.reserved.fetch_add(1, Ordering::SeqCst);
                    if st.joinable.load(Ordering::Relaxed) != 0 {
                        st.tasks.0.add();
                    }
                }
                self.write_record(tail, len, flags, payload);
                self.publish(tail + need as u64);
                if first {
                    // A single-record message is complete; a chunked one is under way.
                    let progress = if flags & LAST != 0 { 0 } else { 2 };
                    st.put.0.progress.store(progress, Ordering::SeqCst);
                }
                return Ok(());
            }
            self.wait_space(wait, !first, |r| r.room_now(need, first))?;
        }
    }

    /// Sleeps until `ready` or the deadline; releases `put_lock` meanwhile unless
    /// `keep_lock` (so `ready` must read the ring's positions afresh: they move while
    /// the lock is released). The lock is re-taken under the same deadline: if that
    /// fails, [`Fail::Unlocked`].
    fn wait_space(
        &self,
        wait: Wait,
        keep_lock: bool,
        ready: impl Fn(&Ring) -> bool,
    ) -> Result<(), Fail> {
        let st = self.st();
        let deadline = wait.deadline().ok_or(Fail::WouldBlock)?;
        let [seq, wake_needed] = &st.space.0;
        for _ in 0..SPIN {
            if ready(self) || st.shutdown.load(Ordering::Relaxed) != OPEN {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        wake_needed.store(1, Ordering::SeqCst);
        let s = seq.load(Ordering::SeqCst);
        if !keep_lock {
            self.unlock_put();
        }
        let mut result = Ok(());
        if !ready(self) && st.shutdown.load(Ordering::SeqCst) == OPEN {
            match futex::remaining(deadline) {
                Some(left) => futex::wait(seq, s, left),
                None => result = Err(Fail::WouldBlock),
            }
        }
        if !keep_lock {
            // Re-take the lock even after a timeout if it is free (callers unlock on
            // every path), but wait for it no longer than the deadline.
            self.lock_put(Wait::Until(deadline))
                .map_err(|_| Fail::Unlocked)?;
        }
        result
    }

    fn publish(&self, tail: u64) {
        let st = self.st();
        st.tail.0.store(tail, Ordering::SeqCst);
        wake_if_needed(&st.data.0);
    }

    fn space_changed(&self) {
        wake_if_needed(&self.st().space.0);
    }

    /// Puts one encoded message.
    pub(crate) fn put(&self, bytes: &[u8], wait: Wait) -> Result<(), Fail> {
        if self.is_shutdown() {
            return Err(Fail::ShutDown);
        }
        self.lock_put(wait)?;
        let r = if bytes.len() <= self.max_single() {
            self.append(bytes.len(), FIRST | LAST, bytes, wait, true)
        } else {
            self.put_chunked(bytes, wait)
        };
        match r {
            Err(Fail::Unlocked) => Err(Fail::WouldBlock),
            r => {
                self.unlock_put();
                r
            }
        }
    }

    fn put_chunked(&self, bytes: &[u8], wait: Wait) -> Result<(), Fail> {
        let put = &self.st().put.0;
        let mut chunks = bytes.chunks(self.chunk()).peekable();
        let mut first = true;
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let flags = if first { FIRST } else { 0 } | if last { LAST } else { 0 };
            // Every chunk waits under the caller's deadline. (The first may drop and
            // re-take the lock while it waits; later ones keep it.)
            if let Err(e) = self.append(chunk.len(), flags, chunk, wait, first) {
                if !first {
                    self.give_up_message(e);
                }
                return Err(e);
            }
            first = false;
        }
        put.progress.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// A chunked put failed after its first chunk (we hold `put_lock`): close the
    /// message with `ABORT` now if there is room (consumers discard its part), or leave
    /// it "mid-message" for the next `put_lock` holder to close. On immediate shutdown
    /// nothing more will be read: just reset.
    fn give_up_message(&self, why: Fail) {
        let put = &self.st().put.0;
        if why == Fail::ShutDown || self.append(0, ABORT, &[], Wait::No, false).is_ok() {
            put.progress.store(0, Ordering::SeqCst);
        }
    }

    // ---- consumers ----

    /// Takes `get_lock` as `wait` allows; `Some(true)` when it was taken over from a
    /// dead consumer that was in the middle of a message (whose rest must be skipped).
    /// With [`Wait::No`], only if the lock is free or its owner dead (Python's
    /// `get_nowait` does not wait for the consumers' lock either).
    fn lock_get(&self, wait: Wait) -> Option<bool> {
        let lock = &self.st().get.0.lock;
        let got = match wait {
            Wait::No => lock.try_lock(ident::process()),
            Wait::Until(deadline) => lock.lock(ident::process(), deadline),
        }?;
        Some(got == Acquired::OwnerDied && self.dead_consumer_was_mid_message())
    }

    fn unlock_get(&self) {
        self.st().get.0.lock.unlock();
    }

    /// Takes one message and hands its bytes to `f`.
    pub(crate) fn get<R>(&self, wait: Wait, f: impl FnOnce(&[u8]) -> R) -> Result<R, Fail> {
        let st = self.st();
        if let Wait::No = wait {
            if st.shutdown.load(Ordering::SeqCst) == IMMEDIATE {
                return Err(Fail::ShutDown);
            }
            if self.count() == 0 {
                return Err(if self.is_shutdown() {
                    Fail::ShutDown
                } else {
                    Fail::WouldBlock
                });
            }
        }
        let deadline = match wait {
            Wait::No => None,
            Wait::Until(d) => d,
        };
        let mut msg = Assembly {
            skipping: self.lock_get(wait).ok_or(Fail::WouldBlock)?,
            parts: None,
        };
        loop {
            let head = st.head.0.load(Ordering::Relaxed);
            if !self.data_after(head) {
                let mid_message = msg.parts.is_some() || msg.skipping;
                if matches!(wait, Wait::No) && !mid_message {
                    self.unlock_get();
                    return Err(if self.is_shutdown() {
                        Fail::ShutDown
                    } else {
                        Fail::WouldBlock
                    });
                }
                match self.wait_data(head, deadline, mid_message) {
                    Ok(died) => msg.skipping |= died,
                    Err(e) => {
                        if mid_message {
                            // Shut down immediately mid-message: the message is lost,
                            // and with it its task.
                            msg.drop_partial(self);
                            self.unlock_get();
                        }
                        return Err(e);
                    }
                }
                continue;
            }
            let (len, flags) = self.read_header(head);
            let size = align8(HDR + len) as u64;
            let kind = Record::of(flags);
            if matches!(kind, Record::Abort | Record::Whole | Record::First) {
                // Whatever was being assembled will never be completed.
                msg.drop_partial(self);
                msg.skipping = false;
            }
            match kind {
                Record::Pad => self.advance(head, size),
                Record::Abort => {
                    st.get.0.progress.store(0, Ordering::SeqCst);
                    self.advance(head, size);
                }
                Record::Middle | Record::Last if msg.skipping || msg.parts.is_none() => {
                    // The rest of a message whose first part a dead consumer took.
                    self.advance(head, size);
                }
                Record::Whole => {
                    get_hook(GetPoint::Located);
                    return Ok(with_get_buf(|buf| {
                        buf.clear();
                        self.read_payload(head, len, buf);
                        st.head.0.store(head + size, Ordering::SeqCst);
                        st.get.0.taken.fetch_add(1, Ordering::SeqCst);
                        self.hand_out_task();
                        // One wake-up check for both changes (bytes and, under
                        // `maxsize`, a place freed): a producer sleeping on either
                        // re-checks both.
                        self.space_changed();
                        self.unlock_get();
                        f(buf)
                    }));
                }
                Record::First => {
                    let mut parts = Vec::new();
                    self.read_payload(head, len, &mut parts);
                    msg.parts = Some(parts);
                    st.get.0.progress.store(1, Ordering::SeqCst);
                    st.get.0.taken.fetch_add(1, Ordering::SeqCst);
                    self.advance(head, size);
                    get_hook(GetPoint::MidMessage);
                }
                Record::Middle => {
                    let parts = msg.parts.as_mut().expect("checked by the arm above");
                    self.read_payload(head, len, parts);
                    self.advance(head, size);
                }
                Record::Last => {
                    let mut parts = msg.parts.take().expect("checked by the arm above");
                    self.read_payload(head, len, &mut parts);
                    self.advance(head, size);
                    st.get.0.progress.store(0, Ordering::SeqCst);
                    self.hand_out_task();
                    self.unlock_get();
                    return Ok(f(&parts));
                }
            }
        }
    }

    /// Whether a record follows `head` (the `get_lock` holder's view of `tail`, read
    /// afresh only when the cached one says no).
    fn data_after(&self, head: u64) -> bool {
        let get = &self.st().get.0;
        if get.cached_tail.load(Ordering::Relaxed) != head {
            return true;
        }
        let tail = self.st().tail.0.load(Ordering::SeqCst);
        get.cached_tail.store(tail, Ordering::Relaxed);
        tail != head
    }

    /// After taking `get_lock` over from a dead consumer: whether it died mid-message
    /// (the rest of that message must be skipped; the message is lost with it).
    fn dead_consumer_was_mid_message(&self) -> bool {
        let mid = self.st().get.0.progress.swap(0, Ordering::SeqCst) != 0;
        if mid {
            self.drop_task();
        }
        mid
    }

    /// A message was dropped unread: it will never be marked done.
    fn drop_task(&self) {
        let st = self.st();
        if st.joinable.load(Ordering::Relaxed) != 0 {
            st.tasks.0.drop_unread();
        }
    }

    /// A message was handed to this process: it holds the task until `task_done`.
    fn hand_out_task(&self) {
        let st = self.st();
        if st.joinable.load(Ordering::Relaxed) != 0 {
            st.tasks.0.hand_out(ident::process().stamp);
        }
    }

    fn advance(&self, head: u64, size: u64) {
        self.st().head.0.store(head + size, Ordering::SeqCst);
        self.space_changed();
    }

    /// Repairs the producer side if the `put_lock` holder died, or the last one left a
    /// message unfinished (its put timed out): a consumer waiting on a half-sent
    /// message, or on a reserved place, would otherwise wait forever. The repair waits
    /// for room at most until `deadline`.
    fn check_dead_producer(&self, deadline: Option<Instant>) {
        let put = &self.st().put.0;
        let me = ident::process();
        let abandoned = !put.lock.is_locked() && put.progress.load(Ordering::SeqCst) != 0;
        if !abandoned && !put.lock.owner_is_dead(me) {
            return;
        }
        if put.lock.try_lock(me).is_some() {
            if put.progress.load(Ordering::SeqCst) != 0 {
                // On timeout the repair stays pending for the next holder.
                let _ = self.repair_put(deadline);
            }
            self.unlock_put();
        }
    }

    /// Waits for `tail` to move past `head`, holding `get_lock`, which is released
    /// meanwhile unless mid-message (and re-taken by the deadline, or
    /// [`Fail::WouldBlock`] without it). Returns whether, on re-taking the lock, a dead
    /// consumer's half-read message has to be skipped.
    ///
    /// Mid-message, the deadline does not apply while the producer is alive and its
    /// message unfinished: see the module docs.
    fn wait_data(
        &self,
        head: u64,
        deadline: Option<Instant>,
        mid_message: bool,
    ) -> Result<bool, Fail> {
        let st = self.st();
        let shutdown = st.shutdown.load(Ordering::SeqCst);
        if shutdown == IMMEDIATE || (shutdown == GRACEFUL && !mid_message && self.count() == 0) {
            if !mid_message {
                self.unlock_get();
            }
            return Err(Fail::ShutDown);
        }
        let [seq, wake_needed] = &st.data.0;
        for _ in 0..SPIN {
            if st.tail.0.load(Ordering::Relaxed) != head {
                return Ok(false);
            }
            std::hint::spin_loop();
        }
        wake_needed.store(1, Ordering::SeqCst);
        let s = seq.load(Ordering::SeqCst);
        if !mid_message {
            self.unlock_get();
        }
        let wait_until = if mid_message { None } else { deadline };
        // While something is promised (a reservation or the rest of a message), watch
        // the producer's liveness; otherwise sleep until woken.
        let promised = mid_message || self.count() > 0;
        let mut result = Ok(false);
        if st.tail.0.load(Ordering::SeqCst) == head
            && st.shutdown.load(Ordering::SeqCst) == shutdown
        {
            match futex::remaining(wait_until) {
                Some(left) if promised => {
                    futex::wait(seq, s, Some(futex::min_slice(left, LIVENESS_SLICE)));
                }
                Some(left) => futex::wait(seq, s, left),
                None => result = Err(Fail::WouldBlock),
            }
        }
        if promised && st.tail.0.load(Ordering::SeqCst) == head {
            self.check_dead_producer(deadline);
        }
        if !mid_message {
            result?;
            return self.lock_get(Wait::Until(deadline)).ok_or(Fail::WouldBlock);
        }
        result
    }

    // ---- shutdown and tasks ----

    pub(crate) fn shutdown(&self, immediate: bool) {
        let st = self.st();
        let level = if immediate { IMMEDIATE } else { GRACEFUL };
        st.shutdown.fetch_max(level, Ordering::SeqCst);
        for [seq, _] in [&st.data.0, &st.space.0] {
            seq.fetch_add(1, Ordering::SeqCst);
            futex::wake_all(seq);
        }
        if immediate {
            self.discard_all();
        }
    }

    /// Immediate shutdown: drops every message not yet taken, as Python's
    /// `shutdown(immediate=True)` drains the queue (`qsize()` is 0 at once), and counts
    /// their tasks done — only theirs: a task a consumer already took holds `join` up
    /// until its `task_done`.
    ///
    /// Takes `put_lock` then `get_lock` (the order no other path waits in), so no
    /// message is being written or read meanwhile; the holders were just woken and see
    /// the shutdown. Under both locks every message reserved and not taken is in the
    /// ring (or is a dead producer's reservation that was never published).
    fn discard_all(&self) {
        let st = self.st();
        let me = ident::process();
        if st.put.0.lock.lock(me, None).is_none() {
            return;
        }
        // A dead consumer's half-read message: its task is dropped by `lock_get`.
        if self.lock_get(Wait::Until(None)).is_none() {
            self.unlock_put();
            return;
        }
        let reserved = st.put.0.reserved.load(Ordering::SeqCst);
        let taken = st.get.0.taken.swap(reserved, Ordering::SeqCst);
        let left = reserved.saturating_sub(taken);
        let tail = st.tail.0.load(Ordering::SeqCst);
        st.get.0.cached_tail.store(tail, Ordering::Relaxed);
        st.head.0.store(tail, Ordering::SeqCst);
        st.put.0.progress.store(0, Ordering::SeqCst);
        st.get.0.progress.store(0, Ordering::SeqCst);
        if st.joinable.load(Ordering::Relaxed) != 0 && left > 0 {
            st.tasks
                .0
                .drop_unread_n(u32::try_from(left).unwrap_or(u32::MAX));
        }
        self.space_changed();
        self.unlock_get();
        self.unlock_put();
    }

    /// `task_done()`: decrements the unfinished-task count; `false` if it was already 0.
    pub(crate) fn finish_task(&self) -> bool {
        self.st().tasks.0.done(ident::process().stamp)
    }

    pub(crate) fn unfinished(&self) -> u32 {
        self.st().tasks.0.unfinished()
    }

    pub(crate) fn set_lost_tasks_policy(&self, policy: OnLostTasks) {
        self.st().tasks.0.set_policy(policy);
    }

    /// Waits until every put item has been marked done; `Ok(false)` at the deadline.
    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<bool, LostTasks> {
        self.st().tasks.0.join(deadline)
    }
}

/// A consumer's message in the making.
struct Assembly {
    /// Skipping the rest of a message a dead consumer had started.
    skipping: bool,
    /// The chunks so far of a chunked message.
    parts: Option<Vec<u8>>,
}

impl Assembly {
    /// Drops a message begun but never completed (its task is gone with it).
    fn drop_partial(&mut self, ring: &Ring) {
        if self.parts.take().is_some() {
            ring.drop_task();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stamp of a process that has exited and been reaped.
    fn dead_stamp() -> ident::Stamp {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        (u64::from(pid) << 32) | 1
    }

    fn put_get(ring: &Ring, msg: &[u8]) -> Vec<u8> {
        ring.put(msg, Wait::No).unwrap();
        ring.get(Wait::No, <[u8]>::to_vec).unwrap()
    }

    #[test]
    fn wraps_around_with_padding_and_chunks() {
        let ring = Ring::new(4096, 0, false).unwrap();
        for i in 0..5000usize {
            let len = (i * 37) % 1500; // many sizes: records end anywhere in the ring
            let msg: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
            assert_eq!(put_get(&ring, &msg), msg);
        }
        assert_eq!(ring.count(), 0);
        let big = vec![9u8; 3000]; // > max_single: chunked, and fits the ring on its own
        assert_eq!(put_get(&ring, &big), big);
    }

    /// Regression: a producer that waits for room with `put_lock` released used to judge
    /// the room against the `tail` it saw before sleeping. Other producers then moved
    /// `tail` on and consumers moved `head` past that stale `tail`, so `tail - head`
    /// underflowed: a panic in debug builds (the producer died and its messages never
    /// came, so consumers waited forever), a garbage answer in release builds.
    #[test]
    fn producers_waiting_for_room_see_the_current_tail() {
        // The window is narrow (between releasing the lock and the re-check): a few
        // rounds make a failure without the fix all but certain (~0.1 s a round).
        for _ in 0..4 {
            many_producers_through_a_tiny_ring();
        }
    }

    fn many_producers_through_a_tiny_ring() {
        use std::sync::Arc;
        const PRODUCERS: u64 = 8;
        const EACH: u64 = 20_000;
        // A small ring and a small `maxsize`: producers wait (lock released) all the time.
        let ring = Arc::new(Ring::new(4096, 2, false).unwrap());
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in p * EACH..(p + 1) * EACH {
                        // Sizes vary so records end anywhere (padding at the ring's end).
                        let len = 8 + (i as usize * 53) % 300;
                        let mut msg = vec![0u8; len];
                        msg[..8].copy_from_slice(&i.to_le_bytes());
                        ring.put(&msg, Wait::Until(None)).unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(i) = ring.get(Wait::Until(None), |b| {
                        u64::from_le_bytes(b[..8].try_into().unwrap())
                    }) {
                        got.push(i);
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().expect("a producer panicked");
        }
        ring.shutdown(false);
        let mut all: Vec<u64> = consumers
            .into_iter()
            .flat_map(|c| c.join().expect("a consumer panicked"))
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..PRODUCERS * EACH).collect::<Vec<_>>());
    }

    #[test]
    fn a_dead_producers_reservation_is_released() {
        let ring = Ring::new(4096, 2, false).unwrap();
        let st = ring.st();
        // Forge "a producer reserved a place and died holding put_lock".
        st.put.0.lock.forge_owner(dead_stamp());
        st.put
            .0
            .mark
            .store(st.tail.0.load(Ordering::SeqCst), Ordering::SeqCst);
        st.put.0.progress.store(1, Ordering::SeqCst);
        st.put.0.reserved.fetch_add(1, Ordering::SeqCst);
        assert_eq!(ring.count(), 1);
        ring.put(b"x", Wait::Until(None)).unwrap(); // takes the lock over and repairs
        assert_eq!(ring.count(), 1);
        assert_eq!(ring.get(Wait::No, <[u8]>::to_vec).unwrap(), b"x");
        assert_eq!(ring.get(Wait::No, |_| ()), Err(Fail::WouldBlock));
    }

    #[test]
    fn a_dead_producers_half_message_is_aborted() {
        let ring = Ring::new(4096, 0, false).unwrap();
        let st = ring.st();
        // A first chunk published by a producer that then died holding put_lock.
        st.put.0.lock.lock(ident::process(), None).unwrap();
        st.put.0.reserved.fetch_add(1, Ordering::SeqCst);
        ring.append(100, FIRST, &[1u8; 100], Wait::No, false)
            .unwrap();
        st.put.0.progress.store(2, Ordering::SeqCst);
        st.put.0.lock.forge_owner(dead_stamp());
        ring.put(b"after", Wait::Until(None)).unwrap();
        assert_eq!(ring.get(Wait::No, <[u8]>::to_vec).unwrap(), b"after");
        assert_eq!(ring.count(), 0);
    }

    #[test]
    fn record_kinds_from_flags() {
        assert_eq!(Record::of(PAD), Record::Pad);
        assert_eq!(Record::of(ABORT), Record::Abort);
        assert_eq!(Record::of(FIRST | LAST), Record::Whole);
        assert_eq!(Record::of(FIRST), Record::First);
        assert_eq!(Record::of(0), Record::Middle);
        assert_eq!(Record::of(LAST), Record::Last);
    }

    #[test]
    fn try_put_and_try_get_take_over_a_dead_owners_lock() {
        let ring = Ring::new(4096, 0, false).unwrap();
        let st = ring.st();
        st.put.0.lock.forge_owner(dead_stamp());
        ring.put(b"x", Wait::No).unwrap();
        st.get.0.lock.forge_owner(dead_stamp());
        assert_eq!(ring.get(Wait::No, <[u8]>::to_vec).unwrap(), b"x");
        assert_eq!(ring.get(Wait::No, |_| ()), Err(Fail::WouldBlock));
    }

    #[test]
    fn a_timed_put_of_a_repair_that_cannot_finish_leaves_it_pending() {
        let ring = Ring::new(4096, 0, false).unwrap();
        let st = ring.st();
        // A producer wrote the first chunk of a message, filled the ring and died.
        st.put.0.lock.lock(ident::process(), None).unwrap();
        st.put.0.reserved.fetch_add(1, Ordering::SeqCst);
        let chunk = ring.chunk();
        for flags in [FIRST, 0, 0, 0] {
            let _ = ring.append(chunk, flags, &vec![1u8; chunk], Wait::No, false);
        }
        st.put.0.progress.store(2, Ordering::SeqCst);
        st.put.0.lock.forge_owner(dead_stamp());
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        assert_eq!(
            ring.put(b"y", Wait::Until(Some(deadline))),
            Err(Fail::WouldBlock)
        );
        assert!(!st.put.0.lock.is_locked(), "the lock is given back");
        assert_eq!(
            st.put.0.progress.load(Ordering::SeqCst),
            2,
            "repair pending"
        );
        // A consumer drains the part, then repairs (room now) and sees the next one.
        let consumer = {
            let ring = ring.clone();
            std::thread::spawn(move || ring.get(Wait::Until(None), <[u8]>::to_vec))
        };
        ring.put(b"z", Wait::Until(None)).unwrap();
        assert_eq!(consumer.join().unwrap().unwrap(), b"z");
        assert_eq!(ring.count(), 0);
    }
}
