#!/usr/bin/env python3
"""Shadow traffic (mirror): a share of the active pool's requests is
copied to the other pool with X-Cutover-Mirror: 1 and its answer
discarded.  The client's response always comes from the active pool, and
a slow, failing or hanging other pool never delays or fails it; skipped
and failed copies are counted; metrics and status compare the pools;
reload changes the share; a client that leaves while its copy is in flight
and a shutdown with copies in flight are harmless."""

import http.client
import re
import signal
import socket
import subprocess
import threading
import time

from harness import (CUTOVER_BIN, Backend, Cutover, RawConn, RssSampler,
                     Suite, exchange, pools_config, wait_until)

s = Suite()

_SAMPLE = re.compile(r'^(cutover_mirror_[a-z_]+)(\{(.*)\})? (\S+)$')


def mirror_metrics(c):
    """{(name, ((label, value), ...)): float} of the cutover_mirror_*
    samples."""
    rc, out, err = c.ctl("metrics")
    if rc != 0:
        raise RuntimeError("cutoverctl metrics: %d %s" % (rc, err))
    got = {}
    for line in out.split("\n"):
        m = _SAMPLE.match(line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"',
                                             m.group(3) or "")))
            got[(m.group(1), labels)] = float(m.group(4))
    return got


def val(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))), 0.0)


def mirrored(m, pool):
    """cutover_mirror_requests_total of pool, all classes."""
    return sum(v for (name, labels), v in m.items()
               if name == "cutover_mirror_requests_total" and
               ("pool", pool) in labels)


def get(port, path, method="GET", body=None, conn=None):
    """One request on a fresh (or the given keep-alive) connection:
    (status, X-Backend, body)."""
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheader("X-Backend"), data
    finally:
        if own:
            conn.close()


def mirror_conf(blue, green, more="", workers=2):
    return pools_config([blue], [green]) + \
        "workers = %d;\nmirror = { %s };\n" % (workers, more)


def load(port, clients, per_client, path="/"):
    """clients threads, each per_client GETs on one keep-alive connection
    (a fresh one after an error).  Returns (latencies, failures)."""
    lat, bad, lock = [], [], threading.Lock()

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for k in range(per_client):
            t0 = time.monotonic()
            try:
                st, who, body = get(port, "%s?c=%d&k=%d" % (path, i, k),
                                    conn=conn)
                ok = st == 200 and who == "blue" and body == b"blue\n"
                why = (st, who, body[:40])
            except (OSError, http.client.HTTPException) as e:
                ok, why = False, repr(e)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port,
                                                  timeout=10)
            with lock:
                lat.append(time.monotonic() - t0)
                if not ok:
                    bad.append(why)
        conn.close()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return lat, bad


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else None


