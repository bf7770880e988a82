#!/usr/bin/env python3
"""Health checking: active probes with rise/fall, passive ejection, routing
around down members, 503 when the active pool has none usable (with
health.panic off; test_panic.py has panic routing), the switch
and rollback gates, member admin states, wait-healthy and wait-drained, the
state file, status fields, health surviving reloads and switches."""

import os
import re
import signal
import time

from harness import (HEALTH_INTERVAL_MS, HEALTH_TIMEOUT_MS, Background,
                     Backend, Cutover, RawConn, Suite, dead_addr, get,
                     health_config, pools_config, wait_health, wait_until)

s = Suite()

FALL, RISE = 3, 2           # the defaults; harness.HEALTH_CONFIG keeps them
INTERVAL = HEALTH_INTERVAL_MS / 1000.0
TIMEOUT = HEALTH_TIMEOUT_MS / 1000.0
SLACK = 1.0                 # scheduling, Python backends, status polling


def backends_of(c, n=20, path="/"):
    """n requests through c: a list of (status, X-Backend)."""
    out = []
    for _ in range(n):
        r = get(c.port, path, timeout=5)
        out.append((r.status, r.header("X-Backend")))
    return out


def timed_ctl(c, *args, timeout=30):
    """c.ctl(args) -> (rc, out, err, elapsed seconds, monotonic end)."""
    t0 = time.monotonic()
    rc, out, err = c.ctl(*args, timeout=timeout)
    t1 = time.monotonic()
    return rc, out, err, t1 - t0, t1


def transition_lines(c, pool, addr, arrow, since=0):
    """Log lines `health: POOL ADDR [state ]<arrow> ...` after offset
    since; arrow e.g. "up -> down", "-> down", "->"."""
    r = re.compile(r"^.*health: %s %s (?:\w+ )?%s.*$" % (
        pool, re.escape(str(addr)), re.escape(arrow)), re.M)
    return r.findall(c.log_text()[since:])


def up_both(c, pool="blue"):
    return s.ok(c.wait_pool_healthy(pool), "every %s member is up" % pool,
                c.admin("status"))


@s.scenario("a member failing its probe is taken out")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    up_both(c)
    mark = c.log_mark()
    t0 = time.monotonic()
    b1.set_health(503)
    down = wait_health(c, "blue", b1, "down", 5)
    el = time.monotonic() - t0
    limit = INTERVAL * FALL + TIMEOUT + SLACK
    s.ok(down and el < limit, "b1 answering 503 is down within "
         "interval*fall+timeout (+slack)", "after %.2f s (limit %.2f)\n%s"
         % (el, limit, "\n".join(c.status())))
    before = b1.saw("/")
    got = backends_of(c, 20)
    s.eq(got, [(200, "b2")] * 20, "20 requests: all 200 from b2")
    s.eq(b1.saw("/"), before, "not one request reached b1 afterwards")
    s.ok(c.wait_log(r"health: blue %s up -> down" % re.escape(b1.addr), 2,
                    since=mark), "the log has the up -> down transition")
    lines = transition_lines(c, "blue", b1, "up -> down", mark)
    s.eq(len(lines), 1, "... logged once", "\n".join(lines))
    s.ok(lines and "3/3" in lines[0] and "503" in lines[0],
         "... with its reason (3/3 failed, 503)", lines)
    m = c.member("blue", b1)
    s.ok(m["fail_streak"] >= FALL and m["ok_streak"] == 0 and
         m["last"] == "503 not expected",
         "status json: fail_streak >= 3, ok_streak 0, last \"503 not "
         "expected\"", m)


@s.scenario("a probe timeout takes a member down")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    up_both(c)
    mark = c.log_mark()
    t0 = time.monotonic()
    b1.set_health(delay_ms=int(TIMEOUT * 1000) + 1500)
    down = wait_health(c, "blue", b1, "down", 8)
    el = time.monotonic() - t0
    limit = FALL * (INTERVAL + TIMEOUT) + SLACK + 0.5
    s.ok(down and el < limit, "b1 answering slower than timeout_ms is down",
         "after %.2f s (limit %.2f)" % (el, limit))
    s.eq(c.member("blue", b1)["last"], "timed out",
         "status json: last \"timed out\"")
    s.ok(transition_lines(c, "blue", b1, "up -> down", mark),
         "the log has the up -> down transition", c.log_tail(10))
    before = b1.saw("/")
    got = backends_of(c, 10)
    s.eq(got, [(200, "b2")] * 10, "10 requests: all 200 from b2")
    s.eq(b1.saw("/"), before, "none reached b1")


