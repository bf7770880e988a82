#!/usr/bin/env python3
"""The admin socket's raw protocol, bad input on it, status json, the
read-only socket, the socket's group, and cutoverctl's exit codes."""

import grp
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from harness import (CUTOVER_BIN, CUTOVERCTL_BIN, AdminConn, Background,
                     Backend, Cutover, Suite, dead_addr, get, pools_config,
                     register, wait_until)

s = Suite()

# How much later than asked a time-out may end on a loaded machine.
BOUND = 1.0


def ctl_as(argv, uid=None, gid=None):
    """Runs cutoverctl argv, as uid (and gid, by default the number uid)
    when given (we are root then); returns (exit code, stderr)."""
    def drop():
        os.setgroups([])
        os.setgid(uid if gid is None else gid)
        os.setuid(uid)
    p = subprocess.run([CUTOVERCTL_BIN] + argv, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=15,
                       preexec_fn=drop if uid is not None else None)
    return p.returncode, p.stderr.decode(errors="replace")


def ctl_run(argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=15)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


def first_line(reply):
    return reply.split("\n", 1)[0]


@s.scenario("admin protocol")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])

    r = c.admin("help")
    s.eq(first_line(r), "ok", "help answers ok", r)
    for cmd in ("status", "switch", "rollback", "reload", "version", "help",
                "member", "wait-healthy", "wait-drained"):
        s.match(r"^\s*%s\b" % cmd, r.split("\n", 1)[-1],
                "help lists %s" % cmd)

    r = c.admin("frobnicate")
    s.match(r"^error: usage: unknown command", r, "unknown command is an error")

    r = c.admin("switch")
    s.match(r"^error: usage: ", r, "switch without its pool: usage error")

    r = c.admin("version")
    s.ok(first_line(r) == "ok" and "0.1.0" in r, "version answers 0.1.0", r)

    with c.admin_conn() as a:
        a.send("version\nstatus\n")
        r1, r2 = a.reply(), a.reply()
    s.ok(first_line(r1) == "ok" and "0.1.0" in r1 and
         first_line(r2) == "ok" and
         re.search(r"^active blue ", r2, re.M) is not None,
         "two pipelined commands answered in order",
         "first %r\nsecond %r" % (r1, r2))

    # health fields: wait for the first probes, so the lines are settled
    s.ok(c.wait_pool_healthy("blue") and c.wait_pool_healthy("green"),
         "both pools healthy before reading status", c.admin("status"))
    # what the text lines said, now asserted through status json (the
    # table is test_status.py's)
    j = c.status_json()
    s.eq((j["version"], j["active"], j["previous"], j["listen"],
          j["reload"]), ("0.1.0", "blue", None, ["127.0.0.1:%d" % c.port],
                         {"result": "never"}),
         "status json: version, active blue, previous none, listen, "
         "reload never", j)
    s.ok(isinstance(j["connections_open"], int) and
         isinstance(j["requests_total"], int),
         "status json: connections_open and requests_total", j)
    s.eq([(p, j["pools"][p]["active"], len(j["pools"][p]["members"]),
           j["pools"][p]["healthy"], j["pools"][p]["inflight"],
           j["pools"][p]["tunnels"]) for p in ("blue", "green")],
         [("blue", True, 1, 1, 0, 0), ("green", False, 1, 1, 0, 0)],
         "status json: blue active, green standby, 1 member healthy each",
         j)
    m = j["pools"]["blue"]["members"][0]
    s.ok(m["addr"] == blue.addr and m["inflight"] == 0 and
         m["connect_failures"] == 0 and m["health"] == "up" and
         m["admin"] == "ready" and m["fail_streak"] == 0 and
         m["last"] == "200" and all(isinstance(m[k], int) for k in (
             "requests", "idle", "ok_streak", "latency_ms")),
         "status json: blue's member up, ready, last 200", m)

    with c.admin_conn() as a:
        a.send("quit\n")
        try:
            a.reply()
        except EOFError:
            pass
        s.ok(a.closed(2.0), "quit closes the admin connection")

    st = c.status_json()
    s.eq(st.get("active"), "blue", "status json: active is blue", st)
    s.ok(st.get("version") == "0.1.0" and st.get("previous") is None and
         st.get("listen") == ["127.0.0.1:%d" % c.port] and
         st.get("reload", {}).get("result") == "never" and
         st["pools"]["blue"]["active"] is True and
         st["pools"]["green"]["active"] is False,
         "status json: version, previous, listen, reload, pools' active", st)
    s.eq(st["pools"]["blue"]["members"][0]["addr"], blue.addr,
         "status json: blue's first member is the backend", st)
    s.eq(st["pools"]["green"]["members"][0]["addr"], green.addr,
         "status json: green's first member is the backend", st)


