#!/usr/bin/env python3
"""HTTP correctness and hostile input: malformed and edge-case requests
(what the client gets and exactly what the member receives), slowloris and
slow bodies, header bombs, body and connection limits, members that answer
badly, and response framing edge cases."""

import json
import re
import socket
import threading
import time

from harness import (PATTERN, Background, Backend, Cutover, RawConn, Suite,
                     build_request, field_values, get, parse_head, sha256,
                     wait_health, wait_until)

s = Suite()

# Probes once, then (almost) never: a probe opens a connection to the
# member and rewrites its `last`, and this script counts connections and
# reads `last`.  fall = 100 keeps a member that answered badly in use, so
# the request after a bad answer is served by it (one bad answer still
# counts, in fail_streak).
QUIET_HEALTH = ('health = { path = "/healthz"; interval_ms = 60000; '
                'timeout_ms = 2000; rise = 1; fall = 100; };\n')


def quiet_cutover(extra=""):
    """blue (one member, up, probes quiet) and green; returns (c, blue)."""
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=QUIET_HEALTH + extra)
    s.ok(wait_health(c, "blue", blue, "up", 5), "blue is up after its "
         "first probe", c.status())
    # the probe's connection is accepted before its PROBE line: wait for it
    wait_until(lambda: len(blue.conns) >= 1, 2)
    return c, blue


def send_quietly(raw, data):
    """Sends data; cutover may answer and close before all of it is sent
    (a reset then is fine: the response is already in the socket)."""
    try:
        raw.send(data)
    except OSError:
        pass


def is_close(r):
    return "close" in [t.strip().lower() for t in
                       (r.header("Connection") or "").split(",")]


def raw_json(r):
    """The JSON of backend.py /raw, or {} when r is not a 200."""
    if getattr(r, "status", None) != 200:
        return {}
    return json.loads(r.body)


# ------------------------------------------------------------ refused

