#!/usr/bin/env python3
"""A request whose fresh upstream connection closes or resets before a
byte of the answer goes to another member when it may (an idempotent
method, sent whole, without a body) and gets a 502 when it may not (POST,
PATCH, a body): a Pod killed with requests on its connections costs none
of the requests that can safely be sent again."""

import itertools
import os
import re
import signal
import socket
import struct
import threading
import time

from harness import (Background, Backend, Cutover, RawConn, ScriptedMember,
                     Suite, build_request, get, request, wait_health,
                     wait_until)

s = Suite()

# probes every 100 ms bring a member that failed back at once (rise 1)
FAST_RISE = ('health = { path = "/healthz"; interval_ms = 100; '
             'timeout_ms = 500; rise = 1; fall = 1; };\n')


def close_at_once(sock, head):
    sock.close()


def reset_at_once(sock, head):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    sock.close()


SEQ = itertools.count()


def through_the_failing_member(c, bad, good, method, body=None):
    """Sends method until bad is the member it went to first (round robin
    over two members, each worker with its own turn); returns the
    response, and whether good saw the request too."""
    for attempt in range(12):
        wait_health(c, "blue", bad.addr, "up", 5)
        seen_bad = len(bad.heads)
        # a path of its own: a late report of an earlier attempt, which
        # good answered, is not taken for this one
        path = "/m-%s-%d/" % (method, next(SEQ))
        r = request(c.port, method, path, body=body, timeout=10)
        if len(bad.heads) > seen_bad:
            # the backend reports each request through a reader thread
            # that may lag the response: a 200 from it is awaited, and
            # anything else gets a moment to show up
            wait_until(lambda: good.saw(path) > 0,
                       2 if r.status == 200 else 0.3)
            return r, good.saw(path) > 0
    return None, False


for name, answer in (("closes", close_at_once), ("resets", reset_at_once)):
    @s.scenario("a member that %s a fresh connection before answering" %
                name)
    def _(answer=answer, name=name):
        bad = ScriptedMember(answer)
        good = Backend("good")
        c = Cutover(blue=[bad, good], green=[Backend("green")],
                    extra=FAST_RISE)
        try:
            s.ok(c.wait_pool_healthy("blue"), "both members up", c.status())
            for method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"):
                r, good_saw = through_the_failing_member(c, bad, good,
                                                          method)
                s.ok(r is not None, "%s reached the member that %s" %
                     (method, name))
                if r is None:
                    continue
                s.eq(r.status, 200, "%s: answered by the other member" %
                     method, c.log_tail())
                s.ok(good_saw, "%s: the other member got it" % method)
            s.ok(c.wait_log(r'"GET /m-GET-\d+/": resent to another member'),
                 "the log says the request was resent", c.log_tail())
            # an empty chunked body is still framing the member waits for
            for method, body in (("POST", b""), ("PATCH", b""),
                                 ("PUT", b"payload"), ("GET", b"payload"),
                                 ("GET", iter([b""]))):
                r, good_saw = through_the_failing_member(c, bad, good,
                                                          method, body)
                what = "%s with %s" % (method, "an empty chunked body"
                                       if not isinstance(body, bytes) else
                                       "a body" if body else "no body")
                s.ok(r is not None, "%s reached the member" % what)
                if r is None:
                    continue
                s.eq(r.status, 502, "%s: 502, not sent again" % what)
                s.ok(not good_saw, "%s: the other member never got it" %
                     what)
            s.ok(c.alive(), "cutover still runs")
        finally:
            c.stop()
            bad.close()


def keepalive_then(close_on):
    """An answer that serves requests on a kept-alive connection and closes
    it, unanswered, at a request whose head contains close_on."""
    def answer(sock, head):
        if close_on in head:
            sock.close()
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return answer


@s.scenario("a reused connection closed before answering: retried for a GET, "
            "not for a POST the member may have acted on")