@s.scenario("a recovered member returns after rise probes")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    interval = 0.2
    c = Cutover(blue=[b1, b2], green=[g],
                extra='health = { path = "/healthz"; interval_ms = 200; '
                      'timeout_ms = 500; rise = 3; fall = 2; };\n')
    up_both(c)
    mark = c.log_mark()
    b1.set_health(503)
    s.ok(wait_health(c, "blue", b1, "down", 2 * interval + 0.5 + SLACK),
         "b1 is down (fall = 2)", c.status())
    lines = transition_lines(c, "blue", b1, "up -> down", mark)
    s.ok(lines and "2/2" in lines[0], "the log says 2/2 failed (fall = 2)",
         lines)

    mark = c.log_mark()
    t0 = time.monotonic()
    b1.set_health(200)
    n0 = b1.probes()
    s.ok(b1.wait_probes(n0 + 1, 2), "a probe after the recovery arrives")
    s.eq(c.member_state("blue", b1), "down",
         "after one good probe b1 is still down (rise = 3)")
    up = wait_health(c, "blue", b1, "up", 3 * interval + 0.5 + SLACK)
    el = time.monotonic() - t0
    s.ok(up and el >= 2 * interval - 0.05,
         "b1 is up again after 3 good probes, not sooner",
         "after %.2f s" % el)
    m = c.member("blue", b1)
    s.ok(m["ok_streak"] >= 3 and m["fail_streak"] == 0 and
         m["last"] == "200", "status json: ok_streak >= 3, last 200", m)
    s.ok(c.wait_log(r"health: blue %s down -> up" % re.escape(b1.addr), 2,
                    since=mark), "the log has the down -> up transition")
    before = b1.saw("/")
    got = backends_of(c, 20)
    s.eq(sorted(got), [(200, "b1")] * 10 + [(200, "b2")] * 10,
         "20 requests split 10/10 again")
    # b1's line about a request may reach the reader thread after the
    # response reaches the client
    wait_until(lambda: b1.saw("/") - before >= 10, 2)
    s.eq(b1.saw("/") - before, 10, "b1 saw its 10")


def kill_sigkill(b):
    """The member's process is killed: the kernel closes its sockets (an
    RST where unread bytes wait) and its port refuses."""
    os.kill(b.proc.pid, signal.SIGKILL)
    b.proc.wait(5)


def kill_reset(b):
    """The member resets every connection before a byte of its answer,
    probes included."""
    b.fail("reset")


for how, kill in (("SIGKILL", kill_sigkill), ("resetting", kill_reset)):
    @s.scenario("a killed member (%s) costs no failed request" % how)
    def _(kill=kill):
        b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
        c = Cutover(blue=[b1, b2], green=[g])
        up_both(c)
        mark = c.log_mark()
        results = []

        def traffic():
            t_end = time.monotonic() + 5.0
            for _ in range(200):
                if time.monotonic() > t_end:
                    break
                t = time.monotonic()
                try:
                    r = get(c.port, "/", timeout=5)
                    results.append((t, r.status, r.header("X-Backend")))
                except Exception as e:     # a failed request is reported
                    results.append((t, repr(e), None))

        bg = Background(traffic)
        s.ok(wait_until(lambda: len(results) >= 20, 5),
             "traffic is flowing before the kill")
        kill(b1)
        # b1 answers nothing from here on: no request begun after this
        # instant is exempt
        t_kill = time.monotonic()
        bg.join(15)
        after = [r for r in results if r[0] > t_kill]
        bad = [r for r in results if r[1] != 200]
        s.eq(bad, [], "every request across the kill answered 200 (%d "
             "requests)" % len(results))
        s.ok(len(after) >= 20, "requests went on after the kill",
             "%d after" % len(after))
        s.eq([r for r in after if r[2] != "b2"], [],
             "every request begun after the kill was answered by b2")
        s.ok(wait_health(c, "blue", b1, "down", 2), "status shows b1 down",
             c.status())
        text = c.log_text()[mark:]
        lines = transition_lines(c, "blue", b1, "-> down", mark)
        s.ok(len(lines) == 1 and "passive" in lines[0],
             "the log says b1 went down passively, once", text[-2000:])


@s.scenario("a member killed mid-response: the response is cut, the "
            "member goes down, the other serves")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    up_both(c)
    mark = c.log_mark()
    raw = RawConn(c.port)
    raw.send(b"GET /kill?bytes=100 HTTP/1.1\r\nHost: t\r\n\r\n")
    got = raw.response_or_error()
    # backend.py sent the head (Content-Length 200) and 100 bytes, then
    # SIGKILLed itself: cutover cannot finish the response, nor send the
    # request again once its answer has begun
    s.ok(isinstance(got, EOFError) and raw.partial == bytes(range(100)),
         "the client gets the head and the 100 bytes sent, then the "
         "connection closes", (got, raw.partial[:20]))
    dead = [b for b in (b1, b2) if wait_until(
        lambda b=b: b.proc.poll() is not None, 0.5)]
    s.eq(len(dead), 1, "the member that took it is gone")
    if len(dead) != 1:
        return
    dead, live = dead[0], (b2 if dead[0] is b1 else b1)
    s.eq(dead.proc.returncode, -signal.SIGKILL, "... by SIGKILL")
    s.ok(c.wait_log(r"blue %s: closed the connection mid-response"
                    % re.escape(dead.addr), 2, since=mark),
         "the log says the member closed mid-response", c.log_tail())
    s.eq(live.saw("/kill"), 0, "the request was not sent again")
    s.ok(wait_health(c, "blue", dead, "down", 5), "the dead member is down",
         c.status())
    got = backends_of(c, 10)
    s.eq(got, [(200, live.name)] * 10, "10 requests: all 200 from the "
         "other member")


