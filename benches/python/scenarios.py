"""CPython's column for the scenario benches (benches/benches/scenarios.rs): the notes'
closing question — CPU-bound work → processes, IO-bound work → threads or coroutines,
because of the GIL — measured with the same jobs, sizes and checks as the Rust side.

Jobs (criterion groups):
  scenarios/cpu_primes  count the primes below 1,000,000 by trial division, in 32 equal
                        chunks handed out one at a time, on 2 workers (the 2 cores);
  scenarios/io_timer    200 tasks each waiting 20 ms on a timer;
  scenarios/io_echo     200 clients, each connecting over loopback TCP to an echo
                        server (a separate process, the same for every contender), doing
                        10 request/response round trips of 32 bytes, and hanging up.
Contenders (function ids): cpython/sequential; cpython/threads (ThreadPoolExecutor);
cpython/processes (multiprocessing.Pool, fork, map with chunksize=1); cpython/asyncio
(IO jobs); cpython/gevent (when gevent imports; without monkey-patching: gevent.sleep and
gevent.socket). As in Rust, pools are created and shut down inside every run, with 2
workers for the CPU job and one per task (200) for the IO jobs.

Prints JSON lines {"group": ..., "parameter": null, "function": "cpython/...",
"mean_ns": ...}; the report computes speedup = time(cpython/sequential) / time(X).
Run it with `python3 benches/python/scenarios.py [--quick]` (gevent's rows need an
interpreter where `import gevent` works, e.g. a virtual environment under target/).
"""

import asyncio
import json
import math
import multiprocessing as mp
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

try:
    import gevent
    import gevent.socket
except ImportError:
    gevent = None

N = 1_000_000
PRIMES_BELOW_N = 78_498
CHUNKS = 32
CPU_WORKERS = 2

TIMER_TASKS = 200
TIMER_WAIT = 0.020
TIMER_SUM = TIMER_TASKS * (TIMER_TASKS - 1) // 2

CLIENTS = 200
ROUNDS = 10
MSG = 32
ECHOED = CLIENTS * ROUNDS * MSG

IO_WORKERS = 200


def report(group, function, mean_ns):
    print(json.dumps({"group": group, "parameter": None,
                      "function": function, "mean_ns": mean_ns}), flush=True)


def timed(fn, iterations, warm_up=True):
    """Mean nanoseconds per call of fn over `iterations` calls."""
    if warm_up:
        fn()
    start = time.perf_counter_ns()
    for _ in range(iterations):
        fn()
    return (time.perf_counter_ns() - start) / iterations


# ==== the jobs ====

def count_primes_in(bounds):
    lo, hi = bounds
    count = 0
    for k in range(max(lo, 2), hi):
        for d in range(2, math.isqrt(k) + 1):
            if k % d == 0:
                break
        else:
            count += 1
    return count


def chunks():
    step = -(-N // CHUNKS)
    return [(i * step, min((i + 1) * step, N)) for i in range(CHUNKS)]


def wait_on_timer(i):
    time.sleep(TIMER_WAIT)
    return i


def request(r):
    return bytes([r + 1]) * MSG


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the echo server hung up")
        data += chunk
    return data


def echo_client(port, sock_module=socket):
    """One client: connect, ROUNDS round trips (each reply checked), hang up."""
    s = sock_module.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    echoed = 0
    try:
        for r in range(ROUNDS):
            msg = request(r)
            s.sendall(msg)
            assert recv_exactly(s, MSG) == msg
            echoed += MSG
    finally:
        s.close()
    return echoed


def green_echo_client(port):
    return echo_client(port, gevent.socket)


async def asyncio_echo_client(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    echoed = 0
    for r in range(ROUNDS):
        msg = request(r)
        writer.write(msg)
        await writer.drain()
        assert await reader.readexactly(MSG) == msg
        echoed += MSG
    writer.close()
    await writer.wait_closed()
    return echoed


# ==== the echo server: a separate process, asyncio protocol callbacks ====

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


def serve_echo(port_conn):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=1024)
        port_conn.send(server.sockets[0].getsockname()[1])
        port_conn.close()
        await server.serve_forever()
    asyncio.run(main())


def start_echo_server():
    ctx = mp.get_context("fork")
    here, there = ctx.Pipe(False)
    server = ctx.Process(target=serve_echo, args=(there,), name="echo-server", daemon=True)
    server.start()
    there.close()
    port = here.recv()
    here.close()
    return server, port


# ==== the contenders ====

def on_thread_pool(workers, items, job):
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(job, item) for item in items]
        return sum(f.result() for f in futures)


