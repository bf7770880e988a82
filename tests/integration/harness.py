#!/usr/bin/env python3
"""Machinery for cutover's integration scenarios.

A scenario script reads like a story:

    s = Suite()

    @s.scenario("GET goes to the active pool")
    def _():
        blue, green = Backend("blue"), Backend("green")
        c = Cutover(blue=[blue], green=[green])
        r = get(c.port, "/")
        s.eq(r.status, 200, "GET answers 200")

    s.done()

Everything a scenario starts (backends, cutover, client connections) is
registered and stopped when the scenario ends, pass or fail, and again at
exit.  Only the pids we started are signalled; each of them dies with the
runner (a parent-death signal), so a runner killed with SIGKILL leaves no
process behind.  Stopping a cutover is a check of its own: it exits 0 on
SIGTERM (or what the scenario declared with c.expect_exit(N)) and its log
holds no sanitizer report.  A scenario has SCENARIO_TIMEOUT seconds (or its
own: @s.scenario(title, timeout=N)); past them it fails where it stands and
is cleaned up.  Output is TAP; the exit status is 0 when every test passed.

Environment (exported by automake): CUTOVER_BIN, CUTOVERCTL_BIN,
CUTOVER_SRCDIR; the defaults find a build in the source tree.
"""

import collections
import atexit
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# Shared with bench/run; imported here so scenarios keep importing these
# names from harness.
from cutoverlib import (AdminConn, admin_command,  # noqa: F401
                        die_with_parent, free_port, rss_kb, start, stop,
                        wait_errors, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("CUTOVER_SRCDIR") or os.path.dirname(
    os.path.dirname(HERE))
CUTOVER_BIN = os.environ.get("CUTOVER_BIN") or os.path.join(SRCDIR, "cutover")
# The build directory (its Makefile says what configure chose).
BUILDDIR = os.environ.get("CUTOVER_BUILDDIR") or SRCDIR
# Every test runs cutover with this many worker threads unless its
# configuration sets `workers`; 2 exercises the threads on any machine.
TEST_WORKERS = int(os.environ.get("CUTOVER_TEST_WORKERS") or 2)
CUTOVERCTL_BIN = os.environ.get("CUTOVERCTL_BIN") or os.path.join(
    SRCDIR, "cutoverctl")
BACKEND_PY = os.path.join(HERE, "backend.py")
KEEP_TMP = bool(os.environ.get("CUTOVER_TEST_KEEP"))
# Seconds a scenario may run (unless it gives its own), twice that under a
# sanitizer; CUTOVER_TEST_SCENARIO_TIMEOUT overrides the base.  The longest
# scenarios take about 30 s in a plain build.
SCENARIO_TIMEOUT = float(os.environ.get("CUTOVER_TEST_SCENARIO_TIMEOUT")
                         or 120)

PIECE = 64 * 1024
PATTERN = bytes(range(256)) * (PIECE // 256)    # same as backend.py

# ---------------------------------------------------------------- registry
# Everything started is registered here and stopped at scenario end / exit.

_live = []
_live_lock = threading.Lock()


def _register(obj):
    with _live_lock:
        _live.append(obj)
    return obj


def register(obj):
    """Has obj (anything with a cleanup() method, such as a helper process
    a test file defines) stopped at scenario end and at exit, as the
    harness's own objects are; returns obj."""
    return _register(obj)


def _unregister(obj):
    with _live_lock:
        if obj in _live:
            _live.remove(obj)


def _cleanup_from(mark=0):
    """Stops everything registered after position mark, newest first."""
    while True:
        with _live_lock:
            if len(_live) <= mark:
                return
            obj = _live.pop()
        try:
            obj.cleanup()
        except Exception:   # cleanup must go on
            pass


def _live_cutovers():
    with _live_lock:
        return [o for o in _live if isinstance(o, Cutover)]


atexit.register(_cleanup_from, 0)


class ScenarioTimeout(BaseException):
    """A scenario ran past its time limit.  Not an Exception, so that no
    `except Exception` on the way (wait_until's, a test's) swallows it."""


def _scenario_alarm(signum, frame):
    raise ScenarioTimeout()


def _on_term(signum, frame):
    # make automake's timeout or ^C run the atexit cleanup
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)

# ---------------------------------------------------------------- TAP


class Suite:
    """Collects TAP results; scenarios run in order, each cleaned up."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.current = None
        if not os.access(CUTOVER_BIN, os.X_OK):
            print("1..1\nnot ok 1 - cutover binary not built: %s"
                  % CUTOVER_BIN)
            sys.stdout.flush()
            sys.exit(1)

    @staticmethod
    def _clean(name):
        return str(name).replace("#", "\\#").replace("\n", " ")

    def _diag(self, text):
        for line in str(text).rstrip("\n").split("\n"):
            print("#   " + line)

    def ok(self, cond, name, diag=None):
        self.n += 1
        prefix = "%s: " % self.current if self.current else ""
        if cond:
            print("ok %d - %s%s" % (self.n, prefix, self._clean(name)))
        else:
            self.failed += 1
            print("not ok %d - %s%s" % (self.n, prefix, self._clean(name)))
            if diag is not None:
                self._diag(diag)
            for e in wait_errors():
                self._diag(e)
            for c in _live_cutovers():
                if c.proc is not None and c.proc.poll() is not None:
                    self._diag("cutover pid %d has exited: %s"
                               % (c.proc.pid, exit_text(c.proc.returncode)))
                self._diag("--- cutover log (%s), last lines:" % c.dir)
                self._diag(c.log_tail(40) or "(empty)")
        wait_errors()       # those of waits that came back true at last
        sys.stdout.flush()
        return bool(cond)

    def eq(self, got, want, name, diag=None):
        d = "got:  %r\nwant: %r" % (got, want)
        if diag:
            d += "\n" + str(diag)
        return self.ok(got == want, name, d)

    def contains(self, haystack, needle, name, diag=None):
        d = "looked for: %r\nin: %r" % (needle, haystack)
        if diag:
            d += "\n" + str(diag)
        return self.ok(haystack is not None and needle in haystack, name, d)

    def match(self, regex, text, name, diag=None):
        d = "pattern: %r\ntext: %r" % (regex, text)
        if diag:
            d += "\n" + str(diag)
        return self.ok(text is not None and re.search(regex, text, re.M)
                       is not None, name, d)

    def scenario(self, title, timeout=None):
        """Decorator: runs the function now as one scenario.  An exception
        is a failed test with its traceback, and so is running longer than
        timeout seconds (SCENARIO_TIMEOUT by default, twice that under a
        sanitizer); everything the scenario started is stopped afterwards
        either way, each cutover's exit checked (see Cutover.cleanup)."""
        if timeout is None:
            timeout = SCENARIO_TIMEOUT * (2 if sanitized() or
                                          sanitized(what="tsan") else 1)

        def run(fn):
            mark = len(_live)
            self.current = title
            old = signal.signal(signal.SIGALRM, _scenario_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                fn()
            except ScenarioTimeout:
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.ok(False, "scenario ends within its %g s" % timeout,
                        "still running at:\n" + traceback.format_exc())
            except Exception:
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.ok(False, "scenario raised an exception",
                        traceback.format_exc())
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
                _cleanup_from(mark)
                self._exit_verdicts()
                self.current = None
            return fn
        return run

    def _exit_verdicts(self):
        """One check per cutover stopped since the last call: its exit
        status is the one it was to exit with and its log has no sanitizer
        report."""
        for name, good, diag in exit_verdicts():
            self.ok(good, name, diag)

    def done(self):
        _cleanup_from(0)
        self._exit_verdicts()
        print("1..%d" % self.n)
        if self.failed:
            print("# %d of %d failed" % (self.failed, self.n))
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.n == 0 else 0)


# ---------------------------------------------------------------- helpers


def pattern_sha256(n):
    """sha256 of what backend.py /stream?bytes=n sends."""
    h = hashlib.sha256()
    while n > 0:
        k = min(PIECE, n)
        h.update(PATTERN[:k])
        n -= k
    return h.hexdigest()


def pattern_pieces(n, piece=PIECE):
    """A generator of n bytes of PATTERN (for uploads)."""
    while n > 0:
        k = min(piece, n)
        yield PATTERN[:k]
        n -= k


def dead_addr():
    """An address that refuses connections: a listening socket we closed."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        return "127.0.0.1:%d" % s.getsockname()[1]
    finally:
        s.close()


def has_ipv6():
    """Whether this host has ::1 (a socket can be bound to it)."""
    try:
        with socket.socket(socket.AF_INET6) as so:
            so.bind(("::1", 0))
        return True
    except OSError:
        return False


def refuses(port, timeout=0.25):
    """True when a TCP connect to 127.0.0.1:port is refused.  A connect
    that gets no answer (a SYN dropped, as by a listener on its way out)
    is False within timeout, so that a caller polling it with
    wait_until tries again instead of spending its whole wait on one
    attempt: the kernel would send the next SYN only after a second."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    s.close()
    return False


class Background:
    """Runs fn(*args, **kw) in a daemon thread: .join(timeout) waits,
    then .result holds what it returned and .error what it raised."""

    def __init__(self, fn, *args, **kw):
        self.result = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn, args, kw),
                                       daemon=True)
        self.thread.start()

    def _run(self, fn, args, kw):
        try:
            self.result = fn(*args, **kw)
        except Exception as e:  # reported by the scenario
            self.error = e

    def join(self, timeout):
        self.thread.join(timeout)
        return self

    def __repr__(self):
        return "Background(result=%r, error=%r)" % (self.result, self.error)


