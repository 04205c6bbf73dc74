//! The workload of `process/queue_100k_small`, shared by the criterion group
//! (`benches/process.rs`) and the interleaved A/B runner (`examples/queue_small_ab.rs`)
//! so the two time the same thing: a forked child sends [`MESSAGES`] `u64`s (0, 1, 2, …)
//! to its parent, which receives them all and checks their count and sum. The clock
//! runs from just before the fork to just after the child is reaped, for every
//! contender alike; whatever a contender builds before the fork (skein's `Queue`, the
//! socketpair, ipc-channel's channel, iceoryx2's service and subscriber) is outside it.
//!
//! iceoryx2's publisher lives in the child, which has to open the service and create it
//! there (an iceoryx2 port belongs to the node of the process that made it): the child
//! times that set-up, and the closing of its ports, with its own clock and the parent
//! subtracts both, so iceoryx2 is charged for the same span as the others — fork, the
//! messages, exit and reap — and not for connecting (`Queue::new` is untimed too).
//!
//! Included with `#[path]` by both harnesses: iceoryx2, ipc-channel and crossbeam are
//! dev-dependencies, which the package's library cannot use.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use skein_benches::raw::{fork, read_frames, socketpair, wait_status, write_whole};
use skein_process::Queue;

/// Messages per run.
pub(crate) const MESSAGES: u64 = 100_000;

/// The subscriber's buffer (samples in flight) of the iceoryx2 service: 16 Ki samples,
/// what skein's default 256 KiB ring holds of these messages (16-byte records).
pub(crate) const IOX_BUFFER: usize = 16 * 1024;

/// How long a parent waits for a message before it calls the child lost.
const STALL: Duration = Duration::from_secs(30);

/// How the iceoryx2 subscriber waits for samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// iceoryx2's blocking pattern: the publisher notifies an event service after each
    /// `send` (iceoryx2 makes a notification a syscall only when the listener has not
    /// yet collected the previous one) and the subscriber, once it finds no sample,
    /// sleeps in `Listener::timed_wait`.
    Blocking,
    /// The subscriber spins on `receive` (no event service, no syscall).
    BusyPoll,
}

fn expected_sum() -> u64 {
    MESSAGES * (MESSAGES - 1) / 2
}

/// skein's cross-process `Queue` (`put` → `get`).
pub(crate) fn skein() -> Duration {
    let q = Queue::<u64>::new().unwrap();
    let t = Instant::now();
    let tx = q.clone();
    let child = fork(move || {
        for i in 0..MESSAGES {
            tx.put(i).unwrap();
        }
    });
    let mut sum = 0;
    for _ in 0..MESSAGES {
        sum += q.get().unwrap();
    }
    finish(child, t, sum, Duration::ZERO)
}

/// A raw socketpair, one 8-byte `write` per message; the parent reads 64 KiB at a time.
pub(crate) fn raw_socketpair() -> Duration {
    let (rx, tx) = socketpair();
    let t = Instant::now();
    let child = fork(|| {
        for i in 0..MESSAGES {
            write_whole(&tx, &i.to_le_bytes());
        }
    });
    drop(tx);
    let mut sum = 0u64;
    read_frames(&rx, 8, MESSAGES, |m| {
        sum += u64::from_le_bytes(m.try_into().unwrap());
    });
    finish(child, t, sum, Duration::ZERO)
}

/// ipc-channel (`IpcSender::send` → `IpcReceiver::recv`).
pub(crate) fn ipc_channel() -> Duration {
    let (tx, rx) = ipc_channel::ipc::channel::<u64>().unwrap();
    let t = Instant::now();
    let child = fork(move || {
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0;
    for _ in 0..MESSAGES {
        sum += rx.recv().unwrap();
    }
    finish(child, t, sum, Duration::ZERO)
}

/// The in-process limit: crossbeam-channel between two threads (a thread instead of a
/// child process: spawn and join are timed), bounded like skein's ring (16 Ki messages).
pub(crate) fn crossbeam_in_process() -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(IOX_BUFFER);
    let t = Instant::now();
    let producer = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
    });
    let mut sum = 0;
    for _ in 0..MESSAGES {
        sum += rx.recv().unwrap();
    }
    producer.join().unwrap();
    let elapsed = t.elapsed();
    assert_eq!(sum, expected_sum());
    elapsed
}

/// A service name no other run (of this or another process) uses.
fn unique_service_name() -> ServiceName {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "skein-bench/queue_100k_small/{}/{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    ServiceName::new(&name).unwrap()
}

fn iox_node() -> Node<ipc::Service> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| set_log_level(LogLevel::Error));
    NodeBuilder::new()
        // No SIGINT/SIGTERM handlers installed in the bench process.
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .unwrap()
}

