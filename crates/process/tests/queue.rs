//! Cross-process queues: order, capacity, timeouts, shutdown, task tracking, large
//! messages, many producers and consumers, and processes dying mid-operation.

mod common;

skein_process::test_support!();

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{METHODS, asleep, eventually, start};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use skein_process::{
    Event, GetTimeoutError, JoinableQueue, ProcessHandle, Queue, SimpleQueue, StartMethod,
    TryGetError, TryPutError,
};

fn produce_range((q, from, to): (Queue<u64>, u64, u64)) {
    for i in from..to {
        q.put(i).unwrap();
    }
}

#[test]
fn fifo_across_processes_under_every_start_method() {
    for method in METHODS {
        let q = Queue::bounded(16).unwrap();
        let k = start(method, produce_range, (q.clone(), 0, 2000));
        for i in 0..2000 {
            assert_eq!(q.get_timeout(Duration::from_secs(30)), Ok(i), "{method:?}");
        }
        assert_eq!(k.join().unwrap(), 0);
        assert!(q.is_empty());
        assert_eq!(q.try_get(), Err(TryGetError::Empty));
    }
}

#[test]
fn queue_of_three_is_full_then_times_out_then_refuses() {
    let q = Queue::bounded(3).unwrap();
    let k = start(StartMethod::Fork, produce_range, (q.clone(), 1, 4));
    assert_eq!(k.join().unwrap(), 0);
    assert!(q.is_full());
    assert_eq!(q.qsize(), 3);
    let t = Instant::now();
    let err = q.put_timeout(4, Duration::from_millis(50)).unwrap_err();
    assert!(err.is_timeout() && t.elapsed() >= Duration::from_millis(50));
    assert_eq!(err.into_inner(), 4);
    assert!(matches!(q.try_put(4), Err(TryPutError::Full(4))));
    assert_eq!(
        (q.get().unwrap(), q.get().unwrap(), q.get().unwrap()),
        (1, 2, 3)
    );
    assert_eq!(
        q.get_timeout(Duration::from_millis(20)),
        Err(GetTimeoutError::Timeout)
    );
}

struct Unencodable(u8);

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be serialised",
        ))
    }
}

impl<'de> serde::Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u8::deserialize(d).map(Unencodable)
    }
}

#[test]
fn a_value_that_cannot_be_serialised_fails_at_put_and_comes_back() {
    let q = Queue::<Unencodable>::new().unwrap();
    let err = q.put(Unencodable(9)).unwrap_err();
    assert!(err.to_string().contains("serialisation failed"), "{err}");
    assert_eq!(err.into_inner().0, 9);
    assert!(q.is_empty());
    assert!(matches!(
        q.try_put(Unencodable(1)),
        Err(TryPutError::Unencodable(..))
    ));
}

fn send_big((q, sizes): (Queue<Vec<u8>>, Vec<usize>)) {
    for (i, n) in sizes.into_iter().enumerate() {
        q.put((0..n).map(|j| (i + j) as u8).collect()).unwrap();
    }
}

#[test]
fn messages_larger_than_the_ring_stream_through_it() {
    let sizes = vec![10, 3000, 1 << 20, 5, 100_000, 4096, 0];
    for method in [StartMethod::Fork, StartMethod::Forkserver] {
        let q = Queue::with_capacity(0, 4096).unwrap();
        let k = start(method, send_big, (q.clone(), sizes.clone()));
        for (i, &n) in sizes.iter().enumerate() {
            let got = q.get_timeout(Duration::from_secs(30)).unwrap();
            assert_eq!(got.len(), n);
            assert!(got.iter().enumerate().all(|(j, &b)| b == (i + j) as u8));
        }
        assert_eq!(k.join().unwrap(), 0);
    }
}

fn consume_and_report((q, out): (Queue<u64>, Queue<u64>)) {
    while let Ok(v) = q.get() {
        out.put(v).unwrap();
    }
}

