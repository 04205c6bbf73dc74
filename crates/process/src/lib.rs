//! # skein-process — Python's `multiprocessing` for Rust (chapter 5, part 1)
//!
//! The chapter teaches running work in **other processes**: `fork()` returns twice;
//! a `Process` runs a function in a child with its own memory (globals are not
//! shared); the parent controls it (`start`, `join`, `terminate`, exit codes); the
//! three *start methods* trade speed for safety; and processes talk through a
//! `Pipe`. This crate is all of that for Rust functions; part 2 (queues,
//! process-shared locks and shared memory) builds on its handle-passing mechanism.
//!
//! ```
//! use skein_process::{pipe, Connection, Process, StartMethod};
//!
//! fn square(conn: Connection) {
//!     let n: u64 = conn.recv().unwrap();
//!     conn.send(&(n * n)).unwrap();
//! }
//!
//! let (here, there) = pipe(true).unwrap();
//! let child = Process::new(square, there).start_method(StartMethod::Fork).start().unwrap();
//! here.send(&12u64).unwrap();
//! assert_eq!(here.recv::<u64>().unwrap(), 144);
//! assert_eq!(child.join().unwrap(), 0);
//! ```
//!
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|
//! | `os.fork()` | [`fork()`] → [`Fork::Parent`]`{ child }` / [`Fork::Child`] (`unsafe`: see its contract) |
//! | `os.getpid()`, `os.getppid()` | [`getpid()`], [`getppid()`] |
//! | `Process(target=f, args=(a, b))` | [`Process::new`]`(f, (a, b))` (`f` a plain `fn`, args serde) |
//! | `Process(target=lambda: …)` (fork only) | [`Process::from_closure`]`(move \|\| …)` |
//! | `Process(name="w", daemon=True)` | [`.name("w")`](Process::name), [`.daemon(true)`](Process::daemon) |
//! | `class P(Process): def run(self)` | `impl` [`Run`] `for P { fn run(self) }`, [`Process::from_run`] |
//! | `p.start()` | [`p.start()`](Process::start) → [`ProcessHandle`] (error hands `p` back) |
//! | `p.join()`; `p.exitcode` | [`h.join()`](ProcessHandle::join) → exit code |
//! | `p.join(timeout)` | [`h.join_timeout(d)`](ProcessHandle::join_timeout), [`join_deadline`](ProcessHandle::join_deadline) → `Option<i32>` |
//! | `p.is_alive()` | [`h.is_alive()`](ProcessHandle::is_alive) |
//! | `p.pid`, `p.name`, `p.daemon` | [`h.pid()`](ProcessHandle::pid), [`h.name()`](ProcessHandle::name), [`h.is_daemon()`](ProcessHandle::is_daemon) |
//! | `p.exitcode` (`-N` if killed by signal N) | [`h.exitcode()`](ProcessHandle::exitcode) → `Option<i32>` (same convention; `1` after a panic) |
//! | `p.terminate()`, `p.kill()` | [`h.terminate()`](ProcessHandle::terminate), [`h.kill()`](ProcessHandle::kill) |
//! | `p.close()` | [`h.close()`](ProcessHandle::close) |
//! | `multiprocessing.current_process()` | [`current_process()`] |
//! | `multiprocessing.parent_process()` | [`parent_process()`] |
//! | `multiprocessing.active_children()` | [`active_children()`] |
//! | `multiprocessing.cpu_count()` | [`cpu_count()`] |
//! | `get_context("spawn")` | [`get_context`]`(`[`StartMethod::Spawn`]`)` → [`Context`] |
//! | `ctx.Process(...)` | [`ctx.process(f, args)`](Context::process), [`ctx.process_run(v)`](Context::process_run) |
//! | `set_start_method(m)`, `get_start_method()` | [`set_start_method`], [`get_start_method`] |
//! | `set_executable(path)` | [`Context::with_executable`] |
//! | `if __name__ == "__main__":` | [`init()`] first in `main`; [`test_support!`] in test crates |
//! | `Pipe()` / `Pipe(duplex=False)` | [`pipe`]`(true)` / [`pipe`]`(false)` → `(`[`Connection`]`, Connection)` |
//! | `conn.send(obj)`, `conn.recv()` | [`send(&v)`](Connection::send), [`recv::<T>()`](Connection::recv) |
//! | `conn.send_bytes(b)`, `conn.recv_bytes()` | [`send_bytes`](Connection::send_bytes), [`recv_bytes`](Connection::recv_bytes) |
//! | `conn.recv_bytes_into(buf)` | [`recv_bytes_into`](Connection::recv_bytes_into) |
//! | `conn.poll()`, `conn.poll(timeout)` | [`poll()`](Connection::poll), [`poll_timeout(d)`](Connection::poll_timeout) |
//! | (none: `recv` blocks forever) | [`recv_timeout`](Connection::recv_timeout), [`recv_deadline`](Connection::recv_deadline), [`try_recv`](Connection::try_recv) |
//! | `conn.close()`, `conn.fileno()` | [`close`](Connection::close) / drop, `as_raw_fd()` |
//! | `EOFError` | [`RecvError::Disconnected`] |
//! | `subprocess.run([...])` | `std::process::Command` (see the demo; not rewrapped) |
//!
//! ## Start methods
//!
//! See [`StartMethod`] for the table. In short:
//!
//! * **`Fork`** copies the parent. It is the fastest, and the only one that can run a
//!   closure; but the child holds only the thread that forked, so a lock another
//!   thread held stays locked in the child forever. Like CPython 3.12+, skein prints
//!   a warning when forking a process that runs other threads.
//! * **`Spawn`** execs this binary afresh for every child: nothing of the parent's
//!   state comes along, and it is the slowest. The target must be a plain `fn` with
//!   serde arguments (or a [`Run`] value), found in the new process by its offset
//!   from an anchor function in the same binary; the program calls [`init()`] first
//!   so that the new process runs the target instead of `main`.
//! * **`Forkserver`** (the default, CPython 3.14's choice) execs this binary *once*
//!   as a clean single-threaded server, which then forks a child per request: fork
//!   speed after the first start, without fork's hazards. Same target rules as
//!   `Spawn`. The server dies with its owner.
//!
//! Tests: `cargo test` binaries have no `main`; [`test_support!`] registers an ELF
//! constructor that calls [`init()`] before the test harness starts, so a re-executed
//! test binary runs the child's target and never reaches the harness (procspawn's
//! test support re-enters the harness, which is where it breaks, procspawn#36).
//!
//! ## Handles
//!
//! An IPC handle ([`Connection`], and part 2's kinds) given in a child's arguments
//! moves into the child under every start method: inherited with memory under `Fork`,
//! sent as `SCM_RIGHTS` over the bootstrap socket under `Spawn` and `Forkserver`. The
//! mechanism, and how to add a handle kind, is in [`HandleFd`]'s module docs
//! (`handle.rs`) and `DESIGN.md`.
//!
//! ## Guarantees
//!
//! * A child that panics prints `Process <name> (pid N):` and the panic, and exits
//!   with code 1; a child killed by signal N reports `-N`.
//! * Zombies are always reaped: by `join`/`is_alive`/`exitcode`, by
//!   [`active_children`], by the next start, at exit; forkserver children by the
//!   server as soon as they end.
//! * Daemon children die when their parent dies, even by `SIGKILL`
//!   (`PR_SET_PDEATHSIG`); the forkserver ends when its owner does (end-of-file on
//!   its control socket) and takes its daemon children with it.
//! * A failed start (`EAGAIN`, a missing executable, unserialisable arguments) is a
//!   [`StartError`] to the caller, with the `Process` handed back.
//! * Sockets are anonymous socket pairs: private to the two processes, with no name
//!   anyone could guess or connect to.
//! * Frames are length-prefixed with a per-connection maximum; a truncated, corrupt or
//!   oversized frame is a clear [`RecvError`], never an allocation of the claimed size.
//!
//! ## Differences from Python
//!
//! * Targets are `fn(A)` with `A: Serialize + DeserializeOwned` (several arguments as
//!   a tuple), not arbitrary callables; only `Fork` runs closures
//!   ([`Process::from_closure`]).
//! * `start` consumes the [`Process`] and returns a [`ProcessHandle`]; handles given
//!   as arguments *move* into the child (the parent's copy is closed), where Python
//!   leaves the parent's copy open.
//! * `join` returns the exit code. A panic is exit code 1 (Python's uncaught
//!   exception), printed with the process name.
//! * No `kwargs`: use a struct as the argument.
//! * `PR_SET_PDEATHSIG` is tied to the *thread* that created the child: a daemon
//!   child started by `Fork` or `Spawn` from a thread that exits early dies with that
//!   thread. Forkserver daemons are tied to the single-threaded server instead.
//! * Stdin of `Spawn`/`Forkserver` children is `/dev/null` (Python does the same).
//! * The line naming a panicking child comes from a panic hook that skein installs
//!   (once, wrapping the existing one) at the first `Fork` start or in a fresh child;
//!   a hook the program sets afterwards replaces it.

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
// part 2 (issue 7): the crate docs continue with shared memory, sync and queues
#![doc = include_str!("part2.md")]

