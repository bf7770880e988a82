#!/usr/bin/env python3
"""Reloading the configuration: SIGHUP and `cutoverctl reload`, broken files
changing nothing, listeners added and removed, connections and the active
pool surviving."""

import os
import re
import signal
import socket

from harness import (Background, Backend, Cutover, RawConn, Suite, dead_addr,
                     free_port, get, pools_config, refuses, register,
                     wait_until)

s = Suite()


class register_close:
    """Closes sock when the scenario ends."""

    def __init__(self, sock):
        self.sock = sock
        register(self)

    def cleanup(self):
        self.sock.close()


def served_by(c, n=6):
    return sorted({get(c.port, "/").header("X-Backend") for _ in range(n)})


def reaches(c, name, tries=20):
    """True once a request through c is answered by backend name."""
    for _ in range(tries):
        if get(c.port, "/").header("X-Backend") == name:
            return True
    return False


def members(c, pool):
    """The addresses of pool's members, from status json."""
    return [m["addr"] for m in c.status_json()["pools"][pool]["members"]]


@s.scenario("reload adds members")
def _():
    b1, b2, b3, g = Backend("b1"), Backend("b2"), Backend("b3"), Backend("g")
    c = Cutover(blue=[b1], green=[g])
    s.eq(served_by(c), ["b1"], "before: blue is b1 only")

    c.reload_file(pools_config([b1, b2], [g]))
    mark = c.log_mark()
    c.signal(signal.SIGHUP)
    s.ok(wait_until(lambda: reaches(c, "b2"), 5),
         "after SIGHUP adding b2, requests reach b2")
    s.ok(b2.addr in members(c, "blue"), "status lists b2",
         c.status_json())
    s.ok(c.wait_log(r"info: reload: reloaded %s: active blue, blue 2 "
                    r"member\(s\), green 1 member\(s\)" % re.escape(c.conf), 2,
                    since=mark) is not None, "the reload is logged")

    c.reload_file(pools_config([b1, b2, b3], [g]))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "cutoverctl reload exits 0", out + err)
    s.ok(reaches(c, "b3"), "after cutoverctl reload adding b3, requests "
         "reach b3")
    s.ok(b3.addr in members(c, "blue"), "status lists b3",
         c.status_json())
    s.eq(c.status_json()["reload"]["result"], "ok",
         "status shows reload ok", c.status_json())
    s.eq(served_by(c, 9), ["b1", "b2", "b3"],
         "the original listener still serves all three")

    c.reload_file(pools_config([b1], [g]))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload removing b2 and b3 exits 0", out + err)
    before = (b2.saw("/"), b3.saw("/"))
    s.eq(served_by(c, 6), ["b1"], "removed members get no more requests")
    s.eq((b2.saw("/"), b3.saw("/")), before, "... not even one")
    s.eq(members(c, "blue"), [b1.addr], "status lists only b1 in blue")
    s.eq(c.status_json()["reload"]["result"], "ok",
         "status json: reload result ok")


@s.scenario("a request in flight on a member removed by reload")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b2], green=[g])
    slow = Background(get, c.port, "/delay?ms=1500", timeout=10)
    try:
        s.ok(b2.wait_request("/delay", 5), "the slow request reached b2")
        c.reload_file(pools_config([b1], [g]))
        rc, out, err = c.ctl("reload")
        s.eq(rc, 0, "reload replacing b2 by b1 exits 0", out + err)
        s.eq(served_by(c, 4), ["b1"], "new requests go to b1 at once")
    finally:
        slow.join(10)
    r = slow.result
    s.ok(r is not None and r.status == 200 and r.body == b"b2\n",
         "the in-flight request on b2 completes", repr(slow))
    s.ok(c.alive(), "the proxy is still running")
    s.eq(served_by(c, 4), ["b1"], "and keeps serving b1")


