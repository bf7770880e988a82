#!/usr/bin/env python3
"""Blue/green switching: cutoverctl switch and rollback, per-request routing
on keep-alive connections, in-flight requests finishing where they started."""


import os
import re
import subprocess
import time

from harness import (CUTOVERCTL_BIN, TEST_WORKERS, Background, Backend,
                     Cutover, RawConn, Suite, curl, dead_addr, get,
                     wait_health, wait_until)

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
                                    "[at <unix-ms>] [gen <n>] "
                                    "[guard <seconds>]\n"),
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
    # all kept 5 s after the switch, then each worker keeps
    # upstream.warm_idle (default 2) of them, warm
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["members"][0]
                    ["idle"] <= 2 * TEST_WORKERS, 10),
         "idle upstream connections to blue are cut down to warm_idle per "
         "worker after the switch", c.status())


def warm_cutover(warm_idle):
    """Blue and green backends, cutover with upstream.warm_idle, green
    healthy and client traffic answered by blue; returns them."""
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="upstream = { warm_idle = %d; };\n" % warm_idle)
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    s.ok(blue_traffic(c), "client traffic answers blue")
    return blue, green, c


def blue_traffic(c, n=20):
    """Whether n requests through c all answer blue."""
    return all(get(c.port, "/traffic").body == b"blue\n" for _ in range(n))


def extra_conns(b):
    """Connections b accepted beyond its health probes (each probe is a
    connection of its own: Connection: close)."""
    return len(b.conns) - b.probes()


@s.scenario("warm connections to the inactive pool, used after a switch")
def _():
    blue, green, c = warm_cutover(2)
    want = 2 * TEST_WORKERS
    s.ok(green.wait_open_conns(lambda o: len(o) >= want, 5),
         "green's backend sees %d warm connections open (2 per worker)"
         % want, (green.open_conns(), c.status()))
    s.ok(wait_until(lambda: c.status_json()["pools"]["green"]["members"][0]
                    ["idle"] == want, 3),
         "status counts them idle on the inactive pool", c.status())
    rc, out, err = c.ctl("metrics")
    rows = [ln for ln in out.split("\n")
            if ln.startswith("cutover_upstream_connections_idle{") and
            'pool="green"' in ln]
    s.ok(len(rows) == 1 and rows[0].split()[-1] == str(want),
         "metrics count them idle on green", rows)
    s.ok(blue_traffic(c), "more traffic still answers blue")
    s.eq(green.requests, [], "green received no request before the switch")
    before = green.open_conns()
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    r = get(c.port, "/first")
    s.eq(r.body, b"green\n", "the first request after the switch answers "
         "green")
    port = green.peer_of("/first")
    s.ok(port in before, "... on a connection green had open before the "
         "switch (no new connection for it)", (port, before))
    s.ok(blue.wait_open_conns(lambda o: 1 <= len(o) <= want, 10),
         "blue, now inactive, keeps at most warm_idle per worker open",
         blue.open_conns())


@s.scenario("connections busy at a switch are kept for a switch back")
def _():
    # warm_idle = 1: without the 5 s keep, a request ending on the pool
    # just left would close its connection, the worker having one idle
    blue, green, c = warm_cutover(1)

    def blue_idle():
        return c.status_json()["pools"]["blue"]["members"][0]["idle"]

    before = blue_idle()
    slow = [Background(get, c.port, "/delay?ms=1500", timeout=10)
            for _ in range(4)]
    s.ok(blue.wait_request("/delay", 5, count=4),
         "4 slow requests reached blue", c.status())
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green while they wait", out + err)
    t_switch = time.monotonic()
    for b in slow:
        b.join(10)
    s.ok(all(b.result is not None and b.result.body == b"blue\n"
             for b in slow), "the 4 complete with blue",
         [repr(b) for b in slow])
    s.ok(wait_until(lambda: blue_idle() >= before + 4, 2),
         "their 4 connections are kept idle, beyond warm_idle",
         (before, c.status()))
    s.ok(time.monotonic() - t_switch < 4.5, "... within the 5 s keep")
    accepted = extra_conns(blue)
    rc, out, err = c.ctl("switch", "blue")
    s.eq(rc, 0, "switch back to blue", out + err)
    s.ok(all(get(c.port, "/back").body == b"blue\n" for _ in range(4)),
         "requests after the switch back answer blue")
    s.eq(extra_conns(blue), accepted, "blue needed no new connection for "
         "them")


