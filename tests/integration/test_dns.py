#!/usr/bin/env python3
"""DNS discovery: a pool's `dns` name (a Kubernetes headless Service) makes
every address of its answer a member.  The nameserver is a small one in
this file (UDP on 127.0.0.1), answering A and AAAA from a table the
scenarios change, or NXDOMAIN, SERVFAIL or nothing on demand.  The
"Pods" are backend processes on 127.0.0.2, .3, .4, all on one port, as a
headless Service's Pods share the Service's target port."""

import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import (CUTOVER_BIN, Backend, Cutover, Suite, free_port, get,
                     wait_health, wait_until)

s = Suite()

REFRESH_MS = 250
QTYPE_A, QTYPE_AAAA = 1, 28


class DnsServer:
    """A nameserver on 127.0.0.1 (a port of its own).  names maps a name
    (lower case, no final dot) to a list of IP addresses; mode is "answer",
    "nxdomain", "servfail" or "silent" (no reply: the client times out).
    queries counts the questions received."""

    def __init__(self, names=None, ttl=1):
        self.names = dict(names or {})
        self.ttl = ttl
        self.mode = "answer"
        self.queries = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set(self, name, ips=None, mode=None):
        with self.lock:
            if ips is not None:
                self.names[name] = list(ips)
            if mode is not None:
                self.mode = mode

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()

    def _serve(self):
        while self.running:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._reply(data)
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _reply(self, q):
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
        question = q[12:i + 4]     # as asked: evdns randomises the case
        name = ".".join(labels).lower()
        with self.lock:
            self.queries += 1
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
        return head + question + b"".join(answers)


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
    # evdns retries a SERVFAIL as it would a lost packet, and reports
    # it as timed out once its tries are spent
    ns.set(name, mode="servfail")
    failed = dns_status(c, "blue").get("lookups_failed", 0)
    queries = ns.queries
    s.ok(wait_until(lambda: dns_status(c, "blue").get("lookups_failed", 0)
                    >= failed + 2 and ns.queries > queries, 10),
         "SERVFAIL answers: lookups fail", dns_status(c, "blue"))
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


@s.scenario("a reload that would leave the active pool with no members is "
            "refused")
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
    s.eq(rc, 1, "reload making the unresolved green active fails", out + err)
    s.contains(out + err, "the active pool green would have no members: "
               "dns %s:%d has not answered yet" % (name, p2.port),
               "and says why")
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
    text = dns_config(ns, ([g], None), ([], "%s:%d" % (name, p2.port)))
    c = Cutover(text)
    s.ok(wait_until(lambda: members(c, "green") == [p2.addr], 5),
         "green's first member")
    p3.set_health(500)
    ns.set(name, ["127.0.0.2", "127.0.0.3"])
    s.ok(wait_until(lambda: c.member_state("green", p3.addr) == "new", 5),
         "p3 is new: its probes fail")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 1, "switch green is refused", out + err)
    s.match(r"127\.0\.0\.3:%d \(new: 0 of 2 probes passed\)" % p3.port,
            out + err, "the refusal says p3 is new and how far its probes are")
    for args in (("member", "green", "127.0.0.9:%d" % p2.port, "drain"),
                 ("member", "green", "timeout:", "ready")):
        rc, out, err = c.ctl(*args)
        s.eq(rc, 2, "%s: exit 2 (usage)" % " ".join(args), out + err)
        s.contains(out + err, "usage:", "the reply is a usage error")
    ns.stop()


s.done()
