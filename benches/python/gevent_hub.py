"""gevent's column for the hub benches (benches/benches/hub.rs): same workloads, same
unit of work per iteration, one JSON line each:
    {"group": ..., "parameter": null, "function": "gevent", "mean_ns": ...}

gevent is not in the standard library. When it cannot be imported this script prints a
note to stderr and exits 0. Install it into a virtual environment under target/ (never
system-wide) and run the script with that interpreter:
    python3 -m venv target/py-gevent && target/py-gevent/bin/pip install gevent
    target/py-gevent/bin/python benches/python/gevent_hub.py
"""

import json
import sys
import time

try:
    import gevent
    from gevent import socket
    from gevent.server import StreamServer
except ImportError:
    print("gevent_hub.py: gevent is not installed; skipped (see the docstring to install "
          "it into target/py-gevent)", file=sys.stderr)
    sys.exit(0)

TASKS = 100_000
SLEEPERS = 10_000
CLIENTS = 1_000
ROUNDS = 10
MSG = 32


def report(group, mean_ns):
    print(json.dumps({"group": group, "parameter": None,
                      "function": "gevent", "mean_ns": mean_ns}), flush=True)


def mean_ns(fn, iterations):
    fn()  # warm-up
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations


def spawn_join():
    tasks = [gevent.spawn(lambda i=i: i) for i in range(TASKS)]
    gevent.joinall(tasks)
    assert sum(t.value for t in tasks) == TASKS * (TASKS - 1) // 2


def sleepers():
    tasks = [gevent.spawn(gevent.sleep, 0.010) for _ in range(SLEEPERS)]
    gevent.joinall(tasks)
    assert all(t.dead for t in tasks)


def echo_setup():
    def handle(conn, _addr):
        while True:
            data = b""
            while len(data) < MSG:
                chunk = conn.recv(MSG - len(data))
                if not chunk:
                    return
                data += chunk
            conn.sendall(data)

    server = StreamServer(("127.0.0.1", 0), handle, backlog=2048)
    server.start()
    streams = []
    for _ in range(CLIENTS):
        s = socket.create_connection(("127.0.0.1", server.server_port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        streams.append(s)
    return server, streams


def echo_round(streams):
    def client(s):
        msg = b"\x07" * MSG
        for _ in range(ROUNDS):
            s.sendall(msg)
            got = b""
            while len(got) < MSG:
                got += s.recv(MSG - len(got))
        return got[0]

    tasks = [gevent.spawn(client, s) for s in streams]
    gevent.joinall(tasks)
    assert all(t.value == 7 for t in tasks)


def main():
    report("hub/spawn_join_100k", mean_ns(spawn_join, 5))
    report("hub/sleep_10k_10ms", mean_ns(sleepers, 10))
    server, streams = echo_setup()
    report("hub/echo_1000_clients", mean_ns(lambda: echo_round(streams), 5))
    for s in streams:
        s.close()
    server.stop()


if __name__ == "__main__":
    main()
