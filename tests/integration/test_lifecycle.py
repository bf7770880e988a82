#!/usr/bin/env python3
"""The command line (-t, -h, -V), the reference configuration, and stopping:
SIGTERM drains in-flight requests, the grace period bounds it, SIGINT too."""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import (BUILDDIR, CUTOVER_BIN, SRCDIR, Backend, Cutover,
                     RawConn, Suite, build_request, get, pools_config,
                     refuses, wait_until)

s = Suite()


def run(*args):
    p = subprocess.run([CUTOVER_BIN] + list(args), capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=15)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


@s.scenario("command line")
def _():
    d = tempfile.mkdtemp(prefix="cutover-test-")
    try:
        good = os.path.join(d, "good.conf")
        with open(good, "w") as f:
            f.write('listen = [ "127.0.0.1:0" ];\n' +
                    pools_config(["127.0.0.1:9001"], ["127.0.0.1:9002"],
                                 "blue"))
        rc, out, err = run("-t", "-c", good)
        s.eq(rc, 0, "cutover -t -c good.conf exits 0", out + err)

        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write('listen = [ "127.0.0.1:0" ];\n'     # 1
                    'active = "blue";\n'                # 2
                    'pools = {\n'                       # 3
                    '  blue = { members = [ "127.0.0.1:9001" ]; };\n'
                    '  green = { members = [ = ]; };\n'     # 5
                    '};\n')
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "cutover -t -c bad.conf (syntax error) exits 1",
             out + err)
        s.contains(err, "bad.conf:5: ", "the error names bad.conf:5")

        with open(bad, "w") as f:
            f.write('listen = [ "127.0.0.1:0" ];\n'     # 1
                    'active = "blue";\n'                # 2
                    'frobnicate = true;\n'              # 3
                    + pools_config(["127.0.0.1:9001"], ["127.0.0.1:9002"]))
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "cutover -t -c bad.conf (unknown setting) exits 1",
             out + err)
        s.contains(err, "bad.conf:3: ", "the error names bad.conf:3")
        s.contains(err, "frobnicate", "the error names the setting")

        with open(bad, "w") as f:
            f.write('active = "purple";\n'              # 1
                    + pools_config(["127.0.0.1:9001"], ["127.0.0.1:9002"]))
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "cutover -t -c bad.conf (active = purple) exits 1",
             out + err)
        s.contains(err, "bad.conf:1: ", "the error names bad.conf:1")
    finally:
        shutil.rmtree(d, ignore_errors=True)

    rc, out, err = run("-h")
    s.eq(rc, 0, "cutover -h exits 0", out + err)
    s.ok("-c" in out + err and "-t" in out + err,
         "usage mentions -c and -t", out + err)

    rc, out, err = run("-V")
    s.ok(rc == 0 and "cutover 0.1.0" in out + err,
         "cutover -V prints cutover 0.1.0", "exit %d: %r" % (rc, out + err))

    ref = os.path.join(SRCDIR, "conf", "cutover.conf")
    rc, out, err = run("-t", "-c", ref)
    s.eq(rc, 0, "the reference conf/cutover.conf passes -t", out + err)


def slow_request(port, path, result):
    try:
        raw = RawConn(port, timeout=15)
        raw.send(build_request("GET", path))
        result["r"] = raw.read_response()
    except Exception as e:
        result["e"] = e
    result["t"] = time.monotonic()


@s.scenario("SIGTERM drains in-flight requests")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="shutdown = { grace_ms = 10000; };\n")
    result = {}
    t = threading.Thread(target=slow_request,
                         args=(c.port, "/delay?ms=1500", result), daemon=True)
    t.start()
    s.ok(blue.wait_request("/delay", 5), "the slow request reached blue")
    c.signal(signal.SIGTERM)
    # soon: well within the 1.5 s the slow request still takes (a slack
    # that ThreadSanitizer's slower threads need)
    s.ok(wait_until(lambda: refuses(c.port), 1.5),
         "new connections are refused soon after SIGTERM")
    t.join(15)
    r = result.get("r")
    s.ok(r is not None and r.status == 200 and r.body == b"blue\n",
         "the in-flight request completes with 200", repr(result))
    rc = c.wait(10)
    s.eq(rc, 0, "cutover exits 0")


@s.scenario("SIGTERM with a request slower than the grace period")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="shutdown = { grace_ms = 300; };\n")
    result = {}
    t = threading.Thread(target=slow_request,
                         args=(c.port, "/delay?ms=5000", result), daemon=True)
    t.start()
    s.ok(blue.wait_request("/delay", 5), "the slow request reached blue")
    t0 = time.monotonic()
    c.signal(signal.SIGTERM)
    rc = c.wait(5)
    el = time.monotonic() - t0
    s.eq(rc, 0, "cutover exits 0")
    s.ok(el < 2.0, "... within ~1-2 s", "took %.2f s" % el)
    t.join(10)
    e = result.get("e")
    s.ok(isinstance(e, (EOFError, ConnectionError)),
         "the client sees a closed connection", repr(result))


def second_signal(sig):
    """A second sig while requests are in flight exits at once (and 0)."""
    name = signal.Signals(sig).name
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="shutdown = { grace_ms = 20000; };\n")
    result = {}
    t = threading.Thread(target=slow_request,
                         args=(c.port, "/delay?ms=5000", result), daemon=True)
    t.start()
    s.ok(blue.wait_request("/delay", 5), "the slow request reached blue")
    c.signal(sig)
    s.ok(wait_until(lambda: refuses(c.port), 1.5),
         "the first %s stops accepting" % name)
    s.eq(c.wait(0.3), None, "... and waits for the slow request")
    t0 = time.monotonic()
    c.signal(sig)
    rc = c.wait(5)
    took = time.monotonic() - t0
    s.ok(rc == 0 and took < 1.0, "the second %s exits 0 at once, well "
         "before the 5 s request ends" % name,
         "exit %r after %.2f s" % (rc, took))
    t.join(10)


