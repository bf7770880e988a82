#!/usr/bin/env python3
"""The admin socket's raw protocol, bad input on it, status json, and
cutoverctl's exit codes."""

import json
import os
import re
import subprocess

from harness import (CUTOVERCTL_BIN, Backend, Cutover, Suite, get,
                     pools_config)

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
    s.match(r"^error: unknown command", r, "unknown command is an error")

    r = c.admin("switch")
    s.match(r"^error: usage: ", r, "switch without its pool: usage error")

    r = c.admin("version")
    s.ok(first_line(r) == "ok" and "0.1.0" in r, "version answers 0.1.0", r)

    with c.admin_conn() as a:
        a.send("version\nstatus\n")
        r1, r2 = a.reply(), a.reply()
    s.ok(first_line(r1) == "ok" and "0.1.0" in r1 and
         first_line(r2) == "ok" and "active blue" in r2.split("\n"),
         "two pipelined commands answered in order",
         "first %r\nsecond %r" % (r1, r2))

    # health fields: wait for the first probes, so the lines are settled
    s.ok(c.wait_pool_healthy("blue") and c.wait_pool_healthy("green"),
         "both pools healthy before reading status", c.admin("status"))
    r = c.admin("status")
    for regex, what in (
            (r"^ok\n", "ok first"),
            (r"^version 0\.1\.0$", "version"),
            (r"^active blue$", "active blue"),
            (r"^previous none$", "previous none"),
            (r"^listen 127\.0\.0\.1:%d$" % c.port, "listen"),
            (r"^connections_open \d+$", "connections_open"),
            (r"^requests_total \d+$", "requests_total"),
            (r"^reload never$", "reload never"),
            (r"^pool blue active members 1 healthy 1 inflight 0$",
             "pool blue active"),
            (r"^pool green standby members 1 healthy 1 inflight 0$",
             "pool green standby"),
            (r"^member blue %s inflight 0 requests \d+ idle \d+ "
             r"connect_failures 0 health up admin ready ok_streak \d+ "
             r"fail_streak 0 latency_ms \d+ last 200$"
             % re.escape(blue.addr), "member blue")):
        s.match(regex, r, "status text shows %s" % what)

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
    s.match(r"^error: ", r, "a 10000-byte line gets an error reply")
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
    s.ok(r.startswith("error") or r.startswith("closed"),
         "garbage gets an error (or the connection is closed)", r)
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


@s.scenario("cutoverctl exit codes")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])

    rc, out, err = c.ctl("status")
    s.eq(rc, 0, "status exits 0", err)
    s.contains(out.split("\n"), "active blue", "status prints active blue",
               out)
    rc, out, err = c.ctl("status", "json")
    try:
        st = json.loads(out)
    except ValueError:
        st = None
    s.ok(rc == 0 and st and st.get("active") == "blue",
         "status json prints parseable JSON", out + err)

    rc, out, err = c.ctl("switch", "purple")
    s.eq(rc, 1, "switch purple exits 1", out + err)
    s.match(r"^cutoverctl: .*purple", err, "the refusal goes to stderr")

    rc, out, err = c.ctl()
    s.eq(rc, 2, "no command exits 2", out + err)

    missing = os.path.join(c.dir, "nope", "missing.sock")
    p = subprocess.run([CUTOVERCTL_BIN, "-s", missing, "status"],
                       capture_output=True, timeout=15)
    err = p.stderr.decode(errors="replace")
    s.eq(p.returncode, 2, "an absent socket exits 2", err)
    s.contains(err, missing, "the message names the socket path")


s.done()
