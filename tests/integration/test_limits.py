#!/usr/bin/env python3
"""File descriptors: cutover raises the soft RLIMIT_NOFILE toward what
limits.max_connections needs, warns once with the numbers when the hard
limit is too low (and `cutover -t` says the same), and when it runs out
all the same it logs one line when the limit is reached and one when it
recovers, with counts, and serves every client that waited in the listen
backlog."""

import re
import socket
import resource
import select
import subprocess
import time

from harness import (CUTOVER_BIN, TEST_WORKERS, Backend, Cutover, RawConn,
                     Suite, get, wait_until)

s = Suite()

WARNING = re.compile(
    r"file descriptors: (\d+) needed for limits\.max_connections = (\d+) "
    r"\((\d+) clients \+ (\d+) upstream \+ (\d+) idle upstream \+ (\d+) "
    r"warm upstream \+ (\d+) probes \+ (\d+) listeners \+ (\d+) admin \+ "
    r"(\d+) internal \+ (\d+) splice pipes \+ (\d+) mirror copies\), "
    r"but the soft limit is (\d+) and the hard limit (\d+): enough for "
    r"max_connections = (\d+)")
REACHED = re.compile(r"descriptor limit reached: (\d+) accepts refused so "
                     r"far")
RECOVERED = re.compile(r"descriptor limit: recovered after (\d+) refused "
                       r"accepts in ([0-9.]+) s")


