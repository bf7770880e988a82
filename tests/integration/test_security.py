#!/usr/bin/env python3
"""Members and clients that try to crash cutover or grow it without bound:
101 answers nobody asked for, 1xx floods, pipelined floods to a client
that does not read, half-closed clients, and pools of 16,000 members."""

import os
import socket
import struct
import subprocess
import threading
import time

from harness import (CUTOVER_BIN, PATTERN, Backend, Cutover, RawConn,
                     RssSampler, ScriptedMember, Suite, build_request,
                     rss_kb, sanitized, wait_health, wait_until)

s = Suite()

QUIET_HEALTH = ('health = { path = "/healthz"; interval_ms = 60000; '
                'timeout_ms = 2000; rise = 1; fall = 100; };\n')


def metric_samples(c):
    """`cutoverctl metrics` as {'name{labels}': value}, comments skipped."""
    rc, out, err = c.ctl("metrics")
    samples = {}
    for line in out.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def cutover_with(member, extra=""):
    green = Backend("green")
    c = Cutover(blue=[member], green=[green], extra=QUIET_HEALTH + extra)
    s.ok(wait_health(c, "blue", member, "up", 5), "the member is up",
         c.status())
    return c


def still_serves(c, what):
    """cutover answers the next request and is still running."""
    try:
        r = RawConn(c.port).request("GET", "/x-after")
    except (OSError, EOFError, ValueError) as e:
        r = e
    s.eq(getattr(r, "status", r), 200, "cutover answers the next request "
         "after %s" % what)
    s.ok(c.alive(), "and is still running", c.log_text()[-3000:])


def answer_101(sock, head):
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                 b"\r\nConnection: Upgrade\r\n\r\n")
    time.sleep(0.5)


def plain_after(answer):
    """answer, except for still_serves' request, which gets a plain 200."""
    def serve(sock, head):
        if b"/x-after" in head:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
                         b"ok\n")
            return
        answer(sock, head)
    return serve


answer_ok = plain_after(answer_101)


@s.scenario("a member answers 101 to a request that did not ask to upgrade")
def _():
    m = ScriptedMember(answer_ok)
    c = cutover_with(m)
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/plain"))
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 502, "the client gets 502")
    s.ok(raw.closed(2), "and the connection is closed")
    s.match(r"member switched protocols without being asked", c.log_text(),
            "the log says why")
    still_serves(c, "an unsolicited 101")
    m.close()


@s.scenario("a member answers 101 before the request body was sent")
def _():
    m = ScriptedMember(answer_ok)
    c = cutover_with(m)
    raw = RawConn(c.port)
    # Upgrade with a body announced and not sent: a WebSocket server that
    # answers on the head alone switches before the body is through
    raw.send(build_request("GET", "/ws", [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Content-Length", "10")]))
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 502, "the client gets 502")
    s.ok(raw.closed(2), "and the connection is closed")
    still_serves(c, "an early 101")
    # the same with the body's first bytes sent: still early
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/ws", [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Content-Length", "10")]) + b"abc")
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 502, "with part of the body: 502")
    still_serves(c, "an early 101 after part of the body")
    m.close()


def answer_hints_then_ok(n):
    def answer(sock, head):
        for _ in range(n):
            sock.sendall(b"HTTP/1.1 103 Early Hints\r\n"
                         b"Link: </s.css>; rel=preload\r\n\r\n")
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    return plain_after(answer)


@s.scenario("interim responses: a few are relayed, a flood is cut off")
def _():
    m = ScriptedMember(answer_hints_then_ok(2))
    c = cutover_with(m)
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/hints"))
    r1, r2, r3 = (raw.read_response() for _ in range(3))
    s.eq([r1.status, r2.status, r3.status], [103, 103, 200],
         "two 103 Early Hints, then the 200, reach the client")
    s.eq(r1.header("Link"), "</s.css>; rel=preload", "with their fields")
    m.close()

    m = ScriptedMember(answer_hints_then_ok(17))
    c = cutover_with(m)
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/hints"))
    got = []
    while True:
        r = raw.response_or_error()
        if not hasattr(r, "status"):
            break
        got.append(r.status)
    s.eq(got, [103] * 16 + [502], "16 interim responses reach the client, "
         "then a 502 as the final response")
    s.ok(raw.closed(), "and the connection is closed")
    s.match(r"too many interim \(1xx\) responses", c.log_text(),
            "the log says why")
    still_serves(c, "a 1xx flood")
    m.close()


