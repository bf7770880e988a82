#!/usr/bin/env python3
"""Blue/green switching: cutoverctl switch and rollback, per-request routing
on keep-alive connections, in-flight requests finishing where they started."""


import os
import re
import subprocess

from harness import (CUTOVERCTL_BIN, Background, Backend, Cutover, RawConn,
                     Suite, curl, dead_addr, get, wait_health, wait_until)

s = Suite()


def curl_body(c, path="/"):
    rc, out = curl("http://127.0.0.1:%d%s" % (c.port, path))
    return out if rc == 0 else "curl exit %d" % rc


@s.scenario("switch and rollback")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.eq(curl_body(c), "blue\n", "before the switch curl answers blue")
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "cutoverctl switch green exits 0", out + err)
    s.eq(curl_body(c), "green\n", "after the switch curl answers green")
    st = c.status_json()
    s.eq(st["active"], "green", "status shows active green", st)
    s.eq(st["previous"], "blue", "status shows previous blue", st)

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green while green is active exits 0", out + err)
    s.ok((out + err).strip() != "",
         "... and says something about it", "stdout %r stderr %r" % (out, err))
    s.eq(curl_body(c), "green\n", "still green")

    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "cutoverctl rollback exits 0", out + err)
    s.eq(curl_body(c), "blue\n", "after rollback curl answers blue")
    s.eq(c.active(), "blue", "status shows active blue")

    rc, out, err = c.ctl("switch", "purple")
    s.eq(rc, 2, "switch purple exits 2 (usage: no such pool)", out + err)
    s.contains(err, "purple", "the error names the pool")
    s.eq(curl_body(c), "blue\n", "a refused switch changes nothing")

    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 0, "switch green force exits 0", out + err)
    s.eq(curl_body(c), "green\n", "... and green answers")


@s.scenario("rollback is safe to retry")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())

    rc, out, err = c.ctl("rollback")
    s.ok(rc == 1 and "nothing to roll back" in err,
         "rollback before any switch: refused (exit 1), nothing to roll "
         "back", (rc, out, err))
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    rc, out, err = c.ctl("rollback")
    s.ok(rc == 0 and out.startswith("blue (was green), generation 3"),
         "rollback: back to blue, generation 3", (rc, out, err))
    for i in (2, 3):
        rc, out, err = c.ctl("rollback")
        s.ok(rc == 0 and re.match(
            r"already rolled back to blue at \d{4}-\d\d-\d\dT[\d:]+Z "
            r"\(generation 3\)$", out.strip()) is not None,
            "rollback #%d: exit 0, \"already rolled back to blue at ... "
            "(generation 3)\"" % i, (rc, out, err))
        s.eq(c.active(), "blue", "... blue is still active")
        s.eq(curl_body(c), "blue\n", "... and serves")
    j = c.status_json()
    s.eq((j["generation"], j["last_change"]["action"],
          j["last_change"]["to"], j["last_change"]["uid"]),
         (3, "rollback", "blue", os.getuid()),
         "status json: generation 3, last change a rollback to blue, by "
         "our uid", j.get("last_change"))
    s.ok(any(l.startswith("last-change rollback green -> blue at ") and
             " by uid %d pid " % os.getuid() in l for l in c.status()),
         "status: last-change rollback green -> blue ... by uid, pid",
         c.status())

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "a switch after the rollback", out + err)
    rc, out, err = c.ctl("rollback")
    s.ok(rc == 0 and out.startswith("blue (was green), generation 5"),
         "... makes rollback possible again", (rc, out, err))
    s.eq(curl_body(c), "blue\n", "blue serves")


