#!/usr/bin/env python3
"""The state file against files a local user plants in its way (issue 18,
finding 4): a symlink or a FIFO where the temporary file used to be made
("<path>.tmp"), and a FIFO or symlink at the state path itself.  A switch
must answer in time, write nothing through a symlink, leave no temporary
file behind, and cutover must go on serving."""

import os
import re
import subprocess
import time

from harness import CUTOVERCTL_BIN, Backend, Cutover, Suite, get

s = Suite()

SWITCH_BOUND = 5.0      # seconds; a switch takes milliseconds here


def state_config():
    return 'state_file = "@DIR@/active";\n'


def timed_ctl(c, *args):
    """cutoverctl with a 5 s reply timeout; (rc, output, seconds taken)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([CUTOVERCTL_BIN, "-s", c.sock, "-t", "5"] +
                           list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=20)
        rc, out = p.returncode, (p.stdout + p.stderr).decode(
            errors="replace")
    except subprocess.TimeoutExpired:
        rc, out = None, "cutoverctl did not exit within 20 s"
    return rc, out, time.monotonic() - t0


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return repr(e)


def leftovers(c):
    """Temporary state files left in c's directory."""
    return [n for n in os.listdir(c.dir) if n.startswith(".active.")]


def release_fifo(path):
    """Opens a FIFO for reading and closes it, so that a writer blocked on
    it (the old code) goes on and the scenario's cleanup does not wait."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        time.sleep(0.2)
        os.close(fd)
    except OSError:
        pass


@s.scenario("a symlink at <state>.tmp: the switch does not write through it")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g], extra=state_config())
    path = os.path.join(c.dir, "active")
    victim = os.path.join(c.dir, "victim")
    with open(victim, "w") as f:
        f.write("precious\n")
    os.symlink(victim, path + ".tmp")
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.admin("status"))

    rc, out, took = timed_ctl(c, "switch", "green")
    s.eq(rc, 0, "cutoverctl switch green exits 0", out)
    s.ok(took < SWITCH_BOUND, "the switch answers within %.0f s (took "
         "%.2f s)" % (SWITCH_BOUND, took))
    s.eq(read(victim), "precious\n", "the symlink's target is unchanged")
    s.eq(read(path), "green\ngeneration 0\n", "the state file says green")
    s.ok(os.path.islink(path + ".tmp"), "the planted symlink is left alone")
    s.eq(leftovers(c), [], "no temporary file is left behind")
    s.eq(get(c.port, "/").body, b"g\n", "traffic goes to green")


@s.scenario("a FIFO at <state>.tmp: the switch answers, cutover serves")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g], extra=state_config())
    path = os.path.join(c.dir, "active")
    fifo = path + ".tmp"
    os.mkfifo(fifo)
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.admin("status"))

    rc, out, took = timed_ctl(c, "switch", "green")
    release_fifo(fifo)
    s.eq(rc, 0, "cutoverctl switch green exits 0", out)
    s.ok(took < SWITCH_BOUND, "the switch answers within %.0f s (took "
         "%.2f s)" % (SWITCH_BOUND, took))
    s.eq(read(path), "green\ngeneration 0\n", "the state file says green")
    s.eq(leftovers(c), [], "no temporary file is left behind")
    s.eq(get(c.port, "/", timeout=5).body, b"g\n",
         "cutover still serves, from green")
    rc, out, took = timed_ctl(c, "status")
    s.ok(rc == 0 and any(l.startswith("active green ")
                         for l in out.split("\n")),
         "cutoverctl status still answers: active green", out)
    rc, out, took = timed_ctl(c, "rollback")
    release_fifo(fifo)
    s.ok(rc == 0 and took < SWITCH_BOUND,
         "a rollback past the FIFO answers too (took %.2f s)" % took, out)
    s.eq(read(path), "blue\ngeneration 0\n", "the state file says blue")


@s.scenario("a FIFO at the state path: start-up does not hang")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g], extra=state_config(), start=False)
    path = os.path.join(c.dir, "active")
    os.mkfifo(path)
    try:
        c.start(timeout=10)
        started = True
    except RuntimeError as e:
        started = False
        release_fifo(path)
        s.ok(False, "cutover starts within 10 s", str(e))
    if not started:
        return
    s.ok(c.wait_log(r"error: state file %s: is a FIFO, not a regular file"
                    r".*not trusted" % re.escape(path), 2),
         "the log says the FIFO is not a regular file, not trusted",
         c.log_tail(5))
    s.eq(c.active(), "blue", "the configuration's pool is active")
    s.eq(get(c.port, "/").body, b"b\n", "traffic goes to blue")
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.admin("status"))
    rc, out, took = timed_ctl(c, "switch", "green")
    s.ok(rc == 0 and took < SWITCH_BOUND,
         "a switch answers (took %.2f s)" % took, out)
    s.eq(read(path), "green\ngeneration 0\n",
         "the FIFO is replaced by the state file")


@s.scenario("a symlink at the state path is not followed")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g], extra=state_config(), start=False)
    path = os.path.join(c.dir, "active")
    victim = os.path.join(c.dir, "victim")
    with open(victim, "w") as f:
        f.write("green\n")
    os.symlink(victim, path)
    c.start()
    s.ok(c.wait_log(r"error: state file %s: is a symbolic link, not "
                    r"followed.*not trusted" % re.escape(path), 2),
         "the log says the symlink is not followed", c.log_tail(5))
    s.eq(c.active(), "blue", "the configuration's pool (blue) is active, "
         "not the symlink target's green")
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.admin("status"))
    rc, out, took = timed_ctl(c, "switch", "green")
    s.eq(rc, 0, "cutoverctl switch green exits 0", out)
    s.ok(not os.path.islink(path) and read(path) == "green\ngeneration 0\n",
         "the symlink is replaced by the state file", read(path))
    with open(victim, "w") as f:
        f.write("precious\n")
    rc, out, took = timed_ctl(c, "rollback")
    s.eq(read(victim), "precious\n", "the old target is never written")


s.done()