def nofile(pid):
    """(soft, hard) of /proc/PID/limits' Max open files."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise ValueError("no Max open files in /proc/%d/limits" % pid)


def need(parts, m, lists, max_idle=1024):
    """What the formula of cutover(8), Limits, gives for max_connections m,
    from the parts the warning listed (clients, upstream, idle, warm,
    probes, listeners, admin, internal, splice pipes, mirror copies), with
    lists idle lists (workers x members) of at most max_idle each."""
    _, _, _, warm, probes, listeners, admin, internal, pipes, copies = parts
    return 2 * m + min(m, max_idle) * lists + warm + probes + \
        listeners + admin + internal + pipes + copies


@s.scenario("a low soft limit is raised to what max_connections needs")
def _():
    # as high a hard limit as ours allows (an unprivileged process
    # cannot raise it)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard > 65536:
        hard = 65536
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="limits = { max_connections = 1000; };\n",
                nofile=(256, hard))
    m = c.wait_log(r"file descriptors: soft limit (\d+) \(was 256, hard "
                   r"%d\), (\d+) needed" % hard)
    s.ok(m is not None, "the start logs the limit it set and the need",
         c.log_tail())
    soft, got_hard = nofile(c.pid)
    s.eq(got_hard, hard, "the hard limit is left alone")
    s.ok(m is not None and soft == int(m.group(1)) == int(m.group(2)) and
         soft >= 3000, "the soft limit is raised to exactly the need "
         "(more than 3 x max_connections)", "soft %d, log %r" %
         (soft, m and m.group(0)))
    s.ok("needed for limits.max_connections" not in c.log_text(),
         "no warning when the hard limit allows it", c.log_tail())
    s.eq(get(c.port, "/").status, 200, "it serves")

    # a reload that needs more raises it again
    c.reload_file(c.config_text.replace("max_connections = 1000",
                                        "max_connections = 2000"),
                  complete=False)
    mark = c.log_mark()
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload with max_connections = 2000", out + err)
    m2 = c.wait_log(r"file descriptors: soft limit (\d+) \(was %d, hard "
                    r"%d\), (\d+) needed" % (soft, hard), since=mark)
    s.ok(m2 is not None and int(m2.group(1)) == int(m2.group(2)) >=
         soft + 2000 and nofile(c.pid)[0] == int(m2.group(1)),
         "the reload raises the soft limit to the new need",
         "%r, /proc %r" % (m2 and m2.group(0), nofile(c.pid)))
    s.eq(get(c.port, "/").status, 200, "it serves")
    s.eq(c.stop(), 0, "exits 0")


@s.scenario("a hard limit below the need: raised to it, one warning with "
            "the numbers, and -t says the same")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], nofile=(256, 4096))
    s.ok(c.wait_log(WARNING.pattern) is not None, "the warning is logged",
         c.log_tail())
    soft, hard = nofile(c.pid)
    s.eq((soft, hard), (4096, 4096), "the soft limit is raised to the hard")
    text = c.log_text()
    found = WARNING.findall(text)
    s.eq(len(found), 1, "the warning is logged once", text)
    if found:
        v = [int(x) for x in found[0]]
        total, max_conn, parts = v[0], v[1], v[2:12]
        s.eq(max_conn, 10000, "it names max_connections (the default)")
        s.eq(total, sum(parts), "the need is the sum of its parts")
        # upstream.warm_idle (2) x workers x 2 members
        s.eq(parts[3], 2 * TEST_WORKERS * 2, "it counts the warm "
             "connections")
        # min(max_connections, upstream.max_idle) x workers x 2 members
        s.eq(parts[2], 1024 * TEST_WORKERS * 2, "it counts an idle list "
             "of max_idle (1024) per member per worker")
        s.eq(parts[8], 2 * 64 * TEST_WORKERS, "splice pipes: 64 a worker, "
             "two descriptors each")
        s.eq(parts[9], 0, "no mirror copies with mirroring off")
        s.eq((v[12], v[13]), (4096, 4096), "it names the soft and hard "
             "limits")
        sup = v[14]
        lists = TEST_WORKERS * 2
        s.ok(0 < sup < 10000 and need(parts, sup, lists) <= 4096 <
             need(parts, sup + 1, lists), "the max_connections it says the "
             "limit supports is the largest that fits", "supports %d" % sup)
    for how in ("LimitNOFILE=", "ulimit -n", "Pod"):
        s.contains(text, how, "the warning says how: %s" % how)
    # the same check from -t, without starting: a warning, exit 0
    p = subprocess.run([CUTOVER_BIN, "-t", "-c", c.conf],
                       capture_output=True, timeout=20,
                       preexec_fn=lambda: resource.setrlimit(
                           resource.RLIMIT_NOFILE, (256, 4096)))
    err = p.stderr.decode(errors="replace")
    s.eq(p.returncode, 0, "cutover -t exits 0", err)
    s.ok(WARNING.search(err) is not None and "warning" in err,
         "cutover -t warns with the same numbers", err)
    s.ok(found and WARNING.search(err) is not None and
         WARNING.search(err).groups() == found[0],
         "the numbers are the same as at start", err)
    s.eq(get(c.port, "/").status, 200, "it serves")
    s.eq(c.stop(), 0, "exits 0")


def answered(conn, timeout):
    """Whether conn's response arrives within timeout s (200 expected)."""
    r, _, _ = select.select([conn.s], [], [], timeout)
    if not r:
        return False
    resp = conn.read_response()
    return resp.status == 200


REQ = b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n"


def fill_table(c):
    """Fills cutover's descriptor table one keep-alive client at a time
    (bounded); returns (the clients served, [the first that waits])."""
    served, queued = [], []
    for _ in range(80):
        conn = RawConn(c.port, timeout=10)
        conn.send(REQ)
        if answered(conn, 1.0):
            served.append(conn)
        else:
            queued.append(conn)
            break
    return served, queued