def cutover_env():
    """The environment for cutover.  Under AddressSanitizer the quarantine
    of freed memory (256 MiB by default) is kept small, so memory bounds
    hold there too; leak detection stays on; a log_path is dropped, so
    reports reach the log.  Under ThreadSanitizer the
    suppressions of tests/tsan.supp apply and the first race ends the
    process, unless TSAN_OPTIONS says otherwise."""
    env = dict(os.environ)
    # sanitizer reports go to cutover's stderr, its log, where cleanup
    # looks for them: never to a log_path of their own
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                "TSAN_OPTIONS"):
        if "log_path=" in env.get(var, ""):
            env[var] = ":".join(o for o in env[var].split(":")
                                if not o.startswith("log_path="))
    if sanitized():
        opts = env.get("ASAN_OPTIONS", "")
        if "quarantine_size_mb" not in opts:
            env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
                "quarantine_size_mb=8"
    if sanitized(what="tsan"):
        opts = env.get("TSAN_OPTIONS", "")
        for key, value in (
                ("suppressions", os.path.join(SRCDIR, "tests", "tsan.supp")),
                ("halt_on_error", "1"), ("second_deadlock_stack", "1")):
            if key + "=" not in opts:
                opts = (opts + ":" if opts else "") + key + "=" + value
        env["TSAN_OPTIONS"] = opts
    return env