@s.scenario("broken files change nothing")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1], green=[g])
    good = c.config_text
    broken = {
        "syntax error": pools_config([b2], [g]) +
        "timeouts = { connect_ms = ; };\n",
        "unknown setting": pools_config([b2], [g]) + "frobnicate = 1;\n",
    }
    needles = {"syntax error": "connect_ms = ;",
               "unknown setting": "frobnicate"}
    for label, text in broken.items():
        c.reload_file(text)
        line = c.line_of(needles[label])
        rc, out, err = c.ctl("reload")
        s.eq(rc, 1, "reload of a file with a %s exits 1" % label, out + err)
        s.contains(out + err, "%s:%d:" % (c.conf, line),
                   "the message names FILE:LINE (%s)" % label)
        st = c.status_json()["reload"]
        s.ok(st["result"] == "failed" and
             st["message"].startswith("%s:%d:" % (c.conf, line)),
             "status shows the last reload failed, and why", st)
        s.eq(served_by(c), ["b1"], "traffic unchanged (%s)" % label)

    c.reload_file(broken["unknown setting"])
    line = c.line_of("frobnicate")
    mark = c.log_mark()
    c.signal(signal.SIGHUP)
    m = c.wait_log(r"error: .*%s" % re.escape("%s:%d:" % (c.conf, line)), 5,
                   since=mark)
    s.ok(m is not None, "SIGHUP with a broken file logs the error with "
         "FILE:LINE")
    s.ok(c.alive(), "the proxy is still running")
    s.eq(served_by(c), ["b1"], "traffic unchanged after the broken SIGHUP")

    c.reload_file(good, complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reloading the good file again exits 0", out + err)


@s.scenario("keep-alive connection across a reload")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1], green=[g])
    raw = RawConn(c.port)
    r = raw.request("GET", "/")
    s.eq((r.status, r.body), (200, b"b1\n"), "first request on the connection")
    c.reload_file(pools_config([b1, b2], [g]))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "good reload exits 0", out + err)
    bodies = []
    for _ in range(2):
        r = raw.request("GET", "/")
        bodies.append((r.status, r.body))
    s.eq(sorted(bodies), [(200, b"b1\n"), (200, b"b2\n")],
         "the same connection still works after the reload, over both "
         "members")
    raw.close()


@s.scenario("listeners added and removed")
def _():
    b1, g = Backend("b1"), Backend("g")
    p1 = free_port()
    pools = pools_config([b1], [g])
    c = Cutover('listen = [ "127.0.0.1:%d" ];\n' % p1 + pools)
    s.eq(c.port, p1, "listening on the chosen port")

    p2 = free_port()
    c.reload_file('listen = [ "127.0.0.1:%d", "127.0.0.1:%d" ];\n'
                  % (p1, p2) + pools)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload adding a second listener exits 0", out + err)
    r = wait_until(lambda: get(p2, "/", timeout=2), 3)
    s.ok(r and r.body == b"b1\n", "the new listener accepts and proxies")
    s.ok("127.0.0.1:%d" % p2 in c.status_json()["listen"],
         "status lists the new listener", c.status_json())

    c.reload_file('listen = [ "127.0.0.1:%d" ];\n' % p1 + pools)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload removing it exits 0", out + err)
    s.ok(wait_until(lambda: refuses(p2), 3),
         "the removed listener refuses connections")
    s.eq(get(p1, "/").body, b"b1\n", "the first listener keeps serving")