@s.scenario("percent = 100: every GET is copied to green, blue answers")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr, "percent = 100;"))
    s.ok(c.wait_pool_healthy("green") and c.wait_pool_healthy("blue"),
         "both pools healthy", c.status())
    n = 20
    for i in range(n):
        st, who, body = get(c.port, "/m%d" % i)
        s.ok(st == 200 and who == "blue" and body == b"blue\n",
             "GET /m%d answered by blue" % i, (st, who, body))
    paths = ["/m%d" % i for i in range(n)]
    s.ok(wait_until(lambda: sorted(green.mirrored) == sorted(paths)),
         "every GET reached green with X-Cutover-Mirror",
         (green.mirrored, green.requests))
    s.eq(sorted(green.requests), sorted(paths),
         "green saw the copies and nothing else")
    s.eq(blue.mirrored, [], "blue's requests carry no X-Cutover-Mirror")
    st, who, _ = get(c.port, "/h", method="HEAD")
    s.ok(st == 200 and who == "blue", "HEAD answered by blue", (st, who))
    s.ok(wait_until(lambda: "/h" in green.mirrored), "HEAD is mirrored")
    st, who, body = get(c.port, "/eof?bytes=100")
    s.ok(st == 200 and who == "blue" and len(body) == 100,
         "a body framed by close answered by blue", (st, who, len(body)))
    st, who, body = get(c.port, "/echo", method="POST", body=b"x" * 100)
    s.ok(st == 200 and who == "blue", "POST answered by blue", (st, who))
    time.sleep(0.3)
    s.ok("/echo" not in green.requests, "POST is not mirrored by default",
         green.requests)

    wait_until(lambda: val(mirror_metrics(c), "cutover_mirror_requests_total",
                           pool="green", **{"class": "2xx"}) >= n + 2)
    m = mirror_metrics(c)
    s.eq(val(m, "cutover_mirror_requests_total", pool="blue",
             **{"class": "2xx"}), float(n + 2),
         "mirror_requests_total blue 2xx = the mirrored requests", m)
    s.eq(val(m, "cutover_mirror_requests_total", pool="green",
             **{"class": "2xx"}), float(n + 2),
         "mirror_requests_total green 2xx = the copies", m)
    s.eq(val(m, "cutover_mirror_request_duration_seconds_count",
             pool="green"), float(n + 2), "green's copies timed", m)
    s.eq(val(m, "cutover_mirror_skipped_total", reason="busy"), 0.0,
         "nothing skipped")
    rc, out, _ = c.ctl("metrics")
    s.match(r'cutover_requests_total\{pool="green",code="2xx"\} 0\b', out,
            "copies are not counted in the ordinary requests_total")
    text = "\n".join(c.status())
    s.match(r"mirror 100% to the other pool", text, "status shows mirror")
    s.match(r"mirror green +%d +2xx 100\.0%%.*p99 <= \S+s \(estimated" %
            (n + 2), text, "status compares green's copies", text)
    j = c.status_json()
    s.eq(j.get("mirror", {}).get("percent"), 100, "status json percent", j)
    s.eq(j["mirror"]["pools"]["green"]["requests"], n + 2,
         "status json: green's count")
    s.eq(j["mirror"]["pools"]["blue"]["2xx"], 1.0,
         "status json: blue's 2xx share")

    # reload: off
    c.reload_file(mirror_conf(blue.addr, green.addr, "percent = 0;"))
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload to percent = 0", out + err)
    before = len(green.requests)
    for i in range(10):
        get(c.port, "/off%d" % i)
    time.sleep(0.3)
    s.eq(len(green.requests), before, "percent = 0: nothing mirrored")
    s.match(r"mirror 0% to the other pool", "\n".join(c.status()),
            "status still shows the counts, at 0%")


@s.scenario("percent = 10: about a tenth is mirrored")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr, "percent = 10;"))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    n = 600
    lat, bad = load(c.port, 3, n // 3)
    s.eq(bad, [], "every request answered by blue")
    wait_until(lambda: len(green.mirrored) >= 30, timeout=2)
    time.sleep(0.3)
    got = len(green.mirrored)
    # binomial: mean 60, sd about 7.3; 25..110 is more than four sd
    # either way, wide enough for two workers' own samplers
    s.ok(25 <= got <= 110, "about 10%% mirrored: %d of %d" % (got, n), got)
    m = mirror_metrics(c)
    s.eq(val(m, "cutover_mirror_requests_total", pool="blue",
             **{"class": "2xx"}), float(got),
         "blue's mirrored count = the copies green saw", m)


@s.scenario("a slow, then failing green never touches the clients")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr,
                            "percent = 100; timeout_ms = 1000; "
                            "max_inflight = 8;"))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    green.requests_mode("delay", 2000)
    base = get(c.port, "/")
    s.eq(base[:2], (200, "blue"), "warm-up request")
    with RssSampler(c.pid) as rss:
        lat, bad = load(c.port, 8, 300)
    s.eq(bad, [], "slow green: 2400 requests, all answered by blue",
         bad[:5])
    s.ok(p99(lat) < 0.5, "client p99 %.3f s, well under green's 2 s" %
         p99(lat))
    m = mirror_metrics(c)
    s.ok(val(m, "cutover_mirror_skipped_total", reason="busy") > 1000,
         "copies beyond max_inflight skipped as busy", m)
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_requests_total",
                                pool="green", **{"class": "error"}) > 0),
         "copies past timeout_ms count as errors", mirror_metrics(c))
    s.ok(rss.max_kb < 200 * 1024, "VmRSS bounded: %d kB" % rss.max_kb)

    for mode in ("reset", "hang", "500", "garbage"):
        green.requests_mode(mode)
        lat, bad = load(c.port, 4, 100)
        s.eq(bad, [], "green %s: every request answered by blue" % mode,
             bad[:5])
        s.ok(p99(lat) < 0.5, "green %s: client p99 %.3f s" % (mode,
                                                              p99(lat)))
    m = wait_until(lambda: (lambda m: m if val(
        m, "cutover_mirror_requests_total", pool="green",
        **{"class": "5xx"}) > 0 else None)(mirror_metrics(c))) or \
        mirror_metrics(c)
    s.ok(val(m, "cutover_mirror_requests_total", pool="green",
             **{"class": "5xx"}) > 0, "green's 500s counted as 5xx", m)
    s.ok(val(m, "cutover_mirror_requests_total", pool="green",
             **{"class": "error"}) > 50, "resets, hangs and garbage "
         "counted as errors", m)
    s.eq(val(m, "cutover_mirror_requests_total", pool="blue",
             **{"class": "5xx"}), 0.0, "blue's side saw no 5xx")
    j = c.status_json()
    s.ok(j["mirror"]["pools"]["green"]["error"] > 0,
         "status json: green's error share", j.get("mirror"))
    green.requests_mode("none")
    st, who, _ = get(c.port, "/after")
    s.eq((st, who), (200, "blue"), "cutover serves on")
    s.eq(val(mirror_metrics(c), "cutover_mirror_requests_total",
             pool="green", **{"class": "1xx"}), 0.0, "no stray classes")
    rc, out, _ = c.ctl("metrics")
    s.match(r'cutover_requests_total\{pool="green",code="5xx"\} 0\b', out,
            "failed copies are not in requests_total")
    s.ok(c.member_state("green", green.addr) == "up",
         "failed copies do not feed passive health",
         c.member("green", green.addr))