H = "Host: t\r\n"
SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
REFUSED = [
    # (what, request bytes, acceptable statuses)
    ("Content-Length with Transfer-Encoding",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", (400,)),
    ("Transfer-Encoding with Content-Length",
     "POST /raw HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n"
     "Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n", (400,)),
    ("two different Content-Lengths",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
     "Content-Length: 6\r\n\r\nhello!", (400,)),
    ("two different Content-Lengths in one field",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: 5, 6\r\n\r\nhello!",
     (400,)),
    ("invalid Content-Length 5x",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: 5x\r\n\r\nhello",
     (400,)),
    ("invalid Content-Length +5",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello",
     (400,)),
    ("invalid Content-Length -1",
     "POST /raw HTTP/1.1\r\n" + H + "Content-Length: -1\r\n\r\nhello",
     (400,)),
    ("Transfer-Encoding: gzip",
     "POST /raw HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip\r\n\r\nhello",
     (400,)),
    ("Transfer-Encoding: chunked, gzip (chunked not last)",
     "POST /raw HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, gzip\r\n"
     "\r\n5\r\nhello\r\n0\r\n\r\n", (400,)),
    ("Transfer-Encoding: gzip, chunked",
     "POST /raw HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n"
     "\r\n5\r\nhello\r\n0\r\n\r\n", (501,)),
    ("obs-fold",
     "GET /raw HTTP/1.1\r\n" + H + "X-Folded: a\r\n b\r\n\r\n", (400,)),
    ("obs-fold with a tab",
     "GET /raw HTTP/1.1\r\n" + H + "X-Folded: a\r\n\tb\r\n\r\n", (400,)),
    ("obs-fold after an empty first line",
     "GET /raw HTTP/1.1\r\n" + H + "X-Folded:\r\n b\r\n\r\n", (400,)),
    ("obs-fold of the preview header after an empty first line",
     "GET /raw HTTP/1.1\r\n" + H + "X-Cutover-Pool:\r\n green\r\n\r\n",
     (400,)),
    ("whitespace before the colon",
     "GET /raw HTTP/1.1\r\n" + H + "X-Space : a\r\n\r\n", (400,)),
    ("whitespace before the colon of Transfer-Encoding",
     "POST /raw HTTP/1.1\r\n" + H + "Transfer-Encoding : chunked\r\n\r\n"
     "5\r\nhello\r\n0\r\n\r\n", (400,)),
    ("control character in a field value",
     "GET /raw HTTP/1.1\r\n" + H + "X-Ctl: a\x01b\r\n\r\n", (400,)),
    ("NUL in a field value",
     "GET /raw HTTP/1.1\r\n" + H + "X-Ctl: a\x00b\r\n\r\n", (400,)),
    ("bare CR in a field value",
     "GET /raw HTTP/1.1\r\n" + H + "X-Ctl: a\rb\r\n\r\n", (400,)),
    ("bare LF line endings",
     "GET /raw HTTP/1.1\nHost: t\n\n", (400,)),
    ("bare LF after one header",
     "GET /raw HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n", (400,)),
    ("invalid method",
     "G(T /raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("space in the target",
     "GET /r aw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    # a member that splits the request line on any whitespace would read
    # another target and version than cutover (RFC 9112 3: one SP each)
    ("HTAB in the target",
     "GET /r\taw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("HTAB in an absolute-form target",
     "GET http://t/r\taw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("form feed in the target",
     "GET /r\x0caw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("a byte over 0x7e in the target",
     "GET /r\x80aw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("two spaces before the target",
     "GET  /raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("two spaces after the target",
     "GET /raw  HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("HTTP/0.9 request", "GET /\r\n\r\n", (505,)),
    ("HTTP/1.1 without Host", "GET /raw HTTP/1.1\r\n\r\n", (400,)),
    ("two Host fields",
     "GET /raw HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", (400,)),
    ("the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (505,)),
    ("HTTP/3.0", "GET /raw HTTP/3.0\r\n" + H + "\r\n", (505,)),
    ("HTTP/1.2", "GET /raw HTTP/1.2\r\n" + H + "\r\n", (505,)),
    ("CONNECT", "CONNECT example.test:443 HTTP/1.1\r\n"
     "Host: example.test:443\r\n\r\n", (405,)),
    ("a 9000-byte request target",
     "GET /" + "a" * 8999 + " HTTP/1.1\r\n" + H + "\r\n", (414,)),
    ("a 20 KiB header field",
     "GET /raw HTTP/1.1\r\n" + H + "X-Big: " + "b" * 20480 + "\r\n\r\n",
     (431,)),
    ("150 header fields",
     "GET /raw HTTP/1.1\r\n" + H +
     "".join("X-F%d: v\r\n" % i for i in range(150)) + "\r\n", (431,)),
    # request targets a member must not see (RFC 9112 3.2)
    ("GET * (asterisk form is for OPTIONS)",
     "GET * HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("POST * (asterisk form is for OPTIONS)",
     "POST * HTTP/1.1\r\n" + H + "Content-Length: 0\r\n\r\n", (400,)),
    ("absolute form with userinfo",
     "GET http://user@evil.example:81/raw HTTP/1.1\r\n" + H + "\r\n",
     (400,)),
    ("absolute form with user:password",
     "GET http://u:p@t/raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("absolute form with the scheme ftp",
     "GET ftp://t/raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("absolute form with the scheme FTP",
     "GET FTP://t/raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("absolute form without a host",
     "GET http:///raw HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("authority form without CONNECT",
     "GET t:80 HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("Connection naming 65 fields",
     "GET /raw HTTP/1.1\r\n" + H + "Connection: " +
     ", ".join("X-C%d" % i for i in range(65)) + "\r\n\r\n", (400,)),
    # a CR not followed by LF anywhere in a head (llhttp 8.1 takes some);
    # each is followed by a request that must not be forwarded either
    ("bare CR in the request line",
     "GET /raw HTTP/1.1\rHost: t\r\n\r\n" + SMUGGLED, (400,)),
    ("bare CR after the method",
     "GET\r/raw HTTP/1.1\r\n" + H + "\r\n" + SMUGGLED, (400,)),
    ("bare CR at the end of a field value",
     "GET /raw HTTP/1.1\r\n" + H + "X-A: a\r\r\n\r\n" + SMUGGLED,
     (400,)),
    ("bare CR where a field name starts",
     "GET /raw HTTP/1.1\r\n" + H + "\rX-A: 1\r\n\r\n" + SMUGGLED, (400,)),
    ("bare CR ending the head (\\r\\n\\rX)",
     "GET /raw HTTP/1.1\r\n" + H + "\rX" + SMUGGLED, (400,)),
    ("bare CR ending the head (\\r\\n\\r\\r\\n)",
     "GET /raw HTTP/1.1\r\n" + H + "\r\r\n" + SMUGGLED, (400,)),
    ("bare CR ending the last field (\\r\\r\\n)",
     "GET /raw HTTP/1.1\r\n" + H + "X-A: 1\r\r\n\r\n" + SMUGGLED, (400,)),
    ("LF alone ending the head (\\r\\n\\n)",
     "GET /raw HTTP/1.1\r\n" + H + "\n" + SMUGGLED, (400,)),
    # a fragment is not part of a request target (RFC 9112 3.2)
    ("# in an origin-form target",
     "GET /raw#frag HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("# after a query", "GET /raw?q=1#f HTTP/1.1\r\n" + H + "\r\n",
     (400,)),
    ("# alone at the end", "GET /raw# HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("# in an absolute-form target",
     "GET http://t/raw#frag HTTP/1.1\r\n" + H + "\r\n", (400,)),
    ("OPTIONS *#", "OPTIONS *# HTTP/1.1\r\n" + H + "\r\n", (400,)),
]


def refused(c, b, what, data, statuses):
    """Sends data raw; checks the error response, Connection: close, the
    close, and that nothing reached the member b."""
    conns0, reqs0 = len(b.conns), len(b.requests)
    raw = RawConn(c.port, timeout=5)
    t0 = time.monotonic()
    send_quietly(raw, data.encode("latin-1"))
    r = raw.response_or_error()
    got = getattr(r, "status", r)
    s.ok(got in statuses and is_close(r) and raw.closed(3.0),
         "%s: %s, Connection: close, then closed" %
         (what, " or ".join(map(str, statuses))),
         "got %r after %.2f s" % (r, time.monotonic() - t0))
    raw.close()
    # a request forwarded by mistake would reach the member about as fast
    # as the answer reached us; wait_until gives it time
    leaked = wait_until(lambda: len(b.conns) > conns0 or
                        len(b.requests) > reqs0, 0.2)
    s.ok(not leaked, "%s: nothing reached the member" % what,
         "requests %r, connections %r" % (b.requests[reqs0:],
                                           b.conns[conns0:]))


@s.scenario("malformed requests are refused before reaching a member")
def _():
    c, b = quiet_cutover()
    conns0 = len(b.conns)
    for what, data, statuses in REFUSED:
        refused(c, b, what, data, statuses)
    r = get(c.port, "/raw")
    s.eq(r.status, 200, "cutover serves normally after all of them")
    s.ok(wait_until(lambda: b.peers, 2) and b.requests == ["/raw"],
         "in all, the member received only that last request",
         "requests %r, connections %r" % (b.requests, b.conns[conns0:]))
    logged = [int(m) for m in re.findall(
        r"^\S+ cutover\[\d+\]: warning: client 127\.0\.0\.1: \".*\": "
        r"(\d{3}): .+$", c.log_text(), re.M)]
    s.ok(len(logged) == len(REFUSED) and
         all(st in row[2] for st, row in zip(logged, REFUSED)),
         "each refused request is logged once, with its status",
         list(zip(logged, [row[2] for row in REFUSED])))


# Chunked bodies a client may not send (RFC 9112 7.1), whatever llhttp 8.1
# lets through: each is followed by a request that must never be
# forwarded.  (what, body, status)
CHUNK_REFUSED = [
    ("non-hex chunk size", "5\r\nhello\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk size overflowing 64 bits",
     "5\r\nhello\r\n1" + "f" * 17 + "\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk without its CRLF", "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", 400),
    ("bare CR ending a chunk-size line", "5\rhello\r\n0\r\n\r\n", 400),
    ("bare CR after a chunk extension",
     "5;a=b\rX\r\nhello\r\n0\r\n\r\n", 400),
    ("bare CR after chunk data", "5\r\nhello\r\r\n0\r\n\r\n", 400),
    ("bare CR in a trailer field",
     "5\r\nhello\r\n0\r\nX-A: 1\rX-B: 2\r\n\r\n", 400),
    ("bare CR ending a trailer field",
     "5\r\nhello\r\n0\r\nX-A: 1\r\r\n\r\n", 400),
    ("bare CR in the last-chunk line", "5\r\nhello\r\n0\rX\r\n\r\n", 400),
    ("bare CR as the final CRLF (\\r\\n\\rX)",
     "5\r\nhello\r\n0\r\n\rX", 400),
    ("bare CR as the final CRLF (\\r\\n\\r\\r\\n)",
     "5\r\nhello\r\n0\r\n\r\r\n", 400),
    ("LF alone ending a chunk-size line", "5\nhello\r\n0\r\n\r\n", 400),
    ("chunk size 0x5", "0x5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size +5", "+5\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size 5 5", "5 5\r\nhello\r\n0\r\n\r\n", 400),
    ("whitespace ending a chunk-size line", "5 \r\nhello\r\n0\r\n\r\n", 400),
    ("a 4097-byte chunk-size line",
     "5;a=" + "v" * 4091 + "\r\nhello\r\n0\r\n\r\n", 400),
    ("a 64 KiB chunk extension",
     "5;a=" + "v" * 65536 + "\r\nhello\r\n0\r\n\r\n", 400),
]


@s.scenario("an invalid chunk breaks off the request upstream")
def _():
    c, b = quiet_cutover()
    for what, body, status in CHUNK_REFUSED:
        raw = RawConn(c.port, timeout=5)
        send_quietly(raw, ("POST /raw HTTP/1.1\r\nHost: t\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n" + body +
                           SMUGGLED).encode("latin-1"))
        r = raw.response_or_error()
        got = getattr(r, "status", None)
        s.ok(got == status and is_close(r) and raw.closed(3.0),
             "%s: %d, Connection: close, then closed" % (what, status),
             repr(r))
        raw.close()
        # the head may have gone upstream already: then the member must
        # see that body break off, never complete it
        s.ok(wait_until(lambda: b.saw("/raw") == len(b.aborted), 3),
             "%s: the member received no complete request" % what,
             "requests %r, aborted %r" % (b.requests, b.aborted))
        s.eq(b.saw("/smuggled"), 0,
             "%s: the bytes after it never reach the member" % what)
    r = get(c.port, "/raw")
    s.eq(r.status, 200, "cutover serves normally afterwards")


@s.scenario("a trailer field name with whitespace breaks off the request")
def _():
    c, b = quiet_cutover()
    raw = RawConn(c.port, timeout=5)
    send_quietly(raw, b"POST /raw HTTP/1.1\r\nHost: t\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
                 b"X- Sum: 42\r\n\r\n")
    r = raw.response_or_error()
    got = getattr(r, "status", None)
    s.ok((got == 400 and is_close(r) or got is None) and raw.closed(3.0),
         "400 (or a plain close), then the connection is closed", repr(r))
    raw.close()
    s.ok(wait_until(lambda: b.saw("/raw") == len(b.aborted), 3),
         "the member never receives the request complete (RFC 9112 5.1: "
         "a field name is a token, in trailers too)",
         "requests %r, aborted %r" % (b.requests, b.aborted))


# ------------------------------------------------------------ accepted

# What RFC 9112 7.1 allows in chunk framing, and bare CRs in body data:
# (what, request body framing, the body the member must get)
LONG_EXT = "5;a=" + "v" * 4090 + "\r\n"       # 4096 bytes with its CRLF
CHUNK_ACCEPTED = [
    ("BWS before ; (SP and HTAB)",
     "Transfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n"
     "6\t;x\r\n world\r\n0  ;last\r\n\r\n", "hello world"),
    ("BWS around = and extensions without a value",
     "Transfer-Encoding: chunked\r\n\r\n5 ; a = b ;c;d\r\nhello\r\n"
     "0\r\n\r\n", "hello"),
    ("quoted extension values with escapes",
     "Transfer-Encoding: chunked\r\n\r\n5;a=\"x;\\\"y\\\\ z\"\r\nhello\r\n"
     "0;b=\"\"\r\n\r\n", "hello"),
    ("a chunk-size line of 4096 bytes (the cap)",
     "Transfer-Encoding: chunked\r\n\r\n" + LONG_EXT + "hello\r\n0\r\n\r\n",
     "hello"),
    ("leading zeros in chunk sizes",
     "Transfer-Encoding: chunked\r\n\r\n005\r\nhello\r\n000\r\n\r\n", "hello"),
    ("bare CRs in chunk data",
     "Transfer-Encoding: chunked\r\n\r\n8\r\na\rb\r\rc\r\n\r\n0\r\n\r\n",
     "a\rb\r\rc\r\n"),
    ("bare CRs in a Content-Length body",
     "Content-Length: 8\r\n\r\na\rb\r\rc\r\r", "a\rb\r\rc\r\r"),
]


RAW_ANSWERED = [0]


def forwarded(c, data, read_method="GET"):
    """Sends raw request bytes to a /raw route on a new connection;
    returns (client response, member's JSON, head line, head fields).
    RAW_ANSWERED counts the requests the member answered, so a check of
    the member's request list can first wait for their reports."""
    raw = RawConn(c.port, timeout=5)
    raw.send(data)
    r = raw.read_response(read_method)
    raw.close()
    j = raw_json(r)
    if j:
        RAW_ANSWERED[0] += 1
    line, fields = parse_head(j.get("head", ""))
    return r, j, line, fields


@s.scenario("accepted edge cases are forwarded exactly")
def _():
    c, b = quiet_cutover()
    RAW_ANSWERED[0] = 0

    r, j, line, fields = forwarded(
        c, b"POST /raw HTTP/1.1\r\nHost: t\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6;name=\"quoted;value\"\r\n world\r\n"
        b"0;last\r\n\r\n")
    s.eq((r.status, j.get("body")), (200, "hello world"),
         "chunk extensions: the member gets the body bytes", repr(j))
    s.ok("ext=" not in j.get("wire_body", "ext=") and
         "quoted" not in j.get("wire_body", "quoted"),
         "chunk extensions: the body is re-framed, not copied",
         repr(j.get("wire_body")))

    for what, framing, want in CHUNK_ACCEPTED:
        r, j, line, fields = forwarded(
            c, ("POST /raw HTTP/1.1\r\nHost: t\r\n" + framing)
            .encode("latin-1"))
        s.eq((r.status, j.get("body")), (200, want),
             "%s: forwarded, the member gets the body intact" % what,
             repr(j)[:300])

    r, j, line, fields = forwarded(
        c, b"POST /raw HTTP/1.1\r\nHost: t\r\nTrailer: X-Trail\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\nX-Trail: yes\r\nX-Sum: 42\r\n\r\n")
    s.eq((r.status, j.get("body")), (200, "abc"),
         "chunked request with trailers: body arrives", repr(j))
    s.eq([t.strip() for t in j.get("trailers", [])],
         ["X-Trail: yes", "X-Sum: 42"],
         "chunked request with trailers: the member gets the trailers",
         repr(j))

    r, j, line, fields = forwarded(
        c, b"GET http://example.test:8080/raw?q=1 HTTP/1.1\r\n"
        b"Host: example.test:8080\r\n\r\n")
    s.eq(line, "GET /raw?q=1 HTTP/1.1",
         "absolute form goes upstream in origin form", j.get("head"))
    s.eq(field_values(fields, "Host"), ["example.test:8080"],
         "absolute form: Host is its authority", j.get("head"))

    r, j, line, fields = forwarded(
        c, b"GET http://example.test:8080/raw HTTP/1.1\r\n"
        b"Host: other.test\r\n\r\n")
    s.eq((line, field_values(fields, "Host")),
         ("GET /raw HTTP/1.1", ["example.test:8080"]),
         "absolute form with another Host: the authority wins, one Host",
         j.get("head"))

    r, j, line, fields = forwarded(c, b"GET /raw HTTP/1.0\r\n\r\n")
    s.eq(r.status, 200, "HTTP/1.0 without Host is answered")
    s.eq(field_values(fields, "Host"), ["127.0.0.1:%d" % c.port],
         "HTTP/1.0 without Host: Host is the address the client reached",
         j.get("head"))
    s.ok(line.startswith("GET /raw HTTP/1."), "HTTP/1.0 request line "
         "forwarded", line)

    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X-Forwarded-For: 10.0.0.1\r\n\r\n")
    s.eq(field_values(fields, "X-Forwarded-For"), ["127.0.0.1"],
         "X-Forwarded-For from an untrusted client (default): replaced by "
         "its address", j.get("head"))
    s.eq(field_values(fields, "X-Forwarded-Proto"), ["http"],
         "X-Forwarded-Proto: http is set", j.get("head"))
    s.eq(field_values(fields, "X-Forwarded-Host"), ["app.test"],
         "X-Forwarded-Host is the request's Host", j.get("head"))

    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X-Forwarded-Proto: https\r\nX-Forwarded-Host: lb.test\r\n"
        b"Forwarded: for=6.6.6.6;proto=https\r\nX-Real-IP: 6.6.6.6\r\n"
        b"X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\n"
        b"X-Forwarded-Server: lb\r\nX-Forwarded-Ssl: on\r\n"
        b"Front-End-Https: on\r\nTrue-Client-IP: 6.6.6.6\r\n"
        b"X-Client-IP: 6.6.6.6\r\nx-forwarded-tls-client-cert: CN=a\r\n"
        b"X-Keep: 1\r\n\r\n")
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: app.test\r\n"
         "X-Keep: 1\r\nX-Forwarded-For: 127.0.0.1\r\n"
         "X-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test\r\n\r\n",
         "untrusted client (default): every forwarding field removed, "
         "cutover's own set", j.get("head"))

    # CGI, WSGI and PHP servers read X_Forwarded_For as X-Forwarded-For
    # (HTTP_X_FORWARDED_FOR): its underscore spellings go as it does
    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X_Forwarded_For: 6.6.6.6\r\nX_Forwarded-For: 6.6.6.7\r\n"
        b"x_real_ip: 6.6.6.6\r\nX_Forwarded_Host: evil.test\r\n"
        b"X_Forwarded_Proto: https\r\nX_Forwarded_Port: 443\r\n"
        b"True_Client_IP: 6.6.6.6\r\nProxy_Connection: keep-alive\r\n"
        b"Transfer_Encoding: chunked\r\nConnection: X_Foo\r\n"
        b"X-Foo: 1\r\nX_App: kept\r\n\r\n")
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: app.test\r\n"
         "X_App: kept\r\nX-Forwarded-For: 127.0.0.1\r\n"
         "X-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test\r\n\r\n",
         "untrusted client: forwarding and hop-by-hop fields spelled with "
         "underscores removed too, other underscore names passed",
         j.get("head"))

    conn_names = ["X-C%d" % i for i in range(63)]
    r, j, line, fields = forwarded(
        c, ("GET /raw HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, " +
            ", ".join(conn_names[:32]) + "\r\nConnection: " +
            ",".join(conn_names[32:]) + "\r\nX-C0: a\r\nX-C16: b\r\n"
            "x-c17: c\r\nX-C62: d\r\nX-C63: kept\r\n\r\n").encode())
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: t\r\n"
         "X-C63: kept\r\nX-Forwarded-For: 127.0.0.1\r\n"
         "X-Forwarded-Proto: http\r\nX-Forwarded-Host: t\r\n\r\n",
         "64 field names in Connection (the 17th too): all removed",
         j.get("head"))

    r, j, line, fields = forwarded(
        c, b"GET HTTPS://example.test:8443/raw HTTP/1.1\r\nHost: t\r\n\r\n")
    s.eq((r.status, line, field_values(fields, "Host")),
         (200, "GET /raw HTTP/1.1", ["example.test:8443"]),
         "absolute form with HTTPS (any case): origin form, its Host",
         j.get("head"))

    # The member reports a request on a pipe read by a thread; a report of
    # an earlier /raw request may still be on its way.
    b.wait_request("/raw", count=RAW_ANSWERED[0])
    reqs0 = len(b.requests)
    raw = RawConn(c.port, timeout=5)
    raw.send(b"OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n")
    r = raw.response_or_error()
    raw.close()
    s.ok(getattr(r, "status", None) == 200 and
         wait_until(lambda: b.requests[reqs0:] == ["*"], 2),
         "OPTIONS * is forwarded as OPTIONS *",
         "%r, requests %r" % (r, b.requests[reqs0:]))

    r, j, line, fields = forwarded(
        c, b"POST /raw HTTP/1.1\r\nHost: t\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        b"Content-Length: 99\r\nX-Sum: 42\r\nHost: evil.test\r\n"
        b"Authorization: Basic eA==\r\nIf-Match: x\r\n"
        b"X-Forwarded-For: 6.6.6.6\r\nContent-Type: text/evil\r\n"
        b"Proxy-Authorization: x\r\nX-Empty:\r\n\r\n")
    s.eq((r.status, j.get("body"),
          [t.strip() for t in j.get("trailers", [])]),
         (200, "abc", ["X-Sum: 42", "X-Empty:"]),
         "request trailers: framing, routing, auth, conditional and "
         "forwarding fields dropped, others passed", repr(j))

    r, j, line, fields = forwarded(
        c, b"POST /raw HTTP/1.1\r\nHost: t\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        b"X_Forwarded_For: 6.6.6.6\r\nx_real_ip: 6.6.6.6\r\n"
        b"X_Forwarded_Host: evil.test\r\nX_Forwarded_Proto: https\r\n"
        b"Content_Length: 99\r\nX_Sum: 42\r\n\r\n")
    s.eq((r.status, j.get("body"),
          [t.strip() for t in j.get("trailers", [])]),
         (200, "abc", ["X_Sum: 42"]),
         "request trailers: underscore spellings of forwarding and "
         "framing fields dropped", repr(j))

    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: t\r\n"
        b"Connection: keep-alive, X-Foo\r\nX-Foo: 1\r\n"
        b"Keep-Alive: timeout=5\r\nTE: trailers\r\n"
        b"Proxy-Connection: keep-alive\r\nUpgrade: h2c\r\n"
        b"Trailer: X-Nothing\r\nX-Bar: 2\r\n\r\n")
    names = {k.lower() for k, _ in fields}
    gone = {"x-foo", "keep-alive", "te", "proxy-connection", "upgrade",
            "trailer"} & names
    s.ok(not gone, "hop-by-hop fields are removed", j.get("head"))
    s.ok(all("x-foo" not in v.lower()
             for v in field_values(fields, "Connection")),
         "the client's Connection is not forwarded", j.get("head"))
    s.eq(field_values(fields, "X-Bar"), ["2"],
         "an end-to-end field is forwarded", j.get("head"))

    raw = RawConn(c.port, timeout=5)
    raw.send(b"POST /raw HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             b"Content-Length: 5\r\n\r\n")
    first = raw.response_or_error()
    s.eq(getattr(first, "status", first), 100,
         "Expect: 100-continue: the client sees 100 Continue first")
    raw.send(b"hello")
    r = raw.response_or_error()
    j = raw_json(r)
    s.eq((getattr(r, "status", r), j.get("body")), (200, "hello"),
         "Expect: 100-continue: then 200, and the body arrived", repr(r))
    raw.close()


@s.scenario('forwarded = { trusted = [ "127.0.0.0/8" ]; via = true; }')
def _():
    c, b = quiet_cutover('forwarded = { trusted = [ "10.0.0.0/8", '
                         '"127.0.0.0/8" ]; via = true; };\n')
    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X-Forwarded-For: 6.6.6.6\r\n"
        b"X-Forwarded-Proto: https\r\nx-forwarded-host: lb.test\r\n"
        b"Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
        b"X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /app\r\n"
        b"Via: 1.0 lb\r\n\r\n")
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: app.test\r\n"
         "X-Forwarded-Proto: https\r\nx-forwarded-host: lb.test\r\n"
         "Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
         "X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /app\r\n"
         "Via: 1.0 lb\r\nX-Forwarded-For: 6.6.6.6, 127.0.0.1\r\n"
         "Via: 1.1 cutover\r\n\r\n",
         "a trusted source's forwarding fields are kept, the client's "
         "address appended to X-Forwarded-For", j.get("head"))
    s.ok(any("1.1 cutover" in v for v in r.headers_named("Via")),
         "Via: 1.1 cutover in the response", repr(r))

    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X_Forwarded_For: 6.6.6.6\r\nX_Forwarded_Proto: https\r\n"
        b"x_real_ip: 6.6.6.6\r\nProxy_Connection: keep-alive\r\n\r\n")
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: app.test\r\n"
         "X_Forwarded_Proto: https\r\nx_real_ip: 6.6.6.6\r\n"
         "X-Forwarded-For: 6.6.6.6, 127.0.0.1\r\n"
         "X-Forwarded-Host: app.test\r\nVia: 1.1 cutover\r\n\r\n",
         "a trusted source's underscore spellings are kept as its dash "
         "ones: X_Forwarded_For joins X-Forwarded-For", j.get("head"))


