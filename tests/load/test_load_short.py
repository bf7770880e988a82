#!/usr/bin/env python3
"""Zero downtime, proven under load: 64 keep-alive connections send GET /
back to back through cutover (2 blue + 2 green backends) while a controller
switches between the pools 100 times, reloads the configuration 10 times
(one adding a member, one removing it, one broken file that must be
refused, the others unchanged) and drains a member and readies it again.

Every request must succeed (no socket error, no non-2xx), and every
response must come from a pool that was active at some instant of the
request: a switch to X counts X as active from the moment the command was
sent, and the pool it replaced as active until the reply was received.

    test_load_short.py [--duration S] [--switches N] [--reloads N]
                       [--connections N]

The defaults are the short form run by `make check` (about 25 s);
tests/load/run-long runs the long form (10 minutes, 1000 switches, 100
reloads).  Output is TAP; totals are TAP diagnostics."""

import argparse
import bisect
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import loadgen  # noqa: E402
from harness import (Backend, Cutover, Suite, pools_config,  # noqa: E402
                     wait_until)

LOADGEN = os.path.join(HERE, "loadgen.py")
INF = float("inf")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--switches", type=int, default=100)
    ap.add_argument("--reloads", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--min-rate", type=float, default=250.0,
                    help="responses per second the run must reach")
    return ap.parse_args()


# ---------------------------------------------------------------- checks


def active_intervals(switches, initial="blue"):
    """Per pool, the merged sorted list of (from, to) intervals in which it
    counts as active.  switches: (sent, received, target, ok) in order."""
    iv = {"blue": [], "green": []}
    cur, since = initial, -INF
    for sent, recv, target, ok in switches:
        if not ok or target == cur:
            continue
        iv[cur].append((since, recv))
        cur, since = target, sent
    iv[cur].append((since, INF))
    merged = {}
    for pool, lst in iv.items():
        out = []
        for a, b in sorted(lst):
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        merged[pool] = out
    return merged


def overlaps(intervals, start, end):
    """True when one of the sorted disjoint intervals meets [start, end]."""
    ends = [b for _, b in intervals]
    i = bisect.bisect_left(ends, start)
    return i < len(intervals) and intervals[i][0] <= end


def wrong_pool(records, intervals):
    """Responses whose pool was not active at any instant of the request."""
    bad = []
    for r in records:
        if r[2] == 0:
            continue
        pool = loadgen.pool_of(r[3])
        if pool not in intervals or not overlaps(intervals[pool], r[0],
                                                 r[1]):
            bad.append(r)
    return bad


def in_windows(records, backend, windows):
    """Requests answered by backend that started inside one of windows."""
    return [r for r in records if r[3] == backend and
            any(a < r[0] < b for a, b in windows)]


# ---------------------------------------------------------------- the run


def run_plan(t0, events, deadline, act):
    """Calls act(kind, arg) for each event (offset seconds from t0, kind,
    arg) at its time, in order, until deadline; returns the largest lag
    (seconds) behind the plan."""
    lag_max = 0.0
    for offset, kind, arg in events:
        now = time.monotonic()
        if now >= deadline:
            break
        if t0 + offset > now:
            time.sleep(t0 + offset - now)
        lag_max = max(lag_max, time.monotonic() - t0 - offset)
        act(kind, arg)
    return lag_max


