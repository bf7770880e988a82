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
"""

import argparse
import asyncio
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


async def _read_response(reader, timeout):
    """Reads one response; returns (status, headers dict (lower-case
    names), body).  Raises on anything malformed."""
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
