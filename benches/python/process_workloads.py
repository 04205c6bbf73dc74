"""CPython's column for `cargo xtask report`: the multiprocessing workloads.

Each workload mirrors one criterion group of benches/benches/process.rs with the same unit
of work per iteration, and prints JSON lines
    {"group": ..., "parameter": null, "function": "cpython/...", "mean_ns": ...}
Run it by hand with `python3 benches/python/process_workloads.py`.
"""

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


def main():
    quick = "--quick" in sys.argv
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


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
