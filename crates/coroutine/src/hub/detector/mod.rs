//! The blocking detector: reports a green task that holds the hub longer than a
//! threshold (gevent's `monitor_thread` / `max_blocking_time`, on by default here).
//!
//! # How it works, and why this way
//!
//! The hub stamps every *slice* (one run of one task between two switches) with a
//! sequence number and its start time, in atomics. Two observers use them:
//!
//! 1. **A monitor thread** (one per process, started with the first watched hub) wakes
//!    every quarter threshold. When a slice has run past the threshold, it sends the hub
//!    thread a signal whose handler records that thread's stack — the blocked task's
//!    frames, *while it is still blocked* — and reports at once: task name, time held so
//!    far, backtrace. This is the only way to say *where* a task blocks (at the next
//!    switch the blocking call has returned and its frames are gone) and to report a task
//!    that never yields at all.
//! 2. **The hub itself, at the switch**: when a slice ends it measures it; a slice over
//!    the threshold is always reported (a second report, `Released`, with the total time
//!    held). If the monitor did not sample it (its thread was not scheduled in time, or
//!    the program owns the signal), the backtrace is taken at that switch, on the task's
//!    stack — it shows the task's code just after the blocking call. So detection never
//!    depends on the monitor's timing; only the precision of "where" does.
//!
//! On by default in debug builds (threshold 100 ms), off in release builds; the
//! environment variable `SKEIN_HUB_BLOCKING_MS` overrides both (`0` turns it off). Per
//! thread: [`set_blocking_threshold`], [`set_blocking_reporter`].

mod signal;

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use super::core::{Task, hub};

/// The default threshold (gevent's `max_blocking_time` is 0.1 s as well).
pub const DEFAULT_THRESHOLD: Duration = Duration::from_millis(100);

const MAX_FRAMES: usize = 64;

/// A function receiving blocking reports (from the monitor thread or the hub thread).
type Reporter = Arc<dyn Fn(&BlockingReport) + Send + Sync>;

/// What the monitor thread and the hub share about one hub.
pub(crate) struct Shared {
    epoch: Instant,
    threshold_ns: AtomicU64,
    /// Slice counter: odd while a task runs.
    seq: AtomicU64,
    /// Start of the current slice, in ns since `epoch`.
    started: AtomicU64,
    /// The running task's id and name.
    task: Mutex<(u64, String)>,
    /// The slice the monitor asked a backtrace for, and the one captured.
    capture_request: AtomicU64,
    captured: AtomicU64,
    /// The slice the monitor caught (and reports).
    reported: AtomicU64,
    ips: [AtomicUsize; MAX_FRAMES],
    n_ips: AtomicUsize,
    reporter: Mutex<Reporter>,
    /// The hub thread, while it lives (see `signal::request`).
    thread: Mutex<Option<libc::pthread_t>>,
}

/// The hub's side of its detector.
pub(crate) struct Watch {
    shared: Arc<Shared>,
    switch_backtrace: RefCell<Option<Backtrace>>,
}

/// When in a slice the report is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockingPhase {
    /// The task still holds the hub (reported by the monitor thread).
    Blocking,
    /// The task gave the hub back (reported by the hub at the switch); `held` is the
    /// total time.
    Released,
}

/// Where a report's backtrace was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BacktraceOrigin {
    /// Sampled by the monitor's signal while the task was blocked: shows the blocking
    /// call.
    WhileBlocked,
    /// Taken on the task's stack at its next switch: shows the code after the blocking
    /// call.
    AtNextSwitch,
    /// No backtrace (the task ended without another switch before the monitor sampled
    /// it, or the monitor's report already carried it).
    None,
}

/// One report of the blocking detector.
#[derive(Clone, Debug)]
pub struct BlockingReport {
    task_id: u64,
    task_name: String,
    held: Duration,
    threshold: Duration,
    phase: BlockingPhase,
    backtrace: Option<Trace>,
    origin: BacktraceOrigin,
}

/// A report's backtrace: resolved by the monitor thread, or captured at a switch and
/// resolved only when read (resolving symbols takes long; the hub must not wait for it).
#[derive(Clone, Debug)]
enum Trace {
    Resolved(String),
    Captured(Arc<Backtrace>),
}

impl Trace {
    fn text(&self) -> String {
        match self {
            Trace::Resolved(s) => s.clone(),
            Trace::Captured(bt) => bt.to_string(),
        }
    }
}

