"""CPython's column for `cargo xtask report`: the threads, locks, queue and pool workloads.

Each workload mirrors one criterion group in benches/benches/{threads,locks,queue,pool}.rs
with the same unit of work per iteration, and prints one JSON line:
    {"group": ..., "parameter": null, "function": "cpython", "mean_ns": ...}
(`function` is "cpython" where the group has one CPython contender, "cpython/<what>"
where it has several). Run it by hand with
`python3 benches/python/threading_workloads.py [--quick]`.

One extrapolation, said here: the FIFO queue groups (queue/spsc_bounded_1024, …) move
4,000,000 items per iteration in Rust; queue.Queue takes about 3 µs an item, so this
script moves fewer (200,000, or 50,000 with --quick) and reports the time per item ×
4,000,000 — linear in the item count, as a queue's steady state is.

Not mirrored: locks/detection_* (skein's deadlock detector has no CPython counterpart).
"""

import json
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import ThreadPool


def report(group, mean_ns, parameter=None, function="cpython"):
    print(json.dumps({"group": group, "parameter": parameter,
                      "function": function, "mean_ns": mean_ns}), flush=True)


def per_iteration(fn, iterations):
    """Mean nanoseconds per call of fn over `iterations` calls (after one warm-up)."""
    fn()
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations


def spawn_join():
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()


def enumerate_live(live, iterations):
    """threads/enumerate: threading.enumerate() with `live` extra threads parked."""
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, name=f"bench-live-{i}") for i in range(live)]
    for t in threads:
        t.start()
    try:
        def call():
            assert len(threading.enumerate()) > live
        return per_iteration(call, iterations)
    finally:
        stop.set()
        for t in threads:
            t.join()


def contended_counter(lock_type, iterations):
    """locks/contended_counter_2_threads: 2 threads each add 1 `iterations` times under
    one lock; time per iteration (one increment by each thread), from the first thread's
    start to the last one's end, as the Rust side measures it."""
    lock = lock_type()
    counter = [0]
    start = threading.Barrier(2)
    spans = []

    def work():
        start.wait()
        t0 = time.perf_counter_ns()
        for _ in range(iterations):
            with lock:
                counter[0] += 1
        spans.append((t0, time.perf_counter_ns()))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter[0] == 2 * iterations
    return (max(s[1] for s in spans) - min(s[0] for s in spans)) / iterations


def uncontended(lock_type, iterations=1_000_000):
    lock = lock_type()
    acquire, release = lock.acquire, lock.release
    start = time.perf_counter_ns()
    for _ in range(iterations):
        acquire()
        release()
    return (time.perf_counter_ns() - start) / iterations


def event_ping_pong(rounds=20_000):
    ping, pong = threading.Event(), threading.Event()

    def partner():
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            pong.set()

    t = threading.Thread(target=partner)
    t.start()
    start = time.perf_counter_ns()
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter_ns() - start
    t.join()
    return elapsed / rounds


N = 200_000  # items per iteration of queue/lifo_priority_spsc_1024 and task_done_join_1p2c
EXPECTED = N * (N - 1) // 2
FIFO_TOTAL = 4_000_000  # items per iteration of the Rust FIFO groups


