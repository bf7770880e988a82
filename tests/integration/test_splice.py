#!/usr/bin/env python3
"""Large Content-Length bodies moved through a pipe with splice(2)
(upstream.splice): byte-exact both ways with splice on and off, pipelined
requests after a spliced body left for their own turn, backpressure to a
slow reader, a member that closes or resets mid-body, a client that
closes mid-upload, a member that sends more than it announced, and pipes
cached per worker, never one per connection."""

import hashlib
import json
import os
import socket
import struct
import threading
import time

from harness import (Background, Backend, Cutover, RawConn, RssSampler,
                     ScriptedMember, Suite, TEST_WORKERS, build_request,
                     dead_addr, get, pattern_sha256, request, sha256,
                     wait_until)
from backend import blob

MiB = 1024 * 1024
RSS_LIMIT_KB = int(os.environ.get("CUTOVER_TEST_RSS_MB", "64")) * 1024
OFF = "upstream = { splice = false; };\n"
# request bodies are spliced with splice_requests, which is on by default
ON = "upstream = { splice_requests = true; };\n"
COPY_UPLOADS = "upstream = { splice_requests = false; };\n"
s = Suite()


def pipes(c):
    """How many pipe descriptors cutover holds now."""
    n = 0
    d = "/proc/%d/fd" % c.pid
    for fd in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, fd)).startswith("pipe:"):
                n += 1
        except OSError:
            pass
    return n


def start(extra="", access=False):
    blue = Backend("blue")
    log = 'log = { access = "json"; };\n' if access else ""
    c = Cutover(blue=[blue], green=[dead_addr()], extra=extra + log,
                start=False)
    c.stdout = os.path.join(c.dir, "stdout")
    c.start()
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    return blue, c


