"""CPython's column for the coroutine benches (benches/benches/coroutine.rs): generators
(always) and greenlet switches (when `import greenlet` works), with the same unit of work
per iteration. Prints JSON lines
    {"group": ..., "parameter": null, "function": "cpython/...", "mean_ns": ...}

  coroutine/generator_resume   one resume + one yield of a suspended generator:
                               next(gen) ("cpython/next") and gen.send(1)
                               ("cpython/send"), each reply checked;
  coroutine/generator_create   make a generator, run it to its end (yield 1, return 2),
                               drop it ("cpython/generator");
  coroutine/greenlet_switch    main -> child -> main (two switches per iteration,
                               "cpython/greenlet main->child->main") and child -> child ->
                               child (A to B and back, driven from main,
                               "cpython/greenlet child->child->child").

greenlet is not in the standard library: without it the greenlet rows are skipped with a
note on stderr (exit status 0). Install it into a virtual environment under target/ and
run this script with that interpreter, e.g.
    python3 -m venv target/py-venv && target/py-venv/bin/pip install greenlet gevent
Run it with `python3 benches/python/coroutine_workloads.py [--quick]`.
"""

import json
import sys
import time

try:
    import greenlet
except ImportError:
    greenlet = None


def report(group, function, mean_ns):
    print(json.dumps({"group": group, "parameter": None,
                      "function": function, "mean_ns": mean_ns}), flush=True)


def per_iteration(loop, iterations):
    """Mean ns per iteration of `loop(iterations)`, a function that runs the workload
    `iterations` times itself (so the timing loop costs what a `for` costs)."""
    loop(1000)  # warm-up
    start = time.perf_counter_ns()
    loop(iterations)
    return (time.perf_counter_ns() - start) / iterations


def generator_next(iterations):
    def gen():
        while True:
            yield 2

    g = gen()
    nxt = next
    for _ in range(iterations):
        if nxt(g) != 2:
            raise AssertionError("generator yielded the wrong value")


def generator_send(iterations):
    def gen():
        x = 0
        while True:
            x = yield x + 1

    g = gen()
    next(g)
    send = g.send
    for _ in range(iterations):
        if send(1) != 2:
            raise AssertionError("generator yielded the wrong value")


def generator_create(iterations):
    def gen():
        yield 1
        return 2

    for _ in range(iterations):
        g = gen()
        a = next(g)
        try:
            next(g)
            raise AssertionError("the generator did not finish")
        except StopIteration as end:
            r = end.value
        if a + r != 3:
            raise AssertionError("generator returned the wrong values")


def greenlet_main_child(iterations):
    main = greenlet.getcurrent()

    def child(x):
        while True:
            x = main.switch(x + 1)

    g = greenlet.greenlet(child)
    switch = g.switch
    for _ in range(iterations):
        if switch(1) != 2:
            raise AssertionError("greenlet switched back the wrong value")
    g.throw(greenlet.GreenletExit)


def greenlet_child_child(iterations):
    """A switches to B and B back to A, `iterations` times, started from main."""
    main = greenlet.getcurrent()
    peers = {}

    def a(n):
        b = peers["b"]
        for _ in range(n):
            b.switch()
        main.switch(n)

    def b():
        while True:
            peers["a"].switch()

    peers["a"] = greenlet.greenlet(a)
    peers["b"] = greenlet.greenlet(b)
    if peers["a"].switch(iterations) != iterations:
        raise AssertionError("greenlet A did not finish its round trips")
    peers["b"].throw(greenlet.GreenletExit)
    peers["a"].throw(greenlet.GreenletExit)


def main():
    n = 200_000 if "--quick" in sys.argv else 2_000_000
    report("coroutine/generator_resume", "cpython/next", per_iteration(generator_next, n))
    report("coroutine/generator_resume", "cpython/send", per_iteration(generator_send, n))
    report("coroutine/generator_create", "cpython/generator",
           per_iteration(generator_create, n // 2))
    if greenlet is None:
        print("coroutine_workloads.py: greenlet is not installed; the greenlet_switch rows "
              "are skipped (see the docstring to install it into a virtual environment)",
              file=sys.stderr)
        return
    report("coroutine/greenlet_switch", "cpython/greenlet main->child->main",
           per_iteration(greenlet_main_child, n))
    report("coroutine/greenlet_switch", "cpython/greenlet child->child->child",
           per_iteration(greenlet_child_child, n))


if __name__ == "__main__":
    main()