_sanitizer_kind = {}


def sanitized(path=None, what="asan"):
    """True when the binary is built with AddressSanitizer (what="asan")
    or ThreadSanitizer (what="tsan")."""
    path = path or CUTOVER_BIN
    if (path, what) not in _sanitizer_kind:
        try:
            with open(path, "rb") as f:
                found = ("__%s_init" % what).encode() in f.read()
        except OSError:
            found = False
        _sanitizer_kind[(path, what)] = found
    return _sanitizer_kind[(path, what)]


# A sanitizer report in a cutover's log: AddressSanitizer, LeakSanitizer,
# UndefinedBehaviorSanitizer (file:line:col: runtime error: ...) and
# ThreadSanitizer, each at the start of a line as the runtimes write them.
SANITIZER_REPORT = re.compile(
    r"^(?:==\d+==)?(?:ERROR: (?:Address|Leak|UndefinedBehavior)Sanitizer"
    r"|(?:WARNING|FATAL): ThreadSanitizer|SUMMARY: \w+Sanitizer"
    r"|\S+:\d+:\d+: runtime error: )", re.M)
_exit_verdicts = []


def sanitizer_report(log_text):
    """The first sanitizer report in log_text (60 lines from its start), or
    None."""
    m = SANITIZER_REPORT.search(log_text)
    if not m:
        return None
    start = log_text.rfind("\n", 0, m.start()) + 1
    return "\n".join(log_text[start:].split("\n")[:60])


def exit_text(code):
    """An exit status as words: "exit 0", "signal SIGABRT", "no exit"."""
    if code is None:
        return "no exit (killed with SIGKILL after the wait)"
    if code < 0:
        try:
            return "signal %s" % signal.Signals(-code).name
        except ValueError:
            return "signal %d" % -code
    return "exit %d" % code


def exit_verdicts():
    """(name, passed, diagnostics) of each cutover stopped since the last
    call (and forgets them)."""
    r = list(_exit_verdicts)
    del _exit_verdicts[:]
    return r


class RssSampler:
    """Samples a pid's RSS every interval seconds in a thread; .max_kb."""

    def __init__(self, pid, interval=0.05):
        self.pid = pid
        self.interval = interval
        self.max_kb = rss_kb(pid) or 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = rss_kb(self.pid)
            if v is not None:
                self.samples += 1
                self.max_kb = max(self.max_kb, v)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)
        return False


# ---------------------------------------------------------------- backend


