#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_conn (tests/fuzz/corpus/fuzz_conn/).

Each seed is a program in the operation encoding that tests/fuzz/fuzz_conn.c
describes; this file spells the programs out so they can be read and
changed.  Run it from the source tree:  python3 tests/fuzz/conn_seeds.py
The regress-* files beside them are inputs the fuzzer found, kept as they
were; this script leaves them alone.
"""
import os
import sys

(CSEND, MSEND, CFILL, MFILL, CREPEAT, MREPEAT, CSHUT, MSHUT, CRESET, MRESET,
 CPAUSE, MPAUSE, STEP, MSELECT, CCLOSE, MCLOSE) = range(16)
NOSTEP = 0x80


def op(code, arg=0, step=True):
    return bytes([code | (arg << 4) | (0 if step else NOSTEP)])


def send(code, data, step=True):
    out = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        last = i + 255 >= len(data)
        out += op(code, 0, step and last) + bytes([len(part)]) + part
    return out


def csend(data, step=True):
    return send(CSEND, data, step)


def msend(data, step=True):
    return send(MSEND, data, step)


def steps(n):
    return op(STEP, min(n, 7))


GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
           b"Upgrade: websocket\r\n\r\n")
S101 = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
        b"Upgrade: websocket\r\n\r\n")


def seeds():
    s = {}
    s["get-200"] = csend(GET) + steps(2) + msend(OK) + steps(3)
    s["post-body"] = (
        csend(b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
              b"hello") + steps(2) + csend(b" world") + steps(1) +
        msend(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n") +
        steps(3))
    s["post-chunked"] = (
        csend(b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
              b"\r\n\r\n5\r\nhello\r\n") + steps(2) + csend(b"0\r\n\r\n") +
        msend(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"3\r\nabc\r\n0\r\n\r\n") + steps(3))
    s["pipelined"] = (
        csend(GET.replace(b"/", b"/1", 1) + GET.replace(b"/", b"/2", 1) +
              GET.replace(b"/", b"/3", 1)) + steps(2) +
        msend(OK) + steps(1) + msend(OK) + steps(1) + msend(OK) + steps(3))
    s["upgrade-101"] = (
        csend(UPGRADE) + steps(2) + msend(S101 + b"hi") + steps(1) +
        csend(b"ping") + msend(b"pong") + op(CSHUT) + steps(1) +
        op(MSHUT) + steps(3))
    # Content-Length and Upgrade: a 101 before the body is all sent
    s["upgrade-101-before-body"] = (
        csend(b"POST /ws HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n"
              b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n") +
        steps(2) + msend(S101) + steps(3) + csend(b"0123456789") +
        steps(3))
    s["unsolicited-101"] = csend(GET) + steps(2) + msend(S101) + steps(3)
    s["early-response"] = (
        csend(b"POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 100000"
              b"\r\n\r\n") + steps(2) +
        msend(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n"
              b"Connection: close\r\n\r\n") + op(MSHUT) +
        op(CFILL, 0) + bytes([255]) + steps(7))
    s["resets"] = (
        csend(GET) + steps(2) + msend(b"HTTP/1.1 200 OK\r\n"
                                      b"Content-Length: 100\r\n\r\nab") +
        op(MRESET) + steps(2) + op(CRESET) + steps(2))
    s["half-closes"] = (
        csend(GET) + op(CSHUT) + steps(2) + msend(OK) + op(MSHUT) +
        steps(3))
    # 103 Early Hints, ~1.3 MB of them, to a client that does not read
    hint = b"HTTP/1.1 103 Early Hints\r\nLink: </"
    hint += b"a" * (255 - len(hint) - len(b">; rel=preload\r\n\r\n"))
    hint += b">; rel=preload\r\n\r\n"
    assert len(hint) == 255
    flood = csend(GET) + op(CPAUSE) + steps(2) + msend(hint)
    for _ in range(20):
        flood += op(MREPEAT, 0, False) + bytes([255]) + steps(7)
    s["early-hints-flood"] = flood + steps(7) + steps(7)
    # 256 pipelined GETs, 32 KiB answers one by one, nobody reading them
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 32768\r\n\r\n"
    s["pipelined-large-nonreading"] = (
        op(CPAUSE) + csend(GET, False) + op(CREPEAT, 0) + bytes([254]) +
        steps(2) + msend(head, False) + op(MFILL) + bytes([127]) +
        op(MREPEAT, 1) + bytes([63]) + steps(7))
    return s


def main():
    top = os.path.dirname(os.path.abspath(sys.argv[0]))
    out = os.path.join(top, "corpus", "fuzz_conn")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