@s.scenario("a client that leaves with its copy in flight; shutdown cuts "
            "copies")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr, "percent = 100;",
                            workers=1) +
                "shutdown = { grace_ms = 5000; };\n")
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    green.requests_mode("hang")
    for i in range(20):
        so = socket.create_connection(("127.0.0.1", c.port), timeout=5)
        so.sendall(b"GET /gone%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
        if i % 2:
            so.recv(100)	# the response began; leave before its end
        so.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
        so.close()
    s.ok(wait_until(lambda: len(green.requests) >= 20),
         "the copies reached green", green.requests)
    got = exchange(c.port, b"GET /next HTTP/1.1\r\nHost: t\r\n"
                   b"Connection: close\r\n\r\n")
    s.ok(got.startswith(b"HTTP/1.1 200 ") and b"blue" in got,
         "cutover serves on", got)
    s.ok(c.alive(), "no crash")
    t0 = time.monotonic()
    c.signal(signal.SIGTERM)
    code = c.wait(10)
    took = time.monotonic() - t0
    s.eq(code, 0, "exits 0 with copies in flight")
    s.ok(took < 3.0, "hanging copies do not delay shutdown: %.2f s" % took)


@s.scenario("bodies: copied whole up to max_body; longer or chunked skipped")
def _():
    import hashlib
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr,
                            'percent = 100; methods = [ "POST" ]; '
                            'max_body = 1000;'))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    body = bytes(range(256)) * 2
    st, who, _ = get(c.port, "/early", method="POST", body=body)
    s.eq((st, who), (200, "blue"), "POST of 512 bytes answered by blue")
    want = (len(body), hashlib.sha256(body).hexdigest())
    s.ok(wait_until(lambda: [e[1:] for e in green.early] == [want]),
         "green got the copy's body byte for byte", green.early)
    st, who, _ = get(c.port, "/early", method="POST", body=b"y" * 2000)
    s.eq((st, who), (200, "blue"), "POST of 2000 bytes answered by blue")
    got = exchange(c.port, b"POST /early HTTP/1.1\r\nHost: t\r\n"
                   b"Transfer-Encoding: chunked\r\nConnection: close\r\n"
                   b"\r\n5\r\nhello\r\n0\r\n\r\n")
    s.ok(got.startswith(b"HTTP/1.1 200 ") and b"blue" in got,
         "chunked POST answered by blue", got)
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_skipped_total",
                                reason="body") == 2.0),
         "the long and the chunked body skipped as body", mirror_metrics(c))
    s.eq(len(green.requests), 1, "green saw only the small one",
         green.requests)
    st, who, _ = get(c.port, "/g")
    time.sleep(0.2)
    s.eq(len(green.requests), 1, "GET not in methods: not mirrored")


def post_head(path, length):
    return (b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), length))