impl BlockingReport {
    /// The offending task's name.
    pub fn task_name(&self) -> &str {
        &self.task_name
    }

    /// The offending task's id.
    pub fn task_id(&self) -> u64 {
        self.task_id
    }

    /// How long the task held the hub (so far, for [`BlockingPhase::Blocking`]).
    pub fn held(&self) -> Duration {
        self.held
    }

    /// The threshold in force.
    pub fn threshold(&self) -> Duration {
        self.threshold
    }

    /// Still blocking, or released.
    pub fn phase(&self) -> BlockingPhase {
        self.phase
    }

    /// The backtrace, one frame a line, when there is one (symbols of a backtrace
    /// taken at a switch are resolved by this call).
    pub fn backtrace(&self) -> Option<String> {
        self.backtrace.as_ref().map(Trace::text)
    }

    /// Where the backtrace was taken.
    pub fn backtrace_origin(&self) -> BacktraceOrigin {
        self.origin
    }
}

impl fmt::Display for BlockingReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.phase {
            BlockingPhase::Blocking => write!(
                f,
                "skein hub: green task '{}' (id {}) has held the hub for {:?} (threshold {:?}) \
                 without yielding: it is blocking the thread",
                self.task_name, self.task_id, self.held, self.threshold
            )?,
            BlockingPhase::Released => write!(
                f,
                "skein hub: green task '{}' (id {}) held the hub for {:?} (threshold {:?})",
                self.task_name, self.task_id, self.held, self.threshold
            )?,
        }
        if let Some(bt) = self.backtrace() {
            let origin = match self.origin {
                BacktraceOrigin::WhileBlocked => "while it blocked",
                BacktraceOrigin::AtNextSwitch => "at its next switch",
                BacktraceOrigin::None => "",
            };
            write!(f, "\nbacktrace ({origin}):\n{bt}")?;
        }
        Ok(())
    }
}

fn default_reporter() -> Reporter {
    Arc::new(|report: &BlockingReport| eprintln!("{report}"))
}

