#!/usr/bin/env python3
"""Zero downtime: requests and uploads in flight across a switch,
WebSocket-style tunnels (Upgrade, 101, bytes both ways) and how they are
drained after a switch, CONNECT refused, the SIGTERM sequence for
Kubernetes (not ready, serve for shutdown.delay_ms, close listeners, drain),
and reloads under a burst of connections."""

import calendar
import json
import re
import signal
import socket
import threading
import time

from harness import (PATTERN, PIECE, Background, Backend, Cutover, RawConn,
                     Suite, build_request, get, pattern_sha256, pools_config,
                     request, sha256, wait_until)

s = Suite()

# How much later than asked a timer of cutover's may fire on a loaded
# machine (CI runs the suite three times on 2 cores, under sanitizers too):
# an upper bound only; what the test can wait for, it waits for.
BOUND = 1.0


def log_time(stamp):
    """A log line's timestamp (2026-11-30T06:30:01.002Z) as time.time()."""
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) \
        + float("0" + stamp[19:-1])


MiB = 1024 * 1024


def tunnels(c, pool):
    return c.status_json()["pools"][pool].get("tunnels")


class Tunnel:
    """A client connection upgraded through cutover: GET /ws with Upgrade:
    websocket; .resp is the response to the upgrade request."""

    def __init__(self, port, path="/ws", timeout=10.0):
        self.raw = RawConn(port, timeout=timeout)
        self.raw.send(build_request("GET", path, [
            ("Upgrade", "websocket"), ("Connection", "Upgrade")]))
        self.resp = self.raw.read_response()
        self.closed_at = None
        self.close_kind = None      # "eof", "reset", "timeout", "data"
        self.watcher = None

    def echo(self, data, timeout=5.0):
        """Sends data and reads as many bytes back; returns them."""
        self.raw.send(data)
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < len(data) and time.monotonic() < deadline:
            if self.raw.buf:
                got += self.raw.buf
                self.raw.buf = b""
                continue
            if not self.raw._fill():
                break
        return got

    def watch(self, timeout):
        """Starts a thread that waits up to timeout s for the peer to close
        and records when (.closed_at, time.monotonic()) and how."""
        def run():
            sock = self.raw.s
            sock.settimeout(0.05)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(PIECE)
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    self.closed_at, self.close_kind = time.monotonic(), \
                        "reset"
                    return
                self.closed_at = time.monotonic()
                self.close_kind = "data" if chunk else "eof"
                return
            self.close_kind = "timeout"
        self.watcher = threading.Thread(target=run, daemon=True)
        self.watcher.start()

    def close(self):
        self.raw.close()


def upgraded(t):
    r = t.resp
    return (r.status == 101 and (r.header("Upgrade") or "").lower() ==
            "websocket" and "upgrade" in (r.header("Connection") or "")
            .lower())


# ------------------------------------------------------------ in flight


def timed(fn, *args, **kw):
    """(result, start, end) of fn(*args, **kw)."""
    t0 = time.monotonic()
    r = fn(*args, **kw)
    return r, t0, time.monotonic()


