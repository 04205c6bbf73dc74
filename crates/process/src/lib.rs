//! # skein-process — Python's `multiprocessing` for Rust (chapter 5)
//!
//! The chapter teaches running work in **other processes**: `fork()` returns twice;
//! a `Process` runs a function in a child with its own memory (globals are not
//! shared); the parent controls it (`start`, `join`, `terminate`, exit codes); the
//! three *start methods* trade speed for safety; and processes talk through a
//! `Pipe`. Then, since processes share nothing by default, the ways they *do* share:
//! cross-process **queues** (`Queue`, `JoinableQueue`, `SimpleQueue`),
//! **process-shared locks** (`Lock`, `RLock`, `Semaphore`, `Event`, `Condition`,
//! `Barrier`) and **shared memory** (`Value`, `Array`, `SharedMemory`); a **`Manager`**
//! server process holding a shared dict, list, `Value`, `Namespace` or `Queue` that
//! any process with its address and authkey can reach; and
//! **`multiprocessing.connection`** (`Listener`, `Client`, `wait`). This crate is
//! all of that for Rust functions, built so that none of CPython's known failure
//! modes (leaked segments, hangs on a dead peer, late serialisation errors) exist.
//!
//! The tour: start a process and talk to it over a `Pipe`,
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
//! then share data. Processes share nothing by default (the notes' globals demo). To
//! share, put the data in **shared memory** (`Value`, `Array`, `SharedMemory`), guard
//! it with **process-shared locks** (`Lock`, `RLock`, `Semaphore`, `Event`,
//! `Condition`, `Barrier`), or send it through a **cross-process queue** (`Queue`,
//! `JoinableQueue`, `SimpleQueue`). Every one of these is a handle: clone it, and give
//! the clone to a child as (part of) its argument — it reaches the child under all
//! three start methods.
//!
//! ```
//! use skein_process::{Array, Process, Queue};
//!
//! let li = Array::<i32>::new(10)?;          // Array('i', 10)
//! let q = Queue::bounded(3)?;               // Queue(3)
//! let (li2, q2) = (li.clone(), q.clone());
//! let child = Process::from_closure(move || {
//!     li2.set(4, 4).unwrap();
//!     q2.put("done".to_string()).unwrap();
//! })
//! .start()?;
//! assert_eq!(q.get()?, "done");
//! child.join()?;
//! assert_eq!(li.get(4), Some(4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The sections after the table explain the start methods, how handles reach a child,
//! and what is guaranteed beyond Python.
//!
//! ## Python → skein
//!
//! | Python | skein |
//! |---|---|
//! | **Processes** | |
//! | `os.fork()` | [`fork()`] → [`Fork::Parent`]`{ child }` / [`Fork::Child`] (`unsafe`: see its contract) |
//! | `os.fork()`'s `DeprecationWarning` in a multi-threaded process (3.12) | printed once on stderr by a fork of a process that runs other threads; none inside [`with_parked_threads`] while the others are parked |
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
//! | `p.terminate()`, `p.kill()`, `p.interrupt()` (3.14) | [`h.terminate()`](ProcessHandle::terminate), [`h.kill()`](ProcessHandle::kill), [`h.interrupt()`](ProcessHandle::interrupt) |
//! | `p.close()` | [`h.close()`](ProcessHandle::close) |
//! | `multiprocessing.current_process()` | [`current_process()`] |
//! | `multiprocessing.parent_process()`; its `is_alive()`, `join(t)` | [`parent_process()`] → [`ParentProcess`]: [`is_alive`](ParentProcess::is_alive), [`join_timeout`](ParentProcess::join_timeout) |
//! | `multiprocessing.active_children()` | [`active_children()`] |
//! | `multiprocessing.cpu_count()` | [`cpu_count()`] |
//! | `get_context("spawn")` | [`get_context`]`(`[`StartMethod::Spawn`]`)` → [`Context`] |
//! | `ctx.Process(...)` | [`ctx.process(f, args)`](Context::process), [`ctx.process_run(v)`](Context::process_run) |
//! | `set_start_method(m)`, `get_start_method()` | [`set_start_method`], [`get_start_method`] |
//! | `set_executable(path)` | [`Context::with_executable`] |
//! | `if __name__ == "__main__":` | [`init()`] first in `main`; [`test_support!`] in test crates |
//! | **Pipes** | |
//! | `Pipe()` / `Pipe(duplex=False)` | [`pipe`]`(true)` / [`pipe`]`(false)` → `(`[`Connection`]`, Connection)` |
//! | `conn.send(obj)`, `conn.recv()` | [`send(&v)`](Connection::send), [`recv::<T>()`](Connection::recv) |
//! | `conn.send_bytes(b)`, `conn.recv_bytes()` | [`send_bytes`](Connection::send_bytes), [`recv_bytes`](Connection::recv_bytes) |
//! | `conn.recv_bytes_into(buf)` | [`recv_bytes_into`](Connection::recv_bytes_into) |
//! | `conn.poll()`, `conn.poll(timeout)` | [`poll()`](Connection::poll), [`poll_timeout(d)`](Connection::poll_timeout) |
//! | (none: `recv` blocks forever) | [`recv_timeout`](Connection::recv_timeout), [`recv_deadline`](Connection::recv_deadline), [`try_recv`](Connection::try_recv) |
//! | `conn.close()`, `conn.fileno()` | [`close`](Connection::close) / drop, `as_raw_fd()` |
//! | `EOFError` | [`RecvError::Disconnected`] |
//! | `subprocess.run([...])` | `std::process::Command` (see the demo; not rewrapped) |
//! | **Shared memory** | |
//! | `Value('i', 0)`; `v.value`; `v.value = x` | [`Value::new`]`(0i32)`; [`v.get()`](Value::get); [`v.set(x)`](Value::set) |
//! | `with v.get_lock(): v.value += 1` | `*v.`[`lock()`](Value::lock)`?+= 1` (a guard) |
//! | `Value('i', 0, lock=lock)`, `Array('i', 10, lock=lock)` (a lock shared by several) | [`Value::with_lock`], [`Array::with_lock`], [`Array::from_slice_with_lock`]; [`get_lock()`](Value::get_lock) |
//! | `v.get_obj()` | [`Value::get_obj`] |
//! | `Value('i', 0, lock=False)`, `RawValue` | [`RawValue`] |
//! | `Array('i', 10)`, `Array('i', [1, 2])` | [`Array::<i32>::new(10)`](Array::new), [`Array::from_slice`] |
//! | `arr[i]`, `arr[i] = x`, `arr[:]`, `len(arr)` | [`get(i)`](Array::get), [`set(i, x)`](Array::set), [`to_vec()`](Array::to_vec), [`len()`](Array::len) |
//! | `with arr.get_lock():` | [`arr.lock()`](Array::lock) → `&mut [T]` guard |
//! | `Array('i', 10, lock=False)`, `RawArray` | [`RawArray`] |
//! | ctypes type codes `'i'`, `'d'`, … | `i32`, `f64`, … — any [`Plain`] type |
//! | `shared_memory.SharedMemory(create=True, size=n)` | [`SharedMemory::create(n)`](SharedMemory::create) |
//! | `SharedMemory(name)` | [`SharedMemory::attach(name)`](SharedMemory::attach) |
//! | `shm.name`, `shm.size`, `shm.buf` | [`name()`](SharedMemory::name), [`size()`](SharedMemory::size), [`read`](SharedMemory::read)/[`write`](SharedMemory::write)/[`as_slice`](SharedMemory::as_slice) |
//! | `shm.close()`, `shm.unlink()` | drop the handle (the last one unlinks) |
//! | **Process-shared synchronisation** | |
//! | `Lock()`, `RLock()` | [`Lock::new`], [`RLock::new`] |
//! | `lock.acquire()`, `acquire(False)`, `acquire(timeout=t)` | [`acquire`](Lock::acquire), [`try_acquire`](Lock::try_acquire), [`acquire_timeout`](Lock::acquire_timeout) / [`acquire_deadline`](Lock::acquire_deadline) |
//! | `lock.release()`, `with lock:` | [`release`](Lock::release), [`lock()`](Lock::lock) (guard) |
//! | (hangs forever when the holder died) | `Err(`[`OwnerDied`]`)`: acquired, previous owner dead |
//! | `Semaphore(n)`, `BoundedSemaphore(n)` | [`Semaphore::new`], [`BoundedSemaphore::new`] |
//! | `sem.acquire(…)`, `sem.release()`, `sem.get_value()` | [`acquire`](Semaphore::acquire) / [`try_acquire`](Semaphore::try_acquire) / [`acquire_timeout`](Semaphore::acquire_timeout), [`release`](Semaphore::release), [`value`](Semaphore::value) |
//! | `Event()`: `set`, `clear`, `is_set`, `wait(timeout)` | [`Event`]: [`set`](Event::set), [`clear`](Event::clear), [`is_set`](Event::is_set), [`wait`](Event::wait) / [`wait_timeout`](Event::wait_timeout) / [`wait_deadline`](Event::wait_deadline) |
//! | `Condition(lock)`: `wait`, `wait_for`, `notify(n)`, `notify_all` | [`Condition::new`] / [`Condition::with_lock`]: [`wait`](Condition::wait), [`wait_for`](Condition::wait_for), [`notify`](Condition::notify), [`notify_all`](Condition::notify_all) (+ `_timeout`) |
//! | `Barrier(n)`: `wait(timeout)`, `abort`, `reset`, `parties`, `n_waiting`, `broken` | [`Barrier::new`]: [`wait`](Barrier::wait) / [`wait_timeout`](Barrier::wait_timeout) / [`wait_deadline`](Barrier::wait_deadline), [`abort`](Barrier::abort), [`reset`](Barrier::reset), [`parties`](Barrier::parties), [`n_waiting`](Barrier::n_waiting), [`is_broken`](Barrier::is_broken) (alias [`broken`](Barrier::broken)) |
//! | `Barrier(n, action=f, timeout=t)` | [`Barrier::builder`]`(n)`[`.action(f)`](BarrierBuilder::action)[`.timeout(t)`](BarrierBuilder::timeout)[`.build()`](BarrierBuilder::build); in a spawned child [`set_action`](Barrier::set_action) |
//! | (hangs when a party dies before arriving) | [`b.enroll()`](Barrier::enroll) → [`Enrollment`]: its death breaks the barrier |
//! | `BrokenBarrierError` | [`BrokenBarrierError`] |
//! | **Queues** | |
//! | `Queue()`, `Queue(maxsize)` | [`Queue::new`], [`Queue::bounded`] |
//! | `q.put(x)`, `put(x, timeout=t)`, `put_nowait(x)` | [`put`](Queue::put), [`put_timeout`](Queue::put_timeout) / [`put_deadline`](Queue::put_deadline), [`try_put`](Queue::try_put) |
//! | `q.get()`, `get(timeout=t)`, `get_nowait()` | [`get`](Queue::get), [`get_timeout`](Queue::get_timeout) / [`get_deadline`](Queue::get_deadline), [`try_get`](Queue::try_get) |
//! | `q.qsize()`, `q.empty()`, `q.full()` | [`qsize`](Queue::qsize), [`is_empty`](Queue::is_empty), [`is_full`](Queue::is_full) |
//! | `queue.Full`, `queue.Empty` | [`TryPutError::Full`] / [`PutTimeoutError::Timeout`], [`TryGetError::Empty`] / [`GetTimeoutError::Timeout`] |
//! | (none in multiprocessing) `shutdown(immediate)` | [`shutdown(immediate)`](Queue::shutdown); `ShutDown` errors |
//! | `q.close()`, `q.join_thread()`, `cancel_join_thread()` | drop the handle (there is no feeder thread) |
//! | `JoinableQueue()`: `task_done`, `join` | [`JoinableQueue`]: [`task_done`](JoinableQueue::task_done), [`join`](JoinableQueue::join), [`join_timeout`](JoinableQueue::join_timeout) |
//! | (`join()` hangs forever when a consumer died holding a task) | [`LostTasks`] from `join`: how many tasks, which pid; or [`OnLostTasks::CountDone`] via [`on_lost_tasks`](JoinableQueue::on_lost_tasks) |
//! | `SimpleQueue()`: `put`, `get`, `empty` | [`SimpleQueue`]: [`put`](SimpleQueue::put), [`get`](SimpleQueue::get), [`is_empty`](SimpleQueue::is_empty) |
//! | **Connections between processes** (`multiprocessing.connection`) | |
//! | `Listener(address, authkey=k)` | [`Listener::bind`]`(&addr, k)` ([`Address::Unix`] path or [`Address::Tcp`]; [`Address::loopback`] picks a port) |
//! | `listener.accept()`, `listener.address`, `close()` | [`accept`](Listener::accept) / [`accept_timeout`](Listener::accept_timeout) / [`accept_deadline`](Listener::accept_deadline), [`address`](Listener::address), drop |
//! | `Client(address, authkey=k)` | [`client`]`(&addr, k)`, [`client_timeout`] → [`Connection`] |
//! | `AuthenticationError` (HMAC-MD5 before 3.12) | [`AuthenticationError`] (mutual HMAC-SHA256, no downgrade), in [`ConnectError::Auth`] |
//! | `wait(object_list, timeout)` | [`wait`]`(&[&a, &b], timeout)` → indices of the ready ones, [`wait_deadline`]; any [`Waitable`] |
//! | `p.sentinel` | [`h.sentinel()`](ProcessHandle::sentinel) → [`Sentinel`] (a pidfd) |
//! | **Managers** | |
//! | `Manager()`, `get_context(m).Manager()` | [`Manager::start`], [`Manager::builder`]`()`[`.start_method(m)`](ManagerBuilder::start_method)[`.start()`](ManagerBuilder::start) |
//! | `BaseManager(address, authkey)` | [`ManagerBuilder::address`], [`ManagerBuilder::authkey`]; [`m.address()`](ManagerClient::address), [`m.authkey()`](ManagerClient::authkey) |
//! | `BaseManager(address, authkey).connect()` | [`ManagerClient::connect`]`(&addr, key)` |
//! | `register('get_queue', …)` for other processes | named objects: [`dict_named`](ManagerClient::dict_named), [`queue_named`](ManagerClient::queue_named), [`list_named`](ManagerClient::list_named), [`value_named`](ManagerClient::value_named), [`namespace_named`](ManagerClient::namespace_named), [`lock_named`](ManagerClient::lock_named), [`event_named`](ManagerClient::event_named) |
//! | `m.dict()`: `d[k]`, `d[k] = v`, `d.pop(k)`, `k in d`, `len`, `keys`, `values`, `items`, `clear` | [`m.dict::<K, V>()`](ManagerClient::dict) → [`DictProxy`]: [`get`](DictProxy::get), [`set`](DictProxy::set), [`remove`](DictProxy::remove), [`contains_key`](DictProxy::contains_key), [`len`](DictProxy::len), [`keys`](DictProxy::keys), [`values`](DictProxy::values), [`items`](DictProxy::items), [`clear`](DictProxy::clear) |
//! | `with lock: d[k] = d.get(k, 0) + 1` | [`d.update(&k, \|v\| …)`](DictProxy::update) (atomic, no lock) |
//! | `d.get(k, default)`, `d.setdefault(k, v)`, `d.popitem()` (LIFO), `d.update(other)`, `d.copy()` | [`get_or`](DictProxy::get_or), [`setdefault`](DictProxy::setdefault), [`popitem`](DictProxy::popitem) (empty: [`ManagerError::Empty`]), [`update_from(pairs)`](DictProxy::update_from) (one request; `update` is the atomic one-key read-modify-write above), [`copy`](DictProxy::copy) → a local `HashMap`; keys, values and items come in insertion order |
//! | `m.list()`: `append`, `extend`, `l[i]`, `l[i] = v`, `insert`, `pop`, `l[:]` | [`m.list::<T>()`](ManagerClient::list) → [`ListProxy`]: [`push`](ListProxy::push), [`extend`](ListProxy::extend), [`get`](ListProxy::get), [`set`](ListProxy::set), [`insert`](ListProxy::insert), [`pop`](ListProxy::pop) / [`pop_at`](ListProxy::pop_at), [`to_vec`](ListProxy::to_vec) |
//! | `len(l)`, `l.count(v)`, `l.index(v[, a, b])`, `l.remove(v)`, `l.reverse()`, `l.sort()`, `l[a:b]`, `l[a:b] = vs`, `del l[a:b]`, `l.clear()` | [`len`](ListProxy::len), [`count`](ListProxy::count), [`index`](ListProxy::index) / [`index_in(v, a..b)`](ListProxy::index_in) (missing: [`ManagerError::NotInList`], Python's `ValueError`), [`remove`](ListProxy::remove), [`reverse`](ListProxy::reverse), [`sort`](ListProxy::sort) / [`sort_by`](ListProxy::sort_by), [`get_range(a..b)`](ListProxy::get_range), [`set_range`](ListProxy::set_range), [`delete_range`](ListProxy::delete_range), [`clear`](ListProxy::clear) |
//! | `m.Value(t, x)`: `v.value`, `v.value = x` | [`m.value(x)`](ManagerClient::value) → [`ValueProxy`]: [`get`](ValueProxy::get), [`set`](ValueProxy::set), [`update`](ValueProxy::update) |
//! | `m.Namespace()`: `ns.x`, `ns.x = v`, `del ns.x` | [`m.namespace()`](ManagerClient::namespace) → [`NamespaceProxy`]: [`get::<T>("x")`](NamespaceProxy::get), [`set("x", &v)`](NamespaceProxy::set), [`remove`](NamespaceProxy::remove), [`update`](NamespaceProxy::update) |
//! | `m.Queue()`, `m.Queue(n)`: `put`, `get`, `put_nowait`, `get_nowait`, `qsize`, `empty` | [`m.queue()`](ManagerClient::queue), [`queue_bounded(n)`](ManagerClient::queue_bounded) → [`QueueProxy`]: [`put`](QueueProxy::put) / [`put_timeout`](QueueProxy::put_timeout) / [`try_put`](QueueProxy::try_put), [`get`](QueueProxy::get) / [`get_timeout`](QueueProxy::get_timeout) / [`try_get`](QueueProxy::try_get), [`qsize`](QueueProxy::qsize), [`is_empty`](QueueProxy::is_empty); failed put: [`ProxyPutError`] with the value |
//! | `q.full()`, `q.maxsize`, `m.JoinableQueue()`: `task_done`, `join` | [`is_full`](QueueProxy::is_full), [`maxsize`](QueueProxy::maxsize), [`task_done`](QueueProxy::task_done) (one too many: [`ManagerError::TooManyTaskDone`]), [`join`](QueueProxy::join) — every manager queue counts tasks, as Python's (both are `queue.Queue`) |
//! | `m.Lock()`: `acquire`, `acquire(timeout=t)`, `acquire(False)`, `release`, `with lock:` | [`m.lock()`](ManagerClient::lock) → [`LockProxy`]: [`acquire`](LockProxy::acquire), [`acquire_timeout`](LockProxy::acquire_timeout), [`try_acquire`](LockProxy::try_acquire), [`release`](LockProxy::release), [`locked`](LockProxy::locked), [`lock`](LockProxy::lock) → [`LockProxyGuard`]; a holder that ended passes it on ([`ManagerError::OwnerDied`]) |
//! | `m.Event()`: `set`, `clear`, `is_set`, `wait`, `wait(t)` | [`m.event()`](ManagerClient::event) → [`EventProxy`]: [`set`](EventProxy::set), [`clear`](EventProxy::clear), [`is_set`](EventProxy::is_set), [`wait`](EventProxy::wait), [`wait_timeout`](EventProxy::wait_timeout) |
//! | (none: one call per round trip) | pipelined calls: `start_get`/`start_set`/`start_put`/… → [`Pending`]`::wait` |
//! | `m.shutdown()`, `with Manager() as m:` | [`m.shutdown()`](Manager::shutdown), drop |
//! | `BaseProxy` errors, `RemoteError` | [`ManagerError`] |
//! | **Process pools** | |
//! | `multiprocessing.Pool`, `concurrent.futures.ProcessPoolExecutor` | in skein-pool: `skein_pool::ProcessPool`, `skein_pool::ProcessPoolExecutor` (built on this crate) |
//! | a pool task's function, pickled by reference | [`FnRef::of`]`(f)` / [`FnRef::of2`] / [`FnRef::of_map`] / [`FnRef::of_map2`]: a plain `fn` any process of this binary can [`call`](FnRef::call) with postcard bytes; [`to_bytes`](FnRef::to_bytes) / `unsafe` [`from_bytes`](FnRef::from_bytes) ([`WrongExecutable`], [`CallError`], [`FN_REF_BYTES`]); which stage a panicking call reached (argument decoding, the function, value encoding): [`FnRef::last_stage`] ([`CallStage`]) |
//!
//! ## Start methods
//!
//! See [`StartMethod`] for the table. In short:
//!
//! * **`Fork`** copies the parent. It is the fastest, and the only one that can run a
//!   closure; but the child holds only the thread that forked, so a lock another
//!   thread held stays locked in the child forever. Like CPython 3.12+, skein prints
//!   a warning when forking a process that runs other threads (a fork made inside
//!   [`with_parked_threads`], whose caller vouches that the other threads are parked
//!   holding nothing, does not warn).
//! * **`Spawn`** execs this binary afresh for every child: nothing of the parent's
//!   state comes along, and it is the slowest. The target must be a plain `fn` with
//!   serde arguments (or a [`Run`] value), found in the new process by its offset
//!   from an anchor function in the same binary; the program calls [`init()`] first
//!   so that the new process runs the target instead of `main`.
//! * **`Forkserver`** (the default, CPython 3.14's choice) execs this binary *once*
//!   as a clean single-threaded server, which then forks the children: close to fork
//!   speed after the first start, without fork's hazards. The server forks a
//!   non-daemon child as the caller's own (`CLONE_PARENT`: it is reaped like a `Fork`
//!   child), and forks it *ahead of time* (two spares wait for their arguments), so
//!   a start writes one message and returns; a start+join costs about 1.2–1.4× a raw
//!   `fork`+`waitpid` on a 2-core VM (`spawn_join_ab`; 1.9–2.2× before spares and
//!   `CLONE_PARENT`). Same target rules as `Spawn`. The server, and unused spares,
//!   end with their owner. Like Python's, the server ignores `SIGINT` (Ctrl-C reaches
//!   the whole process group; an owner that handles it keeps its server), and its
//!   children get the owner's `SIGINT` disposition back; a killed server is replaced
//!   at the next start.
//!
//! Tests: `cargo test` binaries have no `main`; [`test_support!`] registers an ELF
//! constructor that calls [`init()`] before the test harness starts, so a re-executed
//! test binary runs the child's target and never reaches the harness (procspawn's
//! test support re-enters the harness, which is where it breaks, procspawn#36).
//!
//! ## Handles
//!
//! An IPC handle ([`Connection`], the queues, the locks, `Value`/`Array`) given in a
//! child's arguments moves into the child under every start method: inherited with
//! memory under `Fork`, sent as `SCM_RIGHTS` over the bootstrap socket under `Spawn`
//! and `Forkserver`. The
//! mechanism, and how to add a handle kind, is in [`HandleFd`]'s module docs
//! (`handle.rs`) and `DESIGN.md`.
//!
//! ## Guarantees
//!
//! * A child that panics prints `Process <name> (pid N):` and the panic, and exits
//!   with code 1; a child killed by signal N reports `-N`.
//! * A child waits, after its target returns or panics, for the non-daemon
//!   [`skein_threads`] threads the target left running, and abandons the daemon ones
//!   (Python's `Process._bootstrap` calls `threading._shutdown()`), under every start
//!   method; the exit code stays the target's. A `Fork` child's thread registry holds
//!   only the forking thread, its main thread (CPython's `threading._after_fork`), so
//!   it never waits for its parent's threads.
//! * Zombies are always reaped: by `join`/`is_alive`/`exitcode`, by
//!   [`active_children`], by the next start, at exit; a forkserver's daemon children
//!   (the server's own) by the server as soon as they end.
//! * Daemon children die when their parent dies, even by `SIGKILL`
//!   (`PR_SET_PDEATHSIG`); the forkserver ends when its owner does (end-of-file on
//!   its control socket) and takes its daemon children with it.
//! * A failed start (`EAGAIN`, a missing executable, unserialisable arguments) is a
//!   [`StartError`] to the caller, with the `Process` handed back.
//! * Sockets are anonymous socket pairs: private to the two processes, with no name
//!   anyone could guess or connect to.
//! * A `Spawn` or `Forkserver` child (and the forkserver itself) starts with stdin,
//!   stdout, stderr and the handles in its arguments only: a descriptor the parent left
//!   open without close-on-exec does not leak into it (Python's `close_fds`); a `Fork`
//!   child inherits every descriptor, as in Python.
//! * Frames are length-prefixed with a per-connection maximum; a truncated, corrupt or
//!   oversized frame is a clear [`RecvError`], never an allocation of the claimed size.
//! * **No shared-memory segment leaks.** `Value`, `Array`, the locks and the queues
//!   live in anonymous `memfd` segments the kernel frees with the last process using
//!   them, however it dies. Named [`SharedMemory`] segments are unlinked by the last
//!   handle, and after SIGKILL of every process by the creator's janitor — but **never
//!   while another process still maps them** (cpython#82300; the `shared_memory` crate
//!   has no crash cleanup, shared_memory#105, and unlinks under other users:
//!   `tests/shared_memory_crate.rs`). `tests/dev_shm.rs` checks that `/dev/shm` is
//!   unchanged after the heaviest scenarios, exited normally or killed.
//! * **Death is reported, not hung on.** A `Lock`/`RLock` whose owner died gives the
//!   next acquirer [`OwnerDied`]; a `Barrier` breaks when a waiting party dies
//!   (cpython#123899), and so does one that dies before arriving if it
//!   [enrolled](Barrier::enroll) (without enrollment such a party cannot be told from
//!   a slow one: see [`Barrier`]); a queue whose producer or consumer dies mid-operation keeps
//!   working for the others: a consumer killed before it took its item leaves it to
//!   the next one, a consumer killed in the middle of a chunked message loses that
//!   message only.
//! * **Queues lose nothing**: a failed put hands the value back; a value that cannot
//!   be serialised fails at `put` in the caller (cpython#109554); messages of any size
//!   stream through the ring; puts block when the queue is full (backpressure by
//!   default).
//! * Segments are private to the user (mode 0600) with 128-bit random names.
//! * **Authenticated connections.** [`Listener`]/[`client`] and the [`Manager`] check the
//!   authkey both ways (mutual HMAC-SHA256 over two random nonces, constant-time
//!   compare, one protocol version: nothing to downgrade to); a wrong key is refused on
//!   either side. A malformed, truncated or oversized frame ends that connection only.
//! * **A manager leaves nothing behind**: its server ends, removing its socket and
//!   directory, when the `Manager` is dropped and when its owner dies, even by
//!   `SIGKILL` (it watches a pidfd of its owner).
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
//! * Items of a queue are one type `T: Serialize + DeserializeOwned`, sent by value with
//!   postcard; `Value`/`Array` hold [`Plain`] types (numbers and arrays of them).
//! * Creating a shared object can fail (no memory, no descriptors): constructors return
//!   `Result`.
//! * `SharedMemory` has no `unlink()`: the name lives exactly as long as some process maps
//!   it, so nobody can unlink it under another user, and nobody can forget to.
//! * `Array`/`Value` locks are plain (not reentrant) locks; Python's default is an `RLock`.
//! * A `Barrier`'s `action` belongs to each process's handle (a closure cannot cross into a
//!   spawned child): a `Spawn`/`Forkserver` child gives its handle the action with
//!   [`Barrier::set_action`]; a last party without it breaks the barrier rather than skip
//!   the action. A party that dies *before* arriving is detected only if it
//!   [enrolled](Barrier::enroll) (otherwise use a timeout).
//! * Manager objects hold serde values (postcard bytes on the server). A read-modify-write
//!   is `update(|v| …)`, atomic by compare-and-swap (a manager [`LockProxy`] around two
//!   calls works too, at twice the round trips). A manager lock whose holder's process
//!   dies passes on with [`ManagerError::OwnerDied`] instead of staying locked forever.
//!   Manager `Condition`/`Semaphore`/`Barrier` proxies are not built. A queue `get` that
//!   waits does not hold up later calls on its connection. Objects live until the
//!   manager shuts down (Python frees one when its last proxy goes). Dict keys come back
//!   in no particular order.
//! * A manager proxy serialises only into a child's arguments (it carries the authkey;
//!   Python refuses to pickle an authkey too); elsewhere give out the address and key.
//! * `wait()` returns the indices of the ready objects, not the objects.
//! * A `Semaphore` has no owner, so the death of a process holding a unit cannot be
//!   detected (Python cannot either); locks and barriers can.
//! * The daemon flag defaults to `false`, also in a daemon child (Python inherits the
//!   current process's flag), and a daemon child may start children (Python refuses:
//!   "daemonic processes are not allowed to have children"); its non-daemon children
//!   outlive it if it is killed.
//! * An authkey must not be empty ([`ConnectError::EmptyKey`]); Python accepts `b""`
//!   since 3.10 (bpo-43952), which authenticates nothing. Unix socket addresses are
//!   paths: Linux's abstract names (`"\0name"`) are not supported.
//! * [`SharedMemory`] is not serde: give a child its [`name`](SharedMemory::name) and
//!   [`attach`](SharedMemory::attach) there (Python pickles it by name).

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