@s.scenario("a body that comes after its head, in pieces, is copied whole")
def _():
    import hashlib
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr,
                            'percent = 100; methods = [ "POST" ]; '
                            'max_body = 100000;', workers=1))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    body = bytes((i * 7 + i // 251) & 0xff for i in range(30000))
    want = (len(body), hashlib.sha256(body).hexdigest())
    raw = RawConn(c.port)
    raw.send(post_head("/echo", len(body)))     # the head alone first
    time.sleep(0.15)
    raw.send(body[:10000])
    time.sleep(0.15)
    raw.send(body[10000:])
    r = raw.read_response("POST")
    s.eq((r.status, r.header("X-Backend")), (200, "blue"),
         "the POST is answered by blue")
    s.ok(wait_until(lambda: [e[1:] for e in blue.echoed] == [want]),
         "blue got the body whole", blue.echoed)
    s.ok(wait_until(lambda: [e[1:] for e in green.echoed] == [want]),
         "green got the copy's body byte for byte", green.echoed)
    s.eq(green.mirrored, ["/echo"], "green's request was the marked copy")
    small = b"z" * 700
    raw.send(post_head("/echo", len(small)) + small)
    r = raw.read_response("POST")
    s.eq((r.status, r.header("X-Backend")), (200, "blue"),
         "the next request on the connection is answered by blue")
    s.ok(wait_until(lambda: len(green.echoed) == 2 and green.echoed[1][1:]
                    == (700, hashlib.sha256(small).hexdigest())),
         "and copied whole", green.echoed)
    m = mirror_metrics(c)
    s.eq(val(m, "cutover_mirror_skipped_total", reason="body"), 0.0,
         "no body skipped", m)
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_requests_total",
                                pool="green", **{"class": "2xx"}) == 2.0),
         "both copies counted 2xx on green", mirror_metrics(c))
    c.stop()


@s.scenario("a body that never comes whole: its copy is cut and counted "
            "as skipped; a copy past timeout_ms is cut while the body "
            "still reaches blue")
def _():
    import hashlib
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr,
                            'percent = 100; methods = [ "POST" ]; '
                            'max_body = 100000; timeout_ms = 300;',
                            workers=1))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    raw = RawConn(c.port)
    raw.send(post_head("/echo", 5000) + b"a" * 1000)
    s.ok(wait_until(lambda: "/echo" in green.requests),
         "the copy's head reached green before its body", green.requests)
    raw.close()     # the client goes, its body short by 4000 bytes
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_skipped_total",
                                reason="body") == 1.0),
         "the cut copy is counted as skipped (body)", mirror_metrics(c))
    s.ok(wait_until(lambda: any(a[2] == "/echo" for a in green.aborted)),
         "green saw the copy's body break off", green.aborted)
    s.eq(green.echoed, [], "green never got a whole body")
    m = mirror_metrics(c)
    s.eq((mirrored(m, "blue"), mirrored(m, "green")), (0.0, 0.0),
         "the cut copy's request is not counted as mirrored", m)

    # the copy times out (300 ms) while the client's body is still coming
    body = b"b" * 2000
    raw = RawConn(c.port)
    raw.send(post_head("/echo", len(body)) + body[:500])
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_requests_total",
                                pool="green", **{"class": "error"}) == 1.0),
         "the copy past timeout_ms is counted as an error",
         mirror_metrics(c))
    raw.send(body[500:])
    r = raw.read_response("POST")
    s.eq((r.status, r.header("X-Backend")), (200, "blue"),
         "the client's request is answered by blue all the same")
    s.ok(wait_until(lambda: [e[1:] for e in blue.echoed] ==
                    [(2000, hashlib.sha256(body).hexdigest())]),
         "blue got the whole body", blue.echoed)

    # timed out, then the client goes: nothing left to cut
    raw2 = RawConn(c.port)
    raw2.send(post_head("/echo", 3000) + b"c" * 100)
    s.ok(wait_until(lambda: val(mirror_metrics(c),
                                "cutover_mirror_requests_total",
                                pool="green", **{"class": "error"}) == 2.0),
         "a second copy times out", mirror_metrics(c))
    raw2.close()
    st, who, _ = get(c.port, "/after")
    s.eq((st, who), (200, "blue"), "cutover serves on")
    m = mirror_metrics(c)
    s.eq(val(m, "cutover_mirror_skipped_total", reason="body"), 1.0,
         "a copy that already ended is not counted again", m)
    s.eq(green.echoed, [], "green never got a whole body")
    s.ok(wait_until(lambda: mirrored(mirror_metrics(c), "blue") == 2.0),
         "the two timed-out copies' requests count as mirrored on blue",
         mirror_metrics(c))
    s.eq(mirrored(mirror_metrics(c), "green"), 2.0,
         "as their copies do on green")
    c.stop()


