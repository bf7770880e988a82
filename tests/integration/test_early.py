#!/usr/bin/env python3
"""A member that answers before the request body ended (as nginx's
"return 200" does) and keeps its connection: the rest of the body goes on
to it, then both the client's connection and the member's serve their
next requests; one access line per request with all its bytes.  A member
that says close, a client that stalls or closes after the answer, and a
body past the relay bound close as before."""

import hashlib
import json
import os
import time

from harness import (Backend, Cutover, RawConn, Suite, build_request,
                     dead_addr, wait_until)
from backend import blob

MiB = 1024 * 1024
s = Suite()


def start(extra=""):
    blue = Backend("blue")
    c = Cutover(blue=[blue], green=[dead_addr()],
                extra=extra + 'log = { access = "json"; };\n', start=False)
    c.stdout = os.path.join(c.dir, "stdout")
    c.start()
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    return blue, c


def access(c, n):
    """The first n access lines, once there are n (fewer after 5 s)."""
    wait_until(lambda: len(c.stdout_text().splitlines()) >= n, 5)
    return [json.loads(x) for x in c.stdout_text().splitlines()]


def chunked(body, piece=64 * 1024):
    out = b""
    for i in range(0, len(body), piece):
        p = body[i:i + piece]
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


def early_request(raw, path, body, te=False, first=64 * 1024):
    """Sends the head and the first bytes of body, reads the answer that
    comes before the rest; returns (response, the rest of the wire body)."""
    if te:
        wire = chunked(body)
        head = build_request("POST", path, [("Transfer-Encoding",
                                             "chunked")])
    else:
        wire = body
        head = build_request("POST", path, [("Content-Length",
                                             str(len(body)))])
    raw.send(head + wire[:first])
    return raw.read_response(), wire[first:]


def errors_total(c):
    return c.status_json()["errors_total"]


for framing, te in (("Content-Length", False), ("chunked", True)):
    @s.scenario("early 200 to a 1 MiB %s upload keeps both connections"
                % framing)
    def _(te=te, framing=framing):
        for splice in ("on", "off"):
            extra = "upstream = { splice_requests = true; };\n" \
                if splice == "on" else "upstream = { splice = false; };\n"
            blue, c = start(extra)
            body = blob(MiB, 7)
            raw = RawConn(c.port)
            r, rest = early_request(raw, "/early", body, te)
            s.eq((r.status, r.body, r.header("Connection")),
                 (200, b"blue\n", None),
                 "%s, splice %s: the answer comes before the body ends, "
                 "keep-alive" % (framing, splice))
            # the rest of the body and a pipelined request in one write
            raw.send(rest + build_request("GET", "/blob?bytes=100000&seed=3"))
            r2 = raw.read_response()
            s.ok(r2.status == 200 and r2.body == blob(100000, 3),
                 "%s, splice %s: the next request on the connection is "
                 "answered byte-exact" % (framing, splice),
                 "status %s, %d bytes" % (r2.status, len(r2.body)))
            s.ok(wait_until(lambda: len(blue.early) == 1, 5),
                 "%s, splice %s: the member read the whole body" %
                 (framing, splice))
            port, n, digest = blue.early[0] if blue.early else (0, 0, "")
            s.eq((n, digest), (MiB, hashlib.sha256(body).hexdigest()),
                 "%s, splice %s: byte-exact" % (framing, splice))
            s.eq(blue.peer_of("/blob"), port,
                 "%s, splice %s: the member connection is reused" %
                 (framing, splice))
            lines = access(c, 2)
            posts = [x for x in lines if x["method"] == "POST"]
            s.eq(len(lines), 2, "%s, splice %s: one access line a request"
                 % (framing, splice), lines)
            s.ok(len(posts) == 1 and posts[0]["status"] == 200 and
                 posts[0]["error"] is None and
                 len(rest) < posts[0]["bytes_in"] < len(rest) + 64 * 1024
                 + 1024, "%s, splice %s: the POST's line counts its whole "
                 "body" % (framing, splice), posts)
            s.ok(not raw.closed(0.3), "%s, splice %s: the connection stays "
                 "open" % (framing, splice))
            raw.close()
            c.stop()
            blue.stop()