class Backend:
    """One backend.py process on port (0: the kernel picks).  .port, .addr,
    .requests (paths seen, in order; health probes excluded) and
    .request_times (time.monotonic() of each one's arrival), .probe_paths
    and .probe_times (cutover's health probes: paths and time.monotonic()
    of arrival), .tunnel_opens and .tunnel_closes (/ws tunnels), .conns
    (peer ports of every connection accepted, probes included), .closed
    (peer ports of the connections that ended since), .peers
    ((peer port, method, path) per request, probes excluded), .aborted
    ((peer port, method, path) of requests whose body broke off), .early
    ((peer port, body bytes, body sha256) per /early request whose body was
    read whole, after its answer), .echoed (the same per /echo request,
    before its answer), .mirrored (paths of the requests that
carried X-Cutover-Mirror) and, with
    stamp=True, .received ((the backend's own time.monotonic() when it had
    read the head, method, path) per request).  idle_close_ms: the
    backend closes connections idle that long (backend.py
    --idle-close-ms)."""

    def __init__(self, name, port=0, verbose=False, host="127.0.0.1",
                 stamp=False, idle_close_ms=0):
        self.name = name
        self.host = host
        self.proc = None
        self.port = None
        self.requests = []
        self.request_times = []
        self.probe_paths = []
        self.probe_times = []
        self.tunnel_opens = 0
        self.tunnel_closes = 0
        self.conns = []
        self.closed = []
        self.peers = []
        self.aborted = []
        self.early = []
        self.echoed = []
        self.received = []
        self.mirrored = []
        self._cv = threading.Condition()
        argv = [sys.executable, BACKEND_PY, "--name", name,
                "--host", host, "--port", str(port)]
        if verbose:
            argv.append("--verbose")
        if stamp:
            argv.append("--stamp")
        if idle_close_ms:
            argv += ["--idle-close-ms", str(idle_close_ms)]
        self.proc = start(argv, stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
        _register(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        with self._cv:
            self._cv.wait_for(lambda: self.port is not None
                              or self.proc.poll() is not None, timeout=10)
        if self.port is None:
            self.stop()
            raise RuntimeError("backend %s did not print its port" % name)
        self.addr = ("[%s]:%d" if ":" in host else "%s:%d") % (host,
                                                                self.port)

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._cv:
                if line.startswith("PORT ") and self.port is None:
                    self.port = int(line.split()[1])
                elif line.startswith("REQUEST "):
                    self.requests.append(line.split(" ", 2)[2])
                    self.request_times.append(time.monotonic())
                elif line.startswith("MIRRORED "):
                    self.mirrored.append(line.split(" ", 2)[2])
                elif line.startswith("PROBE "):
                    self.probe_paths.append(line.split(" ", 2)[2])
                    self.probe_times.append(time.monotonic())
                elif line.startswith("RECEIVED "):
                    f = line.split(" ", 4)
                    self.received.append((float(f[1]), f[3], f[4]))
                elif line.startswith("EARLY "):
                    f = line.split()
                    self.early.append((int(f[1]), int(f[2]), f[3]))
                elif line.startswith("ECHOED "):
                    f = line.split()
                    self.echoed.append((int(f[1]), int(f[2]), f[3]))
                elif line.startswith("CONN "):
                    self.conns.append(int(line.split()[1]))
                elif line.startswith("CLOSED "):
                    self.closed.append(int(line.split()[1]))
                elif line.startswith("PEER ") or \
                        line.startswith("ABORTED "):
                    f = line.split(" ", 3)
                    (self.peers if f[0] == "PEER" else self.aborted).append(
                        (int(f[1]), f[2], f[3]))
                elif line.startswith("TUNNEL OPEN "):
                    self.tunnel_opens += 1
                elif line.startswith("TUNNEL CLOSED "):
                    self.tunnel_closes += 1
                self._cv.notify_all()

    def open_conns(self):
        """The peer ports of the connections open now (accepted, not
        ended), probes included."""
        with self._cv:
            return self._open()

    def _open(self):
        # a port may come back for a later connection: count them
        left = collections.Counter(self.conns)
        left.subtract(self.closed)
        return {p for p, n in left.items() if n > 0}

    def wait_open_conns(self, pred, timeout=5.0):
        """Waits until pred(open_conns()) holds; returns whether it did."""
        with self._cv:
            return self._cv.wait_for(
                lambda: pred(self._open()),
                timeout=timeout)

    def saw(self, path_prefix):
        """How many requests this backend received whose path starts with
        path_prefix."""
        with self._cv:
            return sum(1 for p in self.requests if p.startswith(path_prefix))

    def wait_request(self, path_prefix, timeout=5.0, count=1):
        """Waits until count requests for path_prefix arrived."""
        with self._cv:
            return self._cv.wait_for(
                lambda: sum(1 for p in self.requests
                            if p.startswith(path_prefix)) >= count,
                timeout=timeout)

    def peer_of(self, path_prefix, timeout=5.0):
        """The peer port of the connection that carried the last request
        whose path starts with path_prefix, or None when none arrives
        within timeout: its response may reach the client before this
        backend's line about it reaches the reader thread."""
        def last():
            for port, _, path in reversed(self.peers):
                if path.startswith(path_prefix):
                    return port
            return None
        with self._cv:
            self._cv.wait_for(lambda: last() is not None, timeout=timeout)
            return last()

    def wait_aborted(self, path_prefix, timeout=5.0):
        """Waits until a request for path_prefix broke off mid-body (the
        backend's ABORTED line); returns True when one did."""
        with self._cv:
            return self._cv.wait_for(
                lambda: any(p.startswith(path_prefix)
                            for _, _, p in self.aborted), timeout=timeout)

    def wait_tunnels(self, opens=None, closes=None, timeout=5.0):
        """Waits until the backend has opened at least opens and closed at
        least closes /ws tunnels (backend.py's TUNNEL lines)."""
        with self._cv:
            return self._cv.wait_for(
                lambda: (opens is None or self.tunnel_opens >= opens) and
                (closes is None or self.tunnel_closes >= closes),
                timeout=timeout)

    def probes(self, path_prefix="/"):
        """How many health probes (for a path starting with path_prefix)
        this backend received."""
        with self._cv:
            return sum(1 for p in self.probe_paths
                       if p.startswith(path_prefix))

    def wait_probes(self, count, timeout=5.0):
        """Waits until the backend received at least count probes in all;
        returns True when it did."""
        with self._cv:
            return self._cv.wait_for(lambda: len(self.probe_paths) >= count,
                                     timeout=timeout)

    def fail(self, mode):
        """From now on every request (probes included) fails as backend.py's
        route mode does: "reset", "hang" (accepting nothing more either),
        "trickle"; "none" ends it."""
        return self.control("mode=" + mode, what="fail")

    def requests_mode(self, mode, ms=None):
        """From now on every request but probes goes as backend.py's
        /control/requests mode says ("delay", "reset", "hang", "500",
        "garbage"; "none" ends it); probes still pass."""
        return self.control("mode=" + mode + ("&ms=%d" % ms if ms is not None
                                              else ""), what="requests")

    def control(self, query="", timeout=5.0, what="health"):
        """GET /control/health?query directly on the backend (not through
        cutover); returns the JSON state (code, delay_ms, probes,
        last_probe)."""
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)
        try:
            conn.request("GET", "/control/" + what +
                         ("?" + query if query else ""))
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                raise RuntimeError("control %r: %d %r" % (query, r.status,
                                                          body))
            return json.loads(body)
        finally:
            conn.close()

    def set_health(self, code=None, delay_ms=None):
        """Sets what this backend's /healthz answers from now on: status
        code and/or a delay before answering.  Returns the new state."""
        q = []
        if code is not None:
            q.append("code=%d" % code)
        if delay_ms is not None:
            q.append("delay_ms=%d" % delay_ms)
        return self.control("&".join(q))

    def last_probe(self):
        """The last probe's request line and headers as the backend received
        them (one string), or None."""
        return self.control().get("last_probe")

    def stop(self):
        _unregister(self)
        self.cleanup()

    def cleanup(self):
        stop(self.proc, 5)

    def __str__(self):
        return self.addr


class ScriptedMember:
    """A member on 127.0.0.1 that answers probes with 200 and every other
    request head with what answer(sock, head) sends.  Each connection is
    served in a thread of its own."""

    def __init__(self, answer):
        self.answer = answer
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.addr = "127.0.0.1:%d" % self.ls.getsockname()[1]
        self.heads = []          # every request head but the probes'
        self.errors = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def __str__(self):
        return self.addr

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while not self.stopping:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                if b"cutover-health" in head or b" /healthz " in head:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                              b"\r\nok")
                    continue
                self.heads.append(head)
                self.answer(c, head)
        except OSError as e:
            self.errors.append(e)
        finally:
            c.close()

    def close(self):
        self.stopping = True
        self.ls.close()


