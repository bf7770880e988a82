#!/usr/bin/env python3
"""Worker threads: `workers = N` runs N event loops, each with its own
listening socket (SO_REUSEPORT) and connections; all of them serve, a switch
reaches every one before `switch` answers, and a reload reaches every one
before `reload` answers."""

import os
import random
import re
import select
import signal
import threading
import time

from harness import (Backend, Cutover, RawConn, Suite, build_request,
                     free_port, get, wait_until)

s = Suite()

CONNS = 24      # enough that the kernel puts some on every worker


def threads(pid):
    """The number of cutover's threads: the main one (the control thread)
    and the workers, named "cutover-wN" (a sanitizer may add threads of
    its own)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            comm = f.read().strip()
        n += tid == str(pid) or re.fullmatch(r"cutover-w\d+", comm) is not None
    return n


def per_worker(c, key):
    return [w[key] for w in c.status_json()["per_worker"]]


def served(fn):
    """fn's response status, or the error it raised (a timeout: not
    served)."""
    try:
        return fn().status
    except (OSError, EOFError) as e:
        return repr(e)


def hold(port, n=CONNS):
    """n keep-alive client connections, each with one request answered."""
    conns = []
    for _ in range(n):
        raw = RawConn(port, timeout=5)
        r = raw.request("GET", "/")
        conns.append((raw, r.body))
    return conns


def bodies_on(conns):
    """One request on each held connection; the bodies, in order."""
    return [raw.request("GET", "/").body for raw, _ in conns]


def fresh_bodies(port, n=CONNS):
    """One request on each of n new connections; the bodies."""
    return [get(port, "/", headers={"Connection": "close"}).body
            for _ in range(n)]


@s.scenario("workers = 1: one worker thread serves everything")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 1;\n")
    js = c.status_json()
    s.eq(js["workers"], 1, "status says 1 worker")
    s.eq(len(js["per_worker"]), 1, "... and reports one worker's counts")
    s.eq(threads(c.pid), 2, "the process has two threads: the worker and "
         "the control thread")
    s.eq(get(c.port, "/").body, b"blue\n", "it serves")
    s.ok(c.wait_log(r"1 worker\(s\) \(workers in the configuration\)", 2,
                    since=0), "the log says where the count came from",
         c.log_tail(10))


@s.scenario("workers unset: one per CPU this process may use")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 0;\n")
    cpus = len(os.sched_getaffinity(c.pid))
    quota = None
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            q, period = f.read().split()
            if q != "max":
                quota = -(-int(q) // int(period))
    except OSError:
        pass
    want = min(cpus, quota) if quota else cpus
    s.eq(c.status_json()["workers"], want,
         "workers = 0 runs one worker per CPU it may use (cgroup quota %r)"
         % quota)
    s.eq(threads(c.pid), want + 1, "... each on its own thread, beside "
         "the control thread")
    s.ok(c.wait_log(r"%d worker\(s\) \(%d CPU\(s\) to run on" % (want, cpus),
                    2, since=0), "the log says how it decided",
         c.log_tail(10))


@s.scenario("workers = 2: both serve, a switch reaches both before it "
            "answers")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 2;\n")
    s.eq(c.status_json()["workers"], 2, "status says 2 workers")
    s.eq(threads(c.pid), 3, "the process has three threads: two workers "
         "and the control thread")
    s.ok(c.wait_pool_healthy("green"), "green is healthy", c.status())

    held = hold(c.port)
    s.eq(set(b for _, b in held), {b"blue\n"}, "every connection got blue")
    open_per = per_worker(c, "connections_open")
    s.ok(all(n > 0 for n in open_per),
         "the kernel spread %d connections over both workers" % CONNS,
         repr(open_per))
    # a worker parks the connection just after it sends the response:
    # wait for it rather than race it
    s.ok(wait_until(lambda: c.member("blue", blue)["idle"] >= 2, 3),
         "both workers keep idle connections to blue",
         repr(c.member("blue", blue)))

    before = per_worker(c, "requests_total")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    # nothing in between: the first request after the reply, on every
    # worker, must go to green
    after = bodies_on(held)
    s.eq(after, [b"green\n"] * CONNS,
         "right after the reply, every held connection on every worker "
         "gets green")
    grew = [b - a for a, b in zip(before, per_worker(c, "requests_total"))]
    s.ok(all(n > 0 for n in grew), "... and both workers served some",
         repr(grew))
    # all kept for 5 s after the switch (a quick rollback finds them
    # open), then upstream.warm_idle (default 2) per worker stay, warm
    s.ok(wait_until(lambda: c.member("blue", blue)["idle"] <= 2 * 2, 10),
         "no worker keeps more than warm_idle idle connections to blue",
         repr(c.member("blue", blue)))
    s.eq(set(fresh_bodies(c.port)), {b"green\n"},
         "new connections get green")

    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "rollback", out + err)
    s.eq(bodies_on(held), [b"blue\n"] * CONNS,
         "right after rollback, every held connection gets blue")
    s.ok(wait_until(lambda: c.member("green", green)["idle"] <= 2 * 2, 10),
         "no worker keeps more than warm_idle idle connections to green",
         repr(c.member("green", green)))
    for raw, _ in held:
        raw.close()


@s.scenario("workers = 2: a reload reaches both before it answers")
def _():
    blue, green, blue2 = Backend("blue"), Backend("green"), Backend("blue2")
    c = Cutover(blue=[blue], green=[green], extra="workers = 2;\n")
    held = hold(c.port)
    port2 = free_port()
    text = ('listen = [ "127.0.0.1:0", "127.0.0.1:%d" ];\n'
            'workers = 2;\n'
            'pools = { blue = { members = [ "%s" ]; };\n'
            '          green = { members = [ "%s" ]; }; };\n'
            % (port2, blue2.addr, green.addr))
    c.reload_file(text)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload: the old blue member replaced, a listener added",
         out + err)
    # the held connections sit on both workers: each must route with
    # the new configuration at once
    s.eq(bodies_on(held), [b"blue2\n"] * CONNS,
         "right after the reply, every held connection gets the new member")
    s.eq(set(fresh_bodies(port2)), {b"blue2\n"},
         "the new listener serves")
    s.eq(c.status_json()["listen"],
         ["127.0.0.1:%d" % c.port, "127.0.0.1:%d" % port2],
         "status lists both listeners")
    s.eq(len(blue.requests), CONNS, "the old member got nothing after")

    # a broken file changes nothing on any worker
    c.reload_file("pools = {", complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 1, "a broken file is refused", out + err)
    s.eq(set(fresh_bodies(port2)), {b"blue2\n"},
         "both listeners still serve the last good configuration")
    s.eq(set(fresh_bodies(c.port)), {b"blue2\n"}, "...")
    for raw, _ in held:
        raw.close()


@s.scenario("workers = 2: a second cutover cannot take the same port")
def _():
    blue, green = Backend("blue"), Backend("green")
    port = free_port()
    listen = 'listen = [ "127.0.0.1:%d" ];\nworkers = 2;\n' % port
    c = Cutover(blue=[blue], green=[green], extra=listen)
    other = Cutover(blue=[blue], green=[green], extra=listen, start=False,
                    expect_exit=1)
    try:
        other.start(timeout=5)
        started = True
    except RuntimeError:
        started = False
    s.ok(not started, "the second one does not start (SO_REUSEPORT would "
         "have let it share the port)", other.log_tail(5))
    s.eq(other.wait(5), 1, "... it exits 1")
    s.match(r"cannot listen on 127\.0\.0\.1:%d: Address already in use"
            % port, other.log_text(), "... saying why")
    s.eq(get(c.port, "/").body, b"blue\n", "the first one still serves")


@s.scenario("workers = 2: limits.max_connections pauses and resumes every "
            "worker")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra=(
        "workers = 2;\nlimits = { max_connections = 4; };\n"))
    held = [RawConn(c.port, timeout=5) for _ in range(3)]
    for raw in held:
        raw.request("GET", "/")
    stuck = []
    for i in range(15):
        # a 4th connection arrives while one of the 3 closes: the worker
        # that reached the limit pauses the others; then the total drops
        # to 2 and every worker must be accepting again
        victim = held.pop(i % len(held))
        opened = []
        t = threading.Thread(target=lambda: opened.append(
            RawConn(c.port, timeout=5)))
        t.start()
        time.sleep(random.random() * 0.0005)
        victim.close()
        t.join()
        held.extend(opened)
        for raw in held:
            st = served(lambda: raw.request("GET", "/"))
            if st != 200:       # below the limit again: must be served
                stuck.append((i, "held", st))
        held.pop(0).close()
        for k in range(6):
            st = served(lambda: get(c.port, "/",
                                    headers={"Connection": "close"},
                                    timeout=2))
            if st != 200:
                stuck.append((i, k, st, per_worker(c, "connections_open")))
        held.append(RawConn(c.port, timeout=5))
        served(lambda: held[-1].request("GET", "/"))
    s.eq(stuck, [], "below the limit, every new connection is served, "
         "whichever worker the kernel gives it to")
    for raw in held:
        raw.close()


@s.scenario("workers = 2: SIGTERM drains requests in flight on both")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra="workers = 2;\nshutdown = { grace_ms = 5000; };\n")
    conns = []
    for _ in range(CONNS):
        raw = RawConn(c.port, timeout=10)
        raw.send(b"GET /delay?ms=600 HTTP/1.1\r\nHost: t\r\n\r\n")
        conns.append(raw)
    s.ok(blue.wait_request("/delay", timeout=5, count=CONNS),
         "every slow request reached the member")
    busy = per_worker(c, "connections_open")
    s.ok(all(n > 0 for n in busy), "both workers hold some", repr(busy))
    c.signal(signal.SIGTERM)
    got = [raw.read_response().status for raw in conns]
    s.eq(got, [200] * CONNS, "every request in flight is answered")
    s.eq(c.wait(10), 0, "cutover exits 0 once they are done")


def answered(conns, timeout):
    """Which of conns (RawConns with a request sent) have bytes to read
    within timeout s."""
    ready, _, _ = select.select([r.s for r in conns], [], [], timeout)
    return [r for r in conns if r.s in ready]


@s.scenario("workers = 2: limits.max_connections = 4 counts over all "
            "workers; 0 lifts it")
def _():
    blue, green = Backend("blue"), Backend("green")
    conf = "workers = 2;\nlimits = { max_connections = %d; };\n"
    c = Cutover(blue=[blue], green=[green], extra=conf % 4)
    held = hold(c.port, 4)
    s.eq([b for _, b in held], [b"blue\n"] * 4, "4 connections served and "
         "held open")
    # the worker that took the 4th stops at once; the others when the
    # control thread has run the pause on each, which it does right after
    # logging this, before it reads the next admin command (the status
    # below): only then is every worker sure to be paused
    s.ok(c.wait_log(r"warning: limits\.max_connections \(4\) reached"),
         "the log says the limit was reached")
    s.eq(sum(per_worker(c, "connections_open")), 4, "status: 4 open",
         per_worker(c, "connections_open"))
    extra = []
    for _ in range(4):          # the kernel's backlog takes them
        raw = RawConn(c.port, timeout=5)
        raw.send(build_request("GET", "/"))
        extra.append(raw)
    s.eq(answered(extra, 1.0), [], "at the limit, 4 more connections, "
         "whichever worker they reach, get no answer")
    s.eq(sum(per_worker(c, "connections_open")), 4, "status: still 4 open",
         per_worker(c, "connections_open"))

    # one closes: both workers see room and may each accept one in that
    # instant (the man page allows one per worker past the limit), so
    # one or two of the waiting connections are served, never more
    held.pop()[0].close()
    first = answered(extra, 5.0)
    s.ok(len(first) >= 1, "one of the 4 closes: a waiting connection is "
         "served", len(first))
    # the second worker's accept may land between a look at the answers
    # and the status read: look again until both agree (or 3 s pass)
    deadline = time.monotonic() + 3.0
    while True:
        first = answered(extra, 0.5)
        now_open = per_worker(c, "connections_open")
        if sum(now_open) == 3 + len(first) or time.monotonic() > deadline:
            break
    s.ok(1 <= len(first) <= 2, "... and at most one per worker (%d)"
         % len(first))
    s.eq(sum(now_open), 3 + len(first),
         "status: 3 held + the ones served", now_open)
    for raw in first:
        s.eq(raw.read_response().status, 200, "its answer is a 200")
        held.append((raw, None))
        extra.remove(raw)

    # above the limit: a burst of 12 at once may pass it by one per
    # worker accepted in the same instant, never more
    for raw, _ in held:
        raw.close()
    for raw in extra:
        raw.close()
    wait_until(lambda: sum(per_worker(c, "connections_open")) == 0, 5)
    burst = []
    go = threading.Event()

    def connect():
        go.wait(5)
        raw = RawConn(c.port, timeout=5)
        raw.send(build_request("GET", "/"))
        burst.append(raw)
    ts = [threading.Thread(target=connect) for _ in range(12)]
    for th in ts:
        th.start()
    go.set()
    for th in ts:
        th.join(10)
    wait_until(lambda: len(answered(burst, 0.2)) >= 4, 3)
    n = len(answered(burst, 0.5))
    s.ok(4 <= n <= 4 + 2, "a burst of 12: %d served, at most the limit and "
         "one per worker more (6)" % n, per_worker(c, "connections_open"))
    s.ok(c.wait_log(r"warning: limits\.max_connections \(4\) reached"),
         "the log says the limit was reached")

    c.reload_file(c.config_text.replace(conf % 4, conf % 0),
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload: max_connections = 0", out + err)
    s.ok(wait_until(lambda: len(answered(burst, 0.1)) == 12, 5),
         "no limit: every waiting connection is served",
         len(answered(burst, 0)))
    more = hold(c.port, 20)
    s.eq(len(more), 20, "and 20 more at once")
    s.eq(sum(per_worker(c, "connections_open")), 32, "status: 32 open",
         per_worker(c, "connections_open"))


s.done()
