#!/usr/bin/env python3
"""The access log: one line per request on stdout (never stderr) as JSON
or text, with the bytes the client really sent and received, cutover's
own reason when it answered itself, whole lines whatever the target, and
a stdout nobody reads costs dropped lines, never stalled traffic."""

import json
import os
import re
import threading
import time

from harness import (Backend, Cutover, Suite, dead_addr, exchange,
                     wait_until)

s = Suite()

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def req(target, host=True):
    return (b"GET " + target + b" HTTP/1.1\r\n" +
            (b"Host: t\r\n" if host else b"") +
            b"Connection: close\r\n\r\n")


def stdout_lines(c, n, timeout=5.0):
    """The first n lines cutover wrote to stdout (waits for them)."""
    wait_until(lambda: len(c.stdout_text().splitlines()) >= n, timeout)
    return c.stdout_text().splitlines()


def json_lines(c, n):
    """The first n stdout lines, each parsed as JSON (a line that does not
    parse fails the test)."""
    out = []
    for line in stdout_lines(c, n):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            s.ok(False, "line is JSON", "%s: %r" % (e, line))
    return out


def start(blue, access, extra=""):
    """cutover with blue's members (green: a dead one), log.access set
    (None: not at all) and stdout to a file of its own."""
    log = 'log = { access = %s; };\n' % access if access else ""
    c = Cutover(blue=blue, green=[dead_addr()], extra=log + extra,
                start=False)
    c.stdout = os.path.join(c.dir, "stdout")
    return c.start()


def metric(c, name):
    rc, out, err = c.ctl("metrics")
    for line in out.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


# -------------------------------------------------------------- scenarios

@s.scenario("json: a request's line has the bytes the client sent and got")
def _():
    blue = Backend("blue")
    c = start([blue], '"json"')
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    r = req(b"/hello?x=1")
    got = exchange(c.port, r)
    s.ok(got.startswith(b"HTTP/1.1 200 "), "GET answers 200", got)
    lines = json_lines(c, 1)
    s.eq(len(lines), 1, "one line for one request", c.stdout_text())
    j = lines[0] if lines else {}
    s.eq(sorted(j), sorted(["time", "client", "method", "target", "status",
                            "bytes_in", "bytes_out", "duration_ms", "pool",
                            "member", "retried", "route", "error"]),
         "the keys", j)
    s.ok(TIME.match(j.get("time", "")), "time is UTC with ms", j)
    s.eq(j.get("client"), "127.0.0.1", "client")
    s.eq(j.get("method"), "GET", "method")
    s.eq(j.get("target"), "/hello?x=1", "target")
    s.eq(j.get("status"), 200, "status")
    s.eq(j.get("bytes_in"), len(r), "bytes_in = bytes the client sent")
    s.eq(j.get("bytes_out"), len(got),
         "bytes_out = bytes the client received")
    d = j.get("duration_ms")
    s.ok(isinstance(d, (int, float)) and 0 <= d < 5000, "duration_ms", d)
    s.eq(j.get("pool"), "blue", "pool")
    s.eq(j.get("member"), blue.addr, "member")
    s.eq(j.get("retried"), False, "not retried")
    s.eq(j.get("route"), "active", "routed to the active pool")
    s.eq(j.get("error"), None, "no error")
    s.ok('"bytes_in"' not in c.log_text() and "access:" not in
         c.log_text(), "nothing of it on stderr", c.log_tail())

    # cutover's own 400: no Host
    r = req(b"/nohost", host=False)
    got = exchange(c.port, r)
    s.ok(got.startswith(b"HTTP/1.1 400 "), "no Host: 400", got)
    j = (json_lines(c, 2)[1:] or [{}])[0]
    s.eq(j.get("status"), 400, "own 400: status")
    s.ok(isinstance(j.get("error"), str) and j["error"] != "",
         "own 400: the reason", j)
    s.eq(j.get("member"), None, "own 400: no member")
    s.eq(j.get("bytes_in"), len(r), "own 400: bytes_in")
    s.eq(j.get("bytes_out"), len(got), "own 400: bytes_out")
    c.stop()


