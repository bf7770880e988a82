#!/usr/bin/env python3
"""Tunnels end as TCP ends: each side's half-close (shutdown SHUT_WR) is
passed on to the other side once what it sent has been written, and the
other direction goes on until its own end.  A client that half-closes
after "ping" still gets the member's answer; a member that half-closes
still gets what the client sends afterwards; a client FIN that arrived
before the 101 reaches the member at once; and no tunnel outlives both
ends (status shows 0 tunnels after each)."""

import hashlib
import socket
import threading
import time

from harness import (PATTERN, Backend, Cutover, RawConn, Suite,
                     build_request, wait_health, wait_until)

s = Suite()

MiB = 1024 * 1024
QUIET_HEALTH = ('health = { path = "/healthz"; interval_ms = 60000; '
                'timeout_ms = 2000; rise = 1; fall = 100; };\n')
UPGRADE = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
ANSWER_101 = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\n\r\n")


def recv_to_eof(sock, timeout=5.0, first=b"", pace=0.0):
    """Reads until EOF; (bytes, how) with how "eof", "reset" or
    "timeout".  pace: seconds slept between reads (a slow reader)."""
    got = [first]
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return b"".join(got), "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return b"".join(got), "timeout"
        except (ConnectionResetError, BrokenPipeError):
            return b"".join(got), "reset"
        if not chunk:
            return b"".join(got), "eof"
        got.append(chunk)
        if pace:
            time.sleep(pace)


class TunnelMember:
    """A member on 127.0.0.1: probes get 200; an upgrade request gets what
    script(sock, rest, rec) does (rest: bytes after the head; rec: a dict
    for what the script saw), in a thread of its own.  .done is set when
    a script returns; the socket is closed then."""

    def __init__(self, script):
        self.script = script
        self.rec = {}
        self.done = threading.Event()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.addr = "127.0.0.1:%d" % self.ls.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def __str__(self):
        return self.addr

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, _, buf = buf.partition(b"\r\n\r\n")
                if b"upgrade" not in head.lower():
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                              b"\r\nok")
                    continue
                try:
                    self.script(c, buf, self.rec)
                finally:
                    self.done.set()
                return
        except OSError as e:
            self.rec.setdefault("errors", []).append(e)
        finally:
            c.close()

    def close(self):
        self.ls.close()


def cutover_to(member):
    green = Backend("green")
    c = Cutover(blue=[member], green=[green], extra=QUIET_HEALTH)
    s.ok(wait_health(c, "blue", member, "up", 5), "the member is up",
         c.status())
    return c


def upgrade(c, shut_after_head=False):
    """A client connection upgraded through c: (RawConn, 101 response)."""
    raw = RawConn(c.port)
    raw.send(build_request("GET", "/ws", UPGRADE))
    if shut_after_head:
        raw.s.shutdown(socket.SHUT_WR)
    return raw, raw.read_response()


def leaves_nothing(c):
    """(d) the tunnel and its connection are gone from status."""
    s.ok(wait_until(lambda: c.status_json()["pools"]["blue"]["tunnels"]
                    == 0, 3), "status json: blue tunnels 0 afterwards",
         c.status_json())
    s.ok(wait_until(lambda: c.status_json()["connections_open"] == 0, 3),
         "connections_open 0 afterwards", c.status_json())


# ---------------------------------------------------- client half-closes


@s.scenario("client half-closes a tunnel to backend.py's echo: it gets "
            "the echo, then EOF")
def _():
    blue, green = Backend("blue"), Backend("green")
    c = Cutover(blue=[blue], green=[green])
    raw, r = upgrade(c)
    s.eq(r.status, 101, "the upgrade is answered 101")
    raw.send(b"ping")
    raw.s.shutdown(socket.SHUT_WR)
    got, how = recv_to_eof(raw.s, 5, raw.buf)
    s.eq((got, how), (b"ping", "eof"), "the echo arrives, then EOF")
    s.ok(blue.wait_tunnels(closes=1, timeout=3),
         "the member saw EOF and closed its tunnel")
    leaves_nothing(c)


def answer_after_eof(sock, rest, rec):
    """Reads until EOF, then answers "echo:<what it read>" and "bye"."""
    sock.sendall(ANSWER_101)
    got, how = recv_to_eof(sock, 5, rest)
    rec["got"], rec["how"] = got, how
    if how == "eof":
        sock.sendall(b"echo:" + got)
        time.sleep(0.1)
        sock.sendall(b"bye")


@s.scenario("client sends ping and half-closes: the member sees EOF and "
            "its answer after EOF reaches the client")
def _():
    m = TunnelMember(answer_after_eof)
    c = cutover_to(m)
    raw, r = upgrade(c)
    s.eq(r.status, 101, "the upgrade is answered 101")
    raw.send(b"ping")
    raw.s.shutdown(socket.SHUT_WR)
    got, how = recv_to_eof(raw.s, 5, raw.buf)
    s.ok(m.done.wait(5), "the member's script ended")
    s.eq((m.rec.get("got"), m.rec.get("how")), (b"ping", "eof"),
         "the member got ping, then EOF")
    s.eq((got, how), (b"echo:pingbye", "eof"),
         "the client gets the answer and bye, then EOF")
    leaves_nothing(c)
    m.close()


def hash_after_eof(sock, rest, rec):
    """Reads slowly until EOF, then answers the sha256 of what it read."""
    sock.sendall(ANSWER_101)
    got, how = recv_to_eof(sock, 20, rest, pace=0.002)
    rec["n"], rec["how"] = len(got), how
    if how == "eof":
        sock.sendall(hashlib.sha256(got).hexdigest().encode() + b" bye")


