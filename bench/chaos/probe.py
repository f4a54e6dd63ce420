"""The loop probe: a normal client making a small round trip every few milliseconds.

A server's loop that stalls delays every client, so the longest round trip
this client sees is an upper bound on the longest stall (plus the probe's own
scheduling delay, a few milliseconds on a busy machine).  Run as a child
process on the client core, so that the hostile clients in the runner do not
hold it up, at a higher priority than they have when it may (as root):

    python probe.py KIND PORT [--interval SECONDS] [--timeout SECONDS]

KIND is ``http`` (``GET /small.txt`` over one keep-alive connection), ``echo``
(16 bytes over one connection) or ``first-byte`` (a new connection each time,
timed until its first byte arrives: for chargen).  A trip that fails or takes
longer than ``--timeout`` counts as a failure, with its time as its latency,
and the next trip reconnects.  The probe prints ``READY`` after its first good
trip, and one JSON line with its figures when its standard input closes.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
STALL_MS = 250.0
_ECHO = b"probe-0123456789"
_GET = b"GET /small.txt HTTP/1.1\r\nHost: probe\r\n\r\n"


class _Trips:
    """One kind of round trip; ``trip()`` raises OSError when it fails."""

    def __init__(self, kind: str, port: int, timeout: float) -> None:
        self.kind = kind
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        s = socket.create_connection((HOST, self.port), timeout=self.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def trip(self) -> None:
        if self.kind == "first-byte":
            with self._connect() as s:
                if not s.recv(1):
                    raise ConnectionError("closed before the first byte")
            return
        if self.sock is None:
            self.sock = self._connect()
        if self.kind == "echo":
            self.sock.sendall(_ECHO)
            self._read_exactly(len(_ECHO))
        else:
            self.sock.sendall(_GET)
            self._read_response()

    def _read_exactly(self, n: int, buf: bytes = b"") -> bytes:
        assert self.sock is not None
        while len(buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            buf += chunk
        return buf

    def _read_response(self) -> None:
        assert self.sock is not None
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode("latin-1"))
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self._read_exactly(length, body)


def percentile(sorted_xs: list[float], q: float) -> float:
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs) - 1, int(q * len(sorted_xs)))]


def summary(latencies_ms: list[float], failures: int) -> dict[str, Any]:
    s = sorted(latencies_ms)
    return {
        "trips": len(s),
        "failures": failures,
        "p50_ms": percentile(s, 0.50),
        "p99_ms": percentile(s, 0.99),
        "max_ms": s[-1] if s else float("nan"),
        "stalls": sum(1 for x in s if x > STALL_MS),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("kind", choices=["http", "echo", "first-byte"])
    p.add_argument("port", type=int)
    p.add_argument("--interval", type=float, default=0.005)
    p.add_argument("--timeout", type=float, default=2.0)
    a = p.parse_args()
    try:  # ahead of the hostile clients on the same core, where allowed (root)
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass
    trips = _Trips(a.kind, a.port, a.timeout)
    latencies: list[float] = []
    failures = 0
    ready = False
    while True:
        t0 = time.perf_counter()
        try:
            trips.trip()
            ok = True
        except OSError:
            ok = False
            trips.close()
        elapsed = (time.perf_counter() - t0) * 1e3
        if ready:
            latencies.append(elapsed)
            failures += not ok
        elif ok:
            ready = True  # the first good trip (it connects) is not counted
            print("READY", flush=True)
        if select.select([sys.stdin], [], [], a.interval)[0] and not sys.stdin.read(1):
            break
    trips.close()
    print(json.dumps(summary(latencies, failures)), flush=True)


class Probe:
    """The probe as a child process: ``with Probe(kind, port) as p: ...``; then ``p.result``."""

    def __init__(self, kind: str, port: int, prefix: list[str] | None = None) -> None:
        self.cmd = [*(prefix or []), sys.executable, str(Path(__file__)), kind, str(port)]
        self.proc: subprocess.Popen[str] | None = None
        self.result: dict[str, Any] = {}

    def __enter__(self) -> Probe:
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 10.0)
        line = self.proc.stdout.readline() if ready else ""
        if line.strip() != "READY":
            self.__exit__()
            raise RuntimeError(f"the probe could not make a first round trip ({line!r})")
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.close()
        try:
            out = proc.stdout.read()
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            out = ""
        proc.stdout.close()
        lines = out.strip().splitlines()
        if lines and lines[-1].startswith("{"):
            self.result = json.loads(lines[-1])


if __name__ == "__main__":
    main()
