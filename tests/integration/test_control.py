#!/usr/bin/env python3
"""The control thread: the admin socket, probes and signals run on a thread
of their own, which never serves a client, so they answer while the worker
threads are busy or even stuck.  `workers = N` runs N named worker threads
("cutover-w0" ...) beside it; the control thread keeps the process's name.

Wedging a worker: cutover reads CUTOVER_TEST_WEDGE once at start (see
worker.h); while the file it names exists, the last worker sleeps in its
loop as soon as it takes a ping (admin.http pings every worker)."""

import os
import re
import threading
import time

from harness import (CUTOVER_BIN, Backend, Cutover, RawConn, Suite,
                     build_request, get, wait_health, wait_until)

s = Suite()

WORKER_NAME = re.compile(r"cutover-w\d+")


def thread_names(pid):
    """(the main thread's name, sorted names of the worker threads, the
    names of the other threads); a sanitizer adds threads of its own."""
    main, workers, others = None, [], []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
        except FileNotFoundError:      # a thread that just ended
            continue
        if tid == str(pid):
            main = comm
        elif WORKER_NAME.fullmatch(comm):
            workers.append(comm)
        else:
            others.append(comm)
    return (main, sorted(workers, key=lambda n: int(n[len("cutover-w"):])),
            others)


def check_names(n):
    """With workers = n: the threads' names, and that the workers serve."""
    c = Cutover(blue=[Backend("blue")], green=[Backend("green")],
                extra="workers = %d;\n" % n)
    main, workers, others = thread_names(c.pid)
    s.eq(workers, ["cutover-w%d" % i for i in range(n)],
         "the workers are named cutover-w0 to cutover-w%d" % (n - 1))
    # the kernel keeps 15 bytes of a name
    s.eq(main, os.path.basename(CUTOVER_BIN)[:15],
         "the control (main) thread keeps the process's name")
    s.ok("cutover-log" in others, "the access log's writer is named",
         others)
    s.eq(c.status_json()["workers"], n, "status counts only workers")
    s.eq(len(c.status_json()["per_worker"]), n,
         "... and reports each one's counts")
    s.eq(get(c.port, "/").body, b"blue\n", "it serves")


@s.scenario("workers = 1: one named worker thread beside the control thread")
def _():
    check_names(1)


@s.scenario("workers = 2: two named worker threads beside the control thread")
def _():
    check_names(2)


class Load:
    """A bounded load on cutover's port, in threads: conns connections
    each pipelining depth requests for path, read back, round after round
    until stop() or the deadline.  .responses counts complete responses,
    .errors the exceptions."""

    def __init__(self, port, path, conns, depth, deadline_s):
        self.port, self.path, self.depth = port, path, depth
        self.deadline = time.monotonic() + deadline_s
        self.responses = 0
        self.errors = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ts = [threading.Thread(target=self._run, daemon=True)
                    for _ in range(conns)]
        for t in self._ts:
            t.start()

    def _run(self):
        req = build_request("GET", self.path) * self.depth
        try:
            raw = RawConn(self.port, timeout=30)
        except OSError as e:
            with self._lock:
                self.errors.append(repr(e))
            return
        try:
            while not self._stop.is_set() and \
                    time.monotonic() < self.deadline:
                raw.send(req)
                for _ in range(self.depth):
                    r = raw.read_response(sink=lambda b: None)
                    if r.status != 200:
                        raise RuntimeError("status %d" % r.status)
                    with self._lock:
                        self.responses += 1
        except Exception as e:        # noqa: BLE001 (reported, not hidden)
            with self._lock:
                self.errors.append(repr(e))
        finally:
            raw.close()

    def count(self):
        with self._lock:
            return self.responses

    def stop(self):
        self._stop.set()
        for t in self._ts:
            t.join(40)
        return not any(t.is_alive() for t in self._ts)


@s.scenario("workers = 1, the worker saturated: status, switch and probes "
            "still answer", timeout=180)