/// The publish-subscribe service of one run, lossless (no safe overflow: a publisher
/// facing a full subscriber buffer retries until delivered, as a bounded queue's `put`
/// waits for room).
fn iox_pubsub(
    node: &Node<ipc::Service>,
    name: &ServiceName,
    create: bool,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, u64, ()> {
    let builder = node
        .service_builder(name)
        .publish_subscribe::<u64>()
        .max_publishers(1)
        .max_subscribers(1)
        .history_size(0)
        .subscriber_max_buffer_size(IOX_BUFFER)
        .enable_safe_overflow(false);
    if create {
        builder.create().unwrap()
    } else {
        builder.open().unwrap()
    }
}

/// iceoryx2 publish-subscribe (`Publisher::send_copy` → `Subscriber::receive`), the
/// subscriber waiting as `wake` says.
pub(crate) fn iceoryx2(wake: Wake) -> Duration {
    let name = unique_service_name();
    let node = iox_node();
    let pubsub = iox_pubsub(&node, &name, true);
    let events = (wake == Wake::Blocking).then(|| {
        node.service_builder(&name)
            .event()
            .max_notifiers(1)
            .max_listeners(1)
            .create()
            .unwrap()
    });
    let subscriber = pubsub.subscriber_builder().create().unwrap();
    let listener = events
        .as_ref()
        .map(|e| e.listener_builder().create().unwrap());
    let own_time = OwnTime::new();
    let t = Instant::now();
    let child = fork(|| {
        let set_up = Instant::now();
        let node = iox_node();
        let pubsub = iox_pubsub(&node, &name, false);
        let publisher = pubsub
            .publisher_builder()
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .unwrap();
        let notifier = (wake == Wake::Blocking).then(|| {
            let events = node.service_builder(&name).event().open().unwrap();
            events.notifier_builder().create().unwrap()
        });
        own_time.set(READY);
        own_time.wait_for(GO, set_up);
        own_time.add(set_up.elapsed());
        for i in 0..MESSAGES {
            assert_eq!(publisher.send_copy(i).unwrap(), 1, "the subscriber is gone");
            if let Some(n) = &notifier {
                n.notify().unwrap();
            }
        }
        let close = Instant::now();
        drop((notifier, publisher, pubsub, node));
        own_time.add(close.elapsed());
    });
    // A handshake, part of the child's untimed set-up: the subscriber connects once the
    // child's publisher exists (had it looked for publishers while the child was
    // creating one, the two could race to create their connection, and iceoryx2's
    // publisher gives up on a subscriber it fails to connect to), and the child sends
    // only once it is connected (iceoryx2 drops a sample for a subscriber that has not
    // connected yet when its buffer is full, even without safe overflow).
    own_time.wait_for(READY, t);
    subscriber.update_connections().unwrap();
    own_time.set(GO);
    let (mut sum, mut got, mut polls) = (0u64, 0u64, 0u64);
    while got < MESSAGES {
        while let Some(sample) = subscriber.receive().unwrap() {
            sum += *sample;
            got += 1;
        }
        if got == MESSAGES {
            break;
        }
        match &listener {
            Some(l) => {
                // Generous: only a dead child leaves it waiting this long.
                let waited = Instant::now();
                l.timed_wait(|_| (), STALL).unwrap();
                assert!(
                    waited.elapsed() < STALL,
                    "no sample from the iceoryx2 child"
                );
            }
            None => {
                polls += 1;
                if polls % (1 << 20) == 0 {
                    assert!(t.elapsed() < STALL, "no sample from the iceoryx2 child");
                }
                std::hint::spin_loop();
            }
        }
    }
    let elapsed = finish(child, t, sum, own_time.get());
    drop((listener, subscriber, events, pubsub, node));
    elapsed
}

/// The child's port set-up is done.
const READY: usize = 1;
/// The parent's subscriber is connected: the child may send.
const GO: usize = 2;

/// Words in a shared anonymous mapping: the child's own timing (word 0), read by the
/// parent, and the handshake flags [`READY`] and [`GO`].
struct OwnTime(*const AtomicU64);

impl OwnTime {
    fn new() -> OwnTime {
        // SAFETY: a fresh anonymous shared page, unmapped on drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap failed");
        OwnTime(p.cast())
    }

    fn word(&self) -> &AtomicU64 {
        // SAFETY: the page is mapped (zeroed) for as long as `self` lives, and is
        // aligned for an AtomicU64.
        unsafe { &*self.0 }
    }

    fn add(&self, d: Duration) {
        self.word().fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
    }

    fn get(&self) -> Duration {
        Duration::from_nanos(self.word().load(Ordering::SeqCst))
    }

    fn flag(&self, which: usize) -> &AtomicU64 {
        // SAFETY: as `word`: words 1 and 2 of the same page.
        unsafe { &*self.0.add(which) }
    }

    fn set(&self, which: usize) {
        self.flag(which).store(1, Ordering::SeqCst);
    }

    /// Waits (polling) for `set(which)`, at most [`STALL`] after `since`.
    fn wait_for(&self, which: usize, since: Instant) {
        while self.flag(which).load(Ordering::SeqCst) == 0 {
            assert!(since.elapsed() < STALL, "the iceoryx2 handshake stalled");
            std::thread::yield_now();
        }
    }
}

impl Drop for OwnTime {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; no reference outlives `self`.
        unsafe { libc::munmap(self.0 as *mut libc::c_void, 4096) };
    }
}

/// Reaps `child`, stops the clock started at `started` (less `untimed`, what the child
/// timed of itself as set-up) and checks the sum.
fn finish(child: libc::pid_t, started: Instant, sum: u64, untimed: Duration) -> Duration {
    let status = wait_status(child);
    let elapsed = started.elapsed();
    assert_eq!(status, 0, "child failed");
    assert_eq!(sum, expected_sum(), "messages lost or corrupted");
    elapsed - untimed
}
