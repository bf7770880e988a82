#!/usr/bin/env python3
"""Metrics: `cutoverctl metrics` returns the Prometheus text exposition,
summed over two workers; known traffic, switches and reloads give exact
counts, and promtool accepts the text."""

import re
import shutil
import subprocess
import time

from harness import (Backend, Cutover, Suite, admin_command, exchange,
                     pools_config)

s = Suite()


# --------------------------------------------------------------- the parser

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


def parse(text):
    """Parses the text format 0.0.4: returns (types, samples), types
    {family: type}, samples {(name, ((label, value), ...)): float}.
    Raises ValueError on anything malformed: a sample whose family has no
    # TYPE before it, a label list that does not parse, a duplicate."""
    types, helps, samples = {}, {}, {}
    for line in text.split("\n"):
        if line == "":
            continue
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            helps[name] = help_
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            if name in types or name not in helps:
                raise ValueError("TYPE without HELP or twice: %r" % line)
            types[name] = typ
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample: %r" % line)
        name, labels = m.group(1), []
        rest = m.group(3) or ""
        while rest:
            lm = _LABEL.match(rest)
            if not lm:
                raise ValueError("bad labels: %r" % line)
            labels.append((lm.group(1), _unescape(lm.group(2))))
            rest = rest[lm.end():]
        family = name
        if name not in types:
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            if types.get(family) != "histogram":
                raise ValueError("no TYPE for %r" % name)
        key = (name, tuple(sorted(labels)))
        if key in samples:
            raise ValueError("duplicate sample %r" % line)
        samples[key] = float(m.group(4))
    return types, samples


def metrics(c):
    rc, out, err = c.ctl("metrics")
    if rc != 0:
        raise RuntimeError("cutoverctl metrics: %d %s" % (rc, err))
    return out


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def req(path):
    return ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" %
            path).encode()


# -------------------------------------------------------------- scenarios