@s.scenario("a 10 s response and a 100 MiB upload in flight across a switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    size = 100 * MiB
    sent = {"n": 0}

    def paced(rate=25 * MiB):
        """100 MiB of PATTERN, at about rate bytes/s."""
        t0 = time.monotonic()
        left = size
        while left > 0:
            ahead = sent["n"] / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
            k = min(PIECE, left)
            yield PATTERN[:k]
            sent["n"] += k
            left -= k

    slow = Background(timed, get, c.port, "/delay?ms=10000", timeout=30)
    upload = Background(timed, request, c.port, "POST", "/echo",
                        headers={"Content-Length": str(size)},
                        body=paced(), timeout=30)
    try:
        s.ok(blue.wait_request("/delay", 5) and blue.wait_request("/echo", 5),
             "the slow request and the upload reached blue")
        s.ok(wait_until(lambda: sent["n"] >= 10 * MiB, 10),
             "the upload is under way (%d MiB sent)" % (sent["n"] // MiB))
        st = c.status_json()
        s.eq(st["pools"]["blue"]["inflight"], 2, "blue has 2 in flight", st)
        rc, out, err = c.ctl("switch", "green")
        t_switch = time.monotonic()
        s.eq(rc, 0, "switch green while both are in flight", out + err)
        r = get(c.port, "/")
        s.eq(r.body, b"green\n", "a new request answers green at once")
        s.ok(sent["n"] < size, "the upload was still going on after the "
             "switch (%d of %d MiB sent)" % (sent["n"] // MiB, size // MiB))
        drained = Background(timed, c.ctl, "wait-drained", "blue", "20",
                             timeout=40)
    finally:
        slow.join(30)
        upload.join(30)
    drained.join(30)
    t_now = time.monotonic()
    ok = slow.result is not None
    r = slow.result[0] if ok else None
    s.ok(ok and r.status == 200 and r.body == b"blue\n",
         "the 10 s response completes, from blue", repr(slow))
    u = upload.result[0] if upload.result else None
    body = json.loads(u.body) if u is not None and u.status == 200 else {}
    s.ok(body.get("name") == "blue" and body.get("bytes") == size and
         body.get("sha256") == pattern_sha256(size),
         "the 100 MiB upload completes on blue with the right hash",
         repr(upload) + " " + repr(body))
    s.eq(green.saw("/delay") + green.saw("/echo"), 0,
         "green never saw either")
    d = drained.result
    s.ok(d is not None and d[0][0] == 0,
         "wait-drained blue 20 exits 0", repr(drained))
    if ok and upload.result and d is not None:
        last_end = max(slow.result[2], upload.result[2])
        s.ok(d[2] >= last_end - 0.05 and d[2] >= slow.result[1] + 9.9,
             "wait-drained returned only after both ended",
             "switch %.3f, slow end %.3f, upload end %.3f, wait-drained "
             "returned %.3f (s after the slow request began)" % tuple(
                 x - slow.result[1] for x in (t_switch, slow.result[2],
                                              upload.result[2], d[2])))
        s.ok(upload.result[2] > t_switch + 0.5,
             "the upload ended well after the switch",
             "switch %.3f, upload end %.3f" % (t_switch, upload.result[2]))
    s.ok(t_now - t_switch < 20, "within bounds")


# ------------------------------------------------------------ tunnels


@s.scenario("a WebSocket-style tunnel through cutover")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    t = Tunnel(c.port)
    s.ok(upgraded(t), "GET /ws with Upgrade: websocket answers 101 with "
         "Upgrade: websocket and Connection: Upgrade", repr(t.resp))
    s.eq(t.resp.header("X-Backend"), "blue", "... from blue")
    s.eq(t.echo(b"hello\n"), b"hello\n", "bytes echo through the tunnel")
    s.eq(t.echo(b"x"), b"x", "a single byte too")
    s.ok(wait_until(lambda: tunnels(c, "blue") == 1, 2),
         "status json: blue tunnels 1", c.status_json())
    s.eq([p["TUNNELS"] for p in c.status_tables()["pools"]
          if p["POOL"].startswith("blue")], ["1"],
         "status table: blue's TUNNELS is 1", c.status())
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["inflight"]
                    >= 1, 2), "the tunnel counts as in flight on blue",
         c.status_json())

    # 1 MiB both ways at once: needs backpressure, not buffering it all
    data = bytes((i * 7 + 3) % 251 for i in range(256)) * (4 * 1024)
    got = []

    def send():
        t.raw.s.sendall(data)
    sender = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    sender.start()
    n = len(t.raw.buf)
    got.append(t.raw.buf)
    t.raw.buf = b""
    t.raw.s.settimeout(10)
    while n < len(data) and time.monotonic() - t0 < 20:
        chunk = t.raw.s.recv(PIECE)
        if not chunk:
            break
        got.append(chunk)
        n += len(chunk)
    sender.join(10)
    back = b"".join(got)
    s.ok(len(back) == len(data) and sha256(back) == sha256(data),
         "a 1 MiB round trip comes back intact (%d bytes in %.2f s)"
         % (len(back), time.monotonic() - t0))
    s.eq(t.echo(b"after\n"), b"after\n", "the tunnel still works after it")

    t.close()
    s.ok(blue.wait_tunnels(closes=1, timeout=3),
         "the client closing ends the tunnel on the backend too")
    s.ok(wait_until(lambda: tunnels(c, "blue") == 0 and
                    c.status_json()["pools"]["blue"]["inflight"] == 0, 3),
         "status: tunnels 0, inflight 0 after the close", c.status_json())
    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 0, "switch green (force)", out + err)
    rc, out, err = c.ctl("wait-drained", "blue", "2")
    s.eq(rc, 0, "wait-drained blue 2 then exits 0: no tunnel left on blue",
         out + err)


@s.scenario("Upgrade to a route that does not upgrade")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    raw = RawConn(c.port)
    r = raw.request("GET", "/", [("Upgrade", "websocket"),
                                 ("Connection", "Upgrade")])
    s.eq(r.status, 200, "GET / with Upgrade gets a normal 200")
    s.eq(r.body, b"blue\n", "... with blue's body")
    r = raw.request("GET", "/delay?ms=10")
    s.ok(r.status == 200 and r.body == b"blue\n" and not raw.eof,
         "the connection continues as HTTP", repr(r))
    raw.close()
    s.ok(wait_until(lambda: tunnels(c, "blue") == 0, 2),
         "no tunnel counted", c.status_json())


@s.scenario("CONNECT is refused")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    raw = RawConn(c.port)
    r = raw.request("CONNECT", "example.com:443",
                    [("Host", "example.com:443")])
    s.eq(r.status, 405, "CONNECT answers 405")
    s.eq((r.header("Connection") or "").lower(), "close",
         "... with Connection: close")
    s.ok(raw.closed(2), "... and the connection is closed")
    s.eq(blue.saw("example.com") + blue.saw("/"), 0,
         "the backend saw nothing")
    # RFC 9110 15.5.6: a 405 carries Allow, and what it lists is served
    allow = [m.strip() for m in (r.header("Allow") or "").split(",")]
    s.ok("GET" in allow and "POST" in allow and "CONNECT" not in allow,
         "... with Allow listing GET and POST, not CONNECT", allow)
    for method in allow:
        path = "/allowed-%s" % method.lower()
        r = request(c.port, method, path)
        # the backend reports each request on a pipe its reader thread
        # may not have read yet when the response is here
        s.ok(r.status == 200 and wait_until(lambda: blue.saw(path) == 1, 2),
             "%s, listed in Allow, reaches the member" % method,
             (r.status, r.body[:200]))


DRAIN_CONF = "switch = { drain_timeout_ms = 1000; drain_spread_ms = 500; };\n"


@s.scenario("tunnels on the old pool are drained after a switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=DRAIN_CONF)
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    ts = [Tunnel(c.port) for _ in range(10)]
    s.ok(all(upgraded(t) and t.resp.header("X-Backend") == "blue"
             for t in ts), "10 tunnels open on blue",
         [t.resp for t in ts if not upgraded(t)][:2])
    s.ok(all(t.echo(b"%d\n" % i) == b"%d\n" % i for i, t in enumerate(ts)),
         "all 10 echo")
    s.ok(wait_until(lambda: tunnels(c, "blue") == 10, 2),
         "status: blue tunnels 10", c.status_json())
    mark = c.log_mark()
    sent = time.monotonic()
    rc, out, err = c.ctl("switch", "green")
    replied = time.monotonic()
    s.eq(rc, 0, "switch green", out + err)
    for t in ts:
        t.watch(5.0)
    g = Tunnel(c.port)
    s.ok(upgraded(g) and g.resp.header("X-Backend") == "green",
         "a tunnel opened after the switch goes to green", repr(g.resp))

    time.sleep(max(0, sent + 0.8 - time.monotonic()))
    early = [t.closed_at - sent for t in ts if t.closed_at is not None]
    s.eq(early, [], "at 0.8 s after the switch all 10 tunnels are still up")
    s.eq(blue.tunnel_closes, 0, "... and the backend closed none")

    for t in ts:
        t.watcher.join(max(0.1, sent + 1.5 + BOUND - time.monotonic()))
    closes = sorted(t.closed_at - sent for t in ts
                    if t.closed_at is not None)
    kinds = [t.close_kind for t in ts]
    s.eq(len(closes), 10, "by drain_timeout_ms + drain_spread_ms (1.5 s) "
         "+ %g s all 10 tunnels are closed" % BOUND,
         "close kinds %r, times %r" % (kinds, closes))
    s.eq(kinds, ["eof"] * 10, "each closed cleanly (EOF, no reset, no "
         "stray bytes)")
    if closes:
        s.ok(closes[0] >= 0.95, "none closed before drain_timeout_ms "
             "(first at %.3f s)" % closes[0], closes)
        s.ok(closes[-1] <= 1.5 + BOUND, "the last closed by %g s (at %.3f "
             "s)" % (1.5 + BOUND, closes[-1]), closes)
        s.ok(closes[-1] - closes[0] > 0.010, "the closes are spread "
             "(%.0f ms from first to last)"
             % (1000 * (closes[-1] - closes[0])), closes)
    s.match(r"drain: closing 10 tunnel\(s\) on blue over 500 ms",
            c.log_text()[mark:], "the log says so")
    s.eq(len(re.findall(r"drain: closing", c.log_text()[mark:])), 1,
         "... once")
    s.ok(blue.wait_tunnels(closes=10, timeout=3),
         "the backend side of every blue tunnel is closed too",
         blue.tunnel_closes)
    s.ok(wait_until(lambda: tunnels(c, "blue") == 0, 2),
         "status: blue tunnels back to 0", c.status_json())
    rc, out, err = c.ctl("wait-drained", "blue", "5")
    s.eq(rc, 0, "wait-drained blue 5 exits 0 afterwards", out + err)
    s.eq(g.echo(b"still here\n"), b"still here\n",
         "the tunnel on green stays open")
    s.eq(tunnels(c, "green"), 1, "status: green tunnels 1")
    s.ok(replied - sent < 1, "within bounds")


@s.scenario("a rollback within drain_timeout_ms cancels the drain")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=DRAIN_CONF)
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    ts = [Tunnel(c.port) for _ in range(3)]
    s.ok(all(upgraded(t) for t in ts), "3 tunnels open on blue")
    sent = time.monotonic()
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    time.sleep(0.3)
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "rollback within drain_timeout_ms", out + err)
    s.ok(time.monotonic() - sent < 1.0, "... (%.2f s after the switch)"
         % (time.monotonic() - sent))
    for t in ts:
        t.watch(max(0.1, sent + 2.2 - time.monotonic()))
    for t in ts:
        t.watcher.join(5)
    s.eq([t.close_kind for t in ts], ["timeout"] * 3,
         "2.2 s after the switch (past timeout + spread) the tunnels are "
         "still open")
    s.ok(all(t.echo(b"ok\n") == b"ok\n" for t in ts),
         "... and still echo")
    s.eq(tunnels(c, "blue"), 3, "status: blue tunnels 3")
    s.eq(blue.tunnel_closes, 0, "the backend closed none")


# ------------------------------------------------------------ SIGTERM


SHUTDOWN_CONF = "shutdown = { delay_ms = 1000; grace_ms = 3000; };\n"


def try_get(port):
    """("ok", Response) | ("refused", None) | ("error", text)."""
    try:
        raw = RawConn(port, timeout=3)
    except ConnectionRefusedError:
        return "refused", None
    except OSError as e:
        return "error", repr(e)
    try:
        return "ok", raw.request("GET", "/")
    except (OSError, EOFError, ValueError) as e:
        return "error", repr(e)
    finally:
        raw.close()


@s.scenario("SIGTERM: not ready, serve for delay_ms, close, drain, exit")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=SHUTDOWN_CONF)
    st = c.status_json()
    s.eq(st["ready"], True, "before SIGTERM status says ready", st)
    slow = Background(timed, get, c.port, "/delay?ms=1500", timeout=10)
    s.ok(blue.wait_request("/delay", 5), "a 1.5 s request is in flight")
    mark = c.log_mark()
    t0 = time.monotonic()
    c.signal(signal.SIGTERM)
    st = wait_until(lambda: (lambda x: x if x["stopping"] else None)(
        c.status_json()), 0.5) or c.status_json()
    s.eq(st["ready"], False, "at once status says not ready", st)
    s.eq(st["stopping"], True, "... and stopping", st)
    head = c.status()[0]
    s.ok(head.endswith("  stopping (not ready)"),
         "the table's first line ends with 'stopping (not ready)'", head)
    s.eq(c.status_json().get("ready"), False, "status json: ready false")

    # New connections until one is refused (at most 5 s); each poll with
    # the wall-clock time it began and ended, as cutover's log has it.
    polls = []          # (began, ended, outcome, detail)
    while time.monotonic() - t0 < 5.0:
        began = time.time()
        kind, detail = try_get(c.port)
        polls.append((began, time.time(), kind, detail))
        if kind == "refused":
            break
        time.sleep(0.05)
    closed = c.wait_log(r"^(\S+) cutover\[\d+\]: info: stopping: listeners "
                        r"closed", 5, since=mark)
    termed = c.wait_log(r"^(\S+) cutover\[\d+\]: info: SIGTERM received",
                        1, since=mark)
    t_closed = log_time(closed.group(1)) if closed else 0
    t_termed = log_time(termed.group(1)) if termed else 0
    diag = "\n".join("%+.3f..%+.3f %s %r" % (p[0] - t_closed,
                                            p[1] - t_closed, p[2], p[3])
                     for p in polls) + "\n(times from the log's \"listeners " \
        "closed\")"
    before = [p for p in polls if p[1] < t_closed]
    # the delay counts from the loop's time of the signal, a few ms before
    # the "SIGTERM received" line is written
    s.ok(closed and termed and
         1.0 - 0.020 <= t_closed - t_termed <= 1.0 + BOUND,
         "the listeners close delay_ms (1 s) after SIGTERM, by cutover's "
         "own log (%.3f s)" % (t_closed - t_termed), c.log_text()[mark:])
    s.ok(len(before) >= 5 and
         all(p[2] == "ok" and p[3].status == 200 for p in before),
         "until then new connections are accepted and served (%d polls)"
         % len(before), diag)
    served = [p for p in polls if p[2] == "ok"]
    s.ok(served and all((p[3].header("Connection") or "").lower() == "close"
                        for p in served),
         "... and every response carries Connection: close", diag)
    s.ok(polls and polls[-1][2] == "refused" and polls[-1][1] >= t_closed,
         "then a new connection is refused, none before the log says the "
         "listeners closed", diag)
    slow.join(10)
    r = slow.result[0] if slow.result else None
    s.ok(r is not None and r.status == 200 and r.body == b"blue\n",
         "the in-flight /delay?ms=1500 completes", repr(slow))
    rc = c.wait(5)
    t_exit = time.monotonic() - t0
    s.eq(rc, 0, "cutover exits 0 (after %.2f s)" % t_exit)
    if slow.result:
        s.ok(t0 + t_exit >= slow.result[2] - 0.05,
             "... after the in-flight request ended")
    log = c.log_text()[mark:]
    s.match(r"SIGTERM received: not ready; serving for 1000 ms before "
            r"closing listeners", log, "log: SIGTERM received ...")
    s.match(r"stopping: listeners closed, draining \d+ connection\(s\) for "
            r"up to 3000 ms", log, "log: stopping: listeners closed ...")
    s.match(r"^\S+ cutover\[\d+\]: info: exiting$", log, "log: exiting")


