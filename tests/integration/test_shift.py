#!/usr/bin/env python3
"""Weighted shift: `cutoverctl shift green 10` sends 10% of the clients to
green, sticky per client (by shift.cookie, or by the client's address);
raising the percent keeps those already on green there; switch ends it;
a shift to an unhealthy pool is refused; status and metrics show it."""

import concurrent.futures
import http.client
import socket
import threading
import time

from harness import Backend, Cutover, Suite, dead_addr, get

s = Suite()

N = 2000                # distinct clients per measurement
TOLERANCE = 3.0         # percentage points
PARALLEL = 16           # client threads: a request takes tens of ms


def in_parallel(fn, c, items, deadline):
    """fn(c, chunk, deadline) over PARALLEL chunks of items at once; the
    merged dicts."""
    items = list(items)
    chunks = [items[i::PARALLEL] for i in range(PARALLEL)]
    got = {}
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as ex:
        for part in ex.map(lambda ch: fn(c, ch, deadline), chunks):
            got.update(part)
    return got


def by_cookie(c, keys, deadline):
    """{key: body} for one request per key with Cookie sid=key, over
    PARALLEL keep-alive connections (each request is routed on its
    own)."""
    return in_parallel(by_cookie1, c, keys, deadline)


def by_cookie1(c, keys, deadline):
    got = {}
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    try:
        for k in keys:
            if time.monotonic() > deadline:
                break
            conn.request("GET", "/", headers={"Cookie": "x=1; sid=%s" % k})
            got[k] = conn.getresponse().read().decode()
    finally:
        conn.close()
    return got


def addr_of(i):
    """A distinct client address on 127/8 for client i (not 127.0.0.1)."""
    return "127.%d.%d.%d" % (10 + i // 65536, i // 256 % 256, i % 256 or 1)


def by_addr(c, idx, deadline):
    """{i: body} for one request from source address addr_of(i) each,
    PARALLEL at a time."""
    return in_parallel(by_addr1, c, idx, deadline)


def by_addr1(c, idx, deadline):
    got = {}
    for i in idx:
        if time.monotonic() > deadline:
            break
        sk = socket.create_connection(("127.0.0.1", c.port), timeout=10,
                                      source_address=(addr_of(i), 0))
        try:
            sk.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n"
                       b"Connection: close\r\n\r\n")
            data = b""
            while True:
                piece = sk.recv(65536)
                if not piece:
                    break
                data += piece
        finally:
            sk.close()
        got[i] = data.split(b"\r\n\r\n", 1)[-1].decode()
    return got


def share(got, pool="green\n"):
    return 100.0 * sum(1 for v in got.values() if v == pool) / \
        max(1, len(got))


def start(extra=""):
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=extra)
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    return c


@s.scenario("by cookie: 10% within 3 points, sticky, 50% keeps them, "
            "switch ends it", timeout=240)
def _():
    c = start('shift = { cookie = "sid"; };\n')
    deadline = time.monotonic() + 150
    rc, out, err = c.ctl("shift", "green", "10")
    s.eq((rc, out.strip()), (0, "shifted 10% to green (was 0%)"),
         "shift green 10", err)
    keys = ["client-%d" % i for i in range(N)]
    first = by_cookie(c, keys, deadline)
    s.eq(len(first), N, "%d clients answered" % N)
    s.eq(set(first.values()) - {"blue\n", "green\n"}, set(),
         "every answer is blue or green")
    p = share(first)
    s.ok(abs(p - 10) <= TOLERANCE, "green share %.2f%% is within %g "
         "points of 10%%" % (p, TOLERANCE), p)
    again = by_cookie(c, keys[:500], deadline)
    s.eq([k for k in keys[:500] if again.get(k) != first[k]], [],
         "the same client lands on the same pool (500 repeated)")

    rc, out, err = c.ctl("shift", "green", "50")
    s.eq(rc, 0, "shift green 50", out + err)
    rc, out, err = c.ctl("status")
    s.ok("shift 50% of clients to green (sticky by cookie sid)" in out,
         "status text names the cookie", out)
    second = by_cookie(c, keys, deadline)
    was_green = [k for k in keys if first[k] == "green\n"]
    s.eq([k for k in was_green if second.get(k) != "green\n"], [],
         "raising to 50 keeps the first %d green clients on green" %
         len(was_green))
    p = share(second)
    s.ok(abs(p - 50) <= TOLERANCE, "green share %.2f%% is within %g "
         "points of 50%%" % (p, TOLERANCE), p)
    r = get(c.port, headers={"Cookie": "sid=%s" % was_green[0],
                             "X-Cutover-Pool": "blue"})
    s.eq(r.body, b"blue\n", "a preview wins over the shift")

    # the same cookie from another address stays put: the cookie decides
    rc, out, err = c.ctl("switch", "blue")
    s.eq(rc, 0, "switch blue (already active) ends the shift", out + err)
    s.ok("shift ended" in out, "... and says so", out)
    third = by_cookie(c, keys[:300], deadline)
    s.eq(share(third), 0.0, "after the switch no client goes to green")
    s.eq(c.status_json().get("shift"), None, "status json: no shift")
    s.eq(c.metric('cutover_shift_percent{pool="green"}'), 0.0,
         "cutover_shift_percent green 0")

    rc, out, err = c.ctl("shift", "green", "20")
    s.eq(rc, 0, "shift green 20", out + err)
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    fourth = by_cookie(c, keys[:300], deadline)
    s.eq(share(fourth), 100.0, "after switch green every client is on "
         "green")
    s.eq(c.status_json().get("shift"), None, "the switch ended the shift")
    rc, out, err = c.ctl("shift", "green", "10")
    s.ok(rc == 1 and "active pool" in err,
         "shifting the active pool is refused (exit 1)", (rc, out, err))