@s.scenario("bad input on the admin socket")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])

    with c.admin_conn() as a:
        a.send("x" * 10000 + "\n")
        try:
            r = a.reply()
        except (EOFError, OSError) as e:
            r = "no reply: %r" % e
    s.match(r"^error: usage: line too long \(max \d+ bytes\)$", r,
            "a 10000-byte line gets a usage error saying it is too long")
    s.eq(get(c.port, "/").body, b"blue\n", "... and the proxy still serves")
    s.eq(first_line(c.admin("version")), "ok",
         "... and a new admin connection works")

    with c.admin_conn() as a:
        a.send(b"\x00\xff\xfe\x01 garbage\x00\x00 \r\n")
        try:
            r = a.reply()
        except (EOFError, OSError) as e:
            r = "closed: %r" % e
    s.ok(c.alive(), "garbage with NUL bytes does not crash it", r)
    s.eq(r, "error: usage: NUL byte in command",
         "garbage gets a usage error naming the NUL byte")
    s.eq(get(c.port, "/").body, b"blue\n", "... and the proxy still serves")
    s.eq(first_line(c.admin("version")), "ok",
         "... and the admin socket still answers")


@s.scenario("admin socket mode")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.eq(oct(os.stat(c.sock).st_mode & 0o777), oct(0o600),
         "the admin socket is mode 0600 by default")
    c2 = Cutover('admin = { socket = "@DIR@/admin.sock"; '
                 'socket_mode = "0660"; };\n' + pools_config([blue], [green]))
    s.eq(oct(os.stat(c2.sock).st_mode & 0o777), oct(0o660),
         "socket_mode = \"0660\" is applied")


