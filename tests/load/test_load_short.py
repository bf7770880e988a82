#!/usr/bin/env python3
"""Zero downtime, proven under load: clients of every kind (loadgen.Mix:
keep-alive GETs, one in ten slow (a delayed or a trickled answer);
keep-alive POSTs with bodies of 10 B to 256 KiB, echoed and checked;
clients opening a new connection per request; WebSocket-style tunnels)
send requests through cutover (blue-1, blue-2 and blue-3, which reloads
add and remove; green-1, green-2) while a controller switches between the
pools 100 times, reloads the configuration 10 times (one adding blue-3,
one removing it, two broken files that must be refused whole: a syntax
error and a listener that cannot be opened, both with pools that differ
and list a member, decoy-1, that must never be probed nor get a request),
drains blue-1 and readies it again, and kills blue-2 and green-2 with
SIGKILL while they serve and starts them again on their ports.  At the
end it sends SIGTERM with the load still on: cutover serves for
shutdown.delay_ms (every response with Connection: close), then exits 0.

Every operation must succeed, with the right body, except one whose
member (cutover's access log says which) was being killed while it was
in flight and that could not be sent again: a POST, a response cut
mid-body, a tunnel.  Every response must come from a pool
that was active at some instant between the start of its request (the
client's clock) and the moment its backend received it (the backend's
own CLOCK_MONOTONIC stamp, backend.py --stamp): a switch counts its new
pool as active from the moment the command was sent, and the pool it
replaced as active until cutover had logged it (its log's wall clock,
in milliseconds, taken to CLOCK_MONOTONIC by an offset measured around
the run) or, if sooner, the reply came.  cutover logs a switch only after
every worker routes with the new pool, so a request that straddles a
switch is judged by the instants of the switch itself, not of its reply.

    test_load_short.py [--duration S] [--switches N] [--reloads N]
                       [--connections N]

The defaults are the short form run by `make check` (about 25 s);
tests/load/run-long runs the long form (10 minutes, 1000 switches, 100
reloads), which `make loadtest` runs with the arguments in LOADTEST_ARGS
(CI: 300 switches and 30 reloads in 90 s).  Output is TAP; totals are TAP
diagnostics."""

import argparse
import bisect
import calendar
import json
import os
import re
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import loadgen  # noqa: E402
from harness import (Backend, Cutover, Suite, health_config,  # noqa: E402
                     pools_config, wait_until)