/// The threshold a new hub starts with.
fn initial_threshold() -> Option<Duration> {
    static INITIAL: OnceLock<Option<Duration>> = OnceLock::new();
    *INITIAL.get_or_init(|| match std::env::var("SKEIN_HUB_BLOCKING_MS") {
        Ok(ms) => match ms.trim().parse::<u64>() {
            Ok(0) => None,
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(_) => cfg!(debug_assertions).then_some(DEFAULT_THRESHOLD),
        },
        Err(_) => cfg!(debug_assertions).then_some(DEFAULT_THRESHOLD),
    })
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Watch {
    /// The watch a new hub gets: on in debug builds unless configured otherwise.
    pub(crate) fn default_for_build() -> Option<Watch> {
        initial_threshold().map(|t| Watch::new(t, default_reporter()))
    }

    fn new(threshold: Duration, reporter: Reporter) -> Watch {
        let shared = Arc::new(Shared {
            epoch: Instant::now(),
            threshold_ns: AtomicU64::new(nanos(threshold)),
            seq: AtomicU64::new(0),
            started: AtomicU64::new(0),
            task: Mutex::new((0, String::with_capacity(32))),
            capture_request: AtomicU64::new(0),
            captured: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            ips: [const { AtomicUsize::new(0) }; MAX_FRAMES],
            n_ips: AtomicUsize::new(0),
            reporter: Mutex::new(reporter),
            thread: Mutex::new(Some(signal::current_thread())),
        });
        signal::attach(&shared);
        monitor().register(&shared);
        Watch {
            shared,
            switch_backtrace: RefCell::new(None),
        }
    }

    fn now_ns(&self) -> u64 {
        nanos(self.shared.epoch.elapsed())
    }

    fn threshold(&self) -> Duration {
        Duration::from_nanos(self.shared.threshold_ns.load(Ordering::Relaxed))
    }

    /// A task starts running.
    pub(crate) fn slice_begin(&self, task: &Task) {
        let s = &self.shared;
        {
            let mut slot = s.task.lock().unwrap_or_else(|e| e.into_inner());
            slot.0 = task.id;
            slot.1.clear();
            let _ = write!(slot.1, "{}", task.name());
        }
        s.started.store(self.now_ns(), Ordering::Relaxed);
        s.seq.fetch_add(1, Ordering::Release);
    }

    /// The running task is about to switch away (called on its stack).
    pub(crate) fn before_switch(&self, _task: &Task) {
        let s = &self.shared;
        let held = self
            .now_ns()
            .saturating_sub(s.started.load(Ordering::Relaxed));
        let seq = s.seq.load(Ordering::Relaxed);
        if held >= s.threshold_ns.load(Ordering::Relaxed)
            && s.captured.load(Ordering::Acquire) != seq
        {
            *self.switch_backtrace.borrow_mut() = Some(Backtrace::force_capture());
        }
    }

    /// The running task switched back to the hub (or ended).
    pub(crate) fn slice_end(&self, task: &Task) {
        let s = &self.shared;
        let held_ns = self
            .now_ns()
            .saturating_sub(s.started.load(Ordering::Relaxed));
        let seq = s.seq.fetch_add(1, Ordering::AcqRel);
        let switch_bt = self.switch_backtrace.borrow_mut().take();
        if held_ns < s.threshold_ns.load(Ordering::Relaxed) {
            return;
        }
        // The monitor sets `captured` from the signal handler, before it resolves and
        // reports: then the backtrace is its report's.
        let monitor_caught = s.captured.load(Ordering::Acquire) == seq;
        let (backtrace, origin) = match switch_bt {
            Some(bt) if !monitor_caught => (
                Some(Trace::Captured(Arc::new(bt))),
                BacktraceOrigin::AtNextSwitch,
            ),
            _ => (None, BacktraceOrigin::None),
        };
        let report = BlockingReport {
            task_id: task.id,
            task_name: task.name().into_owned(),
            held: Duration::from_nanos(held_ns),
            threshold: self.threshold(),
            phase: BlockingPhase::Released,
            backtrace,
            origin,
        };
        let reporter = s.reporter.lock().unwrap_or_else(|e| e.into_inner()).clone();
        reporter(&report);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        signal::detach();
        *self.shared.thread.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Formats the instruction pointers the signal handler recorded: the task's frames,
/// from the blocking call down to the task's closure (the signal handler's frames above
/// and the hub's frames below say nothing about the task).
fn resolve(s: &Shared) -> String {
    let n = s.n_ips.load(Ordering::Relaxed).min(MAX_FRAMES);
    let mut frames: Vec<(String, String)> = Vec::new();
    for slot in &s.ips[..n] {
        let ip = slot.load(Ordering::Relaxed);
        let before = frames.len();
        backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
            let name = symbol
                .name()
                .map_or_else(|| "<unknown>".to_string(), |n| format!("{n:#}"));
            let place = match (symbol.filename(), symbol.lineno()) {
                (Some(file), Some(line)) => format!("{}:{line}", file.display()),
                _ => String::new(),
            };
            frames.push((name, place));
        });
        if frames.len() == before {
            frames.push((format!("{ip:#x}"), String::new()));
        }
    }
    // Drop the handler's frames and the signal trampoline: start after the last of them.
    let start = frames
        .iter()
        .rposition(|(name, _)| name.contains("detector::signal") || name.starts_with("backtrace::"))
        .map_or(0, |i| i + 1);
    let start = if frames
        .get(start)
        .is_some_and(|(name, _)| name.starts_with("0x"))
    {
        start + 1
    } else {
        start
    };
    // End at the task's closure: cut the hub's frames and the `catch_unwind` around it.
    let end = frames
        .iter()
        .position(|(name, _)| name.starts_with("skein_coroutine::hub::task::make_body"))
        .unwrap_or(frames.len());
    let mut end = end.max(start);
    while end > start {
        let name = &frames[end - 1].0;
        let plumbing = name.starts_with("std::panicking")
            || name.starts_with("std::panic::")
            || name.starts_with("__rust_try")
            || name.starts_with("<core::panic::unwind_safe");
        if !plumbing {
            break;
        }
        end -= 1;
    }
    let mut out = String::new();
    for (index, (name, place)) in frames[start..end].iter().enumerate() {
        let _ = writeln!(out, "  {index:>2}: {name}");
        if !place.is_empty() {
            let _ = writeln!(out, "             at {place}");
        }
    }
    out
}

/// The process's monitor thread and the hubs it watches.
struct Monitor {
    watched: Mutex<Vec<Weak<Shared>>>,
}

fn monitor() -> &'static Monitor {
    static MONITOR: OnceLock<Monitor> = OnceLock::new();
    MONITOR.get_or_init(|| {
        std::thread::Builder::new()
            .name("skein-hub-monitor".into())
            .spawn(monitor_loop)
            .expect("skein hub: cannot start the blocking detector's monitor thread");
        Monitor {
            watched: Mutex::new(Vec::new()),
        }
    })
}

