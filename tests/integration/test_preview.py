#!/usr/bin/env python3
"""Preview routing: a request whose X-Cutover-Pool header (or the
preview.cookie) names a pool reaches that pool whatever is active; with
preview.token it must carry X-Cutover-Token or get 403 (counted); a name
that is no pool gets 400; the headers are not forwarded; metrics and the
access log show preview requests; a preview to a pool that is down gets a
503, never the active pool."""

import json
import os

from harness import Backend, Cutover, Suite, dead_addr, get, wait_until

s = Suite()

TOKEN = "t0ken-for-testers"


def start(blue, green, extra=""):
    """cutover with JSON access lines on a stdout file of its own."""
    c = Cutover(blue=blue, green=green,
                extra='log = { access = "json"; };\n' + extra, start=False)
    c.stdout = os.path.join(c.dir, "stdout")
    return c.start()


def access_lines(c, n):
    wait_until(lambda: len(c.stdout_text().splitlines()) >= n, 5.0)
    return [json.loads(line) for line in c.stdout_text().splitlines()]


def body(r):
    return r.body.decode(errors="replace")


@s.scenario("header: green while blue is active; headers not forwarded")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = start([blue], [green])
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    s.ok(any("preview: any client can pick a pool" in line
             for line in c.log_text().splitlines()),
         "with no token the log says anyone can pick a pool", c.log_tail())
    s.eq(body(get(c.port)), "blue\n", "a plain request goes to blue")
    r = get(c.port, headers={"X-Cutover-Pool": "green"})
    s.eq((r.status, body(r)), (200, "green\n"),
         "X-Cutover-Pool: green reaches green while blue is active")
    r = get(c.port, headers={"x-cutover-pool": "  blue "})
    s.eq((r.status, body(r)), (200, "blue\n"),
         "the header's name is case-insensitive, its value trimmed")
    r = get(c.port, "/headers", headers={"X-Cutover-Pool": "green",
                                         "X-Cutover-Token": "anything",
                                         "X-Other": "kept"})
    seen = body(r).lower()
    s.eq(r.status, 200, "/headers through a preview answers", body(r))
    s.ok("x-cutover-pool" not in seen and "x-cutover-token" not in seen,
         "neither X-Cutover-Pool nor X-Cutover-Token reaches the member",
         body(r))
    s.ok("x-other: kept" in seen, "other headers do", body(r))
    s.ok(green.wait_request("/headers"), "that request went to green")
    s.eq(c.active(), "blue", "blue is still active")

    r = get(c.port, headers={"X-Cutover-Pool": "purple"})
    s.eq(r.status, 400, "a name that is no pool: 400", body(r))
    s.ok("blue" in body(r) and "green" in body(r),
         "the 400 names the pools", body(r))
    r = get(c.port, headers={"X-Cutover-Pool": ""})
    s.eq(r.status, 400, "an empty name: 400", body(r))

    s.eq(c.metric('cutover_preview_requests_total{pool="green"}'), 2.0,
         "two preview requests to green counted")
    s.eq(c.metric('cutover_preview_requests_total{pool="blue"}'), 1.0,
         "one preview request to blue counted")
    s.eq(c.metric('cutover_requests_total{pool="green",code="2xx"}'), 2.0,
         "green's own request count has the preview requests")
    lines = access_lines(c, 6)
    routes = [(j["pool"], j["route"], j["status"]) for j in lines]
    s.eq(routes, [("blue", "active", 200), ("green", "preview", 200),
                  ("blue", "preview", 200), ("green", "preview", 200),
                  ("blue", None, 400), ("blue", None, 400)],
         "the access log marks the preview requests", routes)