@s.scenario("read-only admin socket")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra='admin = { socket = "@DIR@/admin.sock"; '
                      'readonly_socket = "@DIR@/ro.sock"; };\n')
    ro = os.path.join(c.dir, "ro.sock")
    s.ok(wait_until(lambda: os.path.exists(ro)),
         "the read-only socket is made", c.log_tail())
    s.eq(oct(os.stat(ro).st_mode & 0o777), oct(0o600),
         "the read-only socket has admin.socket_mode (0600 by default)")

    def ctl_ro(*args):
        p = subprocess.run([CUTOVERCTL_BIN, "-s", ro] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=15)
        return (p.returncode, p.stdout.decode(errors="replace"),
                p.stderr.decode(errors="replace"))

    rc, out, err = ctl_ro("status")
    s.ok(rc == 0 and re.search(r"^active blue ", out, re.M) is not None,
         "cutoverctl -s READONLY status exits 0 and shows active blue",
         (rc, out, err))
    rc, out, err = ctl_ro("version")
    s.ok(rc == 0 and "0.1.0" in out, "... and version exits 0",
         (rc, out, err))

    s.ok(c.wait_pool_healthy("green"), "green is healthy (so a switch "
         "would be allowed on the full socket)", c.admin("status"))
    mark = c.log_mark()
    rc, out, err = ctl_ro("switch", "green")
    s.eq(rc, 1, "cutoverctl -s READONLY switch green exits 1", out + err)
    s.contains(out + err, "read-only socket: 'switch' changes state",
               "the refusal says the socket is read-only", out + err)
    s.eq(c.active(), "blue", "... and blue is still active")
    s.ok(c.wait_log(r"admin: uid %d pid \d+: switch green -> error: "
                    r"read-only socket" % os.getuid(), since=mark),
         "the refused switch is logged with the peer's uid and pid",
         c.log_tail())
    for cmd in (["rollback"], ["reload"],
                ["member", "blue", blue.addr, "drain"]):
        rc, out, err = ctl_ro(*cmd)
        s.ok(rc == 1 and "read-only socket: '%s' changes state" % cmd[0]
             in out + err, "%s is refused on the read-only socket" % cmd[0],
             (rc, out, err))
    s.eq(c.member("blue", blue.addr).get("admin", "ready"),
         "ready", "blue's member is still ready")

    with AdminConn(ro, 5.0) as a:
        a.send("help\n")
        r = a.reply()
    listed = sorted(line.split()[0] for line in r.split("\n")[1:] if line)
    s.eq(listed, sorted(["status", "version", "help", "wait-healthy",
                         "wait-drained", "quit", "metrics"]),
         "help on the read-only socket lists only the read-only commands", r)
    with AdminConn(ro, 5.0) as a:
        a.send("frobnicate\n")
        r = a.reply()
    s.match(r"^error: usage: unknown command 'frobnicate'", r,
            "an unknown command gets the usual error there")
    with AdminConn(ro, 5.0) as a:
        a.send("wait-healthy green 5\n")
        r = a.reply()
    s.eq(first_line(r), "ok", "wait-healthy answers on the read-only socket",
         r)

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "the full socket still switches", out + err)
    s.eq(c.active(), "green", "... to green")

    s.eq(c.stop(), 0, "SIGTERM: exits 0")
    s.ok(not os.path.exists(ro), "the read-only socket file is removed at "
         "exit")


def other_group():
    """(name, gid) of a group that is neither ours nor one we are in, so
    that the socket gets a group it would not have by default (as root:
    "daemon", or the first such group); None when we may not give one
    away (not root: a group we are in but not our primary one then)."""
    mine = set(os.getgroups()) | {os.getgid()}
    if os.geteuid() == 0:
        groups = sorted(grp.getgrall(), key=lambda g: g.gr_name != "daemon")
        for g in groups:
            if g.gr_gid not in mine and g.gr_gid != 65534:
                return g.gr_name, g.gr_gid
    for gid in sorted(mine - {os.getgid()}):
        return grp.getgrgid(gid).gr_name, gid
    return None


@s.scenario("admin socket group")
def _():
    blue, green = Backend("blue"), Backend("green")
    other = other_group()
    s.ok(other is not None, "a group other than our own to give the socket",
         "root, or a user in a second group, runs this test")
    group, gid = other or (grp.getgrgid(os.getgid()).gr_name, os.getgid())
    c = Cutover(blue=[blue], green=[green], start=False,
                extra='admin = { socket = "@DIR@/admin.sock"; '
                      'socket_mode = "0660"; socket_group = "%s"; '
                      'readonly_socket = "@DIR@/ro.sock"; };\n' % group)
    os.chmod(c.dir, 0o755)          # others may reach the socket
    rc, out, err = ctl_run([CUTOVER_BIN, "-t", "-c", c.conf])
    s.eq(rc, 0, "cutover -t accepts socket_group = %s" % group, out + err)
    c.start()
    ro = os.path.join(c.dir, "ro.sock")
    wait_until(lambda: os.path.exists(ro))
    st = os.stat(c.sock)
    s.ok(st.st_gid == gid and st.st_mode & 0o777 == 0o660,
         "socket_group = %s (not our group): the socket's gid is %d, mode "
         "0660" % (group, gid), (st.st_gid, oct(st.st_mode)))
    st = os.stat(ro)
    s.ok(st.st_gid == gid and st.st_mode & 0o777 == 0o660,
         "... and the read-only socket's", (st.st_gid, oct(st.st_mode)))
    if os.geteuid() == 0:
        # a user of that group may use it, a user of no such group not
        member = [p for p in pwd.getpwall() if p.pw_gid == gid and
                  p.pw_uid != 0][:1]
        s.ok(member, "a user whose group is %s" % group)
        for p in member:
            rc, err = ctl_as(["-s", c.sock, "version"], p.pw_uid, gid)
            s.eq(rc, 0, "%s (uid %d, group %s) may use the socket"
                 % (p.pw_name, p.pw_uid, group), err)
        rc, err = ctl_as(["-s", c.sock, "version"], 65534, 65534)
        s.ok(rc == 2 and "Permission denied" in err, "nobody, not in %s, "
             "may not: exit 2, Permission denied" % group, (rc, err))

    bad = "no-such-group-cutover"
    c2 = Cutover(blue=[blue], green=[green],
                 extra='admin = { socket = "@DIR@/admin.sock"; '
                       'socket_group = "%s"; };\n' % bad, start=False,
                 expect_exit=1)
    try:
        c2.start(timeout=5)
        started = True
    except RuntimeError:
        started = False
    s.ok(not started and c2.wait(5) == 1,
         "an unknown socket_group: cutover exits 1", c2.log_text())
    s.contains(c2.log_text(), "admin.socket_group: no group named '%s'" % bad,
               "the message names the group", c2.log_text())
    s.ok(not os.path.exists(c2.sock), "no admin socket is left behind")