class Controller:
    """Performs the switches, reloads and member drains of the run, and
    logs when each command was sent and when its reply arrived."""

    def __init__(self, s, c, blue, blue3, green, extra):
        self.s, self.c = s, c
        self.blue, self.blue3, self.green = blue, blue3, green
        self.extra = extra
        self.with3 = False
        self.admin = c.admin_conn(timeout=15)
        self.active = "blue"
        self.switches = []          # (sent, received, target, ok)
        self.switch_replies = {}    # first line -> count
        self.reloads = {"same": 0, "add": 0, "remove": 0, "broken": 0}
        self.reload_problems = []
        self.broken_exits = []
        self.removed_windows = []   # blue-3 not configured: (from, to)
        self.drained_windows = []   # blue-1 draining: (from, to)
        self.member_problems = []
        self.lag_max = 0.0

    def config(self):
        blue = self.blue + ([self.blue3] if self.with3 else [])
        return pools_config(blue, self.green, "blue") + self.extra

    def command(self, line):
        sent = time.monotonic()
        self.admin.send(line + "\n")
        reply = self.admin.reply()
        return sent, time.monotonic(), reply

    def switch(self):
        target = "green" if self.active == "blue" else "blue"
        sent, recv, reply = self.command("switch " + target)
        ok = reply.split("\n", 1)[0] == "ok"
        first = reply.split("\n", 1)[0]
        self.switch_replies[first] = self.switch_replies.get(first, 0) + 1
        self.switches.append((sent, recv, target, ok))
        if ok:
            self.active = target

    def sighup_and_wait(self, want_ok):
        """SIGHUP, then waits for the reload's outcome in the log."""
        mark = self.c.log_mark()
        self.c.signal(signal.SIGHUP)
        m = self.c.wait_log(r"reload: |reload failed", 10, since=mark)
        if m is None:
            self.reload_problems.append("no reload outcome logged")
        elif (m.group(0) == "reload: ") != want_ok:
            self.reload_problems.append("unexpected outcome %r"
                                        % self.c.log_tail(3))
        return time.monotonic()

    def reload(self, kind):
        self.reloads[kind] += 1
        if kind == "broken":
            self.c.reload_file(self.config() +
                               "timeouts = { connect_ms = ; };\n")
            rc, out, err = self.c.ctl("reload")
            self.broken_exits.append((rc, (out + err).strip()[:200]))
            self.sighup_and_wait(False)
            self.c.reload_file(self.config())       # restore
            return
        if kind == "add":
            self.with3 = True
            before = time.monotonic()
            self.c.reload_file(self.config())
            self.sighup_and_wait(True)
            if self.removed_windows and self.removed_windows[-1][1] == INF:
                self.removed_windows[-1] = (self.removed_windows[-1][0],
                                            before)
            return
        if kind == "remove":
            self.with3 = False
            self.c.reload_file(self.config())
            done = self.sighup_and_wait(True)
            self.removed_windows.append((done, INF))
            return
        self.c.reload_file(self.config())
        self.sighup_and_wait(True)

    def member(self, state):
        sent, recv, reply = self.command("member blue %s %s"
                                         % (self.blue[0].addr, state))
        if reply.split("\n", 1)[0] != "ok":
            self.member_problems.append(reply)
        if state == "drain":
            self.drained_windows.append((recv, INF))
        elif self.drained_windows:
            self.drained_windows[-1] = (self.drained_windows[-1][0], sent)

    def plan(self, duration, nswitch, nreload):
        """Events (offset seconds, kind, arg), spread over the run."""
        ev = []
        lo, hi = 0.05 * duration, 0.95 * duration
        for i in range(nswitch):
            ev.append((lo + (hi - lo) * (i + 0.5) / nswitch, "switch", None))
        # reloads in cycles of 10: add blue-3, broken, remove blue-3
        kinds = {2: "add", 4: "broken", 6: "remove"}
        for i in range(nreload):
            ev.append((lo + (hi - lo) * (i + 0.25) / nreload, "reload",
                       kinds.get(i % 10, "same")))
        cycles = max(1, (nreload + 9) // 10)
        for k in range(cycles):
            a = lo + (hi - lo) * k / cycles
            b = lo + (hi - lo) * (k + 1) / cycles
            ev.append((a + 0.35 * (b - a), "member", "drain"))
            ev.append((a + 0.65 * (b - a), "member", "ready"))
        return sorted(ev, key=lambda e: e[0])

    def run(self, t0, events, deadline):
        def act(kind, arg):
            if kind == "switch":
                self.switch()
            elif kind == "reload":
                self.reload(arg)
            else:
                self.member(arg)
        self.lag_max = run_plan(t0, events, deadline, act)
        if self.removed_windows and self.removed_windows[-1][1] == INF:
            self.removed_windows[-1] = (self.removed_windows[-1][0], INF)


def main():
    a = parse_args()
    s = Suite()
    title = "load %ds, %d connections, %d switches, %d reloads" % (
        a.duration, a.connections, a.switches, a.reloads)

    @s.scenario(title)
    def _():
        blue = [Backend("blue-1"), Backend("blue-2")]
        blue3 = Backend("blue-3")
        green = [Backend("green-1"), Backend("green-2")]
        # one healthy member suffices to switch: a member in drain, or one
        # just added and not yet probed up, must not refuse a switch
        extra = "switch = { min_healthy = 1; };\n"
        c = Cutover(blue=blue, green=green, extra=extra)
        s.ok(c.wait_pool_healthy("blue", 10) and
             c.wait_pool_healthy("green", 10),
             "both pools are healthy before the load", c.status())
        ctl = Controller(s, c, blue, blue3, green, extra)
        events = ctl.plan(a.duration, a.switches, a.reloads)
        out = os.path.join(c.dir, "requests.txt")
        argv = [sys.executable, LOADGEN, "--port", str(c.port),
                "--connections", str(a.connections),
                "--duration", str(a.duration), "--out", out,
                "--timeout", "10"]
        t0 = time.monotonic()
        lg = subprocess.Popen(argv, stdout=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
        try:
            ctl.run(t0, events, t0 + a.duration + 5)
            stdout, _ = lg.communicate(timeout=a.duration + 120)
        finally:
            if lg.poll() is None:
                lg.kill()
                lg.wait(5)
        s.eq(lg.returncode, 0, "the load generator exits 0")
        records = loadgen.read_records(out)
        summ = loadgen.summarize(records)
        try:
            summ.update({k: v for k, v in json.loads(stdout).items()
                         if k in ("connects", "server_closes")})
        except ValueError:
            pass
        s._diag("load: " + json.dumps(summ, sort_keys=True))
        lat = sorted(r - t for t, r, _, _ in ctl.switches)
        s._diag("switches: %d sent, replies %r, reply time ms p50 %.2f "
                "max %.2f; controller lag max %.0f ms"
                % (len(ctl.switches), ctl.switch_replies,
                   1000 * loadgen.percentile(lat, 50),
                   1000 * (lat[-1] if lat else 0), 1000 * ctl.lag_max))
        s._diag("reloads: %r; broken file, cutoverctl reload exit codes "
                "%r, first message %r"
                % (ctl.reloads, sorted({rc for rc, _ in ctl.broken_exits}),
                   ctl.broken_exits[0][1] if ctl.broken_exits else None))

        errs = [r for r in records if r[2] == 0]
        s.eq(len(errs), 0, "zero socket errors",
             "\n".join("%.3f..%.3f %s" % (r[0] - t0, r[1] - t0, r[4])
                       for r in errs[:20]))
        non2xx = [r for r in records if r[2] != 0 and not 200 <= r[2] < 300]
        s.eq(len(non2xx), 0, "zero non-2xx responses",
             "\n".join("%.3f..%.3f %d %s" % (r[0] - t0, r[1] - t0, r[2],
                                             r[3]) for r in non2xx[:20]))
        s.ok(summ["responses"] >= a.min_rate * a.duration * 0.9 and
             summ["rate_per_s"] >= a.min_rate,
             "a meaningful load: %d responses, %.0f/s (at least %.0f/s)"
             % (summ["responses"], summ["rate_per_s"], a.min_rate))
        s.eq(sum(1 for x in ctl.switches if x[3]), a.switches,
             "all %d switches were accepted" % a.switches,
             ctl.switch_replies)
        served = {loadgen.pool_of(b) for b in summ["backends"]}
        s.eq(served, {"blue", "green"}, "both pools served requests",
             summ["backends"])

        intervals = active_intervals(ctl.switches)
        bad = wrong_pool(records, intervals)
        s.eq(len(bad), 0, "every response came from a pool active at some "
             "instant of its request",
             "\n".join("request %.6f..%.6f answered by %s" %
                       (r[0] - t0, r[1] - t0, r[3]) for r in bad[:20]) +
             "\nswitches (sent, received, target):\n" +
             "\n".join("%.6f %.6f %s" % (x[0] - t0, x[1] - t0, x[2])
                       for x in ctl.switches[:200]))

        nreload = sum(ctl.reloads.values())
        s.ok(nreload == a.reloads and ctl.reloads["add"] >= 1 and
             ctl.reloads["remove"] >= 1 and ctl.reloads["broken"] >= 1,
             "%d reloads done (adding, removing, broken, unchanged)"
             % a.reloads, ctl.reloads)
        s.eq(ctl.reload_problems, [], "every SIGHUP reload had the "
             "expected outcome (broken file: refused, others: applied)")
        s.ok(ctl.broken_exits and all(rc == 1 for rc, _ in
                                      ctl.broken_exits),
             "the broken file was refused: cutoverctl reload exits 1",
             ctl.broken_exits)
        s.ok(blue3.saw("/") > 0, "the added member blue-3 took requests",
             summ["backends"])
        late = in_windows(records, "blue-3", ctl.removed_windows)
        s.eq(len(late), 0, "no request started after blue-3 was removed "
             "reached it", late[:10])
        s.eq(ctl.member_problems, [], "member drain/ready commands "
             "answered ok")
        late = in_windows(records, "blue-1", ctl.drained_windows)
        s.eq(len(late), 0, "no request started while blue-1 was draining "
             "reached it", late[:10])

        s.ok(c.alive(), "cutover is still running")
        st = {}

        def settled():
            st.update(c.status_json())
            return st["connections_open"] <= 2 and all(
                p["inflight"] == 0 for p in st["pools"].values())
        s.ok(wait_until(settled, 10), "afterwards: connections_open back to "
             "small and inflight 0 on both pools", c.status())
        s._diag("status after: connections_open %s, connections_total %s, "
                "requests_total %s, responses_total %s, errors_total %s, "
                "upstream_failures_total %s" % tuple(
                    st.get(k) for k in ("connections_open",
                                        "connections_total",
                                        "requests_total", "responses_total",
                                        "errors_total",
                                        "upstream_failures_total")))
        ctl.admin.close()
        rc = c.stop(30)
        s.eq(rc, 0, "cutover exits 0 on SIGTERM after the run")

    s.done()


if __name__ == "__main__":
    main()
