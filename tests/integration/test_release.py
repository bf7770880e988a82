#!/usr/bin/env python3
"""The fleet switch: k8s/cutover-release against three real cutover
processes ("Pods") on loopback, through the stand-in kubectl (tests/kubectl)
that maps `kubectl exec POD -- cutoverctl ...` onto each one's admin socket
and `kubectl patch configmap` onto a file, projected into each Pod's
ConfigMap directory as the kubelet does (the Pods watch it).

Under client load, the Pods stop answering from blue within a few
milliseconds of each other; a Pod whose gate refuses, or that does not
answer the prepare, leaves every Pod on blue; a Pod restarted with a fresh
state directory comes back on the patched ConfigMap's colour; --rollback
and --dry-run."""

import http.client
import importlib.machinery
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from harness import (CUTOVER_BIN, CUTOVERCTL_BIN, HEALTH_CONFIG, SRCDIR,
                     TEST_WORKERS, Backend, Cutover, Suite, dead_addr,
                     wait_until)

s = Suite()

# An idle admin connection is closed after 60 s (ADMIN_IDLE_MS).  It is
# checked here, where the fleet's scenarios take about a minute anyway:
# this cutover and its connection start before the first of them and are
# looked at by the last one, which waits only for what is left of the 60 s.
IDLE_S = 60
IDLE_BOUND = 2.0        # s: how late the close may come on a busy machine
idle_backend = Backend("idle")
idle_cutover = Cutover(blue=[idle_backend], green=[idle_backend])
idle_conn = idle_cutover.admin_conn()
idle_version = idle_conn.command("version")
idle_since = time.monotonic()

RELEASE = os.path.join(SRCDIR, "k8s", "cutover-release")
STANDIN = os.path.join(SRCDIR, "tests", "kubectl")
SPREAD_BOUND = 0.150    # s: generous for a noisy 2-core machine
LOAD_SECONDS = 30       # every load loop stops by then ...
LOAD_MAX = 50000        # ... or after this many requests per client

_loader = importlib.machinery.SourceFileLoader("kubectl_standin", STANDIN)
_spec = importlib.util.spec_from_loader("kubectl_standin", _loader)
standin = importlib.util.module_from_spec(_spec)
_loader.exec_module(standin)

# The ConfigMap's cutover.conf, shared by the Pods; @DIR@ is each Pod's
# (the stand-in substitutes it when it projects the file), and so is the
# green address where a Pod has its own.  @BLUE@ and @GREEN@ are the
# fleet's backends, so that the ConfigMap passes `cutover -t` as such.
HEAD = """listen = [ "127.0.0.1:0" ];
admin = { socket = "@DIR@/admin.sock"; };
workers = %d;
shutdown = { grace_ms = 3000; };
%s""" % (TEST_WORKERS, HEALTH_CONFIG)
DECLARED = """active = "blue";
generation = 1;
"""
TAIL = """watch_config = true;
state_file = "@DIR@/state/active";
pools = {
  blue = { members = [ "@BLUE@" ]; };
  green = { members = [ "@GREEN@" ]; };
};
"""