impl Monitor {
    fn register(&self, shared: &Arc<Shared>) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched.retain(|w| w.strong_count() > 0);
        watched.push(Arc::downgrade(shared));
    }
}

fn monitor_loop() {
    let monitor = monitor();
    loop {
        let watched: Vec<Arc<Shared>> = monitor
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let mut period = Duration::from_millis(25);
        for shared in &watched {
            let threshold = shared.threshold_ns.load(Ordering::Relaxed);
            period = period.min(Duration::from_nanos(threshold / 4).max(Duration::from_millis(1)));
            check(shared, threshold);
        }
        drop(watched);
        std::thread::sleep(period);
    }
}

/// Reports the slice of `s` if it has run past the threshold and is not yet reported.
fn check(s: &Shared, threshold_ns: u64) {
    let seq = s.seq.load(Ordering::Acquire);
    if seq % 2 == 0 || s.reported.load(Ordering::Acquire) == seq {
        return;
    }
    let started = s.started.load(Ordering::Relaxed);
    if s.seq.load(Ordering::Acquire) != seq {
        return;
    }
    let held = nanos(s.epoch.elapsed()).saturating_sub(started);
    if held < threshold_ns {
        return;
    }
    s.capture_request.store(seq, Ordering::Release);
    let mut caught = None;
    if signal::request(s) {
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline && s.seq.load(Ordering::Acquire) == seq {
            if s.captured.load(Ordering::Acquire) == seq {
                caught = Some(nanos(s.epoch.elapsed()).saturating_sub(started));
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    // Report only a slice caught while it still ran: otherwise the hub reports it at
    // the switch, with the total time.
    let Some(held) = caught else { return };
    s.reported.store(seq, Ordering::Release);
    let (task_id, task_name) = s.task.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let backtrace = resolve(s);
    let report = BlockingReport {
        task_id,
        task_name,
        held: Duration::from_nanos(held),
        threshold: Duration::from_nanos(threshold_ns),
        phase: BlockingPhase::Blocking,
        backtrace: Some(Trace::Resolved(backtrace)),
        origin: BacktraceOrigin::WhileBlocked,
    };
    let reporter = s.reporter.lock().unwrap_or_else(|e| e.into_inner()).clone();
    reporter(&report);
}

/// Sets this thread's blocking threshold: a green task holding the hub longer is
/// reported; `None` turns the detector off for this thread.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use skein_coroutine::hub;
///
/// hub::set_blocking_threshold(Some(Duration::from_millis(250)));
/// assert_eq!(hub::blocking_threshold(), Some(Duration::from_millis(250)));
/// hub::set_blocking_threshold(None);
/// assert_eq!(hub::blocking_threshold(), None);
/// ```
pub fn set_blocking_threshold(threshold: Option<Duration>) {
    let hub = hub();
    let mut watch = hub.watch.borrow_mut();
    match (threshold, watch.as_ref()) {
        (None, _) => *watch = None,
        (Some(t), Some(w)) => w.shared.threshold_ns.store(nanos(t), Ordering::Relaxed),
        (Some(t), None) => *watch = Some(Watch::new(t, default_reporter())),
    }
}

/// This thread's blocking threshold (`None`: the detector is off).
pub fn blocking_threshold() -> Option<Duration> {
    hub().watch.borrow().as_ref().map(Watch::threshold)
}

/// Sends this thread's blocking reports to `reporter` instead of standard error. It is
/// called on the monitor thread ([`BlockingPhase::Blocking`]) and on the hub's thread
/// ([`BlockingPhase::Released`]). Turns the detector on with the default threshold if
/// it was off.
pub fn set_blocking_reporter(reporter: impl Fn(&BlockingReport) + Send + Sync + 'static) {
    let hub = hub();
    let mut watch = hub.watch.borrow_mut();
    let reporter: Reporter = Arc::new(reporter);
    match watch.as_ref() {
        Some(w) => *w.shared.reporter.lock().unwrap_or_else(|e| e.into_inner()) = reporter,
        None => *watch = Some(Watch::new(DEFAULT_THRESHOLD, reporter)),
    }
}
