#!/usr/bin/env python3
"""Guarded switches: `switch POOL guard S` and switch.guard watch the new
pool's answers for S seconds and roll back by themselves when it answers
too many 5xx or too slowly (guard.* limits); status, metrics, the log and
wait-drained say what happened."""

import subprocess
import time

from harness import (CUTOVERCTL_BIN, Backend, Cutover, Suite, get,
                     wait_until)

s = Suite()

# Every load loop is bounded in count and in time.
LOOP_MAX = 300
LOOP_S = 10.0


def metric(c, name):
    return c.metric(name)


def guard(c):
    return c.status_json()["guard"]


def answer(backend, code=0, delay_ms=0):
    """backend answers code (0: as usual) after delay_ms to every request
    but its probes, which stay healthy."""
    return backend.control("code=%d&delay_ms=%d" % (code, delay_ms),
                           what="answer")


def load_until(c, done, limit=LOOP_MAX, seconds=LOOP_S):
    """Requests through cutover, one at a time, until done() holds or the
    bounds are reached; returns (requests sent, statuses)."""
    statuses = []
    end = time.monotonic() + seconds
    while len(statuses) < limit and time.monotonic() < end:
        if done():
            break
        try:
            statuses.append(get(c.port, "/", timeout=5).status)
        except OSError as e:
            statuses.append(str(e))
    return len(statuses), statuses


def body(c):
    try:
        return get(c.port, "/", timeout=5).text
    except OSError as e:
        return str(e)


def start(extra=""):
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=extra)
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    return blue, green, c


@s.scenario("a guarded switch to a green that answers 500 rolls back")
def _():
    blue, green, c = start()
    answer(green, 500)
    s.eq(guard(c)["state"], "none", "status json: no guard before any",
         guard(c))
    s.ok("guard none" in c.status(), "status: guard none", c.status())
    mark = c.log_mark()
    t0 = time.monotonic()
    rc, out, err = c.ctl("switch", "green", "guard", "5")
    s.ok(rc == 0 and "guarded for 5 s" in out,
         "switch green guard 5: ok, says it is guarded", (rc, out, err))
    s.eq(metric(c, "cutover_guard_watching"), 1,
         "cutover_guard_watching 1 while it watches")
    n, statuses = load_until(c, lambda: c.active() == "blue")
    took = time.monotonic() - t0
    g = guard(c)
    s.eq(c.active(), "blue", "rolled back to blue (after %d requests)" % n,
         statuses)
    s.ok(took < 5, "within the 5 s window (%.2f s)" % took, took)
    s.ok(500 in statuses, "green did answer 500 meanwhile", statuses)
    s.ok(g["state"] == "rolled back" and g["pool"] == "green" and
         g["from"] == "blue" and g["rollbacks_total"] == 1 and
         g["verdict"] == "errors" and g["requests"] >= 20 and
         g["errors"] == g["requests"] and "5xx" in g["why"],
         "status json: rolled back, verdict errors, the numbers", g)
    s.ok(c.wait_log(r"warning: guard: green tripped after [\d.]+ s: 5xx "
                    r"\d+ of \d+ \(100\.0%\) > 5\.0%; rolling back to blue",
                    since=mark) is not None,
         "one warning with the numbers", c.log_tail())
    s.eq(len([ln for ln in c.log_text()[mark:].splitlines()
              if "guard: green tripped" in ln]), 1,
         "... once", c.log_tail())
    s.eq(metric(c, "cutover_guard_rollbacks_total"), 1,
         "cutover_guard_rollbacks_total 1")
    s.eq(metric(c, "cutover_guard_watching"), 0,
         "cutover_guard_watching 0 afterwards")
    s.ok(any(ln.startswith("guard rolled back green (from blue) at ")
             and "5xx" in ln for ln in c.status()),
         "status: guard rolled back green (from blue) at ...: why",
         c.status())
    s.ok("guard-rollbacks 1" in c.status(), "status: guard-rollbacks 1",
         c.status())
    s.eq([body(c) for _ in range(5)], ["blue\n"] * 5,
         "later requests go to blue")
    rc, out, err = c.ctl("wait-drained", "blue", "1")
    s.ok(rc == 1 and "the guard rolled green back to blue" in err,
         "wait-drained blue: an error that says the guard rolled back",
         (rc, out, err))