def fifo(producers, consumers, items, maxsize=1024):
    """One FIFO run of `items` items (each producer sends 0..items/producers, as the Rust
    harness does); returns the time per item, from a common start to the last get."""
    q = queue.Queue(maxsize)
    per = items // producers
    start = threading.Barrier(producers + consumers + 1)
    ends = []

    def produce():
        start.wait()
        for i in range(per):
            q.put(i)

    def consume():
        start.wait()
        s = 0
        for _ in range(items // consumers):
            s += q.get()
        ends.append((time.perf_counter_ns(), s))

    threads = [threading.Thread(target=produce) for _ in range(producers)]
    threads += [threading.Thread(target=consume) for _ in range(consumers)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter_ns()
    for t in threads:
        t.join()
    assert sum(e[1] for e in ends) == producers * (per * (per - 1) // 2)
    return (max(e[0] for e in ends) - t0) / items


def ordered(queue_type):
    """queue/lifo_priority_spsc_1024: one producer puts 0..N, one consumer gets N."""
    q = queue_type(1024)
    total = []

    def consume():
        s = 0
        for _ in range(N):
            s += q.get()
        total.append(s)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(N):
        q.put(i)
    consumer.join()
    assert total == [EXPECTED]


def task_done_join():
    q = queue.Queue(1024)
    total = []

    def consume():
        s = 0
        for _ in range(N // 2):
            s += q.get()
            q.task_done()
        total.append(s)

    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for t in consumers:
        t.start()
    for i in range(N):
        q.put(i)
    q.join()
    for t in consumers:
        t.join()
    assert sum(total) == EXPECTED


def submit_wait(tasks=100_000, workers=2):
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(lambda: None) for _ in range(tasks)]
        for f in futures:
            f.result()


def thread_pool_map(items, chunksize, runs):
    """pool/map_*: multiprocessing.pool.ThreadPool(2).map over range(items)."""
    expected = sum(range(items))
    with ThreadPool(2) as pool:
        def once():
            out = pool.map(identity, range(items), chunksize)
            assert sum(out) == expected
        return per_iteration(once, runs)


def identity(x):
    return x


def double(x):
    return x * 2


def thread_pool_map_1m_chunked(runs):
    """pool/map_1m_chunked: ThreadPool(2).map(x*2, range(1M), chunksize=10_000)."""
    with ThreadPool(2) as pool:
        def once():
            out = pool.map(double, range(1_000_000), 10_000)
            assert out[-1] == 1_999_998
        return per_iteration(once, runs)


def main():
    quick = "--quick" in sys.argv
    report("threads/spawn_join", per_iteration(spawn_join, 500 if quick else 5_000))
    for live in (1, 10, 100):
        report("threads/enumerate", enumerate_live(live, 2_000 if quick else 20_000),
               parameter=str(live))
    report("locks/uncontended_lock", uncontended(threading.Lock))
    report("locks/uncontended_rlock", uncontended(threading.RLock))
    report("locks/contended_counter_2_threads",
           contended_counter(threading.Lock, 20_000 if quick else 200_000))
    report("locks/contended_rlock_counter_2_threads",
           contended_counter(threading.RLock, 20_000 if quick else 200_000))
    report("locks/ping_pong", event_ping_pong(2_000 if quick else 20_000))
    items = 50_000 if quick else 200_000
    for group, bounded, p, k in [("queue/spsc_bounded_1024", True, 1, 1),
                                 ("queue/mpmc_2x2_bounded_1024", True, 2, 2),
                                 ("queue/spsc_unbounded", False, 1, 1),
                                 ("queue/mpmc_2x2_unbounded", False, 2, 2)]:
        per_item = fifo(p, k, items, 1024 if bounded else 0)
        report(group, per_item * FIFO_TOTAL)
    report("queue/lifo_priority_spsc_1024",
           per_iteration(lambda: ordered(queue.PriorityQueue), 1 if quick else 3),
           function="cpython/priority")
    report("queue/lifo_priority_spsc_1024",
           per_iteration(lambda: ordered(queue.LifoQueue), 1 if quick else 3),
           function="cpython/lifo")
    report("queue/task_done_join_1p2c", per_iteration(task_done_join, 1 if quick else 3))
    report("pool/submit_wait_100k", per_iteration(submit_wait, 1 if quick else 2))
    report("pool/map_1m_chunked", thread_pool_map_1m_chunked(2 if quick else 5))
    report("pool/map_100k_chunksize1", thread_pool_map(100_000, 1, 1 if quick else 3))
    report("pool/map_100k_default", thread_pool_map(100_000, None, 3 if quick else 10))


if __name__ == "__main__":
    main()