@s.scenario("out of descriptors: one line when reached, one when "
            "recovered, and no client that waited is dropped")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 1;\n",
                nofile=(64, 64))
    req = REQ
    served, queued = fill_table(c)
    s.ok(queued and 20 < len(served) < 64, "a client waits once about "
         "60 descriptors are taken", "%d served" % len(served))
    for _ in range(5):                  # a few more wait with it
        conn = RawConn(c.port, timeout=10)
        conn.send(req)
        queued.append(conn)
    s.ok(c.wait_log(REACHED.pattern, timeout=5) is not None,
         "the limit is logged", c.log_tail())
    time.sleep(1.5)                     # the listener retries 10 times/s
    text = c.log_text()
    s.eq(len(REACHED.findall(text)), 1, "one 'limit reached' line, not one "
         "per retry", c.log_tail(30))
    s.ok(text.count("Too many open files") <= 1, "no line per failed "
         "accept or probe", c.log_tail(30))
    s.ok(all(not answered(q, 0) for q in queued), "the waiting clients "
         "are not answered while the table is full")

    for conn in served:
        conn.close()
    ok = [answered(q, 10.0) for q in queued]
    s.eq(ok.count(True), len(queued), "every client that waited in the "
         "backlog is served once descriptors free up", repr(ok))
    m = c.wait_log(RECOVERED.pattern, timeout=5)
    s.ok(m is not None, "the recovery is logged", c.log_tail(30))
    text = c.log_text()
    s.eq(len(RECOVERED.findall(text)), 1, "one 'recovered' line")
    s.eq(len(REACHED.findall(text)), 1, "still one 'limit reached' line",
         c.log_tail(30))
    if m:
        s.ok(int(m.group(1)) >= 2, "it counts the refused accepts",
             m.group(0))
    metrics = c.admin("metrics")
    mm = re.search(r'^cutover_descriptor_errors_total\{op="accept"\} (\d+)$',
                   metrics, re.M)
    s.ok(mm is not None and m is not None and
         int(mm.group(1)) >= int(m.group(1)), "the metrics count them",
         metrics[-1500:])
    s.contains(metrics, "cutover_descriptor_limit_reached 0",
               "the metrics say it recovered")
    st = c.status_json()
    s.ok(st.get("descriptors", {}).get("limit") == 64 and
         st["descriptors"]["limit_reached"] is False,
         "the status says the limit and that it is not reached",
         repr(st.get("descriptors")))
    for q in queued:
        q.close()
    s.ok(wait_until(lambda: get(c.port, "/").status == 200, 5),
         "it serves new clients")
    s.eq(c.stop(), 0, "exits 0")


@s.scenario("out of descriptors: the admin socket and admin.http pause "
            "too, and answer once descriptors free up")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], nofile=(64, 64), extra=(
        "workers = 1;\n"
        'admin = { socket = "@DIR@/admin.sock"; http = "127.0.0.1:0"; };\n'))
    m = re.search(r"admin http: serving 127\.0\.0\.1:(\d+)", c.log_text())
    s.ok(m is not None, "admin.http serves", c.log_tail())
    http = int(m.group(1)) if m else 0
    served, queued = fill_table(c)
    s.ok(queued, "the table is full", "%d served" % len(served))
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.settimeout(10)
    ctl.connect(c.sock)                 # waits in the socket's backlog
    ctl.sendall(b"status\n")
    hc = socket.create_connection(("127.0.0.1", http), timeout=10)
    hc.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
               b"Connection: close\r\n\r\n")
    s.ok(c.wait_log(REACHED.pattern, timeout=5) is not None,
         "the limit is logged", c.log_tail())
    time.sleep(1.0)                     # 10 retries' worth of pauses
    text = c.log_text()
    s.eq(len(re.findall(r"admin.*accept", text)), 0, "no line per failed "
         "accept on the admin listeners (they pause, not spin)",
         c.log_tail(20))
    s.eq(len(REACHED.findall(text)), 1, "one 'limit reached' line")

    for conn in served + queued:
        conn.close()
    got = b""
    try:
        while not got.endswith(b"\n\n"):
            piece = ctl.recv(65536)
            if not piece:
                break
            got += piece
    except OSError as e:
        got += repr(e).encode()
    s.ok(got.startswith(b"ok") and b"active blue" in got, "the admin client that "
         "waited gets its status", got[:200])
    hgot = b""
    try:
        while True:
            piece = hc.recv(65536)
            if not piece:
                break
            hgot += piece
    except OSError as e:
        hgot += repr(e).encode()
    s.ok(hgot.startswith(b"HTTP/1.1 200 "), "the admin.http client that "
         "waited gets its answer", hgot[:200])
    ctl.close()
    hc.close()
    s.ok(c.wait_log(RECOVERED.pattern, timeout=5) is not None,
         "the recovery is logged", c.log_tail(30))
    s.eq(c.stop(), 0, "exits 0")


s.done()