@s.scenario("a guarded switch to a healthy green stays and passes")
def _():
    blue, green, c = start()
    mark = c.log_mark()
    rc, out, err = c.ctl("switch", "green", "guard", "2")
    s.ok(rc == 0 and "guarded for 2 s" in out, "switch green guard 2",
         (rc, out, err))
    n, statuses = load_until(c, lambda: guard(c)["state"] != "watching",
                             limit=200, seconds=6)
    g = guard(c)
    s.ok(g["state"] == "passed" and g["requests"] >= 20 and
         g["errors"] == 0 and g["p99_ms"] is not None and
         g["done_ms"] is not None, "status json: passed, 0 errors", g)
    s.eq(c.active(), "green", "green stays active")
    s.ok(c.wait_log(r"info: guard: green passed, within the limits after "
                    r"2 s: 5xx 0 of \d+", since=mark) is not None,
         "passed, logged at info", c.log_tail())
    s.eq(metric(c, "cutover_guard_rollbacks_total"), 0, "no rollback")
    s.eq(metric(c, "cutover_guard_watching"), 0, "no longer watching")
    s.eq(body(c), "green\n", "requests go to green")


@s.scenario("latency: a green slower than max_p99_ms rolls back")
def _():
    blue, green, c = start(
        "guard = { max_p99_ms = 100; min_requests = 5; };\n")
    answer(green, 0, 300)
    rc, out, err = c.ctl("switch", "green", "guard", "8")
    s.eq(rc, 0, "switch green guard 8", (rc, out, err))
    n, statuses = load_until(c, lambda: c.active() == "blue", limit=40)
    g = guard(c)
    s.ok(c.active() == "blue" and g["state"] == "rolled back" and
         g["verdict"] == "latency" and g["p99_ms"] > 100 and
         g["limits"]["max_p99_ms"] == 100 and "p99" in g["why"],
         "rolled back on the p99 (%d requests)" % n, g)
    s.eq(g["errors"], 0, "... with no 5xx at all", g)
    s.eq(body(c), "blue\n", "later requests go to blue")


@s.scenario("min_requests not reached: no trip, however bad")
def _():
    blue, green, c = start()
    answer(green, 500)
    rc, out, err = c.ctl("switch", "green", "guard", "2")
    s.eq(rc, 0, "switch green guard 2", (rc, out, err))
    got = [get(c.port, "/", timeout=5).status for _ in range(5)]
    s.eq(got, [500] * 5, "5 requests, all 500 (below min_requests 20)")
    s.ok(wait_until(lambda: guard(c)["state"] != "watching", 5),
         "the window ends", guard(c))
    g = guard(c)
    s.ok(g["state"] == "passed" and g["requests"] == 5 and
         "too few requests" in g["why"],
         "passed: too few requests to judge", g)
    s.eq(c.active(), "green", "green stays active")


@s.scenario("a second switch, or a rollback, cancels the guard")
def _():
    blue, green, c = start()
    rc, out, err = c.ctl("switch", "green", "guard", "60")
    s.eq(rc, 0, "switch green guard 60", (rc, out, err))
    s.eq(guard(c)["state"], "watching", "watching", guard(c))
    s.ok(any(ln.startswith("guard watching green for 60 s: ")
             for ln in c.status()), "status: guard watching green ...",
         c.status())
    rc, out, err = c.ctl("switch", "blue")
    s.eq(rc, 0, "switch blue", (rc, out, err))
    g = guard(c)
    s.ok(g["state"] == "cancelled" and "switch to blue" in g["why"],
         "the guard is cancelled by the switch", g)
    s.eq(metric(c, "cutover_guard_watching"), 0, "not watching")
    rc, out, err = c.ctl("switch", "green", "guard", "60")
    rc, out, err = c.ctl("rollback")
    s.ok(rc == 0 and guard(c)["state"] == "cancelled" and
         "rollback to blue" in guard(c)["why"],
         "a rollback cancels it too", (rc, out, guard(c)))
    s.eq(metric(c, "cutover_guard_rollbacks_total"), 0,
         "neither counts as a guard rollback")


@s.scenario("a trip while a switch to the same pool is scheduled drops "
            "that switch and rolls back; one to the other pool decides")
