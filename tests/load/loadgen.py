#!/usr/bin/env python3
"""A load generator for cutover: N keep-alive HTTP/1.1 connections sending
GET requests back to back, recording every request.

    loadgen.py --port PORT [--host 127.0.0.1] [--connections 64]
               [--duration SECONDS] [--max-requests N] [--path /]
               [--timeout SECONDS] [--out FILE]

Each connection sends its next request as soon as the previous response
has been read (no pipelining).  A connection the server closes (after a
response with "Connection: close") is opened again; any other failure (a
refused connect, a reset, an early EOF, a malformed response, a timeout)
is recorded as a socket error, and the connection is opened again.

The run ends after --duration seconds or --max-requests requests, which
ever comes first.  With --out, every request is written as one line

    START END STATUS BACKEND ERROR

(START and END: time.monotonic() when the request was begun -- before the
connect, when a new connection was needed -- and when its response was
complete or it failed; STATUS 0 for a socket error; BACKEND the
X-Backend header, or the body's first line, or "-"; ERROR "-" or a
description without spaces).  CLOCK_MONOTONIC is system-wide, so these
times compare with times taken in another process.  A JSON summary is
printed on stdout.

Backends named POOL-N (e.g. "blue-1") are attributed to pool POOL:
pool_of("blue-1") == "blue".

Mix, used as a module, is the mix of clients the load test and the soak
drive: keep-alive GETs (some slow), POSTs with bodies, a new connection
per request, tunnels; each operation carries an id in its target, so a
backend's stamps (backend.py --stamp) and cutover's access log can be
matched with it.
"""

import argparse
import asyncio
import hashlib
import json
import sys
import time

# A record: (start, end, status, backend, error)


def pool_of(backend):
    """The pool a backend name belongs to: the part before the first "-"."""
    return backend.split("-", 1)[0] if backend else ""


class Budget:
    """The shared request budget and deadline of one run."""

    def __init__(self, max_requests, deadline):
        self.left = max_requests
        self.deadline = deadline

    def take(self):
        if self.left <= 0 or time.monotonic() >= self.deadline:
            return False
        self.left -= 1
        return True


class Stats:
    def __init__(self):
        self.connects = 0
        self.server_closes = 0