def on_process_pool(workers, items, job):
    with mp.get_context("fork").Pool(workers) as pool:
        return sum(pool.map(job, items, chunksize=1))


def on_gevent(items, job):
    tasks = [gevent.spawn(job, item) for item in items]
    gevent.joinall(tasks, raise_error=True)
    return sum(t.value for t in tasks)


def run_group(group, contenders, iterations, warm_up=True):
    """contenders: (function id, callable returning the answer, expected answer)."""
    for function, fn, want in contenders:
        def checked():
            got = fn()
            assert got == want, f"{group} {function}: {got} != {want}"
        report(group, function, timed(checked, iterations(function), warm_up))


def main():
    quick = "--quick" in sys.argv
    server, port = start_echo_server()  # forked before any other thread exists
    loop = asyncio.new_event_loop()     # one event loop for the run, like tokio's runtime

    items = chunks()
    cpu = [
        ("cpython/sequential", lambda: sum(map(count_primes_in, items)), PRIMES_BELOW_N),
        ("cpython/threads", lambda: on_thread_pool(CPU_WORKERS, items, count_primes_in),
         PRIMES_BELOW_N),
        ("cpython/processes", lambda: on_process_pool(CPU_WORKERS, items, count_primes_in),
         PRIMES_BELOW_N),
    ]
    if gevent:
        cpu.append(("cpython/gevent", lambda: on_gevent(items, count_primes_in),
                    PRIMES_BELOW_N))
    # Seconds per run: one run each when quick, two otherwise; no warm-up run.
    run_group("scenarios/cpu_primes", cpu, lambda _: 1 if quick else 2, warm_up=False)

    tasks = list(range(TIMER_TASKS))

    async def asyncio_timer():
        async def one(i):
            await asyncio.sleep(TIMER_WAIT)
            return i
        return sum(await asyncio.gather(*(one(i) for i in tasks)))

    def gevent_timer(i):
        gevent.sleep(TIMER_WAIT)
        return i

    timer = [
        ("cpython/sequential", lambda: sum(map(wait_on_timer, tasks)), TIMER_SUM),
        ("cpython/threads", lambda: on_thread_pool(IO_WORKERS, tasks, wait_on_timer),
         TIMER_SUM),
        ("cpython/processes", lambda: on_process_pool(IO_WORKERS, tasks, wait_on_timer),
         TIMER_SUM),
        ("cpython/asyncio", lambda: loop.run_until_complete(asyncio_timer()), TIMER_SUM),
    ]
    if gevent:
        timer.append(("cpython/gevent", lambda: on_gevent(tasks, gevent_timer), TIMER_SUM))

    def io_iterations(function):
        if function == "cpython/sequential":
            return 1 if quick else 2  # 4 s a run
        return 3 if quick else 10

    run_group("scenarios/io_timer", timer, io_iterations, warm_up=False)

    ports = [port] * CLIENTS

    async def asyncio_echo():
        return sum(await asyncio.gather(*(asyncio_echo_client(p) for p in ports)))

    echo = [
        ("cpython/sequential", lambda: sum(map(echo_client, ports)), ECHOED),
        ("cpython/threads", lambda: on_thread_pool(IO_WORKERS, ports, echo_client), ECHOED),
        ("cpython/processes", lambda: on_process_pool(IO_WORKERS, ports, echo_client),
         ECHOED),
        ("cpython/asyncio", lambda: loop.run_until_complete(asyncio_echo()), ECHOED),
    ]
    if gevent:
        echo.append(("cpython/gevent", lambda: on_gevent(ports, green_echo_client), ECHOED))
    run_group("scenarios/io_echo", echo, lambda _: 3 if quick else 10)

    loop.close()
    server.terminate()
    server.join()
    if not gevent:
        print("scenarios.py: gevent is not installed; the cpython/gevent rows are skipped "
              "(run this script with an interpreter where `import gevent` works)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