@s.scenario("known traffic, switches and reloads give exact counts")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green], extra="workers = 2;\n")
    s.ok(c.wait_pool_healthy("green") and c.wait_pool_healthy("blue"),
         "both pools healthy", c.status())

    sent = received = 0
    for _ in range(7):
        r = req("/")
        got = exchange(c.port, r)
        s.ok(got.startswith(b"HTTP/1.1 200 "), "GET / answers 200", got)
        sent, received = sent + len(r), received + len(got)
    for _ in range(3):
        r = req("/status?code=500")
        got = exchange(c.port, r)
        s.ok(got.startswith(b"HTTP/1.1 500 "), "/status?code=500 is 500",
             got)
        sent, received = sent + len(r), received + len(got)
    # cutover's own reply (no Host): counted for the active pool
    r = b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
    got = exchange(c.port, r)
    s.ok(got.startswith(b"HTTP/1.1 400 "), "no Host: cutover answers 400",
         got)
    sent, received = sent + len(r), received + len(got)

    text = metrics(c)
    types, m = parse(text)
    s.eq(val(m, "cutover_requests_total", pool="blue", code="2xx"), 7.0,
         "requests_total blue 2xx = 7", text)
    s.eq(val(m, "cutover_requests_total", pool="blue", code="5xx"), 3.0,
         "requests_total blue 5xx = 3")
    s.eq(val(m, "cutover_requests_total", pool="blue", code="4xx"), 1.0,
         "requests_total blue 4xx = 1 (cutover's own 400)")
    s.eq(sum(v for (n, l), v in m.items() if n == "cutover_requests_total"
             and dict(l)["pool"] == "green"), 0.0, "nothing on green")
    s.eq(types.get("cutover_request_duration_seconds"), "histogram",
         "request_duration_seconds is a histogram")
    buckets = sorted(((float(dict(l)["le"]), v) for (n, l), v in m.items()
                      if n == "cutover_request_duration_seconds_bucket"
                      and dict(l)["pool"] == "blue"))
    s.eq(buckets[-1], (float("inf"), 11.0), "+Inf bucket of blue = 11")
    s.ok(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
         "buckets are cumulative", buckets)
    s.eq(val(m, "cutover_request_duration_seconds_count", pool="blue"),
         11.0, "_count of blue = 11")
    dsum = val(m, "cutover_request_duration_seconds_sum", pool="blue")
    s.ok(dsum is not None and 0 < dsum < 11 * 5, "_sum of blue plausible",
         dsum)
    s.eq(val(m, "cutover_bytes_received_total", pool="blue"), float(sent),
         "bytes_received_total blue = bytes the client sent")
    s.eq(val(m, "cutover_bytes_sent_total", pool="blue"), float(received),
         "bytes_sent_total blue = bytes the client received")
    s.eq(val(m, "cutover_active_pool", pool="blue"), 1.0, "blue active")
    s.eq(val(m, "cutover_active_pool", pool="green"), 0.0, "green not")
    s.eq(val(m, "cutover_generation"), 1.0, "generation 1 at start")
    s.eq(val(m, "cutover_member_up", pool="green", member=green.addr), 1.0,
         "green's member is up")
    ok = val(m, "cutover_probes_total", pool="green", member=green.addr,
             result="ok")
    s.ok(ok is not None and ok >= 2, "green's probes counted (rise 2)", ok)
    s.eq(val(m, "cutover_upstream_connect_errors_total", pool="blue",
             member=blue.addr), 0.0, "no connect errors")
    s.eq(val(m, "cutover_upstream_connect_timeouts_total", pool="blue",
             member=blue.addr), 0.0, "no connect timeouts")
    s.eq(val(m, "cutover_requests_in_flight", pool="blue"), 0.0,
         "nothing in flight")
    s.eq(val(m, "cutover_connections_total"), 11.0, "11 connections")

    t0 = time.time()
    rc, out, err = c.ctl("switch", "green")
    s.eq((rc, out.strip()), (0, "green (was blue), generation 2"),
         "switch green answers the previous pool and the generation", err)
    s.eq(c.status_json().get("generation"), 2, "status json: generation 2")
    s.ok(any(l.startswith("active green  generation 2  ")
             for l in c.status()), "status: generation 2", c.status())
    rc, out, err = c.ctl("switch", "green")
    s.eq((rc, out.strip()), (0, "green is already active (generation 2)"),
         "switch to the active pool: no new generation", err)
    rc, out, err = c.ctl("switch", "blue", "force")
    s.eq((rc, out.strip()), (0, "blue (was green), generation 3"),
         "a forced switch back", err)
    t1 = time.time()

    conf = c.config_text
    c.reload_file("pools = {\n", complete=False)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 1, "a broken file: reload fails", out + err)
    c.write(conf)
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "the same file again: reload ok", out + err)
    _, m = parse(metrics(c))
    s.eq(val(m, "cutover_generation"), 3.0,
         "reloads that change no routing leave the generation")
    s.eq(val(m, "cutover_switches_total", forced="false"), 1.0,
         "one switch without force")
    s.eq(val(m, "cutover_switches_total", forced="true"), 1.0,
         "one forced switch")
    last = val(m, "cutover_last_switch_timestamp_seconds")
    s.ok(last is not None and t0 - 1 <= last <= t1 + 1,
         "last switch time is the forced switch's", (t0, last, t1))
    s.eq(val(m, "cutover_reloads_total", result="ok"), 1.0, "one reload ok")
    s.eq(val(m, "cutover_reloads_total", result="failed"), 1.0,
         "one reload failed")
    s.eq(val(m, "cutover_requests_total", pool="blue", code="2xx"), 7.0,
         "counters survive switches and reloads")

    green2 = Backend("green2")
    c.reload_file(pools_config([blue], [green, green2]) + "workers = 2;\n")
    rc, out, err = c.ctl("reload")
    s.eq(rc, 0, "a reload that adds a member", out + err)
    s.eq(c.status_json().get("generation"), 4,
         "a member more: generation 4")

    if shutil.which("promtool") is None:
        s.ok(False, "promtool installed (scripts/install-deps: prometheus)")
        return
    text = metrics(c)
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    s.eq(p.returncode, 0, "promtool check metrics accepts the exposition",
         p.stdout + p.stderr)


@s.scenario("metrics runs on the read-only socket")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green],
                extra='admin = { socket = "@DIR@/admin.sock"; '
                      'readonly_socket = "@DIR@/ro.sock"; };\n')
    r = c.admin("metrics")
    s.ok(r.startswith("ok\n# HELP cutover_"), "metrics on the admin socket",
         r[:200])
    r = admin_command(c.dir + "/ro.sock", "metrics")
    s.ok(r.startswith("ok\n# HELP cutover_"), "... and on the read-only one",
         r[:200])


s.done()