@s.scenario("client sends 4 MiB to a slow member and half-closes: EOF "
            "follows the last byte, the answer comes back")
def _():
    m = TunnelMember(hash_after_eof)
    c = cutover_to(m)
    raw, r = upgrade(c)
    s.eq(r.status, 101, "the upgrade is answered 101")
    data = (PATTERN * (4 * MiB // len(PATTERN) + 1))[:4 * MiB]
    raw.s.settimeout(20)
    raw.send(data)
    raw.s.shutdown(socket.SHUT_WR)
    got, how = recv_to_eof(raw.s, 20, raw.buf)
    s.ok(m.done.wait(5), "the member's script ended")
    s.eq((m.rec.get("n"), m.rec.get("how")), (len(data), "eof"),
         "the member got all 4 MiB, then EOF")
    s.eq((got, how), (hashlib.sha256(data).hexdigest().encode() + b" bye",
                      "eof"), "the client gets the right hash, then EOF")
    leaves_nothing(c)
    m.close()


# ---------------------------------------------------- member half-closes


def talk_then_listen(first, with_101=False):
    """Sends first and half-closes (in the 101's own write when with_101),
    then reads what the client still sends, until EOF."""
    def script(sock, rest, rec):
        if with_101:
            sock.sendall(ANSWER_101 + first)
        else:
            sock.sendall(ANSWER_101)
            time.sleep(0.1)
            sock.sendall(first)
        sock.shutdown(socket.SHUT_WR)
        rec["got"], rec["how"] = recv_to_eof(sock, 5, rest)
    return script


def member_half_closes(first, with_101):
    m = TunnelMember(talk_then_listen(first, with_101))
    c = cutover_to(m)
    raw, r = upgrade(c)
    s.eq(r.status, 101, "the upgrade is answered 101")
    got, how = recv_to_eof(raw.s, 10, raw.buf)
    s.ok(got == first and how == "eof",
         "the client gets the member's %d bytes, then EOF" % len(first),
         "got %d bytes (%s), then %s" % (len(got), got == first, how))
    try:
        raw.send(b"more1")
        time.sleep(0.1)
        raw.send(b"more2")
        raw.s.shutdown(socket.SHUT_WR)
        sent = "sent"
    except OSError as e:
        sent = repr(e)
    s.eq(sent, "sent", "the client can still send after the member's EOF")
    s.ok(m.done.wait(5), "the member's script ended")
    s.eq((m.rec.get("got"), m.rec.get("how")), (b"more1more2", "eof"),
         "the member gets what the client sent after, then EOF")
    leaves_nothing(c)
    m.close()


@s.scenario("member sends and half-closes while the client still sends")
def _():
    member_half_closes(b"hello from the member", False)


@s.scenario("member half-closes in the 101's own write")
def _():
    member_half_closes(b"early", True)


@s.scenario("member sends 4 MiB and half-closes: the client gets it all")
def _():
    member_half_closes((PATTERN * (4 * MiB // len(PATTERN) + 1))[:4 * MiB],
                       False)


# ---------------------------------------------------- FIN before the 101


def late_101(sock, rest, rec):
    """Waits until the client's FIN has surely reached cutover, answers
    101 and "hi", then times how long the client's EOF takes to come."""
    time.sleep(0.5)
    sock.sendall(ANSWER_101 + b"hi")
    t0 = time.monotonic()
    rec["got"], rec["how"] = recv_to_eof(sock, 10, rest)
    rec["after"] = time.monotonic() - t0


@s.scenario("client half-closes before the 101: the member sees EOF at "
            "tunnel start")
def _():
    m = TunnelMember(late_101)
    c = cutover_to(m)
    raw, r = upgrade(c, shut_after_head=True)
    s.eq(r.status, 101, "the upgrade is answered 101")
    s.ok(m.done.wait(12), "the member's script ended")
    s.eq((m.rec.get("got"), m.rec.get("how")), (b"", "eof"),
         "the member sees EOF, not the tunnel idle timeout")
    after = m.rec.get("after", 99)
    s.ok(after < 2, "within 2 s of its 101 (%.3f s)" % after)
    got, how = recv_to_eof(raw.s, 5, raw.buf)
    s.eq((got, how), (b"hi", "eof"), "the client gets hi, then EOF")
    leaves_nothing(c)
    m.close()



def ignore_fin(sock, rest, rec):
    """Answers 101, then neither reads nor sends nor closes for 10 s: a
    member that ignores the client's FIN."""
    sock.sendall(ANSWER_101)
    time.sleep(10)


@s.scenario("a member that ignores a half-close: the tunnel closes after "
            "timeouts.tunnel_fin_ms, not tunnel_idle_ms")
def _():
    m = TunnelMember(ignore_fin)
    green = Backend("green")
    c = Cutover(blue=[m], green=[green], extra=QUIET_HEALTH +
                "timeouts = { tunnel_idle_ms = 60000; "
                "tunnel_fin_ms = 1000; };\n"
                'log = { level = "debug"; };\n')
    s.ok(wait_health(c, "blue", m, "up", 5), "the member is up", c.status())
    raw, r = upgrade(c)
    s.eq(r.status, 101, "the upgrade is answered 101")
    raw.send(b"last words")
    raw.s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    got, how = recv_to_eof(raw.s, 8, raw.buf)
    took = time.monotonic() - t0
    s.eq(how, "eof", "the tunnel is closed within seconds", c.log_tail(10))
    s.ok(0.8 <= took < 8, "after about tunnel_fin_ms (%.1f s)" % took)
    s.match(r"tunnel half-closed, no bytes within timeouts.tunnel_fin_ms",
            c.log_text(), "the log says why")
    leaves_nothing(c)
    m.close()

s.done()