@s.scenario("json: cutover's own 503 says why")
def _():
    c = start([dead_addr()], '"json"')
    got = exchange(c.port, req(b"/x"))
    s.ok(got.startswith(b"HTTP/1.1 503 ") or got.startswith(b"HTTP/1.1 502 "),
         "a dead pool: 502/503", got)
    status = int(got.split(b" ")[1]) if got else None
    j = (json_lines(c, 1) or [{}])[0]
    s.eq(j.get("status"), status, "the line's status is the reply's")
    s.ok(isinstance(j.get("error"), str) and j["error"] != "",
         "the reason", j)
    s.eq(j.get("pool"), "blue", "counted for the active pool")
    s.eq(j.get("target"), "/x", "target")
    c.stop()


HOSTILE = [
    b'/q"uo"te',
    b'/back\\slash',
    b'/pct%00%22%5c%0a%ff',
    b'/ctl\x01\x1f\x7f',
    b'/nl\rx',
    b'/high\xc3\xa9\xff',
    b'/' + b'A' * 8192,
    b'/' + b'"\\' * 4000,
]


@s.scenario("json: hostile targets give valid JSON, one line each")
def _():
    blue = Backend("blue")
    c = start([blue], '"json"')
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    statuses = []
    for t in HOSTILE:
        got = exchange(c.port, req(t))
        statuses.append(int(got.split(b" ")[1]) if got.startswith(
            b"HTTP/1.1 ") else None)
    # a request cutover could not even parse may or may not have a line;
    # every line there is must be JSON, with the status answered
    wait_until(lambda: len(c.stdout_text().splitlines()) >=
               len([x for x in statuses if x == 200]), 5)
    time.sleep(0.2)
    raw = c.stdout_text()
    s.ok(raw.endswith("\n") or raw == "", "ends with a newline")
    lines = raw.splitlines()
    s.ok(len(lines) >= 1, "some lines", (statuses, raw[:500]))
    parsed = json_lines(c, len(lines))
    s.eq(len(parsed), len(lines), "every line is JSON", raw[:2000])
    s.ok(all(len(x.encode()) + 1 <= 4096 for x in lines),
         "every line fits one atomic write",
         [len(x) for x in lines])
    s.ok(all(x.isascii() for x in lines), "lines are ASCII")
    answered = [j.get("status") for j in parsed]
    s.ok(all(st in statuses for st in answered),
         "each line's status is one the client got", (answered, statuses))
    ok = [j for j in parsed if j.get("status") == 200]
    targets = [t.decode("latin-1") for t, st in zip(HOSTILE, statuses)
               if st == 200]
    for j, t in zip(ok, targets):
        s.ok(t.startswith(j.get("target", "\0")) and
             len(j["target"]) >= min(len(t), 200),
             "a relayed target comes back byte for byte (cut at 200)",
             (t[:80], j.get("target", "")[:80]))
    s.ok(len(ok) >= 3, "at least the plain hostile targets were relayed",
         statuses)
    c.stop()


TEXT = re.compile(r'^(\S+) (\S+) "([^"]*)" (\d+|-) (\d+) (\d+) (\S+) '
                  r'(\S+) (\S+) retried=([01]) route=(\S+) (-|"[^"]*")$')