@s.scenario("by client address: 10% within 3 points, sticky",
            timeout=240)
def _():
    c = start()
    deadline = time.monotonic() + 150
    rc, out, err = c.ctl("shift", "green", "10")
    s.eq(rc, 0, "shift green 10", out + err)
    first = by_addr(c, range(N), deadline)
    s.eq(len(first), N, "%d distinct source addresses answered" % N)
    p = share(first)
    s.ok(abs(p - 10) <= TOLERANCE, "green share %.2f%% is within %g "
         "points of 10%%" % (p, TOLERANCE), p)
    again = by_addr(c, range(300), deadline)
    s.eq([i for i in range(300) if again.get(i) != first[i]], [],
         "the same address lands on the same pool (300 repeated, new "
         "ports)")
    rc, out, err = c.ctl("shift", "green", "0")
    s.eq((rc, out.strip()), (0, "shift ended: all to blue"),
         "shift green 0 ends it", err)
    s.eq(share(by_addr(c, range(200), deadline)), 0.0,
         "then no address goes to green")


@s.scenario("status, metrics, reload; an unhealthy pool is refused")
def _():
    c = start('log = { access = "text"; };\n')
    rc, out, err = c.ctl("shift", "green", "100")
    s.eq(rc, 0, "shift green 100", out + err)
    st = c.status_json()
    s.eq(st.get("shift"), {"pool": "green", "percent": 100},
         "status json shows the shift", st)
    rc, out, err = c.ctl("status")
    s.ok("shift 100% of clients to green (sticky by client address)" in
         out, "status text shows the shift", out)
    s.eq(c.metric('cutover_shift_percent{pool="green"}'), 100.0,
         "cutover_shift_percent green 100")
    s.eq(c.metric('cutover_shift_percent{pool="blue"}'), 0.0,
         "cutover_shift_percent blue 0")
    s.eq(get(c.port).body, b"green\n", "at 100% a client goes to green")
    s.eq(c.metric('cutover_requests_total{pool="green",code="2xx"}'),
         1.0, "the shifted request counts under green")
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload", out + err)
    s.eq(c.status_json().get("shift"), {"pool": "green", "percent": 100},
         "a reload keeps the shift")

    for args, want in ((("shift", "green", "101"), 2),
                       (("shift", "green", "-5"), 2),
                       (("shift", "green", "ten"), 2),
                       (("shift", "purple", "10"), 2),
                       (("shift", "green"), 2),
                       (("shift", "blue", "10"), 1)):
        rc, out, err = c.ctl(*args)
        s.eq(rc, want, "%s: exit %d" % (" ".join(args), want), out + err)
    s.eq(c.status_json().get("shift"), {"pool": "green", "percent": 100},
         "refused commands change nothing")


@s.scenario("a shift to an unhealthy pool is refused; force overrides")
def _():
    blue = Backend("blue")
    c = Cutover(blue=[blue], green=[dead_addr()])
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "down" not in c.status():
        time.sleep(0.05)
    rc, out, err = c.ctl("shift", "green", "10")
    s.ok(rc == 1 and "refused" in err and "force" in err,
         "shift to a green with no healthy member: refused, exit 1",
         (rc, out, err))
    s.eq(c.status_json().get("shift"), None, "no shift")
    rc, out, err = c.ctl("shift", "green", "10", "force")
    s.eq(rc, 0, "force overrides", out + err)
    s.eq(c.status_json().get("shift"), {"pool": "green", "percent": 10},
         "the forced shift is on")
    rc, out, err = c.ctl("rollback")
    s.ok(rc == 1, "rollback with nothing to roll back changes nothing",
         (rc, out, err))
    rc, out, err = c.ctl("shift", "green", "0")
    s.eq(rc, 0, "shift green 0 needs no gate", out + err)


@s.scenario("the shifted pool keeps its idle connections: no reconnect "
            "churn under a long shift")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 1;\n")
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    rc, out, err = c.ctl("shift", "green", "100")
    s.eq(rc, 0, "shift green 100", out + err)
    clients, stop = 20, time.monotonic() + 4.0
    bad = []

    def run():
        # keep-alive with a pause between requests: most of the time the
        # upstream connection waits idle, as a real client's does
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        while time.monotonic() < stop:
            conn.request("GET", "/")
            body = conn.getresponse().read()
            if body != b"green\n":
                bad.append(body)
            time.sleep(0.05)
        conn.close()
    ts = [threading.Thread(target=run) for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    s.eq(bad, [], "every request answered by green")
    # 20 clients hold 20 upstream connections at most, and green had 2
    # warm ones (upstream.warm_idle) before the shift; eight turns of the
    # warm-up timer (500 ms) must not have cut them down to 2 and made
    # the clients open new ones
    got = len(green.conns) - green.probes()
    s.ok(got <= clients + 2, "green accepted %d connections (beyond its "
         "probes) in 4 s for %d clients: at most %d" % (got, clients,
                                                       clients + 2),
         got)


s.done()
