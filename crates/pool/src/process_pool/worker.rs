//! The worker process: receives batches of tasks, runs each item under `catch_unwind`,
//! replies one `DONE` frame per task, and marks the task it runs in its shared slot so the
//! pool knows which task a dead worker held.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use serde::{Deserialize, Serialize};
use skein_process::{CallError, CallStage, Connection, FN_REF_BYTES, FnRef, RawValue};

use super::trust;
use super::wire::{self, Reader};

/// What a worker receives at start (moves into the child under every start method).
#[derive(Serialize, Deserialize)]
pub(crate) struct WorkerArgs {
    pub(crate) work: Connection,
    pub(crate) results: Connection,
    /// The id of the task running now (0: none).
    pub(crate) slot: RawValue<u64>,
    pub(crate) initializer: Option<([u8; FN_REF_BYTES], Vec<u8>)>,
    pub(crate) max_tasks: Option<u64>,
    pub(crate) max_rss: Option<u64>,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// The slot's value while the worker runs its initializer (no task id is this large).
pub(crate) const INITIALISING: u64 = u64::MAX;

/// Wraps the panic hook, once per process: while a worker runs a task, a panic is not
/// printed (Python's pool does not print a task's exception either); its message,
/// location and backtrace go to the task's future. Everywhere else the previous hook runs.
///
/// Called in the parent before the first worker starts, so a forked worker inherits the
/// hook and never takes the hook lock itself (another thread of the parent could have held
/// it at the fork); a spawned or forkserver worker, a fresh single-threaded process,
/// installs it at start.
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_TASK.with(Cell::get) {
                return previous(info);
            }
            let backtrace = std::backtrace::Backtrace::force_capture();
            let text = format!(
                "{info}\n\nworker {} (pid {}) backtrace:\n{backtrace}",
                skein_process::current_process().name(),
                skein_process::getpid()
            );
            LAST_PANIC.with(|l| *l.borrow_mut() = Some(text));
        }));
    });
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    let message = crate::error::panic_message(&*payload);
    match LAST_PANIC.with(|l| l.borrow_mut().take()) {
        // The hook's text starts with "panicked at file:line:col:\nmessage".
        Some(full) => format!("{message}\n{full}"),
        None => message,
    }
}

/// Runs one call; returns the item kind and fills `out` with its bytes.
fn run_item(f: &FnRef, args: &[u8], out: &mut Vec<u8>) -> u8 {
    IN_TASK.with(|t| t.set(true));
    let r = panic::catch_unwind(AssertUnwindSafe(|| f.call(args, out)));
    IN_TASK.with(|t| t.set(false));
    match r {
        Ok(Ok(())) => wire::OK,
        Ok(Err(CallError::Decode(e))) => {
            *out = e.into_bytes();
            wire::BAD_ARGS
        }
        Ok(Err(CallError::Encode(e))) => {
            *out = e.into_bytes();
            wire::BAD_RESULT
        }
        Ok(Err(e)) => {
            *out = e.to_string().into_bytes();
            wire::FAILED
        }
        Err(payload) => {
            // A panic of a serde impl is a codec failure of its stage, not the task's.
            let stage = FnRef::last_stage();
            *out = panic_text(payload).into_bytes();
            match stage {
                CallStage::Decode => wire::BAD_ARGS_PANIC,
                CallStage::Encode => wire::BAD_RESULT_PANIC,
                _ => wire::PANICKED,
            }
        }
    }
}

/// The resident set size of this process in bytes (`VmRSS` of `/proc/self/status`).
pub(crate) fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The worker's body (a `Process` target).
pub(crate) fn worker_main(args: WorkerArgs) {
    install_hook();
    let mut out = Vec::new();
    if let Some((f, init_args)) = &args.initializer {
        let kind = match trust::fn_ref(f) {
            Ok(f) => run_item(&f, init_args, &mut out),
            Err(e) => {
                out = e.to_string().into_bytes();
                wire::FAILED
            }
        };
        if kind != wire::OK {
            let mut frame = vec![wire::INIT_FAILED];
            frame.extend_from_slice(&out);
            let _ = args.results.send_bytes(&frame);
            return;
        }
    }
    args.slot.set(0);
    let mut frame = Vec::new();
    let mut reply = Vec::new();
    let mut done: u64 = 0;
    loop {
        if done > 0 {
            // The next task of a stream of short ones is usually on its way: catch it
            // without going to sleep (see `spin`).
            super::spin::until(|| args.work.poll().unwrap_or(true));
        }
        if args.work.recv_bytes_into(&mut frame).is_err() {
            return; // the pool is gone
        }
        let mut r = Reader::new(&frame);
        if r.u8() != Some(wire::BATCH) {
            return; // STOP
        }
        while !r.is_empty() {
            let (Some(id), Some(f), Some(payload)) = (r.u64(), r.bytes(FN_REF_BYTES), r.field())
            else {
                return; // a torn frame: only our pool writes here, so it is gone
            };
            args.slot.set(id);
            let f: &[u8; FN_REF_BYTES] = f.try_into().expect("FN_REF_BYTES bytes");
            let f = trust::fn_ref(f);
            let mut p = Reader::new(payload);
            let count = p.u32().unwrap_or(0);
            wire::start_done(&mut reply, id, 0, count);
            for _ in 0..count {
                let kind = match (&f, p.field()) {
                    (Ok(f), Some(a)) => run_item(f, a, &mut out),
                    (Err(e), _) => {
                        out = e.to_string().into_bytes();
                        wire::FAILED
                    }
                    (_, None) => {
                        out = b"truncated arguments".to_vec();
                        wire::FAILED
                    }
                };
                wire::put_item(&mut reply, kind, &out);
            }
            done += 1;
            let rss = match args.max_rss {
                Some(_) => rss_bytes().unwrap_or(0),
                None => 0,
            };
            reply[9..17].copy_from_slice(&rss.to_le_bytes());
            if args.results.send_bytes(&reply).is_err() {
                return;
            }
            args.slot.set(0);
            // Recycling (billiard's max_memory_per_child, Python's maxtasksperchild):
            // leave after this task; the pool requeues what was sent ahead and starts a
            // replacement.
            if args.max_tasks.is_some_and(|m| done >= m) || args.max_rss.is_some_and(|m| rss > m) {
                return;
            }
        }
    }
}
