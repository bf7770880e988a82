#!/usr/bin/env python3
"""The soak: everything an operator's fleet does to cutover, all at once,
while cutover's memory and descriptors are measured.

For --duration seconds, through cutover (blue: blue-1, blue-2, and blue-3
added and removed by reloads; green: green-1, green-2):

  clients   loadgen.Mix's: keep-alive GETs (one in ten slow: /delay or
            /trickle), keep-alive POSTs of /echo with bodies of 10 B to
            256 KiB (one in eight with a slow read), clients opening a new
            connection per request (GET and POST), WebSocket-style tunnels
            that echo a few messages; and slowloris clients trickling a
            request head byte by byte (a bounded number at a time)
  control   switches between the pools, reloads (unchanged; adding
            blue-3; removing it; a broken file whose pools also differ,
            which must be refused whole), member drains of blue-1, and
            members blue-2 and green-2 killed with SIGKILL while serving
            and restarted on the same port

Every --interval seconds cutover's VmRSS (/proc/PID/status) and its open
descriptors (/proc/PID/fd) are sampled and printed as TAP diagnostics.

What must hold:
  - flat after warm-up (the first third of the run): the largest
    descriptor count of the last third is at most FD_SLACK above the
    warm-up's largest, and the largest RSS of the last third at most
    RSS_SLACK_PCT % + RSS_SLACK_KB above the warm-up's largest; neither
    series grows at every sample after warm-up by more than a quarter of
    its slack in all (a few pages the allocator takes now and then are
    not a leak).  Under AddressSanitizer or ThreadSanitizer RSS is
    printed but not judged (quarantine, shadow memory and TSan's history
    make RSS follow the sanitizer, not cutover); descriptors are judged,
    and a leak fails the exit status.
  - no request that a live member could have served is lost.  Each
    request carries an id in its target, so cutover's access log (JSON)
    says which member it went to and why it failed.  A failure is excused
    only when the member that served it was being killed (from the
    SIGKILL to the process's exit) while it was in flight and the request
    could not be sent again: a POST (not idempotent), or a GET whose
    response had begun (cutover: "mid-response"), or a tunnel whose
    member was killed while open.  A POST sent after its member exited,
    on a kept-alive connection whose close cutover's loop had yet to
    see, is no excuse: cutover looks before it reuses a connection for
    a request it could not send again.  Every other request must
    succeed, with the right body; GETs whose member was killed before it
    answered are resent by cutover and succeed.
  - slowloris clients get 408 once timeouts.client_header_ms has passed
    since their first byte.
  - every switch is accepted, every reload has its outcome (the broken
    file refused: cutoverctl reload exits 1) and afterwards the pools'
    members are exactly the configured ones (a partial apply shows).
  - cutover exits 0 at SIGTERM at the end (under AddressSanitizer: no
    leak).

    test_soak.py [--duration S] [--interval S] [--clients-scale K]

The defaults are the short form `make check` runs (36 s, a sample every
3 s); `make soak` runs the long form (30 minutes, a sample every 60 s;
SOAK_ARGS='--duration 600' to change).  Loopback only; every loop is
bounded by the deadline and every operation by a timeout.  Output is
TAP."""

import argparse
import asyncio
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
from harness import (Backend, Suite, health_config,  # noqa: E402
                     pools_config, rss_kb, sanitized, wait_health,
                     wait_until)
from test_load_short import (Pools, run_plan, start_cutover,  # noqa: E402
                             tally)

FD_SLACK = 16
RSS_SLACK_PCT = 10
RSS_SLACK_KB = 4096
HEADER_MS = 2000            # timeouts.client_header_ms
OP_TIMEOUT = loadgen.OP_TIMEOUT


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=36.0)
    ap.add_argument("--interval", type=float, default=None,
                    help="seconds between samples (default: duration/12, "
                    "at most 60)")
    ap.add_argument("--clients-scale", type=int, default=1,
                    help="multiplies the number of each kind of client")
    a = ap.parse_args()
    if a.duration < 10 or (a.interval is not None and a.interval <= 0):
        ap.error("duration must be at least 10 s, interval positive")
    if a.interval is None:
        a.interval = min(60.0, a.duration / 12)
    if a.duration / a.interval < 6:
        ap.error("need at least 6 samples: lower --interval")
    return a


# ---------------------------------------------------------------- clients


