"""CPython's column for `cargo xtask report`: the threads, locks, queue and pool workloads.

Each workload mirrors one criterion group in benches/benches/*.rs with the same unit of
work per iteration, and prints one JSON line:
    {"group": ..., "parameter": null, "function": "cpython", "mean_ns": ...}
Run it by hand with `python3 benches/python/threading_workloads.py`.
"""

import json
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def report(group, mean_ns, parameter=None):
    print(json.dumps({"group": group, "parameter": parameter,
                      "function": "cpython", "mean_ns": mean_ns}), flush=True)


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


N = 200_000  # items per iteration in benches/benches/queue.rs
EXPECTED = N * (N - 1) // 2


def fifo(producers, consumers, maxsize=1024):
    q = queue.Queue(maxsize)
    total = []

    def produce(p):
        for i in range(p, N, producers):
            q.put(i)

    def consume():
        s = 0
        for _ in range(N // consumers):
            s += q.get()
        total.append(s)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    threads += [threading.Thread(target=consume) for _ in range(consumers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(total) == EXPECTED


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


def main():
    quick = "--quick" in sys.argv
    report("threads/spawn_join", per_iteration(spawn_join, 500 if quick else 5_000))
    report("locks/uncontended_lock", uncontended(threading.Lock))
    report("locks/uncontended_rlock", uncontended(threading.RLock))
    report("locks/ping_pong", event_ping_pong(2_000 if quick else 20_000))
    report("queue/spsc_bounded_1024", per_iteration(lambda: fifo(1, 1), 1 if quick else 3))
    report("queue/mpmc_2x2_bounded_1024", per_iteration(lambda: fifo(2, 2), 1 if quick else 3))
    report("queue/task_done_join_1p2c", per_iteration(task_done_join, 1 if quick else 3))
    report("pool/submit_wait_100k", per_iteration(submit_wait, 1 if quick else 2))


if __name__ == "__main__":
    main()
