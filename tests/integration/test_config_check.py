#!/usr/bin/env python3
"""cutover -t as a check before a start or a reload: it names the key and
the line of every error, refuses a min_healthy no pool can reach, tries
binding the listen addresses (and says which it bound), accepts the port
of the running cutover; cutover -T prints the effective configuration in a
form -t accepts and that loads to the same configuration."""

import os
import shutil
import subprocess
import tempfile

from harness import (CUTOVER_BIN, Cutover, Suite, free_port, pools_config)

s = Suite()

POOLS = pools_config(["127.0.0.1:9001"], ["127.0.0.1:9002"])


class Dir:
    """A temp dir for configuration files, readable by anyone (the
    unprivileged run reads them too)."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="cutover-conf-")
        os.chmod(self.path, 0o755)

    def write(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)
        return p

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def run(*args, unprivileged=False):
    argv = [CUTOVER_BIN] + list(args)
    if unprivileged and os.geteuid() == 0:
        # as a user without CAP_NET_BIND_SERVICE, as a new user would be
        argv = ["setpriv", "--reuid=65534", "--regid=65534",
                "--clear-groups", "--inh-caps=-all"] + argv
    p = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL,
                       timeout=15)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


@s.scenario("errors name the key and the line, with did-you-mean")
def _():
    d = Dir()
    try:
        bad = d.write("bad.conf", POOLS +              # lines 1-4
                      "timeouts = {\n"                 # 5
                      "  conect_ms = 2000;\n"          # 6
                      "};\n")
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "a misspelt setting: exit 1", out + err)
        s.contains(err, "bad.conf:6: timeouts.conect_ms: unknown setting "
                   "(did you mean 'connect_ms'?)", "line, path, suggestion")

        bad = d.write("bad.conf", "pools = {\n"
                      '  blue = { members = [ "127.0.0.1:9001" ]; };\n'
                      '  gren = { members = [ "127.0.0.1:9002" ]; };\n'
                      "};\n")
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "pools.gren: exit 1", out + err)
        s.contains(err, "bad.conf:3: pools.gren: unknown pool (did you mean "
                   "'green'?)", "the pool meant is suggested")

        bad = d.write("bad.conf", "pools = {\n"
                      '  blue = { members = [ "127.0.0.1:9001" ];\n'
                      '    health = { rise = 2; };\n'
                      '    members = [ "127.0.0.1:9003" ]; };\n'
                      '  green = { members = [ "127.0.0.1:9002" ]; };\n'
                      "};\n")
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "a duplicate key: exit 1", out + err)
        s.contains(err, "bad.conf:4: pools.blue.members: duplicate setting "
                   "name", "the duplicate is named by its full path")

        bad = d.write("bad.conf", POOLS + "admin = {\n"
                      '  socket_group = "no-such-group-x7";\n};\n')
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "an unknown socket_group: exit 1", out + err)
        s.contains(err, "bad.conf:6: admin.socket_group: no group named "
                   "'no-such-group-x7'", "its line is given")
    finally:
        d.remove()


@s.scenario("min_healthy against the pool sizes")
def _():
    d = Dir()
    try:
        two = pools_config(["127.0.0.1:9001", "127.0.0.1:9003"],
                           ["127.0.0.1:9002"])
        bad = d.write("bad.conf", two + "switch = {\n"
                      "  min_healthy = 2;\n};\n")
        rc, out, err = run("-t", "-c", bad)
        s.eq(rc, 1, "min_healthy = 2 with a one-member pool: exit 1",
             out + err)
        s.contains(err, "bad.conf:6: switch.min_healthy: 2, but pool green "
                   "has 1 member(s)", "the error names the pool and line")
        for ok in ("1", '"100%"', '"all"'):
            good = d.write("good.conf", two + "switch = { min_healthy = %s; "
                           "};\nlisten = [ \"127.0.0.1:0\" ];\n" % ok)
            rc, out, err = run("-t", "-c", good)
            s.eq(rc, 0, "min_healthy = %s passes" % ok, out + err)
        # a pool found by DNS may hold more members than its static ones
        dns = d.write("dns.conf", "listen = [ \"127.0.0.1:0\" ];\n"
                      "pools = { blue = { members = [ \"127.0.0.1:9001\" ]; "
                      "};\n  green = { members = [ \"127.0.0.1:9002\" ];\n"
                      "    dns = \"app-green.default.svc.cluster.local:80\";"
                      " };\n};\nswitch = { min_healthy = 1; };\n")
        rc, out, err = run("-t", "-c", dns)
        s.eq(rc, 0, "min_healthy = 1 with one-member pools passes", out + err)
        dns2 = d.write("dns2.conf", open(dns).read().replace(
            "min_healthy = 1", "min_healthy = 3"))
        rc, out, err = run("-t", "-c", dns2)
        s.eq(rc, 1, "min_healthy = 3: blue (no dns) still refused", out + err)
        s.contains(err, "but pool blue has 1 member(s)",
                   "blue is named, green (dns) is not checked")
    finally:
        d.remove()


@s.scenario("workers: 0 to 256, anything else an error at its line")
def _():
    d = Dir()
    try:
        for value, good in (("0", True), ("1", True), ("256", True),
                            ("257", False), ("-1", False)):
            conf = d.write("w.conf", POOLS + "workers = %s;\n" % value)
            rc, out, err = run("-t", "-c", conf)
            if good:
                s.eq(rc, 0, "workers = %s passes -t" % value, out + err)
            else:
                s.ok(rc == 1 and "w.conf:5: workers: %s out of range "
                     "(0-256)\n" % value in err, "workers = %s: exit 1, "
                     "out of range (0-256), at its line" % value,
                     (rc, out, err))
        conf = d.write("w.conf", POOLS + 'workers = "2";\n')
        rc, out, err = run("-t", "-c", conf)
        s.ok(rc == 1 and "w.conf:5: workers: expected an integer" in err,
             "workers = \"2\": exit 1, expected an integer", (rc, out, err))
    finally:
        d.remove()


@s.scenario("-t binds the listeners it may, and says so")
def _():
    d = Dir()
    try:
        port, hport = free_port(), free_port()
        conf = d.write("c.conf", POOLS + 'listen = [ "127.0.0.1:%d" ];\n'
                       'admin = { http = "127.0.0.1:%d"; };\n'
                       % (port, hport))
        rc, out, err = run("-t", "-c", conf)
        s.eq(rc, 0, "a free port: exit 0", out + err)
        s.contains(out, "c.conf:5: listen[0]: 127.0.0.1:%d: bound" % port,
                   "-t says it bound listen[0], with its line")
        s.contains(out, "c.conf:6: admin.http: 127.0.0.1:%d: bound" % hport,
                   "-t bound admin.http too")

        # 192.0.2.0/24 is for documentation: no host has it; nothing is
        # sent, the bind alone fails
        conf = d.write("c.conf", POOLS + 'listen = [ "127.0.0.1:%d",\n'
                       '  "192.0.2.1:%d" ];\n' % (port, port))
        rc, out, err = run("-t", "-c", conf)
        s.eq(rc, 1, "an address the host does not have: exit 1", out + err)
        s.contains(err, "c.conf:6: listen[1]: cannot bind 192.0.2.1:%d: "
                   "Cannot assign requested address" % port,
                   "the key, its line, the address and the errno text")
        s.ok("configuration ok" not in out, "no 'configuration ok'", out)

        low = d.write("low.conf", POOLS + 'listen = [ "127.0.0.1:81" ];\n')
        rc, out, err = run("-t", "-c", low, unprivileged=True)
        s.eq(rc, 0, "unprivileged, port 81: exit 0 (not tried)", out + err)
        s.contains(out, "listen[0]: 127.0.0.1:81: not bound (a port below "
                   "1024 needs privileges; -b tries)", "it says it did not")
        rc, out, err = run("-t", "-b", "-c", low, unprivileged=True)
        s.eq(rc, 1, "unprivileged, -t -b on port 81: exit 1", out + err)
        s.contains(err, "low.conf:5: listen[0]: cannot bind 127.0.0.1:81: "
                   "Permission denied", "-b tried and says why it failed")
        if os.geteuid() == 0:
            rc, out, err = run("-t", "-c", low)
            s.contains(out, "listen[0]: 127.0.0.1:81: bound",
                       "as root, a low port is tried by default", out + err)

        rc, out, err = run("-b", "-c", low)
        s.eq(rc, 2, "-b without -t is a usage error", out + err)
    finally:
        d.remove()


@s.scenario("-t before a reload: the running cutover's port is no error")
def _():
    for workers in (1, 2):
        port = free_port()
        c = Cutover(config=POOLS + 'listen = [ "127.0.0.1:%d" ];\n'
                    "workers = %d;\n" % (port, workers))
        rc, out, err = run("-t", "-c", c.conf)
        s.eq(rc, 0, "workers = %d, -t while it runs: exit 0" % workers,
             out + err)
        s.ok("listen[0]: 127.0.0.1:%d: bound" % port in out or
             "warning: 127.0.0.1:%d: Address already in use" % port in err,
             "workers = %d: bound beside it, or a warning only" % workers,
             out + err)
        c.stop()


@s.scenario("-T prints every setting, in a form -t accepts")
def _():
    d = Dir()
    try:
        conf = d.write("c.conf", 'listen = [ "127.0.0.1:0", "[::1]:0" ];\n'
                       'active = "green";\n'
                       + pools_config(["127.0.0.1:9001", "127.0.0.1:9003"],
                                      ["127.0.0.1:9002"]) +
                       'admin = { socket = "%s/a \\"q\\".sock"; '
                       'socket_mode = "0660"; http = "127.0.0.1:0"; };\n'
                       'health = { path = "/healthz"; expect = '
                       '"200,204,300-399"; };\n'
                       'switch = { min_healthy = "50%%"; };\n'
                       'limits = { max_body_bytes = 10000000000L; };\n'
                       'forwarded = { via = true; trusted = [ '
                       '"10.0.0.0/8", "fd00::/8", "192.0.2.7" ]; };\n'
                       'log = { access = "json"; };\n' % d.path)
        rc, t1, err = run("-T", "-c", conf)
        s.eq(rc, 0, "-T exits 0", err)
        for line in ('active = "green";', 'listen = [ "127.0.0.1:0", '
                     '"[::1]:0" ];', "connect_ms = 5000;",
                     'min_healthy = "50%";', "max_body_bytes = "
                     "10000000000L;", 'trusted = [ "10.0.0.0/8", '
                     '"fd00::/8", "192.0.2.7/32" ];', "# state_file: not set",
                     'expect = "200,204,300-399";', 'socket_mode = "0660";'):
            s.contains(t1, line, "-T shows %s" % line)
        out1 = d.write("t1.conf", t1)
        rc, out, err = run("-t", "-c", out1)
        s.eq(rc, 0, "-T's output passes -t", out + err)
        rc, t2, err = run("-T", "-c", out1)
        s.eq(t2, t1, "-T of -T's output is the same")

        rc, out, err = run("-T", "-c", d.write("bad.conf", "pools = {};\n"))
        s.eq(rc, 1, "-T of a bad file: exit 1 with the error", out + err)
        s.contains(err, "bad.conf:1: pools.blue: missing", "the error")
    finally:
        d.remove()


s.done()