@s.scenario("a member that accepts and never answers: 504 after "
            "upstream_ms, never sent again; probes take it down")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g],
                extra="timeouts = { upstream_ms = 1000; };\n")
    up_both(c)
    b1.fail("hang")
    mark = c.log_mark()
    # round robin: one of the first requests goes to b1
    got = []
    for i in range(4):
        r = get(c.port, "/hang-%d" % i, timeout=10)
        got.append((i, r.status, r.header("X-Backend")))
        if r.status == 504:
            break
    held = [i for i, st, _ in got if st == 504]
    s.ok(len(held) == 1 and all(x[1:] == (200, "b2") for x in got[:-1]),
         "b2 answers 200 until a request goes to b1, which gets 504",
         got)
    s.ok(held and b2.saw("/hang-%d" % held[0]) == 0,
         "the 504 was not sent again to b2")
    s.ok(c.wait_log(r"blue %s: no answer within timeouts.upstream_ms"
                    % re.escape(b1.addr), 2, since=mark),
         "the log says b1 did not answer in time", c.log_tail())
    s.ok(wait_health(c, "blue", b1, "down",
                     FALL * (INTERVAL + TIMEOUT) + SLACK + 1),
         "b1's probes time out: it goes down", c.status())
    s.eq(backends_of(c, 10), [(200, "b2")] * 10, "then b2 answers "
         "everything")


@s.scenario("the active pool with no usable member answers 503 (no panic)")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g],
                extra=health_config("panic = false;"))
    up_both(c)
    b1.set_health(503)
    b2.set_health(503)
    s.ok(wait_health(c, "blue", b1, "down", 3) and
         wait_health(c, "blue", b2, "down", 3), "both blue members down",
         c.status())
    g0 = g.saw("/")
    raw = RawConn(c.port, timeout=5)
    r = raw.request("GET", "/")
    s.eq(r.status, 503, "GET answers 503")
    s.eq(r.header("Retry-After"), "1", "503 carries Retry-After: 1", r)
    s.eq((r.header("Connection") or "").lower(), "close",
         "503 carries Connection: close", r)
    s.ok(raw.closed(3.0), "connection closed after the 503")
    raw.close()
    got = [st for st, _ in backends_of(c, 5)]
    s.eq(got, [503] * 5, "5 more requests: all 503")
    s.eq(g.saw("/"), g0, "no request fell over to green")
    s.eq(c.status_json()["pools"]["blue"]["healthy"], 0,
         "status json: blue healthy 0")
    s.eq([(p["POOL"], p["MEMBERS"], p["HEALTHY"])
          for p in c.status_tables()["pools"]][0], ("blue (active)", "2", "0"),
         "status table: blue (active), 2 members, healthy 0", c.status())


@s.scenario("start-up: unknown members serve at once; one failure is down")
def _():
    b, g = Backend("b"), Backend("g")
    b.set_health(delay_ms=8000)
    g.set_health(delay_ms=8000)
    t0 = time.monotonic()
    c = Cutover(blue=[b], green=[g],
                extra='health = { path = "/healthz"; interval_ms = 100; '
                      'timeout_ms = 1500; panic = false; };\n')
    s.ok(b.wait_probes(1, 1.0) and g.wait_probes(1, 1.0),
         "the first probe of each member comes at once",
         "%.2f s after start" % (time.monotonic() - t0))
    m = c.member("blue", b)
    s.ok(m["health"] == "unknown" and m["last"] == "none yet",
         "status json: health unknown, last \"none yet\"", m)
    r = get(c.port, "/")
    s.eq((r.status, r.body), (200, b"b\n"), "an unknown member serves")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "switch to green (unknown) is refused", out + err)
    s.contains(out + err, "0 of 1", "... green has 0 of 1 healthy")
    el = time.monotonic() - t0
    s.ok(el < 1.5, "(those checks ran before the first probe timed out)",
         "%.2f s" % el)
    s.ok(wait_health(c, "blue", b, "down", 4), "one timed-out probe: down",
         c.status())
    r = get(c.port, "/")
    s.eq(r.status, 503, "then blue has no usable member: 503")