@s.scenario("only the active pool's own traffic is copied: not a preview, "
            "not the shifted share; a client's own mark is removed")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(mirror_conf(blue.addr, green.addr, "percent = 100;") +
                'shift = { cookie = "sid"; };\n')
    s.ok(c.wait_pool_healthy("green") and c.wait_pool_healthy("blue"),
         "both pools healthy", c.status())

    def one(path, headers):
        conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheader("X-Backend"), r.read()
        finally:
            conn.close()

    st, who, _ = one("/forged", {"X-Cutover-Mirror": "1"})
    s.ok(st == 200 and who == "blue", "a GET with its own X-Cutover-Mirror "
         "answered by blue", (st, who))
    s.ok(wait_until(lambda: "/forged" in green.mirrored),
         "its copy reached green", green.requests)
    s.ok("/forged" not in blue.mirrored,
         "blue never saw the client's X-Cutover-Mirror", blue.mirrored)

    st, who, _ = one("/pv-green", {"X-Cutover-Pool": "green"})
    s.ok(st == 200 and who == "green", "a preview to green answered by green",
         (st, who))
    st, who, _ = one("/pv-blue", {"X-Cutover-Pool": "blue"})
    s.ok(st == 200 and who == "blue", "a preview to blue answered by blue",
         (st, who))

    rc, out, err = c.ctl("shift", "green", "50")
    s.eq(rc, 0, "shift green 50", out + err)
    answered = {}
    for k in range(40):
        st, who, _ = one("/sh%d" % k, {"Cookie": "sid=k%d" % k})
        answered["/sh%d" % k] = who if st == 200 else st
    to_green = [p for p, who in answered.items() if who == "green"]
    to_blue = [p for p, who in answered.items() if who == "blue"]
    s.eq(len(to_green) + len(to_blue), 40, "every shifted GET answered",
         answered)
    s.ok(to_green and to_blue, "the shift sent some to each pool", answered)
    s.ok(wait_until(lambda: all(p in green.mirrored for p in to_blue)),
         "blue's share of the shift was copied to green",
         (to_blue, green.mirrored))
    time.sleep(0.3)     # a copy that should not exist has had its time
    s.eq([p for p in blue.requests if p.startswith(("/pv", "/sh"))],
         ["/pv-blue"] + sorted(to_blue, key=lambda p: int(p[3:])),
         "blue saw its own share and the preview to blue, in order, "
         "and no copy of green's")
    s.eq(blue.mirrored, [], "no copy went to blue")
    s.ok("/pv-green" not in green.mirrored and "/pv-blue" not in
         green.mirrored, "no preview was copied", green.mirrored)
    s.eq(sorted(p for p in green.mirrored if p.startswith("/sh")),
         sorted(to_blue), "green got copies of blue's share alone")
    c.stop()


@s.scenario("every bad mirror value is refused with a clear error")
def _():
    cases = [("percent = 101;", r"mirror\.percent: .*100"),
             ("methods = [ \"FETCH\" ];", r"unknown method \"FETCH\""),
             ("methods = [];", r"no method"),
             ("methods = \"GET\";", r"expected a list of methods"),
             ("max_body = -1;", r"mirror\.max_body"),
             ("timeout_ms = 0;", r"mirror\.timeout_ms"),
             ("max_inflight = 0;", r"mirror\.max_inflight"),
             ("precent = 5;", r"unknown setting.*percent")]
    for more, want in cases:
        c = Cutover(mirror_conf("127.0.0.1:9", "127.0.0.1:9", more),
                    start=False)
        p = subprocess.run([CUTOVER_BIN, "-t", "-c", c.conf],
                           capture_output=True, timeout=10)
        out = (p.stdout + p.stderr).decode(errors="replace")
        s.ok(p.returncode != 0, "refused: %s" % more, out)
        s.match(want, out, "says why: %s" % more)
    c = Cutover(mirror_conf("127.0.0.1:9", "127.0.0.1:9",
                            "percent = 5; methods = [ \"GET\", \"POST\" ];"),
                start=False)
    p = subprocess.run([CUTOVER_BIN, "-T", "-c", c.conf],
                       capture_output=True, timeout=10)
    out = p.stdout.decode(errors="replace")
    s.match(r'methods = \[ "GET", "POST" \];', out, "-T prints the methods",
            out)
    s.match(r"percent = 5;", out, "-T prints the percent")


@s.scenario("the descriptor need counts the copies in flight: a hard "
            "limit of exactly that need loses no request under slow copies")
