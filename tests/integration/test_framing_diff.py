#!/usr/bin/env python3
"""Differential check of request framing: what cutover forwards, read by a
second, independent, strict HTTP/1.1 parser (h11, Debian's python3-h11).

Inputs: every file of the request fuzzers' stored corpus
(tests/fuzz/corpus/fuzz_request: 2 control bytes, then the client's bytes;
tests/fuzz/corpus/fuzz_conn: a program whose client sends are taken, see
tests/fuzz/fuzz_conn.c), and seeded mutations of the hostile-input tables
of test_hostile.py (REFUSED, CHUNK_REFUSED, CHUNK_ACCEPTED and the requests
it expects to be forwarded, read from that file): byte flips, CR/LF/SP/HTAB/NUL inserted,
case changes, separators doubled or removed, Content-Length and
Transfer-Encoding variants, bytes put into the request target ('#', HTAB,
bytes over 0x7e, ...), and a request pipelined after some.

One cutover and one recording member serve the whole run.  The member is
a raw TCP listener in this process: it keeps every byte each connection
brings and answers the first request it can find there (or anything h11
cannot read) with a fixed "200, Connection: close", so cutover opens one
member connection per request and the bytes of each are exactly what it
forwarded for that request.  Each input goes to cutover on a new
connection (a fuzz_request input in the pieces its control bytes ask for,
and a quarter of the mutations in pieces too, 1 ms apart), followed by a
half-close; the input is done when cutover has closed the client
connection and every member connection opened meanwhile.
Health probes ask PROBE_PATH; their connections are set aside.

For every input, with h11 as the reference reading of the client's bytes:
  - every member connection carries at most one request, complete or broken
    off, that h11 reads with nothing left over;
  - the forwarded requests are h11's requests one for one (method, target
    and body; a prefix when cutover refused a later one with an error
    status); a request broken off upstream must be one whose head h11
    read, with a body that is a prefix of the client's;
  - a forwarded target is a request-target without a fragment;
and at the end cutover still serves and exits 0.  The deliberate
differences between cutover and h11 are in ALLOWED, each with its reason.

Environment: CUTOVER_DIFF_MUTATIONS (default 3000) is the number of
mutations, CUTOVER_DIFF_SEED (default 15) their seed; findings are printed
with the input's bytes, so a finding can be replayed.
"""

import ast
import os
import random
import re
import selectors
import socket
import sys
import time

from harness import SRCDIR, Cutover, Suite, sanitized, wait_until

try:
    import h11
except ImportError:
    # the tests' python3 may not be Debian's; h11 is pure Python
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import h11
    except ImportError:
        h11 = None

s = Suite()

SEED = int(os.environ.get("CUTOVER_DIFF_SEED") or 15)
MUTATIONS = int(os.environ.get("CUTOVER_DIFF_MUTATIONS") or 3000)
# seconds for one input (the client's answer, then the member connections)
TIMEOUT = 10.0 if sanitized() or sanitized(what="tsan") else 4.0
PROBE_PATH = b"/__framing-diff-probe"
# green is the same recording member as blue: no warm connections to it,
# which would stay open (upstream.warm_idle) and read as member
# connections cutover never closes
HEALTH = ('health = { path = "%s"; interval_ms = 60000; timeout_ms = 5000; '
          'rise = 1; fall = 100; };\nupstream = { warm_idle = 0; };\n' %
          PROBE_PATH.decode())
MAX_HEAD = 64 * 1024    # h11's limit on a head (cutover's is lower)
GAP = 0.001             # seconds between the pieces of an input

# ------------------------------------------------------------ inputs


def corpus_inputs():
    """(name, client bytes) of every stored corpus file of fuzz_request
    and fuzz_conn."""
    out = []
    base = os.path.join(SRCDIR, "tests", "fuzz", "corpus")
    d = os.path.join(base, "fuzz_request")
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        if len(data) > 2:
            out.append(("fuzz_request/" + name, feed(data)))
    d = os.path.join(base, "fuzz_conn")
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            data = conn_client_bytes(f.read())
        if data:
            out.append(("fuzz_conn/" + name, [data]))
    return out


