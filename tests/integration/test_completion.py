#!/usr/bin/env python3
"""Bash completion for cutoverctl (completion/cutoverctl): commands from
the daemon's help, pools and members from its status json, through the
socket named by CUTOVER_SOCKET or -s, and the fixed words of each
command.  Runs bash with the completion sourced against a running
cutover and reads COMPREPLY."""

import os
import shutil
import subprocess

from harness import CUTOVERCTL_BIN, SRCDIR, Backend, Cutover, Suite

s = Suite()

COMPLETION = os.path.join(SRCDIR, "completion", "cutoverctl")

# Completes each line given as an argument, as bash would at the end of
# it, and prints COMPREPLY's words (one a line, "--" after each).
DRIVER = r'''
. "$COMPLETION" || exit 9
for line in "$@"; do
	COMP_LINE=$line
	COMP_POINT=${#line}
	_cutoverctl
	printf '%s\n' "${COMPREPLY[@]}" --
done
'''


def complete(*lines, sock=None):
    """The COMPREPLY of each line, as lists of words, in order."""
    env = dict(os.environ,
               PATH=os.path.dirname(CUTOVERCTL_BIN) + os.pathsep +
               os.environ.get("PATH", ""), COMPLETION=COMPLETION)
    env.pop("CUTOVER_SOCKET", None)
    if sock is not None:
        env["CUTOVER_SOCKET"] = sock
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER,
                        "driver"] + list(lines), env=env,
                       capture_output=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("bash exited %d: %s" % (p.returncode, p.stderr))
    out, cur = [], []
    for word in p.stdout.decode().split("\n")[:-1]:
        if word == "--":
            out.append([w for w in cur if w != ""])
            cur = []
        else:
            cur.append(word)
    return out


@s.scenario("cutoverctl <TAB>: commands, pools, members")
def _():
    s.ok(shutil.which("bash") is not None, "bash is installed")
    b1, b2, g = Backend("b1"), Backend("b2"), Backend("g")
    c = Cutover(blue=[b1, b2], green=[g])
    got = complete("cutoverctl sw", "cutoverctl switch ",
                   "cutoverctl member blue ", "cutoverctl member green ",
                   "cutoverctl st", "cutoverctl ", "cutoverctl switch g",
                   "cutoverctl switch green ", "cutoverctl status ",
                   "cutoverctl help ro",
                   "cutoverctl member blue %s m" % b1.addr,
                   "cutoverctl member purple ", sock=c.sock)
    s.eq(got[0], ["switch"], "cutoverctl sw<TAB>: switch", got)
    s.eq(got[1], ["blue", "green"], "cutoverctl switch <TAB>: the pools",
         got)
    s.eq(sorted(got[2]), sorted([b1.addr, b2.addr]),
         "cutoverctl member blue <TAB>: blue's members", got)
    s.eq(got[3], [g.addr], "cutoverctl member green <TAB>: green's member",
         got)
    s.eq(got[4], ["status"], "cutoverctl st<TAB>: status", got)
    s.eq(sorted(got[5]), sorted(["status", "metrics", "switch", "cancel",
                                 "rollback", "shift",
                                 "member", "wait-healthy", "wait-drained",
                                 "reload", "version", "help", "quit"]),
         "cutoverctl <TAB>: every command the daemon lists", got)
    s.eq(got[6], ["green"], "cutoverctl switch g<TAB>: green", got)
    s.eq(got[7], ["force", "at", "gen", "guard"],
         "cutoverctl switch green <TAB>: force, at, gen, guard", got)
    s.eq(got[8], ["json"], "cutoverctl status <TAB>: json", got)
    s.eq(got[9], ["rollback"], "cutoverctl help ro<TAB>: rollback", got)
    s.eq(got[10], ["maint"], "cutoverctl member blue ADDR m<TAB>: maint",
         got)
    s.eq(got[11], [], "an unknown pool has no members to offer", got)

    # bash breaks words at ':': only the part after the last one is
    # replaced, so that is what COMPREPLY holds
    host, port = b1.addr.rsplit(":", 1)
    got = complete("cutoverctl member blue %s:" % host, sock=c.sock)
    s.ok(port in got[0] and all(":" not in w for w in got[0]),
         "cutoverctl member blue 127.0.0.1:<TAB>: the ports after ':'",
         got)

    got = complete("cutoverctl -s %s switch " % c.sock,
                   "cutoverctl -s %s member blue " % c.sock)
    s.eq(got[0], ["blue", "green"],
         "without CUTOVER_SOCKET, -s SOCKET on the line is asked", got)
    s.eq(sorted(got[1]), sorted([b1.addr, b2.addr]),
         "... for members too", got)

    missing = os.path.join(c.dir, "missing.sock")
    got = complete("cutoverctl sw", "cutoverctl switch ", sock=missing)
    s.eq(got, [["switch"], []], "no daemon: commands from the fixed list, "
         "no pools, and no error on the terminal", got)


s.done()