def _():
    for method, want in (("GET", 200), ("POST", 502)):
        m = ScriptedMember(keepalive_then(b"/close-" + method.encode()))
        c = Cutover(blue=[m], green=[Backend("green")],
                    extra=FAST_RISE.replace("interval_ms = 100",
                                            "interval_ms = 60000"))
        try:
            s.ok(c.wait_pool_healthy("blue"), "the member is up")
            raw = RawConn(c.port)
            r = raw.request("GET", "/warm")
            s.eq(r.status, 200, "%s: a first request keeps the upstream "
                 "connection alive" % method)
            raw.send(build_request(method, "/close-%s" % method,
                                   [("Content-Length", "0")]))
            r = raw.read_response()
            sent = [h for h in m.heads if b"/close-" in h]
            if method == "GET":
                # the retry's fresh connection is closed too: then 502
                s.ok(len(sent) == 2, "GET: sent again on a fresh "
                     "connection", sent)
                s.eq(r.status, 502, "GET: and a 502 when that closes too")
            else:
                s.eq(r.status, 502, "POST: 502")
                s.eq(len(sent), 1, "POST: the member got it once, not twice",
                     sent)
        finally:
            c.stop()
            m.close()


def answer_then_close(close_on):
    """Answers every request 200 (keep-alive, as far as its head says),
    and closes the connection with the answer to close_on: corked, so
    the answer and the FIN leave in one segment and are both in cutover's
    socket when it reads the answer."""
    def answer(sock, head):
        last = close_on in head
        if last:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        if last:
            sock.shutdown(socket.SHUT_WR)
            sock.close()
    return answer


@s.scenario("a kept-alive connection the member closed a moment ago is "
            "not used for a POST")
def _():
    # The member closes with its answer, as a Pod killed or timing the
    # connection out does: the POST pipelined behind the GET is routed
    # before cutover's loop has run the close.  It must not go on that
    # connection (it could not be sent again), but on a fresh one.
    m = ScriptedMember(answer_then_close(b"/first"))
    c = Cutover(blue=[m], green=[Backend("green")],
                extra="workers = 1;\n" + FAST_RISE.replace(
                    "interval_ms = 100", "interval_ms = 60000"))
    try:
        s.ok(c.wait_pool_healthy("blue"), "the member is up")
        got = []
        for i in range(5):
            raw = RawConn(c.port)
            raw.send(build_request("GET", "/first-%d" % i) +
                     build_request("POST", "/second-%d" % i,
                                   [("Content-Length", "0")]))
            got.append((raw.read_response().status,
                        raw.response_or_error()))
            raw.close()
        s.eq([(a, getattr(b, "status", b)) for a, b in got],
             [(200, 200)] * 5, "both answered 200, every time",
             c.log_tail())
        posts = [h for h in m.heads if h.startswith(b"POST")]
        s.eq(len(posts), 5, "the member got each POST once", posts)
        s.ok(c.alive(), "cutover still runs")
    finally:
        c.stop()
        m.close()


@s.scenario("a kept-alive connection the member closes as a GET is sent "
            "on it: the GET is sent again on a new connection")
def _():
    # The race every proxy has with a member's idle timeout, forced: the
    # member's FIN arrives with its answer to the first GET, and the
    # second GET, pipelined behind it, is routed before cutover's loop
    # has run the close.  A GET is not looked at first (it may be sent
    # again): it goes out on the closed connection, fails, and is retried
    # once on a new one.
    m = ScriptedMember(answer_then_close(b"/first"))
    c = Cutover(blue=[m], green=[Backend("green")],
                extra="workers = 1;\nlog = { level = \"debug\"; };\n" +
                FAST_RISE.replace("interval_ms = 100", "interval_ms = 60000"))
    try:
        s.ok(c.wait_pool_healthy("blue"), "the member is up")
        mark = c.log_mark()
        got = []
        for i in range(5):
            raw = RawConn(c.port)
            raw.send(build_request("GET", "/first-%d" % i) +
                     build_request("GET", "/second-%d" % i))
            got.append((raw.read_response().status,
                        getattr(raw.response_or_error(), "status", None)))
            raw.close()
        s.eq(got, [(200, 200)] * 5, "both answered 200, every time",
             c.log_tail())
        retried = re.findall(r"blue %s: reused connection closed, "
                             r"retrying" % re.escape(m.addr),
                             c.log_text()[mark:])
        s.eq(len(retried), 5, "each second GET went out on the closed "
             "connection and was retried on a new one", c.log_tail(30))
        seconds = [h for h in m.heads if b"/second-" in h]
        s.eq(len(seconds), 5, "the member got each second GET once, on "
             "the new connection", seconds)
        s.eq(c.member_state("blue", m.addr), "up", "a member's idle "
             "close is no failure: it stays up")
    finally:
        c.stop()
        m.close()