@s.scenario("a second SIGTERM during the delay exits at once")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=SHUTDOWN_CONF)
    c.signal(signal.SIGTERM)
    s.ok(wait_until(lambda: c.status_json()["stopping"], 0.5),
         "stopping after the first SIGTERM")
    time.sleep(0.2)
    s.ok(c.alive(), "still running during the delay")
    t1 = time.monotonic()
    c.signal(signal.SIGTERM)
    rc = c.wait(3)
    dt = time.monotonic() - t1
    s.eq(rc, 0, "the second SIGTERM: cutover exits 0 (after %.3f s)" % dt)
    log = c.log_text()
    s.match(r"^\S+ cutover\[\d+\]: warning: SIGTERM received: second "
            r"stop: exiting now$", log, "the log says it exits now")
    s.ok("stopping: listeners closed" not in log,
         "... without waiting for the rest of delay_ms (the listeners were "
         "never closed for a drain)", log)


# ------------------------------------------------------------ reload


@s.scenario("reloads during a burst of connections")
def _():
    b1, b2, g = Backend("blue-1"), Backend("blue-2"), Backend("green")
    c = Cutover(blue=[b1], green=[g])
    configs = [pools_config([b1, b2], [g]), pools_config([b1], [g])]
    done = threading.Event()
    results = []
    lock = threading.Lock()

    def client():
        mine = []
        t_end = time.monotonic() + 15
        for i in range(400):
            if (i >= 50 and done.is_set()) or time.monotonic() > t_end:
                break
            kind, detail = try_get(c.port)
            mine.append((kind, detail if kind != "ok" else detail.status))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, daemon=True)
               for _ in range(32)]
    for t in threads:
        t.start()
    outcomes = []
    for i in range(5):
        time.sleep(0.15)
        c.reload_file(configs[i % 2])
        mark = c.log_mark()
        c.signal(signal.SIGHUP)
        m = c.wait_log(r"info: reload: reloaded |error: reload failed", 5,
                       since=mark)
        outcomes.append(m.group(0) if m else None)
    done.set()
    for t in threads:
        t.join(20)
    s.eq(outcomes, ["info: reload: reloaded "] * 5,
         "5 reloads applied during the burst")
    bad = [r for r in results if r[0] != "ok" or r[1] != 200]
    s.ok(len(results) >= 32 * 50, "%d requests, each on a new connection"
         % len(results))
    s.eq(len(bad), 0, "zero refused or reset connections, all 200",
         bad[:10])
    s.ok(c.alive(), "cutover still running")