@s.scenario("probe requests, per-pool overrides, expect")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(
        'active = "blue";\n'
        'pools = {\n'
        '  blue = { members = [ "%s" ]; };\n'
        '  green = { members = [ "%s" ];\n'
        '            health = { path = "/ready"; host = "green.example";\n'
        '                       expect = "200,503"; }; };\n'
        '};\n' % (b.addr, g.addr))
    up_both(c)
    up_both(c, "green")
    head = b.last_probe() or ""
    lines = [l.lower() for l in head.split("\n")]
    s.eq(lines[0] if lines else None, "get /healthz http/1.1",
         "probe request line: GET /healthz HTTP/1.1", head)
    s.contains(lines, "host: %s" % b.addr, "Host: the member's address",
               head)
    s.contains(lines, "user-agent: cutover-health",
               "User-Agent: cutover-health", head)
    s.contains(lines, "connection: close", "Connection: close", head)
    s.eq(b.saw("/"), 0, "probes are not counted as requests")

    s.ok(g.probes() > 0 and g.probes("/ready") == g.probes(),
         "the standby pool is probed too, on its own path /ready",
         g.probe_paths[:5])
    head = g.last_probe() or ""
    s.contains(head.lower().split("\n"), "host: green.example",
               "the pool's host is used", head)
    g.set_health(503)
    n0 = g.probes()
    s.ok(g.wait_probes(n0 + FALL + 2, 3), "green keeps being probed")
    m = c.member("green", g)
    s.ok(m["health"] == "up" and m["last"].startswith("503"),
         "503 is expected for green: still up, last 503", m)


@s.scenario("switch gate: min_healthy")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g])
    g.set_health(503)
    s.ok(wait_health(c, "green", g, "down", 3), "green's only member down",
         c.status())
    mark = c.log_mark()
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "cutoverctl switch green exits 1", out + err)
    s.contains(out + err, "0 of 1", "the message says 0 of 1")
    s.contains(out + err, "min_healthy", "the message names min_healthy")
    r = c.admin("switch green")
    s.match(r"^error: refused: green has 0 of 1 members healthy; "
            r"switch\.min_healthy requires 1", r, "the admin reply's words")
    s.eq(get(c.port, "/").body, b"b\n", "traffic still goes to blue")
    s.eq(c.active(), "blue", "status: active blue")

    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 0, "switch green force exits 0", out + err)
    s.eq(c.active(), "green", "status: active green")
    before = b.saw("/")
    r = get(c.port, "/")
    s.eq((r.status, r.body), (200, b"g\n"), "green has no usable member: "
         "routed to it in panic (health.panic), no fall-over to blue")
    s.eq(b.saw("/"), before, "blue got nothing")
    s.ok(c.wait_log(r"info: switch \(forced\): ", 2, since=mark),
         "the log says the switch was forced", c.log_tail(5))
    g.set_health(200)
    s.ok(wait_health(c, "green", g, "up", 3), "green recovers", c.status())
    s.eq(get(c.port, "/").body, b"g\n", "traffic goes to green")
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 0 and "already active" in out + err,
         "switch green while green is active: ok, \"already active\"",
         (rc, out, err))

    # a pool of two with one down: a count and a percentage (blue has two
    # as well: a count above either pool's size is a configuration error)
    g1, g2, b2 = Backend("g1"), Backend("g2"), Backend("b2")
    pools = pools_config([b, b2], [g1, g2], "blue")
    c = Cutover(pools)
    up_both(c, "blue")
    up_both(c, "green")
    g2.set_health(503)
    s.ok(wait_health(c, "green", g2, "down", 3), "g2 down", c.status())
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 1 and "1 of 2" in out + err and "requires 2" in out + err,
         "default min_healthy (all): switch refused, 1 of 2, requires 2",
         (rc, out, err))
    for setting, allowed in (('"50%"', True), ("1", True), ("2", False),
                             ('"100%"', False), ('"51%"', False)):
        c.reload_file(pools + "switch = { min_healthy = %s; };\n" % setting)
        rc, out, err = c.ctl("reload")
        s.eq(rc, 0, "reload with min_healthy = %s" % setting, out + err)
        rc, out, err = c.ctl("switch", "green")
        if allowed:
            s.ok(rc == 0 and c.active() == "green",
                 "min_healthy = %s: switch allowed" % setting, out + err)
            rc, out, err = c.ctl("rollback")
            s.ok(rc == 0 and c.active() == "blue", "rollback to blue",
                 out + err)
        else:
            s.ok(rc == 1 and c.active() == "blue" and "1 of 2" in out + err,
                 "min_healthy = %s: switch refused" % setting, out + err)

    # only members up AND ready count
    c.reload_file(pools)
    rc, out, err = c.ctl("reload")
    g2.set_health(200)
    s.ok(wait_health(c, "green", g2, "up", 3), "g2 up again", c.status())
    rc, out, err = c.ctl("member", "green", g2.addr, "drain")
    s.eq(rc, 0, "drain g2", out + err)
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 1 and "1 of 2" in out + err,
         "a drained member does not count: switch refused, 1 of 2",
         (rc, out, err))