@s.scenario("cutoverctl exit codes")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])

    rc, out, err = c.ctl("status")
    s.eq(rc, 0, "status exits 0", err)
    s.match(r"(?m)^active blue  generation 1  previous none$", out,
            "status prints active blue")
    rc, out, err = c.ctl("status", "json")
    try:
        st = json.loads(out)
    except ValueError:
        st = None
    s.ok(rc == 0 and st and st.get("active") == "blue",
         "status json prints parseable JSON", out + err)

    rc, out, err = c.ctl("switch", "purple")
    s.eq(rc, 2, "switch purple (no such pool) exits 2", out + err)
    s.match(r"^cutoverctl: .*purple", err, "the error goes to stderr")

    rc, out, err = c.ctl()
    s.eq(rc, 2, "no command exits 2", out + err)

    missing = os.path.join(c.dir, "nope", "missing.sock")
    p = subprocess.run([CUTOVERCTL_BIN, "-s", missing, "status"],
                       capture_output=True, timeout=15)
    err = p.stderr.decode(errors="replace")
    s.eq(p.returncode, 2, "an absent socket exits 2", err)
    s.contains(err, missing, "the message names the socket path")



@s.scenario("cutoverctl: hints when the socket cannot be reached")
def _():
    d = tempfile.mkdtemp(prefix="cutoverctl-hints-")
    try:
        os.chmod(d, 0o755)
        missing = os.path.join(d, "admin.sock")
        rc, err = ctl_as(["-s", missing, "status"])
        s.ok(rc == 2 and err == "cutoverctl: cannot connect to %s: no such "
             "socket (is cutover running? set CUTOVER_SOCKET or -s to its "
             "admin.socket)\n" % missing,
             "no socket: exit 2, is cutover running, CUTOVER_SOCKET, -s",
             (rc, err))
        env_rc = subprocess.run([CUTOVERCTL_BIN, "status"],
                                env=dict(os.environ, CUTOVER_SOCKET=missing),
                                capture_output=True, timeout=15)
        s.ok(env_rc.returncode == 2 and missing in env_rc.stderr.decode(),
             "... the same through CUTOVER_SOCKET, which it names",
             env_rc.stderr)

        stale = os.path.join(d, "stale.sock")
        so = socket.socket(socket.AF_UNIX)
        so.bind(stale)
        so.close()          # bound, never listening: what a dead daemon left
        rc, err = ctl_as(["-s", stale, "status"])
        s.ok(rc == 2 and err == "cutoverctl: cannot connect to %s: stale "
             "socket: cutover is not running\n" % stale,
             "a stale socket: exit 2, cutover is not running", (rc, err))

        closed = os.path.join(d, "closed.sock")
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(closed)
        ls.listen(1)
        try:
            if os.geteuid() == 0:
                os.chmod(closed, 0o600)     # root's; we ask as nobody
                uid, owner = 65534, pwd.getpwuid(0).pw_name
                group, mode = grp.getgrgid(os.getgid()).gr_name, "0600"
            else:
                os.chmod(closed, 0o000)     # even its owner may not write
                uid, owner = None, pwd.getpwuid(os.getuid()).pw_name
                group, mode = grp.getgrgid(os.getgid()).gr_name, "0000"
            rc, err = ctl_as(["-s", closed, "status"], uid)
            s.ok(rc == 2 and err == "cutoverctl: cannot connect to %s: "
                 "Permission denied (owner %s, group %s, mode %s; "
                 "cutover's admin.socket_group and admin.socket_mode decide "
                 "who may connect)\n" % (closed, owner, group, mode),
                 "permission denied: exit 2, the socket's owner, group and "
                 "mode, admin.socket_group and admin.socket_mode", (rc, err))
        finally:
            ls.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


