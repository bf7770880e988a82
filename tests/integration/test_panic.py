#!/usr/bin/env python3
"""Panic routing (health.panic): when every member of the active pool in
state ready is down by its health, requests go to those members anyway
instead of 503; the log says so once each way, status, /readyz and the
metrics show it; members in drain or maint are never chosen; a refused
connection takes one member out and the request goes to the next; with
health.panic off the pool answers 503; the switch gate still counts only
members that are up."""

import re

from harness import (Backend, Cutover, Suite, get, health_config,
                     wait_health, wait_until)

s = Suite()

# what the log says when a pool starts and stops routing in panic
PANIC = r"^.*\bpanic: (\w+) has .*$"
OVER = r"^.*\bpanic over: .*$"


def lines(c, regex, since=0):
    return re.findall(regex, c.log_text()[since:], re.M)


def backends_of(c, n):
    """n requests through c: a list of (status, X-Backend)."""
    out = []
    for _ in range(n):
        r = get(c.port, "/", timeout=5)
        out.append((r.status, r.header("X-Backend")))
    return out


def all_down(c, pool, backends, code=500):
    """Makes every backend's health path answer code; waits until each is
    down; returns whether they all are."""
    for b in backends:
        b.set_health(code)
    return all(wait_health(c, pool, b, "down", 5) for b in backends)


def sample(c, name, pool):
    """The value of cutover_<name>{pool="pool"} in `cutoverctl metrics`."""
    rc, out, err = c.ctl("metrics")
    m = re.search(r'^cutover_%s\{pool="%s"\} (\d+)$' % (name, pool), out,
                  re.M)
    return int(m.group(1)) if m else None


def ends_panic(c, args, what, reason):
    """cutoverctl args (what: what it does) ends the active pool's panic:
    logged once with reason, and requests get 503 from then on."""
    mark = c.log_mark()
    rc, out, err = c.ctl(*args)
    s.eq(rc, 0, what, out + err)
    over = lines(c, OVER, mark)
    s.ok(len(over) == 1 and reason in over[0],
         "panic over, logged once: %s" % reason, over)
    s.eq(get(c.port, "/").status, 503, "then 503")


def http_port(c):
    m = re.search(r"admin http: serving 127\.0\.0\.1:(\d+)", c.log_text())
    return int(m.group(1)) if m else None


@s.scenario("every member down by its probes: served anyway, said once")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g],
                extra='admin = { socket = "@DIR@/admin.sock"; '
                      'http = "127.0.0.1:0"; };\n')
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    s.eq(sample(c, "pool_panic", "blue"), 0, "metrics: blue not in panic")
    mark = c.log_mark()
    s.ok(all_down(c, "blue", [b1, b2]),
         "both blue members answer 500 to probes: down", c.status())
    s.ok(c.wait_log(PANIC, 2, since=mark), "the log says panic",
         c.log_tail(10))
    got = backends_of(c, 10)
    s.eq(sorted(got), [(200, "b1")] * 5 + [(200, "b2")] * 5,
         "10 requests: all 200, round robin over both down members", got)
    s.ok(wait_until(lambda: all(c.member("blue", b)["idle"] >= 1
                                for b in (b1, b2)), 2),
         "their connections are kept idle for the next requests in panic, "
         "though their members are down",
         [c.member("blue", b) for b in (b1, b2)])
    p = lines(c, r"^.*\bpanic: .*$", mark)
    s.ok(len(p) == 1 and p[0].endswith(
        "panic: blue has 0 of 2 members up; routing to all 2 anyway "
        "(health.panic)"), "logged once: \"panic: blue has 0 of 2 members "
        "up; routing to all 2 anyway (health.panic)\"", p)
    s.eq([c.member_state("blue", b) for b in (b1, b2)], ["down", "down"],
         "requests routed in panic leave both members down")
    j = c.status_json()
    s.eq((j["pools"]["blue"]["panic"], j["pools"]["green"]["panic"]),
         (True, False), "status json: blue panic true, green false")
    head = c.status_tables()["head"]
    s.contains(head, "panic blue: 0 of 2 members up, routing to 2 anyway "
               "(health.panic)", "status text says so", head)
    s.eq(sample(c, "pool_panic", "blue"), 1, "metrics: pool_panic blue 1")
    s.eq(sample(c, "panic_requests_total", "blue"), 10,
         "metrics: panic_requests_total blue 10")
    r = get(http_port(c), "/readyz")
    s.eq((r.status, r.text), (200, "ready (panic: blue has no member up; "
                                   "routing to 2 anyway)\n"),
         "/readyz: 200, ready in panic (cutover still serves)")
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 0, "switch to green (healthy) is allowed", out + err)
    rc, out, err = c.ctl("switch", "blue")
    s.ok(rc == 1 and "0 of 2" in out + err,
         "switch back to blue (in panic before) is refused: 0 of 2 "
         "healthy", (rc, out, err))
    s.eq(len(lines(c, r"^.*\bpanic over: blue is no longer the active "
                      r"pool$", mark)), 1,
         "switching away ends blue's panic, logged once", c.log_tail(10))
    mark = c.log_mark()
    rc, out, err = c.ctl("switch", "blue", "force")
    s.ok(rc == 0, "switch blue force", out + err)
    s.eq(len(lines(c, r"^.*\bpanic: blue has 0 of 2.*$", mark)), 1,
         "forced back to blue: panic again, logged once", c.log_tail(5))
    got = backends_of(c, 4)
    s.ok(got.count((200, "b2")) == 2 and wait_until(
        lambda: c.member("blue", b2)["idle"] >= 1, 2),
         "in panic again, b2 serves and keeps its connection idle",
         (got, c.member("blue", b2)))

    mark = c.log_mark()
    b1.set_health(200)
    s.ok(wait_health(c, "blue", b1, "up", 5), "b1 healthy again",
         c.status())
    s.ok(c.wait_log(OVER, 2, since=mark), "the log says the panic is over",
         c.log_tail(10))
    over = lines(c, OVER, mark)
    s.ok(len(over) == 1 and "blue has 1 of 2 members usable again" in
         over[0], "... once: \"blue has 1 of 2 members usable again\"", over)
    got = backends_of(c, 6)
    s.eq(got, [(200, "b1")] * 6, "6 requests: all to b1 (b2 still down)")
    s.ok(wait_until(lambda: c.member("blue", b2)["idle"] == 0, 2),
         "the panic over, b2's idle connections are closed (no request "
         "takes them while it is down)", c.member("blue", b2))
    s.eq(c.status_json()["pools"]["blue"]["panic"], False,
         "status json: blue panic false")
    s.eq(sample(c, "pool_panic", "blue"), 0, "metrics: pool_panic blue 0")
    s.eq(sample(c, "panic_requests_total", "blue"), 14,
         "metrics: panic_requests_total still 14")
    s.eq(lines(c, PANIC, mark), [], "no new panic line")