#[test]
fn many_producers_and_consumers_lose_and_duplicate_nothing() {
    const P: u64 = 3;
    const N: u64 = 3000;
    let q = Queue::bounded(64).unwrap();
    let out = Queue::new().unwrap();
    let producers: Vec<_> = (0..P)
        .map(|p| {
            start(
                StartMethod::Fork,
                produce_range,
                (q.clone(), p * N, (p + 1) * N),
            )
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            start(
                StartMethod::Fork,
                consume_and_report,
                (q.clone(), out.clone()),
            )
        })
        .collect();
    let mut seen = HashSet::new();
    for _ in 0..P * N {
        let v = out
            .get_timeout(Duration::from_secs(60))
            .expect("an item went missing");
        assert!(seen.insert(v), "duplicate {v}");
    }
    for p in producers {
        assert_eq!(p.join().unwrap(), 0);
    }
    q.shutdown(false); // consumers drain and leave
    for c in consumers {
        assert_eq!(c.join().unwrap(), 0);
    }
    assert_eq!(seen.len() as u64, P * N);
}

#[test]
fn killing_a_consumer_loses_at_most_its_item_in_flight() {
    const N: u64 = 4000;
    let q = Queue::bounded(32).unwrap();
    let out = Queue::new().unwrap();
    let producer = start(StartMethod::Fork, produce_range, (q.clone(), 0, N));
    let victim = start(
        StartMethod::Fork,
        consume_and_report,
        (q.clone(), out.clone()),
    );
    let survivor = start(
        StartMethod::Fork,
        consume_and_report,
        (q.clone(), out.clone()),
    );
    let mut seen = HashSet::new();
    while seen.len() < 200 {
        assert!(seen.insert(out.get_timeout(Duration::from_secs(60)).unwrap()));
    }
    victim.kill().unwrap();
    assert_eq!(victim.join().unwrap(), -9);
    assert_eq!(producer.join().unwrap(), 0);
    while let Ok(v) = out.get_timeout(Duration::from_millis(500)) {
        assert!(seen.insert(v), "duplicate {v}");
    }
    let missing = N - seen.len() as u64;
    assert!(missing <= 1, "{missing} items lost");
    q.shutdown(true);
    assert_eq!(survivor.join().unwrap(), 0);
}

fn stuck_big_put(q: Queue<Vec<u8>>) {
    let _ = q.put(vec![7u8; 1 << 20]); // blocks mid-message: nobody reads yet
}

#[test]
fn a_producer_killed_mid_message_does_not_wedge_the_queue() {
    let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    let k = start(StartMethod::Fork, stuck_big_put, q.clone());
    assert!(eventually(Duration::from_secs(30), || q.qsize() == 1));
    // Its place is reserved; once it sleeps, it has filled the ring and waits for room
    // in the middle of the message.
    assert!(
        eventually(Duration::from_secs(30), || asleep(k.pid())),
        "the producer never blocked mid-message"
    );
    k.kill().unwrap();
    k.join().unwrap();
    let reader = {
        let q = q.clone();
        std::thread::spawn(move || q.get_timeout(Duration::from_secs(30)))
    };
    q.put(b"after".to_vec()).unwrap();
    assert_eq!(reader.join().unwrap().unwrap(), b"after");
    assert!(q.is_empty());
}

/// Waits until the child `k`, which set `ready` just before a blocking `get`, sleeps in it.
fn wait_until_blocked(k: &ProcessHandle, ready: &Event) {
    ready.wait();
    assert!(
        eventually(Duration::from_secs(30), || asleep(k.pid())),
        "the child never blocked in get"
    );
}

fn blocked_get((q, ready): (Queue<u64>, Event)) {
    ready.set();
    let _ = q.get();
}