def answer_endless_hints(sock, head):
    hint = (b"HTTP/1.1 103 Early Hints\r\nLink: <" + b"x" * 8000 +
            b">\r\n\r\n")
    try:
        for _ in range(200000):
            sock.sendall(hint)
    except OSError:
        pass


@s.scenario("an endless 1xx flood to a client that does not read")
def _():
    # 1.6 GB of 103s offered; a client that never reads must not make
    # cutover buffer them
    m = ScriptedMember(plain_after(answer_endless_hints))
    c = cutover_with(m)
    before = rss_kb(c.pid)
    with RssSampler(c.pid) as rs:
        raw = RawConn(c.port)
        raw.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.send(build_request("GET", "/flood"))
        wait_until(lambda: len(m.heads) >= 1, 5)
        time.sleep(1.5)
    s.ok(rs.max_kb - before < 16 * 1024, "cutover's RSS grew by less than "
         "16 MiB (grew %d kB)" % (rs.max_kb - before))
    raw.close()
    still_serves(c, "an endless 1xx flood")
    m.close()


def answer_32k(sock, head):
    # head and body in one write, so each response arrives whole in one
    # read: the case where backpressure was never looked at
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 32768\r\n\r\n" +
                 PATTERN[:32768])


@s.scenario("pipelined requests from a client that does not read")
def _():
    m = ScriptedMember(plain_after(answer_32k))
    c = cutover_with(m)
    n, size = 3000, 32768
    one = build_request("GET", "/big")
    raw = RawConn(c.port, timeout=30)
    before = rss_kb(c.pid)
    sender = threading.Thread(target=raw.send, args=(one * n,), daemon=True)
    with RssSampler(c.pid) as rs:
        sender.start()
        # unbounded, this grew cutover by about 100 MB within a second
        time.sleep(2.0)
    grew = rs.max_kb - before
    s.ok(grew < 24 * 1024, "cutover's RSS grew by less than 24 MiB while "
         "%d responses of %d bytes waited (grew %d kB)" % (n, size, grew))
    # nothing was lost: every response arrives, whole, once the client reads
    ok = 0
    for _ in range(n):
        r = raw.response_or_error()
        if getattr(r, "status", None) != 200 or r.body != PATTERN[:size]:
            break
        ok += 1
    sender.join(10)
    s.eq(ok, n, "all %d pipelined responses arrive, in order and whole" % n)
    s.eq(len(m.heads), n, "the member saw each request once")
    still_serves(c, "a pipelined flood")
    m.close()