@s.scenario("warm_idle = 0 opens nothing to the inactive pool")
def _():
    blue, green, c = warm_cutover(0)
    # several refills' time (every 500 ms)
    time.sleep(1.5)
    s.ok(extra_conns(green) <= 1,
         "green's backend accepted only its health probes' connections "
         "(one may be announced before its probe)",
         (green.conns, green.probes()))
    s.eq(c.status_json()["pools"]["green"]["members"][0]["idle"], 0,
         "status: no idle connection to green")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    s.eq(get(c.port, "/").body, b"green\n", "green answers after it")
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["members"][0]
                    ["idle"] == 0, 3),
         "idle connections to blue, now inactive, are all closed",
         c.status())


@s.scenario("warm connections: refilled when closed, none to a down member")
def _():
    blue = Backend("blue")
    green = Backend("green", idle_close_ms=300)
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    want = 2 * TEST_WORKERS
    s.ok(wait_until(lambda: extra_conns(green) >= 3 * want, 6),
         "green, closing idle connections after 300 ms, keeps getting "
         "new warm ones", (len(green.conns), green.probes()))
    s.eq(green.requests, [], "green received no request")
    warned = [ln for ln in c.log_text().split("\n")
              if ("warning" in ln or "error" in ln) and green.addr in ln]
    s.eq(warned, [], "no warning or error logged for the closes")
    green.control("code=503")
    s.ok(wait_health(c, "green", green.addr, "down", 5), "green goes down",
         c.status())
    s.ok(green.wait_open_conns(lambda o: len(o) <= 1, 3),
         "its warm connections are gone (a probe may be open)",
         green.open_conns())
    n = extra_conns(green)
    time.sleep(1.5)
    s.ok(extra_conns(green) <= n + 1,
         "a down member gets no new warm connection",
         (n, len(green.conns), green.probes()))
    s.eq(c.status_json()["pools"]["green"]["members"][0]["idle"], 0,
         "status: no idle connection to the down member")


SWITCHES = 100


@s.scenario("%d switches under keep-alive load: no request after a reply "
            "reaches the old pool" % SWITCHES)
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    replies = []            # (time the reply came, pool now active)
    sent = []               # (time the command was sent)
    results = [[] for _ in range(4)]
    done = []

    def client(out):
        raw = RawConn(c.port, timeout=5)
        try:
            for _ in range(5000):      # bounded; ends with the switches
                if done:
                    return
                t0 = time.monotonic()
                r = raw.request("GET", "/ka")
                out.append((t0, time.monotonic(), r.status, r.body))
        except Exception as e:         # reported below
            out.append((time.monotonic(), time.monotonic(), None, repr(e)))
        finally:
            raw.close()

    threads = [Background(client, out) for out in results]
    try:
        pool = "blue"
        for i in range(SWITCHES):
            pool = "green" if pool == "blue" else "blue"
            sent.append(time.monotonic())
            reply = c.admin("switch " + pool)
            t = time.monotonic()
            replies.append((t, pool, reply))
            # a request sent after the reply gets its answer first
            wait_until(lambda: any(out and out[-1][0] >= t
                                   for out in results), 1.0, 0.002)
    finally:
        done.append(True)
        for t in threads:
            t.join(10)
    s.ok(all(r[2].startswith("ok") for r in replies),
         "every switch answered ok",
         [r for r in replies if not r[2].startswith("ok")][:3])
    reqs = sorted(x for out in results for x in out)
    failed = [x for x in reqs if x[2] != 200]
    s.eq(failed, [], "no request failed (%d sent)" % len(reqs))
    # a request sent after reply k and answered before the next command
    # was sent can only have been routed while k's pool was active
    wrong, checked = [], 0
    for k, (t, pool, _) in enumerate(replies):
        end = sent[k + 1] if k + 1 < len(sent) else float("inf")
        for t0, t1, st, body in reqs:
            if t <= t0 and t1 < end:
                checked += 1
                if body != pool.encode() + b"\n":
                    wrong.append((k, pool, t0 - t, body))
    s.eq(wrong, [], "every request sent after a reply (and answered before "
         "the next command) was answered by the pool it made active")
    s.ok(checked >= SWITCHES // 2, "... %d such requests, between %d "
         "switches" % (checked, SWITCHES), len(reqs))


s.done()