@s.scenario("the active pool survives a reload")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], active="blue")
    pools = c.config_text
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload of the unchanged file (active = blue)", out + err)
    s.eq(c.active(), "green", "still green after the reload")
    s.eq(get(c.port, "/").body, b"green\n", "traffic still goes to green")

    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "rollback to blue", out + err)
    c.reload_file(pools.replace('active = "blue";', 'active = "green";'),
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload with the file's active changed to green", out + err)
    s.eq(c.active(), "green", "the file's new active takes effect")
    s.eq(get(c.port, "/").body, b"green\n", "traffic goes to green")
    lc = c.status_json()["last_change"]
    s.eq((lc["action"], lc["from"], lc["to"], lc["by"], lc["uid"],
          lc["pid"]), ("reload", "blue", "green", "reload", None, None),
         "status json: the last change is the reload's, by \"reload\", no "
         "uid or pid", lc)
    rc, out, err = c.ctl("rollback")
    s.ok(rc == 0 and out.startswith("blue (was green)"),
         "after it, rollback goes back to blue (it is not a second "
         "rollback)", (rc, out, err))


def level_lines(c, since, level):
    return re.findall(r"^\S+ cutover\[\d+\]: %s: .*$" % level,
                      c.log_text()[since:], re.M)


@s.scenario("log.level: what each level writes, changed by a reload; "
            "workers and admin changes wait for a restart")
def _():
    b, g = Backend("b"), Backend("g")
    pools = pools_config([b], [g, dead_addr()])
    c = Cutover("workers = 2;\n" + pools)
    s.ok(level_lines(c, 0, "info"), "info (the default) writes info lines")
    s.eq(level_lines(c, 0, "debug"), [], "... and no debug line")

    mark = c.log_mark()
    # workers and admin stay as this reload sets them: no more warnings
    pools = 'workers = 1;\nadmin = { socket = "%s"; socket_mode = "0660"; ' \
        '};\n%s' % (c.sock, pools)
    c.reload_file('log = { level = "warning"; };\n' + pools)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "a reload to level warning, workers 1, socket_mode 0660",
         out + err)
    log = c.log_text()[mark:]
    s.contains(log, "warning: reload: a change to workers takes effect at "
               "restart", "the workers change is said to wait for a "
               "restart", log)
    s.contains(log, "warning: reload: changes to admin.* take effect at "
               "restart", "so is the admin change", log)
    s.eq(c.status_json().get("workers"), 2, "two workers still serve")
    s.eq(os.stat(c.sock).st_mode & 0o777, 0o600, "the socket keeps its mode")
    mark = c.log_mark()
    s.eq(get(c.port, "/").body, b"b\n", "serving")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "a refused switch (green has a member down)", out + err)
    rc, out, err = c.ctl("member", "blue", b.addr, "drain", "force")
    s.eq(rc, 0, "a member change", out + err)
    s.ok(c.wait_log(r"warning: switch green refused", since=mark),
         "warning: a refused switch is written")
    s.eq(level_lines(c, mark, "info"), [], "no info line: neither the "
         "member change nor the admin commands")

    # every green member probed: its first verdict (a warning for the dead
    # one) may not fall after the mark, before the reload to level error
    s.ok(wait_until(lambda: all(m.get("health") != "unknown" for m in
                                c.status_json()["pools"]["green"]
                                ["members"])),
         "green's members are probed", c.status_json()["pools"]["green"])
    mark = c.log_mark()
    c.reload_file('log = { level = "error"; };\n' + pools)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "a reload to level error", out + err)
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "another refused switch", out + err)
    c.ctl("member", "blue", b.addr, "ready")
    c.reload_file('log = { level = "error"; };\npools = { ]; };\n',
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 1, "a broken file", out + err)
    s.ok(c.wait_log(r"error: reload failed, nothing changed: ", since=mark),
         "error: the broken reload is written")
    s.eq(level_lines(c, mark, "warning") + level_lines(c, mark, "info"), [],
         "no warning or info line, not even the refused switch's")

    mark = c.log_mark()
    c.reload_file('log = { level = "debug"; };\n' + pools)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "a reload to level debug", out + err)
    c.ctl("version")
    s.ok(c.wait_log(r"debug: admin: uid \d+ pid \d+: connected",
                    since=mark), "debug: an admin client connecting is "
         "written")
    s.ok(level_lines(c, mark, "info"), "and info lines again")


@s.scenario("a reload whose new listener cannot be opened changes nothing")
def _():
    b, b2, g = Backend("b"), Backend("b2"), Backend("g")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    register_close(busy)
    taken = busy.getsockname()[1]
    port = free_port()
    c = Cutover('listen = [ "127.0.0.1:%d" ];\n' % port +
                pools_config([b], [g]))
    before = c.status_json()
    c.reload_file('listen = [ "127.0.0.1:%d", "127.0.0.1:%d" ];\n'
                  'log = { access = "text"; };\n%s'
                  % (port, taken, pools_config([b, b2], [g], "green")))
    rc, out, err = c.ctl("reload")
    s.ok(rc == 1 and err == "cutoverctl: cannot listen on 127.0.0.1:%d: "
         "Address already in use\n" % taken, "the reload fails, exit 1, "
         "naming the address and why", (rc, out, err))
    s.ok(c.wait_log(r"error: reload failed, nothing changed: cannot listen "
                    r"on 127\.0\.0\.1:%d: Address already in use" % taken),
         "the log says nothing changed")
    after = c.status_json()
    s.eq(after["listen"], before["listen"], "the listeners are as before")
    s.eq(after["active"], "blue", "blue is still active (the file said "
         "green)")
    s.eq(members(c, "blue"), [b.addr], "blue's members are as before")
    s.eq(after["reload"]["result"], "failed", "status: the reload failed")
    mark = c.log_mark()
    s.ok(all(get(c.port, "/").body == b"b\n" for _ in range(4)),
         "the old listener serves, from b only")
    s.eq(re.findall(r'"GET /"', c.log_text()[mark:]), [],
         "no access line: log.access is still off")
    s.eq(after["config"]["sha256"], before["config"]["sha256"],
         "status: the configuration loaded is the old one")


s.done()
