#!/usr/bin/env python3
"""A Kubernetes release without a cluster: Pods are backend processes on
their own loopback addresses, the headless Services are names a real DNS
server (dnsmasq, Debian's dnsmasq-base) answers from a hosts file, and
cutover finds the Pods through pools.NAME.dns and dns.nameservers.  Under
a client load that runs the whole time, blue scales up and down, a Pod is
killed, traffic switches to green, blue drains and goes away and the DNS
server stops -- and not one request fails, and no Pod gets a request after
it left the answer and its requests in flight ended.

dnsmasq is required (scripts/install-deps installs it): without it the
test fails, it is not skipped."""

import os
import pwd
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from urllib.parse import parse_qs, urlsplit

from harness import (Background, Backend, Cutover, RawConn, Suite, get,
                     register, start, stop, wait_until)

s = Suite()

NS = "default"
BLUE_NAME = "app-blue.%s.svc.cluster.local" % NS
GREEN_NAME = "app-green.%s.svc.cluster.local" % NS
REFRESH_MS = 300
TIMEOUT_MS = 500
# The kubelet writes this into every Pod; cutover reads search and ndots
# from it (its nameserver line is dns.nameservers here).
RESOLV_CONF = ("search %s.svc.cluster.local svc.cluster.local cluster.local\n"
               "options ndots:5\n" % NS)

DNSMASQ = shutil.which("dnsmasq", path=os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))


# ---------------------------------------------------------------- DNS


def dns_query(port, name, qtype=1, timeout=1.0):
    """Asks 127.0.0.1:port (UDP) for name's A (qtype 1) or AAAA (28)
    records; returns (rcode, sorted list of addresses) or None when no
    answer came within timeout."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += bytes([len(label)]) + label.encode()
    packet += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as so:
        so.settimeout(timeout)
        so.sendto(packet, ("127.0.0.1", port))
        deadline = time.monotonic() + timeout
        while True:
            so.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = so.recv(4096)
            except socket.timeout:
                return None
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    rcode = data[3] & 0x0F
    qd, an = struct.unpack(">HH", data[4:8])

    def skip_name(i):
        while data[i] != 0:
            if data[i] & 0xC0 == 0xC0:
                return i + 2
            i += 1 + data[i]
        return i + 1

    i = 12
    for _ in range(qd):
        i = skip_name(i) + 4
    addrs = []
    for _ in range(an):
        i = skip_name(i)
        rtype, _, _, rdlen = struct.unpack(">HHIH", data[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, data[i:i + 4]))
        elif rtype == 28 and rdlen == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, data[i:i + 16]))
        i += rdlen
    return rcode, sorted(addrs)


def free_udp_tcp_port():
    """A port free on 127.0.0.1 for both UDP and TCP (dnsmasq binds both)
    right now: a small, accepted race, as free_port's."""
    for _ in range(20):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket()
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no port free for both UDP and TCP")


