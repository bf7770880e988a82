#!/usr/bin/env python3
"""DNS discovery: a pool's `dns` name (a Kubernetes headless Service) makes
every address of its answer a member.  The nameserver is a small one in
this file (UDP and TCP on 127.0.0.1), answering A and AAAA from a table
the scenarios change, or NXDOMAIN, SERVFAIL or nothing on demand, and
truncating a UDP answer too large for the client's offer.  The
"Pods" are backend processes on 127.0.0.2, .3, .4, all on one port, as a
headless Service's Pods share the Service's target port."""

import os
import re
import resource
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import (CUTOVER_BIN, TEST_WORKERS, Backend, Cutover, Suite,
                     free_port, get, wait_health, wait_until)

s = Suite()

REFRESH_MS = 250
# probes a minute apart (rise 2): a new member stays new during a scenario
SLOW_PROBES = ('health = { path = "/healthz"; interval_ms = 60000; '
               'timeout_ms = 500; };\n')
QTYPE_A, QTYPE_AAAA = 1, 28


class DnsServer:
    """A nameserver on 127.0.0.1 (a port of its own, UDP and TCP).  names
    maps a name (lower case, no final dot) to a list of IP addresses; mode
    is "answer", "nxdomain", "servfail", "silent" (no reply: the client
    times out), "wrongid" (each UDP answer is sent first with another id,
    then with the right one) or "truncate" (every answer truncated, over
    TCP too).  A UDP answer larger than the client offers
    (512 bytes, or its EDNS0 payload size) goes out truncated: the header
    and question with the TC bit, as RFC 1035 and 6891 say; over TCP the
    whole answer goes.  queries counts the questions received (tcp_queries
    those over TCP), asked lists the names asked, in order."""

    def __init__(self, names=None, ttl=1):
        self.names = dict(names or {})
        self.ttl = ttl
        self.mode = "answer"
        self.queries = 0
        self.tcp_queries = 0
        self.truncated = 0
        self.wrong_ids = 0
        self.asked = []
        self.lock = threading.Lock()
        for _ in range(20):     # a UDP port whose TCP twin is free too
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            port = self.sock.getsockname()[1]
            self.tsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tsock.bind(("127.0.0.1", port))
                break
            except OSError:
                self.sock.close()
                self.tsock.close()
        self.tsock.listen(16)
        self.tsock.settimeout(0.2)
        self.sock.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % port
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        self.tthread = threading.Thread(target=self._serve_tcp, daemon=True)
        self.tthread.start()

    def set(self, name, ips=None, mode=None):
        with self.lock:
            if ips is not None:
                self.names[name] = list(ips)
            if mode is not None:
                self.mode = mode

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.tthread.join(2)
        self.sock.close()
        self.tsock.close()

    def _serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._reply(data, tcp=False)
            if reply is None:
                continue
            if self.mode == "wrongid":
                with self.lock:
                    self.wrong_ids += 1
                self.sock.sendto(bytes([reply[0] ^ 0x5a]) + reply[1:], peer)
            self.sock.sendto(reply, peer)

    def _serve_tcp(self):
        while self.running:
            try:
                c, _ = self.tsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(2)
            try:
                head = c.recv(2, socket.MSG_WAITALL)
                if len(head) == 2:
                    n = struct.unpack("!H", head)[0]
                    reply = self._reply(c.recv(n, socket.MSG_WAITALL),
                                        tcp=True)
                    if reply is not None:
                        c.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                pass
            c.close()

    @staticmethod
    def _payload(q, i):
        """The UDP payload the query offers: its OPT record's class, or
        512 without one (the question ends at i)."""
        arcount = struct.unpack("!H", q[10:12])[0]
        if arcount >= 1 and q[i:i + 3] == b"\x00\x00\x29" and \
                len(q) >= i + 5:
            return max(512, struct.unpack("!H", q[i + 3:i + 5])[0])
        return 512

    def _reply(self, q, tcp):
        if len(q) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if qdcount != 1:
            return None
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        i += 1
        if i + 4 > len(q):
            return None
        qtype, _ = struct.unpack("!HH", q[i:i + 4])
        question = q[12:i + 4]     # as asked, in the case asked
        name = ".".join(labels).lower()
        with self.lock:
            self.queries += 1
            self.tcp_queries += tcp
            self.asked.append((name, qtype))
            mode, ips, ttl = self.mode, self.names.get(name), self.ttl
        if mode == "silent":
            return None
        rcode = 0
        answers = []
        if mode == "servfail":
            rcode = 2
        elif mode == "nxdomain" or ips is None:
            rcode = 3
        else:
            fam = socket.AF_INET if qtype == QTYPE_A else socket.AF_INET6
            for ip in ips:
                if (":" in ip) == (fam == socket.AF_INET6) and \
                        qtype in (QTYPE_A, QTYPE_AAAA):
                    rdata = socket.inet_pton(fam, ip)
                    answers.append(struct.pack("!HHHIH", 0xc00c, qtype, 1,
                                               ttl, len(rdata)) + rdata)
        head = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100) | rcode,
                           1, len(answers), 0, 0)
        reply = head + question + b"".join(answers)
        if mode == "truncate" or \
                (not tcp and len(reply) > self._payload(q, i + 4)):
            with self.lock:
                self.truncated += 1
            reply = struct.pack("!HHHHHH", qid, 0x8380 | (flags & 0x0100) |
                                rcode, 1, 0, 0, 0) + question
        return reply


