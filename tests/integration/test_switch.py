#!/usr/bin/env python3
"""Blue/green switching: cutoverctl switch and rollback, per-request routing
on keep-alive connections, in-flight requests finishing where they started."""


from harness import (Background, Backend, Cutover, RawConn, Suite, curl, get,
                     wait_until)

s = Suite()


def curl_body(c, path="/"):
    rc, out = curl("http://127.0.0.1:%d%s" % (c.port, path))
    return out if rc == 0 else "curl exit %d" % rc


@s.scenario("switch and rollback")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.eq(curl_body(c), "blue\n", "before the switch curl answers blue")
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "cutoverctl switch green exits 0", out + err)
    s.eq(curl_body(c), "green\n", "after the switch curl answers green")
    st = c.status_json()
    s.eq(st["active"], "green", "status shows active green", st)
    s.eq(st["previous"], "blue", "status shows previous blue", st)

    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green while green is active exits 0", out + err)
    s.ok((out + err).strip() != "",
         "... and says something about it", "stdout %r stderr %r" % (out, err))
    s.eq(curl_body(c), "green\n", "still green")

    rc, out, err = c.ctl("rollback")
    s.eq(rc, 0, "cutoverctl rollback exits 0", out + err)
    s.eq(curl_body(c), "blue\n", "after rollback curl answers blue")
    s.eq(c.active(), "blue", "status shows active blue")

    rc, out, err = c.ctl("switch", "purple")
    s.eq(rc, 1, "switch purple exits 1", out + err)
    s.contains(err, "purple", "the error names the pool")
    s.eq(curl_body(c), "blue\n", "a refused switch changes nothing")

    rc, out, err = c.ctl("switch", "green", "force")
    s.eq(rc, 0, "switch green force exits 0", out + err)
    s.eq(curl_body(c), "green\n", "... and green answers")


@s.scenario("keep-alive connection follows the switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    raw = RawConn(c.port)
    r = raw.request("GET", "/")
    s.eq(r.body, b"blue\n", "first request on the connection answers blue")
    rc, out, err = c.ctl("switch", "green")
    s.eq(rc, 0, "switch green", out + err)
    r = raw.request("GET", "/")
    s.eq(r.body, b"green\n",
         "next request on the SAME connection answers green")
    s.ok(not raw.eof, "the connection was kept open")
    raw.close()


@s.scenario("in-flight request across a switch")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    s.ok(c.wait_pool_healthy("green"), "green is healthy (switch gate)",
         c.status())
    slow = Background(get, c.port, "/delay?ms=1500", timeout=10)
    try:
        s.ok(blue.wait_request("/delay", 5),
             "the slow request reached blue")
        st = c.status_json()
        s.eq(st["pools"]["blue"]["inflight"], 1,
             "status counts it in flight on blue", st)
        rc, out, err = c.ctl("switch", "green")
        s.eq(rc, 0, "switch green while it waits", out + err)
        r = get(c.port, "/")
        s.eq(r.body, b"green\n", "a new request answers green at once")
        st = c.status_json()
        s.ok(st["pools"]["green"]["active"] is True and
             st["pools"]["blue"]["active"] is False and
             st["pools"]["blue"]["inflight"] == 1,
             "status: green active, blue standby still draining 1", st)
    finally:
        slow.join(10)
    r = slow.result
    s.ok(r is not None and r.status == 200 and r.body == b"blue\n",
         "the in-flight request completes with blue", repr(slow))
    s.eq(green.saw("/delay"), 0, "green never saw the slow request")
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["inflight"]
                    == 0, 3), "blue's inflight drops to 0", c.status())
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["members"][0]
                    ["idle"] == 0, 3),
         "idle upstream connections to blue are closed after the switch",
         c.status())


s.done()