def _():
    blue, green, c = start()
    rc, out, err = c.ctl("switch", "green", "guard", "30")
    s.eq(rc, 0, "switch green guard 30", (rc, out, err))
    at = int(time.time() * 1000) + 60000
    rc, out, err = c.ctl("switch", "green", "at", str(at))
    s.eq(rc, 0, "switch green at now + 60 s: scheduled", (rc, out, err))
    s.eq(guard(c)["state"], "watching", "the guard still watches",
         guard(c))
    answer(green, 500)
    n, st = load_until(c, lambda: c.status_json()["active"] == "blue")
    s.eq(c.status_json()["active"], "blue",
         "rolled back to blue (after %d requests)" % n, st[-5:])
    g = guard(c)
    s.eq(g["state"], "rolled back", "status json: rolled back", g)
    s.eq(c.status_json()["scheduled"], None,
         "the scheduled switch to green was dropped",
         c.status_json()["scheduled"])
    s.ok(c.wait_log(r"dropping the scheduled switch to green"),
         "the log says why")
    s.eq(metric(c, "cutover_guard_rollbacks_total"), 1, "counted once")

    # a scheduled switch away from the pool that tripped decides
    answer(green, 0)
    rc, out, err = c.ctl("switch", "green", "guard", "30")
    s.eq(rc, 0, "switch green guard 30 again", (rc, out, err))
    at = int(time.time() * 1000) + 60000
    rc, out, err = c.ctl("switch", "blue", "at", str(at))
    s.eq(rc, 0, "switch blue at now + 60 s: scheduled", (rc, out, err))
    answer(green, 500)
    n, st = load_until(c, lambda: guard(c)["state"] != "watching")
    g = guard(c)
    s.ok(g["state"] == "cancelled" and "switch to blue is scheduled" in
         g["why"] + c.log_text(), "the guard leaves it to the switch to blue",
         g)
    s.eq((c.status_json()["scheduled"] or {}).get("pool"), "blue",
         "which stays scheduled", c.status_json()["scheduled"])
    s.eq(metric(c, "cutover_guard_rollbacks_total"), 1, "no second rollback")
    c.ctl("cancel")


@s.scenario("wait-drained waits for the guard to pass")
def _():
    blue, green, c = start()
    rc, out, err = c.ctl("switch", "green", "guard", "3")
    t0 = time.monotonic()
    s.eq(rc, 0, "switch green guard 3", (rc, out, err))
    rc, out, err = c.ctl("wait-drained", "blue", "1")
    s.ok(rc == 3 and "the guard watches green" in err,
         "wait-drained blue 1 while the guard watches: timeout, says why",
         (rc, out, err))
    p = subprocess.run([CUTOVERCTL_BIN, "-s", c.sock, "wait-drained",
                        "blue", "10"], capture_output=True, timeout=20)
    took = time.monotonic() - t0
    s.ok(p.returncode == 0 and b"blue: drained" in p.stdout,
         "wait-drained blue 10: ok once the guard passed", p)
    s.ok(took >= 2.9, "... not before the window ended (%.2f s)" % took,
         took)
    s.eq(guard(c)["state"], "passed", "the guard passed", guard(c))


@s.scenario("switch.guard from the configuration guards every switch")
def _():
    blue, green, c = start("switch = { guard = 3; };\n"
                           "guard = { max_error_ratio = 0.5; "
                           "min_requests = 10; };\n")
    answer(green, 500)
    rc, out, err = c.ctl("switch", "green")
    s.ok(rc == 0 and "guarded for 3 s" in out,
         "a plain switch is guarded for switch.guard's 3 s", (rc, out, err))
    g = guard(c)
    s.ok(g["limits"] == {"max_error_ratio": 0.5, "max_p99_ms": 0,
                         "min_requests": 10},
         "the limits are the configuration's", g)
    n, statuses = load_until(c, lambda: c.active() == "blue", limit=60)
    s.ok(c.active() == "blue" and guard(c)["state"] == "rolled back",
         "rolled back (%d requests)" % n, guard(c))
    answer(green, 0)
    rc, out, err = c.ctl("switch", "green", "guard", "0")
    s.ok(rc == 0 and "guarded" not in out,
         "switch green guard 0: not guarded", (rc, out, err))
    s.eq(metric(c, "cutover_guard_watching"), 0, "not watching")


s.done()