class WedgedMember:
    """A member on 127.0.0.1 that accepts one connection, cutover's first
    probe, and answers probes on it; then, at wedge(), its accept queue is
    filled and nothing more is accepted: the kernel drops further SYNs
    (syncookies or not: a full accept queue drops them), so a connect to
    it times out, as to a wedged host."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(0)
        self.addr = "127.0.0.1:%d" % self.ls.getsockname()[1]
        self.fill = []
        self.conn = None
        threading.Thread(target=self._probes, daemon=True).start()

    def __str__(self):
        return self.addr

    def _probes(self):
        try:
            self.conn, _ = self.ls.accept()
            buf = b""
            while True:
                d = self.conn.recv(65536)
                if not d:
                    return
                buf += d
                while b"\r\n\r\n" in buf:
                    _, _, buf = buf.partition(b"\r\n\r\n")
                    self.conn.sendall(b"HTTP/1.1 200 OK\r\n"
                                      b"Content-Length: 2\r\n\r\nok")
        except OSError:
            return

    def wedge(self):
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex(self.ls.getsockname())
            self.fill.append(f)

    def close(self):
        for f in self.fill + ([self.conn] if self.conn else []):
            f.close()
        self.ls.close()


def connects_within(addr, timeout):
    try:
        socket.create_connection(addr, timeout).close()
        return True
    except OSError:
        return False


@s.scenario("a connect timeout takes a member down at once, and the "
            "request goes to the next member")
def _():
    good = Backend("good")
    bad = WedgedMember()
    c = Cutover(blue=[bad, good], green=[Backend("green")],
                extra="timeouts = { connect_ms = 300; };\n" +
                FAST_RISE.replace("interval_ms = 100", "interval_ms = 60000"))
    try:
        s.ok(c.wait_pool_healthy("blue"), "both members up (probed once)",
             c.status())
        # the member stops accepting, as a wedged host or a dropped route
        # does: its port takes nothing more
        bad.wedge()
        host, port = bad.addr.split(":")
        s.ok(not connects_within((host, int(port)), 1.0),
             "a connect to the member's port times out")
        mark = c.log_mark()
        got = []
        t0 = time.monotonic()
        for i in range(4):
            r = get(c.port, "/ct-%d" % i, timeout=10)
            got.append((r.status, r.header("X-Backend")))
        el = time.monotonic() - t0
        s.eq(got, [(200, "good")] * 4, "every request answered by the "
             "other member", c.log_tail())
        s.ok(c.wait_log(r"blue %s: connect failed: timed out" %
                        re.escape(bad.addr), 2, since=mark),
             "the log says the connect timed out", c.log_tail())
        lines = re.findall(r"health: blue %s up -> down \(passive: "
                           r"timed out\)" % re.escape(bad.addr),
                           c.log_text()[mark:])
        s.eq(len(lines), 1, "the member went down at the first connect "
             "timeout (passive), with no probe run", c.log_tail())
        s.eq(c.member_state("blue", bad.addr), "down",
             "status shows it down")
        s.ok(el < 4 * 0.3 + 2.0, "one connect_ms at most was spent on "
             "it: it is not tried again while down",
             "%.2f s for 4 requests" % el)
    finally:
        c.stop()
        bad.close()


def keepalive_then_interim(close_on):
    """Like keepalive_then, but at close_on the member first sends a 103
    and only then closes, with no final response."""
    inner = keepalive_then(b"\0never")

    def answer(sock, head):
        if close_on in head:
            sock.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
            time.sleep(0.05)
            sock.close()
            return
        inner(sock, head)
    return answer


@s.scenario("a reused connection closed after a relayed 103: not sent "
            "again, the client gets the 103 and then a 502")
def _():
    m = ScriptedMember(keepalive_then_interim(b"/interim"))
    c = Cutover(blue=[m], green=[Backend("green")],
                extra=FAST_RISE.replace("interval_ms = 100",
                                        "interval_ms = 60000"))
    try:
        s.ok(c.wait_pool_healthy("blue"), "the member is up")
        raw = RawConn(c.port)
        r = raw.request("GET", "/warm")
        s.eq(r.status, 200, "a first request keeps the upstream "
             "connection alive")
        raw.send(build_request("GET", "/interim"))
        interim = raw.read_response()
        s.eq(interim.status, 103, "the client gets the member's 103")
        final = raw.read_response()
        s.eq(final.status, 502, "then a 502 as the final response",
             c.log_tail())
        s.ok(raw.closed(), "and the connection is closed")
        sent = [h for h in m.heads if b"/interim" in h]
        s.eq(len(sent), 1, "the member got the GET once: a request whose "
             "answer has begun is never sent again", sent)
        s.ok(c.alive(), "cutover still runs")
    finally:
        c.stop()
        m.close()


@s.scenario("a pool whose every member closes: a 502 once each is tried")
def _():
    bad = [ScriptedMember(close_at_once) for _ in range(3)]
    # panic routing off: with every member down, a 503 at once
    c = Cutover(blue=bad, green=[Backend("green")],
                extra=FAST_RISE.replace("interval_ms = 100",
                                        "interval_ms = 60000")
                .replace("fall = 1;", "fall = 1; panic = false;"))
    try:
        s.ok(c.wait_pool_healthy("blue"), "three members up", c.status())
        r = get(c.port, "/all-close", timeout=10)
        s.eq(r.status, 502, "the client gets a 502")
        s.eq(sorted(len(m.heads) for m in bad), [1, 1, 1],
             "each member got the request once, none twice")
        # the workers tell the control thread, which takes them down
        s.ok(all(wait_health(c, "blue", m.addr, "down", 5) for m in bad),
             "each member is taken down", c.status())
        r = get(c.port, "/after", timeout=10)
        s.eq(r.status, 503, "then every member is down: 503")
    finally:
        c.stop()
        for m in bad:
            m.close()


@s.scenario("a member killed with GETs in flight on fresh connections")
def _():
    b1, b2 = Backend("b1"), Backend("b2")
    c = Cutover(blue=[b1, b2], green=[Backend("green")])
    try:
        s.ok(c.wait_pool_healthy("blue"), "both members up", c.status())
        reqs = [Background(get, c.port, "/delay?ms=1500&n=%d" % i)
                for i in range(4)]
        s.ok(b1.wait_request("/delay", 5), "b1 has a request in flight")
        s.ok(wait_until(lambda: b2.saw("/delay"), 5),
             "b2 has one too")
        os.kill(b1.proc.pid, signal.SIGKILL)
        for r in reqs:
            r.join(10)
        got = [getattr(r.result, "status", r.result) for r in reqs]
        s.eq(got, [200] * 4, "every request is answered 200", c.log_tail())
        s.ok(all(r.result.body.startswith(b"b2") for r in reqs
                 if hasattr(r.result, "body")),
             "by b2", [getattr(r.result, "body", None) for r in reqs])
    finally:
        c.stop()
        b2.stop()


s.done()