#[test]
fn a_consumer_killed_while_blocked_does_not_wedge_the_queue() {
    let q = Queue::new().unwrap();
    let ready = Event::new().unwrap();
    let k = start(StartMethod::Fork, blocked_get, (q.clone(), ready.clone()));
    wait_until_blocked(&k, &ready);
    k.kill().unwrap();
    k.join().unwrap();
    q.put(5).unwrap();
    assert_eq!(q.get_timeout(Duration::from_secs(30)), Ok(5));
}

fn get_until_shutdown((q, out, ready): (Queue<u64>, Queue<String>, Event)) {
    ready.set();
    let r = q.get();
    out.put(format!("{r:?}")).unwrap();
}

#[test]
fn shutdown_graceful_drains_immediate_stops_and_wakes_blocked_getters() {
    let q = Queue::new().unwrap();
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.shutdown(false);
    assert!(q.put(3).unwrap_err().is_shutdown());
    assert_eq!(q.get(), Ok(1));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.try_get(), Err(TryGetError::ShutDown));

    let q = Queue::new().unwrap();
    q.put(1).unwrap();
    q.shutdown(true);
    assert_eq!(q.try_get(), Err(TryGetError::ShutDown));

    let q = Queue::<u64>::new().unwrap();
    let out = Queue::new().unwrap();
    let ready = Event::new().unwrap();
    let k = start(
        StartMethod::Forkserver,
        get_until_shutdown,
        (q.clone(), out.clone(), ready.clone()),
    );
    wait_until_blocked(&k, &ready);
    q.shutdown(false);
    assert_eq!(
        out.get_timeout(Duration::from_secs(30)).unwrap(),
        "Err(ShutDown)"
    );
    assert_eq!(k.join().unwrap(), 0);
}

fn worker(q: JoinableQueue<u32>) {
    while let Ok(v) = q.get() {
        if v == u32::MAX {
            q.task_done().unwrap();
            break; // the sentinel
        }
        q.task_done().unwrap();
    }
}

#[test]
fn joinable_queue_join_waits_for_task_done_across_processes() {
    for method in METHODS {
        let q = JoinableQueue::bounded(8).unwrap();
        let k = start(method, worker, q.clone());
        for i in 0..100 {
            q.put(i).unwrap();
        }
        q.put(u32::MAX).unwrap();
        assert!(
            q.join_timeout(Duration::from_secs(30)).unwrap(),
            "{method:?}"
        );
        assert_eq!(q.unfinished_tasks(), 0);
        assert_eq!(k.join().unwrap(), 0);
        assert!(q.task_done().is_err());
    }
    let q = JoinableQueue::<u8>::new().unwrap();
    q.put(1).unwrap();
    assert!(!q.join_timeout(Duration::from_millis(20)).unwrap());
    q.shutdown(true);
    assert!(
        q.join_timeout(Duration::from_secs(1)).unwrap(),
        "immediate shutdown releases join"
    );
}

fn simple_echo((a, b): (SimpleQueue<String>, SimpleQueue<String>)) {
    let s = a.get().unwrap();
    b.put(s.to_uppercase()).unwrap();
}

#[test]
fn simple_queue_round_trip() {
    let (a, b) = (SimpleQueue::new().unwrap(), SimpleQueue::new().unwrap());
    let k = start(StartMethod::Spawn, simple_echo, (a.clone(), b.clone()));
    a.put("hello".into()).unwrap();
    assert_eq!(b.get().unwrap(), "HELLO");
    assert_eq!(k.join().unwrap(), 0);
    assert!(a.is_empty() && b.is_empty());
}

/// (producer id, sequence number, body)
type Mixed = (u8, u32, Vec<u8>);

fn send_mixed((q, id): (Queue<Mixed>, u8)) {
    for seq in 0..60u32 {
        let len = match seq % 4 {
            0 => 3,
            1 => 900,
            2 => 20_000, // larger than the 4 KiB ring: chunked
            _ => 5000,
        };
        q.put((id, seq, vec![id ^ seq as u8; len])).unwrap();
    }
}