@s.scenario("exit codes: done 0, refused 1, usage 2, timed out 3")
def _():
    blue, green = Backend("blue"), Backend("green")
    dead = dead_addr()
    c = Cutover(blue=[blue], green=[green, dead])
    s.ok(wait_health(c, "green", green, "up", 3) and
         wait_health(c, "green", dead, "down", 3),
         "green: one member up, one down", c.status())

    rc, out, err = c.ctl("switch", "green", "--force")
    s.ok(rc == 2 and "usage: switch <pool> [force]" in err,
         "switch green --force: usage error, exit 2", (rc, out, err))
    rc, out, err = c.ctl("swtich", "green")
    s.ok(rc == 2 and "did you mean 'switch'?" in err,
         "a mistyped command: exit 2, did you mean 'switch'", (rc, out, err))
    rc, out, err = c.ctl("switch", "gren")
    s.ok(rc == 2 and "did you mean 'green'?" in err,
         "a mistyped pool: exit 2, did you mean 'green'", (rc, out, err))
    s.eq(c.active(), "blue", "no usage error changed anything")

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "switch to a half-down green: refused, exit 1", out + err)
    s.contains(err, "green has 1 of 2 members healthy; switch.min_healthy "
               "requires 2; down: %s (connection refused)" % dead,
               "the refusal names the down member and its last probe")
    # the man page's pattern: force only after a refusal
    p = subprocess.run(
        ["sh", "-c", 'cutoverctl() { "$CTL" -s "$SOCK" "$@"; }; '
         'cutoverctl switch green; rc=$?; '
         'if [ $rc -eq 1 ]; then cutoverctl switch green force; '
         'else exit $rc; fi'],
        env=dict(os.environ, CTL=CUTOVERCTL_BIN, SOCK=c.sock),
        capture_output=True, timeout=30)
    s.ok(p.returncode == 0 and c.active() == "green",
         "switch green, then force after exit 1: green is active",
         (p.returncode, p.stdout, p.stderr))
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 0 and "already active" in out,
         "switch to the active pool: exit 0, already active", (rc, out, err))

    rc, out, err = c.ctl("wait-healthy", "green", "1")
    s.ok(rc == 3 and "timeout: after 1 s" in err,
         "wait-healthy green 1 with a member down: exit 3", (rc, out, err))
    rc, out, err = c.ctl("wait-drained", "green", "1")
    s.ok(rc == 1 and "green is the active pool" in err,
         "wait-drained of the active pool: refused, exit 1", (rc, out, err))

    rc, out, err = c.ctl("help", "switch")
    s.ok(rc == 0 and out.startswith("usage: switch <pool> [force] "
                                    "[at <unix-ms>] [gen <n>]\n"),
         "cutoverctl help switch: its usage, exit 0", (rc, out, err))
    rc, out, err = c.ctl("help", "swich")
    s.ok(rc == 2 and "did you mean 'switch'?" in err,
         "help of a mistyped command: exit 2, did you mean", (rc, out, err))
    for opt, want in (("--help", "usage: cutoverctl "),
                      ("--version", "cutoverctl 0.1.0\n")):
        rc, out, err = c.ctl(opt)
        s.ok(rc == 0 and out.startswith(want) and err == "",
             "cutoverctl %s: exit 0, %r" % (opt, want), (rc, out, err))
    for opt in ("--bogus", "-x"):
        rc, out, err = c.ctl(opt)
        s.ok(rc == 2 and err.startswith("cutoverctl: unknown option %s\n"
                                        % opt),
             "cutoverctl %s: exit 2, \"cutoverctl: unknown option %s\""
             % (opt, opt), (rc, out, err))


@s.scenario("the last usable member of the active pool")
def _():
    b1, b2 = Backend("b1"), Backend("b2")
    green = Backend("green")
    c = Cutover(blue=[b1, b2], green=[green])
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    rc, out, err = c.ctl("member", "blue", b1.addr, "maint")
    s.eq(rc, 0, "maint b1: b2 is still usable", out + err)
    rc, out, err = c.ctl("member", "blue", b2.addr, "drain")
    s.ok(rc == 1 and "last usable member of the active pool" in err and
         b2.addr in err and "force" in err,
         "drain b2, the last usable member of the active pool: refused, "
         "exit 1, with the reason", (rc, out, err))
    s.eq(c.member("blue", b2.addr)["admin"], "ready", "b2 is still ready")
    s.eq(get(c.port, "/").status, 200, "requests are still served")
    rc, out, err = c.ctl("member", "green", green.addr, "maint")
    s.eq(rc, 0, "the standby pool's last member may go into maint",
         out + err)
    rc, out, err = c.ctl("member", "blue", b2.addr, "maint", "force")
    s.ok(rc == 0 and "ready -> maint" in out,
         "... and with force, blue's last one too", (rc, out, err))
    s.eq(get(c.port, "/").status, 503, "then a request gets 503, as asked")


@s.scenario("keep-alive connection follows the switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    raw = RawConn(c.port)
    r = raw.request("GET", "/")
    s.eq(r.body, b"blue\n", "first request on the connection answers blue")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    r = raw.request("GET", "/")
    s.eq(r.body, b"green\n",
         "next request on the SAME connection answers green")
    s.ok(not raw.eof, "the connection was kept open")
    raw.close()


@s.scenario("in-flight request across a switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    slow = Background(get, c.port, "/delay?ms=1500", timeout=10)
    try:
        s.ok(blue.wait_request("/delay", 5),
             "the slow request reached blue")
        st = c.status_json()
        s.eq(st["pools"]["blue"]["inflight"], 1,
             "status counts it in flight on blue", st)
        rc, out, err = c.ctl("switch", "green")
        s.eq(rc, 0, "switch green while it waits", out + err)
        r = get(c.port, "/")
        s.eq(r.body, b"green\n", "a new request answers green at once")
        st = c.status_json()
        s.ok(st["pools"]["green"]["active"] is True and
             st["pools"]["blue"]["active"] is False and
             st["pools"]["blue"]["inflight"] == 1,
             "status: green active, blue standby still draining 1", st)
    finally:
        slow.join(10)
    r = slow.result
    s.ok(r is not None and r.status == 200 and r.body == b"blue\n",
         "the in-flight request completes with blue", repr(slow))
    s.eq(green.saw("/delay"), 0, "green never saw the slow request")
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["inflight"]
                    == 0, 3), "blue's inflight drops to 0", c.status())
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["members"][0]
                    ["idle"] == 0, 3),
         "idle upstream connections to blue are closed after the switch",
         c.status())


s.done()