@s.scenario("a second SIGTERM exits at once")
def _():
    second_signal(signal.SIGTERM)


@s.scenario("start-up problems")
def _():
    blue, green = Backend("blue"), Backend("green")
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        c = Cutover('listen = [ "127.0.0.1:%d" ];\n' % port +
                    pools_config([blue], [green]), start=False,
                    expect_exit=1)
        try:
            c.start(timeout=5)
            started = True
        except RuntimeError:
            started = False
        s.ok(not started and c.wait(5) == 1,
             "a listen address in use: cutover exits 1", c.log_text())
        s.contains(c.log_text(), "127.0.0.1:%d" % port,
                   "the error names the address")
    finally:
        busy.close()

    c = Cutover(blue=[blue], green=[green], start=False)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(c.sock)
    stale.close()
    s.ok(os.path.exists(c.sock), "a stale admin socket file is left over")
    c.start()
    s.eq(c.admin("version").split("\n")[0], "ok",
         "cutover replaces a stale admin socket and answers on it")
    s.eq(c.stop(), 0, "SIGTERM: exits 0")
    s.ok(not os.path.exists(c.sock), "the admin socket file is removed on "
         "exit")


@s.scenario("SIGINT stops it")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.eq(get(c.port, "/").body, b"blue\n", "serving")
    c.signal(signal.SIGINT)
    s.eq(c.wait(10), 0, "SIGINT: cutover exits 0")
    s.ok(refuses(c.port), "the port is closed")


@s.scenario("a second SIGINT exits at once")
def _():
    second_signal(signal.SIGINT)


def in_flight(grace_ms, ms):
    """A cutover with shutdown.grace_ms, a client connection left idle
    after a request and one whose request takes ms: (c, idle, busy)."""
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="shutdown = { grace_ms = %d; };\n" % grace_ms)
    idle = RawConn(c.port)
    r = idle.request("GET", "/")
    s.ok(r.status == 200 and r.header("Connection") is None,
         "a keep-alive connection answered and left idle", repr(r))
    busy = RawConn(c.port, timeout=15)
    busy.send(build_request("GET", "/delay?ms=%d" % ms))
    s.ok(blue.wait_request("/delay", 5), "a %d ms request is in flight"
         % ms)
    return c, idle, busy


@s.scenario("SIGTERM closes idle connections; responses in flight say "
            "Connection: close")
def _():
    c, idle, busy = in_flight(10000, 1500)
    c.signal(signal.SIGTERM)
    s.ok(idle.closed(timeout=1.0), "the idle client connection is closed "
         "at once, while the slow request is still in flight")
    r = busy.response_or_error()
    s.ok(getattr(r, "status", None) == 200 and
         (r.header("Connection") or "").lower() == "close",
         "the response in flight is a 200 with Connection: close", repr(r))
    s.ok(busy.closed(timeout=2.0), "... and its connection is closed after "
         "it")
    s.eq(c.wait(10), 0, "cutover exits 0 once it is done")


@s.scenario("shutdown.grace_ms = 0: SIGTERM closes requests in flight at "
            "once")
def _():
    c, idle, busy = in_flight(0, 5000)
    t0 = time.monotonic()
    c.signal(signal.SIGTERM)
    rc = c.wait(5)
    took = time.monotonic() - t0
    s.ok(rc == 0 and took < 2.0, "cutover exits 0 without waiting for it",
         "exit %r after %.2f s" % (rc, took))
    r = busy.response_or_error()
    s.ok(isinstance(r, Exception), "the client's connection is closed "
         "without a response", repr(r))
    s.ok(idle.closed(timeout=0), "... and so is the idle one")


def default_conf():
    """The build's sysconfdir/cutover.conf, from its Makefile."""
    mk = {}
    with open(os.path.join(BUILDDIR, "Makefile")) as f:
        for line in f:
            m = re.match(r"^(prefix|sysconfdir) = (.*)$", line)
            if m:
                mk[m.group(1)] = m.group(2).strip()
    return os.path.join(mk["sysconfdir"].replace("${prefix}",
                                                 mk["prefix"]),
                        "cutover.conf")


@s.scenario("-c defaults to sysconfdir's cutover.conf; a usage error exits "
            "2")
def _():
    path = default_conf()
    rc, out, err = run("-h")
    s.contains(out + err, "(default %s)" % path,
               "-h names the default file, in the build's sysconfdir")
    rc, out, err = run("-t")
    if os.path.exists(path):
        s.contains(out + err, path, "cutover -t without -c checks %s" % path)
    else:
        s.ok(rc == 1 and err == "%s: cannot read: No such file or "
             "directory\n" % path, "cutover -t without -c reads %s (there "
             "is none here: exit 1)" % path, (rc, out, err))
    for argv, why in ((["-x"], "an unknown option"),
                      (["-c"], "-c without its file"),
                      (["-t", "-T"], "-t with -T"),
                      (["-b"], "-b without -t"),
                      (["-t", "stray"], "an operand")):
        rc, out, err = run(*argv)
        s.ok(rc == 2 and err.startswith(("usage: ", "%s: " % CUTOVER_BIN))
             and "usage: cutover [-t [-b] | -T] [-c FILE]" in err,
             "%s (%s): exit 2 with the usage on stderr" % (" ".join(argv),
                                                           why),
             (rc, out, err))
        s.eq(out, "", "... and nothing on stdout")


s.done()