def _():
    blue, green = Backend("blue"), Backend("green")
    # no splice pipes: their share of the need (128 a worker) is spare
    # room when no body is large
    workers, inflight = 4, 64
    extra = "limits = { max_connections = 40; };\n" \
        "upstream = { max_idle = 1; splice = false; };\n"

    def need(percent):
        c = Cutover(mirror_conf(blue.addr, green.addr, "percent = %d; "
                                "max_inflight = %d;" % (percent, inflight),
                                workers) + extra, start=False)
        p = subprocess.run([CUTOVER_BIN, "-t", "-c", c.conf],
                           capture_output=True, timeout=10)
        m = re.search(r"file descriptors: (\d+) needed", p.stdout.decode())
        return c, int(m.group(1)) if m else 0
    _, off = need(0)
    c, n = need(100)
    # each worker's copies, and one more idle connection per list (the
    # lists' bound is min(max_connections + max_inflight, max_idle) = 1
    # either way)
    s.eq(n - off, workers * inflight, "-t counts max_inflight copies per "
         "worker once mirroring is on", (off, n))
    c.nofile = (n, n)
    c.start()
    s.ok("needed for limits.max_connections" not in c.log_text(),
         "no warning: the limit is the need", c.log_tail())
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    green.requests_mode("delay", 3000)
    lat, bad = load(c.port, 40, 60)
    s.eq(bad, [], "40 clients, 2400 requests with every copy held 3 s: "
         "all answered by blue", bad[:5])
    m = mirror_metrics(c)
    s.ok(val(m, "cutover_mirror_skipped_total", reason="busy") > 0,
         "the copies reached max_inflight on the workers", m)
    rc, out, _ = c.ctl("metrics")
    s.match(r'cutover_descriptor_errors_total\{op="accept"\} 0\b', out,
            "no accept ran out of descriptors")
    s.match(r'cutover_descriptor_errors_total\{op="upstream"\} 0\b', out,
            "no upstream connection ran out of descriptors")
    s.ok("descriptor limit reached" not in c.log_text(),
         "no descriptor-limit episode", c.log_tail())
    green.requests_mode("none")


@s.scenario("a reload that lowers max_inflight or turns mirroring off "
            "cuts the copies beyond it at once")
def _():
    blue, green = Backend("blue"), Backend("green")
    # one worker: which worker a client's connection lands on is the
    # kernel's choice, and each worker has copies of its own clients only
    more = "max_inflight = 8; timeout_ms = 60000;"
    c = Cutover(mirror_conf(blue.addr, green.addr, "percent = 100; " +
                            more, workers=1))
    s.ok(c.wait_pool_healthy("green"), "green healthy")
    green.requests_mode("hang")
    lat, bad = load(c.port, 4, 10)
    s.eq(bad, [], "40 requests answered by blue while green hangs")
    # beside the copies, green holds 2 warm connections (upstream.
    # warm_idle), and a probe may come and go
    s.ok(green.wait_open_conns(lambda o: len(o) >= 8 + 2, 5),
         "8 copies wait on green", len(green.open_conns()))
    mark = c.log_mark()
    c.reload_file(c.config_text.replace("max_inflight = 8;",
                                        "max_inflight = 2;"), complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload with max_inflight = 2", out + err)
    s.ok(green.wait_open_conns(lambda o: len(o) <= 2 + 2 + 1, 5),
         "green is left with 2 copies", len(green.open_conns()))
    cut = [int(n) for n in re.findall(r"mirror: worker \d+ cut (\d+) "
                                      r"copies in flight, beyond "
                                      r"mirror\.max_inflight = 2",
                                      c.log_text()[mark:])]
    s.eq(cut, [6], "the worker logs the 6 copies it cut", c.log_tail())
    mark = c.log_mark()
    c.reload_file(c.config_text.replace("percent = 100;", "percent = 0;"),
                  complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "reload with percent = 0", out + err)
    s.ok(green.wait_open_conns(lambda o: len(o) <= 2 + 1, 5),
         "mirroring off: green is left with no copy", green.open_conns())
    s.eq(len(re.findall(r"mirror: worker \d+ cut 2 copies in flight: "
                        r"mirroring is off", c.log_text()[mark:])), 1,
         "the worker logs the 2 copies it cut", c.log_tail())
    m = mirror_metrics(c)
    s.eq(val(m, "cutover_mirror_requests_total", pool="green",
             **{"class": "error"}), 8.0, "the 8 cut copies count as "
         "green's errors, beside blue's mirrored requests", m)
    st, who, _ = get(c.port, "/after")
    s.eq((st, who), (200, "blue"), "cutover serves on")
    green.requests_mode("none")


s.done()