@s.scenario("health.panic = false: 503; a reload turns panic on and off")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    text = lambda panic: (  # noqa: E731
        "pools = { blue = { members = [ \"%s\", \"%s\" ]; };\n"
        "  green = { members = [ \"%s\" ]; }; };\n%s"
        % (b1.addr, b2.addr, g.addr,
           health_config("panic = %s;" % panic)))
    c = Cutover(text("false"))
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    s.ok(all_down(c, "blue", [b1, b2]), "both blue members down",
         c.status())
    got = [st for st, _ in backends_of(c, 4)]
    s.eq(got, [503] * 4, "panic off: 4 requests all 503")
    s.eq(lines(c, r"^.*\bpanic\b.*$"), [], "no panic in the log")
    s.eq(c.status_json()["pools"]["blue"]["panic"], False,
         "status json: blue panic false")
    s.eq(sample(c, "panic_requests_total", "blue"), 0,
         "metrics: panic_requests_total blue 0")

    mark = c.log_mark()
    c.reload_file(text("true"))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload with health.panic = true", out + err)
    s.eq(len(lines(c, PANIC, mark)), 1, "the reload starts the panic, "
         "logged once", c.log_tail(5))
    s.eq(sorted(st for st, _ in backends_of(c, 4)), [200] * 4,
         "4 requests: all 200")

    c.reload_file(text("false"))
    ends_panic(c, ["reload"], "reload with health.panic = false",
               "health.panic is off for blue")


@s.scenario("members in drain or maint are never chosen in panic")
def _():
    b1, b2, b3, g = Backend("b1"), Backend("b2"), Backend("b3"), Backend("g")
    c = Cutover(blue=[b1, b2, b3], green=[g])
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    rc, out, err = c.ctl("member", "blue", b3.addr, "maint")
    s.eq(rc, 0, "b3 in maint", out + err)
    mark = c.log_mark()
    s.ok(all_down(c, "blue", [b1, b2]), "b1 and b2 down", c.status())
    s.ok(c.wait_log(PANIC, 2, since=mark), "panic", c.log_tail(5))
    p = lines(c, r"^.*\bpanic: .*$", mark)
    s.ok(len(p) == 1 and p[0].endswith(
        "panic: blue has 0 of 3 members up; routing to the 2 in state "
        "ready anyway (health.panic)"),
        "the log: 0 of 3 up, routing to the 2 in state ready, once", p)
    n3 = b3.saw("/")
    got = backends_of(c, 8)
    s.eq(sorted(got), [(200, "b1")] * 4 + [(200, "b2")] * 4,
         "8 requests: b1 and b2 only", got)
    s.eq(b3.saw("/"), n3, "not one reached b3 (maint)")

    rc, out, err = c.ctl("member", "blue", b2.addr, "drain")
    s.eq(rc, 0, "b2 in drain", out + err)
    got = backends_of(c, 4)
    s.eq(got, [(200, "b1")] * 4, "4 requests: b1 only (b2 drains)", got)

    ends_panic(c, ["member", "blue", b1.addr, "maint"], "b1 in maint",
               "no member left in state ready")


@s.scenario("in panic, a killed member is passed over for the live one")
def _():
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    s.ok(c.wait_pool_healthy("blue"), "blue is healthy", c.status())
    s.ok(all_down(c, "blue", [b1, b2]), "both down by probes", c.status())
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["panic"], 2),
         "blue in panic")
    b1.stop()
    got = backends_of(c, 10)
    s.eq(got, [(200, "b2")] * 10,
         "10 requests: all 200 from b2, the refusing b1 passed over", got)
    m = c.member("blue", b1)
    s.ok(m["connect_failures"] > 0, "b1's refusals are counted", m)
    s.eq(sample(c, "panic_requests_total", "blue"), 10,
         "each request counted once in panic, retries included")


s.done()
