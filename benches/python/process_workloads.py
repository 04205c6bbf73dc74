"""CPython's column for `cargo xtask report`: the multiprocessing workloads.

Each workload mirrors one criterion group of benches/benches/process.rs with the same unit
of work per iteration, and prints JSON lines
    {"group": ..., "parameter": null, "function": "cpython/...", "mean_ns": ...}
Run it by hand with `python3 benches/python/process_workloads.py [--quick]`.

Not mirrored: process/pool_cancel_to_replacement (neither multiprocessing.Pool nor
ProcessPoolExecutor can cancel a running task; CPython's answer is a broken pool).
The Manager and Listener groups are in manager_workloads.py.
"""

import ctypes
import json
import multiprocessing as mp
import sys
import time


def report(group, function, mean_ns):
    print(json.dumps({"group": group, "parameter": None,
                      "function": function, "mean_ns": mean_ns}), flush=True)


def noop():
    pass


def spawn_join(method, iterations):
    ctx = mp.get_context(method)
    p = ctx.Process(target=noop)  # warm-up (starts the forkserver)
    p.start()
    p.join()
    start = time.perf_counter_ns()
    for _ in range(iterations):
        p = ctx.Process(target=noop)
        p.start()
        p.join()
        assert p.exitcode == 0
    return (time.perf_counter_ns() - start) / iterations


def echo(conn, other_end):
    other_end.close()  # under fork the child inherits the parent's end too
    try:
        while True:
            conn.send_bytes(conn.recv_bytes())
    except EOFError:
        pass


def pipe_round_trip(rounds):
    here, there = mp.Pipe(True)
    child = mp.Process(target=echo, args=(there, here))
    child.start()
    there.close()
    payload = (42).to_bytes(8, "little")
    start = time.perf_counter_ns()
    for _ in range(rounds):
        here.send_bytes(payload)
        assert here.recv_bytes() == payload
    elapsed = time.perf_counter_ns() - start
    here.close()
    child.join()
    return elapsed / rounds


BULK = 64 * 1024


def bulk_source(conn, other_end, blocks):
    other_end.close()
    block = b"\xab" * BULK
    for _ in range(blocks):
        conn.send_bytes(block)
    conn.close()


def bulk(blocks):
    reader, writer = mp.Pipe(False)
    child = mp.Process(target=bulk_source, args=(writer, reader, blocks))
    child.start()
    writer.close()
    start = time.perf_counter_ns()
    for _ in range(blocks):
        assert len(reader.recv_bytes()) == BULK
    elapsed = time.perf_counter_ns() - start
    child.join()
    return elapsed / blocks


MESSAGES = 100_000


def queue_producer(q):
    for i in range(MESSAGES):
        q.put(i)


def queue_100k():
    q = mp.Queue(1024)
    child = mp.Process(target=queue_producer, args=(q,))
    start = time.perf_counter_ns()
    child.start()
    total = 0
    for _ in range(MESSAGES):
        total += q.get()
    child.join()
    elapsed = time.perf_counter_ns() - start
    assert total == MESSAGES * (MESSAGES - 1) // 2
    return elapsed


def small_sender(conn, other_end, as_values):
    other_end.close()
    if as_values:
        for i in range(MESSAGES):
            conn.send(i)
    else:
        for i in range(MESSAGES):
            conn.send_bytes(i.to_bytes(8, "little"))
    conn.close()


def pipe_small(as_values):
    """process/pipe_small_8b: 100k messages of 8 bytes from a forked child over a Pipe
    (send_bytes/recv_bytes, or send/recv of an int: pickled), child start included."""
    reader, writer = mp.Pipe(False)
    start = time.perf_counter_ns()
    child = mp.Process(target=small_sender, args=(writer, reader, as_values))
    child.start()
    writer.close()
    total = 0
    if as_values:
        for _ in range(MESSAGES):
            total += reader.recv()
    else:
        for _ in range(MESSAGES):
            total += int.from_bytes(reader.recv_bytes(), "little")
    child.join()
    elapsed = time.perf_counter_ns() - start
    assert total == MESSAGES * (MESSAGES - 1) // 2 and child.exitcode == 0
    return elapsed


ELEMS = 10_000_000


def fill(arr):
    with arr.get_lock():
        arr.get_obj()[:] = range(ELEMS)


def array_writes(runs):
    """process/array_writes_10M_i32: a forked child fills Array('i', 10M) under its lock
    (one slice assignment); child start and join included."""
    arr = mp.Array(ctypes.c_int32, ELEMS)

    def once():
        child = mp.Process(target=fill, args=(arr,))
        child.start()
        child.join()
        assert child.exitcode == 0 and arr[ELEMS - 1] == ELEMS - 1
    once()
    start = time.perf_counter_ns()
    for _ in range(runs):
        once()
    return (time.perf_counter_ns() - start) / runs