@s.scenario("1 and 10 MiB bodies both ways, byte-exact, splice on and off")
def _():
    for label, extra in (("on", ON), ("off", OFF)):
        blue, c = start(extra, access=True)
        base = pipes(c)
        n = 0
        for size, seed in ((MiB, 1), (10 * MiB, 2)):
            r = get(c.port, "/blob?bytes=%d&seed=%d" % (size, seed),
                    timeout=30)
            s.ok(r.status == 200 and len(r.body) == size and
                 sha256(r.body) == sha256(blob(size, seed)),
                 "splice %s: %d MiB response byte-exact" %
                 (label, size // MiB),
                 "status %s, %d bytes" % (r.status, len(r.body)))
            body = blob(size, seed + 10)
            r = request(c.port, "POST", "/echo", body=body, timeout=30)
            j = json.loads(r.body) if r.status == 200 else {}
            s.eq((r.status, j.get("bytes"), j.get("sha256")),
                 (200, size, sha256(body)),
                 "splice %s: %d MiB upload arrives byte-exact" %
                 (label, size // MiB))
            n += 2
        # the access log counts what went through the pipe
        s.ok(wait_until(lambda: len(c.stdout_text().splitlines()) >= n, 5),
             "splice %s: a log line per request" % label, c.stdout_text())
        lines = [json.loads(x) for x in c.stdout_text().splitlines()]
        for method, key in (("GET", "bytes_out"), ("POST", "bytes_in")):
            got = [x[key] for x in lines if x["method"] == method]
            s.ok(len(got) == 2 and all(size < n < size + 1024 for n, size
                                       in zip(got, (MiB, 10 * MiB))),
                 "splice %s: %s of the %s requests is body + head" %
                 (label, key, method), got)
        # a pipe is kept for the next body (per worker, bounded); none
        # when splicing is off
        if label == "on":
            s.ok(pipes(c) > base, "splice on: cutover keeps a pipe for "
                 "reuse", "%d pipe fds, %d before" % (pipes(c), base))
        else:
            s.eq(pipes(c), base, "splice off: no pipe is opened")


@s.scenario("splice_min_bytes: a body below it is copied, one at it "
            "spliced")
def _():
    blue, c = start("upstream = { splice_min_bytes = 2097152; };\n")
    base = pipes(c)
    r = get(c.port, "/blob?bytes=%d&seed=30" % MiB, timeout=30)
    s.ok(r.status == 200 and r.body == blob(MiB, 30),
         "a 1 MiB response byte-exact", r.status)
    s.eq(pipes(c), base, "1 MiB, below splice_min_bytes = 2 MiB: no pipe")
    # the head's read takes some of the body: 3 MiB leaves over 2 MiB
    r = get(c.port, "/blob?bytes=%d&seed=31" % (3 * MiB), timeout=30)
    s.ok(r.status == 200 and r.body == blob(3 * MiB, 31),
         "a 3 MiB response byte-exact", r.status)
    s.ok(pipes(c) > base, "3 MiB: spliced through a pipe, kept for reuse",
         "%d pipe fds, %d before" % (pipes(c), base))


@s.scenario("uploads are spliced unless upstream.splice_requests is off; "
            "responses are spliced either way")
def _():
    for label, extra in (("default", ""),
                         ("splice_requests off", COPY_UPLOADS)):
        blue, c = start(extra)
        base = pipes(c)
        body = blob(3 * MiB, 40)
        r = request(c.port, "POST", "/echo", body=body, timeout=30)
        j = json.loads(r.body) if r.status == 200 else {}
        s.eq((r.status, j.get("bytes"), j.get("sha256")),
             (200, len(body), sha256(body)),
             "%s: a 3 MiB upload arrives byte-exact" % label)
        if label == "default":
            s.ok(pipes(c) > base, "default: the upload went through a "
                 "pipe, kept for reuse",
                 "%d pipe fds, %d before" % (pipes(c), base))
        else:
            s.eq(pipes(c), base, "splice_requests off: the upload went "
                 "without a pipe")
        r = get(c.port, "/blob?bytes=%d&seed=41" % (3 * MiB), timeout=30)
        s.ok(r.status == 200 and r.body == blob(3 * MiB, 41),
             "%s: a 3 MiB response byte-exact" % label, r.status)
        if label != "default":
            # (by default the upload's pipe is already there)
            s.ok(pipes(c) > base, "splice_requests off: the response went "
                 "through a pipe", "%d pipe fds, %d before" % (pipes(c), base))


@s.scenario("a reload that turns upstream.splice off closes the cached "
            "pipes, and the one in use once its body is through")
def _():
    blue, c = start()
    base = pipes(c)
    # four at once: a pipe each, cached as they end
    ups = [Background(request, c.port, "POST", "/echo",
                      body=blob(3 * MiB, seed), timeout=30)
           for seed in (50, 51, 55, 56)]
    for b in ups:
        b.join(40)
    s.eq([b.result.status if b.result else b.error for b in ups],
         [200] * 4, "four uploads at once before the reload")
    cached = pipes(c)
    s.ok(cached > base, "pipes cached for reuse",
         "%d pipe fds, %d before" % (cached, base))
    # an upload through a pipe, half sent across the reload
    body = blob(3 * MiB, 52)
    raw = RawConn(c.port, timeout=30)
    raw.send(build_request("POST", "/echo", [("Content-Length",
                                               str(len(body)))])
             + body[:MiB])
    s.ok(blue.wait_request("/echo", 5, count=3),
         "the half-sent upload reached the member")
    c.reload_file(c.config_text + "upstream = { splice = false; };\n",
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload to upstream.splice = false", out + err)
    s.eq(pipes(c), base + 2, "once the reload answers, only the pipe in "
         "use is open", "%d pipe fds, %d before any" % (pipes(c), base))
    raw.send(body[MiB:])
    r = raw.read_response()
    j = json.loads(r.body) if r.status == 200 else {}
    s.eq((r.status, j.get("bytes"), j.get("sha256")),
         (200, len(body), sha256(body)),
         "the upload across the reload arrives byte-exact")
    s.ok(wait_until(lambda: pipes(c) == base, 5),
         "its pipe is closed once its body is through, not cached",
         "%d pipe fds, %d before any" % (pipes(c), base))
    body = blob(3 * MiB, 53)
    r = request(c.port, "POST", "/echo", body=body, timeout=30)
    j = json.loads(r.body) if r.status == 200 else {}
    s.eq((r.status, j.get("bytes"), j.get("sha256")),
         (200, len(body), sha256(body)),
         "an upload after the reload arrives byte-exact")
    r = get(c.port, "/blob?bytes=%d&seed=54" % (3 * MiB), timeout=30)
    s.ok(r.status == 200 and r.body == blob(3 * MiB, 54),
         "a download after the reload is byte-exact", r.status)
    s.eq(pipes(c), base, "... and neither opened a pipe")
    raw.close()


@s.scenario("pipelined keep-alive requests around spliced bodies")
def _():
    blue, c = start(ON)
    up = blob(MiB + 7, 5)
    reqs = [("GET", "/blob?bytes=%d&seed=3" % MiB, b""),
            ("GET", "/", b""),
            ("POST", "/echo", up),
            ("GET", "/blob?bytes=100&seed=4", b""),
            ("POST", "/echo", b"small"),
            ("GET", "/blob?bytes=%d&seed=6" % (300 * 1024), b""),
            ("GET", "/", b"")]
    raw = RawConn(c.port, timeout=30)
    raw.send(b"".join(build_request(m, p, None, b) for m, p, b in reqs))
    got = [raw.read_response(m) for m, _, _ in reqs]
    s.eq([r.status for r in got], [200] * len(reqs), "7 pipelined answers")
    s.ok(sha256(got[0].body) == sha256(blob(MiB, 3)),
         "1 MiB spliced response byte-exact", len(got[0].body))
    s.eq(got[1].body, b"blue\n", "the request after it answered as itself")
    j = json.loads(got[2].body)
    s.eq((j["bytes"], j["sha256"]), (len(up), sha256(up)),
         "pipelined 1 MiB upload byte-exact: the next request's bytes were "
         "not spliced into it")
    s.eq(got[3].body, blob(100, 4), "small response after the upload")
    j = json.loads(got[4].body)
    s.eq((j["bytes"], j["sha256"]), (5, sha256(b"small")),
         "small upload after it")
    s.ok(sha256(got[5].body) == sha256(blob(300 * 1024, 6)),
         "300 KiB spliced response byte-exact", len(got[5].body))
    s.eq(got[6].body, b"blue\n", "last request answered")
    r = raw.request("GET", "/")
    s.eq((r.status, r.body), (200, b"blue\n"),
         "the connection is still usable")


@s.scenario("a slow reader: backpressure, bounded memory")
def _():
    blue, c = start()
    n = 64 * MiB
    h = hashlib.sha256()
    state = {"n": 0, "paused": False, "rss_paused": 0}

    def sink(piece):
        h.update(piece)
        state["n"] += len(piece)
        if not state["paused"] and state["n"] >= 4 * MiB:
            state["paused"] = True
            time.sleep(1.5)

    with RssSampler(c.pid) as rss:
        r = get(c.port, "/stream?bytes=%d" % n, timeout=60, sink=sink)
    s.ok(r.status == 200 and state["n"] == n and
         h.hexdigest() == pattern_sha256(n),
         "64 MiB download with a pause arrives byte-exact",
         "status %s, %d bytes" % (r.status, state["n"]))
    s.ok(rss.max_kb < RSS_LIMIT_KB, "RSS stays bounded while the client "
         "does not read", "max VmRSS %d kB" % rss.max_kb)

    # a client that reads nothing of a 32 MiB response: cutover holds
    # what its buffers and one pipe take, no more
    so = socket.create_connection(("127.0.0.1", c.port), timeout=10)
    so.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    with RssSampler(c.pid) as rss:
        so.sendall(build_request("GET", "/blob?bytes=%d&seed=9" % (32 * MiB)))
        time.sleep(1.5)
        st = c.status_json()
    s.ok(st["connections_open"] >= 1, "the stalled download is open", st)
    s.ok(rss.max_kb < RSS_LIMIT_KB, "RSS stays bounded while a 32 MiB "
         "response waits for its client", "max VmRSS %d kB" % rss.max_kb)
    got = b""
    while len(got) < 1024:
        d = so.recv(65536)
        if not d:
            break
        got += d
    so.close()
    s.ok(got.startswith(b"HTTP/1.1 200 "), "its head arrived", got[:100])
    s.ok(wait_until(lambda: c.status_json()["connections_open"] == 0, 5),
         "the connection is gone once the client closes", c.status())
    r = get(c.port, "/blob?bytes=%d&seed=9" % MiB, timeout=30)
    s.ok(r.status == 200 and sha256(r.body) == sha256(blob(MiB, 9)),
         "the next download is byte-exact", r.status)


def answer_then_cut(rst):
    """A member that announces 2 MiB, sends 1 MiB, then closes (FIN) or
    resets (RST)."""
    def answer(so, head):
        so.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" %
                   (2 * MiB) + blob(MiB, 7))
        time.sleep(0.3)
        if rst:
            so.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        so.close()
        raise OSError("done")
    return answer


@s.scenario("a member that closes or resets mid-body")
def _():
    for label, rst in (("closes", False), ("resets", True)):
        m = ScriptedMember(answer_then_cut(rst))
        c = Cutover(blue=[m], green=[dead_addr()])
        s.ok(c.wait_pool_healthy("blue"), "scripted member healthy",
             c.status())
        raw = RawConn(c.port, timeout=10)
        raw.send(build_request("GET", "/cut"))
        try:
            r = raw.read_response()
            short = None
        except EOFError:
            r, short = None, raw.partial
        s.ok(r is None and short is not None and len(short) == MiB and
             short == blob(MiB, 7),
             "member %s mid-body: the client gets the 1 MiB sent, "
             "then the connection closes" % label,
             "response %r, %s bytes" % (r, None if short is None else
                                        len(short)))
        s.ok(c.wait_log(r"closed the connection mid-response" if not rst
                        else r"mid-response|connection error", 5),
             "member %s mid-body: logged" % label, c.log_text()[-2000:])
        s.ok(wait_until(lambda: c.status_json()["connections_open"] == 0,
                        5), "member %s mid-body: nothing left open" % label,
             c.status())
        m.close()


@s.scenario("a client that closes mid-upload")
def _():
    blue, c = start(ON, access=True)
    raw = RawConn(c.port, timeout=10)
    raw.send(build_request("POST", "/echo", {"Content-Length": str(8 * MiB)},
                           blob(3 * MiB, 8)))
    s.ok(blue.wait_request("/echo", 5), "the upload reached the member")
    time.sleep(0.3)
    raw.close()
    s.ok(blue.wait_aborted("/echo", 5),
         "the member sees the request body end early")
    s.ok(wait_until(lambda: c.status_json()["connections_open"] == 0, 5),
         "nothing left open", c.status())
    s.ok(wait_until(lambda: c.stdout_text().strip() != "", 5),
         "the abandoned upload is logged", c.log_text()[-2000:])
    j = json.loads(c.stdout_text().splitlines()[-1])
    s.ok(j["status"] == 499 and 3 * MiB < j["bytes_in"] < 3 * MiB + 1024,
         "logged as 499 with the bytes the client sent", j)
    r = request(c.port, "POST", "/echo", body=blob(2 * MiB, 11), timeout=30)
    j = json.loads(r.body) if r.status == 200 else {}
    s.eq((r.status, j.get("sha256")), (200, sha256(blob(2 * MiB, 11))),
         "the next upload is byte-exact")


@s.scenario("a member that sends more than its Content-Length")
def _():
    blue, c = start()
    raw = RawConn(c.port, timeout=10)
    r = raw.request("GET", "/blob?bytes=%d&seed=12&extra=5000" % MiB)
    s.ok(r.status == 200 and len(r.body) == MiB and
         r.body == blob(MiB, 12),
         "exactly the announced 1 MiB reaches the client", len(r.body))
    r = raw.request("GET", "/")
    s.eq((r.status, r.body), (200, b"blue\n"),
         "the next response on the connection is its own, not the extra "
         "bytes")
    time.sleep(0.3)
    for _ in range(3):
        r = get(c.port, "/")
        s.eq((r.status, r.body), (200, b"blue\n"),
             "later requests are not answered with the extra bytes")


@s.scenario("pipes are cached per worker, bounded")
def _():
    blue, c = start()
    base = pipes(c)
    out = []

    def one(i):
        r = get(c.port, "/blob?bytes=%d&seed=%d" % (2 * MiB, 20 + i),
                timeout=30)
        out.append(r.status == 200 and
                   sha256(r.body) == sha256(blob(2 * MiB, 20 + i)))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    s.eq(out, [True] * 24, "24 concurrent 2 MiB downloads byte-exact")
    workers = TEST_WORKERS
    # IO_PIPES_CACHE (8) idle pipes a worker at most, two fds each
    s.ok(wait_until(lambda: pipes(c) - base <= 2 * 8 * workers, 5),
         "idle pipes left: at most 8 a worker",
         "%d pipe fds, %d before, %d workers" % (pipes(c), base, workers))


@s.scenario("a client that stops reading longer than timeouts.idle_ms: "
            "its response is cut short, said, counted and logged")
def _():
    for label, extra in (("on", ""), ("off", OFF)):
        blue, c = start(extra + "timeouts = { idle_ms = 1000; };\n",
                        access=True)
        before = c.status_json()["errors_total"]
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", c.port))
        raw.sendall(build_request("GET", "/blob?bytes=%d&seed=7" % (40 * MiB)))
        s.ok(c.wait_log(r'warning: client 127\.0\.0\.1: "GET /blob\S*": '
                        r"response cut short: client stopped reading",
                        timeout=15),
             "splice %s: the cut is logged as a warning" % label)
        got = 0
        raw.settimeout(10)
        try:
            while True:
                d = raw.recv(1 << 20)
                if not d:
                    break
                got += len(d)
        except ConnectionResetError:
            pass
        raw.close()
        s.ok(0 < got < 40 * MiB, "splice %s: the client got part of it, "
             "then the close (%d bytes)" % (label, got))
        s.eq(c.status_json()["errors_total"], before + 1,
             "splice %s: counted in errors_total" % label)
        s.ok(wait_until(lambda: "client stopped reading" in
                        c.stdout_text(), 5),
             "splice %s: the access log line names the cut" % label,
             c.stdout_text())


s.done()
