"""What the integration harness (tests/integration/harness.py) and the
benchmark (bench/run) share: free ports on 127.0.0.1, processes started and
stopped by pid (never by name), waiting for a condition or a port, and a
client of cutover's admin socket.

harness.py imports it from its own directory; bench/run puts this directory
on sys.path first.  Standard library only.
"""

import ctypes
import os
import signal
import socket
import subprocess
import threading
import time

# ---------------------------------------------------------------- ports


def free_port():
    """A port nothing listens on right now (bound, then closed: a small,
    accepted race)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------- waiting


# What the predicates of the wait_until calls that came back false raised,
# for the failing check's diagnostics (harness.py prints and forgets them):
# a cutover that crashed must not look like a time-out.
_wait_errors = []
_wait_errors_lock = threading.Lock()


def wait_until(predicate, timeout=5.0, interval=0.02):
    """Polls predicate until it returns a true value (returned) or timeout
    seconds pass (returns the last false value).  An exception from the
    predicate counts as false; when the wait comes back false, the first
    and the last exception are kept for wait_errors()."""
    deadline = time.monotonic() + timeout
    value = None
    first = last = None
    raised = 0
    while True:
        try:
            value = predicate()
        except Exception as e:
            value = None
            raised += 1
            first = first or e
            last = e
        if value:
            return value
        if time.monotonic() >= deadline:
            if raised:
                with _wait_errors_lock:
                    del _wait_errors[:-7]   # the last 8 waits at most
                    _wait_errors.append(
                        "a wait of %gs came back false; its predicate "
                        "raised %d times, first %r, last %r"
                        % (timeout, raised, first, last))
            return value
        time.sleep(interval)


def wait_errors():
    """What the predicates of the waits that came back false since the last
    call raised (see wait_until), one line per wait; forgets them."""
    with _wait_errors_lock:
        r = list(_wait_errors)
        del _wait_errors[:]
    return r


def port_open(port, timeout=1.0):
    """True when a TCP connect to 127.0.0.1:port succeeds."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except OSError:
        return False
    return True


def wait_port(port, timeout=10.0, interval=0.05):
    """Waits until something accepts TCP connections on 127.0.0.1:port;
    returns True when it does."""
    return bool(wait_until(lambda: port_open(port), timeout, interval))


# ---------------------------------------------------------------- processes


PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):    # not Linux: no parent-death signal
    _prctl = None


def die_with_parent(sig=signal.SIGKILL):
    """A preexec_fn for Popen: the child gets sig when the thread that
    started it ends (PR_SET_PDEATHSIG), so a runner killed with SIGKILL
    leaves no process behind.  Linux sends it when that *thread* ends:
    start children from the main thread or from one that outlives them."""
    parent = os.getpid()

    def preexec():
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:      # the parent died before prctl
            os._exit(127)
    return preexec


def start(argv, logfile=None, cpu=None, **kw):
    """Starts argv and returns its subprocess.Popen.  With logfile, stdout
    and stderr are appended to that file (our copy of the descriptor is
    closed at once); with cpu (a taskset list such as "0" or "0,1"), the
    process is pinned there.  The process dies with its starter
    (die_with_parent) unless preexec_fn says otherwise.  Other keywords go
    to Popen."""
    if cpu is not None:
        argv = ["taskset", "-c", cpu] + list(argv)
    kw.setdefault("preexec_fn", die_with_parent())
    if logfile is None:
        return subprocess.Popen(argv, **kw)
    with open(logfile, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                **kw)


def stop(proc, timeout=10.0):
    """Stops a process we started, by its pid: SIGTERM, then up to timeout
    seconds to exit, then SIGKILL.  Returns its exit code, or None when it
    had to be killed.  A process that already exited is only reaped."""
    if proc is None:
        return None
    if proc.poll() is not None:
        return proc.returncode
    try:
        os.kill(proc.pid, signal.SIGTERM)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        return None
    except ProcessLookupError:     # exited between poll and kill
        return proc.wait(5)


def rss_kb(pid):
    """VmRSS of pid in kB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Procs:
    """The processes a script started, each with a log file in logdir;
    stop_all() stops them by pid, newest first."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, cpu, logdir, **kw):
        """Starts argv pinned to cpu, in logdir, logging to logdir/NAME.log."""
        p = start(argv, os.path.join(logdir, name + ".log"), cpu,
                  cwd=logdir, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, timeout=10.0):
        return stop(p, timeout)

    def stop_all(self):
        for p in reversed(self.procs):
            self.stop(p)


# ---------------------------------------------------------------- admin


class AdminConn:
    """A connection to cutover's admin socket (a UNIX stream socket: one
    command per line, one reply per command ending in an empty line, whose
    first line is "ok" or "error: REASON")."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.s.settimeout(timeout)
            self.s.connect(path)
        except OSError:
            self.s.close()
            raise
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            if self.eof:
                raise EOFError("admin connection closed; partial %r" %
                               self.buf)
            chunk = self.s.recv(65536)
            if not chunk:
                self.eof = True
                continue
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode(errors="replace")

    def reply(self):
        """Reads one reply up to its empty line; returns it without that
        line, e.g. "ok\\nactive blue\\n..." or "error: ..."."""
        lines = []
        for _ in range(100000):
            line = self._line()
            if line == "":
                break
            lines.append(line)
        return "\n".join(lines)

    def command(self, line):
        """Sends one command line (without its newline) and returns the
        reply, as reply() does."""
        self.send(line + "\n")
        return self.reply()

    def closed(self, timeout=2.0):
        """True when the peer closes the connection within timeout."""
        self.s.settimeout(timeout)
        try:
            return self.s.recv(65536) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def admin_command(path, line, timeout=5.0):
    """Sends one command line on a fresh connection to the admin socket at
    path; returns the reply text (first line and body, without the final
    empty line)."""
    with AdminConn(path, timeout) as a:
        return a.command(line)