@s.scenario("switch.drain_timeout_ms = 0: the old pool's tunnels close at "
            "once; a request in flight is not cut")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=(
        "switch = { drain_timeout_ms = 0; drain_spread_ms = 0; };\n"))
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    ts = [Tunnel(c.port) for _ in range(3)]
    s.ok(all(upgraded(t) for t in ts), "3 tunnels open on blue")
    slow = Background(get, c.port, "/delay?ms=1500")
    s.ok(blue.wait_request("/delay", 5), "a slow request is in flight on "
         "blue")
    for t in ts:
        t.watch(5.0)
    sent = time.monotonic()
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    for t in ts:
        t.watcher.join(5.0)
    closes = [t.closed_at - sent for t in ts if t.closed_at is not None]
    s.ok(len(closes) == 3 and max(closes) < BOUND, "all 3 closed at once "
         "(within %g s)" % BOUND, (closes, [t.close_kind for t in ts]))
    slow.join(10)
    s.ok(slow.result is not None and slow.result.status == 200 and
         slow.result.body == b"blue\n", "the request in flight ends with "
         "its 200 from blue", slow)


@s.scenario("wait-drained waits while a tunnel on the pool is open")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=(
        "switch = { drain_timeout_ms = 60000; };\n"))
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    t = Tunnel(c.port)
    s.ok(upgraded(t), "a tunnel on blue")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    rc, out, err = c.ctl("wait-drained", "blue", "1")
    s.ok(rc == 3 and err.startswith("cutoverctl: timeout: after 1 s: blue "
                                    "has "), "wait-drained blue 1 with the "
         "tunnel open: exit 3, timed out", (rc, out, err))
    s.eq(t.echo(b"still\n"), b"still\n", "the tunnel is still open")
    waiting = Background(c.ctl, "wait-drained", "blue", "10")
    time.sleep(0.3)
    s.ok(waiting.thread.is_alive(), "a wait-drained blue 10 is waiting")
    t.close()
    waiting.join(10)
    rc, out, err = waiting.result or (None, "", "")
    s.ok(rc == 0 and out == "blue: drained\n", "the tunnel closed: it "
         "answers blue: drained, exit 0", waiting)


@s.scenario("timeouts.tunnel_idle_ms: a tunnel passing no byte is closed")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=(
        "timeouts = { tunnel_idle_ms = 700; };\n"))
    t = Tunnel(c.port)
    s.ok(upgraded(t), "a tunnel")
    busy = Tunnel(c.port)
    s.ok(upgraded(busy), "a second tunnel, which talks")
    t.watch(10.0)
    opened = time.monotonic()
    # the second one passes a byte every 0.2 s for 1.5 s: not idle
    ok = True
    while time.monotonic() < opened + 1.5:
        ok = ok and busy.echo(b".") == b"."
        time.sleep(0.2)
    s.ok(ok, "the talking tunnel echoes for 1.5 s, twice tunnel_idle_ms")
    t.watcher.join(5.0)
    idle = t.closed_at - opened if t.closed_at else None
    s.ok(idle is not None and 0.6 <= idle < 0.7 + BOUND and
         t.close_kind == "eof", "the silent tunnel is closed after 0.7 s "
         "(%s)" % idle, (idle, t.close_kind))
    s.ok(blue.wait_tunnels(closes=1, timeout=3), "so is its member side")
    s.eq(busy.echo(b"x"), b"x", "the talking one is still open")


s.done()