class Fleet:
    """Three Pods, the ConfigMap file, the stand-in's configuration."""

    def __init__(self, blue, greens, sleep=None, declared=DECLARED,
                 eol="\n"):
        self.dir = tempfile.mkdtemp(prefix="cutover-release-")
        self.bin = os.path.join(self.dir, "bin")
        os.mkdir(self.bin)
        os.symlink(STANDIN, os.path.join(self.bin, "kubectl"))
        self.cm_file = os.path.join(self.dir, "cm.json")
        self.log = os.path.join(self.dir, "kubectl.log")
        conf = (HEAD + declared + TAIL).replace("@BLUE@", blue.addr) \
            .replace("@GREEN@", greens[0]).replace("\n", eol)
        self.write_configmap(conf)
        self.pods = {}
        self.cfg = {"namespace": "prod", "cutoverctl": CUTOVERCTL_BIN,
                    "configmap": {"name": "cutover", "file": self.cm_file},
                    "log": self.log, "pods": {}}
        for i, green in enumerate(greens):
            name = "cutover-%d" % i
            c = Cutover(config="", start=False)
            mount = os.path.join(c.dir, "cm")
            os.mkdir(os.path.join(c.dir, "state"))
            pod = {"socket": c.sock, "labels": {"app": "cutover"},
                   "mount": mount,
                   "subst": {"@DIR@": c.dir}}
            if green != greens[0]:
                pod["subst"][greens[0]] = green
            if sleep and name in sleep:
                pod["sleep"] = sleep[name]
            self.cfg["pods"][name] = pod
            self.project(name)
            c.conf = os.path.join(mount, "cutover.conf")
            self.pods[name] = c
        # a Pod of another Deployment: the selector leaves it out
        self.cfg["pods"]["other-0"] = {"socket": "/nonexistent",
                                       "labels": {"app": "other"}}
        self.write_cfg()
        for c in self.pods.values():
            c.config_text = self.configmap_text()
            c.start()

    def write_cfg(self):
        self.cfg_file = os.path.join(self.dir, "standin.json")
        with open(self.cfg_file, "w") as f:
            json.dump(self.cfg, f)

    def write_configmap(self, text):
        """The ConfigMap as an edit that has not reached the Pods."""
        with open(self.cm_file, "w") as f:
            json.dump({"metadata": {"name": "cutover"},
                       "data": {"cutover.conf": text}}, f)

    def configmap_text(self):
        with open(self.cm_file) as f:
            return json.load(f)["data"]["cutover.conf"]

    def project(self, name):
        pod = self.cfg["pods"][name]
        standin.project(pod["mount"], {"cutover.conf": self.configmap_text()},
                        pod["subst"])

    def release(self, *args, timeout=90, cutover=CUTOVER_BIN):
        """Runs the script; cutover: the binary it checks the rewritten
        ConfigMap with (None: none at hand)."""
        env = dict(os.environ, KUBECTL_STANDIN=self.cfg_file,
                   PATH=self.bin + os.pathsep + os.environ.get("PATH", ""),
                   CUTOVER_BIN=cutover or "")
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, RELEASE, "-n", "prod"] +
                           list(args), env=env, capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        return (p.returncode, p.stdout.decode(), p.stderr.decode(),
                time.monotonic() - t0)

    def kubectl(self, argv):
        """Runs argv (kubectl ...) as an operator would, through the
        stand-in; returns its exit code."""
        env = dict(os.environ, KUBECTL_STANDIN=self.cfg_file,
                   PATH=self.bin + os.pathsep + os.environ.get("PATH", ""))
        return subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30).returncode

    def wrap_ctl(self, script, **consts):
        """The Pods' cutoverctl becomes script, a Python program run with
        REAL (the real cutoverctl) and consts defined; the stand-in runs
        it as `cutoverctl -s SOCKET ARGS`."""
        path = os.path.join(self.dir, "cutoverctl-wrapper")
        consts["REAL"] = CUTOVERCTL_BIN
        with open(path, "w") as f:
            f.write("#!%s\n" % sys.executable)
            for k, v in sorted(consts.items()):
                f.write("%s = %r\n" % (k, v))
            f.write(script)
        os.chmod(path, 0o755)
        self.cfg["cutoverctl"] = path
        self.write_cfg()

    def restart_fresh(self, name):
        """Restarts a Pod as a new one: without its state file."""
        c = self.pods[name]
        c.stop()
        os.unlink(os.path.join(c.dir, "state", "active"))
        # a new log: start() waits for this start's "started with"
        os.rename(c.logfile, c.logfile + ".1")
        c.start()
        return c.status_json()

    def calls(self):
        """The stand-in's log: [argv, ...]."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line)["argv"] for line in f]

    def patches(self):
        return [a for a in self.calls() if "patch" in a]

    def state(self):
        """{pod: (active, release generation, scheduled_last result)}."""
        out = {}
        for name, c in self.pods.items():
            j = c.status_json()
            last = j["scheduled_last"]
            out[name] = (j["active"], j["release"]["generation"],
                         last["result"] if last else None)
        return out

    def all_healthy(self, pools=("blue", "green"), timeout=10):
        return all(c.wait_pool_healthy(p, timeout)
                   for c in self.pods.values() for p in pools)


class Load:
    """Clients on keep-alive connections to one Pod: for each response,
    (sent, received, colour), wall-clock times.  Bounded in count and
    time."""

    def __init__(self, port, clients=2):
        self.port = port
        self.stop_ev = threading.Event()
        self.samples = []
        self.errors = []
        self.threads = [threading.Thread(target=self._run, daemon=True)
                        for _ in range(clients)]
        for t in self.threads:
            t.start()

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        mine = []
        end = time.monotonic() + LOAD_SECONDS
        for _ in range(LOAD_MAX):
            if self.stop_ev.is_set() or time.monotonic() > end:
                break
            try:
                sent = time.time()
                conn.request("GET", "/")
                r = conn.getresponse()
                r.read()
                mine.append((sent, time.time(), r.getheader("X-Backend")))
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                  timeout=5)
        conn.close()
        self.samples.extend(mine)

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(10)


def switch_window(samples):
    """(last blue request sent, first green response received): the Pod
    switched between the two."""
    blue = [x[0] for x in samples if x[2] == "blue"]
    green = [x[1] for x in samples if x[2] == "green"]
    if not blue or not green:
        return None
    return max(blue), min(green)


@s.scenario("fleet: dry run, switch under load, restart, rollback")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 3)
    s.ok(f.all_healthy(), "every Pod sees blue and green healthy")

    rc, out, err, _ = f.release("status")
    s.eq(rc, 0, "status exits 0", out + err)
    s.ok(all(re.search(r"^%s\s+blue\s+1\s+blue 1\s+1/1\s+1/1" % n, out,
                       re.M) for n in f.pods),
         "status: a row per Pod: blue, release 1, declared blue 1, "
         "both pools 1/1", out)
    s.ok("other-0" not in out, "the selector leaves other Pods out", out)

    n_calls = len(f.calls())
    rc, out, err, _ = f.release("--dry-run", "switch", "green")
    s.eq(rc, 0, "--dry-run exits 0", out + err)
    s.ok("would run: kubectl exec cutover-0 -- cutoverctl switch green at "
         in out and "gen 2" in out, "--dry-run says what it would run", out)
    dry = f.calls()[n_calls:]
    s.ok(all(a[-3:] == ["cutoverctl", "status", "json"] or a[2:4] ==
             ["get", "pods"] or a[2:4] == ["get", "configmap"] for a in dry),
         "--dry-run only reads", dry)
    s.eq(set(f.state().values()), {("blue", 1, None)},
         "--dry-run changed no Pod", f.state())

    loads = {n: Load(c.port) for n, c in f.pods.items()}
    time.sleep(0.5)
    rc, out, err, took = f.release("switch", "green")
    time.sleep(0.3)
    for ld in loads.values():
        ld.stop()
    s.eq(rc, 0, "switch green exits 0 (took %.1f s)" % took, out + err)
    s.eq(set(f.state().values()), {("green", 2, "switched")},
         "every Pod: green, release generation 2, switched at the instant",
         f.state())
    patches = f.patches()
    s.eq(len(patches), 1, "one ConfigMap patch", patches)
    text = f.configmap_text()
    s.ok(re.search(r'^active = "green";$', text, re.M) and
         re.search(r"^generation = 2;$", text, re.M),
         "the ConfigMap says green, generation 2", text)
    s.ok(all(c.status_json()["release"]["declared"] ==
             {"pool": "green", "generation": 2, "applied": True,
              "why": None} for c in f.pods.values()),
         "every Pod's watch loaded the patched ConfigMap: declared green 2, "
         "applied", [c.status_json()["release"] for c in f.pods.values()])
    s.eq(len(re.findall(r"^cutover-\d\s+green\s+2\s+green 2\s", out,
                        re.M)), 3,
         "the final table: every Pod green, 2", out)

    # the instant: blue stops and green starts within a few ms on all
    at = f.pods["cutover-0"].status_json()["scheduled_last"]["at_ms"] / 1e3
    wins = {n: switch_window(ld.samples) for n, ld in loads.items()}
    s.ok(all(wins.values()), "every Pod answered from blue, then green",
         {n: len(ld.samples) for n, ld in loads.items()})
    s.eq([e for ld in loads.values() for e in ld.errors], [],
         "no client saw an error")
    if all(wins.values()):
        bound = max(w[1] for w in wins.values()) - \
            min(w[0] for w in wins.values())
        mids = [(w[0] + w[1]) / 2 for w in wins.values()]
        spread = max(mids) - min(mids)
        lags = []
        for c in f.pods.values():
            m = re.search(r"scheduled switch to green at \S+: done; timer "
                          r"([-+][\d.]+) ms, switched ([-+][\d.]+) ms",
                          c.log_text())
            lags.append("%s/%s" % (m.group(1), m.group(2)) if m else "?")
        print("# switch instants: last blue sent .. first green received, "
              "relative to the instant: %s; spread of midpoints %.1f ms; "
              "upper bound across Pods %.1f ms; each Pod's timer fired/"
              "switch done, from its log: %s ms" % (
                  ", ".join("%+.1f..%+.1f ms" % ((w[0] - at) * 1e3,
                                                 (w[1] - at) * 1e3)
                            for w in wins.values()),
                  spread * 1e3, bound * 1e3, ", ".join(lags)))
        s.ok(bound < SPREAD_BOUND, "the last blue and the first green of "
             "every Pod lie within %.0f ms across Pods (%.1f ms)" %
             (SPREAD_BOUND * 1e3, bound * 1e3), wins)
        s.ok(all(w[1] >= at - 0.002 for w in wins.values()),
             "no green response before the instant", (at, wins))

    # a new Pod (fresh state directory) starts on the ConfigMap's colour
    c = f.pods["cutover-1"]
    j = f.restart_fresh("cutover-1")
    s.eq((j["active"], j["release"]["generation"]), ("green", 2),
         "a restarted Pod without its state file starts on green, 2", j)
    s.ok(c.wait_log(r"active pool green \(from configuration", 1),
         "... from the configuration, says its log", c.log_tail(8))

    rc, out, err, _ = f.release("--rollback")
    s.eq(rc, 0, "--rollback exits 0", out + err)
    s.eq(set(f.state().values()), {("blue", 3, "switched")},
         "--rollback: every Pod blue, release generation 3", f.state())
    text = f.configmap_text()
    s.ok(re.search(r'^active = "blue";$', text, re.M) and
         re.search(r"^generation = 3;$", text, re.M),
         "the ConfigMap says blue, generation 3", text)
    s.eq(len(f.patches()), 2, "a second patch, no more", f.patches())


@s.scenario("fleet: one Pod's gate refuses: every Pod stays on blue")
def _():
    blue, green = Backend("blue"), Backend("green")
    dead = dead_addr()
    f = Fleet(blue, [green.addr, dead, green.addr])
    s.ok(f.all_healthy(("blue",)), "every Pod sees blue healthy")
    s.ok(f.pods["cutover-0"].wait_pool_healthy("green") and
         f.pods["cutover-2"].wait_pool_healthy("green"),
         "green is healthy on cutover-0 and cutover-2")
    rc, out, err, took = f.release("switch", "green")
    s.eq(rc, 1, "switch green exits 1 (took %.1f s)" % took, out + err)
    s.ok("cutover-1" in err and "cancelled" in err, "the error names the "
         "Pod and says every Pod cancelled", err)
    s.ok(re.search(r"^cutover-1 .*prepare: .*green has 0 of 1 members "
                   r"healthy", out, re.M),
         "the table says why cutover-1 refused", out)
    at = max(int(a[a.index("at") + 1]) for a in f.calls()
             if "at" in a and "switch" in a) / 1e3
    time.sleep(max(0, at - time.time()) + 0.3)
    st = f.state()
    s.eq({n: v[:2] for n, v in st.items()},
         {n: ("blue", 1) for n in f.pods},
         "after the instant every Pod still serves blue, generation 1", st)
    s.eq((st["cutover-0"][2], st["cutover-2"][2]), ("cancelled",
                                                   "cancelled"),
         "the two that accepted cancelled their switch", st)
    s.eq(f.patches(), [], "the ConfigMap was not patched")


@s.scenario("fleet: a Pod that does not answer the prepare cancels the rest")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 3, sleep={"cutover-2": {"switch": 30}})
    s.ok(f.all_healthy(), "every Pod sees blue and green healthy")
    rc, out, err, took = f.release("switch", "green")
    s.eq(rc, 1, "switch green exits 1", out + err)
    s.ok(took < 15, "... without waiting for the silent Pod (%.1f s)" %
         took)
    s.ok("cutover-2" in err, "the error names the silent Pod", err)
    s.ok(re.search(r"^cutover-2 .*no answer", out, re.M),
         "the table says cutover-2 did not answer", out)
    time.sleep(0.5)
    st = f.state()
    s.eq({n: v[:2] for n, v in st.items()},
         {n: ("blue", 1) for n in f.pods},
         "every Pod still serves blue, generation 1", st)
    s.eq((st["cutover-0"][2], st["cutover-1"][2]), ("cancelled",
                                                   "cancelled"),
         "the others cancelled", st)
    s.eq(f.patches(), [], "the ConfigMap was not patched")

    rc, out, err, _ = f.release("switch", "purple")
    s.eq(rc, 2, "an unknown pool: usage error, exit 2", err)
    rc, out, err, _ = f.release("frobnicate")
    s.eq(rc, 2, "an unknown command: exit 2", err)


# the declared colour among comments, with CRLF line ends (the Pods'
# release generation starts at 5, the ConfigMap's)
COMMENTED = """/* the old colour, kept for reference:
active = "green";
generation = 9;
*/
# active = "green";   (by hand, once)
active = "blue";  // set by cutover-release
generation = 5;  # bumped by cutover-release
"""


@s.scenario("fleet: comments and CRLF around the declared colour: only the "
            "real settings change")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 2, declared=COMMENTED, eol="\r\n")
    s.ok(f.all_healthy(), "every Pod sees blue and green healthy")
    want = f.configmap_text().replace(
        'active = "blue";  //', 'active = "green";  //').replace(
        "generation = 5;  #", "generation = 6;  #")
    rc, out, err, took = f.release("switch", "green")
    s.eq(rc, 0, "switch green exits 0 (took %.1f s)" % took, out + err)
    s.ok("ConfigMap 5" in out and "passes cutover -t" in out,
         "the ConfigMap's generation 5 is read, the rewrite passes "
         "cutover -t", out)
    s.eq(f.configmap_text(), want, "the patch changed the values of the "
         "real active and generation only: comments and CRLF kept")
    s.eq(set(f.state().values()), {("green", 6, "switched")},
         "every Pod: green, release generation 6", f.state())
    s.ok(all(c.status_json()["release"]["declared"] ==
             {"pool": "green", "generation": 6, "applied": True,
              "why": None} for c in f.pods.values()),
         "every Pod declares green 6 from the patched ConfigMap",
         [c.status_json()["release"] for c in f.pods.values()])
    j = f.restart_fresh("cutover-1")
    s.eq((j["active"], j["release"]["generation"]), ("green", 6),
         "a new Pod starts on green, 6", j)


@s.scenario("fleet: a ConfigMap that would not load, or a generation past "
            "2147483647, is refused before any Pod is asked")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 2)
    s.ok(f.all_healthy(), "every Pod sees blue and green healthy")
    good = f.configmap_text()

    def refused(what, args, expect, cutover=CUTOVER_BIN):
        n = len(f.calls())
        rc, out, err, _ = f.release(*args, cutover=cutover)
        s.eq(rc, 1, "%s: exit 1" % what, out + err)
        s.ok(all(w in err for w in expect + ["nothing changed"]),
             "%s: the error says why, and that nothing changed" % what,
             err)
        s.ok(all(a[-2:] == ["status", "json"] or a[2] == "get"
                 for a in f.calls()[n:]),
             "%s: only reads, no Pod asked to switch" % what,
             f.calls()[n:])

    # an edit of the ConfigMap that has not reached the Pods
    f.write_configmap(good + 'colour = "blue";\n')
    refused("an unknown setting", ["switch", "green"],
            ["colour: unknown setting", "would not load"])
    refused("... --dry-run too", ["--dry-run", "switch", "green"],
            ["colour: unknown setting"])
    f.write_configmap(good + 'active = "green";\n')
    refused("two settings active", ["switch", "green"],
            ["duplicate setting active"])
    s.eq(set(f.state().values()), {("blue", 1, None)},
         "every Pod still blue, 1, nothing scheduled", f.state())
    s.eq(f.patches(), [], "the ConfigMap was not patched")

    # without a cutover binary the check is structural: the Pods' reload
    # of the patched ConfigMap fails, and the script says so at once
    f.write_configmap(good + 'colour = "blue";\n')
    rc, out, err, took = f.release("switch", "green", "--wait", "60",
                                   cutover=None)
    s.eq(rc, 1, "no cutover binary: the switch is done, the reload of the "
         "ConfigMap fails on the Pods: exit 1", out + err)
    s.ok("structural check" in out, "... it says it only checked the "
         "structure", out)
    s.ok(took < 30 and "reload failed" in err and
         "colour: unknown setting" in err,
         "... and says at once that the Pods cannot load it (%.1f s)" %
         took, err)

    # the Pods run generation 2147483647: there is no next one
    f.write_configmap(good)
    for c in f.pods.values():
        c.ctl("switch", "green", "gen", "2147483647")
    s.eq({v[:2] for v in f.state().values()}, {("green", 2147483647)},
         "every Pod runs release generation 2147483647", f.state())
    refused("a generation past 2147483647", ["switch", "blue"],
            ["2147483648", "above 2147483647"])
    s.eq({v[:2] for v in f.state().values()}, {("green", 2147483647)},
         "every Pod still green, 2147483647", f.state())


@s.scenario("fleet: a cancel that does not reach a Pod: the fleet is split, "
            "the script says so, and its commands mend it")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr, dead_addr()],
              sleep={"cutover-0": {"cancel": 30}})
    s.ok(f.all_healthy(("blue",)) and
         f.pods["cutover-0"].wait_pool_healthy("green"),
         "blue healthy everywhere, green on cutover-0")
    rc, out, err, took = f.release("switch", "green")
    s.eq(rc, 1, "switch green exits 1 (took %.1f s)" % took, out + err)
    st = f.state()
    s.eq((st["cutover-0"][:2], st["cutover-1"][:2]),
         (("green", 2), ("blue", 1)),
         "cutover-0 never got its cancel and switched, cutover-1 refused",
         st)
    s.ok("nothing changed" not in err and "the fleet is split" in err and
         "cutover-0 switched to green at generation 2" in err and
         "cutover-1 did not" in err,
         "the error says the fleet is split, and how", err)
    s.ok(re.search(r"^cutover-0\s+green\s+2\s", out, re.M) and
         re.search(r"^cutover-1\s+blue\s+1\s.*prepare: ", out, re.M),
         "the table shows each Pod's real state", out)
    s.eq(f.patches(), [], "the ConfigMap was not patched")
    fix = re.findall(r"^  (kubectl .*)$", err, re.M)
    s.eq(fix, ["kubectl -n prod exec cutover-0 -- cutoverctl switch blue "
               "gen 3"], "the commands that put it back", err)
    s.ok(all(f.kubectl(line.split()) == 0 for line in fix),
         "they run")
    s.eq({v[:2] for v in f.state().values()}, {("blue", 3), ("blue", 1)},
         "every Pod is back on blue", f.state())


LATE_PREPARE = """
import os, subprocess, sys, time
args = sys.argv[1:]
if args[1] == SOCK and args[2:3] == ["cancel"] and os.path.exists(AT):
    # and every cancel the script sends it arrives after the instant
    with open(AT) as f:
        time.sleep(max(0.0, float(f.read()) + 0.05 - time.time()))
