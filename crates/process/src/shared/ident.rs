//! Who am I, and is the process or thread that recorded an identity still that one?
//!
//! **Identities survive pid reuse.** A bare pid names whichever process the kernel gave
//! that number to last: once its owner is dead and reaped, the next process to be handed
//! the number (`pid_max` is 32768 on many hosts) looks exactly like the owner. So every
//! record of "who holds this" in shared memory is a [`Stamp`]: the pid (or thread id)
//! *and* the start time the kernel keeps for it (`/proc/<id>/stat`, field 22, in clock
//! ticks since boot). A recorded owner is alive only if a process with that id exists,
//! is not a zombie, and started at the recorded tick; a recycled pid has a later start
//! time and is recognised as someone else.
//!
//! The one case a start time cannot tell apart is a pid freed *and* handed out again
//! within the same clock tick (10 ms at the usual `USER_HZ` of 100): the kernel does not
//! give out a freed pid again until it has cycled through the whole pid space, so this
//! needs the whole space to be run through in one tick (or an administrator forcing the
//! number with `ns_last_pid` that fast).

use std::cell::Cell;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

static PID: AtomicU32 = AtomicU32::new(0);
static PID_STAMP: AtomicU64 = AtomicU64::new(0);
static FORK_GEN: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

extern "C" fn after_fork_in_child() {
    PID.store(0, Ordering::Relaxed);
    PID_STAMP.store(0, Ordering::Relaxed);
    FORK_GEN.fetch_add(1, Ordering::Relaxed);
}

fn ensure_atfork() {
    ATFORK.call_once(|| crate::sys::shm::at_fork_child(after_fork_in_child));
}

/// Whether this process registered its `pthread_atfork` child handler (a forkserver
/// that did must fork through glibc, which runs it; see `sys::fork_for_parent`).
pub(crate) fn atfork_registered() -> bool {
    ATFORK.is_completed()
}

/// A process or thread identity that a recycled id does not match: the id in the high
/// 32 bits, a digest of its start time (never 0) in the low 32. 0 means "nobody".
pub(crate) type Stamp = u64;

/// The id part of a stamp.
pub(crate) const fn stamp_id(stamp: Stamp) -> u32 {
    (stamp >> 32) as u32
}

/// The start-time part for a start time read from `/proc`, or [`UNKNOWN_START`].
fn start_digest(start: Option<u64>) -> u32 {
    // Never 0, so that a stamp's low half says whether a start time was known.
    start.map_or(UNKNOWN_START, |t| (t % u64::from(u32::MAX)) as u32 + 1)
}

/// The start-time digest of an identity whose start time could not be read: it is
/// then judged by its id alone (the behaviour without stamps).
const UNKNOWN_START: u32 = 0;

fn make_stamp(id: u32, start: Option<u64>) -> Stamp {
    (u64::from(id) << 32) | u64::from(start_digest(start))
}

/// Who is calling: an id (pid or tid) and the stamp that names it for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Me {
    /// The pid (for process-owned locks) or tid (for thread-owned ones).
    pub(crate) id: u32,
    /// The id with its start time.
    pub(crate) stamp: Stamp,
}

/// This process's id, without a syscall after the first call (reset in fork children).
pub(crate) fn pid() -> u32 {
    let p = PID.load(Ordering::Relaxed);
    if p != 0 {
        return p;
    }
    ensure_atfork();
    let p = rustix::process::getpid().as_raw_nonzero().get() as u32;
    PID.store(p, Ordering::Relaxed);
    p
}

/// This process as a lock owner: its pid and stamp (read once per process, and again
/// in a fork child).
pub(crate) fn process() -> Me {
    let id = pid();
    let mut stamp = PID_STAMP.load(Ordering::Relaxed);
    if stamp == 0 || stamp_id(stamp) != id {
        stamp = make_stamp(id, start_time(id));
        PID_STAMP.store(stamp, Ordering::Relaxed);
    }
    Me { id, stamp }
}