mod boot;
mod child;
mod context;
mod current;
mod error;
mod fork;
mod forkserver;
mod handle;
mod init;
mod pipe;
mod process;
mod registry;
mod spawn;
mod sys;

// ==== part 2 (issue 7): shared memory, process-shared synchronisation, queues ====
pub mod queue;
mod shared;
pub mod shm;
pub mod sync;

pub use crate::queue::{
    CodecError, GetError, GetTimeoutError, JoinableQueue, PutError, PutTimeoutError, Queue,
    SimpleQueue, TaskDoneError, TryGetError, TryPutError,
};
pub use crate::shm::{
    Array, ArrayGuard, IndexError, Plain, RawArray, RawValue, SharedMemory, ShmError, Value,
    ValueGuard,
};
pub use crate::sync::{
    Barrier, BarrierBuilder, BoundedSemaphore, BrokenBarrierError, Condition, ConditionError,
    Event, Lock, LockGuard, OwnerDied, RLock, RLockGuard, ReleaseError, Semaphore,
};
// ==== end of part 2 ====

pub use crate::context::{
    Context, ParseStartMethodError, StartMethod, get_context, get_start_method, set_start_method,
};
pub use crate::current::{
    CurrentProcess, ParentProcess, cpu_count, current_process, getpid, getppid, parent_process,
};
pub use crate::error::{ProcessError, RecvError, RecvTimeoutError, SendError, StartError};
pub use crate::fork::{Fork, fork};
pub use crate::handle::{HandleFd, deserialize_fd, serialize_fd};
pub use crate::init::init;
pub use crate::pipe::{Connection, DEFAULT_MAX_FRAME, READ_CHUNK, pipe};
pub use crate::process::{Process, ProcessHandle, Run};
pub use crate::registry::active_children;

#[cfg(test)]
crate::test_support!();