class Load(loadgen.Mix):
    """The clients (loadgen.Mix, and slowloris ones), in one asyncio loop
    of their own thread."""

    def __init__(self, port, deadline, scale):
        k = scale
        super().__init__(port, deadline, {"get": 12 * k, "post": 6 * k,
                                          "fresh": 4 * k, "tunnel": 2 * k})
        self.scale = scale
        self.slow = []      # slowloris: (start of first byte, end, status)

    async def slowloris(self):
        """Trickles a head that never ends, a byte every 0.25 s, until
        cutover answers or closes (bounded by OP_TIMEOUT)."""
        head = b"GET /slowloris HTTP/1.1\r\nHost: soak\r\nX-Pad: " + \
            b"a" * 200
        while not self.done():
            writer = None
            first, status = None, 0
            try:
                reader, writer = await self._open()
                got = asyncio.ensure_future(reader.read(4096))
                for i in range(len(head)):
                    writer.write(head[i:i + 1])
                    if first is None:
                        first = time.monotonic()
                    done, _ = await asyncio.wait([got], timeout=0.25)
                    if done or time.monotonic() - first > OP_TIMEOUT:
                        break
                data = await asyncio.wait_for(got, OP_TIMEOUT)
                if data.startswith(b"HTTP/1.1 "):
                    status = int(data[9:12])
            except (OSError, ValueError, asyncio.TimeoutError):
                pass
            finally:
                if writer is not None:
                    writer.close()
            self.slow.append((first, time.monotonic(), status))

    def tasks(self):
        return super().tasks() + [self.slowloris()
                                  for _ in range(4 * self.scale)]


# ---------------------------------------------------------------- sampler


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


class Sampler:
    """RSS (kB) and descriptors of pid at t0 + interval * (0.5, 1.5, ...):
    each sample in the middle of its interval, none at the load's start or
    end.  Each is printed as a TAP diagnostic when taken."""

    def __init__(self, pid, t0, interval, count):
        self.pid, self.t0, self.interval, self.count = pid, t0, interval, \
            count
        self.samples = []       # (seconds since t0, rss kB, fds)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        for i in range(self.count):
            when = self.t0 + (i + 0.5) * self.interval
            if self._stop.wait(max(0.0, when - time.monotonic())):
                return
            x = (time.monotonic() - self.t0, rss_kb(self.pid),
                 fd_count(self.pid))
            self.samples.append(x)
            print("#   sample %7.1f s  VmRSS %8s kB  descriptors %5s" % x)
            sys.stdout.flush()

    def join(self, timeout):
        self._t.join(timeout)
        self._stop.set()


def flat(values, warm, slack_abs, slack_pct=0):
    """(verdict, text): the last third's max against the warm-up's max
    (the first warm values), and no growth at every step after warm-up."""
    if len(values) < 6 or any(v is None for v in values):
        return False, "too few samples: %r" % (values,)
    third = len(values) // 3
    wmax = max(values[:warm])
    lmax = max(values[-third:])
    bound = wmax * (100 + slack_pct) / 100.0 + slack_abs
    after = values[warm - 1:]
    rising = all(b > a for a, b in zip(after, after[1:])) and \
        after[-1] - after[0] > slack_abs / 4
    return (lmax <= bound and not rising,
            "warm-up max %d, last third max %d, bound %d; grows at every "
            "sample after warm-up: %s" % (wmax, lmax, bound, rising))


# ---------------------------------------------------------------- control


