#!/usr/bin/env python3
"""A scripted HTTP/1.1 backend for cutover's integration tests.

    backend.py --name NAME [--host 127.0.0.1] [--port 0] [--verbose]

Binds, prints "PORT <n>" on stdout, then one line "REQUEST <method> <path>"
per request head received (so a test can tell, independently of the proxy,
that a request reached this backend), and serves until SIGTERM or SIGINT
(exit 0).  Every response carries "X-Backend: NAME".  It also prints
"CONN <port>" for every connection accepted (probes included; port is the
peer's), "PEER <port> <method> <path>" just before each REQUEST line (which
connection carried the request), "ABORTED <port> <method> <path>" when a
request body ends early or is badly framed, and "CLOSED <port>" when a
connection ends (either side closed it), so that a test can tell which
connections are open.

With --idle-close-ms N it closes a connection on which no request head
arrives for N ms (as a member with a short keep-alive timeout does),
idle warm connections included.

With --stamp it also prints "RECEIVED <t> <port> <method> <path>" just
before each REQUEST line, t being time.monotonic() (CLOCK_MONOTONIC, which
every process on the machine shares) when the request head had been read:
a test can tell when a request reached this backend, to the microsecond,
without the delay of its reading the backend's output.

Routes (query arguments parsed from the path):
  /, any unknown path   200, body "NAME\\n"
  /delay?ms=N           sleeps N ms, then as /
  /stream?bytes=N[&chunked=1]
                        N bytes of PATTERN, written in 64 KiB pieces, framed
                        by Content-Length or (chunked=1) chunked encoding
  /close?bytes=N        announces Content-Length 2N, sends N bytes, closes
  /blob?bytes=N[&seed=S][&extra=K]
                        N bytes that never repeat (blob(N, S) below, which
                        a test computes too), framed by Content-Length, in
                        one write; with extra=K, K bytes "X" follow the body
                        in the same write (a member that sends more than it
                        announced)
  /echo[?pause_ms=N]    (POST/PUT) reads the body piece by piece (waiting N
                        ms first), prints "ECHOED <port> <bytes> <sha256>"
                        and answers {"name","bytes","sha256"} as JSON
  /early[?close=1]       200 "NAME\\n" at once, before a byte of the body is
                        read (as nginx's "return 200" does), then reads the
                        body and prints "EARLY <port> <bytes> <sha256>" (the
                        body as it arrived); with close=1 the answer says
                        Connection: close and the connection closes after
                        the body
  /headers              the request line and headers as received
  /status?code=N[&cl=N] status N, body "NAME\\n" (none for 1xx/204/304;
                        with cl, a 304 carries Content-Length: N and no body)
  /raw                  the request exactly as received, as JSON: "head" (the
                        request line and header lines, CRLFs included),
                        "body" (decoded), "wire_body" (as framed on the wire,
                        chunk sizes included) and "trailers" (the raw trailer
                        lines of a chunked body); strings are latin-1
  /eof?bytes=N          200 without Content-Length or chunked: N bytes of
                        PATTERN, then the backend closes (framed by close)
  /trailers?bytes=N     chunked 200 with N bytes of PATTERN and the trailer
                        fields "X-Sum: <sha256 of the body>" and "X-Count: N"
  /bad?mode=M           a broken response; the connection stays open for
                        another request unless M says otherwise:
                          status-line  an invalid status line
                          framing      both Content-Length and chunked
                          oversize-headers  a 20 KiB response head
                          close-mid-body    Content-Length 100, 50 bytes, close
                          garbage-after-response  a complete 200 "ok" with
                                       bytes that are no response after it,
                                       in the same write
                          garbage-while-idle  the same, the extra bytes
                                       0.2 s after the response
  /ws                   with "Upgrade: websocket" and a Connection header
                        naming "upgrade": answers 101 Switching Protocols
                        (Upgrade: websocket, Connection: Upgrade, X-Backend)
                        and then echoes every byte it receives (raw bytes,
                        no WebSocket framing) until the client closes; it
                        prints "TUNNEL OPEN /ws" and "TUNNEL CLOSED /ws".
                        Without those headers it is an ordinary route (/).

Failures as a real one looks (the request head and body are read first):
  /kill?bytes=N         announces Content-Length 2N, sends N bytes, then the
                        backend SIGKILLs itself: every connection it has is
                        closed (reset where unread bytes wait) and the port
                        refuses, as when a Pod's process is killed
  /reset                resets the connection before a byte of the answer
                        (SO_LINGER 0, then close: an RST, not a FIN)
  /hang[?ms=N]          never answers: holds the connection, reading
                        nothing more, until the client closes it or N ms
                        (default 600000) pass, then closes without a byte
  /trickle?bytes=N[&ms=M]
                        announces Content-Length N, then sends the body one
                        byte every M ms (default 10)
/control/fail?mode=M (any method; prints "CONTROL <path>") makes every later
request but /control/* (probes included) fail as route M does (reset, hang,
or trickle with its defaults and 16 bytes); mode=none ends it.  With
mode=hang it also stops accepting: new connections wait in the accept
queue, unanswered, as when a process is stopped (SIGSTOP) or wedged.
/control/answer?code=N[&delay_ms=M] (any method; prints "CONTROL <path>")
makes every later request but /control/* and probes wait M ms (default 0)
and then, with N not 0, answer status N with body "NAME\\n" (a release
that fails while its health check passes); code=0&delay_ms=0 ends it.

/control/requests?mode=M[&ms=N] (any method; prints "CONTROL <path>") makes
every later request but /control/* and probes (so the member stays healthy)
go as M says: delay (sleeps ms, default 2000, then answers as usual), reset,
hang (as the routes above, holding it ms, default 600000), 500 (status 500,
body "NAME\\n") or garbage (bytes that are no HTTP response, then close);
mode=none ends it.  The REQUEST line is printed first in every mode.

A request that carries "X-Cutover-Mirror" (cutover's copy of a mirrored
request) prints "MIRRORED <method> <path>" just before its REQUEST line.

Health (for cutover's probes):
  /healthz, and any request with User-Agent "cutover-health"
                        a probe: prints "PROBE <method> <path>" instead of a
                        REQUEST line (so probes never disturb request counts),
                        waits delay_ms, then answers the current code with
                        body "ok" (code 200) or "unhealthy"
  /control/health[?code=N][&delay_ms=N]
                        (any method; prints "CONTROL <path>", not REQUEST)
                        sets what probes answer from now on; answers JSON
                        {"code","delay_ms","probes","last_probe"} where
                        last_probe is the last probe's request line and
                        headers, one string
A request body sent to any other route is read and discarded, so keep-alive
framing holds.
"""