class DnsServer:
    """dnsmasq on 127.0.0.1:port answering only from a hosts file in dir:
    names maps a name to its IPv4 addresses.  No upstream, no system file
    (no /etc/dnsmasq.conf, /etc/resolv.conf or /etc/hosts), no pid file;
    authoritative for cluster.local as the cluster's DNS is, so a name
    without a record is NXDOMAIN.  It runs as the user we are (as root it
    would otherwise switch to a user that cannot read the hosts file when
    SIGHUP makes it read the file again)."""

    def __init__(self, dir, names):
        self.hosts = os.path.join(dir, "hosts")
        self.logfile = os.path.join(dir, "dnsmasq.log")
        self.proc = None
        self.names = {}
        self._write(names)
        user = pwd.getpwuid(os.getuid()).pw_name
        for _ in range(3):
            self.port = free_udp_tcp_port()
            argv = [DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null",
                    "--no-resolv", "--no-hosts", "--pid-file",
                    "--user=" + user, "--listen-address=127.0.0.1",
                    "--bind-interfaces", "--port=%d" % self.port,
                    "--addn-hosts=" + self.hosts, "--local=/cluster.local/",
                    "--local-ttl=1", "--log-facility=-"]
            self.proc = start(argv, self.logfile, stdin=subprocess.DEVNULL)
            register(self)
            if wait_until(lambda: self.proc.poll() is not None or
                          self.answers(names), 5):
                if self.proc.poll() is None:
                    return
            self.cleanup()          # the port was taken meanwhile: again
        raise RuntimeError("dnsmasq did not answer:\n" + self.log_text())

    def _write(self, names):
        with open(self.hosts + ".tmp", "w") as f:
            for name, addrs in sorted(names.items()):
                for a in addrs:
                    f.write("%s %s\n" % (a, name))
        os.rename(self.hosts + ".tmp", self.hosts)
        self.names = {k: sorted(v) for k, v in names.items()}

    def answers(self, names):
        """True when the server answers every name as names says (an empty
        list: NXDOMAIN)."""
        for name, addrs in names.items():
            r = dns_query(self.port, name, timeout=0.5)
            want = (0, sorted(addrs)) if addrs else (3, [])
            if r != want:
                return False
        return True

    def set(self, names, timeout=5.0):
        """Rewrites the hosts file, SIGHUPs dnsmasq and waits until it
        answers the new records (a name missing from names: NXDOMAIN);
        returns True when it does."""
        gone = {n: [] for n in self.names if n not in names}
        self._write(names)
        os.kill(self.proc.pid, signal.SIGHUP)
        return bool(wait_until(lambda: self.answers(dict(names, **gone)),
                               timeout))

    def stop(self):
        return stop(self.proc, 5)

    def cleanup(self):
        stop(self.proc, 5)

    def log_text(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---------------------------------------------------------------- Pods


def start_pods(specs):
    """Backends on their own loopback addresses, all on one port as Pods
    are: specs is a list of (name, address); returns (port, {address:
    Backend})."""
    last = None
    for _ in range(5):
        port = free_udp_tcp_port()
        pods = {}
        try:
            for name, addr in specs:
                pods[addr] = Backend(name, port=port, host=addr)
            return port, pods
        except RuntimeError as e:   # the port was taken meanwhile: again
            last = e
            for b in pods.values():
                b.stop()
    raise RuntimeError("cannot start the Pods: %s" % last)


# ---------------------------------------------------------------- load


class Load:
    """Clients sending GET /?id=ID through cutover the whole time: keep
    keep-alive connections and fresh clients opening a new connection per
    request.  Bounded: each client stops after max_each requests or at the
    deadline, whichever comes first, or when stop() is called.  .records
    holds one dict per request: id, start, end (time.monotonic()), status
    (or None), backend (X-Backend) and error (None or text)."""

    def __init__(self, port, keep=4, fresh=2, pace=0.005, max_each=8000,
                 seconds=50.0):
        self.port = port
        self.pace = pace
        self.max_each = max_each
        self.deadline = time.monotonic() + seconds
        self.records = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client,
                                          args=("k%d" % i, True), daemon=True)
                         for i in range(keep)]
        self._threads += [threading.Thread(target=self._client,
                                           args=("f%d" % i, False),
                                           daemon=True)
                          for i in range(fresh)]
        register(self)
        for t in self._threads:
            t.start()

    def _client(self, who, keepalive):
        conn = None
        for n in range(self.max_each):
            if self._stop.is_set() or time.monotonic() > self.deadline:
                break
            conn = self.request("%s-%d" % (who, n), "/", conn, keepalive)
            self._stop.wait(self.pace)
        if conn is not None:
            conn.close()

    def request(self, rid, path="/", conn=None, keepalive=False):
        """Sends GET path?id=rid (on conn, a RawConn, when keepalive: opened
        when None) and records it; returns the connection to use next."""
        rec = {"id": rid, "start": time.monotonic(), "end": None,
               "status": None, "backend": None, "error": None}
        target = "%s%sid=%s" % (path, "&" if "?" in path else "?", rid)
        try:
            if keepalive:
                if conn is None:
                    conn = RawConn(self.port, timeout=10)
                r = conn.request("GET", target)
                if (r.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            else:
                r = get(self.port, target, timeout=10)
            rec["status"] = r.status
            rec["backend"] = r.header("X-Backend")
            if r.status != 200:
                rec["error"] = "status %d: %r" % (r.status, r.body[:200])
        except Exception as e:      # a failed request, recorded
            rec["error"] = repr(e)
            if conn is not None:
                conn.close()
                conn = None
        rec["end"] = time.monotonic()
        with self._lock:
            self.records.append(rec)
        return conn

    def record(self, rid):
        """The record of request rid, or None."""
        with self._lock:
            for r in self.records:
                if r["id"] == rid:
                    return r
        return None

    def done_since(self, t):
        """How many requests ended after t."""
        with self._lock:
            return sum(1 for r in self.records if r["end"] > t)

    def stop(self, timeout=15.0):
        self._stop.set()
        for t in self._threads:
            t.join(max(0.1, timeout))
        return not any(t.is_alive() for t in self._threads)

    def cleanup(self):
        self.stop(5)


# ---------------------------------------------------------------- helpers


def members(c, pool):
    """The member addresses of pool in c's status json, sorted."""
    return sorted(m["addr"] for m in c.status_json()["pools"][pool]
                  ["members"])


def arrivals(pod):
    """(request id, time.monotonic() of arrival) of every request pod got."""
    with pod._cv:
        return [(parse_qs(urlsplit(p).query).get("id", [p])[-1], t)
                for p, t in zip(list(pod.requests), list(pod.request_times))]


def fmt(t, t0):
    return "%.3f" % (t - t0) if t is not None else "-"


CONFIG = """\
active = "blue";
pools = {
  blue = { dns = "%(blue)s:%(port)d"; };
  green = { dns = "%(green)s:%(port)d"; };
};
dns = { nameservers = [ "127.0.0.1:%(dns)d" ]; refresh_ms = %(refresh)d;
        timeout_ms = %(timeout)d; resolv_conf = "@DIR@/resolv.conf"; };
"""


@s.scenario("scale, kill, switch, drain and lose DNS under load")
def _():
    if DNSMASQ is None:
        s.ok(False, "dnsmasq not installed: run scripts/install-deps")
        return
    t0 = time.monotonic()
    port, pods = start_pods([("blue-11", "127.0.0.11"),
                             ("blue-12", "127.0.0.12"),
                             ("blue-13", "127.0.0.13"),
                             ("green-21", "127.0.0.21"),
                             ("green-22", "127.0.0.22")])

    def addr(ip):
        return "%s:%d" % (ip, port)

    # the temp dir first: the DNS server's files go there too
    c = Cutover("", start=False)
    dns = DnsServer(c.dir, {BLUE_NAME: ["127.0.0.11", "127.0.0.12"],
                            GREEN_NAME: ["127.0.0.21", "127.0.0.22"]})
    with open(os.path.join(c.dir, "resolv.conf"), "w") as f:
        f.write(RESOLV_CONF)
    c.reload_file(CONFIG % {"blue": BLUE_NAME, "green": GREEN_NAME,
                            "port": port, "dns": dns.port,
                            "refresh": REFRESH_MS, "timeout": TIMEOUT_MS})
    c.start()
    blue2 = [addr("127.0.0.11"), addr("127.0.0.12")]
    green2 = [addr("127.0.0.21"), addr("127.0.0.22")]
    s.ok(wait_until(lambda: members(c, "blue") == blue2 and
                    members(c, "green") == green2, 5),
         "cutover has the Pods of both Services as members",
         c.status_json())
    s.ok(c.wait_pool_healthy("blue") and c.wait_pool_healthy("green"),
         "every Pod is up", c.status())

    load = Load(c.port)
    s.ok(wait_until(lambda: pods["127.0.0.11"].saw("/?id=") >= 10 and
                    pods["127.0.0.12"].saw("/?id=") >= 10, 10),
         "the load reaches both blue Pods")

    # -- scale blue from 2 to 3 Pods
    mark = c.log_mark()
    s.ok(dns.set({BLUE_NAME: ["127.0.0.11", "127.0.0.12", "127.0.0.13"],
                  GREEN_NAME: ["127.0.0.21", "127.0.0.22"]}),
         "DNS answers 3 blue Pods", dns.log_text())
    blue3 = sorted(blue2 + [addr("127.0.0.13")])
    s.ok(wait_until(lambda: members(c, "blue") == blue3, 5),
         "the new Pod becomes a member", c.status_json())
    p13 = pods["127.0.0.13"]
    s.ok(p13.wait_request("/?id=", 5, count=10),
         "the new Pod takes traffic (%d requests)" % p13.saw("/?id="))
    first = p13.request_times[0] if p13.request_times else None
    probed = sum(1 for t in p13.probe_times if first is None or t < first)
    s.ok(first is not None and probed >= 2,
         "... only after probes found it up (%d probes before its first "
         "request; rise is 2)" % probed)
    s.match(r"dns: blue %s:%d: .*\+127\.0\.0\.13:%d" % (BLUE_NAME, port,
                                                        port),
            c.log_text()[mark:], "the log names the added Pod")

    # -- and back to 2: 127.0.0.12 leaves the answer, its process stays
    # with a slow request in flight on it, which must finish there
    mark = c.log_mark()
    p12 = pods["127.0.0.12"]
    slow = []
    for i in range(20):     # round robin among 3 (and the load's turns)
        slow.append(Background(load.request, "slow-%d" % i,
                               "/delay?ms=1500"))
        if p12.wait_request("/delay", 0.3):
            break
    on12 = [rid for rid, _ in arrivals(p12) if rid.startswith("slow-")]
    s.ok(on12, "a slow request is in flight on 127.0.0.12")
    s.ok(dns.set({BLUE_NAME: ["127.0.0.11", "127.0.0.13"],
                  GREEN_NAME: ["127.0.0.21", "127.0.0.22"]}),
         "DNS answers 2 blue Pods again", dns.log_text())
    s.ok(wait_until(lambda: addr("127.0.0.12") not in members(c, "blue"),
                    5, interval=0.005), "the removed Pod leaves the members",
         c.status_json())
    t_gone = time.monotonic()
    s.match(r"dns: blue %s:%d: .*-127\.0\.0\.12:%d" % (BLUE_NAME, port,
                                                       port),
            c.log_text()[mark:], "the log names the removed Pod")
    s.ok(wait_until(lambda: load.done_since(t_gone) >= 100, 10),
         "the load goes on without it (%d requests)" %
         load.done_since(t_gone))
    for b in slow:
        b.join(10)
    rs = [load.record(rid) for rid in on12]
    s.ok(rs and all(r is not None and r["error"] is None and
                    r["backend"] == "blue-12" and r["end"] > t_gone
                    for r in rs),
         "the slow request on 127.0.0.12 finished there after it left", rs)

    # -- kill a Pod that is still in the answer
    mark = c.log_mark()
    p11 = pods["127.0.0.11"]
    os.kill(p11.proc.pid, signal.SIGKILL)
    t_kill = time.monotonic()
    p11.proc.wait(5)
    s.ok(wait_until(lambda: c.member_state("blue", addr("127.0.0.11")) ==
                    "down", 5), "the killed Pod is marked down",
         c.status_json())
    s.eq(members(c, "blue"), sorted([addr("127.0.0.11"),
                                     addr("127.0.0.13")]),
         "... and stays a member while DNS names it")
    s.ok(wait_until(lambda: load.done_since(t_kill) >= 100, 10),
         "the load goes on (%d requests since the kill)"
         % load.done_since(t_kill))
    # a request cutover sent to the dead Pod found it gone: the kill was
    # met under load
    s.match(r"blue 127\.0\.0\.11:%d: (connect failed|connection error|"
            r"closed the connection)" % port,
            c.log_text()[mark:], "requests met the killed Pod")

    # -- switch to green, drain blue
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    t_switch_sent = time.monotonic()
    rc, out, err = c.ctl("switch", "green")
    t_switch = time.monotonic()
    s.eq(rc, 0, "cutoverctl switch green passes the gate", out + err)
    rc, out, err = c.ctl("wait-drained", "blue", "10")
    s.eq(rc, 0, "cutoverctl wait-drained blue", out + err)

    # -- blue's Pods leave the answer and stop
    s.ok(p12.proc.poll() is None, "127.0.0.12 kept running all along")
    mark = c.log_mark()
    s.ok(dns.set({GREEN_NAME: ["127.0.0.21", "127.0.0.22"]}),
         "DNS has no blue Pod any more (NXDOMAIN)", dns.log_text())
    for ip in ("127.0.0.12", "127.0.0.13"):
        pods[ip].stop()
    s.ok(c.wait_log(r"dns: blue %s:%d: lookups failing" % (BLUE_NAME, port),
                    5, since=mark),
         "the log says blue's lookups fail")
    s.eq(members(c, "blue"), sorted([addr("127.0.0.11"),
                                     addr("127.0.0.13")]),
         "blue keeps its last known members")

    # -- the DNS server stops: green serves from the last answer
    mark = c.log_mark()
    dns.stop()
    t_dns = time.monotonic()
    s.ok(c.wait_log(r"dns: green %s:%d: lookups failing" % (GREEN_NAME,
                                                             port),
                    5, since=mark), "the log says green's lookups fail")
    # several refreshes and timeouts after the first failure
    time.sleep(max(0, t_dns + 3 * (REFRESH_MS + TIMEOUT_MS) / 1000.0 -
                   time.monotonic()))
    s.eq(members(c, "green"), green2, "green keeps both Pods")
    s.ok(load.done_since(t_dns) >= 100, "green serves meanwhile (%d "
         "requests since DNS stopped)" % load.done_since(t_dns))
    s.eq(len(re.findall(
        r"dns: green \S+: lookups failing", c.log_text()[mark:])), 1,
        "... and the failure is logged once, not once per try")

    s.ok(load.stop(), "the clients stop")
    t_end = time.monotonic()
    recs = load.records

    # -- zero failed requests, each answered by the expected colour
    failed = [r for r in recs if r["error"] is not None]
    s.eq(len(failed), 0, "no request failed, out of %d" % len(recs),
         "\n".join("%s at %s..%s s: %s" % (r["id"], fmt(r["start"], t0),
                                           fmt(r["end"], t0), r["error"])
                   for r in failed[:20]))
    wrong = [r for r in recs if r["error"] is None and (
        (r["start"] > t_switch and not r["backend"].startswith("green-")) or
        (r["end"] < t_switch_sent and not r["backend"].startswith("blue-")))]
    s.eq(len(wrong), 0, "every response came from the active colour",
         ["%s %s" % (r["id"], r["backend"]) for r in wrong[:20]])
    s.ok(all(pods[ip].saw("/?id=") > 0 for ip in ("127.0.0.21",
                                                   "127.0.0.22")),
         "both green Pods served")

    # -- no request to a Pod after it left the answer and its in-flight
    # requests ended
    start_of = {r["id"]: r["start"] for r in recs}
    late = [(rid, t) for rid, t in arrivals(p12)
            if start_of.get(rid, t_end) > t_gone]
    s.eq(late, [], "127.0.0.12 got no request sent after it left the "
         "members (at %.3f s)" % (t_gone - t0))
    inflight_end = max([r["end"] for r in recs if r["start"] <= t_gone] +
                       [t_gone])
    after = [(rid, fmt(t, t0)) for rid, t in arrivals(p12)
             if t > inflight_end]
    s.eq(after, [], "... nor any request after the requests in flight then "
         "ended (%.3f s)" % (inflight_end - t0))
    probes = [t for t in p12.probe_times if t > t_gone + 1.0]
    s.eq(probes, [], "... and cutover stopped probing it")
    late_blue = [(ip, rid) for ip in ("127.0.0.11", "127.0.0.12",
                                      "127.0.0.13")
                 for rid, _ in arrivals(pods[ip])
                 if start_of.get(rid, t_end) > t_switch]
    s.eq(late_blue, [], "no blue Pod got a request sent after the switch")
    s.ok(t_end - t0 < 60, "the whole run took %.1f s" % (t_end - t0))


s.done()
