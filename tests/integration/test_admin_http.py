#!/usr/bin/env python3
"""The read-only HTTP listener (admin.http): liveness, readiness, status
and metrics for Kubernetes probes and scrapers, against a real cutover
with two workers and real backends.

Wedging a worker: cutover reads CUTOVER_TEST_WEDGE once at start (see
worker.h); while the file it names exists, the last worker (worker 1 of
the two here) sleeps in its loop as soon as it takes a ping, as a worker
stuck in a bug would.  Removing the
file lets it go on."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import time
import urllib.parse

import cutoverlib

from harness import (Backend, Cutover, Suite, free_port, get,
                     health_config, request, wait_health, wait_until)

s = Suite()

# fields of `status json` that change from one call to the next
VOLATILE = {"uptime_s"}


def http_port(c):
    m = re.search(r"admin http: serving 127\.0\.0\.1:(\d+)", c.log_text())
    return int(m.group(1)) if m else None


def start(extra="", blue=None, green=None, **kw):
    blue = blue if blue is not None else [Backend("blue")]
    green = green if green is not None else [Backend("green")]
    c = Cutover(blue=blue, green=green, extra=extra + (
        'admin = { socket = "@DIR@/admin.sock"; http = "127.0.0.1:0"; };\n'),
        **kw)
    return c, http_port(c), blue, green


def raw(port, data, timeout=5.0):
    """Sends data on a fresh connection; returns everything read until the
    server closes (or timeout)."""
    sk = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sk.sendall(data)
        got = b""
        while True:
            try:
                piece = sk.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not piece:
                break
            got += piece
        return got
    finally:
        sk.close()


# What each health probe (every 100 ms here) may change in a member between
# two reports
PROBED = {"latency_ms", "ok_streak", "fail_streak", "last"}


def strip(d):
    """A status json report without what changes from one report to the
    next: the uptime and what each probe updates in a member."""
    d = {k: v for k, v in d.items() if k not in VOLATILE}
    d["pools"] = {name: dict(p, members=[
        {k: v for k, v in m.items() if k not in PROBED}
        for m in p["members"]]) for name, p in d.get("pools", {}).items()}
    return d


@s.scenario("the endpoints answer GET and HEAD, and nothing else")
def _():
    c, port, blue, green = start()
    s.ok(port is not None, "the log names the bound admin http address",
         c.log_tail())
    s.ok(c.wait_pool_healthy("blue") and c.wait_pool_healthy("green"),
         "both pools are healthy (so no health changes between reports)")

    r = get(port, "/healthz")
    s.eq((r.status, r.text), (200, "ok\n"), "/healthz answers 200 ok")
    s.eq(r.header("Connection"), "close", "one request per connection")
    r = get(port, "/readyz")
    s.eq((r.status, r.text), (200, "ready\n"), "/readyz answers 200 ready")

    r = get(port, "/status")
    s.eq(r.status, 200, "/status answers 200")
    s.eq(r.header("Content-Type"), "application/json",
         "/status is application/json")
    body = json.loads(r.body)
    s.eq(strip(body), strip(c.status_json()),
         "/status says what `status json` says")
    rc, out, err = c.ctl("status", "json")
    s.eq(rc, 0, "cutoverctl status json exits 0", err)
    s.eq(strip(body), strip(json.loads(out)),
         "/status says what `cutoverctl status json` says")

    r = get(port, "/metrics")
    s.eq(r.header("Content-Type"), "text/plain; version=0.0.4",
         "/metrics is Prometheus text")
    s.eq(r.status, 200, "/metrics answers 200", r)
    rc, out, err = c.ctl("metrics")
    names = lambda text: sorted(set(  # noqa: E731
        l.split()[2] for l in text.splitlines() if l.startswith("# TYPE ")))
    s.eq(names(r.body.decode()), names(out), "/metrics has the families "
         "`cutoverctl metrics` has")
    s.ok("cutover_generation" in names(out), "among them cutover_generation")

    for path in ("/healthz", "/readyz", "/status"):
        g = get(port, path)
        h = request(port, "HEAD", path)
        s.eq((h.status, h.body), (g.status, b""),
             "HEAD %s: same status, no body" % path)
        s.eq(h.header("Content-Length"), g.header("Content-Length"),
             "HEAD %s: the Content-Length GET would have" % path)

    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = request(port, method, "/status", body=b"x")
        s.eq(r.status, 405, "%s /status answers 405" % method)
        s.eq(r.header("Allow"), "GET, HEAD", "%s: Allow: GET, HEAD" % method)
    for path in ("/", "/healthz/", "/admin", "/status.json"):
        s.eq(get(port, path).status, 404, "GET %s answers 404" % path)
    s.eq(c.active(), "blue", "nothing changed: blue is still active")
    s.ok(get(c.port, "/").status == 200, "the proxy still serves")


@s.scenario("readyz is 503 with the reason")
def _():
    # with health.panic on, a pool with no member up still serves, and is
    # ready (test_panic.py)
    c, port, blue, green = start(extra="shutdown = { delay_ms = 3000; "
                                 "grace_ms = 1000; };\n" +
                                 health_config("panic = false;"))
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy")
    s.eq(get(port, "/readyz").status, 200, "ready at first")

    blue[0].stop()
    s.ok(wait_health(c, "blue", blue[0], "down"), "blue's member goes down")
    r = get(port, "/readyz")
    s.eq((r.status, r.text), (503, "blue: no usable member\n"),
         "/readyz: 503 blue: no usable member")
    s.eq(get(port, "/healthz").status, 200, "still live")

    c.signal(signal.SIGTERM)
    r = wait_until(lambda: get(port, "/readyz", timeout=2).text ==
                   "stopping\n", 2)
    r = get(port, "/readyz")
    s.eq((r.status, r.text), (503, "stopping\n"),
         "/readyz during shutdown.delay_ms: 503 stopping")
    s.eq(get(port, "/healthz").status, 200, "live while stopping")
    s.eq(c.wait(10), 0, "cutover exits 0")


@s.scenario("a wedged worker makes healthz 503 and names it")
def _():
    wedge = None
    old = os.environ.get("CUTOVER_TEST_WEDGE")
    try:
        c = Cutover(blue=[Backend("blue")], green=[Backend("green")],
                    start=False, extra='admin = { socket = "@DIR@/admin.sock"; '
                    'http = "127.0.0.1:0"; };\n')
        wedge = os.path.join(c.dir, "wedge")
        os.environ["CUTOVER_TEST_WEDGE"] = wedge
        c.start()
        port = http_port(c)
        s.eq(get(port, "/healthz").status, 200, "live at first")

        open(wedge, "w").close()
        t0 = time.monotonic()
        r = wait_until(lambda: get(port, "/healthz", timeout=2).status ==
                       503, 10)
        took = time.monotonic() - t0
        r = get(port, "/healthz")
        s.eq(r.status, 503, "/healthz answers 503 while worker 1 is stuck")
        s.ok(took < 8, "within a few seconds (%.1f s)" % took)
        s.match(r"^worker 1: last answered a ping sent \d+ ms ago "
                r"\(bound 5000 ms\)$", r.text, "the body names worker 1")
        s.ok("worker 0" not in r.text, "and only worker 1", r.text)
        r = get(port, "/readyz")
        s.eq((r.status, r.text), (503, "worker 1 is not answering\n"),
             "/readyz: 503, a worker that serves nothing is not ready")
        s.ok(c.wait_log(r"worker 1: no answer to a ping for \d+ ms"),
             "the log says worker 1 is late, once")
        s.eq(c.admin("version").split("\n")[0], "ok",
             "the admin socket still answers")

        os.remove(wedge)
        s.ok(wait_until(lambda: get(port, "/healthz", timeout=2).status ==
                        200, 5), "/healthz is 200 again once it is unstuck")
        s.ok(c.wait_log(r"worker 1: answers pings again"),
             "the log says worker 1 is live again")
    finally:
        if wedge and os.path.exists(wedge):
            os.remove(wedge)
        if old is None:
            os.environ.pop("CUTOVER_TEST_WEDGE", None)
        else:
            os.environ["CUTOVER_TEST_WEDGE"] = old


@s.scenario("malformed, oversized and slow clients get an error, not a crash")
def _():
    c, port, blue, green = start()
    got = raw(port, b"GARBAGE\r\n\r\n")
    s.ok(got.startswith(b"HTTP/1.1 400 "), "a malformed request: 400", got)
    got = raw(port, b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 9000 +
              b"\r\n\r\n")
    s.ok(got.startswith(b"HTTP/1.1 431 "), "an oversized head: 431", got)
    got = raw(port, b"GET /healthz HTTP/1.1\r\n" +
              b"".join(b"X-%d: y\r\n" % i for i in range(300)) + b"\r\n")
    s.ok(got.startswith(b"HTTP/1.1 431 "), "too many fields: 431", got)
    got = raw(port, b"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\n"
              b"hello")
    s.ok(got.startswith(b"HTTP/1.1 200 "), "a GET with a body: answered",
         got)
    got = raw(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
              bytes(64))
    s.ok(got.startswith(b"HTTP/1.1 400 "),
         "TLS on the plain port: 400 (a malformed request)", got)

    # slow clients: more than the listener takes at once, each sending a
    # byte now and then; they are bounded and time out, and meanwhile the
    # admin socket and the proxy answer at once
    slow = []
    for _ in range(40):
        sk = socket.create_connection(("127.0.0.1", port), timeout=5)
        sk.sendall(b"GET /heal")
        slow.append(sk)
    t0 = time.monotonic()
    s.eq(c.admin("version").split("\n")[0], "ok",
         "the admin socket answers with 40 slow HTTP clients")
    s.eq(get(c.port, "/").status, 200, "the proxy answers too")
    s.ok(time.monotonic() - t0 < 2, "both at once")
    # a probe while they trickle: it takes the place of the oldest one
    # still sending its head, and is answered at once
    t0 = time.monotonic()
    for _ in range(5):
        r = get(port, "/healthz", timeout=2)
        s.eq(r.status, 200, "/healthz answers 200 while 40 clients trickle "
             "their heads")
    s.ok(time.monotonic() - t0 < 2, "at once (%.2f s for 5 probes)"
         % (time.monotonic() - t0))
    gone = 0
    for sk in slow:
        try:
            sk.settimeout(0.2)
            if sk.recv(100) == b"":
                gone += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            gone += 1
    s.ok(gone >= 40 - 8, "at most 8 clients of one address are held "
         "(%d of 40 closed)" % gone)
    # the ones held meet their deadline (5 s from accept)
    time.sleep(max(0.0, 5.5 - (time.monotonic() - t0)))
    closed = 0
    for sk in slow:
        try:
            sk.settimeout(1)
            sk.sendall(b"thz HTTP/1.1\r\n\r\n")
            if sk.recv(100) == b"":
                closed += 1
        except OSError:
            closed += 1
        sk.close()
    s.eq(closed, 40, "every slow client was closed")
    s.ok(c.alive(), "cutover is still running")


@s.scenario("admin.http: bad address, same as listen, reload at restart")
def _():
    c = Cutover(blue=[Backend("blue")], green=[Backend("green")],
                extra='admin = { socket = "@DIR@/admin.sock"; '
                'http = "127.0.0.1:0"; };\n')
    port = http_port(c)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "a reload that keeps admin.http succeeds", out + err)
    mark = c.log_mark()
    text = c.config_text.replace('http = "127.0.0.1:0"',
                                 'http = "127.0.0.1:1"')
    c.reload_file(text, complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "that reload succeeds", out + err)
    s.ok(c.wait_log(r"warning: reload: changes to admin\.\* take effect at "
                    r"restart$", since=mark),
         "a reload that changes admin.http says it takes effect at restart")
    s.eq(get(port, "/healthz").status, 200, "the old listener still serves")

    text = c.config_text.replace('http = "127.0.0.1:1"',
                                 'http = "localhost"')
    c.reload_file(text, complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 1, "a bad admin.http is refused: exit 1", out + err)
    s.match(r"cutover\.conf:\d+: admin\.http: \"localhost\": missing port",
            out + err, "with FILE:LINE: message")

@s.scenario("a real Prometheus server scrapes /metrics")
def _():
    prom = shutil.which("prometheus")
    s.ok(prom is not None, "prometheus is installed (scripts/install-deps)")
    if prom is None:
        return
    c, port, blue, green = start()
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    pport = free_port()
    conf = os.path.join(c.dir, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: cutover\n"
                "    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % port)
    proc = cutoverlib.start(
        [prom, "--config.file=" + conf,
         "--storage.tsdb.path=" + os.path.join(c.dir, "prometheus"),
         "--web.listen-address=127.0.0.1:%d" % pport],
        logfile=os.path.join(c.dir, "prometheus.log"))
    try:
        def query(q):
            try:
                r = get(pport, "/api/v1/query?query=" +
                        urllib.parse.quote(q))
                js = json.loads(r.body)
                res = js["data"]["result"]
                return float(res[0]["value"][1]) if res else None
            except (OSError, ValueError, KeyError, IndexError):
                return None

        s.ok(wait_until(lambda: query("up{job=\"cutover\"}") == 1.0, 30),
             "Prometheus scrapes cutover (up == 1)")
        for pool in ("green", "blue"):
            rc, out, err = c.ctl("switch", pool)
            s.eq(rc, 0, "switch %s" % pool, err)
        s.ok(wait_until(lambda: query("sum(cutover_switches_total)") ==
                        2.0, 15),
             "Prometheus's API answers cutover_switches_total = 2 after "
             "two switches", query("sum(cutover_switches_total)"))
        s.ok(wait_until(lambda: query("cutover_active_pool{pool=\"blue\"}")
                        == 1.0, 10), "and cutover_active_pool{pool=blue} 1")
    finally:
        cutoverlib.stop(proc)

s.done()