@s.scenario("the whole upload and a pipelined request sent in one write")
def _():
    blue, c = start()
    body = blob(MiB, 8)
    raw = RawConn(c.port)
    raw.send(build_request("POST", "/early", body=body) +
             build_request("GET", "/blob?bytes=5000&seed=4"))
    r = raw.read_response()
    r2 = raw.read_response()
    s.eq((r.status, r.body), (200, b"blue\n"), "the upload is answered")
    s.ok(r2.status == 200 and r2.body == blob(5000, 4),
         "the pipelined request after it is answered byte-exact",
         "status %s, %d bytes" % (r2.status, len(r2.body)))
    s.ok(wait_until(lambda: len(blue.early) == 1, 5) and
         blue.early[0][1] == MiB, "the member read the whole body",
         blue.early)
    s.eq(blue.requests, ["/early", "/blob?bytes=5000&seed=4"],
         "the member saw the two requests, no body taken for a head")


@s.scenario("a member that answers early with Connection: close")
def _():
    blue, c = start()
    raw = RawConn(c.port)
    r, rest = early_request(raw, "/early?close=1", blob(MiB, 9))
    s.eq(r.status, 200, "answered early")
    s.ok(raw.closed(3), "the client connection closes after the answer")
    lines = access(c, 1)
    s.ok(len(lines) == 1 and lines[0]["status"] == 200 and
         lines[0]["error"] is None, "logged once, as a 200", lines)


@s.scenario("a client that stalls mid-body after the early answer")
def _():
    blue, c = start("timeouts = { client_body_ms = 500; };\n")
    before = errors_total(c)
    raw = RawConn(c.port)
    t0 = time.monotonic()
    r, rest = early_request(raw, "/early", blob(MiB, 10))
    s.eq((r.status, r.header("Connection")), (200, None),
         "answered early, keep-alive")
    s.ok(raw.closed(5), "the connection closes after client_body_ms")
    took = time.monotonic() - t0
    s.ok(0.4 < took < 4, "within the body timeout", "%.2f s" % took)
    s.eq(errors_total(c) - before, 1, "counted as an error")
    lines = access(c, 1)
    s.ok(len(lines) == 1 and lines[0]["status"] == 200 and
         lines[0]["error"] == "request body not received in time",
         "logged once, with the status it got and why it closed", lines)
    s.ok(blue.wait_aborted("/early"),
         "the member sees the body end early")
    # the worker still serves
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/"))
    s.eq(raw.read_response().status, 200, "cutover still serves")


@s.scenario("a client that closes mid-body after the early answer")
def _():
    blue, c = start()
    raw = RawConn(c.port)
    r, rest = early_request(raw, "/early", blob(MiB, 11))
    s.eq(r.status, 200, "answered early")
    raw.s.shutdown(1)           # FIN, still reading
    s.ok(raw.closed(3), "cutover closes too")
    lines = access(c, 1)
    s.ok(len(lines) == 1 and lines[0]["status"] == 200 and
         lines[0]["error"] == "client closed mid-request",
         "logged once, with the status it got", lines)


@s.scenario("a body too long to relay after the answer closes as before")
def _():
    blue, c = start()
    raw = RawConn(c.port)
    raw.send(build_request("POST", "/early", [
        ("Content-Length", str(65 * MiB))]) + b"x" * 1000)
    r = raw.read_response()
    s.eq(r.status, 200, "a 65 MiB body answered early")
    s.ok(raw.closed(3), "the connection closes after the answer")
    s.ok(wait_until(lambda: blue.aborted, 5), "so does the member's",
         blue.early)


s.done()