fn receive_mixed((q, out): (Queue<Mixed>, Queue<(u8, u32, bool)>)) {
    while let Ok((id, seq, body)) = q.get() {
        let intact = body.iter().all(|&b| b == id ^ seq as u8);
        out.put((id, seq, intact)).unwrap();
    }
}

#[test]
fn chunked_and_small_messages_from_many_processes_never_interleave() {
    let q = Queue::with_capacity(0, 4096).unwrap();
    let out = Queue::new().unwrap();
    let producers: Vec<_> = (0..3)
        .map(|id| start(StartMethod::Fork, send_mixed, (q.clone(), id)))
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| start(StartMethod::Fork, receive_mixed, (q.clone(), out.clone())))
        .collect();
    let mut seen = HashSet::new();
    for _ in 0..180 {
        let (id, seq, intact) = out
            .get_timeout(Duration::from_secs(60))
            .expect("message lost");
        assert!(intact, "message {id}/{seq} corrupted");
        assert!(seen.insert((id, seq)), "message {id}/{seq} duplicated");
    }
    for p in producers {
        assert_eq!(p.join().unwrap(), 0);
    }
    q.shutdown(false);
    for c in consumers {
        assert_eq!(c.join().unwrap(), 0);
    }
}

fn big_then_small(q: Queue<Vec<u8>>) {
    q.put(vec![1u8; 8 << 20]).unwrap(); // 8 MiB through a 4 KiB ring
    q.put(b"after".to_vec()).unwrap();
}

fn take_one(q: Queue<Vec<u8>>) {
    let _ = q.get();
}

#[test]
fn a_consumer_killed_mid_message_does_not_wedge_the_queue() {
    let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    // Forkserver children: this test runs beside others on libtest's threads, and a
    // Fork child of a multi-threaded parent can inherit a lock another thread held at
    // the fork (the hazard CPython warns about). It failed once in ~800 parallel runs
    // with Fork, cause unconfirmed; the queue logic under test is the same either way.
    let consumer = start(StartMethod::Forkserver, take_one, q.clone());
    let producer = start(StartMethod::Forkserver, big_then_small, q.clone());
    // Kill the consumer while the 8 MiB message is under way: before it took the
    // first chunk, in the middle (the usual case), or just after the last.
    assert!(eventually(Duration::from_secs(30), || q.qsize() == 1));
    consumer.kill().unwrap();
    consumer.join().unwrap();
    // Whatever the moment, the queue goes on: the big message whole (if the consumer
    // never started it) or skipped (it died with its consumer), then the next one.
    let first = q.get_timeout(Duration::from_secs(60)).unwrap();
    if first != b"after" {
        assert!(
            first.len() == 8 << 20 && first.iter().all(|&b| b == 1),
            "corrupt message"
        );
        assert_eq!(q.get_timeout(Duration::from_secs(60)).unwrap(), b"after");
    }
    assert_eq!(producer.join().unwrap(), 0);
    assert!(q.is_empty());
}

// ---- A consumer killed at a known point inside `get` (test hook), and the repair ----

static PAUSED: std::sync::OnceLock<Event> = std::sync::OnceLock::new();
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
static PAUSE_AT: std::sync::OnceLock<skein_process::queue::__GetPoint> = std::sync::OnceLock::new();