# ---------------------------------------------------------------- cutover


def _addr(m):
    return m.addr if isinstance(m, Backend) else str(m)


def pools_config(blue, green, active=None):
    """The pools (and active) part of a configuration."""
    def members(ms):
        return ", ".join('"%s"' % _addr(m) for m in ms)
    text = ""
    if active:
        text += 'active = "%s";\n' % active
    text += ("pools = {\n"
             "  blue = { members = [ %s ]; };\n"
             "  green = { members = [ %s ]; };\n"
             "};\n" % (members(blue), members(green)))
    return text


# Probes run fast in tests (as HAProxy's VTest files do); rise and fall keep
# their defaults (2 and 3).
HEALTH_INTERVAL_MS = 100
HEALTH_TIMEOUT_MS = 500


def health_config(more=""):
    """The tests' top-level health group, with more keys in it
    (health_config("panic = false;"))."""
    return ('health = { path = "/healthz"; interval_ms = %d; '
            'timeout_ms = %d; %s};\n' % (HEALTH_INTERVAL_MS,
                                         HEALTH_TIMEOUT_MS,
                                         more + " " if more else ""))


HEALTH_CONFIG = health_config()


class Cutover:
    """The cutover binary under test, with its own temp dir, config file,
    log file and admin socket.

    Cutover(config_text) or Cutover(blue=[...], green=[...], extra="...").
    listen, admin.socket and workers (TEST_WORKERS) are added unless the
    text sets them; a short
    shutdown grace is added unless it mentions shutdown (so cleanup never
    waits 25 s); fast health probes of /healthz (HEALTH_CONFIG) are added
    unless the text sets a top-level health group (at the start of a line;
    a pool's own, indented health group does not count).  @DIR@ in the text stands
    for the temp dir.

    stdout (the access log's stream) goes to the log file with stderr
    unless stdout= is given: a path (stdout_text() reads it) or a file
    descriptor, such as a pipe's write end.  nofile=(soft, hard) starts
    it with that RLIMIT_NOFILE, as a shell's ulimit or systemd's
    LimitNOFILE= would.

    When the scenario ends, cleanup stops it (SIGTERM) and checks that it
    exited 0, or with expect_exit (the constructor's or expect_exit()'s),
    and that its log has no sanitizer report."""

    def __init__(self, config=None, blue=None, green=None, extra="",
                 active="blue", start=True, args=(), stdout=None,
                 nofile=None, expect_exit=0):
        self.dir = tempfile.mkdtemp(prefix="cutover-test-")
        self.exit_expected = expect_exit
        self.sock = os.path.join(self.dir, "admin.sock")
        self.conf = os.path.join(self.dir, "cutover.conf")
        self.logfile = os.path.join(self.dir, "cutover.log")
        self.proc = None
        self.ports = []
        self.port = None
        self.args = list(args)
        self.stdout = stdout
        self.nofile = nofile
        _register(self)
        if config is None:
            config = self.make_config(blue or [], green or [], extra, active)
        else:
            config = self.complete(config)
        self.write(config)
        if start:
            self.start()

    # -- configuration

    def complete(self, text):
        """Adds listen, admin and shutdown settings the text lacks, and
        replaces @DIR@ with this instance's temp dir."""
        text = text.replace("@DIR@", self.dir)
        head = ""
        if not re.search(r"^\s*listen\s*[=:]", text, re.M):
            head += 'listen = [ "127.0.0.1:0" ];\n'
        if not re.search(r"^\s*admin\s*[=:]", text, re.M):
            head += 'admin = { socket = "%s"; };\n' % self.sock
        if not re.search(r"^\s*workers\s*[=:]", text, re.M):
            head += "workers = %d;\n" % TEST_WORKERS
        if not re.search(r"^\s*shutdown\s*[=:]", text, re.M):
            head += "shutdown = { grace_ms = 3000; };\n"
        # top level only: a pool's own health group is indented
        if not re.search(r"^health\s*[=:]", text, re.M):
            head += HEALTH_CONFIG
        return head + text

    def make_config(self, blue, green, extra="", active="blue"):
        """A complete configuration text for these pools."""
        return self.complete(pools_config(blue, green, active) + extra)

    def write(self, text):
        with open(self.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.conf + ".tmp", self.conf)
        self.config_text = text

    def reload_file(self, text, complete=True):
        """Rewrites the config file (no reload is triggered)."""
        self.write(self.complete(text) if complete else text)

    def line_of(self, needle):
        """1-based line number of the first line of the current config file
        containing needle."""
        for i, line in enumerate(self.config_text.split("\n"), 1):
            if needle in line:
                return i
        raise KeyError(needle)

    # -- process

    def _limits(self):
        """The preexec_fn: cutover dies with its starter (die_with_parent)
        and, with nofile, starts with that RLIMIT_NOFILE."""
        die = die_with_parent()
        if self.nofile is None:
            return die

        def preexec():
            die()
            resource.setrlimit(resource.RLIMIT_NOFILE, self.nofile)
        return preexec

    def start(self, timeout=10.0):
        argv = [CUTOVER_BIN, "-c", self.conf] + self.args
        if self.stdout is None:
            self.proc = start(argv, self.logfile, stdin=subprocess.DEVNULL,
                              env=cutover_env(), preexec_fn=self._limits())
        else:
            with open(self.logfile, "ab") as err:
                out = open(self.stdout, "ab") \
                    if isinstance(self.stdout, str) else self.stdout
                try:
                    self.proc = start(argv, stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=err,
                                      env=cutover_env(),
                                      preexec_fn=self._limits())
                finally:
                    if out is not self.stdout:
                        out.close()
        ok = wait_until(lambda: self._ready() or self.proc.poll() is not None,
                        timeout)
        if not ok or self.proc.poll() is not None or not self._ready():
            raise RuntimeError(
                "cutover did not become ready (exit %r)\n--- config:\n%s"
                "--- log:\n%s" % (self.proc.poll(), self.config_text,
                                  self.log_text()))
        return self

    def _ready(self):
        # "started with" is logged last, once the admin socket is up: the
        # socket file alone may be a stale one cutover has yet to replace
        text = self.log_text()
        ports = [int(p) for p in re.findall(
            r"listening on 127\.0\.0\.1:(\d+)", text)]
        if ports and " started with " in text and os.path.exists(self.sock):
            self.ports = ports
            self.port = ports[0]
            return True
        return False

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def wait(self, timeout):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30.0):
        """SIGTERM, wait up to timeout; returns the exit code (SIGKILL and
        None when it did not exit)."""
        return stop(self.proc, timeout)

    def expect_exit(self, code):
        """Declares the exit status cleanup is to find (0 by default): a
        number, negative for a signal, as Popen.returncode has it."""
        self.exit_expected = code

    def cleanup(self):
        """Stops cutover and records the check of its exit status and of
        its log (exit_verdicts()); keeps the temp dir when that fails."""
        if self.proc is None:
            if not KEEP_TMP:
                shutil.rmtree(self.dir, ignore_errors=True)
            return
        code = "unknown"
        try:
            code = self.stop(10)
        finally:
            log = self.log_text()
            report = sanitizer_report(log)
            problems = []
            if code != self.exit_expected:
                problems.append("cutover pid %d: %s, want %s" % (
                    self.proc.pid, exit_text(code) if code != "unknown"
                    else "not stopped", exit_text(self.exit_expected)))
            if report:
                problems.append("sanitizer report in %s:\n%s"
                                % (self.logfile, report))
            if problems:
                problems.append("--- cutover log, last lines:\n" +
                                "\n".join(log.rstrip("\n").split("\n")
                                          [-40:]))
                problems.append("(kept %s)" % self.dir)
            _exit_verdicts.append((
                "cutover ends with %s and no sanitizer report"
                % exit_text(self.exit_expected), not problems,
                "\n".join(problems) or None))
            if not KEEP_TMP and not problems:
                shutil.rmtree(self.dir, ignore_errors=True)

    # -- log

    def log_text(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stdout_text(self):
        """What cutover wrote to stdout, when stdout= was a path."""
        try:
            with open(self.stdout, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().rstrip("\n").split("\n")[-n:])

    def log_mark(self):
        """Position in the log, for wait_log(since=)."""
        return len(self.log_text())

    def wait_log(self, regex, timeout=5.0, since=0):
        """Waits until a log line (after offset since) matches; returns the
        match or None."""
        r = re.compile(regex, re.M)
        return wait_until(lambda: r.search(self.log_text()[since:]),
                          timeout) or None

    # -- admin

    def ctl(self, *args, timeout=15):
        """Runs cutoverctl -s SOCK args; returns (exit code, stdout,
        stderr)."""
        p = subprocess.run([CUTOVERCTL_BIN, "-s", self.sock] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, preexec_fn=die_with_parent())
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))

    def admin_conn(self, timeout=5.0):
        return AdminConn(self.sock, timeout)

    def admin(self, line, timeout=5.0):
        """Sends one command line on a fresh admin connection; returns the
        reply text (first line and body, without the final empty line)."""
        return admin_command(self.sock, line, timeout)

    def status(self):
        """status (the table for people) as a list of lines, without the
        "ok" line."""
        r = self.admin("status")
        lines = r.split("\n")
        if not lines or lines[0] != "ok":
            raise RuntimeError("status failed: %r" % r)
        return lines[1:]

    def status_tables(self):
        """`status` parsed: see parse_status()."""
        return parse_status(self.status())

    def status_json(self):
        r = self.admin("status json")
        first, _, body = r.partition("\n")
        if first != "ok":
            raise RuntimeError("status json failed: %r" % r)
        return json.loads(body)

    def metric(self, sample):
        """The value of one sample of `metrics`, named as the exposition
        writes it ('cutover_x_total{pool="green"}'), or None."""
        r = self.admin("metrics")
        for line in r.splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
        return None

    def active(self):
        """The active pool's name from `status json`."""
        return self.status_json()["active"]

    def member(self, pool, addr):
        """The member object of pool/addr from `status json`, or None."""
        for m in self.status_json()["pools"][pool]["members"]:
            if m["addr"] == _addr(addr):
                return m
        return None

    def member_state(self, pool, addr):
        """The member's health ("unknown", "up", "down") from status json,
        or None when there is no such member."""
        m = self.member(pool, addr)
        return m.get("health") if m else None

    def pool_healthy(self, pool):
        """True when every member of pool is up and ready (status json)."""
        ms = self.status_json()["pools"][pool]["members"]
        return bool(ms) and all(m.get("health") == "up" and
                                m.get("admin", "ready") == "ready"
                                for m in ms)

    def wait_pool_healthy(self, pool, timeout=5.0):
        """Waits until every member of pool is up (as the default
        switch.min_healthy requires); returns True when they are."""
        return bool(wait_until(lambda: self.pool_healthy(pool), timeout))