if args[1] == SOCK and args[2:3] == ["switch"]:
    # the remote prepare outlives the kubectl exec that carried it and
    # reaches the Pod 150 ms before the instant
    at = int(args[args.index("at") + 1]) / 1000.0
    with open(AT, "w") as f:
        f.write(repr(at))
    if os.fork() == 0:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        time.sleep(max(0.0, at - 0.150 - time.time()))
        p = subprocess.run([REAL] + args, capture_output=True)
        with open(OUT, "w") as f:
            f.write("%d %s" % (p.returncode, p.stdout.decode()))
        os._exit(0)
    time.sleep(max(0.0, at + 1 - time.time()))
    sys.exit(1)
os.execv(REAL, [REAL] + args)
"""


def wrapped_switch(script, *files):
    """Two Pods, cutover-1's cutoverctl wrapped by script (SOCK: its
    socket; each of files: a path in the fleet's directory), and `switch
    green`, which must exit 1; returns the fleet, stdout and stderr."""
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 2)
    s.ok(f.all_healthy(), "every Pod sees blue and green healthy")
    f.wrap_ctl(script, SOCK=f.pods["cutover-1"].sock,
               **{n: os.path.join(f.dir, n.lower()) for n in files})
    rc, out, err, took = f.release("switch", "green")
    s.eq(rc, 1, "switch green exits 1 (took %.1f s)" % took, out + err)
    return f, out, err


@s.scenario("fleet: a prepare that reaches a Pod just before the instant, "
            "its cancels after it: the fleet is split, the script says so")
def _():
    f, out, err = wrapped_switch(LATE_PREPARE, "OUT", "AT")
    late = os.path.join(f.dir, "out")
    s.ok(re.search(r"^cutover-1 .*prepare: no answer", out, re.M),
         "cutover-1's prepare did not answer in time", out)
    s.ok(wait_until(lambda: os.path.exists(late), 5),
         "the late prepare reached cutover-1")
    with open(late) as fl:
        answer = fl.read()
    s.ok(answer.startswith("0 "), "... and it accepted it", answer)
    st = f.state()
    s.eq({n: v[:2] for n, v in st.items()},
         {"cutover-0": ("blue", 1), "cutover-1": ("green", 2)},
         "cutover-1 switched at the instant, cutover-0 cancelled", st)
    s.ok("the fleet is split" in err and "cutover-1 switched to green" in
         err and "cutover-0 did not" in err and "nothing changed" not in
         err, "the error says the fleet is split", err)
    s.ok(re.search(r"^cutover-1\s+green\s+2\s.*prepare: no answer", out,
                   re.M), "the table shows cutover-1 on green", out)
    s.eq(f.patches(), [], "the ConfigMap was not patched")


GARBAGE_STATUS = """
import os, sys
args = sys.argv[1:]
if args[1] == SOCK:
    if args[2:3] == ["switch"]:
        open(MARK, "w").close()
    if args[2:4] == ["status", "json"] and os.path.exists(MARK):
        print('{"active": "green", "release": null}')
        sys.exit(0)
os.execv(REAL, [REAL] + args)
"""


@s.scenario("fleet: a Pod whose status JSON is malformed is reported, "
            "without a traceback, and nothing is patched")
def _():
    f, out, err = wrapped_switch(GARBAGE_STATUS, "MARK")
    s.ok("Traceback" not in err, "no traceback", err)
    s.ok(re.search(r"^cutover-1 .*bad status from cutover-1: "
                   r"status\S* ", out, re.M),
         "the table says cutover-1 gave a bad status", out)
    s.ok("the fleet is split" in err and
         "the state of cutover-1 is unknown" in err,
         "the error says cutover-1's state is unknown", err)
    s.eq(f.patches(), [], "the ConfigMap was not patched")
    rc, out, err, _ = f.release("status")
    s.ok(rc == 1 and "Traceback" not in err and
         "bad status from cutover-1" in out,
         "status: exit 1, the bad status in the table", (rc, out, err))


def guard_fleet(bad):
    """Two Pods on blue, each with its own green; with bad, cutover-1's
    green answers 500 to requests (its probes stay healthy).  Returns
    the fleet and a load on cutover-1 while `switch green --guard 4`
    runs, and the script's result."""
    blue, g0, g1 = Backend("blue"), Backend("green"), Backend("green")
    if bad:
        g1.control("code=500", what="answer")
    f = Fleet(blue, [g0.addr, g1.addr])
    s.ok(f.all_healthy(), "both Pods see both pools healthy")
    load = Load(f.pods["cutover-1"].port, clients=1)
    try:
        res = f.release("--guard", "4", "switch", "green", timeout=120)
    finally:
        load.stop()
    return f, res


@s.scenario("fleet: --guard, one Pod's green fails: every Pod is rolled "
            "back, exit 1 naming it")
def _():
    f, (rc, out, err, took) = guard_fleet(True)
    s.eq(rc, 1, "exit 1 (took %.1f s)" % took, out + err)
    s.ok(re.search(r"guard: cutover-1 rolled back green: .*5xx \d+ of "
                   r"\d+", err) is not None and
         "every Pod was rolled back to blue" in err,
         "the error names cutover-1, why, and the fleet rollback", err)
    s.ok("rolling every Pod back to blue" in out, "it says it rolls back",
         out)
    prepares = [a for a in f.calls() if "switch" in a and "at" in a]
    s.ok(any(a[-2:] == ["guard", "4"] for a in prepares) and
         any(a[-2:] == ["guard", "0"] for a in prepares),
         "the switch carried guard 4, the fleet rollback guard 0",
         prepares)
    st = f.state()
    s.eq({n: v[:2] for n, v in st.items()},
         {n: ("blue", 3) for n in f.pods},
         "every Pod serves blue, release generation 3", st)
    g = {n: c.status_json()["guard"] for n, c in f.pods.items()}
    s.ok(g["cutover-1"]["rollbacks_total"] == 1 and
         g["cutover-0"]["rollbacks_total"] == 0,
         "cutover-1's guard rolled back, cutover-0's did not", g)
    cm = f.configmap_text()
    s.ok('active = "blue"' in cm and "generation = 3" in cm and
         'active = "green"' not in cm,
         "the ConfigMap never declared green: blue at generation 3", cm)


@s.scenario("fleet: --guard, both Pods healthy: every Pod passes")
def _():
    f, (rc, out, err, took) = guard_fleet(False)
    s.eq(rc, 0, "exit 0 (took %.1f s)" % took, out + err)
    s.ok("guard: every Pod passed (4 s on green)" in out,
         "it says every Pod passed", out)
    s.ok(took >= 4, "not before the 4 s window ended", took)
    st = f.state()
    s.eq({n: v[:2] for n, v in st.items()},
         {n: ("green", 2) for n in f.pods},
         "every Pod serves green, release generation 2", st)
    s.ok(all(c.status_json()["guard"]["state"] == "passed"
             for c in f.pods.values()), "each Pod's guard passed")
    rc, out, err, _ = f.release("--guard", "0", "switch", "blue")
    s.ok(rc == 2 and "1 to 3600" in err, "--guard 0: a usage error (exit 2)",
         (rc, out, err))
    rc, out, err, _ = f.release("--guard", "5", "--rollback")
    s.ok(rc == 2 and "--guard goes with switch POOL" in err,
         "--guard with --rollback: a usage error", (rc, out, err))


STATUS_LOST = """
import os, sys, time
args = sys.argv[1:]
if args[1] == SOCK:
    if os.path.exists(LOST):
        if MODE == "dead":
            sys.stderr.write("error: container not found\\n")
            sys.exit(1)
        if args[2:4] == ["status", "json"]:
            print('{"active": "gree')
            sys.exit(0)
    elif args[2:3] == ["switch"] and "at" in args:
        with open(AT, "w") as f:
            f.write(args[args.index("at") + 1])
    elif args[2:4] == ["status", "json"] and os.path.exists(AT):
        with open(AT) as f:
            if time.time() * 1000 > int(f.read()):
                # the first status after the instant is the last good one
                open(LOST, "w").close()
os.execv(REAL, [REAL] + args)
"""


def guard_lost(npods, mode):
    """npods Pods on blue; the last one's green answers 500; cutover-1's
    status is lost after the instant (mode "garbage": its status json is
    cut short; "dead": every command fails, as for a Pod that died), and
    `switch green --guard 4` runs under a load on the last Pod."""
    blue = Backend("blue")
    greens = [Backend("green") for _ in range(npods)]
    greens[-1].control("code=500", what="answer")
    f = Fleet(blue, [g.addr for g in greens])
    s.ok(f.all_healthy(), "every Pod sees both pools healthy")
    f.wrap_ctl(STATUS_LOST, SOCK=f.pods["cutover-1"].sock, MODE=mode,
               AT=os.path.join(f.dir, "at"), LOST=os.path.join(f.dir, "lost"))
    load = Load(f.pods["cutover-%d" % (npods - 1)].port, clients=1)
    try:
        res = f.release("--guard", "4", "switch", "green", timeout=120)
    finally:
        load.stop()
    s.ok(os.path.exists(os.path.join(f.dir, "lost")),
         "cutover-1's status was lost after the instant")
    return f, res


@s.scenario("fleet: --guard, a Pod trips while its status cannot be read: "
            "the fleet is rolled back all the same, the unknown Pod named")
def _():
    f, (rc, out, err, took) = guard_lost(2, "garbage")
    s.eq(rc, 1, "exit 1 (took %.1f s)" % took, out + err)
    err = err[err.rfind("cutover-release: "):]     # the last word
    s.ok("nothing changed" not in err and
         "the state of cutover-1 is unknown" in err,
         "the error names cutover-1's unknown state", err)
    real = {n: c.status_json()["active"] for n, c in f.pods.items()}
    s.eq(real, {"cutover-0": "blue", "cutover-1": "blue"},
         "every Pod serves blue: cutover-1 by its guard, cutover-0 by the "
         "script", real)
    s.eq(f.pods["cutover-1"].status_json()["guard"]["rollbacks_total"], 1,
         "cutover-1's guard rolled back")
    s.eq(f.patches(), [], "the ConfigMap was not patched: it says blue")


@s.scenario("fleet: --guard, a Pod trips while another is gone: the rest "
            "are rolled back Pod by Pod, the gone one named with its fix")
def _():
    f, (rc, out, err, took) = guard_lost(3, "dead")
    s.eq(rc, 1, "exit 1 (took %.1f s)" % took, out + err)
    err = err[err.rfind("cutover-release: "):]     # the last word
    s.ok("nothing changed" not in err and "the fleet is split" in err and
         "the state of cutover-1 is unknown" in err and
         "cutover-0, cutover-2 serve blue" in err,
         "the error says which Pods serve blue and which is unknown", err)
    real = {n: c.status_json()["active"] for n, c in f.pods.items()}
    s.eq(real, {"cutover-0": "blue", "cutover-1": "green",
                "cutover-2": "blue"},
         "cutover-2 rolled back by its guard, cutover-0 by the script; "
         "cutover-1, unreachable, still on green", real)
    fix = re.findall(r"^  (kubectl .*)$", err, re.M)
    s.eq(len(fix), 1, "one command to mend it", err)
    s.ok(fix and fix[0].startswith(
        "kubectl -n prod exec cutover-1 -- cutoverctl switch blue gen "),
        "... for cutover-1", fix)
    f.cfg["cutoverctl"] = CUTOVERCTL_BIN    # cutover-1 is back
    f.write_cfg()
    s.ok(fix and f.kubectl(fix[0].split()) == 0, "it runs")
    real = {n: c.status_json()["active"] for n, c in f.pods.items()}
    s.eq(set(real.values()), {"blue"}, "then every Pod serves blue", real)
    s.eq(f.patches(), [], "the ConfigMap was not patched: it says blue")


HUGE_STATUS = """
import os, sys
args = sys.argv[1:]
if args[1] == SOCK and args[2:4] == ["status", "json"]:
    chunk = b"[" * 65536
    try:
        for _ in range(1024):           # 64 MiB, 4 times the bound
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(0)
os.execv(REAL, [REAL] + args)
"""


@s.scenario("fleet: a Pod whose answer has no end is cut at 16 MiB and "
            "reported, the script's memory bounded")
def _():
    blue, green = Backend("blue"), Backend("green")
    f = Fleet(blue, [green.addr] * 2)
    f.wrap_ctl(HUGE_STATUS, SOCK=f.pods["cutover-1"].sock)
    env = dict(os.environ, KUBECTL_STANDIN=f.cfg_file,
               PATH=f.bin + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen([sys.executable, RELEASE, "-n", "prod",
                              "status"], env=env, stdout=fo, stderr=fe,
                             stdin=subprocess.DEVNULL)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            p.kill()
            pid, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read().decode(), fe.read().decode()
    # the script's own peak (wait4: this child alone, and the children
    # it waited for: kubectl and the Pod's cutoverctl)
    maxrss = usage.ru_maxrss
    s.eq(p.returncode, 1, "status exits 1", out + err)
    s.ok(re.search(r"^cutover-1 .*an answer longer than 16777216 bytes",
                   out, re.M), "the table says cutover-1's answer was too "
         "long", out)
    s.ok(re.search(r"^cutover-0\s+blue\s", out, re.M),
         "cutover-0 is read as usual", out)
    s.ok(maxrss < 100 * 1024,
         "the script stayed under 100 MiB (%d kB)" % maxrss)


@s.scenario("an idle admin connection is closed after 60 s")
def _():
    s.eq(idle_version, "ok\ncutover 0.1.0", "a command answered on a "
         "connection made before the first scenario")
    conn, since = idle_conn, idle_since
    if time.monotonic() > since + IDLE_S - 3:
        # a loaded machine: the scenarios before took most of the
        # minute, too late to see the connection still open; time a
        # fresh one instead (a minute more)
        conn = idle_cutover.admin_conn()
        s.eq(conn.command("version"), "ok\ncutover 0.1.0", "late: a "
             "command answered on a fresh connection")
        since = time.monotonic()
    # 2 s before the time-out it must still be open
    time.sleep(max(0.0, since + IDLE_S - 2 - time.monotonic()))
    s.ok(not conn.closed(timeout=0.01), "open %d s after its last "
         "command" % (IDLE_S - 2))
    s.ok(conn.closed(timeout=2 + IDLE_BOUND), "closed by cutover %d s "
         "after it (+ %g s)" % (IDLE_S, IDLE_BOUND))
    took = time.monotonic() - since
    s.ok(took >= IDLE_S - 0.1, "not before %d s (%.2f s)" % (IDLE_S, took))
    s.eq(idle_cutover.admin("version"), "ok\ncutover 0.1.0",
         "a new connection is served")


s.done()