def _():
    blue = Backend("blue")
    g1, g2 = Backend("g1"), Backend("g2")
    c = Cutover(blue=[blue], green=[g1, g2], extra="workers = 1;\n")
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())

    # large bodies copied through the one worker, and many connections
    # with pipelined requests held by a member that answers slowly
    fast = Load(c.port, "/stream?bytes=262144", conns=6, depth=8,
                deadline_s=90)
    slow = Load(c.port, "/delay?ms=300", conns=64, depth=4, deadline_s=90)
    s.ok(wait_until(lambda: fast.count() >= 24 and slow.count() >= 64, 20),
         "the load runs (%d large, %d slow responses)" % (fast.count(),
                                                          slow.count()))
    busy = c.status_json()["per_worker"][0]["connections_open"]
    s.ok(busy >= 60, "the worker holds the load's connections (%d)" % busy)

    before = fast.count() + slow.count()
    answered, took = 0, []
    for i in range(20):
        t0 = time.monotonic()
        rc, out, err = c.ctl("status", timeout=15)
        took.append(time.monotonic() - t0)
        answered += rc == 0 and out.startswith("cutover ")
    s.eq(answered, 20, "cutoverctl status answers 20 times of 20 under load "
         "(slowest %.3f s)" % max(took))

    results = []
    for pool in ("green", "blue") * 5:
        rc, out, err = c.ctl("switch", pool, timeout=15)
        results.append((rc, c.active() if rc == 0 else err))
    s.eq(results, [(0, p) for p in ("green", "blue") * 5],
         "cutoverctl switch answers 10 times of 10 under load, and each "
         "one took effect")

    # a member of the inactive pool stops answering its probes: fall 3 at
    # 100 ms, down in well under a second on an idle machine
    g2.set_health(code=503)
    t0 = time.monotonic()
    s.ok(wait_health(c, "green", g2.addr, "down", 15),
         "probes mark a failing member down under load (%.1f s)" %
         (time.monotonic() - t0), c.status())
    s.ok(fast.count() + slow.count() > before,
         "the load went on meanwhile (%d responses)" %
         (fast.count() + slow.count() - before))
    s.ok(fast.stop() and slow.stop(), "the load ends")
    s.eq(fast.errors + slow.errors, [], "no request failed")
    g2.set_health(code=200)
    s.ok(wait_health(c, "green", g2.addr, "up", 15), "and up again")


@s.scenario("workers = 1, the worker stuck: the control thread still "
            "answers and says which worker is stuck")
def _():
    old = os.environ.get("CUTOVER_TEST_WEDGE")
    wedge = None
    try:
        c = Cutover(blue=[Backend("blue")], green=[Backend("green")],
                    start=False, extra='workers = 1;\nadmin = { socket = '
                    '"@DIR@/admin.sock"; http = "127.0.0.1:0"; };\n')
        wedge = os.path.join(c.dir, "wedge")
        os.environ["CUTOVER_TEST_WEDGE"] = wedge
        c.start()
        port = int(re.search(r"admin http: serving 127\.0\.0\.1:(\d+)",
                             c.log_text()).group(1))
        s.eq(get(c.port, "/").body, b"blue\n", "it serves")

        open(wedge, "w").close()
        s.ok(c.wait_log(r"worker 0: no answer to a ping for \d+ ms", 15),
             "the log says worker 0 is late", c.log_tail(10))
        r = get(port, "/healthz", timeout=5)
        s.eq(r.status, 503, "/healthz: 503 while the only worker is stuck")
        s.match(r"^worker 0: last answered a ping sent \d+ ms ago",
                r.text, "the body names worker 0")
        rc, out, err = c.ctl("status", timeout=10)
        s.ok(rc == 0 and out.startswith("cutover "),
             "cutoverctl status answers all the same", (rc, out, err))
        s.eq(c.admin("version").split("\n")[0], "ok",
             "and so does any read-only command")

        os.remove(wedge)
        s.ok(wait_until(lambda: get(port, "/healthz", timeout=5).status ==
                        200, 10), "/healthz is 200 again once it is unstuck")
        s.eq(get(c.port, "/").body, b"blue\n", "and it serves again")
    finally:
        if wedge is not None and os.path.exists(wedge):
            os.remove(wedge)
        if old is None:
            os.environ.pop("CUTOVER_TEST_WEDGE", None)
        else:
            os.environ["CUTOVER_TEST_WEDGE"] = old


s.done()