thread_local! {
    /// `(fork generation, tid, stamp)` of this thread.
    static TID: Cell<(u32, u32, Stamp)> = const { Cell::new((u32::MAX, 0, 0)) };
}

/// This thread as a lock owner: its tid and stamp (cached per thread and fork).
pub(crate) fn thread() -> Me {
    ensure_atfork();
    let generation = FORK_GEN.load(Ordering::Relaxed);
    TID.with(|c| {
        let (g, t, s) = c.get();
        if g == generation && t != 0 {
            return Me { id: t, stamp: s };
        }
        let t = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        let s = make_stamp(t, start_time(t));
        c.set((generation, t, s));
        Me { id: t, stamp: s }
    })
}

/// What `/proc/<id>/stat` says about a process or thread.
enum Seen {
    /// It exists and is not a zombie; its start time, if readable.
    Running(Option<u64>),
    /// No such id, or a zombie (it has exited).
    Gone,
    /// `/proc` could not answer.
    Unknown,
}

fn look(id: u32) -> Seen {
    if id == 0 {
        return Seen::Gone;
    }
    match std::fs::read(format!("/proc/{id}/stat")) {
        // "pid (comm) S ppid ... starttime(22) ..." — comm may contain spaces and
        // parentheses, so fields are counted from the last ')'.
        Ok(stat) => match stat.iter().rposition(|&b| b == b')') {
            Some(i) => {
                let mut fields = stat[i + 1..]
                    .split(|&b| b == b' ')
                    .filter(|f| !f.is_empty());
                let state = fields.next().and_then(|s| s.first().copied());
                if matches!(state, Some(b'Z' | b'X' | b'x')) {
                    return Seen::Gone;
                }
                // Field 3 is the state; starttime is field 22: 19 further on.
                let start = fields
                    .nth(18)
                    .and_then(|f| std::str::from_utf8(f).ok())
                    .and_then(|f| f.parse::<u64>().ok());
                Seen::Running(start)
            }
            None => Seen::Running(None),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Seen::Gone,
        Err(_) => Seen::Unknown,
    }
}

/// The start time of process or thread `id` (clock ticks since boot), if it runs.
fn start_time(id: u32) -> Option<u64> {
    match look(id) {
        Seen::Running(start) => start,
        _ => None,
    }
}

/// Whether the process or thread named by `stamp` still exists: same id, not a zombie,
/// and (when the stamp recorded one) the same start time — a recycled id is not it.
///
/// When the answer cannot be known (no `/proc`), it is assumed alive: the worst case is
/// a wait, never a lock stolen from a live owner.
pub(crate) fn is_alive(stamp: Stamp) -> bool {
    let id = stamp_id(stamp);
    match look(id) {
        Seen::Gone => false,
        Seen::Unknown => true,
        Seen::Running(start) => {
            let recorded = stamp as u32;
            recorded == UNKNOWN_START || start.is_none() || start_digest(start) == recorded
        }
    }
}

/// Whether the process or thread `id` exists and is not a zombie, whoever it is now
/// (for an owner whose stamp is not written yet; see `rawlock`).
pub(crate) fn id_exists(id: u32) -> bool {
    !matches!(look(id), Seen::Gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive_and_ids_are_stable() {
        assert_eq!(pid(), std::process::id());
        assert!(is_alive(process().stamp));
        assert!(is_alive(thread().stamp));
        assert_eq!(thread(), thread());
        assert_eq!(stamp_id(process().stamp), pid());
        assert_ne!(process().stamp as u32, UNKNOWN_START, "start time readable");
        assert!(!is_alive(0));
    }

    #[test]
    fn a_stamp_with_another_start_time_is_not_alive() {
        let me = process().stamp;
        let other_start = (me & !0xFFFF_FFFF) | u64::from((me as u32).wrapping_add(7).max(1));
        assert!(!is_alive(other_start));
        assert!(id_exists(pid()));
    }
}
