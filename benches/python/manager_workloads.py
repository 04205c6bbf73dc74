"""CPython's column for the Manager benches: the workloads of the criterion groups
process/manager_round_trip and process/listener_connect in benches/benches/process.rs,
with multiprocessing.Manager and multiprocessing.connection, one unit of work per
iteration. Prints JSON lines
    {"group": ..., "parameter": null, "function": "cpython/...", "mean_ns": ...}
Run it by hand with `python3 benches/python/manager_workloads.py [--quick] [--manager-only]`
(`--manager-only`: the proxy round trips alone, without the connect benchmark).
"""

import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Client, Listener


def report(group, function, mean_ns):
    print(json.dumps({"group": group, "parameter": None,
                      "function": function, "mean_ns": mean_ns}), flush=True)


def timed(iterations, f):
    f()  # warm-up
    start = time.perf_counter_ns()
    for _ in range(iterations):
        f()
    return (time.perf_counter_ns() - start) / iterations


def manager_round_trip(n):
    ctx = mp.get_context("forkserver")
    with ctx.Manager() as m:
        d = m.dict()
        d["counter"] = 1
        report("process/manager_round_trip", "cpython/dict_get", timed(n, lambda: d["counter"]))

        def dict_set():
            d["counter"] = 7
        report("process/manager_round_trip", "cpython/dict_set", timed(n, dict_set))
        q = m.Queue()

        def put_get():
            q.put(5)
            q.get()
        report("process/manager_round_trip", "cpython/queue_put_get", timed(n, put_get))
        lock = m.Lock()

        def acquire_release():
            lock.acquire()
            lock.release()
        report("process/manager_round_trip", "cpython/lock_acquire_release",
               timed(n, acquire_release))


def listener_connect(n):
    key = b"bench key"
    tmp = tempfile.mkdtemp()
    for name, address, family in [("cpython/unix", os.path.join(tmp, "l.sock"), "AF_UNIX")]:
        listener = Listener(address, family=family, authkey=key)
        # The server thread is a daemon that accepts until the process ends: a stop flag
        # checked between accepts raced with the last connect (that client then waited for
        # a challenge no one sent, and the script never exited).
        def serve():
            while True:
                try:
                    listener.accept().close()
                except Exception:
                    pass
        threading.Thread(target=serve, daemon=True).start()
        report("process/listener_connect", name,
               timed(n, lambda: Client(listener.address, family=family, authkey=key).close()))
        listener.close()
    os.rmdir(tmp)


def main():
    quick = "--quick" in sys.argv
    manager_round_trip(2_000 if quick else 20_000)
    if "--manager-only" not in sys.argv:
        listener_connect(200 if quick else 2_000)


if __name__ == "__main__":
    main()
