#!/usr/bin/env python3
"""The harness holds the scenarios to what they claim: a cutover that exits
with another status than declared, or whose log has a sanitizer report,
fails its scenario; a scenario past its time limit fails and is cleaned up;
a wait that times out says what its predicate raised; a runner killed with
SIGKILL leaves no process behind.  Each runs a small scenario script of its
own in a child runner and reads its TAP output."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (HERE, Suite, die_with_parent, sanitizer_report,
                     wait_until)

s = Suite()

PROLOGUE = """import os, signal, sys, time
sys.path.insert(0, %r)
from harness import *
s = Suite()


def killed(declared):
    # a cutover killed with SIGKILL, which the scenario declared or not
    c = Cutover(blue=[Backend("b")], green=[Backend("g")])
    if declared:
        c.expect_exit(-signal.SIGKILL)
    os.kill(c.pid, signal.SIGKILL)
    c.wait(5)
    return c
""" % HERE


def runner(body, timeout=60):
    """Runs a scenario script (PROLOGUE + body) to its end; returns (exit
    code, TAP output, seconds taken)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PROLOGUE + body + "\ns.done()\n")
    try:
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, f.name], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=timeout,
                           preexec_fn=die_with_parent())
        out = p.stdout.decode(errors="replace")
        # the temp dirs the failing checks kept on purpose
        for kept in re.findall(r"^#   \(kept (/\S+)\)$", out, re.M):
            shutil.rmtree(kept, ignore_errors=True)
        return p.returncode, out, time.monotonic() - t0
    finally:
        os.unlink(f.name)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@s.scenario("a cutover's exit status is checked when its scenario ends")
def _():
    rc, out, _ = runner('''
@s.scenario("clean")
def _():
    Cutover(blue=[Backend("b")], green=[Backend("g")])

@s.scenario("killed")
def _():
    killed(False)

@s.scenario("declared")
def _():
    killed(True)
''')
    s.match(r"^ok 1 - clean: cutover ends with exit 0 and no sanitizer "
            r"report$", out, "SIGTERM and exit 0: the check passes")
    s.match(r"^not ok 2 - killed: cutover ends with exit 0 and no "
            r"sanitizer report\n#   cutover pid \d+: signal SIGKILL, want "
            r"exit 0$", out, "killed: the check fails, saying how it ended")
    s.match(r"^ok 3 - declared: cutover ends with signal SIGKILL and no "
            r"sanitizer report$", out, "a declared status passes")
    s.eq(rc, 1, "the runner exits 1", out)


@s.scenario("a sanitizer report in cutover's log fails the scenario")
def _():
    rc, out, _ = runner('''
@s.scenario("leak")
def _():
    c = Cutover(blue=[Backend("b")], green=[Backend("g")])
    c.stop()
    with open(c.logfile, "a") as f:
        f.write("\\n=================================================\\n"
                "==4242==ERROR: LeakSanitizer: detected memory leaks\\n\\n"
                "Direct leak of 24 byte(s) in 1 object(s) allocated from:\\n")
''')
    s.match(r"^not ok 1 - leak: cutover ends with exit 0 and no sanitizer "
            r"report\n#   sanitizer report in \S+:\n#   ==4242==ERROR: "
            r"LeakSanitizer: detected memory leaks$", out,
            "the check fails and quotes the report")
    s.eq(rc, 1, "the runner exits 1", out)
    reports = {
        "==1==ERROR: AddressSanitizer: heap-use-after-free on address": True,
        "src/conn.c:120:7: runtime error: signed integer overflow": True,
        "WARNING: ThreadSanitizer: data race (pid=7)": True,
        "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior": True,
        "2026-01-01T00:00:00Z cutover[1]: warning: reload failed: x.c:1:2:"
        " runtime error: (a path a client sent)": False,
        '127.0.0.1 - "GET /ERROR: AddressSanitizer HTTP/1.1" 404': False,
    }
    for line, want in reports.items():
        s.eq(sanitizer_report("info: a\n" + line + "\nnext\n") is not None,
             want, "%s: %s" % ("a report" if want else "not a report",
                               line[:50]))


@s.scenario("a scenario past its time limit fails and is cleaned up")
def _():
    rc, out, took = runner('''
@s.scenario("stuck", timeout=2)
def _():
    b = Backend("b")
    print("# backend pid %d" % b.proc.pid)
    sys.stdout.flush()
    time.sleep(60)

@s.scenario("next")
def _():
    s.ok(True, "runs")
''')
    s.match(r"^not ok 1 - stuck: scenario ends within its 2 s\n#   still "
            r"running at:", out, "the scenario fails at its limit", out)
    s.ok(took < 30, "... within seconds, not the 60 s it would sleep "
         "(took %.1f s)" % took)
    s.match(r"^ok 2 - next: runs$", out, "the next scenario runs", out)
    m = re.search(r"# backend pid (\d+)", out)
    s.ok(m and not alive(int(m.group(1))), "the backend it started is "
         "stopped", out)
    s.eq(rc, 1, "the runner exits 1", out)


@s.scenario("a wait that times out says what its predicate raised")
def _():
    rc, out, _ = runner('''
@s.scenario("crashed")
def _():
    c = killed(True)
    s.ok(c.wait_pool_healthy("green", 0.3), "green is healthy")
''')
    s.match(r"^not ok 1 - crashed: green is healthy\n#   a wait of 0\.3s "
            r"came back false; its predicate raised \d+ times, first "
            r"(ConnectionRefusedError|FileNotFoundError)\(", out,
            "the failed check shows the predicate's exception", out)
    s.match(r"^#   cutover pid \d+ has exited: signal SIGKILL$", out,
            "... and that cutover has exited", out)
    s.eq(rc, 1, "the runner exits 1", out)
    s.eq(wait_until(lambda: 1 / 0, 0.05), None, "a wait whose predicate "
         "raises comes back false")


@s.scenario("a runner killed with SIGKILL leaves no process behind")
def _():
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PROLOGUE + '''
@s.scenario("sleeper")
def _():
    b, g = Backend("b"), Backend("g")
    c = Cutover(blue=[b], green=[g])
    print("PIDS %d %d %d %s" % (b.proc.pid, g.proc.pid, c.pid, c.dir))
    sys.stdout.flush()
    time.sleep(60)
''')
    tmp = []
    p = subprocess.Popen([sys.executable, f.name], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL,
                         preexec_fn=die_with_parent())
    try:
        line = p.stdout.readline().decode()
        pids = [int(x) for x in line.split()[1:4]]
        tmp = line.split()[4:]
        s.eq(len(pids), 3, "the runner started two backends and cutover",
             line)
        s.ok(all(alive(x) for x in pids), "they run", pids)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(5)
        s.ok(wait_until(lambda: not any(alive(x) for x in pids), 5),
             "once the runner is killed, none of them runs",
             [x for x in pids if alive(x)])
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
        os.unlink(f.name)
        if tmp and tmp[0].startswith(tempfile.gettempdir()):
            shutil.rmtree(tmp[0], ignore_errors=True)


s.done()