// The layers (see DESIGN.md): the handle layer (`process`, `context`, `current`, and
// the IPC objects `pipe`, `queue`, `shm`, `sync` on top of `shared` and `handle`) →
// the start layer (`start/`) → the system layer (`sys/`, the unsafe boundary).
pub mod connection;
mod context;
mod current;
mod error;
mod handle;
mod manager;
mod pipe;
mod process;
// unsafe boundary: `FnRef::from_bytes` is an `unsafe fn` (its caller vouches for the bytes' origin)
#[allow(unsafe_code)]
mod remote;
mod start;
#[allow(unsafe_code)]
mod sys;

pub mod queue;
// unsafe boundary: `shared::region` (typed, bounds-checked access to mapped memory) and
// the `atomic_header!` layouts; see DESIGN.md
#[allow(unsafe_code)]
mod shared;
pub mod shm;
pub mod sync;

pub use crate::queue::{
    CodecError, GetError, GetTimeoutError, JoinableQueue, LostTasks, OnLostTasks, PutError,
    PutTimeoutError, Queue, SimpleQueue, TaskDoneError, TryGetError, TryPutError,
};
pub use crate::shm::{
    Array, ArrayGuard, IndexError, Plain, RawArray, RawValue, SharedMemory, ShmError, Value,
    ValueGuard,
};
pub use crate::sync::{
    Barrier, BarrierBuilder, BoundedSemaphore, BrokenBarrierError, Condition, ConditionError,
    Enrollment, Event, Lock, LockGuard, OwnerDied, RLock, RLockGuard, ReleaseError, Semaphore,
};