@s.scenario("rollback gate")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g])
    up_both(c, "green")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    b.set_health(503)
    s.ok(wait_health(c, "blue", b, "down", 3), "blue's member down",
         c.status())
    mark = c.log_mark()
    rc, out, err = c.ctl("rollback")
    s.eq(rc, 1, "rollback to an unhealthy blue exits 1", out + err)
    s.ok("blue" in out + err and "0 of 1" in out + err and
         "min_healthy" in out + err,
         "the message names blue, 0 of 1, min_healthy", out + err)
    s.eq(get(c.port, "/").body, b"g\n", "traffic still goes to green")
    rc, out, err = c.ctl("rollback", "force")
    s.eq(rc, 0, "rollback force exits 0", out + err)
    s.eq(c.active(), "blue", "status: active blue")
    s.ok(c.wait_log(r"info: rollback \(forced\): ", 2, since=mark),
         "the log says the rollback was forced", c.log_tail(5))
    b.set_health(200)
    s.ok(wait_health(c, "blue", b, "up", 3), "blue recovers")
    s.eq(get(c.port, "/").body, b"b\n", "traffic goes to blue")


def slow_on_b1(ms):
    """Blue members b1 and b2 up behind a new cutover c, and slow requests
    (/delay?ms=ms) started through it until one is in flight on b1 (round
    robin: at most a few tries); returns b1, b2, c and those requests (as
    Backgrounds)."""
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    up_both(c)
    slows = []
    for _ in range(4):
        slows.append(Background(get, c.port, "/delay?ms=%d" % ms,
                                timeout=10))
        wait_until(lambda: b1.saw("/delay") + b2.saw("/delay") >=
                   len(slows), 3)
        if b1.saw("/delay"):
            break
    s.ok(b1.saw("/delay") == 1, "a slow request is in flight on b1",
         (b1.requests, b2.requests))
    return b1, b2, c, slows


@s.scenario("member admin states: drain, maint, ready")
def _():
    b1, b2, c, slows = slow_on_b1(1500)
    rc, out, err = c.ctl("member", "blue", b1.addr, "drain")
    s.eq(rc, 0, "member blue B1 drain exits 0", out + err)
    s.contains(out, "blue %s: ready -> drain" % b1.addr,
               "the reply says ready -> drain")
    s.eq(c.member("blue", b1)["admin"], "drain", "status json: admin drain")
    s.eq([m["ADMIN"] for m in c.status_tables()["members"]
          if m["MEMBER"] == b1.addr], ["drain"], "status table: admin drain",
         c.status())
    before = b1.saw("/")
    got = backends_of(c, 10)
    s.eq(got, [(200, "b2")] * 10, "10 new requests all go to b2")
    s.eq(b1.saw("/"), before, "none reached b1")
    for bg in slows:
        bg.join(10)
    on_b1 = [bg.result for bg in slows
             if bg.result is not None and bg.result.body == b"b1\n"]
    s.ok(len(on_b1) == 1 and on_b1[0].status == 200,
         "the in-flight request on the drained b1 finished with 200", slows)
    port = b1.peer_of("/delay")
    s.ok(wait_until(lambda: c.member("blue", b1)["idle"] == 0, 2) and
         b1.wait_open_conns(lambda o: port not in o, 3),
         "its connection is closed as it ends, not kept idle to a drained "
         "member", (c.member("blue", b1), port, b1.open_conns()))
    n0 = b1.probes()
    s.ok(b1.wait_probes(n0 + 2, 2), "a drained member is still probed")

    rc, out, err = c.ctl("member", "blue", b1.addr, "maint")
    s.ok(rc == 0 and "drain -> maint" in out, "maint: drain -> maint",
         (rc, out, err))
    time.sleep(TIMEOUT + 0.2)     # a probe in progress may still land
    n0 = b1.probes()
    time.sleep(10 * INTERVAL)
    s.eq(b1.probes(), n0, "no probe reaches a member in maint (over 10 "
         "intervals)")
    s.eq(c.member("blue", b1)["admin"], "maint", "status json: admin maint")
    got = backends_of(c, 6)
    s.eq(got, [(200, "b2")] * 6, "no request goes to a member in maint")

    rc, out, err = c.ctl("member", "blue", b1.addr, "ready")
    s.ok(rc == 0 and "maint -> ready" in out, "ready: maint -> ready",
         (rc, out, err))
    s.ok(b1.wait_probes(n0 + 1, 2), "probes resume")
    s.ok(wait_until(lambda: any(n == "b1" for _, n in backends_of(c, 4)), 3),
         "requests reach b1 again")

    rc, out, err = c.ctl("member", "blue", "127.0.0.1:1", "drain")
    s.ok(rc == 2 and "127.0.0.1:1" in out + err,
         "an unknown member: exit 2 (usage), the error names it",
         (rc, out, err))
    rc, out, err = c.ctl("member", "purple", b1.addr, "drain")
    s.ok(rc == 2 and "purple" in out + err,
         "an unknown pool: exit 2 (usage), the error names it",
         (rc, out, err))
    rc, out, err = c.ctl("member", "blue", b1.addr, "sleep")
    s.ok(rc == 2 and c.member("blue", b1)["admin"] == "ready",
         "an unknown state: exit 2 (usage), nothing changes", (rc, out, err))

    rc, out, err = c.ctl("member", "blue", b1.addr, "drain")
    s.eq(rc, 0, "drain b1 again", out + err)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload of the unchanged file", out + err)
    s.eq(c.member("blue", b1)["admin"], "drain",
         "the admin state survives the reload")
    s.eq(backends_of(c, 6), [(200, "b2")] * 6,
         "and b1 still gets no requests")