INF = float("inf")
# errors that cutover logs when a member went away under a request
MEMBER_GONE = re.compile(r"member (closed|connection failed)")
ID = re.compile(r"[?&]id=(\d+)")
# a line of cutover's log: wall clock (UTC, milliseconds), level, message
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z "
                      r"cutover\[\d+\]: \w+: (.*)$", re.M)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--switches", type=int, default=100)
    ap.add_argument("--reloads", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    if a.duration < 5 or a.connections < 16 or a.reloads < 10:
        ap.error("at least 5 s, 16 connections and 10 reloads")
    return a


# ---------------------------------------------------------------- checks


def active_intervals(switches, initial="blue"):
    """Per pool, the merged sorted list of (from, to) intervals in which it
    counts as active.  switches: (begun, done, target, ok) in order: the
    target is active from begun on, the pool it replaced until done."""
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


def clock_offset(n=200):
    """time.time() - time.monotonic(), from the tightest of n readings."""
    best = None
    for _ in range(n):
        a = time.monotonic()
        w = time.time()
        b = time.monotonic()
        if best is None or b - a < best[0]:
            best = (b - a, w - (a + b) / 2)
    return best[1]


def log_instants(text, regex):
    """(wall clock seconds, message) of the log lines whose message
    matches regex, in order."""
    out = []
    for m in LOG_LINE.finditer(text):
        if re.match(regex, m.group(3)):
            t = calendar.timegm(time.strptime(m.group(1),
                                              "%Y-%m-%dT%H:%M:%S"))
            out.append((t + int(m.group(2)) / 1000.0, m.group(3)))
    return out


def receipts(backends):
    """(backend name, request id) -> [(the backend's stamp, Backend)]."""
    out = {}
    for b in backends:
        for t, _, path in b.received:
            m = ID.search(path)
            if m:
                out.setdefault((b.name, int(m.group(1))), []).append((t, b))
    return out


def access_log(path, ids):
    """cutover's access log's JSON lines for the request ids in ids."""
    out = {}
    with open(path, "rb") as f:
        for raw in f:
            try:
                j = json.loads(raw)
            except ValueError:
                continue
            m = ID.search(j.get("target") or "")
            if m and int(m.group(1)) in ids:
                out[int(m.group(1))] = j
    return out


def killed_during(kills, key, value, start, end):
    """The kills of a member (key "addr" or "name" equal to value) whose
    span, from the SIGKILL to the process's exit, meets [start, end]."""
    i = 1 if key == "addr" else 0
    return [k for k in kills if k[i] == value and k[2] <= end and
            k[3] >= start]


def classify(rec, entry, kills):
    """Why a failed operation is excused, or None when it is not: its
    member (cutover's access log entry says which) was being killed
    while it was in flight, and it could not be sent again.  kills:
    (name, addr, SIGKILL sent, the process reaped)."""
    if rec.kind == "tunnel" and rec.status == 101:
        return "tunnel, member killed" if killed_during(
            kills, "name", rec.backend, rec.start, rec.end) else None
    if entry is None or not entry.get("member"):
        return None
    error = entry.get("error") or ""
    if killed_during(kills, "addr", entry["member"], rec.start, rec.end):
        if "mid-response" in error:
            return "killed mid-response"
        if rec.method == "POST" and MEMBER_GONE.search(error):
            return "POST, member killed"
    return None


def start_cutover(s, m, extra):
    """cutover in front of blue-1, blue-2, green-1 and green-2 of m, its
    access log (JSON, extra says so) in a file; returns (the Cutover,
    that file's path) once both pools are healthy (a check of s)."""
    c = Cutover(blue=[m["blue-1"], m["blue-2"]],
                green=[m["green-1"], m["green-2"]], extra=extra,
                start=False)
    access = os.path.join(c.dir, "access.log")
    c.stdout = access
    c.start()
    s.ok(c.wait_pool_healthy("blue", 10) and
         c.wait_pool_healthy("green", 10),
         "both pools are healthy before the load", c.status())
    return c, access


def tally(recs, access, kills):
    """The operations recs judged: (excused failures by reason, the lost
    ones as (rec, access log entry), (ok, failed) counts by kind)."""
    failed = [r for r in recs if r.err is not None]
    entries = access_log(access, {r.id for r in failed})
    excused, lost = {}, []
    for r in failed:
        why = classify(r, entries.get(r.id), kills)
        if why:
            excused[why] = excused.get(why, 0) + 1
        else:
            lost.append((r, entries.get(r.id)))
    kinds = {}
    for r in recs:
        k = kinds.setdefault(r.kind, [0, 0])
        k[0 if r.err is None else 1] += 1
    return excused, lost, kinds


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


class Pools:
    """What the load test's and the soak's controllers share: the members
    (blue-1, blue-2, blue-3 when added; green-1, green-2) and their file,
    the admin connection, reloads by SIGHUP and the check of their
    outcome.  m: name -> the member's Backend now."""

    def __init__(self, c, m, extra):
        self.c = c
        self.m = m
        self.extra = extra
        self.with3 = False
        self.admin = c.admin_conn(timeout=15)
        self.active = "blue"
        self.switch_replies = {}    # first line -> count
        self.problems = []
        self.broken_exits = []

    def members(self):
        blue = [self.m["blue-1"], self.m["blue-2"]] + \
            ([self.m["blue-3"]] if self.with3 else [])
        return blue, [self.m["green-1"], self.m["green-2"]]

    def config(self):
        blue, green = self.members()
        return pools_config(blue, green, self.active) + self.extra

    def check_members(self, what):
        """The pools' members in status json are the configured ones."""
        blue, green = self.members()
        want = {"blue": sorted(b.addr for b in blue),
                "green": sorted(b.addr for b in green)}
        st = self.c.status_json()
        got = {p: sorted(x["addr"] for x in st["pools"][p]["members"])
               for p in ("blue", "green")}
        if got != want:
            self.problems.append("after %s: members %r, want %r"
                                 % (what, got, want))

    def sighup(self, want_ok, what):
        """SIGHUP, then waits for the reload's outcome in the log; returns
        when it was seen."""
        mark = self.c.log_mark()
        self.c.signal(signal.SIGHUP)
        m = self.c.wait_log(r"reload: |reload failed", 15, since=mark)
        if m is None:
            self.problems.append("%s: no reload outcome logged" % what)
        elif (m.group(0) == "reload: ") != want_ok:
            self.problems.append("%s: unexpected outcome %r"
                                 % (what, self.c.log_tail(3)))
        return time.monotonic()


class Controller(Pools):
    """Performs the switches, reloads, member drains and kills of the run,
    and logs when each command was sent and when its reply arrived."""

    def __init__(self, c, m, extra):
        super().__init__(c, m, extra)
        self.switches = []          # (sent, received, target, ok)
        self.reloads = {"same": 0, "add": 0, "remove": 0, "broken": 0,
                        "broken-listen": 0}
        self.removed_windows = []   # blue-3 not configured: (from, to)
        self.drained_windows = []   # blue-1 draining: (from, to)
        self.kills = []             # (name, addr, SIGKILL sent, reaped)
        self.started = list(m.values())     # every Backend ever started
        self.lag_max = 0.0

    def command(self, line):
        sent = time.monotonic()
        self.admin.send(line + "\n")
        reply = self.admin.reply()
        return sent, time.monotonic(), reply.split("\n", 1)[0]

    def switch(self):
        target = "green" if self.active == "blue" else "blue"
        sent, recv, first = self.command("switch " + target)
        ok = first == "ok"
        self.switch_replies[first] = self.switch_replies.get(first, 0) + 1
        self.switches.append((sent, recv, target, ok))
        if ok:
            self.active = target

    def broken(self, kind):
        """A file that must be refused whole, with pools that differ from
        the running ones (blue-3 toggled, decoy-1 in both): applying any
        part of it would probe decoy-1 or change the members status
        shows.  "broken": a syntax error; "broken-listen": valid, but a
        listener on decoy-1's port, which cannot be opened."""
        blue, green = self.members()
        blue = [self.m["blue-1"], self.m["blue-2"]] + \
            ([] if self.with3 else [self.m["blue-3"]])
        decoy = self.m["decoy-1"]
        text = pools_config(blue + [decoy], green + [decoy], self.active)
        if kind == "broken":
            text += self.extra + "timeouts = { connect_ms = ; };\n"
        else:
            text += self.extra + ('listen = [ "127.0.0.1:%d", '
                                  '"127.0.0.1:%d" ];\n'
                                  % (self.c.port, decoy.port))
        self.c.reload_file(text)
        rc, out, err = self.c.ctl("reload")
        self.broken_exits.append((kind, rc, (out + err).strip()[:200]))
        self.sighup(False, kind)
        self.check_members(kind)
        self.c.reload_file(self.config())       # restore

    def reload(self, kind):
        self.reloads[kind] += 1
        if kind.startswith("broken"):
            self.broken(kind)
            return
        before = time.monotonic()
        if kind == "add":
            self.with3 = True
        elif kind == "remove":
            self.with3 = False
        self.c.reload_file(self.config())
        done = self.sighup(True, "reload (%s)" % kind)
        self.check_members("reload (%s)" % kind)
        if kind == "remove":
            self.removed_windows.append((done, INF))
        elif kind == "add" and self.removed_windows:
            self.removed_windows[-1] = (self.removed_windows[-1][0], before)

    def member(self, state):
        sent, recv, first = self.command("member blue %s %s"
                                         % (self.m["blue-1"].addr, state))
        if first != "ok":
            self.problems.append("member %s: %r" % (state, first))
        if state == "drain":
            self.drained_windows.append((recv, INF))
        elif self.drained_windows:
            self.drained_windows[-1] = (self.drained_windows[-1][0], sent)

    def kill(self, name):
        """SIGKILL while it serves, then the same member again on its
        port (as a Pod's container restarts)."""
        old = self.m[name]
        t = time.monotonic()
        os.kill(old.proc.pid, signal.SIGKILL)
        old.proc.wait(10)
        self.kills.append((name, old.addr, t, time.monotonic()))
        old.stop()                  # its output reader has ended
        self.m[name] = Backend(name, port=old.port, stamp=True)
        self.started.append(self.m[name])

    def plan(self, duration, nswitch, nreload):
        """Events (offset seconds, kind, arg), spread over the run's first
        85 %; SIGTERM comes at 90 %."""
        ev = []
        lo, hi = 0.05 * duration, 0.85 * duration
        for i in range(nswitch):
            ev.append((lo + (hi - lo) * (i + 0.5) / nswitch, "switch", None))
        # reloads in cycles of 10: add blue-3, broken, remove blue-3,
        # broken-listen
        kinds = {2: "add", 4: "broken", 6: "remove", 8: "broken-listen"}
        for i in range(nreload):
            ev.append((lo + (hi - lo) * (i + 0.25) / nreload, "reload",
                       kinds.get(i % 10, "same")))
        cycles = max(1, nreload // 10)
        for k in range(cycles):
            a = lo + (hi - lo) * k / cycles
            b = lo + (hi - lo) * (k + 1) / cycles
            ev.append((a + 0.35 * (b - a), "member", "drain"))
            ev.append((a + 0.45 * (b - a), "kill", "blue-2"))
            ev.append((a + 0.65 * (b - a), "member", "ready"))
            ev.append((a + 0.75 * (b - a), "kill", "green-2"))
        return sorted(ev, key=lambda e: e[0])

    def run(self, t0, events, deadline):
        def act(kind, arg):
            if kind == "switch":
                self.switch()
            elif kind == "reload":
                self.reload(arg)
            elif kind == "kill":
                self.kill(arg)
            else:
                self.member(arg)
        self.lag_max = run_plan(t0, events, deadline, act)


def main():
    a = parse_args()
    s = Suite()
    title = "load %ds, %d connections, %d switches, %d reloads" % (
        a.duration, a.connections, a.switches, a.reloads)
    # the clients: a quarter of them of the other kinds
    q = a.connections // 4
    counts = {"get": a.connections - q, "post": q - q // 2 - 2,
              "fresh": q // 2, "tunnel": 2}
    # SIGTERM at 90 % of the run; cutover serves on for delay_ms, past
    # the clients' end, and then exits by itself
    delay_ms = int(0.1 * a.duration * 1000) + 5000

    @s.scenario(title, timeout=a.duration * 3 + 120)
    def _():
        names = ("blue-1", "blue-2", "blue-3", "green-1", "green-2",
                 "decoy-1")
        m = {n: Backend(n, stamp=True) for n in names}
        # one healthy member suffices to switch: a member in drain, or
        # one just added or restarted and not yet probed up, must not
        # refuse a switch; a restarted member is up at its first probe
        extra = ("switch = { min_healthy = 1; };\n"
                 "shutdown = { delay_ms = %d; grace_ms = 5000; };\n"
                 "log = { access = \"json\"; };\n"
                 % delay_ms + health_config("rise = 1; fall = 2;"))
        # started below, with stdout (the access log) in its own dir
        c, access = start_cutover(s, m, extra)
        ctl = Controller(c, m, extra)
        events = ctl.plan(a.duration, a.switches, a.reloads)
        off0 = clock_offset()
        t0 = time.monotonic()
        mix = loadgen.Mix(c.port, t0 + a.duration, counts)
        lt = threading.Thread(target=mix.run, daemon=True)
        lt.start()
        ctl.run(t0, events, t0 + a.duration)
        t_term = max(time.monotonic(), t0 + 0.9 * a.duration)
        time.sleep(t_term - time.monotonic())
        c.signal(signal.SIGTERM)
        lt.join(a.duration + 5 * loadgen.OP_TIMEOUT)
        s.ok(not lt.is_alive(), "the clients finished in time")
        st = {}

        def settled():
            st.update(c.status_json())
            return st["connections_open"] <= 1 and all(
                p["inflight"] == 0 for p in st["pools"].values())
        s.ok(wait_until(settled, 5), "after the clients, still within "
             "shutdown.delay_ms: no client connection left open, inflight "
             "0", c.status())
        s.eq(st.get("stopping"), True, "status says stopping")
        ctl.admin.close()
        rc = c.wait(delay_ms / 1000.0 + 5 + 30)
        s.eq(rc, 0, "cutover exits 0 by itself after SIGTERM, "
             "shutdown.delay_ms and the grace", c.log_tail())
        off1 = clock_offset()
        log = c.log_text()

        recs = [r for r in mix.recs if r.end is not None]
        s.eq(len(recs), len(mix.recs), "every operation ended")
        for b in ctl.started:
            if b.proc.poll() is not None:
                b._reader.join(5)       # its last lines read
        stamps = receipts(ctl.started)
        excused, lost, kinds = tally(recs, access, ctl.kills)
        ok = [r for r in recs if r.err is None]
        span = max(r.end for r in recs) - min(r.start for r in recs)
        rate = len(ok) / span if span > 0 else 0
        s._diag("operations (ok, failed) by kind: %s; %.0f/s" % (
            json.dumps(kinds, sort_keys=True), rate))
        s._diag("failures excused (their member was killed while serving "
                "them): "
                "%s" % json.dumps(excused, sort_keys=True))
        resent = len(re.findall(r"resent to another member", log))
        s._diag("requests cutover resent to another member: %d" % resent)
        s.eq(len(lost), 0, "every operation succeeded, but those whose "
             "member was killed while they were in flight and that could "
             "not be sent again",
             "\n".join("%r (t0+%.3f) access log: %r" % (r, r.start - t0,
                                                        e)
                       for r, e in lost[:20]) +
             "\nkills (t0+s): %r" % [(n, round(x - t0, 3))
                                     for n, _, x, _ in ctl.kills])
        for kind in ("get", "post", "get-new", "post-new", "tunnel"):
            s.ok(kinds.get(kind, [0])[0] >= 10, "%s: at least 10 "
                 "succeeded" % kind, kinds.get(kind))
        # loadgen.Mix: GET id 10 mod 20 is /delay, 0 mod 20 /trickle
        s.ok(any(r.id % 20 == 10 for r in ok if r.kind == "get") and
             any(r.id % 20 == 0 for r in ok if r.kind == "get"),
             "slow GETs, delayed and trickled, were among them")
        served = {loadgen.pool_of(r.backend) for r in ok}
        s.eq(served, {"blue", "green"}, "both pools served requests")

        # the switches' instants, by cutover's log
        # cutover's log is in wall-clock time; a clock slewed by NTP
        # during the run widens each switch's window by as much
        drift = abs(off1 - off0)
        s.ok(drift < 0.1, "the wall clock kept within 0.1 s of "
             "CLOCK_MONOTONIC during the run (%.6f s apart)" % drift)
        off = (off0 + off1) / 2
        logged = log_instants(log, r"switch: (blue|green) \(was ")
        done = [x for x in ctl.switches if x[3]]
        s.eq(sum(1 for x in ctl.switches if x[3]), a.switches,
             "all %d switches were accepted" % a.switches,
             ctl.switch_replies)
        s.eq(len(logged), len(done), "cutover logged each switch once")
        # a meaningful load is one with requests in flight across the
        # switches: a count, so the machine's speed decides nothing
        spans = sorted((r.start, r.end) for r in ok if r.end)
        starts = [x for x, _ in spans]
        across = sum(1 for sent, recv, _, _ in done if any(
            e > recv for _, e in
            spans[max(0, bisect.bisect_left(starts, sent) - 2000):
                  bisect.bisect_left(starts, sent)]))
        s.ok(across >= 0.9 * len(done), "requests were in flight across "
             "%d of the %d switches (at least 90%%), %d operations in all"
             % (across, len(done), len(ok)))
        windows, odd = [], []
        for (sent, recv, target, ok_), (w, msg) in zip(done, logged):
            lo, hi = w - off - drift, w + 0.001 - off + drift
            if not msg.startswith("switch: %s " % target) or \
                    hi < sent - 0.0005 or lo > recv + 0.0005:
                odd.append((sent - t0, recv - t0, target, lo - t0, msg))
            windows.append((sent, min(recv, hi), target, ok_))
        s.eq(odd, [], "each switch's log line lies between its command "
             "and its reply, and names its pool")
        intervals = active_intervals(windows)

        # every response, by its backend's own receipt
        unstamped, bad, straddle = [], [], 0
        for r in ok:
            got = stamps.get((r.backend, r.id))
            if not got:
                unstamped.append(r)
                continue
            tb = got[-1][0]
            pool = loadgen.pool_of(r.backend)
            if pool not in intervals or not overlaps(intervals[pool],
                                                     r.start, tb):
                bad.append((r, tb))
            if any(r.start <= w[1] and w[0] <= tb for w in windows):
                straddle += 1
        s._diag("responses whose request straddled a switch (judged by "
                "the switch's own instants): %d" % straddle)
        s.eq(unstamped, [], "every response's backend stamped its "
             "request's arrival")
        s.eq(len(bad), 0, "every response came from a pool active at some "
             "instant between its request's start and its arrival at the "
             "backend",
             "\n".join("%r arrived t0+%.6f" % (r, tb - t0)
                       for r, tb in bad[:20]) +
             "\nswitch windows (t0+s):\n" +
             "\n".join("%.6f %.6f %s" % (x[0] - t0, x[1] - t0, x[2])
                       for x in windows[:200]))

        nreload = sum(ctl.reloads.values())
        s.ok(nreload == a.reloads and all(ctl.reloads.values()),
             "%d reloads done (unchanged, adding, removing, two broken)"
             % a.reloads, ctl.reloads)
        s.eq(ctl.problems, [], "every reload had its outcome and left "
             "exactly the configured members; drains answered ok")
        s.ok(ctl.broken_exits and all(rc == 1 for _, rc, _ in
                                      ctl.broken_exits),
             "the broken files were refused: cutoverctl reload exits 1",
             ctl.broken_exits)
        decoy = m["decoy-1"]
        s.ok(decoy.probes() == 0 and not decoy.received,
             "decoy-1, only in the broken files, was never probed nor "
             "sent a request", (decoy.probes(), decoy.received[:5]))
        s.ok(ctl.m["blue-3"].saw("/") > 0, "the added member blue-3 took "
             "requests")
        late = [r for r in ok if r.backend == "blue-3" and
                any(x < r.start < y for x, y in ctl.removed_windows)]
        s.eq(late, [], "no request begun after blue-3 was removed reached "
             "it")
        late = [r for r in ok if r.backend == "blue-1" and
                any(x < r.start < y for x, y in ctl.drained_windows)]
        s.eq(late, [], "no request begun while blue-1 was draining "
             "reached it")
        s.ok(len(ctl.kills) >= 2, "members were killed with SIGKILL and "
             "restarted", [(n, x - t0) for n, _, x, _ in ctl.kills])

        # SIGTERM
        term = log_instants(log, r"SIGTERM received")
        s.eq(len(term), 1, "cutover logged the SIGTERM once")
        if term:
            since = term[0][0] + 0.001 - off
            late = [r for r in ok if r.kind != "tunnel" and not r.closed and
                    stamps.get((r.backend, r.id), [(-INF,)])[-1][0] > since]
            after = [r for r in ok if r.start > since]
            s.ok(len(after) >= 10, "requests went on after the SIGTERM, "
                 "within shutdown.delay_ms", len(after))
            s.eq(late, [], "every response to a request that reached its "
                 "backend after the SIGTERM carried Connection: close",
                 late[:10])
        s._diag("switches: replies %r, reply time ms max %.2f; controller "
                "lag max %.0f ms; reloads %r; broken reloads' exits %r"
                % (ctl.switch_replies, 1000 * max(
                    (x[1] - x[0] for x in ctl.switches), default=0),
                   1000 * ctl.lag_max, ctl.reloads,
                   sorted({(k, rc) for k, rc, _ in ctl.broken_exits})))

    s.done()


if __name__ == "__main__":
    main()