class Controller(Pools):
    """Switches, reloads, drains and kills, from one thread, on a plan."""

    def __init__(self, c, members, extra):
        super().__init__(c, members, extra)
        self.reloads = {"same": 0, "add": 0, "remove": 0, "broken": 0}
        self.kills = []             # (name, addr, SIGKILL sent, reaped)
        self.drains = 0
        self.lag_max = 0.0

    def command(self, line):
        self.admin.send(line + "\n")
        return self.admin.reply().split("\n", 1)[0]

    def switch(self):
        target = "green" if self.active == "blue" else "blue"
        first = self.command("switch " + target)
        self.switch_replies[first] = self.switch_replies.get(first, 0) + 1
        if first == "ok":
            self.active = target

    def reload(self, kind):
        self.reloads[kind] += 1
        if kind == "broken":
            # pools that differ (blue-3 toggled, a new green member) and a
            # syntax error: applying any part of it would show
            blue, green = self.members()
            blue = [self.m["blue-1"], self.m["blue-2"]] + \
                ([] if self.with3 else [self.m["blue-3"]])
            broken = self.extra.replace("client_header_ms =",
                                        "connect_ms = ; client_header_ms =")
            assert broken != self.extra
            self.c.reload_file(pools_config(blue, green + ["127.0.0.1:9"],
                                            self.active) + broken)
            rc, out, err = self.c.ctl("reload")
            self.broken_exits.append((rc, (out + err).strip()[:200]))
            self.sighup(False, "broken reload")
            self.check_members("the broken reload")
            self.c.reload_file(self.config())       # restore
            return
        if kind == "add":
            self.with3 = True
        elif kind == "remove":
            self.with3 = False
        self.c.reload_file(self.config())
        self.sighup(True, "reload (%s)" % kind)
        self.check_members("reload (%s)" % kind)

    def member(self, state):
        first = self.command("member blue %s %s" % (self.m["blue-1"].addr,
                                                    state))
        if first != "ok":
            self.problems.append("member %s: %r" % (state, first))
        self.drains += state == "drain"

    def kill(self, name):
        """SIGKILL mid-service, then the same member again on its port,
        and waits until cutover's probes find it up."""
        old = self.m[name]
        sent = time.monotonic()
        os.kill(old.proc.pid, signal.SIGKILL)
        old.proc.wait(10)
        # (name, addr, SIGKILL sent, the process reaped: exited by then)
        self.kills.append((name, old.addr, sent, time.monotonic()))
        time.sleep(0.3)
        new = None
        for _ in range(50):     # the port may be held a moment
            try:
                new = Backend(name, port=old.port)
                break
            except RuntimeError:
                time.sleep(0.1)
        if new is None:
            self.problems.append("%s could not be restarted on %d"
                                 % (name, old.port))
            return
        self.m[name] = new
        pool = name.split("-")[0]
        if not wait_health(self.c, pool, new.addr, "up", 15):
            self.problems.append("%s restarted but not up" % name)

    def plan(self, duration):
        """(offset, kind, arg): a switch every 0.5 s, and cycles of 12 s
        with a reload of each kind, a drain and three kills; no kill while
        blue-1 drains, so no pool is ever left without a member."""
        ev = []
        lo, hi = 2.0, duration - 2.0
        t = lo
        while t < hi:
            ev.append((t, "switch", None))
            t += 0.5
        cycle = 12.0
        script = ((0.05, "reload", "same"), (0.15, "kill", "blue-2"),
                  (0.30, "reload", "add"), (0.40, "member", "drain"),
                  (0.50, "reload", "broken"), (0.58, "member", "ready"),
                  (0.65, "kill", "green-2"), (0.75, "reload", "remove"),
                  (0.85, "kill", "blue-2"))
        k = 0
        while lo + k * cycle < hi:
            for frac, kind, arg in script:
                at = lo + (k + frac) * cycle
                if at < hi:
                    ev.append((at + 0.01, kind, arg))
            k += 1
        if not any(e[2] == "ready" for e in ev):
            raise ValueError("too short for one cycle")
        # a drain left open by the end gets its ready
        if [e[2] for e in ev if e[1] == "member"][-1] == "drain":
            ev.append((hi, "member", "ready"))
        return sorted(ev, key=lambda e: e[0])

    def run(self, t0, events, deadline):
        self.lag_max = run_plan(
            t0, events, deadline,
            lambda kind, arg: getattr(self, kind)(*([arg] if arg else [])))


# ---------------------------------------------------------------- verdict