@s.scenario("a member its probes take down keeps no idle connection")
def _():
    b1, b2, c, slows = slow_on_b1(2500)
    port = b1.peer_of("/delay")
    b1.set_health(500)
    s.ok(wait_health(c, "blue", b1, "down", 5), "b1 is down",
         c.status())
    for bg in slows:
        bg.join(10)
    s.ok(any(bg.result is not None and bg.result.body == b"b1\n"
             for bg in slows), "the request on b1 still ends with 200",
         slows)
    s.ok(wait_until(lambda: c.member("blue", b1)["idle"] == 0, 2) and
         b1.wait_open_conns(lambda o: port not in o, 3),
         "its connection is closed as it ends, not kept idle to a member "
         "that is down", (c.member("blue", b1), port, b1.open_conns()))
    b1.set_health(200)
    s.ok(wait_health(c, "blue", b1, "up", 5), "b1 is up again")
    s.ok(wait_until(lambda: any(n == "b1" for _, n in backends_of(c, 4)), 3),
         "and gets requests")


@s.scenario("wait-healthy")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g])
    up_both(c)
    rc, out, err, el, _ = timed_ctl(c, "wait-healthy", "blue", "5")
    s.ok(rc == 0 and el < 1.0, "a healthy pool: ok at once",
         (rc, out, err, el))
    s.contains(out, "blue: 1 of 1 members healthy",
               "... body \"blue: 1 of 1 members healthy\"")

    g.set_health(503)
    s.ok(wait_health(c, "green", g, "down", 3), "green's member down")
    bg = Background(timed_ctl, c, "wait-healthy", "green", "5")
    time.sleep(0.5)
    s.ok(bg.result is None, "wait-healthy green is still waiting after "
         "0.5 s", bg)
    t_flip = time.monotonic()
    g.set_health(200)
    bg.join(10)
    rc, out, err, el, t_end = bg.result or (None, "", "", 0, 0)
    s.eq(rc, 0, "it returns ok once green is healthy", bg)
    s.contains(out, "green: 1 of 1 members healthy",
               "... body \"green: 1 of 1 members healthy\"")
    s.ok(t_flip < t_end < t_flip + RISE * INTERVAL + SLACK + 0.5 and el < 5,
         "... soon after the member recovered, before its timeout",
         "%.2f s after the flip, %.2f s in all" % (t_end - t_flip, el))

    g.set_health(503)
    s.ok(wait_health(c, "green", g, "down", 3), "green's member down again")
    rc, out, err, el, _ = timed_ctl(c, "wait-healthy", "green", "1")
    s.eq(rc, 3, "wait-healthy green 1 with a failing member exits 3",
         out + err)
    s.ok(0.9 <= el <= 3.0, "... after about 1 s", "%.2f s" % el)
    s.contains(out + err, "timeout: after 1 s", "the message says timeout")
    s.contains(out + err, "0 of 1", "... and 0 of 1 healthy")
    rc, out, err, el, _ = timed_ctl(c, "wait-healthy", "purple", "1")
    s.ok(rc == 2 and "purple" in out + err, "an unknown pool: exit 2",
         (rc, out, err))