import argparse
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PIECE = 64 * 1024
# Byte i of every stream is i % 256; a piece starts at a multiple of 256.
PATTERN = bytes(range(256)) * (PIECE // 256)

_stdout_lock = threading.Lock()


def announce(line):
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


RECORD_MAX = 1024 * 1024    # bytes of one request kept for /raw


class Recorder:
    """Wraps a handler's rfile and keeps a copy of what is read from it
    (at most RECORD_MAX bytes between two take() calls)."""

    def __init__(self, f):
        self.f = f
        self.kept = []
        self.size = 0

    def _keep(self, data):
        if data and self.size < RECORD_MAX:
            self.kept.append(data[:RECORD_MAX - self.size])
            self.size += len(self.kept[-1])
        return data

    def read(self, *a):
        return self._keep(self.f.read(*a))

    def read1(self, *a):
        return self._keep(self.f.read1(*a))

    def readline(self, *a):
        return self._keep(self.f.readline(*a))

    def take(self):
        """What was read since the last take()."""
        data = b"".join(self.kept)
        self.kept = []
        self.size = 0
        return data

    def __getattr__(self, name):
        return getattr(self.f, name)


class BodyReader:
    """Reads a request body piece by piece: Content-Length or chunked."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        te = (headers.get("Transfer-Encoding") or "").strip().lower()
        self.chunked = te.endswith("chunked")
        cl = headers.get("Content-Length")
        self.remaining = int(cl) if (cl and not self.chunked) else 0
        self.chunk_left = 0
        self.done = not self.chunked and self.remaining == 0
        self.trailers = []

    def read(self, n=PIECE):
        """Returns up to n bytes, b"" at the end of the body."""
        if self.done:
            return b""
        if not self.chunked:
            data = self.rfile.read(min(n, self.remaining))
            if not data:
                raise ConnectionError("body truncated")
            self.remaining -= len(data)
            self.done = self.remaining == 0
            return data
        if self.chunk_left == 0:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise ConnectionError("bad chunk size line")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # trailers, up to the empty line
                for _ in range(100):
                    t = self.rfile.readline(8192)
                    if t in (b"\r\n", b"\n", b""):
                        break
                    self.trailers.append(t)
                self.done = True
                return b""
            self.chunk_left = size
        data = self.rfile.read(min(n, self.chunk_left))
        if not data:
            raise ConnectionError("chunk truncated")
        self.chunk_left -= len(data)
        if self.chunk_left == 0:
            if self.rfile.readline(16) not in (b"\r\n", b"\n"):
                raise ConnectionError("missing CRLF after chunk")
        return data

    def drain(self):
        count = 0
        h = hashlib.sha256()
        while True:
            data = self.read()
            if not data:
                return count, h.hexdigest()
            count += len(data)
            h.update(data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cutover-test-backend"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("backend %s: %s\n" % (self.server.name,
                                                   fmt % args))

    def setup(self):
        if self.server.idle_close_ms > 0:
            # StreamRequestHandler.setup() applies it to the socket
            self.timeout = self.server.idle_close_ms / 1000.0
        super().setup()
        self.rfile = Recorder(self.rfile)
        announce("CONN %d" % self.client_address[1])

    def finish(self):
        try:
            super().finish()
        finally:
            announce("CLOSED %d" % self.client_address[1])

    def do_GET(self):
        try:
            self.handle_any()
        except (ConnectionError, ValueError):
            announce("ABORTED %d %s %s" % (self.client_address[1],
                                           self.command, self.path))
            self.close_connection = True
        finally:
            self.rfile.take()   # the next request's recording starts here

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET
    do_TRACE = do_GET

    # ------------------------------------------------------------ helpers

    def send_simple(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("X-Backend", self.server.name)
        for k, v in extra:
            self.send_header(k, v)
        nobody = code < 200 or code in (204, 304)
        if not nobody:
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not nobody:
            self.wfile.write(body)

    def handle_any(self):
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        route = url.path
        if route == "/control/health":
            self.control_health(q)
            return
        if route == "/control/fail":
            self.control_fail(q)
            return
        if route == "/control/requests":
            self.control_requests(q)
            return
        if route == "/control/answer":
            self.control_answer(q)
            return
        mode = self.server.fail_mode
        if mode != "none":
            BodyReader(self.rfile, self.headers).drain()
            self.fail(mode, {"bytes": "16"})
            return
        if route == "/healthz" or \
                self.headers.get("User-Agent", "") == "cutover-health":
            self.probe()
            return
        code, delay = self.server.answer_code, self.server.answer_delay
        if delay > 0:
            time.sleep(delay / 1000.0)
        if code > 0:
            announce("REQUEST %s %s" % (self.command, self.path))
            BodyReader(self.rfile, self.headers).drain()
            self.send_simple(code, ("%s\n" % self.server.name).encode())
            return
        head = self.rfile.take()
        if self.server.stamp:
            announce("RECEIVED %.6f %d %s %s" % (time.monotonic(),
                                                 self.client_address[1],
                                                 self.command, self.path))
        announce("PEER %d %s %s" % (self.client_address[1], self.command,
                                    self.path))
        if self.headers.get("X-Cutover-Mirror") is not None:
            announce("MIRRORED %s %s" % (self.command, self.path))
        announce("REQUEST %s %s" % (self.command, self.path))
        body = BodyReader(self.rfile, self.headers)
        if self.requests_as(body):
            return
        name = self.server.name
        if route == "/raw":
            data = b"".join(iter(body.read, b""))
            out = json.dumps({"head": head.decode("latin-1"),
                              "body": data.decode("latin-1"),
                              "wire_body": self.rfile.take().decode(
                                  "latin-1"),
                              "trailers": [x.decode("latin-1") for x in
                                           body.trailers]}).encode()
            self.send_simple(200, out, "application/json")
            return
        if route == "/echo" and self.command in ("POST", "PUT"):
            pause = int(q.get("pause_ms", "0"))
            if pause > 0:
                time.sleep(pause / 1000.0)
            count, digest = body.drain()
            announce("ECHOED %d %d %s" % (self.client_address[1], count,
                                           digest))
            out = json.dumps({"name": name, "bytes": count,
                              "sha256": digest}).encode()
            self.send_simple(200, out, "application/json")
            return
        if route == "/early":
            close = q.get("close") == "1"
            self.send_simple(200, (name + "\n").encode(), extra=[
                ("Connection", "close")] if close else ())
            count, digest = body.drain()
            announce("EARLY %d %d %s" % (self.client_address[1], count,
                                          digest))
            return
        body.drain()
        if route == "/ws" and self.wants_upgrade():
            self.tunnel()
        elif route == "/delay":
            time.sleep(int(q.get("ms", "0")) / 1000.0)
            self.send_simple(200, (name + "\n").encode())
        elif route == "/stream":
            self.stream(int(q.get("bytes", "0")), q.get("chunked") == "1")
        elif route == "/close":
            n = int(q.get("bytes", "10"))
            self.send_response(200)
            self.send_header("X-Backend", name)
            self.send_header("Content-Length", str(2 * n))
            self.end_headers()
            self.wfile.write(PATTERN[:n] if n <= PIECE else b"x" * n)
            self.wfile.flush()
            self.abort()
        elif route == "/blob":
            data = blob(int(q.get("bytes", "0")), int(q.get("seed", "0")))
            self.send_response(200)
            self.send_header("X-Backend", name)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data + b"X" * int(q.get("extra", "0")))
        elif route == "/headers":
            lines = [self.requestline]
            for k, v in self.headers.items():
                lines.append("%s: %s" % (k, v))
            self.send_simple(200, ("\n".join(lines) + "\n").encode())
        elif route == "/status":
            code = int(q.get("code", "200"))
            if code == 304 and "cl" in q:
                self.send_simple(code, b"", extra=[("Content-Length",
                                                    q["cl"])])
            else:
                self.send_simple(code, (name + "\n").encode())
        elif route == "/eof":
            n = int(q.get("bytes", "10"))
            self.send_response(200)
            self.send_header("X-Backend", name)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(PATTERN[:n] if n <= PIECE else b"x" * n)
            self.close_connection = True
        elif route == "/trailers":
            n = int(q.get("bytes", "10"))
            data = PATTERN[:n] if n <= PIECE else b"x" * n
            self.send_response(200)
            self.send_header("X-Backend", name)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Sum, X-Count")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n" +
                                 b"0\r\nX-Sum: " +
                                 hashlib.sha256(data).hexdigest().encode() +
                                 b"\r\nX-Count: %d\r\n\r\n" % n)
        elif route == "/bad":
            self.bad(q.get("mode", ""))
        elif route in ("/kill", "/reset", "/hang", "/trickle"):
            self.fail(route[1:], q)
        else:
            self.send_simple(200, (name + "\n").encode())

    BAD = {
        "status-line": b"HTTP/1.1 2x0 Fine\r\nContent-Length: 2\r\n\r\nok",
        "framing": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n0\r\n\r\n",
        "oversize-headers": b"HTTP/1.1 200 OK\r\n" +
                            b"".join(b"X-Big-%02d: %s\r\n" % (i, b"b" * 1000)
                                     for i in range(20)) +
                            b"Content-Length: 2\r\n\r\nok",
        "close-mid-body": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                          b"\r\n" + b"m" * 50,
        "garbage-after-response": b"HTTP/1.1 200 OK\r\nContent-Length: 2"
                                  b"\r\n\r\nokGARBAGE\x00\x01 not a "
                                  b"response\r\n\r\n",
    }

    def bad(self, mode):
        """A broken response, written raw in one piece."""
        if mode == "garbage-while-idle":
            self.wfile.write(self.BAD["garbage-after-response"][:40])
            time.sleep(0.2)
            self.wfile.write(self.BAD["garbage-after-response"][40:])
            return
        self.wfile.write(self.BAD[mode])
        if mode == "close-mid-body":
            self.abort()

    def fail(self, mode, q):
        """A failure as a real one looks: see the routes above."""
        self.close_connection = True
        if mode == "kill":
            n = int(q.get("bytes", "10"))
            self.send_response(200)
            self.send_header("X-Backend", self.server.name)
            self.send_header("Content-Length", str(2 * n))
            self.end_headers()
            self.wfile.write(PATTERN[:n] if n <= PIECE else b"x" * n)
            self.wfile.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        elif mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        elif mode == "hang":
            self.connection.settimeout(int(q.get("ms", "600000")) / 1000.0)
            try:
                # bytes the client sends are left unread; only its close
                # (or the time) ends the wait
                while self.connection.recv(1, socket.MSG_PEEK):
                    time.sleep(0.05)
            except OSError:
                pass
            self.abort()
        elif mode == "trickle":
            n, ms = int(q.get("bytes", "16")), int(q.get("ms", "10"))
            self.send_response(200)
            self.send_header("X-Backend", self.server.name)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.flush()
            for i in range(n):
                time.sleep(ms / 1000.0)
                self.wfile.write(PATTERN[i % 256:i % 256 + 1])
                self.wfile.flush()
            self.close_connection = False

    def control_fail(self, q):
        announce("CONTROL %s %s" % (self.command, self.path))
        BodyReader(self.rfile, self.headers).drain()
        mode = q.get("mode", "")
        if mode not in ("none", "reset", "hang", "trickle"):
            self.send_simple(400, b"mode: none, reset, hang or trickle\n")
            return
        self.server.fail_mode = mode
        self.send_simple(200, json.dumps({"mode": mode}).encode(),
                         "application/json")
        self.wfile.flush()
        if mode == "hang":
            # new connections wait in the accept queue from now on
            self.server.accepting.clear()

    def control_requests(self, q):
        announce("CONTROL %s %s" % (self.command, self.path))
        BodyReader(self.rfile, self.headers).drain()
        mode = q.get("mode", "")
        if mode not in ("none", "delay", "reset", "hang", "500", "garbage"):
            self.send_simple(400, b"mode: none, delay, reset, hang, 500 or "
                             b"garbage\n")
            return
        try:
            ms = int(q.get("ms", "2000" if mode == "delay" else "600000"))
        except ValueError:
            self.send_simple(400, b"bad ms\n")
            return
        self.server.req_mode = (mode, ms)
        self.send_simple(200, json.dumps({"mode": mode, "ms": ms}).encode(),
                         "application/json")

    def requests_as(self, body):
        """/control/requests: True when this request was answered (or
        failed) as the mode says; False to go on as usual."""
        mode, ms = self.server.req_mode
        if mode == "none":
            return False
        if mode == "delay":
            time.sleep(ms / 1000.0)
            return False
        body.drain()
        if mode == "500":
            self.send_simple(500, (self.server.name + "\n").encode())
        elif mode == "garbage":
            self.close_connection = True
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
        else:
            self.fail(mode, {"ms": str(ms)})
        return True

    def control_answer(self, q):
        announce("CONTROL %s %s" % (self.command, self.path))
        BodyReader(self.rfile, self.headers).drain()
        try:
            code = int(q.get("code", "0"))
            delay = int(q.get("delay_ms", "0"))
        except ValueError:
            self.send_simple(400, b"bad code or delay_ms\n")
            return
        if code != 0 and not 200 <= code <= 599 or delay < 0:
            self.send_simple(400, b"code: 0 or 200-599; delay_ms >= 0\n")
            return
        self.server.answer_code, self.server.answer_delay = code, delay
        self.send_simple(200, json.dumps({"code": code, "delay_ms": delay})
                         .encode(), "application/json")

    def wants_upgrade(self):
        conn = [t.strip().lower() for t in
                self.headers.get("Connection", "").split(",")]
        return "upgrade" in conn and \
            self.headers.get("Upgrade", "").strip().lower() == "websocket"

    def tunnel(self):
        """101, then echoes raw bytes until the client closes."""
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("X-Backend", self.server.name)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        announce("TUNNEL OPEN %s" % self.path)
        try:
            while True:
                # bytes the client sent right after its head may already
                # sit in rfile's buffer: read1 returns those first
                data = self.rfile.read1(PIECE)
                if not data:
                    break
                self.connection.sendall(data)
        except OSError:
            pass
        finally:
            announce("TUNNEL CLOSED %s" % self.path)
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def probe(self):
        announce("PROBE %s %s" % (self.command, self.path))
        BodyReader(self.rfile, self.headers).drain()
        head = "\n".join([self.requestline] + ["%s: %s" % kv for kv in
                                               self.headers.items()])
        with self.server.health_lock:
            self.server.probes += 1
            self.server.last_probe = head
            code, delay = self.server.health_code, self.server.health_delay
        if delay > 0:
            time.sleep(delay / 1000.0)
        self.send_simple(code, b"ok" if code == 200 else b"unhealthy")

    def control_health(self, q):
        announce("CONTROL %s %s" % (self.command, self.path))
        BodyReader(self.rfile, self.headers).drain()
        try:
            code = int(q["code"]) if "code" in q else None
            delay = int(q["delay_ms"]) if "delay_ms" in q else None
        except ValueError:
            self.send_simple(400, b"bad code or delay_ms\n")
            return
        with self.server.health_lock:
            if code is not None:
                self.server.health_code = code
            if delay is not None:
                self.server.health_delay = delay
            state = {"code": self.server.health_code,
                     "delay_ms": self.server.health_delay,
                     "probes": self.server.probes,
                     "last_probe": self.server.last_probe}
        self.send_simple(200, json.dumps(state).encode(), "application/json")

    def stream(self, n, chunked):
        self.send_response(200)
        self.send_header("X-Backend", self.server.name)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(n))
        self.end_headers()
        if self.command == "HEAD":
            return
        left = n
        while left > 0:
            k = min(PIECE, left)
            piece = PATTERN[:k]
            if chunked:
                self.wfile.write(b"%x\r\n" % k + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            left -= k
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def abort(self):
        """Closes the connection at once, mid-response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


def blob(n, seed=0):
    """n pseudo-random bytes from seed: a body in which a piece moved,
    repeated or lost changes the hash (PATTERN repeats every 256 bytes)."""
    return random.Random(seed).randbytes(n)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)

    def get_request(self):
        # a backend that hangs accepts nothing more (fail mode "hang")
        while not self.accepting.wait(0.1):
            if self.stopping:
                raise OSError("stopping")
        return super().get_request()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--stamp", action="store_true",
                    help="print RECEIVED <monotonic time> for each request")
    ap.add_argument("--idle-close-ms", type=int, default=0,
                    help="close a connection idle (no request) this long")
    args = ap.parse_args()

    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    srv = Server((args.host, args.port), Handler)
    srv.name = args.name
    srv.verbose = args.verbose
    srv.stamp = args.stamp
    srv.idle_close_ms = args.idle_close_ms
    srv.fail_mode = "none"
    srv.req_mode = ("none", 0)
    srv.answer_code, srv.answer_delay = 0, 0
    srv.accepting = threading.Event()
    srv.accepting.set()
    srv.stopping = False
    srv.health_lock = threading.Lock()
    srv.health_code = 200
    srv.health_delay = 0
    srv.probes = 0
    srv.last_probe = None

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this thread
        srv.stopping = True
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce("PORT %d" % srv.server_address[1])
    try:
        srv.serve_forever(poll_interval=0.1)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