# The columns of `status`'s tables whose cells align right (numbers).
STATUS_RIGHT = {"CONNECTIONS", "REQUESTS", "MEMBERS", "HEALTHY", "INFLIGHT",
                "TUNNELS", "LATENCY"}
STATUS_TABLES = {("WORKER", "CONNECTIONS"): "workers",
                 ("POOL", "MEMBERS"): "pools", ("POOL", "MEMBER"): "members"}


def parse_status(lines):
    """`status` (a list of lines) parsed: {"head": the lines above the
    tables, "workers"/"pools"/"members": a list of rows, each a dict
    heading -> cell text, "misaligned": a list of (line, heading) whose cell
    does not start (left) or end (right, STATUS_RIGHT) where its heading
    does, or whose line has not one cell per heading}.  A cell is a run of
    words one blank apart; columns are two blanks or more apart; a heading
    line has capitals only."""
    out = {"head": [], "workers": [], "pools": [], "members": [],
           "misaligned": []}
    heads, rows = None, None
    for line in lines:
        if line == "":
            continue
        cells = [(m.group(), m.start(), m.end())
                 for m in re.finditer(r"\S+(?: \S+)*", line)]
        if re.fullmatch(r"[A-Z ]+", line):
            heads = cells
            rows = out[STATUS_TABLES[tuple(h[0] for h in heads[:2])]]
            continue
        if heads is None:
            out["head"].append(line)
            continue
        if len(cells) != len(heads):
            out["misaligned"].append((line, None))
            continue
        for (h, hs, he), (_, cs, ce) in zip(heads, cells):
            if (ce != he) if h in STATUS_RIGHT else (cs != hs):
                out["misaligned"].append((line, h))
        rows.append({h[0]: c[0] for h, c in zip(heads, cells)})
    return out