@s.scenario('forwarded = { trusted = [ "10.244.0.0/16", "fd00::/8" ]; } '
            '(the client is not in it)')
def _():
    c, b = quiet_cutover('forwarded = { trusted = [ "10.244.0.0/16", '
                         '"fd00::/8" ]; };\n')
    r, j, line, fields = forwarded(
        c, b"GET /raw HTTP/1.1\r\nHost: app.test\r\n"
        b"X-Forwarded-For: 6.6.6.6\r\nx-forwarded-for: 7.7.7.7\r\n"
        b"X-Forwarded-Proto: https\r\nx-forwarded-host: evil.test\r\n"
        b"Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n"
        b"X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\n\r\n")
    s.eq(j.get("head"), "GET /raw HTTP/1.1\r\nHost: app.test\r\n"
         "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n"
         "X-Forwarded-Host: app.test\r\n\r\n",
         "an untrusted source's forwarding fields (any case) are removed "
         "and cutover's own set", j.get("head"))


# ------------------------------------------------------------ slow clients


def dribble(port, data, gap, stop):
    """Sends data one byte every gap seconds until done, stop is set or a
    send fails; then reads what comes back (at most 5 s).  Returns (bytes
    sent, the reply, seconds from the first byte to EOF or None)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    sent = 0
    try:
        for i in range(len(data)):
            if stop.is_set():
                break
            try:
                sock.sendall(data[i:i + 1])
            except OSError:
                break
            sent += 1
            sock.settimeout(gap)
            try:
                got = sock.recv(65536, socket.MSG_PEEK)
            except socket.timeout:
                got = None
            except OSError:
                got = b""
            if got is not None:
                break       # an answer or a close: stop sending
        sock.settimeout(5)
        reply = b""
        for _ in range(100):
            try:
                piece = sock.recv(65536)
            except OSError:
                piece = b""
            if not piece:
                return sent, reply, time.monotonic() - t0
            reply += piece
        return sent, reply, None
    finally:
        sock.close()


@s.scenario("slowloris: timeouts.client_header_ms = 500")
def _():
    c, b = quiet_cutover("timeouts = { client_header_ms = 500; };\n")
    stop = threading.Event()
    head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 60 + b"\r\n\r\n"
    slow = [Background(dribble, c.port, head, 0.1, stop) for _ in range(3)]
    silent = RawConn(c.port, timeout=5)
    t0 = time.monotonic()
    served = []
    for _ in range(10):
        served.append(get(c.port, "/", timeout=5).status)
        time.sleep(0.05)
    s.eq(served, [200] * 10, "other clients are served meanwhile")
    s.ok(silent.closed(3.0) and silent.buf == b"",
         "a client that sends nothing is closed without a response",
         "after %.2f s, got %r" % (time.monotonic() - t0, silent.buf))
    silent.close()
    for bg in slow:
        bg.join(8)
    stop.set()
    for i, bg in enumerate(slow):
        sent, reply, took = bg.result or (0, b"", None)
        s.ok(reply.startswith(b"HTTP/1.1 408 ") and
             re.search(rb"(?im)^connection:\s*close\r$", reply) and
             took is not None and took < 3.0 and sent < len(head),
             "byte-by-byte client %d: 408 with Connection: close, then "
             "closed, within ~1-2 s" % (i + 1),
             "sent %d of %d bytes, closed after %s s, reply %r, error %r"
             % (sent, len(head), took, reply[:200], bg.error))
    s.eq(b.saw("/"), 10, "no slow request reached the member")
    s.ok(c.wait_log(r"^\S+ cutover\[\d+\]: warning: client 127\.0\.0\.1: "
                    r"\".*\": 408: request head not received in time$", 2),
         "408s are logged")


@s.scenario("slow body: timeouts.client_body_ms = 500")
def _():
    c, b = quiet_cutover("timeouts = { client_body_ms = 500; };\n")
    raw = RawConn(c.port, timeout=5)
    t0 = time.monotonic()
    raw.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
             + b"x" * 10)
    r = raw.response_or_error()
    got = getattr(r, "status", None)
    el = time.monotonic() - t0
    s.ok(got == 408 and is_close(r) and raw.closed(3.0) and el < 4.0,
         "a client stopping mid-body gets 408, then closed",
         "%r after %.2f s" % (r, el))
    raw.close()
    s.ok(b.wait_aborted("/echo", 3),
         "the member sees that body break off (its connection closed)",
         "requests %r aborted %r" % (b.requests, b.aborted))
    echo_port = b.peer_of("/echo")
    raw = RawConn(c.port, timeout=5)
    r1 = raw.request("POST", "/raw", body=b"y" * 90)
    r2 = raw.request("GET", "/raw")
    s.ok(raw_json(r1).get("body") == "y" * 90 and
         raw_json(r2).get("head", "").startswith("GET /raw HTTP/1.1"),
         "the next requests are answered correctly", repr((r1, r2)))
    b.wait_request("/raw", 2, count=2)
    s.ok(b.peer_of("/raw") not in (None, echo_port),
         "they went on a new member connection, not the broken one",
         "peers %r" % b.peers)
    raw.close()


# ------------------------------------------------------------ bombs


@s.scenario("header bombs")
def _():
    c, b = quiet_cutover()
    bombs = [("150 header fields", b"GET / HTTP/1.1\r\nHost: t\r\n" +
              b"".join(b"X-F%d: v\r\n" % i for i in range(150)) + b"\r\n"),
             ("20 KiB of header fields", b"GET / HTTP/1.1\r\nHost: t\r\n" +
              b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 1000)
                       for i in range(20)) + b"\r\n"),
             ("1 MiB of header fields that never end",
              b"GET / HTTP/1.1\r\nHost: t\r\n" +
              b"X-Endless: " + b"e" * 1024 * 1024)]
    for what, data in bombs:
        results = []
        for _ in range(5):
            raw = RawConn(c.port, timeout=5)
            send_quietly(raw, data)
            r = raw.response_or_error()
            results.append((getattr(r, "status", repr(r)),
                            isinstance(r, Exception) or is_close(r),
                            raw.closed(3.0)))
            raw.close()
        s.eq(results, [(431, True, True)] * 5,
             "%s, 5 times: 431, Connection: close, closed" % what)
    s.eq(get(c.port, "/").status, 200, "cutover keeps serving")
    b.wait_request("/", 2)
    s.eq(b.requests, ["/"], "no bomb reached the member")
    s.ok(wait_until(lambda: c.status_json()["connections_open"] == 0, 3),
         "no connection is left open", c.admin("status"))


# ------------------------------------------------------------ limits


@s.scenario("limits.max_body_bytes = 1000")
def _():
    c, b = quiet_cutover("limits = { max_body_bytes = 1000; };\n")
    conns0 = len(b.conns)
    raw = RawConn(c.port, timeout=5)
    raw.send(b"POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n")
    r = raw.response_or_error()
    s.ok(getattr(r, "status", None) == 413 and is_close(r) and
         raw.closed(3.0),
         "Content-Length 2000: 413 at once (no body sent), then closed",
         repr(r))
    raw.close()
    s.ok(not wait_until(lambda: len(b.conns) > conns0 or b.requests, 0.2),
         "nothing reached the member", "requests %r" % b.requests)

    r = RawConn(c.port, timeout=5).request("POST", "/raw", body=b"z" * 1000)
    s.eq(raw_json(r).get("body"), "z" * 1000,
         "a body of exactly 1000 bytes passes")

    raw = RawConn(c.port, timeout=5)
    raw.send(b"POST /raw HTTP/1.1\r\nHost: t\r\n"
             b"Transfer-Encoding: chunked\r\n\r\n")
    for _ in range(5):
        send_quietly(raw, b"12c\r\n" + b"c" * 300 + b"\r\n")
    r = raw.response_or_error()
    got = getattr(r, "status", None)
    s.ok(got == 413 and is_close(r) and raw.closed(3.0),
         "a chunked body passing 1000 bytes: 413, then closed",
         repr(r))
    raw.close()
    s.ok(wait_until(lambda: b.saw("/raw") - 1 == len(b.aborted), 3),
         "the member never receives that body complete",
         "requests %r aborted %r" % (b.requests, b.aborted))

    raw = RawConn(c.port, timeout=5)
    send_quietly(raw, b"POST /raw HTTP/1.1\r\nHost: t\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" +
                 b"5dc\r\n" + b"c" * 1500 + b"\r\n0\r\n\r\n")
    r = raw.response_or_error()
    got = getattr(r, "status", None)
    s.ok(got == 413 and is_close(r) and raw.closed(3.0),
         "a chunked body over 1000 bytes sent with its head in one write: "
         "413, then closed", repr(r))
    raw.close()
    s.ok(wait_until(lambda: b.saw("/raw") - 1 == len(b.aborted), 3),
         "the member never receives that body complete either",
         "requests %r aborted %r" % (b.requests, b.aborted))
    s.eq(get(c.port, "/").status, 200, "cutover keeps serving")


@s.scenario("limits.max_connections = 5")
def _():
    c, b = quiet_cutover("limits = { max_connections = 5; };\n")
    held = []
    for _ in range(5):
        raw = RawConn(c.port, timeout=5)
        held.append((raw, raw.request("GET", "/").status))
    s.eq([st for _, st in held], [200] * 5,
         "5 keep-alive connections served and held open")
    sixth = RawConn(c.port, timeout=5)    # the kernel's backlog accepts it
    sixth.send(build_request("GET", "/status?code=201"))
    sixth.s.settimeout(1.0)
    try:
        early = sixth.s.recv(65536)
    except socket.timeout:
        early = None
    except OSError as e:
        early = e
    sixth.s.settimeout(5)
    s.eq(early, None, "a 6th connection gets no response while 5 are open")
    s.ok(c.wait_log(r"warning: limits\.max_connections \(5\) reached: not "
                    r"accepting ", 3, since=0),
         "the log says the limit was reached", c.log_tail(10))
    held[0][0].close()
    t0 = time.monotonic()
    r = sixth.response_or_error()
    s.eq(getattr(r, "status", r), 201,
         "once one of the 5 closes, the 6th is served",
         "after %.2f s" % (time.monotonic() - t0))
    sixth.close()
    for raw, _ in held[1:]:
        raw.close()
    s.eq(get(c.port, "/").status, 200, "cutover keeps serving")


# ------------------------------------------------------------ bad members

BAD_MODES = ["status-line", "framing", "oversize-headers", "close-mid-body",
             "garbage-after-response"]


@s.scenario("members that answer badly")
def _():
    c, b = quiet_cutover()
    for mode in BAD_MODES:
        # an idle member connection to reuse, so the bad answer comes on
        # a reused connection and the next request could be tempted too
        r = get(c.port, "/raw", timeout=5)
        streak0 = c.member("blue", b)["fail_streak"]
        mark = c.log_mark()
        raw = RawConn(c.port, timeout=5)
        raw.send(build_request("GET", "/bad?mode=" + mode))
        r = raw.response_or_error()
        got = getattr(r, "status", None)
        if mode == "close-mid-body":
            # the head is relayed before the member closes (cutover.8,
            # Errors: a response that has begun is cut short)
            ok = isinstance(r, EOFError)
            want = "a truncated response"
        elif mode == "garbage-after-response":
            # the response itself was complete: relaying it is fine
            ok = (got == 502 and is_close(r)) or (got == 200 and
                                                    r.body == b"ok")
            want = "502 or the complete response"
        else:
            ok = got == 502 and is_close(r)
            want = "502 with Connection: close"
        s.ok(ok and (got == 200 or raw.closed(3.0)),
             "%s: the client gets %s, then a close" % (mode, want), repr(r))
        raw.close()
        s.ok(c.wait_log(re.escape(b.addr), 3, since=mark),
             "%s: the log line names the member's address" % mode,
             c.log_text()[mark:])
        m = c.member("blue", b)
        s.ok(m["last"].startswith("passive") and
             m["fail_streak"] == streak0 + 1,
             "%s: status shows a passive failure of the member" % mode, m)
        b.wait_request("/bad?mode=" + mode, 2)  # its log is read apart
        bad_port = b.peer_of("/bad")
        raw = RawConn(c.port, timeout=5)
        r1 = raw.request("GET", "/raw?after=" + mode)
        r2 = raw.request("GET", "/raw?again=" + mode)
        raw.close()
        s.ok(raw_json(r1).get("head", "").startswith(
            "GET /raw?after=%s HTTP/1.1" % mode) and
            raw_json(r2).get("head", "").startswith(
            "GET /raw?again=%s HTTP/1.1" % mode),
            "%s: the next requests are answered correctly" % mode,
            repr((r1, r2)))
        b.wait_request("/raw?after=" + mode, 2)
        s.ok(b.peer_of("/raw?after=") != bad_port,
             "%s: the next request is on a new member connection" % mode,
             "peers %r" % b.peers[-4:])


@s.scenario("a bad answer on a keep-alive client connection")
def _():
    c, b = quiet_cutover()
    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/raw?first")
    s.eq(r.status, 200, "first request on a keep-alive connection")
    raw.send(build_request("GET", "/bad?mode=garbage-after-response") +
             build_request("GET", "/raw?pipelined"))
    r = raw.response_or_error()
    r2 = raw.response_or_error() if getattr(r, "status", None) == 200 \
        else None
    s.ok(getattr(r, "status", None) == 502 or
         (getattr(r, "body", None) == b"ok" and
          raw_json(r2).get("head", "").startswith(
              "GET /raw?pipelined HTTP/1.1")),
         "garbage after a response: the pipelined request after it gets "
         "its own answer (or the client a 502)", repr((r, r2)))
    # the backend's log is read apart: wait for what it received
    b.wait_request("/bad?mode=garbage-after-response", 2)
    if r2 is not None:
        b.wait_request("/raw?pipelined", 2)
    s.ok(b.peer_of("/raw?pipelined") != b.peer_of("/bad"),
         "the next request goes on a new member connection",
         "peers %r" % b.peers)
    raw.close()

    # garbage that arrives while the member connection idles in the pool
    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/bad?mode=garbage-while-idle")
    s.eq((r.status, r.body), (200, b"ok"),
         "a complete response, then garbage 0.2 s later: the response "
         "reaches the client")
    s.ok(b.wait_request("/bad?mode=garbage-while-idle", 2), "the member "
         "got it")
    time.sleep(0.5)     # the garbage is sent 0.2 s after the response
    bad_port = b.peer_of("/bad?mode=garbage-while-idle")
    r = raw.response_or_error() if raw.buf else \
        (raw.send(build_request("GET", "/raw?later")) or
         raw.response_or_error())
    s.ok(raw_json(r).get("head", "").startswith("GET /raw?later HTTP/1.1"),
         "the next request is answered correctly, not with the garbage",
         repr(r))
    b.wait_request("/raw?later", 2)    # the backend's log is read apart
    s.ok(b.peer_of("/raw?later") not in (None, bad_port),
         "... on a new member connection", "peers %r" % b.peers)
    raw.close()


# ------------------------------------------------------------ responses


@s.scenario("response framing edge cases")
def _():
    c, b = quiet_cutover()
    raw = RawConn(c.port, timeout=5)
    r = raw.request("HEAD", "/stream?bytes=1000")
    s.ok(r.status == 200 and r.header("Content-Length") == "1000" and
         r.body == b"", "HEAD: 200, Content-Length 1000 kept, no body",
         repr(r))
    r = raw.request("GET", "/status?code=204")
    s.eq((r.status, r.body, r.header("Content-Length"),
          r.header("Transfer-Encoding")), (204, b"", None, None),
         "204: no body, no framing fields")
    r = raw.request("GET", "/status?code=304")
    s.eq((r.status, r.body), (304, b""), "304: no body")
    r = raw.request("GET", "/")
    s.eq((r.status, r.body), (200, b"blue\n"),
         "the connection still works after HEAD, 204, 304 (framing held)")
    raw.close()

    # a 304 may carry the Content-Length of the representation it stands
    # for (RFC 9110 8.6); it still has no body
    raw = RawConn(c.port, timeout=5)
    raw.send(build_request("GET", "/status?code=304&cl=5") +
             build_request("GET", "/"))
    r1 = raw.response_or_error()
    r2 = raw.response_or_error()
    s.ok(getattr(r1, "status", None) == 304 and r1.body == b"" and
         getattr(r2, "body", None) == b"blue\n",
         "304 with Content-Length: 5 has no body; the next request on the "
         "connection is answered", repr((r1, r2)))
    raw.close()

    raw = RawConn(c.port, timeout=5)

    r = raw.request("GET", "/eof?bytes=3000")
    s.ok(r.status == 200 and r.body == PATTERN[:3000] and
         "chunked" in (r.header("Transfer-Encoding") or "").lower() and
         not is_close(r),
         "a response framed by close reaches an HTTP/1.1 client chunked",
         repr(r))
    r = raw.request("GET", "/")
    s.eq((r.status, r.body), (200, b"blue\n"),
         "... and the client's connection stays open")
    raw.close()

    raw = RawConn(c.port, timeout=5)
    raw.send(b"GET /eof?bytes=3000 HTTP/1.0\r\nHost: t\r\n\r\n")
    r = raw.response_or_error()
    s.ok(getattr(r, "status", None) == 200 and r.body == PATTERN[:3000] and
         r.header("Transfer-Encoding") is None,
         "an HTTP/1.0 client gets it framed by close, not chunked", repr(r))
    s.ok(raw.closed(3.0), "... and the connection is closed")
    raw.close()

    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/trailers?bytes=2000",
                    {"TE": "trailers"})
    tr = dict((k.lower(), v) for k, v in r.trailers)
    s.ok(r.status == 200 and r.body == PATTERN[:2000] and
         tr.get("x-sum") == sha256(PATTERN[:2000]) and
         tr.get("x-count") == "2000",
         "a chunked response's trailers reach the client", repr((r,
                                                                  r.trailers)))
    r = raw.request("GET", "/")
    s.eq(r.status, 200, "the connection works after the trailers")
    raw.close()


class ScriptedMember:
    """A member that answers every request but its probes (/healthz: 200
    "ok") with the same raw bytes, on keep-alive connections; answer may
    also be a function of the request line (bytes) that returns them."""

    def __init__(self, answer):
        self.answer = answer
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                if b" /healthz " in head.split(b"\r\n")[0]:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2"
                                 b"\r\n\r\nok")
                elif callable(self.answer):
                    conn.sendall(self.answer(head.split(b"\r\n")[0]))
                else:
                    conn.sendall(self.answer)
        except OSError:
            pass
        finally:
            conn.close()

    def __str__(self):
        return self.addr

    def close(self):
        self.sock.close()


@s.scenario("a member's forbidden trailer fields never reach the client")
def _():
    m = ScriptedMember(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
        b"Trailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\n"
        b"Content-Length: 1000\r\nX-Sum: 42\r\nSet-Cookie: admin=1\r\n"
        b"Location: http://evil.test/\r\nContent-Type: text/html\r\n"
        b"Connection: close\r\nCache-Control: public\r\n"
        b"Server-Timing: db;dur=5\r\n\r\n")
    green = Backend("green")
    c = Cutover(blue=[m], green=[green], extra=QUIET_HEALTH)
    s.ok(wait_health(c, "blue", m, "up", 5), "the member is up",
         c.status())
    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/t", {"TE": "trailers"})
    s.eq((r.status, r.body, [(k.lower(), v) for k, v in r.trailers]),
         (200, b"hello", [("x-sum", "42"), ("server-timing", "db;dur=5")]),
         "response trailers: Content-Length, Set-Cookie, Location, "
         "Content-Type, Connection, Cache-Control dropped; others passed",
         repr((r, r.trailers)))
    raw.send(build_request("GET", "/t"))
    r = raw.response_or_error()
    s.eq((getattr(r, "status", r), getattr(r, "body", None)),
         (200, b"hello"),
         "the next request is answered (a member's Connection: close "
         "trailer is not a reusable connection)", c.log_tail(5))
    raw.close()
    m.close()


# What a member may not send either: (what, response bytes, whether the
# fault is in the body).  Each is counted against the member; the client
# gets 502, or, when the fault is in a body whose head went out already,
# a response cut short (never a complete one).
CHUNKED_RESP = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
RESPONSE_REFUSED = [
    ("bare CR in the status line",
     b"HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nok", False),
    ("bare CR in a field value",
     b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok", False),
    ("bare CR ending the head",
     b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\rXok", False),
    ("bare CR in a chunk-size line",
     CHUNKED_RESP + b"5\rhello\r\n0\r\n\r\n", True),
    ("bare CR after chunk data",
     CHUNKED_RESP + b"5\r\nhello\r\r\n0\r\n\r\n", True),
    ("bare CR in a trailer field",
     CHUNKED_RESP + b"5\r\nhello\r\n0\r\nX-A: 1\rX\r\n\r\n", True),
    ("bare CR as the final CRLF",
     CHUNKED_RESP + b"5\r\nhello\r\n0\r\n\rX", True),
    ("chunk size 5 5", CHUNKED_RESP + b"5 5\r\nhello\r\n0\r\n\r\n", True),
    ("a 4097-byte chunk-size line",
     CHUNKED_RESP + b"5;a=" + b"v" * 4091 + b"\r\nhello\r\n0\r\n\r\n", True),
]


@s.scenario("a member's bad framing: 502, and the member is counted")
def _():
    answers = dict((b"/bad%d" % i, data)
                   for i, (_, data, _) in enumerate(RESPONSE_REFUSED))
    good = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5 ;a=\"q\\\"\"\r\nhel\rl\r\n0\r\n\r\n")
    m = ScriptedMember(lambda line: answers.get(line.split(b" ")[1], good))
    green = Backend("green")
    c = Cutover(blue=[m], green=[green], extra=QUIET_HEALTH)
    s.ok(wait_health(c, "blue", m, "up", 5), "the member is up",
         c.status())
    for i, (what, _, in_body) in enumerate(RESPONSE_REFUSED):
        streak0 = c.member("blue", m)["fail_streak"]
        raw = RawConn(c.port, timeout=5)
        raw.send(build_request("GET", "/bad%d" % i))
        r = raw.response_or_error()
        got = getattr(r, "status", None)
        if in_body:
            s.ok((got == 502 and is_close(r) or isinstance(r, EOFError))
                 and raw.closed(3.0),
                 "%s: the client gets 502 or a response cut short, then "
                 "a close" % what, repr(r))
        else:
            s.ok(got == 502 and is_close(r) and raw.closed(3.0),
                 "%s: the client gets 502 with Connection: close, then a "
                 "close" % what, repr(r))
        raw.close()
        st = c.member("blue", m)
        s.ok(st["last"].startswith("passive") and
             st["fail_streak"] == streak0 + 1,
             "%s: counted as a passive failure of the member" % what, st)
    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/good")
    s.eq((r.status, r.body), (200, b"hel\rl"),
         "BWS before ; and a bare CR in chunk data: relayed intact")
    raw.close()
    m.close()


s.done()
