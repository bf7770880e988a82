#!/usr/bin/env python3
"""`status` for people: a few lines, then aligned tables of the workers,
the pools (the active one marked) and the members (address, health,
admin, in flight, requests, latency, last probe); `status json` keeps
every field for tools."""

import os
import re

from harness import (SRCDIR, Backend, Cutover, Suite, dead_addr, get,
                     has_ipv6, parse_status, wait_health)

s = Suite()

JSON_TOP = {"version", "pid", "uptime_s", "workers", "active", "generation",
            "previous", "shift", "listen", "connections_open", "connections_total",
            "requests_total", "responses_total", "errors_total",
            "upstream_failures_total", "descriptors", "stopping", "ready",
            "per_worker",
            "reload", "last_change", "release", "scheduled",
            "scheduled_last", "config", "pools", "guard"}
JSON_CHANGE = {"action", "from", "to", "forced", "at", "generation", "by",
               "uid", "pid"}
JSON_POOL = {"active", "healthy", "inflight", "tunnels", "members", "dns",
             "panic"}
JSON_MEMBER = {"addr", "inflight", "requests", "idle", "connect_failures",
               "health", "admin", "ok_streak", "fail_streak", "latency_ms",
               "last"}


@s.scenario("the status table, field by field")
def _():
    b1 = Backend("b1")
    b2 = Backend("b2", host="::1") if has_ipv6() else Backend("b2")
    g = Backend("g")
    dead = dead_addr()
    c = Cutover(blue=[b1, b2], green=[g, dead])
    s.ok(wait_health(c, "blue", b1, "up", 3) and
         wait_health(c, "blue", b2, "up", 3) and
         wait_health(c, "green", dead, "down", 3),
         "b1, b2 up; green's dead member down", c.status())
    rc, out, err = c.ctl("member", "blue", b2.addr, "maint")
    s.eq(rc, 0, "b2 goes into maint", out + err)
    s.eq(get(c.port, "/").status, 200, "a request is served")

    rc, out, err = c.ctl("status")
    s.eq(rc, 0, "cutoverctl status exits 0", err)
    lines = out.rstrip("\n").split("\n")
    s.ok("\x1b" not in out, "no escape sequence (no colour)", out)
    s.ok(all(l == l.rstrip() for l in lines), "no trailing blanks", out)
    s.ok(all(len(l) < 100 for l in lines if b2.addr not in l),
         "lines under 100 columns (IPv4 members)", out)
    t = parse_status(lines)
    s.eq(t["misaligned"], [], "every cell starts (or ends, numbers) under "
         "its heading", out)
    s.ok(t["head"][0].startswith("cutover 0.1.0  pid ") and
         t["head"][0].endswith("  ready"), "first line: version, pid, ready",
         t["head"])
    s.eq(t["head"][1], "active blue  generation 1  previous none",
         "active, generation, previous", t["head"])
    s.eq(t["head"][2], "listen 127.0.0.1:%d" % c.port, "listen", t["head"])
    s.ok(t["head"][3].startswith("connections ") and
         t["head"][4].startswith("requests "), "connections, requests",
         t["head"])
    s.match(r"^descriptors \d+ needed, limit \d+ \(hard \d+\), errors: 0 "
            r"accept, 0 upstream, 0 probe$", t["head"][5],
            "descriptors: needed, the limit, no errors", t["head"])
    s.eq(t["head"][6], "reload never", "reload never", t["head"])
    s.eq(t["head"][7], "last-change none", "no switch yet: last-change none",
         t["head"])
    s.eq([w["WORKER"] for w in t["workers"]],
         [str(i) for i in range(c.status_json()["workers"])],
         "a row per worker")
    s.eq([(p["POOL"], p["MEMBERS"], p["HEALTHY"], p["INFLIGHT"],
           p["TUNNELS"]) for p in t["pools"]],
         [("blue (active)", "2", "1", "0", "0"),
          ("green", "2", "1", "0", "0")], "the pools, blue active", out)
    rows = [(m["POOL"], m["MEMBER"], m["HEALTH"], m["ADMIN"], m["INFLIGHT"],
             m["LAST PROBE"]) for m in t["members"]]
    s.eq(rows, [("blue", b1.addr, "up", "ready", "0", "200"),
                ("blue", b2.addr, "up", "maint", "0", "200"),
                ("green", g.addr, "up", "ready", "0", "200"),
                ("green", dead, "down", "ready", "0", "connection refused")],
         "the members: pool, address, health, admin, in flight, last probe",
         out)
    s.eq(t["members"][0]["REQUESTS"], "1", "b1 served the one request", out)
    s.ok(all(m["LATENCY"].endswith(" ms") and
             m["LATENCY"][:-3].isdigit() for m in t["members"]),
         "latencies in ms", out)

    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 0, "switch green (force: one of its members is down)",
         out + err)
    t = c.status_tables()
    s.eq(t["head"][1], "active green  generation 2  previous blue",
         "after the switch: active green, generation 2, previous blue",
         t["head"])
    s.eq([p["POOL"] for p in t["pools"]], ["blue", "green (active)"],
         "the marker moves to green")
    s.match(r"^last-change switch \(forced\) blue -> green at "
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by uid %d pid \d+ "
            r"generation 2$" % os.getuid(), t["head"][7],
            "last-change: the forced switch, when, by our uid and pid",
            t["head"])
    s.eq(t["misaligned"], [], "still aligned", c.status())

    j = c.status_json()
    s.eq(set(j), JSON_TOP, "status json: every top-level field", j)
    s.eq([set(j["pools"][p]) for p in ("blue", "green")], [JSON_POOL] * 2,
         "status json: every pool field", j)
    s.eq([j["pools"][p]["dns"] for p in ("blue", "green")], [None, None],
         "status json: dns is null for pools without a name", j)
    s.eq([set(m) for p in ("blue", "green")
          for m in j["pools"][p]["members"]], [JSON_MEMBER] * 4,
         "status json: every member field", j)
    s.eq(set(j["per_worker"][0]), {"connections_open", "requests_total"},
         "status json: per_worker fields", j)
    s.eq(set(j["reload"]), {"result"}, "status json: reload never", j)
    s.eq(set(j["descriptors"]), {"needed", "limit", "hard",
                                 "supports_max_connections",
                                 "limit_reached", "errors"},
         "status json: descriptors fields", j)
    s.eq(j["descriptors"]["errors"], {"accept": 0, "upstream": 0,
                                      "probe": 0},
         "status json: no descriptor errors", j)
    s.eq(set(j["last_change"]), JSON_CHANGE, "status json: last_change "
         "fields", j)
    lc = j["last_change"]
    s.eq((lc["action"], lc["from"], lc["to"], lc["forced"],
          lc["generation"], lc["uid"]),
         ("switch", "blue", "green", True, 2, os.getuid()),
         "status json: last_change says switch blue -> green, forced, "
         "generation 2, our uid", lc)
    s.ok(isinstance(lc["pid"], int) and lc["pid"] > 0 and
         lc["by"] == "uid %d pid %d" % (os.getuid(), lc["pid"]),
         "... and the pid of the cutoverctl that asked", lc)

    # cutoverctl(8) names every field, so a new one cannot go unlisted
    with open(os.path.join(SRCDIR, "man", "cutoverctl.8")) as f:
        man = f.read()
    fields = (JSON_TOP | JSON_POOL | JSON_MEMBER | JSON_CHANGE |
              set(j["per_worker"][0]) | {"result", "message"} |
              set(j["descriptors"]) | set(j["descriptors"]["errors"]))
    unlisted = sorted(k for k in fields
                      if not re.search(r"^\.BR? %s\b" % re.escape(k), man,
                                       re.M))
    s.eq(unlisted, [], "cutoverctl(8) lists every status json field")
    for word in ("last\\-change", "reload", "listen", "connections",
                 "requests", "active", "generation", "previous"):
        s.ok(word in man, "cutoverctl(8) describes the status line "
             "%r" % word.replace("\\", ""))


s.done()