pub use crate::connection::{
    Address, AuthenticationError, ConnectError, Listener, Sentinel, Waitable, client,
    client_timeout, wait, wait_deadline,
};
pub use crate::context::{Context, get_context, get_start_method, set_start_method};
pub use crate::current::{
    CurrentProcess, ParentProcess, cpu_count, current_process, getpid, getppid, parent_process,
};
pub use crate::error::{ProcessError, RecvError, RecvTimeoutError, SendError};
pub use crate::handle::{HandleFd, deserialize_fd, serialize_fd};
pub use crate::manager::{
    DEFAULT_MAX_REQUEST, DictProxy, EventProxy, ListProxy, LockProxy, LockProxyGuard, Manager,
    ManagerBuilder, ManagerClient, ManagerError, NamespaceProxy, Pending, ProxyPutError,
    QueueProxy, ValueProxy,
};
pub use crate::pipe::{Connection, DEFAULT_MAX_FRAME, READ_CHUNK, pipe};
pub use crate::process::{Process, ProcessHandle, Run, StartError, active_children};
pub use crate::remote::{CallError, CallStage, FN_REF_BYTES, FnRef, WrongExecutable};
pub use crate::start::fork::{Fork, fork, with_parked_threads};
pub use crate::start::init::init;
pub use crate::start::method::{ParseStartMethodError, StartMethod};

#[cfg(test)]
crate::test_support!();