def feed(data):
    """The client's bytes of a fuzz_request input, in pieces as its
    control bytes ask (tests/fuzz/fuzz_http.h): all at once, or pieces of
    1-8, 1-64 or 1-1024 bytes, their sizes seeded by the second byte."""
    most = (0, 8, 64, 1024)[data[0] & 3]
    if most == 0:
        return [data[2:]]
    rng = random.Random(data[1])
    return split(data[2:], lambda: rng.randint(1, most))


def conn_client_bytes(prog):
    """What the client of a fuzz_conn program sends, in order, up to its
    half-close, reset or close (the encoding of tests/fuzz/fuzz_conn.c)."""
    out, chunk, i = b"", b"", 0

    def byte():
        nonlocal i
        if i >= len(prog):
            return 0
        i += 1
        return prog[i - 1]

    while i < len(prog):
        op = prog[i]
        i += 1
        code = op & 15
        if code in (0, 1):              # CSEND, MSEND
            n = byte()
            b = prog[i:i + n]
            i += len(b)
            if code == 0:
                out += b
                chunk = b
        elif code in (2, 3):            # CFILL, MFILL
            n = (byte() + 1) * 256
            if code == 2:
                out += b"x" * n
                chunk += b"x" * n
        elif code in (4, 5):            # CREPEAT, MREPEAT
            n = byte() + 1
            if code == 4:
                out += chunk * n
        elif code in (6, 8, 14):        # CSHUT, CRESET, CCLOSE
            break
    return out