async def _read_response(reader, timeout, on_head=None):
    """Reads one response; returns (status, headers dict (lower-case
    names), body).  Raises on anything malformed.  on_head(status,
    headers), when given, is called as soon as the head has been read (a
    failure after it is one mid-body)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad-status-line:%r" % lines[0][:60])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    if on_head is not None:
        on_head(status, headers)
    if "content-length" in headers:
        n = int(headers["content-length"])
        body = await asyncio.wait_for(reader.readexactly(n), timeout) \
            if n else b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        for _ in range(100000):
            size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"),
                                               timeout)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while (await asyncio.wait_for(reader.readuntil(b"\r\n"),
                                              timeout)) != b"\r\n":
                    pass
                break
            body += await asyncio.wait_for(reader.readexactly(size + 2),
                                           timeout)
            body = body[:-2]
    elif status < 200 or status in (204, 304):
        body = b""
    else:
        raise ValueError("response-without-length")
    return status, headers, body


def _describe(e):
    text = "%s:%s" % (type(e).__name__, e)
    return "".join(c if c.isprintable() and not c.isspace() else "_"
                   for c in text)[:200] or "error"


async def _connection(host, port, path, budget, records, stats, timeout):
    req = ("GET %s HTTP/1.1\r\nHost: loadgen\r\nUser-Agent: loadgen\r\n"
           "\r\n" % path).encode()
    reader = writer = None
    try:
        while budget.take():
            start = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), timeout)
                    stats.connects += 1
                writer.write(req)
                status, headers, body = await _read_response(reader, timeout)
                end = time.monotonic()
                backend = headers.get("x-backend") or \
                    body.split(b"\n", 1)[0].decode("latin-1").strip() or "-"
                records.append((start, end, status, backend, "-"))
                if "close" in headers.get("connection", "").lower():
                    stats.server_closes += 1
                    writer.close()
                    writer = None
            except (OSError, EOFError, ValueError, asyncio.TimeoutError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError) as e:
                records.append((start, time.monotonic(), 0, "-",
                                _describe(e)))
                if writer is not None:
                    writer.close()
                writer = None
                await asyncio.sleep(0.01)   # no hot loop on a dead port
    finally:
        if writer is not None:
            writer.close()


async def _run(host, port, connections, duration, max_requests, path,
               timeout):
    budget = Budget(max_requests, time.monotonic() + duration)
    records = []
    stats = Stats()
    tasks = [asyncio.ensure_future(_connection(host, port, path, budget,
                                               records, stats, timeout))
             for _ in range(connections)]
    # bounded: every request has its timeout, the budget its deadline
    await asyncio.wait_for(asyncio.gather(*tasks),
                           duration + 4 * timeout + 10)
    return records, stats


def run(port, host="127.0.0.1", connections=64, duration=10.0,
        max_requests=10 ** 9, path="/", timeout=10.0):
    """Runs the load in this thread; returns (records, stats)."""
    return asyncio.run(_run(host, port, connections, duration, max_requests,
                            path, timeout))


# ------------------------------------------------- a mix of clients

OP_TIMEOUT = 15.0           # any one request or tunnel
BODY_SIZES = (10, 4096, 65536, 262144)
# what a client operation may raise when it fails
CLIENT_ERRORS = (OSError, EOFError, ValueError, asyncio.TimeoutError,
                 asyncio.IncompleteReadError, asyncio.LimitOverrunError)


class Ids:
    def __init__(self):
        self.n = 0

    def next(self):
        self.n += 1
        return self.n


class Rec:
    """One client operation: kind, method, id (in its target as id=N),
    start, end, status (0: no response head came; a failure with a status
    broke off mid-body), backend (X-Backend), closed (the response said
    Connection: close), err (None when it succeeded)."""
    __slots__ = ("kind", "method", "id", "start", "end", "status",
                 "backend", "closed", "err")

    def __init__(self, kind, method, rid):
        self.kind, self.method, self.id = kind, method, rid
        self.start = time.monotonic()
        self.end = None
        self.status = 0
        self.backend = "-"
        self.closed = False
        self.err = None

    def __repr__(self):
        return "%s %s id=%d %.3f..%.3f status=%d backend=%s err=%s" % (
            self.kind, self.method, self.id, self.start, self.end or 0,
            self.status, self.backend, self.err)


def body_of(size, rid):
    seed = b"%d:" % rid
    return (seed * (size // len(seed) + 1))[:size]


class Mix:
    """Clients of several kinds, in one asyncio loop (run() in a thread of
    its own), until deadline; every operation is a Rec in .recs:

      get       keep-alive GETs of /; one in ten is slow: /delay?ms=300
                or (every other time) /trickle, 32 bytes 10 ms apart
      post      keep-alive POSTs of /echo with bodies of BODY_SIZES (one
                in eight read after a pause of 200 ms); the echo's length
                and SHA-256 are checked
      fresh     a new connection per request, GET and POST in turn
      tunnel    upgrades to /ws, echoes five messages 0.1 s apart, closes

    counts: kind -> number of clients."""

    def __init__(self, port, deadline, counts, host="127.0.0.1"):
        self.port = port
        self.host = host
        self.deadline = deadline
        self.counts = counts
        self.ids = Ids()
        self.recs = []

    def done(self):
        return time.monotonic() >= self.deadline

    async def _open(self):
        return await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), OP_TIMEOUT)

    async def _exchange(self, conn, rec, req, check):
        reader, writer = conn
        writer.write(req)

        def head(status, headers):
            rec.status = status
            rec.backend = headers.get("x-backend", "-")
            rec.closed = "close" in headers.get("connection", "").lower()
        status, headers, body = await _read_response(reader, OP_TIMEOUT,
                                                     head)
        if status != 200:
            rec.err = "status-%d" % status
        else:
            rec.err = check(body)
        return rec.closed

    def _get(self, rid, fresh):
        path = "/?id=%d" % rid
        if rid % 10 == 0:
            path = ("/delay?ms=300&id=%d" if rid % 20 else
                    "/trickle?bytes=32&ms=10&id=%d") % rid
        req = ("GET %s HTTP/1.1\r\nHost: loadgen\r\n%s\r\n" % (
            path, "Connection: close\r\n" if fresh else "")).encode()
        rec = Rec("get-new" if fresh else "get", "GET", rid)

        def check(body):
            want = (PATTERN32 if "/trickle" in path else
                    (rec.backend + "\n").encode())
            return None if body == want else "body %r" % body[:40]
        return rec, req, check

    def _post(self, rid, fresh):
        size = BODY_SIZES[rid % len(BODY_SIZES)]
        body = body_of(size, rid)
        path = "/echo?id=%d%s" % (rid, "&pause_ms=200" if rid % 8 == 0
                                  else "")
        req = ("POST %s HTTP/1.1\r\nHost: loadgen\r\nContent-Length: %d"
               "\r\n%s\r\n" % (path, size, "Connection: close\r\n"
                                 if fresh else "")).encode() + body
        rec = Rec("post-new" if fresh else "post", "POST", rid)
        digest = hashlib.sha256(body).hexdigest()

        def check(got):
            try:
                j = json.loads(got)
            except ValueError:
                return "body not JSON: %r" % got[:40]
            if j.get("bytes") != size or j.get("sha256") != digest:
                return "echo %r, sent %d bytes" % (j, size)
            return None
        return rec, req, check

    async def keepalive(self, method):
        conn = None
        try:
            while not self.done():
                rid = self.ids.next()
                rec, req, check = (self._get if method == "GET" else
                                   self._post)(rid, False)
                self.recs.append(rec)
                try:
                    if conn is None:
                        conn = await self._open()
                    if await self._exchange(conn, rec, req, check):
                        conn[1].close()
                        conn = None
                except CLIENT_ERRORS as e:
                    rec.err = _describe(e)
                    if conn is not None:
                        conn[1].close()
                    conn = None
                    await asyncio.sleep(0.01)
                rec.end = time.monotonic()
        finally:
            if conn is not None:
                conn[1].close()

    async def fresh(self):
        """A new connection per request, GET and POST in turn."""
        while not self.done():
            rid = self.ids.next()
            rec, req, check = (self._get if rid % 2 else self._post)(rid,
                                                                    True)
            self.recs.append(rec)
            conn = None
            try:
                conn = await self._open()
                await self._exchange(conn, rec, req, check)
            except CLIENT_ERRORS as e:
                rec.err = _describe(e)
                await asyncio.sleep(0.01)
            finally:
                if conn is not None:
                    conn[1].close()
            rec.end = time.monotonic()

    async def tunnel(self):
        """Upgrades to /ws, echoes five messages 0.1 s apart, closes."""
        while not self.done():
            rid = self.ids.next()
            rec = Rec("tunnel", "GET", rid)
            self.recs.append(rec)
            writer = None
            try:
                reader, writer = await self._open()
                writer.write(("GET /ws?id=%d HTTP/1.1\r\nHost: loadgen\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade"
                              "\r\n\r\n" % rid).encode())
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"),
                                              OP_TIMEOUT)
                lines = head.decode("latin-1").split("\r\n")
                rec.status = int(lines[0].split(" ", 2)[1])
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.strip().lower() == "x-backend":
                        rec.backend = v.strip()
                if rec.status != 101:
                    rec.err = "status-%d" % rec.status
                else:
                    for i in range(5):
                        msg = b"tunnel %d message %d\n" % (rid, i)
                        writer.write(msg)
                        got = await asyncio.wait_for(
                            reader.readexactly(len(msg)), OP_TIMEOUT)
                        if got != msg:
                            rec.err = "echo %r" % got
                            break
                        await asyncio.sleep(0.1)
            except CLIENT_ERRORS as e:
                rec.err = _describe(e)
                await asyncio.sleep(0.01)
            finally:
                if writer is not None:
                    writer.close()
            rec.end = time.monotonic()

    def tasks(self):
        """The clients' coroutines."""
        n = self.counts
        return [self.keepalive("GET") for _ in range(n.get("get", 0))] + \
            [self.keepalive("POST") for _ in range(n.get("post", 0))] + \
            [self.fresh() for _ in range(n.get("fresh", 0))] + \
            [self.tunnel() for _ in range(n.get("tunnel", 0))]

    async def _main(self):
        # bounded: each operation has its timeout, the loops the deadline
        await asyncio.wait_for(
            asyncio.gather(*[asyncio.ensure_future(t) for t in
                             self.tasks()]),
            self.deadline - time.monotonic() + 4 * OP_TIMEOUT)

    def run(self):
        asyncio.run(self._main())