@s.scenario("text: the fields in order, one line")
def _():
    blue = Backend("blue")
    c = start([blue], '"text"')
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    r = req(b"/t?a=1")
    got = exchange(c.port, r)
    r2 = req(b"/nohost", host=False)
    got2 = exchange(c.port, r2)
    lines = stdout_lines(c, 2)
    s.eq(len(lines), 2, "two lines", lines)
    m = TEXT.match(lines[0]) if lines else None
    s.ok(m, "the line parses", lines[:1])
    if m:
        f = m.groups()
        s.ok(TIME.match(f[0]), "time", f[0])
        s.eq(f[1], "127.0.0.1", "client")
        s.eq(f[2], "GET /t?a=1", "method and target, quoted")
        s.eq(f[3], "200", "status")
        s.eq((int(f[4]), int(f[5])), (len(r), len(got)), "bytes each way")
        s.ok(re.match(r"^\d+\.\dms$", f[6]), "duration", f[6])
        s.eq((f[7], f[8]), ("blue", blue.addr), "pool and member")
        s.eq((f[9], f[10], f[11]), ("0", "active", "-"),
             "not retried, routed to the active pool, no error")
    m = TEXT.match(lines[1]) if len(lines) > 1 else None
    s.ok(m, "the 400's line parses", lines[1:])
    if m:
        f = m.groups()
        s.eq(f[3], "400", "own 400")
        s.eq((int(f[4]), int(f[5])), (len(r2), len(got2)),
             "own 400: bytes each way")
        s.eq(f[8], "-", "own 400: no member")
        s.eq(f[10], "-", "own 400: answered before it was routed")
        s.ok(f[11].startswith('"') and len(f[11]) > 2,
             "own 400: the quoted reason", f[11])
    c.stop()


@s.scenario("off writes nothing; a reload to the old `true` writes text")
def _():
    blue = Backend("blue")
    c = start([blue], None)
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    for _ in range(5):
        exchange(c.port, req(b"/off"))
    exchange(c.port, req(b"/nohost", host=False))
    time.sleep(0.3)
    s.eq(c.stdout_text(), "", "off (the default): stdout stays empty")
    c.reload_file(c.config_text + "log = { access = true; };\n",
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload to access = true", out + err)
    exchange(c.port, req(b"/on"))
    lines = stdout_lines(c, 1)
    s.ok(len(lines) == 1 and TEXT.match(lines[0]) and '"GET /on"' in
         lines[0], "true is the text line", lines)
    c.stop()


@s.scenario("a stdout nobody reads: lines dropped and counted, "
            "traffic goes on")
def _():
    blue = Backend("blue")
    rfd, wfd = os.pipe()
    c = Cutover(blue=[blue], green=[dead_addr()],
                extra='log = { access = "json"; };\nworkers = 2;\n',
                start=False, stdout=wfd)
    try:
        c.start()
    finally:
        os.close(wfd)
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    s.eq(metric(c, "cutover_access_log_dropped_total"), 0.0,
         "nothing dropped yet")
    # long targets: the pipes fill in fewer requests
    target = "/" + "p" * 190
    worst = [0.0]
    answered = [0]
    errors = []
    stop = threading.Event()
    lock = threading.Lock()

    def client():
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        try:
            while not stop.is_set():
                t0 = time.monotonic()
                conn.request("GET", target)
                resp = conn.getresponse()
                resp.read()
                dt = time.monotonic() - t0
                with lock:
                    worst[0] = max(worst[0], dt)
                    answered[0] += 1
                if resp.status != 200:
                    errors.append(resp.status)
        except Exception as e:     # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(4)]
    for t in threads:
        t.start()
    dropped = wait_until(lambda: (metric(c, "cutover_access_log_dropped_total")
                                  or 0) > 0, 60, interval=0.5)
    n_at_drop = answered[0]
    # traffic goes on once lines are being dropped
    more = wait_until(lambda: answered[0] >= n_at_drop + 500, 20)
    stop.set()
    for t in threads:
        t.join(15)
    s.ok(dropped, "dropped counter rises", (answered[0], c.log_tail()))
    s.ok(more, "500 more requests answered while dropping",
         (n_at_drop, answered[0]))
    s.eq(errors, [], "every request answered 200")
    s.ok(worst[0] < 2.0, "no request waited on the log (worst < 2 s)",
         worst[0])
    d = metric(c, "cutover_access_log_dropped_total") or 0
    s.ok(d > 0, "dropped lines counted: %d of %d" % (d, answered[0]))
    s.eq(c.stop(15), 0, "stops cleanly with stdout still full")
    os.close(rfd)


s.done()