@s.scenario("cookie; the header wins; the cookie is forwarded")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = start([blue], [green], 'preview = { cookie = "cv_pool"; };\n')
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    r = get(c.port, headers={"Cookie": "a=1; cv_pool=green; b=2"})
    s.eq(body(r), "green\n", "cookie cv_pool=green reaches green")
    r = get(c.port, headers={"Cookie": "cv_pool=green",
                             "X-Cutover-Pool": "blue"})
    s.eq(body(r), "blue\n", "the header wins over the cookie")
    r = get(c.port, headers={"Cookie": "cv_poolx=green"})
    s.eq(body(r), "blue\n", "another cookie's name does not count")
    r = get(c.port, "/headers", headers={"Cookie": "cv_pool=green"})
    s.ok("cv_pool=green" in body(r), "the cookie reaches the member",
         body(r))
    r = get(c.port, headers={"Cookie": "cv_pool=mauve"})
    s.eq(r.status, 400, "a cookie naming no pool: 400", body(r))
    lines = access_lines(c, 5)
    s.eq([j["route"] for j in lines][:4],
         ["preview", "preview", "active", "preview"],
         "the access log marks cookie previews", lines)


@s.scenario("token: the right one routes, none or a wrong one gets 403")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = start([blue], [green], 'preview = { token = "%s"; };\n' % TOKEN)
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    s.ok("any client can pick a pool" not in c.log_text(),
         "with a token, no line about anyone picking a pool", c.log_tail())
    r = get(c.port, headers={"X-Cutover-Pool": "green",
                             "X-Cutover-Token": TOKEN})
    s.eq((r.status, body(r)), (200, "green\n"), "the right token: green")
    r = get(c.port, headers={"X-Cutover-Pool": "green"})
    s.eq(r.status, 403, "no token: 403", body(r))
    s.ok("X-Cutover-Token" in body(r), "the 403 says what is missing",
         body(r))
    r = get(c.port, headers={"X-Cutover-Pool": "green",
                             "X-Cutover-Token": TOKEN + "x"})
    s.eq(r.status, 403, "a wrong token: 403", body(r))
    r = get(c.port, headers={"X-Cutover-Pool": "green",
                             "X-Cutover-Token": TOKEN[:-1]})
    s.eq(r.status, 403, "a prefix of the token: 403", body(r))
    r = get(c.port, headers={"X-Cutover-Pool": "purple"})
    s.eq(r.status, 403, "no token, no pool name: 403 still", body(r))
    r = get(c.port, headers={"X-Cutover-Pool": "purple",
                             "X-Cutover-Token": TOKEN})
    s.eq(r.status, 400, "the token and no pool name: 400", body(r))
    s.eq(body(get(c.port)), "blue\n", "a plain request goes to blue")
    s.eq(body(get(c.port, headers={"X-Cutover-Token": "x"})), "blue\n",
         "a token alone routes nowhere special")
    s.eq(c.metric("cutover_preview_refused_total"), 4.0,
         "four refusals counted")
    s.eq(c.metric('cutover_preview_requests_total{pool="green"}'), 1.0,
         "one preview request counted")


@s.scenario("preview to a pool that is down: 503, not the active pool")
def _():
    blue = Backend("blue")
    c = start([blue], [dead_addr()], 'preview = { header = "X-Pool"; };\n')
    s.ok(c.wait_pool_healthy("blue"), "blue healthy", c.status())
    r = get(c.port, headers={"X-Pool": "green"})
    s.ok(r.status in (502, 503) and "blue" not in body(r),
         "preview.header X-Pool to a dead green: an error, never blue",
         (r.status, body(r)))
    r = get(c.port, headers={"X-Cutover-Pool": "green"})
    s.eq(body(r), "blue\n", "the default header is off once another is "
         "named")
    rc, out, err = c.ctl("metrics")
    s.ok('cutover_requests_total{pool="green",code="5xx"} 1' in out,
         "the error counts under green", out)


@s.scenario("preview.header = \"\" turns the header off")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = start([blue], [green], 'preview = { header = ""; };\n')
    s.ok(c.wait_pool_healthy("green"), "green healthy", c.status())
    r = get(c.port, "/headers", headers={"X-Cutover-Pool": "green"})
    s.eq(r.status, 200, "answered", body(r))
    s.ok(body(r).startswith("GET /headers") and blue.wait_request("/headers"),
         "the request goes to blue", body(r))
    s.ok("x-cutover-pool: green" in body(r).lower(),
         "and the header, meaning nothing now, is forwarded", body(r))
    s.ok("any client can pick a pool" not in c.log_text(),
         "no line about picking a pool", c.log_tail())


s.done()