def dns_config(ns, blue, green, extra=""):
    """The pools and dns groups: blue and green are (static members list,
    dns "name:port" or None)."""
    def pool(p):
        members, name = p
        text = ""
        if members:
            text += "members = [ %s ]; " % ", ".join(
                '"%s"' % m.addr if isinstance(m, Backend) else '"%s"' % m
                for m in members)
        if name:
            text += 'dns = "%s"; ' % name
        return "{ " + text + "}"
    return ('pools = {\n  blue = %s;\n  green = %s;\n};\n'
            'dns = { nameservers = [ "%s" ]; refresh_ms = %d; '
            'timeout_ms = 200; resolv_conf = "@DIR@/no-resolv.conf"; };\n'
            '%s' % (pool(blue), pool(green), ns.addr, REFRESH_MS, extra))


def pods(n, port=None):
    """n backends on 127.0.0.2, .3, ... all on one port."""
    port = port or free_port()
    return [Backend("pod%d" % (i + 2), port=port, host="127.0.0.%d" % (i + 2))
            for i in range(n)]


def members(c, pool):
    return sorted(m["addr"] for m in c.status_json()["pools"][pool]["members"])


def soft_limit(pid):
    """The soft limit of /proc/PID/limits' Max open files."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return None


def dns_status(c, pool):
    return c.status_json()["pools"][pool].get("dns") or {}


def spread(c, n=30, path="/r"):
    """Sends n requests; returns how many each backend name answered."""
    seen = {}
    for i in range(n):
        r = get(c.port, "%s%d" % (path, i))
        name = r.header("X-Backend") if r.status == 200 else r.status
        seen[name] = seen.get(name, 0) + 1
    return seen


@s.scenario("cutover -t accepts pools by dns and looks nothing up")
def _():
    ns = DnsServer()
    port = free_port()
    c = Cutover(dns_config(ns, ([], "app-blue.prod.svc.cluster.local:%d"
                                % port),
                           (["127.0.0.1:%d" % free_port()],
                            "app-green.prod.svc.cluster.local.:8080")),
                start=False)
    p = subprocess.run([CUTOVER_BIN, "-t", "-c", c.conf], capture_output=True,
                       timeout=10)
    out = p.stdout.decode()
    s.eq(p.returncode, 0, "cutover -t exits 0", out + p.stderr.decode())
    s.contains(out, "configuration ok", "and says ok")
    s.contains(out, "blue dns app-blue.prod.svc.cluster.local:%d" % port,
               "it names blue's dns name")
    s.contains(out, "green 1 member(s) and dns "
               "app-green.prod.svc.cluster.local.:8080",
               "and green's static member and name")
    s.eq(ns.queries, 0, "no lookup was made")
    ns.stop()


@s.scenario("the answer's addresses are members; added ones wait for their "
            "probes, removed ones leave")
def _():
    p2, p3, p4 = pods(3)
    g = Backend("g")
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2", "127.0.0.3"]})
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)), ([g], None)))
    s.ok(wait_until(lambda: members(c, "blue") == sorted([p2.addr, p3.addr]),
                    5), "blue's members are the two addresses of the answer",
         c.status_json()["pools"]["blue"])
    s.ok(c.wait_log(r"dns: blue %s:%d: \+127\.0\.0\.2:%d \+127\.0\.0\.3:%d "
                    r"\(2 member\(s\)\)" % (re.escape(name), p2.port, p2.port,
                                            p2.port), 2),
         "the change is logged once, with both addresses", c.log_tail())
    seen = spread(c, 20)
    s.ok(seen.get("pod2", 0) > 0 and seen.get("pod3", 0) > 0 and
         set(seen) == {"pod2", "pod3"},
         "requests reach both (the first answer's members serve at once)",
         seen)

    # a third Pod whose probes fail: a member, but it takes no traffic
    p4.set_health(code=503)
    ns.set(name, ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    s.ok(wait_until(lambda: p4.addr in members(c, "blue"), 5),
         "the added address becomes a member", members(c, "blue"))
    s.ok(c.wait_log(r"health: blue %s new -> down" % re.escape(p4.addr), 3),
         "it started as new (not usable) and its first failed probe took "
         "it down", c.log_tail())
    seen = spread(c, 20)
    s.eq(p4.saw("/r"), 0, "no request reaches it while it is not up", seen)
    p4.set_health(code=200)
    s.ok(wait_health(c, "blue", p4.addr, "up", 5), "probes make it up")
    s.ok(wait_until(lambda: spread(c, 6).get("pod4", 0) > 0, 5),
         "then it takes traffic")

    # the answer drops 127.0.0.3: no request reaches it any more
    mark = c.log_mark()
    ns.set(name, ["127.0.0.2", "127.0.0.4"])
    s.ok(wait_until(lambda: p3.addr not in members(c, "blue"), 5),
         "the removed address leaves the status", members(c, "blue"))
    s.ok(c.wait_log(r"dns: blue %s:%d: -%s \(2 member\(s\)\)"
                    % (re.escape(name), p2.port, re.escape(p3.addr)), 2,
                    since=mark), "its removal is logged", c.log_tail())
    before = p3.saw("/")
    seen = spread(c, 20, "/after")
    s.eq(p3.saw("/"), before, "the removed Pod gets no more requests", seen)
    s.eq(set(seen), {"pod2", "pod4"}, "the others serve them all", seen)
    d = dns_status(c, "blue")
    s.eq((d.get("name"), d.get("addresses"), d.get("last"),
          d.get("failing_since")),
         ("%s:%d" % (name, p2.port), 2, "ok", None),
         "status json shows the name, 2 addresses, last ok, not failing", d)
    s.eq(c.status_json()["pools"]["green"].get("dns", 0), None,
         "and null for green, which has no name")
    head = c.status_tables()["head"]
    s.ok(any(re.fullmatch(r"dns blue %s:%d  2 address\(es\)  last ok "
                          r"\d+s ago" % (re.escape(name), p2.port), line)
             for line in head), "status shows a dns line for blue", head)
    rc, out, err = c.ctl("metrics")
    s.match(r'(?m)^cutover_member_changes_total\{pool="blue",'
            r'change="added"\} 3$', out, "metrics: 3 members added")
    s.match(r'(?m)^cutover_member_changes_total\{pool="blue",'
            r'change="removed"\} 1$', out, "metrics: 1 member removed")
    m = re.search(r'(?m)^cutover_dns_lookups_total\{pool="blue",'
                  r'result="ok"\} (\d+)$', out)
    s.ok(m and int(m.group(1)) >= 3, "metrics: lookups counted", out)
    ns.stop()


@s.scenario("a nameserver that stops answering: the members stay and serve; "
            "logged once, not per try")
def _():
    p2, p3 = pods(2)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2", "127.0.0.3"]})
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)),
                           (["127.0.0.1:%d" % free_port()], None)))
    s.ok(wait_until(lambda: len(members(c, "blue")) == 2, 5),
         "two members from DNS")
    ns.set(name, mode="silent")
    s.ok(c.wait_log(r"dns: blue %s:%d: lookups failing \(timed out\); "
                    r"keeping 2 member\(s\)" % (re.escape(name), p2.port), 10),
         "the failure is logged with its reason", c.log_tail())
    failed = dns_status(c, "blue").get("lookups_failed", 0)
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_failed", 0)
                    >= failed + 3, 15), "lookups go on failing",
         dns_status(c, "blue"))
    s.eq(len(re.findall(r"lookups failing", c.log_text())), 1,
         "yet the failure is logged once", c.log_tail())
    d = dns_status(c, "blue")
    s.ok(d.get("last") == "timed out" and d.get("failing_since"),
         "status shows the reason and since when", d)
    head = c.status_tables()["head"]
    s.ok(any(re.search(r"^dns blue .*  2 address\(es\)  last timed out "
                       r"\d+s ago  failing since \d{4}-", line)
             for line in head), "and so does the text", head)
    s.eq(members(c, "blue"), sorted([p2.addr, p3.addr]),
         "the last known members stay")
    seen = spread(c, 10)
    s.eq(set(seen), {"pod2", "pod3"}, "and serve", seen)
    # a SERVFAIL is said as such, not as a timeout
    ns.set(name, mode="servfail")
    failed = dns_status(c, "blue").get("lookups_failed", 0)
    queries = ns.queries
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_failed", 0)
                    >= failed + 2 and ns.queries > queries, 10),
         "SERVFAIL answers: lookups fail", dns_status(c, "blue"))
    s.eq(dns_status(c, "blue").get("last"), "server failed",
         "status says \"server failed\"", dns_status(c, "blue"))
    s.eq(members(c, "blue"), sorted([p2.addr, p3.addr]),
         "the members stay through SERVFAIL too")
    ns.set(name, mode="answer")
    s.ok(c.wait_log(r"dns: blue %s:%d: resolving again: 2 address\(es\)"
                    % (re.escape(name), p2.port), 10),
         "recovery is logged", c.log_tail())
    s.eq(len(re.findall(r"lookups failing", c.log_text())), 1,
         "the failure was still logged only once")
    s.ok(not dns_status(c, "blue").get("failing_since"),
         "status no longer shows it failing", dns_status(c, "blue"))
    s.eq(c.stop(), 0, "cutover exits cleanly")
    ns.stop()


@s.scenario("a name that never resolves: cutover starts, switch to it is "
            "refused with the reason, an empty active pool answers 503")
def _():
    b = Backend("b")
    ns = DnsServer()
    c = Cutover(dns_config(ns, ([b], None),
                           ([], "app-green.prod.svc.cluster.local.:8080")))
    s.ok(c.alive(), "cutover starts")
    s.ok(wait_until(lambda: dns_status(c, "green").get("last") == "NXDOMAIN",
                    5), "status shows green's NXDOMAIN", dns_status(c, "green"))
    s.eq(members(c, "green"), [], "green has no members")
    s.eq(get(c.port, "/").header("X-Backend"), "b", "blue serves")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "cutoverctl switch green fails", out + err)
    s.contains(out + err, "green has no members: dns "
               "app-green.prod.svc.cluster.local.:8080 has not resolved "
               "(NXDOMAIN)", "with the reason")
    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 1, "even with force", out + err)
    s.eq(c.active(), "blue", "blue stays active")
    c.stop()

    c2 = Cutover(dns_config(ns, ([b], None),
                            ([], "app-green.prod.svc.cluster.local.:8080"))
                 .replace("pools = {", 'active = "green";\npools = {'))
    s.eq(get(c2.port, "/").status, 503,
         "a request to an empty active pool gets 503")
    ns.stop()


@s.scenario("resolv_conf: its nameserver and search domain find a short "
            "name; A and AAAA answers make one member set")
def _():
    port = free_port()
    p2 = Backend("pod2", port=port, host="127.0.0.2")
    p6 = Backend("pod6", port=port, host="::1")
    ns = DnsServer({"app-blue.prod.svc.cluster.local": ["127.0.0.2", "::1"]})
    c = Cutover('pools = {\n  blue = { dns = "app-blue:%d"; };\n'
                '  green = { members = [ "127.0.0.1:%d" ]; };\n};\n'
                'dns = { resolv_conf = "@DIR@/resolv.conf"; refresh_ms = %d; '
                '};\n' % (port, free_port(), REFRESH_MS), start=False)
    with open(os.path.join(c.dir, "resolv.conf"), "w") as f:
        f.write("nameserver %s\nsearch prod.svc.cluster.local "
                "svc.cluster.local\noptions ndots:5\n" % ns.addr)
    c.start()
    s.ok(wait_until(lambda: members(c, "blue") ==
                    sorted([p2.addr, "[::1]:%d" % port]), 5),
         "app-blue resolves through the search domain to an IPv4 and an "
         "IPv6 member", c.status_json()["pools"]["blue"])
    seen = spread(c, 12)
    s.eq(set(seen), {"pod2", "pod6"}, "both serve", seen)
    ns.stop()


@s.scenario("a TTL shorter than refresh_ms makes lookups sooner, never "
            "more than once a second")
def _():
    p2, = pods(1)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2"]}, ttl=1)
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)),
                           (["127.0.0.1:%d" % free_port()], None))
                .replace("refresh_ms = %d;" % REFRESH_MS,
                         "refresh_ms = 60000;"))
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_ok", 0) >= 3,
                    6), "with a TTL of 1 s, lookups every second despite "
         "refresh_ms = 60000", dns_status(c, "blue"))
    ns.ttl = 0
    wait_until(lambda: dns_status(c, "blue").get("lookups_ok", 0) >= 4, 3)
    n0 = dns_status(c, "blue")["lookups_ok"]
    time.sleep(2.5)     # a rate over a span: nothing to poll for
    n1 = dns_status(c, "blue")["lookups_ok"]
    s.ok(1 <= n1 - n0 <= 4, "a TTL of 0: one lookup a second, no spin "
         "(%d in 2.5 s)" % (n1 - n0))
    ns.stop()


@s.scenario("a reload keeps the DNS members, their state and counters")
def _():
    p2, p3 = pods(2)
    g = Backend("g")
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2", "127.0.0.3"]})
    text = dns_config(ns, ([], "%s:%d" % (name, p2.port)), ([g], None))
    c = Cutover(text)
    s.ok(wait_until(lambda: len(members(c, "blue")) == 2, 5),
         "two members from DNS")
    spread(c, 10)
    rc, out, err = c.ctl("member", "blue", p3.addr, "drain")
    s.eq(rc, 0, "p3 drained", out + err)
    before = c.member("blue", p2.addr)["requests"]
    gen = c.status_json()["generation"]
    ns.set(name, mode="silent")     # the reload cannot lean on a new answer
    c.reload_file(text.replace("timeout_ms = 200;", "timeout_ms = 300;")
                  .replace('members = [ "%s" ]' % g.addr,
                           'members = [ "%s", "127.0.0.1:%d" ]'
                           % (g.addr, free_port())))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload (dns.timeout_ms and green changed) succeeds",
         out + err)
    s.contains(out, "blue 2 member(s)", "the reply counts blue's DNS members")
    s.eq(members(c, "blue"), sorted([p2.addr, p3.addr]),
         "right after the reload, blue still has both")
    s.eq(c.member("blue", p2.addr)["requests"], before,
         "p2's counters are kept")
    s.eq(c.member("blue", p3.addr)["admin"], "drain",
         "p3's admin state is kept")
    s.eq(c.status_json()["generation"], gen + 1,
         "generation +1 for green's new member only")
    seen = spread(c, 6)
    s.eq(set(seen), {"pod2"}, "blue serves from p2 (p3 drains)", seen)
    ns.stop()


@s.scenario("a reload that renames a pool's dns keeps its members until the "
            "new name answers")
def _():
    p2, p3 = pods(2)
    g = Backend("g")
    old, new = "app-blue.prod.svc.cluster.local", "app-blue-v2.prod.svc.cluster.local"
    ns = DnsServer({old: ["127.0.0.2"]})
    text = dns_config(ns, ([], "%s:%d" % (old, p2.port)), ([g], None))
    c = Cutover(text)
    s.ok(wait_until(lambda: members(c, "blue") == [p2.addr], 5),
         "blue's member is p2")
    # the new name does not resolve yet: blue must not empty
    c.reload_file(text.replace(old, new))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload to a name that has not resolved succeeds", out + err)
    s.contains(out, "blue 1 member(s)", "and blue keeps its member")
    seen = spread(c, 6)
    s.eq(seen, {"pod2": 6}, "blue still serves from p2", seen)
    s.ok(c.wait_log(r"dns: blue: now %s:%d; keeping the 1 address\(es\) of "
                    % (re.escape(new), p2.port), 2), "the log says so",
         c.log_tail())
    # once it answers, its addresses are the members
    ns.set(new, ["127.0.0.3"])
    s.ok(wait_until(lambda: members(c, "blue") == [p3.addr], 5),
         "the new name's answer replaces them", members(c, "blue"))
    s.ok(wait_until(lambda: spread(c, 4) == {"pod3": 4}, 5),
         "and p3 serves (a pool with no other usable member does not wait "
         "for the probes)")
    ns.stop()


@s.scenario("a reload declaring a pool with no members: the gate refuses "
            "the colour, the reload stands")
def _():
    p2, = pods(1)
    g = Backend("g")
    name = "app-green.prod.svc.cluster.local"
    ns = DnsServer({})
    text = dns_config(ns, ([p2], None), ([], "%s:%d" % (name, p2.port)))
    c = Cutover(text)
    s.ok(c.wait_pool_healthy("blue"), "blue is up")
    c.reload_file(text.replace("pools = {", 'active = "green";\npools = {'))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "the reload itself succeeds", out + err)
    s.contains(out + err, "declared green (generation 0) refused, serving "
               "blue: green has no members: dns %s:%d has not resolved" %
               (name, p2.port), "the gate refuses green, and says why")
    s.eq(c.active(), "blue", "blue stays active")
    s.eq(spread(c, 3), {"pod2": 3}, "and serves")
    ns.stop()
    g.stop()


@s.scenario("a refused switch says a new member is waiting for its probes; "
            "a member that is not one is a usage error")
def _():
    p2, p3 = pods(2)
    g = Backend("g")
    name = "app-green.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2"]})
    # probes a minute apart: p3 stays new (rise 2) for the whole scenario
    text = dns_config(ns, ([g], None), ([], "%s:%d" % (name, p2.port)),
                      SLOW_PROBES)
    c = Cutover(text)
    s.ok(wait_until(lambda: members(c, "green") == [p2.addr], 5),
         "green's first member")
    ns.set(name, ["127.0.0.2", "127.0.0.3"])
    s.ok(wait_until(lambda: c.member_state("green", p3.addr) == "new", 5),
         "p3 is new")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "switch green is refused", out + err)
    s.match(r"127\.0\.0\.3:%d \(new: [01] of 2 probes passed\)" % p3.port,
            out + err, "the refusal says p3 is new and how far its probes are")
    for args in (("member", "green", "127.0.0.9:%d" % p2.port, "drain"),
                 ("member", "green", "timeout:", "ready")):
        rc, out, err = c.ctl(*args)
        s.eq(rc, 2, "%s: exit 2 (usage)" % " ".join(args), out + err)
        s.contains(out + err, "usage:", "the reply is a usage error")


@s.scenario("a Service of 100 A and 100 AAAA records: the UDP answer is "
            "truncated, asked again over TCP, and all 200 are members")
def _():
    port = free_port()
    name = "big.prod.svc.cluster.local"
    ips = ["127.1.0.%d" % i for i in range(1, 101)] + \
          ["fd00::%x" % i for i in range(1, 101)]
    ns = DnsServer({name: ips}, ttl=30)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard > 1 << 20:
        hard = 1 << 20
    c = Cutover(dns_config(ns, ([], "%s.:%d" % (name, port)),
                           (["127.0.0.1:%d" % free_port()], None)) +
                "limits = { max_connections = 100; };\n",
                nofile=(256, hard))
    s.ok(wait_until(lambda: dns_status(c, "blue").get("addresses") == 200,
                    10), "the name resolves to 200 addresses",
         dns_status(c, "blue"))
    # the descriptors needed: first with the name counted as 32 members,
    # then with its 200: 168 more, each an idle list of up to 100 a
    # worker, 2 warm connections a worker and a probe
    needs = [int(x) for x in re.findall(
        r"file descriptors: soft limit \d+ \(was \d+, hard \d+\), "
        r"(\d+) needed", c.log_text())]
    s.ok(len(needs) == 2 and needs[1] - needs[0] ==
         168 * (100 * TEST_WORKERS + 2 * TEST_WORKERS + 1),
         "the 200 addresses raise the descriptors needed by what 168 "
         "members more need", needs)
    s.ok(len(needs) == 2 and soft_limit(c.pid) == min(needs[1], hard),
         "and the soft limit with them", (needs, soft_limit(c.pid)))
    # an answer that shrinks and grows back: the soft limit stays, and
    # nothing more is logged about descriptors (a DNS answer may change
    # at every lookup)
    mark = c.log_mark()
    for want in (150, 200):
        ns.set(name, ips[:want // 2] + ips[100:100 + want // 2])
        s.ok(wait_until(lambda: dns_status(c, "blue").get("addresses") ==
                        want, 10), "the answer has %d addresses" % want,
             dns_status(c, "blue"))
    s.eq(re.findall(r".*file descriptors.*", c.log_text()[mark:]), [],
         "no descriptor line for answers that move within the limit set")
    got = members(c, "blue")
    s.eq(len(got), 200, "blue has 200 members", len(got))
    s.ok("127.1.0.100:%d" % port in got and "[fd00::64]:%d" % port in got,
         "the last A and the last AAAA among them", got[-3:])
    s.ok(ns.truncated >= 2 and ns.tcp_queries >= 2,
         "both UDP answers went out truncated and both were asked again "
         "over TCP (%d truncated, %d over TCP)" % (ns.truncated,
                                                  ns.tcp_queries))
    s.eq(dns_status(c, "blue").get("last"), "ok", "the lookup is ok")
    # a server that truncates even over TCP: a failure, members kept
    ns.set(name, mode="truncate")
    s.ok(wait_until(lambda: dns_status(c, "blue").get("last") ==
                    "truncated over TCP too", 10),
         "a truncated answer over TCP fails the lookup: \"truncated over "
         "TCP too\"", dns_status(c, "blue"))
    s.eq(len(members(c, "blue")), 200, "and the 200 members stay")
    ns.stop()


@s.scenario("the search list: the first name with an address gives both "
            "families; no AAAA of a name further down the list")
def _():
    port = free_port()
    p2 = Backend("pod2", port=port, host="127.0.0.2")
    # the Service has A records only; another host with the same short
    # name further down the search list has an AAAA record
    ns = DnsServer({"app.prod.svc.cluster.local": ["127.0.0.2"],
                    "app.corp.example": ["::1"]}, ttl=1)
    c = Cutover('pools = {\n  blue = { dns = "app:%d"; };\n'
                '  green = { members = [ "127.0.0.1:%d" ]; };\n};\n'
                'dns = { resolv_conf = "@DIR@/resolv.conf"; refresh_ms = %d; '
                '};\n' % (port, free_port(), REFRESH_MS), start=False)
    with open(os.path.join(c.dir, "resolv.conf"), "w") as f:
        f.write("nameserver %s\nsearch prod.svc.cluster.local "
                "svc.cluster.local cluster.local corp.example\n"
                "options ndots:5\n" % ns.addr)
    c.start()
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_ok", 0) >= 3,
                    5), "three lookups done", dns_status(c, "blue"))
    s.eq(members(c, "blue"), [p2.addr],
         "blue's only member is the Service's Pod, not app.corp.example's "
         "::1", c.status_json()["pools"]["blue"])
    asked = sorted(set(n for n, _ in ns.asked))
    s.eq(asked, ["app.prod.svc.cluster.local"],
         "only the first candidate was asked (A and AAAA)", ns.asked[:8])
    seen = spread(c, 6)
    s.eq(set(seen), {"pod2"}, "requests go to the Pod", seen)
    # the first candidate unknown: the lookup moves on to the next one
    with ns.lock:
        del ns.names["app.prod.svc.cluster.local"]
        ns.names["app.svc.cluster.local"] = ["127.0.0.2", "::1"]
    s.ok(wait_until(lambda: members(c, "blue") ==
                    sorted([p2.addr, "[::1]:%d" % port]), 5),
         "NXDOMAIN moves on to the next domain, whose A and AAAA both "
         "count", members(c, "blue"))
    ns.stop()


@s.scenario("a SERVFAIL on the first search candidate ends the lookup: no "
            "later domain's host is taken")
def _():
    port = free_port()
    ns = DnsServer({"app.corp.example": ["127.0.0.7"]}, ttl=1)
    c = Cutover('pools = {\n  blue = { dns = "app:%d"; };\n'
                '  green = { members = [ "127.0.0.1:%d" ]; };\n};\n'
                'dns = { resolv_conf = "@DIR@/resolv.conf"; refresh_ms = %d; '
                'timeout_ms = 200; };\n' % (port, free_port(), REFRESH_MS),
                start=False)
    with open(os.path.join(c.dir, "resolv.conf"), "w") as f:
        f.write("nameserver %s\nsearch prod.svc.cluster.local corp.example\n"
                "options ndots:5 attempts:1\n" % ns.addr)
    ns.set("x", mode="servfail")
    c.start()
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_failed", 0)
                    >= 2, 5), "lookups fail", dns_status(c, "blue"))
    s.eq(dns_status(c, "blue").get("last"), "server failed",
         "with \"server failed\"", dns_status(c, "blue"))
    s.eq(members(c, "blue"), [], "app.corp.example's address is no member")
    s.eq(sorted(set(n for n, _ in ns.asked)), ["app.prod.svc.cluster.local"],
         "app.corp.example was never asked", ns.asked[:6])
    ns.stop()


@s.scenario("an answer with another id is ignored, and the right one that "
            "follows is used")
def _():
    p2, = pods(1)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2"]})
    ns.set(name, mode="wrongid")
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)),
                           (["127.0.0.1:%d" % free_port()], None)))
    s.ok(wait_until(lambda: members(c, "blue") == [p2.addr], 5),
         "the name resolves", dns_status(c, "blue"))
    s.ok(ns.wrong_ids >= 2, "after answers with a wrong id (%d)"
         % ns.wrong_ids)
    s.eq(dns_status(c, "blue").get("lookups_failed"), 0,
         "no lookup failed", dns_status(c, "blue"))
    ns.stop()


@s.scenario("dns.resolv_conf naming a FIFO: the reload warns at once and "
            "cutover goes on answering")
def _():
    p2, = pods(1)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2"]})
    text = dns_config(ns, ([], "%s.:%d" % (name, p2.port)),
                      (["127.0.0.1:%d" % free_port()], None))
    c = Cutover(text)
    s.ok(wait_until(lambda: members(c, "blue") == [p2.addr], 5),
         "blue resolves")
    fifo = os.path.join(c.dir, "resolv.fifo")
    os.mkfifo(fifo)
    c.reload_file(text.replace(os.path.join(c.dir, "no-resolv.conf"), fifo)
                  .replace("@DIR@/no-resolv.conf", fifo))
    t0 = time.monotonic()
    rc, out, err = c.ctl("reload", timeout=10)
    took = time.monotonic() - t0
    s.eq(rc, 0, "the reload succeeds", out + err)
    s.ok(took < 3, "promptly (%.2f s)" % took)
    s.ok(c.wait_log(r"dns: %s: not a regular file \(its search and options "
                    r"are not used\)" % re.escape(fifo), 3),
         "the log says the FIFO is no regular file", c.log_tail())
    rc, out, err = c.ctl("status", timeout=5)
    s.eq(rc, 0, "the admin socket answers", out + err)
    s.eq(get(c.port, "/after").header("X-Backend"), "pod2",
         "the proxy answers")
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_ok", 0) >= 2,
                    5), "and lookups go on", dns_status(c, "blue"))
    s.eq(c.stop(), 0, "cutover exits cleanly")
    ns.stop()


def nfds_settled(c, looks=10):
    """The fewest open files of c over looks spaced 50 ms apart."""
    n = []
    for _ in range(looks):
        n.append(nfds(c))
        time.sleep(0.05)
    return min(n)


def nfds(c):
    return len(os.listdir("/proc/%d/fd" % c.pid))


@s.scenario("reloads that replace the resolver while its queries wait "
            "leave no socket behind")
def _():
    p2, = pods(1)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2"]})
    text = dns_config(ns, ([], "%s.:%d" % (name, p2.port)),
                      (["127.0.0.1:%d" % free_port()], None))
    c = Cutover(text.replace("timeout_ms = 200;", "timeout_ms = 5000;"))
    s.ok(wait_until(lambda: members(c, "blue") == [p2.addr], 5),
         "blue resolves")
    # a probe's connection may be open at any one look: the fewest of
    # several looks is the count without one (a leak of 20 resolvers'
    # queries would be 40 more)
    before = nfds_settled(c)
    ns.set(name, mode="silent")     # every query now waits its 5 s
    queries = ns.queries
    s.ok(wait_until(lambda: ns.queries >= queries + 2, 5),
         "A and AAAA queries are under way")
    for i in range(20):
        c.reload_file(text.replace("timeout_ms = 200;",
                                   "timeout_ms = %d;" % (5000 + i)))
        rc, out, err = c.ctl("reload")
        if rc != 0:
            break
    s.eq(rc, 0, "20 reloads, each with a new resolver, succeed", out + err)
    s.ok(wait_until(lambda: ns.queries >= queries + 4, 5),
         "the last resolver's queries are under way")
    after = nfds_settled(c)
    s.ok(after <= before + 2, "open files: %d before, %d after (at most "
         "the last resolver's two queries more)" % (before, after))
    s.eq(members(c, "blue"), [p2.addr], "the members stay")
    s.eq(c.stop(), 0, "cutover exits cleanly")
    ns.stop()



@s.scenario("every Pod replaced between two lookups: the new ones serve at "
            "once, not 503 until their probes pass")
def _():
    p2, p3, p4 = pods(3)
    g = Backend("g")
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2", "127.0.0.3"]})
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)), ([g], None),
                           SLOW_PROBES))
    s.ok(wait_until(lambda: members(c, "blue") == sorted([p2.addr, p3.addr]),
                    5), "blue: p2 and p3")
    ns.set(name, ["127.0.0.4"])
    s.ok(wait_until(lambda: members(c, "blue") == [p4.addr], 5),
         "the answer replaces both by p4")
    s.eq(c.member_state("blue", p4.addr), "new", "p4 is new (its probes are "
         "a minute away)")
    s.eq(spread(c, 6), {"pod4": 6}, "and serves every request")
    s.ok(not c.status_json()["pools"]["blue"]["panic"], "this is no panic")
    ns.stop()



@s.scenario("panic off: an address that failed its probes, gone from DNS "
            "and back, is new again but does not serve")
def _():
    p2, p3 = pods(2)
    g = Backend("g")
    # p3's probes time out after 2 s, so once back it stays new that long
    p2.set_health(500)
    p3.set_health(delay_ms=60000)
    name = "app-blue.prod.svc.cluster.local"
    ns = DnsServer({name: ["127.0.0.2", "127.0.0.3"]})
    c = Cutover(dns_config(ns, ([], "%s:%d" % (name, p2.port)), ([g], None),
                           SLOW_PROBES.replace("timeout_ms = 500;",
                                               "timeout_ms = 2000; "
                                               "panic = false;")))
    s.ok(wait_until(lambda: members(c, "blue") == sorted([p2.addr, p3.addr])
                    and c.member_state("blue", p2.addr) == "down" and
                    c.member_state("blue", p3.addr) == "down", 8),
         "both members are down by their probes", c.status())
    s.eq(spread(c, 3), {503: 3}, "panic off: 503")
    ns.set(name, ["127.0.0.2"])
    s.ok(wait_until(lambda: members(c, "blue") == [p2.addr], 5),
         "p3 leaves the answer")
    ns.set(name, ["127.0.0.2", "127.0.0.3"])
    s.ok(wait_until(lambda: c.member_state("blue", p3.addr) == "new", 5),
         "and comes back, new")
    s.eq(spread(c, 6), {503: 6}, "still 503: a new member does not stand "
         "in for members that fail their probes")
    ns.stop()


s.done()