def trickle(sock, n, bulk):
    """bulk bytes at once (to fill the kernel's buffers towards a client
    that does not read), then n bytes one send each."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(b"x" * bulk)
    for _ in range(n):
        sock.sendall(b"y")
        time.sleep(0.00002)


def answer_trickle(sock, head):
    n, bulk = 20000, 3000000
    if b"Upgrade" in head:
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    else:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
                     % (n + bulk))
    try:
        trickle(sock, n, bulk)
    except OSError:
        pass
    if b"Upgrade" in head:
        time.sleep(30)     # the tunnel stays until the test closes it


@s.scenario("a member trickles bytes to a client that does not read")
def _():
    # each 1-byte read once held a 16 KiB buffer chain of its own in the
    # client's output: 20,000 of them took cutover past 300 MB
    for what, headers in (("a response body", []),
                          ("a tunnel", [("Upgrade", "websocket"),
                                        ("Connection", "Upgrade")])):
        # a cutover each: freed memory stays in a process's RSS
        m = ScriptedMember(plain_after(answer_trickle))
        c = cutover_with(m)
        before = rss_kb(c.pid)
        with RssSampler(c.pid) as rs:
            # a small receive window, set before connecting so it holds
            cl = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            cl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            cl.connect(("127.0.0.1", c.port))
            cl.sendall(build_request("GET", "/trickle", headers))
            wait_until(lambda: len(m.heads) >= 1, 5)
            time.sleep(4.0)
        grew = rs.max_kb - before
        s.ok(grew < 32 * 1024, "%s in 1-byte pieces: cutover's RSS grew by "
             "less than 32 MiB (grew %d kB)" % (what, grew))
        cl.close()
        still_serves(c, "%s trickled" % what)
        m.close()


@s.scenario("a client that half-closes after a whole request")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(wait_health(c, "blue", blue, "up", 5), "blue is up")

    raw = RawConn(c.port)
    raw.send(build_request("GET", "/half"))
    raw.s.shutdown(socket.SHUT_WR)
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 200, "GET, then FIN: the answer arrives")
    s.ok(raw.closed(2), "then cutover closes")

    raw = RawConn(c.port)
    raw.send(build_request("POST", "/echo", body=b"x" * 100000))
    raw.s.shutdown(socket.SHUT_WR)
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 200, "POST with a body, then FIN: the "
         "answer arrives")
    s.match(r'"bytes": ?100000', getattr(r, "body", b"").decode(),
            "and the member read the whole body")

    raw = RawConn(c.port)
    raw.send(build_request("GET", "/p1") + build_request("GET", "/p2") +
             build_request("GET", "/p3"))
    raw.s.shutdown(socket.SHUT_WR)
    got = [getattr(raw.response_or_error(), "status", None)
           for _ in range(3)]
    s.eq(got, [200, 200, 200], "three pipelined requests, then FIN: three "
         "answers")
    s.ok(raw.closed(2), "then cutover closes")

    raw = RawConn(c.port)
    raw.send(build_request("GET", "/p1") + b"GET /p2 HTTP/1.1\r\nHo")
    raw.s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 200, "a whole request, then part of a "
         "head, then FIN: the whole one is answered")
    s.ok(raw.closed(3) and time.monotonic() - t0 < 3, "and the connection "
         "closes at once, not after timeouts.client_header_ms")

    before = metric_samples(c)
    raw = RawConn(c.port)
    sent = build_request("POST", "/echo", [("Content-Length", "100")]) + \
        b"only part"
    raw.send(sent)
    raw.s.shutdown(socket.SHUT_WR)
    s.ok(raw.closed(5), "a body cut short by FIN: closed without an answer")
    after = metric_samples(c)
    key = 'cutover_requests_total{pool="blue",code="4xx"}'
    s.eq(after.get(key, 0) - before.get(key, 0), 1, "and counted (as "
         "nginx's 499, a 4xx)")
    key = 'cutover_bytes_received_total{pool="blue"}'
    s.eq(after.get(key, 0) - before.get(key, 0), len(sent), "with the "
         "bytes it sent")
    # the same cut short by a reset instead of a FIN
    before = after
    mark = c.log_mark()
    echoes = blue.saw("/echo")
    raw = RawConn(c.port)
    raw.send(sent)
    # the head reached the member: cutover has read the partial body too
    s.ok(blue.wait_request("/echo", 5, count=echoes + 1),
         "the request with part of its body reaches the member")
    raw.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    raw.s.close()
    key = 'cutover_requests_total{pool="blue",code="4xx"}'
    s.ok(wait_until(lambda: metric_samples(c).get(key, 0) -
                    before.get(key, 0) == 1, 3),
         "a body cut short by a reset is counted too")
    s.ok(c.wait_log(r"info: client 127\.0\.0\.1: \"POST /echo\": "
                    r"closed mid-request$", 5, since=mark),
         "and logged as closed mid-request", c.log_text()[mark:])
    still_serves(c, "half-closed clients")


@s.scenario("out of file descriptors: the members are not blamed")
def _():
    import resource
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=QUIET_HEALTH +
                "workers = 1;\n")
    s.ok(wait_health(c, "blue", blue, "up", 5), "blue is up")
    resource.prlimit(c.pid, resource.RLIMIT_NOFILE, (48, 48))
    hold = []
    for _ in range(60):
        try:
            hold.append(socket.create_connection(("127.0.0.1", c.port),
                                                 timeout=1))
        except OSError:
            break
    s.ok(c.wait_log(r"warning: descriptor limit reached: \d+ accepts refused "
                    r"so far \(accept 127\.0\.0\.1:%d: Too many open files\); "
                    r"clients wait in the listen backlog until descriptors "
                    r"free up$" % c.port, 5),
         "cutover runs out of descriptors accepting them", c.log_tail(5))
    got = []
    for h in hold[:4]:
        h.sendall(build_request("GET", "/during"))
        h.settimeout(3)
    for h in hold[:4]:
        try:
            got.append(h.recv(64)[:12])
        except OSError as e:
            got.append(repr(e))
    s.ok(b"HTTP/1.1 503" in got, "with descriptors exhausted, a request "
         "gets 503 (got %r)" % got)
    s.match(r"descriptor limit reached: \d+ accepts refused so far",
            c.log_text(), "the log says whose limit it was")
    for h in hold:
        h.close()
    s.eq(c.member_state("blue", blue), "up", "blue is still up")
    s.match(r'(?m)^cutover_descriptor_errors_total\{op="upstream"\} [1-9]',
            c.admin("metrics"), "the metrics count the upstream connection "
            "that had no descriptor")
    r = None
    for _ in range(20):
        try:
            r = RawConn(c.port).request("GET", "/after")
            break
        except OSError:
            time.sleep(0.1)   # the listener paused on EMFILE resumes
    s.eq(getattr(r, "status", r), 200, "descriptors free again: the next "
         "request is served at once, not after probes bring blue back")


@s.scenario("a bad request after a good one on the same connection")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(wait_health(c, "blue", blue, "up", 5), "blue is up")
    # keep-alive: answered, then a malformed head
    raw = RawConn(c.port)
    r = raw.request("GET", "/one")
    s.eq(r.status, 200, "the first request is answered")
    raw.send(b"GET /two HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n")
    r = raw.response_or_error()
    s.eq(getattr(r, "status", r), 400, "the bad second request gets its 400 "
         "(not a cut connection)")
    # pipelined: the same, in one write
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/one") +
             b"GET /two HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n")
    got = [getattr(raw.response_or_error(), "status", None)
           for _ in range(2)]
    s.eq(got, [200, 400], "pipelined: 200, then 400")


@s.scenario("16,000 members per pool")
def _():
    d = Cutover(blue=["127.0.0.1:1"], green=["127.0.0.1:2"], start=False)
    n = 16000

    def members(base):
        return ", ".join('"127.%d.%d.%d:80"' % (base, i // 256 % 256,
                                                  i % 256) for i in range(n))
    text = d.complete('pools = { blue = { members = [ %s ]; };\n'
                      'green = { members = [ %s ]; }; };\n'
                      % (members(1), members(2)))
    d.write(text)
    t0 = time.monotonic()
    p = subprocess.run([CUTOVER_BIN, "-t", "-c", d.conf],
                       capture_output=True, timeout=60)
    took = time.monotonic() - t0
    s.eq(p.returncode, 0, "cutover -t accepts it", p.stderr.decode()[-500:])
    # quadratic duplicate checks took seconds here; a bound far above the
    # sort-based check's time, so a loaded machine does not fail it
    s.ok(took < (20 if sanitized() else 5), "within seconds (%.2f s)" % took)
    dup = text.replace('"127.2.0.7:80"', '"127.2.62.127:80"', 1)
    d.write(dup)
    p = subprocess.run([CUTOVER_BIN, "-t", "-c", d.conf],
                       capture_output=True, timeout=60)
    s.eq(p.returncode, 1, "a duplicate among them is refused")
    s.match(r'"127\.2\.62\.127:80": duplicate', p.stderr.decode(),
            "and named", p.stderr.decode()[-500:])


s.done()