def main():
    a = parse_args()
    s = Suite()
    asan = sanitized() or sanitized(what="tsan")
    nsamples = int(a.duration / a.interval)
    title = "soak %ds, a sample every %gs" % (a.duration, a.interval)

    @s.scenario(title, timeout=a.duration * 2 + 180)
    def _():
        names = ("blue-1", "blue-2", "blue-3", "green-1", "green-2")
        members = {n: Backend(n) for n in names}
        # one member up suffices to switch (one may be drained or dead);
        # a probe every 100 ms, up after 1 (a restarted member comes back
        # at once), down after 2 failures
        extra = ("switch = { min_healthy = 1; };\n"
                 "timeouts = { client_header_ms = %d; };\n"
                 "log = { access = \"json\"; };\n" % HEADER_MS +
                 health_config("rise = 1; fall = 2;"))
        # started below, with stdout (the access log) in its own dir
        c, access = start_cutover(s, members, extra)
        idle_before = fd_count(c.pid)
        ctl = Controller(c, members, extra)
        events = ctl.plan(a.duration)
        t0 = time.monotonic()
        load = Load(c.port, t0 + a.duration, a.clients_scale)
        lt = threading.Thread(target=load.run, daemon=True)
        sampler = Sampler(c.pid, t0, a.interval, nsamples)
        s._diag("samples (seconds since the load began):")
        lt.start()
        ctl.run(t0, events, t0 + a.duration)
        lt.join(a.duration + 5 * OP_TIMEOUT)
        s.ok(not lt.is_alive(), "the clients finished in time")
        sampler.join(a.interval + 5)

        warm = max(1, len(sampler.samples) // 3)
        fds = [x[2] for x in sampler.samples]
        rss = [x[1] for x in sampler.samples]
        ok, text = flat(fds, warm, FD_SLACK)
        s.ok(ok, "descriptors are flat after warm-up (last third within "
             "%d of the warm-up's max)" % FD_SLACK, text)
        ok, text = flat(rss, warm, RSS_SLACK_KB, RSS_SLACK_PCT)
        if asan:
            s._diag("RSS under a sanitizer, not judged: " + text)
        else:
            s.ok(ok, "RSS is flat after warm-up (last third within %d%% + "
                 "%d kB of the warm-up's max)" % (RSS_SLACK_PCT,
                                                  RSS_SLACK_KB), text)

        # every failure classified
        recs = [r for r in load.recs if r.end is not None]
        excused, lost, kinds = tally(recs, access, ctl.kills)
        s._diag("operations (ok, failed) by kind: %s" % json.dumps(
            kinds, sort_keys=True))
        s._diag("failures excused (their member was killed while serving "
                "them): %s" % json.dumps(excused, sort_keys=True))
        resent = len(re.findall(r"resent to another member", c.log_text()))
        s._diag("kills: %d; requests cutover resent to another member: %d"
                % (len(ctl.kills), resent))
        s.ok(sum(excused.values()) + resent >= 1, "the kills hit "
             "requests in flight (excused failures or requests resent)")
        s.eq(len(lost), 0, "no request a live member could have served "
             "was lost",
             "\n".join("%r (t0+%.3f) access log: %r" % (r, r.start - t0, e)
                       for r, e in lost[:20]) +
             "\nkills (t0+s): %r" % [(n, round(t - t0, 3))
                                     for n, _, t, _ in ctl.kills])
        for kind in ("get", "post", "get-new", "post-new", "tunnel"):
            s.ok(kinds.get(kind, [0])[0] >= 10, "%s: at least 10 "
                 "succeeded" % kind, kinds.get(kind))
        s.ok(any(r.id % 10 == 0 for r in recs
                 if r.kind == "get" and r.err is None),
             "slow GETs (/delay) were among them")

        slow = load.slow
        s._diag("slowloris: %d clients, statuses %r, seconds from first "
                "byte to answer: min %.2f max %.2f" % (
                    len(slow), sorted({x[2] for x in slow}),
                    min((x[1] - x[0] for x in slow if x[0]), default=0),
                    max((x[1] - x[0] for x in slow if x[0]), default=0)))
        bad = [x for x in slow if x[0] is None or x[2] != 408 or
               not HEADER_MS / 1000.0 * 0.95 <= x[1] - x[0] <= OP_TIMEOUT]
        s.ok(len(slow) >= 4 and not bad, "every slowloris client got 408 "
             "once client_header_ms (%d) had passed since its first byte"
             % HEADER_MS, bad[:10])

        s._diag("switches: replies %r; reloads %r; drains %d; controller "
                "lag max %.0f ms" % (ctl.switch_replies, ctl.reloads,
                                     ctl.drains, 1000 * ctl.lag_max))
        nswitch = sum(1 for e in events if e[1] == "switch")
        s.eq(ctl.switch_replies, {"ok": nswitch}, "all %d switches were "
             "accepted" % nswitch)
        s.ok(all(ctl.reloads[k] >= 1 for k in ctl.reloads),
             "reloads of every kind ran", ctl.reloads)
        s.ok(ctl.broken_exits and all(rc == 1 for rc, _ in
                                      ctl.broken_exits),
             "the broken file was refused: cutoverctl reload exits 1",
             ctl.broken_exits)
        s.eq(ctl.problems, [], "every reload had its outcome and left "
             "exactly the configured members; drains and restarts worked")
        s.ok(len(ctl.kills) >= 3, "members were killed and restarted",
             ctl.kills)
        s.ok(ctl.m["blue-3"].saw("/") > 0, "the added member blue-3 took "
             "requests")

        s.ok(c.alive(), "cutover is still running")
        st = {}

        def settled():
            st.update(c.status_json())
            return st["connections_open"] <= 1 and all(
                p["inflight"] == 0 for p in st["pools"].values())
        s.ok(wait_until(settled, 15), "afterwards: no client connection "
             "left open, inflight 0", c.status())
        s._diag("descriptors idle: before the load %s, after %s" % (
            idle_before, fd_count(c.pid)))
        ctl.admin.close()
        rc = c.stop(30)
        s.eq(rc, 0, "cutover exits 0 at SIGTERM after the soak")
        s.ok(not re.search(r"Sanitizer|runtime error", c.log_text()),
             "no sanitizer report in cutover's log",
             c.log_tail(60))

    s.done()


if __name__ == "__main__":
    main()