# backend.py's /trickle?bytes=32: bytes 0..31 of its pattern
PATTERN32 = bytes(range(32))


def write_records(records, out):
    with open(out, "w") as f:
        for r in records:
            f.write("%.6f %.6f %d %s %s\n" % r)


def read_records(path):
    records = []
    with open(path) as f:
        for line in f:
            a, b, st, backend, err = line.rstrip("\n").split(" ", 4)
            records.append((float(a), float(b), int(st), backend, err))
    return records


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, int(round(p / 100.0 *
                                               (len(sorted_values) - 1))))
    return sorted_values[k]


def summarize(records, stats=None):
    """Totals of a run, as a dict."""
    ok = [r for r in records if r[2] != 0]
    errors = [r for r in records if r[2] == 0]
    non2xx = [r for r in ok if not 200 <= r[2] < 300]
    if records:
        t0 = min(r[0] for r in records)
        t1 = max(r[1] for r in records)
    else:
        t0 = t1 = 0.0
    lat = sorted((r[1] - r[0]) * 1000.0 for r in ok)
    backends = {}
    for r in ok:
        backends[r[3]] = backends.get(r[3], 0) + 1
    err_kinds = {}
    for r in errors:
        k = r[4].split(":", 1)[0]
        err_kinds[k] = err_kinds.get(k, 0) + 1
    span = t1 - t0
    out = {
        "requests": len(records),
        "responses": len(ok),
        "socket_errors": len(errors),
        "error_kinds": err_kinds,
        "non_2xx": len(non2xx),
        "seconds": round(span, 3),
        "rate_per_s": round(len(ok) / span, 1) if span > 0 else 0.0,
        "latency_ms_p50": round(percentile(lat, 50), 2),
        "latency_ms_p99": round(percentile(lat, 99), 2),
        "latency_ms_max": round(lat[-1], 2) if lat else 0.0,
        "backends": backends,
    }
    if stats is not None:
        out["connects"] = stats.connects
        out["server_closes"] = stats.server_closes
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=10 ** 9)
    ap.add_argument("--path", default="/")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.connections < 1 or a.duration <= 0 or a.max_requests < 1:
        ap.error("connections, duration and max-requests must be positive")
    records, stats = run(a.port, a.host, a.connections, a.duration,
                         a.max_requests, a.path, a.timeout)
    if a.out:
        write_records(records, a.out)
    print(json.dumps(summarize(records, stats), sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