def wait_health(c, pool, addr, state, timeout=5.0):
    """Waits until member addr of pool has health state ("up", "down",
    "unknown") in c's status json; returns True when it does."""
    return bool(wait_until(lambda: c.member_state(pool, addr) == state,
                           timeout))


# ---------------------------------------------------------------- HTTP


class Response:
    """status, reason, version, headers (list of (name, value)), body,
    trailers (list of (name, value); RawConn only)."""

    def __init__(self, status, reason="", version="", headers=(), body=b""):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = list(headers)
        self.body = body
        self.trailers = []

    def headers_named(self, name):
        """Every value of header name (case-insensitive), in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header(self, name, default=None):
        """The last value of header name (case-insensitive)."""
        for k, v in reversed(self.headers):
            if k.lower() == name.lower():
                return v
        return default

    @property
    def text(self):
        return self.body.decode(errors="replace")

    def __repr__(self):
        return "<Response %s %r %r body=%r>" % (
            self.status, self.reason, self.headers, self.body[:200])


def request(port, method, path, headers=None, body=None, timeout=10.0,
            sink=None, encode_chunked=False):
    """One request on a new connection with http.client.  body may be bytes
    or an iterable of bytes.  With sink, the body is passed to sink(piece)
    instead of being kept.  Returns a Response."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {},
                     encode_chunked=encode_chunked)
        r = conn.getresponse()
        if sink is None:
            data = r.read()
        else:
            data = b""
            while True:
                piece = r.read(PIECE)
                if not piece:
                    break
                sink(piece)
        return Response(r.status, r.reason, "HTTP/%d.%d" % divmod(
            r.version, 10), r.getheaders(), data)
    finally:
        conn.close()