@s.scenario("wait-drained")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g])
    up_both(c, "green")
    rc, out, err, el, _ = timed_ctl(c, "wait-drained", "blue", "1")
    s.ok(rc == 1 and el < 1.0,
         "wait-drained of the active pool: exit 1 at once",
         (rc, out, err, el))
    s.contains(out + err, "blue is the active pool",
               "... \"blue is the active pool\"")
    rc, out, err, el, _ = timed_ctl(c, "wait-drained", "green", "1")
    s.ok(rc == 0 and el < 1.0 and "green: drained" in out,
         "a standby pool with nothing in flight: \"green: drained\" at once",
         (rc, out, err, el))

    done = {}

    def slow():
        r = get(c.port, "/delay?ms=1500", timeout=10)
        done["t"] = time.monotonic()
        return r

    t_start = time.monotonic()
    req = Background(slow)
    s.ok(b.wait_request("/delay", 5), "a slow request is in flight on blue")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    w = Background(timed_ctl, c, "wait-drained", "blue", "10")
    req.join(10)
    w.join(15)
    rc, out, err, el, t_end = w.result or (None, "", "", 0, 0)
    s.ok(rc == 0 and "blue: drained" in out,
         "wait-drained blue 10 exits 0, \"blue: drained\"", w)
    s.ok(req.result is not None and req.result.status == 200,
         "the slow request completed", req)
    s.ok("t" in done and t_end >= done["t"] - 0.05 and
         t_end >= t_start + 1.4,
         "wait-drained returned only after the slow request completed",
         "request done %.2f s, wait-drained done %.2f s after start" %
         (done.get("t", 0) - t_start, t_end - t_start))
    rc, out, err, el, _ = timed_ctl(c, "wait-drained", "blue", "5")
    s.ok(rc == 0 and el < 1.0, "nothing in flight: ok at once",
         (rc, out, err, el))

    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "rollback to blue", out + err)
    req = Background(get, c.port, "/delay?ms=3000", timeout=10)
    s.ok(b.wait_request("/delay", 5, count=2), "a 3 s request on blue")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    rc, out, err, el, _ = timed_ctl(c, "wait-drained", "blue", "1")
    s.eq(rc, 3, "wait-drained blue 1 with it in flight exits 3", out + err)
    s.ok(0.9 <= el <= 3.0, "... after about 1 s", "%.2f s" % el)
    s.contains(out + err, "timeout: after 1 s", "the message says timeout")
    s.contains(out + err, "1 request(s) in flight",
               "... and 1 request(s) in flight")
    for arg in ("x", "86401", "-1"):
        rc, out, err = c.ctl("wait-drained", "blue", arg)
        s.ok(rc == 2 and "usage: wait-drained" in err,
             "wait-drained blue %s is a usage error (exit 2)" % arg,
             (rc, out, err))
    req.join(10)


@s.scenario("state file")
def _():
    b, g = Backend("b"), Backend("g")
    c1 = Cutover(blue=[b], green=[g], extra='state_file = "@DIR@/active";\n')
    path = os.path.join(c1.dir, "active")
    s.ok(c1.wait_log(r"active pool blue \(from configuration: no state "
                     r"file %s yet\)" % re.escape(path), 2),
         "first start: the configuration decides, the log says so",
         c1.log_tail(5))
    up_both(c1, "green")
    rc, out, err = c1.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    try:
        with open(path) as f:
            content = f.read()
    except OSError as e:
        content = repr(e)
    s.ok(content == "green\ngeneration 0\n", "the state file says green "
         "(and release generation 0)",
         repr(content))
    ino = os.stat(path).st_ino
    up_both(c1, "blue")
    rc, out, err = c1.ctl("rollback")
    s.eq(rc, 0, "rollback", out + err)
    with open(path) as f:
        s.eq(f.read(), "blue\ngeneration 0\n", "the rollback wrote the "
             "state file: blue")
    s.ok(os.stat(path).st_ino != ino, "the file was replaced whole (a new "
         "inode, renamed over the old one), not rewritten in place")
    s.eq(sorted(os.listdir(c1.dir)), sorted(["active", "admin.sock",
                                             "cutover.conf", "cutover.log"]),
         "no temporary file is left beside it")
    rc, out, err = c1.ctl("switch", "green")
    s.eq(rc, 0, "switch green again", out + err)
    s.eq(c1.stop(), 0, "stop the first cutover")

    extra = 'state_file = "%s";\n' % path
    c2 = Cutover(blue=[b], green=[g], extra=extra)
    s.ok(c2.wait_log(r"active pool green \(from state file %s, generation "
                     r"0\)" % re.escape(path), 2),
         "restart: the state file decides (active = \"blue\" in the config)",
         c2.log_tail(5))
    s.eq(c2.active(), "green", "status: active green")
    s.eq(get(c2.port, "/").body, b"g\n", "traffic goes to green")
    up_both(c2, "blue")
    rc, out, err = c2.ctl("switch", "blue")
    s.eq(rc, 0, "switch blue", out + err)
    with open(path) as f:
        s.ok(f.read() == "blue\ngeneration 0\n", "the state file says blue")
    s.eq(c2.stop(), 0, "stop the second cutover")

    with open(path, "w") as f:
        f.write("purple\n")
    c3 = Cutover(blue=[b], green=[g], extra=extra, active="green")
    s.ok(c3.wait_log(r"error: state file %s: .*not trusted"
                     % re.escape(path), 2),
         "a corrupt state file is reported as not trusted", c3.log_tail(5))
    s.eq(c3.active(), "green", "the configuration's pool (green) is active")
    s.eq(get(c3.port, "/").body, b"g\n", "traffic goes to green")
    s.eq(c3.stop(), 0, "stop the third cutover")

    # a state file that cannot be written refuses the switch
    c4 = Cutover(blue=[b], green=[g],
                 extra='state_file = "@DIR@/state/active";\n', start=False)
    os.mkdir(os.path.join(c4.dir, "state"))
    c4.start()
    os.rmdir(os.path.join(c4.dir, "state"))
    up_both(c4, "green")
    rc, out, err = c4.ctl("switch", "green")
    s.ok(rc == 1 and os.path.join(c4.dir, "state", "active") in out + err,
         "a state file that cannot be written: switch refused, the error "
         "names the file", (rc, out, err))
    s.eq(c4.active(), "blue", "nothing changed")
    s.eq(get(c4.port, "/").body, b"b\n", "traffic still goes to blue")


