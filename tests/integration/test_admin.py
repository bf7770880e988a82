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

from harness import (CUTOVERCTL_BIN, AdminConn, Backend, Cutover, Suite, get,
                     pools_config, wait_until)

s = Suite()


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


@s.scenario("admin socket group")
def _():
    blue, green = Backend("blue"), Backend("green")
    group = grp.getgrgid(os.getgid()).gr_name
    c = Cutover(blue=[blue], green=[green],
                extra='admin = { socket = "@DIR@/admin.sock"; '
                      'socket_mode = "0660"; socket_group = "%s"; '
                      'readonly_socket = "@DIR@/ro.sock"; };\n' % group)
    ro = os.path.join(c.dir, "ro.sock")
    wait_until(lambda: os.path.exists(ro))
    st = os.stat(c.sock)
    s.ok(st.st_gid == os.getgid() and st.st_mode & 0o777 == 0o660,
         "socket_group = our primary group (%s): the socket's gid and mode "
         "0660" % group, (st.st_gid, oct(st.st_mode)))
    st = os.stat(ro)
    s.ok(st.st_gid == os.getgid() and st.st_mode & 0o777 == 0o660,
         "... and the read-only socket's", (st.st_gid, oct(st.st_mode)))

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



def ctl_as(argv, uid=None):
    """Runs cutoverctl argv, as uid when given (we are root then); returns
    (exit code, stderr)."""
    def drop():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    p = subprocess.run([CUTOVERCTL_BIN] + argv, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=15,
                       preexec_fn=drop if uid is not None else None)
    return p.returncode, p.stderr.decode(errors="replace")


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


s.done()