def get(port, path="/", headers=None, timeout=10.0, sink=None):
    return request(port, "GET", path, headers=headers, timeout=timeout,
                   sink=sink)


def curl(*args, timeout=20):
    """Runs curl -s args; returns (exit code, stdout text)."""
    p = subprocess.run(["curl", "-s", "--max-time", str(timeout)] +
                       list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout + 5)
    return p.returncode, p.stdout.decode(errors="replace")


class RawConn:
    """A raw client TCP connection: send bytes, read whole responses
    (Content-Length, chunked, or until close).  Registered, so it is closed
    at scenario end."""

    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        _register(self)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _fill(self):
        if self.eof:
            return False
        try:
            chunk = self.s.recv(PIECE)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _readline(self, limit=65536):
        while b"\n" not in self.buf:
            if len(self.buf) > limit or not self._fill():
                raise EOFError("connection closed in a line; have %r"
                               % self.buf[:200])
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def _readn(self, n, sink):
        while n > 0:
            if not self.buf and not self._fill():
                raise EOFError("connection closed with %d body bytes "
                               "missing" % n)
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k

    def read_response(self, method="GET", sink=None):
        """Reads one response.  Raises EOFError when the connection closes
        before the response is complete (partial body in .partial)."""
        got = []
        keep = sink or got.append
        self.partial = b""
        line = self._readline()
        parts = line.decode(errors="replace").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("bad status line %r" % line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for _ in range(1000):
            h = self._readline()
            if not h:
                break
            k, _, v = h.decode(errors="replace").partition(":")
            headers.append((k.strip(), v.strip()))
        r = Response(status, reason, version, headers)
        te = (r.header("Transfer-Encoding") or "").lower()
        try:
            if method == "HEAD" or status < 200 or status in (204, 304):
                pass
            elif "chunked" in te:
                while True:
                    size = int(self._readline().split(b";")[0], 16)
                    if size == 0:
                        for _ in range(1000):
                            tr = self._readline()
                            if not tr:
                                break
                            k, _, v = tr.decode(errors="replace") \
                                .partition(":")
                            r.trailers.append((k.strip(), v.strip()))
                        break
                    self._readn(size, keep)
                    self._readline()
            elif r.header("Content-Length") is not None:
                self._readn(int(r.header("Content-Length")), keep)
            else:
                while self.buf or self._fill():
                    keep(self.buf)
                    self.buf = b""
        except EOFError:
            self.partial = b"".join(got)
            raise
        r.body = b"".join(got)
        return r

    def response_or_error(self, method="GET"):
        """read_response(), but an exception (EOF, reset, timeout, garbage)
        is returned instead of raised."""
        try:
            return self.read_response(method)
        except (EOFError, OSError, ValueError) as e:
            return e

    def request(self, method, path, headers=None, body=b"",
                version="HTTP/1.1"):
        """Sends one request (Host added) and reads its response."""
        self.send(build_request(method, path, headers, body, version))
        return self.read_response(method)

    def closed(self, timeout=2.0):
        """True when the peer closes (EOF or reset) within timeout and
        nothing else arrives."""
        if self.buf:
            return False
        if self.eof:
            return True
        self.s.settimeout(timeout)
        try:
            chunk = self.s.recv(PIECE)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        except socket.timeout:
            return False
        finally:
            self.s.settimeout(self.timeout)
        if chunk:
            self.buf += chunk
            return False
        self.eof = True
        return True

    def close(self):
        _unregister(self)
        self.cleanup()

    def cleanup(self):
        try:
            self.s.close()
        except OSError:
            pass


def build_request(method, path, headers=None, body=b"", version="HTTP/1.1"):
    """Bytes of one request; Host and Content-Length added when missing."""
    if isinstance(body, str):
        body = body.encode()
    hs = list((headers or {}).items()) if isinstance(headers, dict) \
        else list(headers or [])
    names = {k.lower() for k, _ in hs}
    if "host" not in names:
        hs.insert(0, ("Host", "test"))
    if body and "content-length" not in names and \
            "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in hs) + "\r\n"
    return head.encode() + body


def parse_head(text):
    """A message head as text ("GET / HTTP/1.1\\r\\nA: b\\r\\n...") as
    (first line, [(name, value), ...]); names as sent, values stripped."""
    lines = text.replace("\r\n", "\n").split("\n")
    fields = []
    for line in lines[1:]:
        if not line:
            break
        k, _, v = line.partition(":")
        fields.append((k, v.strip()))
    return lines[0], fields


def field_values(fields, name):
    """Every value of field name (case-insensitive) in parse_head's list."""
    return [v for k, v in fields if k.lower() == name.lower()]


def exchange(port, request):
    """Sends request on a fresh connection and reads until the peer
    closes; returns the bytes received."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as so:
        so.sendall(request)
        got = b""
        while True:
            d = so.recv(65536)
            if not d:
                return got
            got += d


def chunked(pieces):
    """Chunked transfer coding of an iterable of bytes."""
    out = b""
    for p in pieces:
        if p:
            out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


def sha256(data):
    return hashlib.sha256(data).hexdigest()