def lock_uncontended(iterations):
    """process/lock_uncontended: multiprocessing.Lock acquire + release (a POSIX semaphore)."""
    lock = mp.Lock()
    acquire, release = lock.acquire, lock.release
    start = time.perf_counter_ns()
    for _ in range(iterations):
        acquire()
        release()
    return (time.perf_counter_ns() - start) / iterations


EVENT_ROUNDS = 1_000


def event_partner(ping, pong, runs):
    for _ in range(runs * EVENT_ROUNDS):
        ping.wait()
        ping.clear()
        pong.set()


def event_ping_pong(runs):
    """process/event_ping_pong: 1,000 round trips of two multiprocessing.Events between
    this process and a forked child, per iteration (child start not timed)."""
    ping, pong = mp.Event(), mp.Event()
    child = mp.Process(target=event_partner, args=(ping, pong, runs))
    child.start()
    start = time.perf_counter_ns()
    for _ in range(runs * EVENT_ROUNDS):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter_ns() - start
    child.join()
    assert child.exitcode == 0
    return elapsed / runs


def double(x):
    return x * 2


def count_primes(n):
    return sum(1 for k in range(2, n) if all(k % d for d in range(2, int(k ** 0.5) + 1)))


def pool_map_100k(runs):
    """process/pool_map_100k: Pool(2).map(x*2) over 100k ints, default chunksize."""
    with mp.Pool(2) as pool:
        pool.map(double, range(10))  # warm-up
        start = time.perf_counter_ns()
        for _ in range(runs):
            out = pool.map(double, range(100_000))
            assert out[-1] == 199_998
        return (time.perf_counter_ns() - start) / runs


def pool_apply_round_trip(rounds):
    """process/pool_apply_round_trip: apply_async(...).get() one task at a time."""
    with mp.Pool(2) as pool:
        pool.apply(double, (1,))
        start = time.perf_counter_ns()
        for i in range(rounds):
            assert pool.apply_async(double, (i,)).get() == 2 * i
        return (time.perf_counter_ns() - start) / rounds


CPU_ITEMS = [40_000 + i for i in range(16)]


def pool_cpu_map(runs):
    """process/pool_cpu_map: 16 prime counts (below 40,000..40,015), Pool(2).map with
    chunksize 1 (the pool built once, outside the timing) beside a sequential loop."""
    want = None
    start = time.perf_counter_ns()
    for _ in range(runs):
        got = sum(map(count_primes, CPU_ITEMS))
        assert want is None or got == want
        want = got
    sequential = (time.perf_counter_ns() - start) / runs
    with mp.Pool(2) as pool:
        pool.map(double, range(4))  # warm-up: workers running
        start = time.perf_counter_ns()
        for _ in range(runs):
            assert sum(pool.map(count_primes, CPU_ITEMS, chunksize=1)) == want
        pooled = (time.perf_counter_ns() - start) / runs
    return sequential, pooled


def main():
    quick = "--quick" in sys.argv
    sequential, pooled = pool_cpu_map(1 if quick else 3)
    report("process/pool_cpu_map", "cpython/sequential", sequential)
    report("process/pool_cpu_map", "cpython/Pool(2).map", pooled)
    report("process/pool_map_100k", "cpython/Pool(2).map", pool_map_100k(3 if quick else 10))
    report("process/pool_apply_round_trip", "cpython/Pool(2).apply_async",
           pool_apply_round_trip(500 if quick else 5_000))
    n = 20 if quick else 100
    for method in ("fork", "forkserver", "spawn"):
        report("process/spawn_join", f"cpython/{method}",
               spawn_join(method, n if method != "spawn" else max(5, n // 5)))
    report("process/pipe_round_trip", "cpython", pipe_round_trip(2_000 if quick else 20_000))
    report("process/bulk_64k", "cpython", bulk(2_000 if quick else 20_000))
    report("process/queue_100k_small", "cpython", queue_100k())
    report("process/pipe_small_8b", "cpython/bytes", pipe_small(False))
    report("process/pipe_small_8b", "cpython/values", pipe_small(True))
    report("process/array_writes_10M_i32", "cpython", array_writes(1 if quick else 3))
    report("process/lock_uncontended", "cpython", lock_uncontended(100_000 if quick else 1_000_000))
    report("process/event_ping_pong", "cpython", event_ping_pong(2 if quick else 10))


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