@s.scenario("status shows health")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    dead = dead_addr()
    c = Cutover(blue=[b1, b2, dead], green=[g])
    b2.set_health(503)
    s.ok(wait_health(c, "blue", b1, "up", 3) and
         wait_health(c, "blue", b2, "down", 3) and
         wait_health(c, "blue", dead, "down", 3) and
         wait_health(c, "green", g, "up", 3),
         "b1 up, b2 down, the dead member down, green up", c.status())
    # what the text lines said, now through status json
    ms = {m["addr"]: m for m in c.status_json()["pools"]["blue"]["members"]}
    m = ms[b1.addr]
    s.ok(m["inflight"] == 0 and m["health"] == "up" and
         m["admin"] == "ready" and m["fail_streak"] == 0 and
         m["last"] == "200", "json: b1 inflight 0, health up, admin ready, "
         "fail_streak 0, last 200", m)
    m = ms[b2.addr]
    s.ok(m["health"] == "down" and m["admin"] == "ready" and
         m["ok_streak"] == 0 and m["last"] == "503 not expected",
         "json: b2 health down, admin ready, ok_streak 0, last 503 not "
         "expected", m)
    m = ms[dead]
    s.ok(m["health"] == "down" and m["admin"] == "ready" and
         m["ok_streak"] == 0 and m["last"] == "connection refused",
         "json: the dead member: health down, last connection refused", m)
    j = c.status_json()
    s.eq([(p, j["pools"][p]["active"], len(j["pools"][p]["members"]),
           j["pools"][p]["inflight"], j["pools"][p]["tunnels"])
          for p in ("blue", "green")],
         [("blue", True, 3, 0, 0), ("green", False, 1, 0, 0)],
         "json: blue active with 3 members, green standby with 1", j)
    j = c.status_json()
    s.eq(j["pools"]["blue"].get("healthy"), 1, "json: blue healthy 1")
    s.eq(j["pools"]["green"].get("healthy"), 1, "json: green healthy 1")
    m = c.member("blue", b1)
    s.ok(m.get("health") == "up" and m.get("admin") == "ready" and
         isinstance(m.get("ok_streak"), int) and m["ok_streak"] >= RISE and
         m.get("fail_streak") == 0 and
         isinstance(m.get("latency_ms"), (int, float)) and
         m.get("last") == "200",
         "json: b1 health, admin, ok_streak, fail_streak, latency_ms, last",
         m)
    m = c.member("blue", dead)
    s.eq(m.get("health"), "down", "json: the dead member is down", m)
    s.eq(m.get("last"), "connection refused",
         "json: the dead member: last \"connection refused\"", m)


@s.scenario("health survives reloads and switches")
def _():
    b1, b2, b3, g = Backend("b1"), Backend("b2"), Backend("b3"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    up_both(c)
    up_both(c, "green")
    b2.set_health(503)
    s.ok(wait_health(c, "blue", b2, "down", 3), "b2 down", c.status())
    mark = c.log_mark()
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload of the unchanged file", out + err)
    states = set()
    t_end = time.monotonic() + 0.5
    for _ in range(100):
        if time.monotonic() > t_end:
            break
        states.add((c.member_state("blue", b1), c.member_state("blue", b2)))
        time.sleep(0.02)
    s.eq(states, {("up", "down")}, "right after the reload b1 stays up and "
         "b2 stays down (no reset to unknown)")
    s.eq(backends_of(c, 6), [(200, "b1")] * 6, "b2 gets no requests")
    s.eq(transition_lines(c, "blue", b2, "->", mark), [],
         "no health transition of b2 logged by the reload")

    c.reload_file(pools_config([b1, b2, b3], [g], "blue"))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload adding b3", out + err)
    s.eq(c.member_state("blue", b2), "down", "b2 is still down")
    s.ok(b3.wait_probes(1, 1.0), "the added member is probed at once")
    s.ok(wait_health(c, "blue", b3, "up", 3), "b3 comes up", c.status())

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    s.eq((c.member_state("blue", b1), c.member_state("blue", b2),
          c.member_state("green", g)), ("up", "down", "up"),
         "a switch resets no health state")


s.done()