/// The hook: at the chosen point of the third `get` (the third item located, or the
/// first chunked message started), report and stop there for good.
fn pause_inside_get(at: skein_process::queue::__GetPoint) {
    use skein_process::queue::__GetPoint;
    use std::sync::atomic::Ordering;
    let nth = if at == __GetPoint::Located { 2 } else { 0 };
    if Some(&at) == PAUSE_AT.get() && CALLS.fetch_add(1, Ordering::SeqCst) == nth {
        PAUSED.get().expect("event set before the hook").set();
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// Starts a Fork consumer that stops inside a `get` at `at` (see `pause_inside_get`); returns once it is
/// stopped there. What it got before goes to `out`.
fn consumer_stopped_inside_get<T>(
    q: &Queue<T>,
    out: &Queue<T>,
    at: skein_process::queue::__GetPoint,
) -> ProcessHandle
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let paused = Event::new().unwrap();
    let (q2, out2, paused2) = (q.clone(), out.clone(), paused.clone());
    let consumer = skein_process::Process::from_closure(move || {
        PAUSED.set(paused2).unwrap();
        PAUSE_AT.set(at).unwrap();
        skein_process::queue::__set_get_hook(pause_inside_get);
        while let Ok(v) = q2.get() {
            out2.put(v).unwrap();
        }
    })
    .start()
    .unwrap();
    assert!(
        paused.wait_timeout(Duration::from_secs(60)),
        "the consumer never reached the hook"
    );
    consumer
}

#[test]
fn a_consumer_killed_holding_a_located_item_loses_nothing() {
    let q = Queue::<u64>::new().unwrap();
    let out = Queue::<u64>::new().unwrap();
    for i in 0..100 {
        q.put(i).unwrap();
    }
    let consumer = consumer_stopped_inside_get(&q, &out, skein_process::queue::__GetPoint::Located);
    // Stopped inside its third get: two items handed over, the third (item 2) located
    // under the consumers' lock but not yet taken.
    assert_eq!(q.qsize(), 98);
    consumer.kill().unwrap();
    assert_eq!(consumer.join().unwrap(), -9);
    let mut seen: Vec<u64> = std::iter::from_fn(|| out.try_get().ok()).collect();
    assert_eq!(seen, [0, 1]);
    // The next consumer takes the dead one's lock over and starts at the item in flight.
    assert_eq!(q.get_timeout(Duration::from_secs(60)).unwrap(), 2);
    seen.push(2);
    seen.extend(std::iter::from_fn(|| q.try_get().ok()));
    assert_eq!(
        seen,
        (0..100).collect::<Vec<_>>(),
        "nothing lost or duplicated"
    );
    q.put(7).unwrap();
    assert_eq!(q.get().unwrap(), 7, "the queue works on");
}

fn big_message_then_small(q: Queue<Vec<u8>>) {
    q.put(b"before".to_vec()).unwrap();
    q.put(b"before".to_vec()).unwrap();
    q.put(vec![1u8; 64 << 10]).unwrap(); // 16 chunks through a 4 KiB ring
    q.put(b"after".to_vec()).unwrap();
}

#[test]
fn a_consumer_killed_mid_message_loses_only_that_message() {
    let q = Queue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    let out = Queue::<Vec<u8>>::new().unwrap();
    let producer = start(StartMethod::Fork, big_message_then_small, q.clone());
    let consumer =
        consumer_stopped_inside_get(&q, &out, skein_process::queue::__GetPoint::MidMessage);
    // Stopped inside its third get, after taking the first chunk of the 64 KiB message.
    consumer.kill().unwrap();
    assert_eq!(consumer.join().unwrap(), -9);
    let before: Vec<Vec<u8>> = std::iter::from_fn(|| out.try_get().ok()).collect();
    assert_eq!(before, [b"before".to_vec(), b"before".to_vec()]);
    // The repair skips the rest of the message in flight (lost with its consumer) and
    // the producer, blocked mid-message, goes on.
    assert_eq!(q.get_timeout(Duration::from_secs(60)).unwrap(), b"after");
    assert_eq!(producer.join().unwrap(), 0);
    assert!(q.is_empty());
    assert_eq!(q.qsize(), 0);
}

fn join_and_report((q, out): (JoinableQueue<String>, Queue<String>)) {
    let r = q.join();
    out.put(format!("{r:?}")).unwrap();
}

/// Python's `shutdown(immediate=True)` discards what is left: `qsize()` is 0 at once
/// and even a blocking `get` fails, though items were queued.
#[test]
fn immediate_shutdown_discards_what_is_left_and_every_get_fails() {
    let q = Queue::new().unwrap();
    q.put(1u8).unwrap();
    q.put(2).unwrap();
    q.shutdown(true);
    assert_eq!(q.qsize(), 0);
    assert!(q.is_empty());
    assert_eq!(q.get(), Err(skein_process::GetError::ShutDown));
    assert_eq!(
        q.get_timeout(Duration::from_secs(5)),
        Err(GetTimeoutError::ShutDown)
    );
    assert!(q.put(3).unwrap_err().is_shutdown());
}

/// An immediate shutdown counts only the items it discards as done: a task a consumer
/// took still holds `join` up (in another process too) until its `task_done`, and that
/// `task_done` is accepted; one more is an error (Python's ValueError).
#[test]
fn immediate_shutdown_keeps_join_waiting_for_the_tasks_taken() {
    let q = JoinableQueue::<String>::new().unwrap();
    let out = Queue::<String>::new().unwrap();
    q.put("a".into()).unwrap();
    q.put("b".into()).unwrap();
    let joiner = start(StartMethod::Fork, join_and_report, (q.clone(), out.clone()));
    assert_eq!(q.get().unwrap(), "a");
    q.shutdown(true);
    assert_eq!(q.qsize(), 0);
    assert_eq!(q.unfinished_tasks(), 1);
    assert_eq!(q.join_timeout(Duration::from_millis(20)), Ok(false));
    assert!(joiner.is_alive());
    q.task_done().unwrap();
    assert_eq!(out.get_timeout(Duration::from_secs(30)).unwrap(), "Ok(())");
    assert!(q.task_done().is_err());
    assert_eq!(joiner.join().unwrap(), 0);

    // A graceful shutdown leaves the count alone: the item still to drain holds `join` up.
    let q = JoinableQueue::<String>::bounded(1).unwrap();
    q.put("data".into()).unwrap();
    q.shutdown(false);
    assert_eq!(q.join_timeout(Duration::from_millis(20)), Ok(false));
    assert_eq!(q.get().unwrap(), "data");
    assert_eq!(q.get(), Err(skein_process::GetError::ShutDown));
    q.task_done().unwrap();
    assert_eq!(q.join_timeout(Duration::from_secs(5)), Ok(true));
}

fn report_big_put((q, out): (Queue<Vec<u8>>, Queue<String>)) {
    let r = q.put(vec![7u8; 1 << 20]).map_err(|e| e.is_shutdown());
    out.put(format!("{r:?}")).unwrap();
}

/// An immediate shutdown while a producer in another process is blocked in the middle
/// of a chunked message (holding the producers' lock) returns, and so does that put
/// (with `ShutDown`); the half-sent message is gone and the count is 0.
#[test]
fn immediate_shutdown_returns_while_a_producer_is_blocked_mid_message() {
    let q = JoinableQueue::<Vec<u8>>::with_capacity(0, 4096).unwrap();
    let out = Queue::<String>::new().unwrap();
    let k = start(
        StartMethod::Fork,
        report_big_put,
        ((*q).clone(), out.clone()),
    );
    assert!(eventually(Duration::from_secs(30), || q.qsize() == 1));
    assert!(
        eventually(Duration::from_secs(30), || asleep(k.pid())),
        "the producer never blocked mid-message"
    );
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let q2 = q.clone();
    std::thread::spawn(move || {
        q2.shutdown(true);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("shutdown(true) hung behind the blocked producer");
    assert_eq!(
        out.get_timeout(Duration::from_secs(30)).unwrap(),
        "Err(true)"
    );
    assert_eq!(k.join().unwrap(), 0);
    assert_eq!(q.qsize(), 0);
    assert_eq!(q.unfinished_tasks(), 0);
    assert_eq!(q.join_timeout(Duration::from_secs(5)), Ok(true));
}