def hostile_table():
    """The requests of test_hostile.py: its REFUSED table, its chunked
    bodies (CHUNK_REFUSED, with the request after each; CHUNK_ACCEPTED),
    and every constant request it expects forwarded (forwarded(c,
    b"...")), read from the file, so cases added there are mutated here
    too."""
    path = os.path.join(SRCDIR, "tests", "integration", "test_hostile.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    env = {"__builtins__": {"range": range, "str": str, "len": len}}
    for node in tree.body:      # its tables and the constants they use
        if isinstance(node, ast.Assign):
            try:
                exec(compile(ast.Module([node], []), path, "exec"), env)
            except Exception:   # not a constant (s = Suite())
                pass
    cases = []
    for row in env.get("REFUSED", []):
        cases.append(("refused: " + row[0], row[1].encode("latin-1")))
    post = "POST /raw HTTP/1.1\r\nHost: t\r\n"
    for row in env.get("CHUNK_REFUSED", []):
        cases.append(("chunk refused: " + row[0], (
            post + "Transfer-Encoding: chunked\r\n\r\n" + row[1] +
            env.get("SMUGGLED", "")).encode("latin-1")))
    for row in env.get("CHUNK_ACCEPTED", []):
        cases.append(("chunk accepted: " + row[0],
                      (post + row[1]).encode("latin-1")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and \
                getattr(node.func, "id", None) == "forwarded" and \
                len(node.args) >= 2:
            try:
                data = eval(compile(ast.Expression(node.args[1]), path,
                                    "eval"), dict(env))
            except Exception:   # built from the scenario's variables
                continue
            if isinstance(data, bytes):
                cases.append(("accepted: %s (test_hostile.py line %d)" % (
                    data.split(b"\r\n")[0].decode("latin-1"),
                    node.lineno), data))
    return cases


PIPELINED = b"GET /pipelined HTTP/1.1\r\nHost: t\r\n\r\n"
# cases to mutate besides test_hostile.py's: what ALLOWED speaks of
OWN_CASES = [
    ("HTTP/1.0 keep-alive, pipelined",
     b"POST /a HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 3"
     b"\r\n\r\nabcGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
     b"GET /c HTTP/1.0\r\n\r\nGET /d HTTP/1.0\r\n\r\n"),
    ("pipelined after empty lines",
     b"\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n\r\n\r\nPOST /b HTTP/1.1\r\n"
     b"Host: t\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n"
     b"0\r\n\r\nGET http://t/c?q HTTP/1.1\r\nHost: t\r\n\r\n"),
]
# what a request-target must not hold (RFC 9112 3.2), and what it may
TARGET_BYTES = [b"#", b"#frag", b"\t", b"\x0b", b"\x0c", b"\x80", b"\x7f",
                b" ", b"%", b"%2F", b"?", b"//", b"@", b"\\", b'"', b"{"]
SEPARATORS = [b"\r\n", b": ", b":", b" ", b";", b",", b"\r\n\r\n"]
FRAMING = [
    (rb"(?i)content-length: *(\d+)",
     [b"Content-Length: %d", b"Content-Length: 0%d", b"Content-Length:  %d",
      b"Content-Length: %d, %d", b"Content-Length: %d\r\nContent-Length: %d",
      b"content-length: %d", b"Content-Length: %d\r\n"
      b"Transfer-Encoding: chunked", b"Content-Length : %d",
      b"Content-Length: %d ", b"Content-Length:\t%d",
      b"Content-Length: 0x%d", b"Content-Length: %d.0"]),
    (rb"(?i)transfer-encoding: *chunked",
     [b"Transfer-Encoding: Chunked", b"Transfer-Encoding: chunked, chunked",
      b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
      b"Transfer-Encoding:  chunked", b"Transfer-Encoding:\tchunked",
      b"Transfer-Encoding: chunked ", b"Transfer-Encoding: xchunked",
      b"Transfer-Encoding: identity, chunked", b"Transfer-Encoding: chunk",
      b"Transfer-Encoding: chunked\r\nContent-Length: 3",
      b"Transfer-Encoding: \x0bchunked", b"Transfer-encoding: chunked",
      b"Transfer-Encoding: chunked;q=1", b"Transfer-Encoding: ,chunked"]),
]


def mutate(rng, data):
    """One seeded mutation of data: (what was done, the bytes)."""
    kind = rng.randrange(8)
    pos = rng.randrange(len(data) + 1)
    if kind == 0 and data:
        pos = min(pos, len(data) - 1)
        bit = 1 << rng.randrange(8)
        return ("flip bit %d of byte %d" % (bit, pos),
                data[:pos] + bytes([data[pos] ^ bit]) + data[pos + 1:])
    if kind == 1:
        ins = rng.choice([b"\r", b"\n", b" ", b"\t", b"\x00", b"\r\n"])
        return ("insert %r at %d" % (ins, pos), data[:pos] + ins + data[pos:])
    if kind == 2:
        end = min(len(data), pos + rng.randrange(1, 12))
        piece = data[pos:end]
        piece = piece.swapcase() if rng.randrange(2) else \
            (piece.upper() if rng.randrange(2) else piece.lower())
        return ("case change of %d..%d" % (pos, end),
                data[:pos] + piece + data[end:])
    if kind in (3, 4):
        sep = rng.choice(SEPARATORS)
        where = [m.start() for m in re.finditer(re.escape(sep), data)]
        if where:
            at = rng.choice(where)
            if kind == 3:
                return ("double %r at %d" % (sep, at),
                        data[:at] + sep + data[at:])
            return ("remove %r at %d" % (sep, at),
                    data[:at] + data[at + len(sep):])
    if kind == 5:
        for regex, variants in rng.sample(FRAMING, len(FRAMING)):
            m = re.search(regex, data)
            if m:
                v = rng.choice(variants)
                n = int(m.group(1)) if m.groups() else 5
                n += rng.choice([0, 0, -1, 1])
                v = v.replace(b"%d", b"%d" % max(n, 0))
                return ("framing %r" % v,
                        data[:m.start()] + v + data[m.end():])
    if kind == 6:
        m = re.match(rb"[!-~]+ ([^ ]+) ", data)
        if m:
            at = rng.randrange(m.start(1) + 1, m.end(1) + 1)
            ins = rng.choice(TARGET_BYTES)
            return ("insert %r in the target at %d" % (ins, at),
                    data[:at] + ins + data[at:])
    # a request pipelined after it: a desync shows as a mismatch
    return ("then a pipelined GET", data + PIPELINED)


def mutations(cases, count, seed):
    """count mutations of the cases, (name, pieces) each: one in four has
    a request pipelined after it, one in four is sent in pieces."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        name, data = cases[i % len(cases)]
        what, m = mutate(rng, data)
        if rng.randrange(4) == 0 and not m.endswith(PIPELINED):
            m += PIPELINED
            what += ", then a pipelined GET"
        pieces = [m]
        if rng.randrange(4) == 0:
            most = rng.choice((1, 3, 16))
            pieces = split(m, lambda: rng.randint(1, most)
                           if rng.randrange(8) == 0 else len(m))
            what += ", in %d pieces" % len(pieces)
        out.append(("%s [%s]" % (name, what), pieces))
    return out


# ------------------------------------------------------------ h11


class Msg:
    """One request as h11 read it: method, target, body (decoded), whether
    it was complete, and h11's complaint about it (or None)."""

    def __init__(self, req):
        self.method = req.method
        self.target = req.target
        self.version = req.http_version
        self.headers = [(k.lower(), v) for k, v in req.headers]
        self.body = b""
        self.complete = False
        self.error = None

    def key(self):
        return (self.method, self.target, self.body)

    def __repr__(self):
        return "%s %s body=%r%s%s" % (
            self.method.decode("latin-1"), self.target.decode("latin-1"),
            self.body[:80], "" if self.complete else " (incomplete)",
            " h11: %s" % self.error if self.error else "")


def h11_read(data, pipelined=True):
    """data as a client's bytes, read by h11 acting as the server, to the
    end (a close).  Returns (requests, error, rest): the Msg of each
    request h11 saw start, h11's error (None when it read everything up to
    a clean end), and the bytes h11 left unread.  With pipelined (a
    client's bytes), the empty lines RFC 9112 2.2 lets a server ignore
    before a request line are skipped, and the requests after the first
    are read too, each by a fresh h11, until a request after which the
    connection must close; without (a member connection's bytes), only
    the first request is read, as it came."""
    msgs = []
    while True:
        if pipelined:
            data = EMPTY_LINES.sub(b"", data, count=1)
            if not data and msgs:
                return msgs, None, b""
        m, err, rest, close = h11_one(data)
        if m is not None and m.version == b"1.0" and keeps_alive(m):
            close = False
        if m is not None:
            msgs.append(m)
        if err or m is None or not m.complete or close or not pipelined:
            return msgs, err, rest
        data = rest


def keeps_alive(m):
    """Whether an HTTP/1.0 request asks to keep the connection."""
    tokens = set()
    for k, v in m.headers:
        if k == b"connection":
            tokens |= {x.strip().lower() for x in v.split(b",")}
    return b"keep-alive" in tokens and b"close" not in tokens


def h11_one(data):
    """The first request in data, read by h11: (Msg or None, h11's error
    or None, the bytes after the request, whether the connection must
    close after it)."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    conn.receive_data(data)
    conn.receive_data(b"")
    cur = None
    try:
        while True:
            e = conn.next_event()
            if isinstance(e, h11.Request):
                cur = Msg(e)
            elif isinstance(e, h11.Data):
                cur.body += e.data
            elif isinstance(e, h11.EndOfMessage):
                cur.complete = True
                return (cur, None, conn.trailing_data[0],
                        conn.their_state is h11.MUST_CLOSE)
            else:           # ConnectionClosed: nothing more
                return cur, None, b"", True
    except h11.RemoteProtocolError as ex:
        if cur is not None:
            cur.error = str(ex)
        return cur, str(ex), conn.trailing_data[0], True


# ------------------------------------------------------------ the member

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"


class Upstream:
    """One member connection: every byte it brought, and whether it was
    answered."""

    def __init__(self, sock):
        self.sock = sock
        self.data = b""
        self.answered = False
        self.eof = False
        self.h11 = h11.Connection(h11.SERVER,
                                  max_incomplete_event_size=MAX_HEAD)
        self.method = b"GET"

    def probe(self):
        return self.data.startswith(b"GET " + PROBE_PATH + b" ")

    def feed(self, d):
        """Keeps d; answers once the first request is complete (or h11
        cannot read it)."""
        self.data += d
        if self.answered:
            return
        self.h11.receive_data(d)
        try:
            while True:
                e = self.h11.next_event()
                if isinstance(e, h11.Request):
                    self.method = e.method
                if isinstance(e, h11.EndOfMessage):
                    break
                if e is h11.NEED_DATA or e is h11.PAUSED:
                    return
        except h11.RemoteProtocolError:
            pass
        self.answered = True
        try:
            self.sock.sendall(OK_HEAD if self.method == b"HEAD" else OK)
        except OSError:
            pass


class Recorder:
    """The recording member: a listener on 127.0.0.1, run by pump() from
    this thread (no threads: an input ends when nothing is pending)."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(128)
        self.ls.setblocking(False)
        self.addr = "127.0.0.1:%d" % self.ls.getsockname()[1]
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.ls, selectors.EVENT_READ, None)
        self.conns = []         # every Upstream, in accept order
        self.open = set()

    def _event(self, key, mask):
        if key.fileobj is self.ls:
            try:
                sock, _ = self.ls.accept()
            except OSError:
                return
            sock.setblocking(False)
            u = Upstream(sock)
            self.conns.append(u)
            self.open.add(u)
            self.sel.register(sock, selectors.EVENT_READ, u)
            return
        u = key.data
        try:
            d = u.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            d = b""
        if d:
            u.feed(d)
        else:
            self.close(u)

    def close(self, u):
        u.eof = True
        self.open.discard(u)
        self.sel.unregister(u.sock)
        u.sock.close()

    def pump(self, timeout, client=None):
        """Serves for up to timeout seconds; with client (a Client), also
        drives it, and returns once the client is done and no member
        connection is open or waiting to be accepted."""
        deadline = time.monotonic() + timeout
        if client is not None:
            self.sel.register(client.sock, client.mask(), client)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                idle = client is not None and client.done and not self.open
                wait = min(left, 0.5)
                if client is not None and not client.done:
                    self.sel.modify(client.sock, client.mask(), client)
                    if client.wait():
                        wait = min(wait, client.wait())
                ready = self.sel.select(0 if idle else wait)
                if idle and not ready:
                    return True
                for key, mask in ready:
                    if key.data is client and client is not None:
                        client.event(mask)
                        if client.done:
                            self.sel.unregister(client.sock)
                    else:
                        self._event(key, mask)
        finally:
            if client is not None and not client.done:
                self.sel.unregister(client.sock)

    def drain(self, timeout):
        """Serves until cutover has closed every member connection, for
        up to timeout seconds; then closes what is left."""
        deadline = time.monotonic() + timeout
        while self.open and time.monotonic() < deadline:
            self.pump(0.05)
        for u in list(self.open):
            self.close(u)

    def close_all(self):
        for u in list(self.open):
            self.close(u)
        self.sel.unregister(self.ls)
        self.ls.close()


class Client:
    """One client connection: sends pieces (GAP seconds apart, so that
    cutover is likely to read each apart), half-closes, reads to the
    end."""

    def __init__(self, port, pieces):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pieces = [p for p in pieces if p] or [b""]
        self.next_at = 0.0
        self.got = b""
        self.done = False

    def wait(self):
        """Seconds until the next piece may go (None: all sent)."""
        if not self.pieces:
            return None
        return max(0.0, self.next_at - time.monotonic())

    def mask(self):
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if self.wait()
                                       == 0.0 else 0)

    def event(self, mask):
        if mask & selectors.EVENT_WRITE and self.wait() == 0.0:
            try:
                n = self.sock.send(self.pieces[0][:65536])
                self.pieces[0] = self.pieces[0][n:]
                if not self.pieces[0]:
                    self.pieces.pop(0)
                    self.next_at = time.monotonic() + GAP
                if not self.pieces:
                    self.sock.shutdown(socket.SHUT_WR)
            except BlockingIOError:
                pass
            except OSError:         # cutover answered and closed early
                self.pieces = []
        if mask & selectors.EVENT_READ:
            try:
                d = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                d = b""
            if d:
                self.got += d
            else:
                self.done = True
                self.sock.close()

    def close(self):
        self.done = True
        self.sock.close()


def split(data, sizes):
    """data cut into pieces of the sizes sizes() gives."""
    out = []
    while data:
        n = sizes()
        out.append(data[:n])
        data = data[n:]
    return out


def statuses(data):
    """The status codes of the responses in data (the status lines at the
    starts of responses, framing read leniently)."""
    out = []
    while data.startswith(b"HTTP/1."):
        head, sep, rest = data.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if not m or not sep:
            break
        code = int(m.group(1))
        out.append(code)
        cl = re.search(rb"(?im)^content-length: *(\d+)\r?$", head)
        if code < 200 or code in (204, 304):
            data = rest
        elif cl:
            data = rest[int(cl.group(1)):]
        else:
            break
    return out


# ------------------------------------------------------------ checks

# Deliberate differences between what cutover forwards and h11's reading of
# the client's bytes, each with its reason; the comparison applies them and
# nothing else is skipped.
ALLOWED = [
    ("absolute-form target",
     "cutover forwards an absolute-form target in origin form (its Host is "
     "the authority; RFC 9112 3.2.2); h11 leaves it absolute"),
    ("chunked body re-framed",
     "cutover re-frames chunked bodies (extensions dropped): bodies are "
     "compared decoded"),
    ("empty lines before a request line",
     "cutover ignores empty lines (CRLF, or a lone LF) before a request "
     "line, as RFC 9112 2.2 asks (a server SHOULD ignore at least one, and "
     "MAY take a lone LF for a line end); none of it goes upstream.  h11 "
     "refuses them, so it reads each request with them taken off"),
    ("HTTP versions other than 1.0 and 1.1",
     "h11 reads any HTTP/x.y request line; cutover answers 505 (and an "
     "HTTP/2 preface cut short gets a close), so such a request is never "
     "expected upstream"),
    ("whitespace before ';' in a chunk extension",
     "RFC 9112 7.1.1 allows it (BWS) and cutover takes it once issue 15 "
     "item 3 is fixed; h11 0.14 refuses it, so its reading takes it off"),
    ("Content-Length in trailers",
     "cutover drops framing fields from trailers, unread (RFC 9110 6.5.1: "
     "they may not be trailers); h11 refuses a bad Content-Length there, "
     "so its reading takes the field off"),
    ("HTTP/1.0 keep-alive",
     "cutover keeps an HTTP/1.0 connection whose request asks for "
     "keep-alive (RFC 9112 C.2.2) and reads the next request; h11 closes "
     "it, so its reading goes on after such a request"),
    ("hop-by-hop fields removed",
     "cutover removes hop-by-hop and forwarding fields and adds its own: "
     "fields are not compared, only method, target and body"),
]

ABSOLUTE = re.compile(rb"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
TARGET = re.compile(rb"^(\*|/[!-~]*)$")
EMPTY_LINES = re.compile(rb"\A(\r?\n)+")
TRAILER_LENGTH = re.compile(rb"\r\ncontent-length:[^\r\n]*\r\n", re.I)


def without_bws(data, err):
    """When h11 refused a chunk-size line only for whitespace before its
    ';' (err), data with that whitespace taken off; else None."""
    m = re.match(r"illegal chunk header: bytearray\((b'.*')\)$", err or "",
                 re.S)
    if not m:
        return None
    line = ast.literal_eval(m.group(1))
    bws = re.match(rb"([0-9A-Fa-f]+)[ \t]+;", line)
    at = data.find(b"\r\n" + line)
    if not bws or at < 0:
        return None
    at += 2
    return data[:at] + bws.group(1) + line[bws.end() - 1:] + \
        data[at + len(line):]


def without_trailer_length(data, ref, err):
    """When h11 refused a chunked request for a Content-Length in its
    trailers (err), data without that field; else None."""
    if err != "bad Content-Length" or not ref or ref[-1].complete or \
            not any(k == b"transfer-encoding" and b"chunked" in v.lower()
                    for k, v in ref[-1].headers):
        return None
    body = data.find(b"\r\n\r\n")
    m = TRAILER_LENGTH.search(data, body + 4) if body >= 0 else None
    return data[:m.start() + 2] + data[m.end():] if m else None


def origin_form(target):
    """target as cutover forwards it: an absolute form in origin form."""
    m = ABSOLUTE.match(target)
    if not m:
        return target
    rest = target[m.end():]
    return rest if rest.startswith(b"/") else b"/" + rest


def compare(data, ups, got):
    """Checks one input: data the client's bytes, ups the member
    connections cutover opened for it, got what the client received.
    Returns (findings, a list of (kind, text); h11's reading of data, a
    list of Msg; the Msg of what each member connection carried; the
    statuses the client got)."""
    found = []
    ref, ref_err, _ = h11_read(data)
    for _ in range(8):
        fixed = without_bws(data, ref_err) or \
            without_trailer_length(data, ref, ref_err)
        if fixed is None:
            break
        data = fixed
        ref, ref_err, _ = h11_read(data)
    codes = statuses(got)
    fwd = []
    for n, u in enumerate(ups):
        if not u.data:
            continue        # opened, then closed before a byte was sent
        msgs, err, rest = h11_read(u.data, pipelined=False)
        if not msgs:
            found.append(("unreadable", "member connection %d: h11 reads "
                          "no request head (%s) in %r" % (n, err, u.data)))
            continue
        m = msgs[0]
        if m.complete and rest:
            found.append(("leftover", "member connection %d: %d bytes "
                          "after the request: %r" % (n, len(rest), rest)))
        if err and m.complete is False and "closed" not in err and \
                "incomplete" not in err:
            found.append(("unreadable", "member connection %d: h11: %s "
                          "in %r" % (n, err, u.data)))
        if not TARGET.match(m.target) or b"#" in m.target:
            found.append(("fragment" if b"#" in m.target else "target",
                          "forwarded target %r" % m.target))
        fwd.append(m)
    for i, f in enumerate(fwd):
        r = ref[i] if i < len(ref) else None
        if r is None:
            found.append(("extra", "forwarded request %d (%r) is not in "
                          "h11's reading (%s)" % (i, f, ref_err)))
            continue
        want = (r.method, origin_form(r.target))
        if (f.method, f.target) != want:
            found.append(("mismatch", "request %d: forwarded %r, h11 read "
                          "%r" % (i, f, r)))
        elif f.complete and not r.complete:
            found.append(("extra", "request %d: forwarded complete (%r), "
                          "h11 read it incomplete or refused it (%s)"
                          % (i, f, r.error or ref_err)))
        elif f.complete and f.body != r.body or \
                not r.body.startswith(f.body):
            found.append(("mismatch", "request %d: forwarded body %r, h11 "
                          "read %r" % (i, f.body[:200], r.body[:200])))
        elif not f.complete and i != len(fwd) - 1:
            found.append(("mismatch", "request %d broken off, yet another "
                          "forwarded after it" % i))
        elif not f.complete and r.complete and \
                not (codes and codes[-1] >= 400):
            found.append(("broken-off", "request %d: h11 read it complete, "
                          "the member got %d of its %d body bytes and the "
                          "client no error" % (i, len(f.body),
                                               len(r.body))))
    whole = []
    for r in ref:
        if not r.complete or r.version not in (b"1.0", b"1.1"):
            break
        whole.append(r)
    if len(fwd) < len(whole) and not (codes and codes[-1] >= 400):
        found.append(("dropped", "h11 read %d complete requests, cutover "
                      "forwarded %d and answered %r" % (len(whole),
                                                        len(fwd), codes)))
    return found, ref, fwd, codes


# ------------------------------------------------------------ the run


def run(rec):
    c = Cutover(blue=[rec.addr], green=[rec.addr], extra=HEALTH)
    up = wait_until(lambda: rec.pump(0.05) or
                    c.member_state("blue", rec.addr) == "up", 10)
    if not s.ok(up, "the recording member is up", c.status()):
        return
    inputs = corpus_inputs()
    n_corpus = len(inputs)
    cases = hostile_table()
    s.ok(n_corpus >= 20 and len(cases) >= 40,
         "the stored corpus and test_hostile.py's table are read",
         "%d corpus inputs, %d table cases" % (n_corpus, len(cases)))
    cases += OWN_CASES
    inputs += [(n, [d]) for n, d in cases]
    inputs += mutations(cases, MUTATIONS, SEED)
    findings, hung, stricter = [], [], 0
    forwarded = 0
    t0 = time.monotonic()
    for name, pieces in inputs:
        data = b"".join(pieces)
        mark = len(rec.conns)
        cl = Client(c.port, pieces)
        if not rec.pump(TIMEOUT, cl):
            hung.append((name, data, "client done %s, member connections "
                         "open %d" % (cl.done, len(rec.open))))
            cl.close()
            rec.drain(TIMEOUT)
        ups = [u for u in rec.conns[mark:] if not u.probe()]
        found, ref, fwd, codes = compare(data, ups, cl.got)
        forwarded += len(fwd)
        if len(fwd) < len([r for r in ref if r.complete]):
            stricter += 1
        for kind, text in found:
            findings.append((kind, name, data, text, ref, fwd, codes))
        if not c.alive():
            break
    took = time.monotonic() - t0
    print("# %d inputs (%d from the corpus, %d table cases, %d mutations, "
          "seed %d) in %.1f s; %d requests forwarded; cutover refused "
          "requests h11 read in %d inputs" % (
              len(inputs), n_corpus, len(cases), MUTATIONS, SEED, took,
              forwarded, stricter))
    s.ok(c.alive(), "cutover is still running after every input",
         c.log_tail(20))
    s.ok(not hung, "every input ends: cutover closes the client and the "
         "member connections within %.0f s" % TIMEOUT,
         "\n".join("%s: %r: %s" % (n, d[:300], w) for n, d, w in hung[:10]))
    report(findings)
    last = Client(c.port, [b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n"])
    rec.pump(TIMEOUT, last)
    s.eq(statuses(last.got), [200], "cutover still serves at the end",
         repr(last.got[:300]))
    s.eq(c.stop(), 0, "cutover exits 0 when stopped", c.log_tail(20))


def report(findings):
    """The test of all findings: the ALLOWED differences printed, then
    each kind of finding counted and described (at most EXAMPLES of each,
    with their inputs)."""
    for what, why in ALLOWED:
        print("# allowed: %s: %s" % (what, why))
    kinds = {}
    for f in findings:
        kinds.setdefault(f[0], []).append(f)
    for kind in sorted(kinds):
        print("# %d findings of kind %s" % (len(kinds[kind]), kind))
    s.ok(not kinds, "every forwarded message is one request h11 reads as "
         "the client's (method, target, body), nothing left over, a "
         "target without a fragment",
         "\n".join(describe(kinds[k]) for k in sorted(kinds)))


EXAMPLES = int(os.environ.get("CUTOVER_DIFF_EXAMPLES") or 5)


def describe(found):
    """Some findings of one kind, with their inputs, as text."""
    out = []
    for kind, name, data, text, ref, fwd, codes in found[:EXAMPLES]:
        out.append("%s: %s\n  input: %r\n  %s\n  h11 read: %r\n  "
                   "forwarded: %r\n  cutover answered: %r"
                   % (kind, name, data[:400], text, ref, fwd, codes))
    if len(found) > EXAMPLES:
        out.append("... and %d more" % (len(found) - EXAMPLES))
    return "\n".join(out)


@s.scenario("what cutover forwards reads, under h11, as the client's "
            "requests")
def _():
    if not s.ok(h11 is not None, "h11 can be imported (scripts/install-deps "
                "installs python3-h11)"):
        return
    rec = Recorder()
    try:
        run(rec)
    finally:
        rec.close_all()


s.done()