@s.scenario("switch, rollback, member and reload are logged with the "
            "client's uid and pid")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())
    for argv, answer in (
            (["switch", "green"], r"ok: green \(was blue\), generation 2"),
            (["rollback"], r"ok: blue \(was green\), generation 3"),
            (["member", "blue", blue.addr, "drain", "force"],
             r"ok: blue %s: ready -> drain" % re.escape(blue.addr)),
            (["reload"], r"ok: reloaded %s: active blue" % re.escape(c.conf)),
            (["member", "green", "127.0.0.1:1", "drain"],
             r"error: usage: pool green has no member 127\.0\.0\.1:1")):
        p = subprocess.Popen([CUTOVERCTL_BIN, "-s", c.sock] + argv,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        p.communicate(timeout=15)
        s.eq(p.returncode, 2 if "usage" in answer else 0,
             "cutoverctl %s: its exit status" % " ".join(argv))
        line = r"admin: uid %d pid %d: %s -> %s" % (
            os.getuid(), p.pid, re.escape(" ".join(argv)), answer)
        s.ok(c.wait_log(line), "cutoverctl %s (pid %d): the log names its "
             "uid and pid, the command and the answer" % (" ".join(argv),
                                                          p.pid),
             line)


class FakeDaemon:
    """A UNIX socket at path that plays a daemon: it accepts, reads the
    command line and then does what `how` says: "silent" (keeps the
    connection, answers nothing), "close" (closes at once) or "partial"
    (sends a reply's first line and closes)."""

    def __init__(self, path, how):
        self.path, self.how = path, how
        self.ls = socket.socket(socket.AF_UNIX)
        self.ls.bind(path)
        self.ls.listen(8)
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()
        register(self)

    def _serve(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            c.settimeout(5)
            try:
                c.recv(4096)
            except OSError:
                pass
            if self.how == "silent":
                self.held.append(c)
                continue
            if self.how == "partial":
                c.sendall(b"ok\nhalf a body")
            c.close()

    def cleanup(self):
        self.ls.close()
        for c in self.held:
            c.close()


def ctl_timed(argv, env=None):
    """(exit code, stdout, stderr, seconds) of cutoverctl argv."""
    t0 = time.monotonic()
    p = subprocess.run([CUTOVERCTL_BIN] + argv, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30, env=env)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"), time.monotonic() - t0)


@s.scenario("cutoverctl: -t, CUTOVER_SOCKET, -h and -V; a time-out exits 3, "
            "a reply cut short 2")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green, dead_addr()])
    silent = FakeDaemon(os.path.join(c.dir, "silent.sock"), "silent")
    # the default time-out (10 s) runs beside the rest
    default = Background(ctl_timed, ["-s", silent.path, "status"])

    rc, out, err, took = ctl_timed(["-s", silent.path, "-t", "1", "status"])
    s.ok(rc == 3 and err == "cutoverctl: no reply from %s within 1 s\n"
         % silent.path and 0.9 <= took < 1.0 + BOUND,
         "-t 1 and a daemon that does not answer: exit 3 after 1 s, and "
         "says so", (rc, out, err, took))
    for bad in ("0", "86401", "1.5", "x", ""):
        rc, out, err, took = ctl_timed(["-s", c.sock, "-t", bad, "status"])
        s.ok(rc == 2 and err.startswith("cutoverctl: -t %s: expected "
                                        "seconds, 1 to 86400\n" % bad),
             "-t %r: a usage error, exit 2" % bad, (rc, out, err))
    rc, out, err, took = ctl_timed(["-s", c.sock, "-t", "86400", "version"])
    s.ok(rc == 0 and out == "cutover 0.1.0\n", "-t 86400 is allowed",
         (rc, out, err))
    # wait-healthy may take its own seconds: -t is raised to them + 10
    rc, out, err, took = ctl_timed(["-s", c.sock, "-t", "1", "wait-healthy",
                                    "green", "2"])
    s.ok(rc == 3 and err.startswith("cutoverctl: timeout: after 2 s: ") and
         took >= 1.9, "-t 1 wait-healthy green 2: the daemon's time-out "
         "after 2 s, not cutoverctl's after 1", (rc, out, err, took))

    for how, what in (("close", "closed"), ("partial", "closed")):
        fake = FakeDaemon(os.path.join(c.dir, how + ".sock"), how)
        rc, out, err, took = ctl_timed(["-s", fake.path, "status"])
        s.ok(rc == 2 and err == "cutoverctl: reply from %s cut short "
             "(connection %s)\n" % (fake.path, what) and out == "",
             "a daemon that closes %s: exit 2, the reply was cut short"
             % ("at once" if how == "close" else "mid-reply"),
             (rc, out, err))

    env = dict(os.environ, CUTOVER_SOCKET=c.sock)
    rc, out, err, took = ctl_timed(["version"], env)
    s.ok(rc == 0 and out == "cutover 0.1.0\n",
         "CUTOVER_SOCKET names the socket when -s is not given",
         (rc, out, err))
    env["CUTOVER_SOCKET"] = silent.path
    rc, out, err, took = ctl_timed(["-s", c.sock, "version"], env)
    s.ok(rc == 0 and out == "cutover 0.1.0\n", "-s wins over CUTOVER_SOCKET",
         (rc, out, err))
    env["CUTOVER_SOCKET"] = ""
    rc, out, err, took = ctl_timed(["version"], env)
    s.ok(rc == 2 and "cannot connect to /run/cutover/admin.sock" in err,
         "an empty CUTOVER_SOCKET is not set: /run/cutover/admin.sock",
         (rc, out, err))

    for opt, want in (("-h", "usage: cutoverctl "),
                      ("-V", "cutoverctl 0.1.0\n")):
        rc, out, err, took = ctl_timed([opt])
        s.ok(rc == 0 and out.startswith(want) and err == "",
             "cutoverctl %s: exit 0, %r" % (opt, want), (rc, out, err))
    for opt in ("-s", "-t"):
        rc, out, err, took = ctl_timed([opt])
        s.ok(rc == 2 and err.startswith("cutoverctl: option %s needs an "
                                        "argument\n" % opt),
             "%s without its argument: exit 2, says so" % opt,
             (rc, out, err))
    rc, out, err, took = ctl_timed(["-s", c.sock, "switch", "green", "-t",
                                    "1"])
    s.ok(rc == 2 and "usage" in err, "options end at the command: "
         "'switch green -t 1' is the daemon's usage error", (rc, out, err))

    default.join(15)
    rc, out, err, took = default.result or (None, "", "", 0)
    s.ok(rc == 3 and err == "cutoverctl: no reply from %s within 10 s\n"
         % silent.path and 9.9 <= took < 10.0 + BOUND,
         "without -t a daemon that does not answer: exit 3 after 10 s",
         (default.result, default.error))


s.done()
