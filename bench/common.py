"""Shared helpers for the benchmark runner: paths, the C tools, server processes.

Every server runs in its own process pinned to core 0 (``SERVER_CPU``); load
clients run on core 1 (``CLIENT_CPU``), and so does the runner itself, which
only waits while a measurement runs.  A server prints ``PORT <n>`` once it
listens; the runner opens and closes one warm-up connection before measuring
(see /work/shared/bench/README.md).
"""

from __future__ import annotations

import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BUILD = BENCH / "build"
OUT = BENCH / "out"
SERVERS = BENCH / "servers"
SHARED = Path(os.environ.get("TORSION_BENCH_SHARED", ROOT.parent / "shared" / "bench"))
PYTHON = sys.executable
SERVER_CPU = 0
CLIENT_CPU = 1 if (os.cpu_count() or 1) > 1 else 0
HOST = "127.0.0.1"

#: How each system's echo server is started: (script, extra arguments).
ECHO_SERVERS: dict[str, tuple[str, list[str]]] = {
    "torsion": ("echo_protocol.py", ["--system", "torsion"]),
    "twisted": ("echo_protocol.py", ["--system", "twisted"]),
    "asyncio": ("echo_asyncio.py", ["--loop", "asyncio"]),
    "uvloop": ("echo_asyncio.py", ["--loop", "uvloop"]),
    # torsion.aio (bench/aio.py): asyncio code on torsion's loop, and torsion on uvloop.
    "torsion-aio": ("echo_asyncio.py", ["--loop", "torsion"]),
    "asyncio-streams": ("echo_asyncio.py", ["--loop", "asyncio", "--api", "streams"]),
    "uvloop-streams": ("echo_asyncio.py", ["--loop", "uvloop", "--api", "streams"]),
    "torsion-aio-streams": ("echo_asyncio.py", ["--loop", "torsion", "--api", "streams"]),
    "torsion-on-uvloop": ("echo_protocol.py", ["--system", "torsion-uvloop"]),
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def raise_nofile() -> int:
    """Raise this process's descriptor limit to the hard limit; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pin_self(cpu: int = CLIENT_CPU) -> None:
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass


def taskset(cpu: int) -> list[str]:
    """The command prefix that pins a child to ``cpu`` (empty if taskset is missing)."""
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") else []


# ---------------------------------------------------------------- C tools


def build_tool(name: str, source: Path, libs: tuple[str, ...] = ()) -> Path:
    """Compile ``source`` with ``cc -O2`` into bench/build/ unless up to date."""
    exe = BUILD / name
    if exe.exists() and exe.stat().st_mtime >= source.stat().st_mtime:
        return exe
    if not source.exists():
        raise FileNotFoundError(f"C source not found: {source}")
    BUILD.mkdir(parents=True, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-O2", "-o", str(exe), str(source), *libs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return exe


def echoload() -> Path:
    return build_tool("echoload", SHARED / "echoload.c")


def echoserv() -> Path:
    return build_tool("echoserv", SHARED / "echoserv.c")


_LOAD_RE = re.compile(
    r"trips=(?P<trips>\d+) errors=(?P<errors>\d+).*?rps=(?P<rps>[\d.]+) MBps=(?P<mbps>[\d.]+)"
    r" p50_ms=(?P<p50>[\d.]+) p99_ms=(?P<p99>[\d.]+)",
    re.S,
)


def run_load(tool: Path, port: int, conns: int, size: int, seconds: float) -> dict[str, float]:
    """Run an echoload-style client on the client core and parse its figures."""
    cmd = [*taskset(CLIENT_CPU), str(tool), HOST, str(port), str(conns), str(size), str(seconds)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = _LOAD_RE.search(proc.stdout)
    if m is None:
        raise RuntimeError(f"{tool.name} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    out = {k: float(v) for k, v in m.groupdict().items()}
    # How busy the client's core was: near 1.0, the client set the pace.
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    out["client_busy"] = used / seconds
    return out


# ---------------------------------------------------------------- servers


@dataclass
class Server:
    """A benchmark server process (pinned to the server core)."""

    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[str] | None = None
    port: int = 0
    #: The exit status once ``stop()`` has waited for the process.
    returncode: int | None = None

    def start(self, timeout: float = 30.0) -> Server:
        """Start the process; wait for its ``PORT`` line (or, if ``port`` is preset, a connect)."""
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            [*taskset(SERVER_CPU), *self.cmd],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.port:
                try:
                    socket.create_connection((HOST, self.port), timeout=1).close()
                    return self
                except OSError:
                    time.sleep(0.01)
                continue
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith("PORT "):
                    self.port = int(line.split()[1])
                    return self
        err = self.stop()
        raise RuntimeError(f"server {self.name} did not start: {err}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 10.0) -> str:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); return its stderr.

        The exit status is kept in ``returncode`` (negative: killed by that signal).
        """
        proc = self.proc
        if proc is None:
            return ""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.returncode = proc.returncode
        err = proc.stderr.read() if proc.stderr else ""
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()
        self.proc = None
        return err

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@dataclass
class LoggedServer(Server):
    """A server whose output goes to ``log_path``, ready once ``port`` accepts a connection.

    For servers that print no ``PORT`` line (``torsion run``, ``twist``): the
    port is chosen beforehand and given on their command line.  ``nofile``, if
    set, is the child's descriptor limit (soft and hard), set before it starts.
    """

    log_path: Path | None = None
    nofile: int | None = None

    def start(self, timeout: float = 30.0) -> LoggedServer:
        assert self.log_path is not None and self.port
        limit = self.nofile

        def limit_descriptors() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*taskset(SERVER_CPU), *self.cmd],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                text=True,
                preexec_fn=limit_descriptors if limit is not None else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{self.name} did not start: {' / '.join(tail)}")


def with_server_cpu(pid: int, load: Callable[[], dict[str, float]], unit: str) -> dict[str, float]:
    """Run ``load`` and add to its figures process ``pid``'s CPU time per ``unit``.

    ``unit`` names the count in the figures (round trips, requests).  The CPU
    per unit is what the server costs, whichever side was the bottleneck.
    """
    user0, sys0 = cpu_times(pid)
    r = load()
    user1, sys1 = cpu_times(pid)
    n = max(r[unit], 1)
    r["cpu_user_us"] = (user1 - user0) / n * 1e6
    r["cpu_sys_us"] = (sys1 - sys0) / n * 1e6
    return r


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def python_env(torsion_src: Path | None = None) -> dict[str, str]:
    src = str(torsion_src or ROOT / "src")
    old = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": src + (os.pathsep + old if old else "")}


def echo_server(
    system: str, torsion_src: Path | None = None, extra: tuple[str, ...] = ()
) -> Server:
    """The echo server of ``system`` (one of ECHO_SERVERS, or ``"c"``)."""
    if system == "c":
        port = free_port()
        return Server("c", [str(echoserv()), str(port)], port=port)
    script, args = ECHO_SERVERS[system]
    cmd = [PYTHON, str(SERVERS / script), *args, *extra]
    return Server(system, cmd, python_env(torsion_src))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def warm_up(port: int, size: int = 1024) -> None:
    """Open one connection, echo ``size`` bytes through it, and close it."""
    with socket.create_connection((HOST, port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(b"w" * size)
        got = 0
        while got < size:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"server on port {port} closed during warm-up")
            got += len(chunk)


# ---------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str] = {}
    for mod in ("twisted", "uvloop", "matplotlib"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:
            versions[mod] = "missing"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": versions,
        "cc": _cc_version(),
    }


def cpu_idle(seconds: float = 1.0) -> float:
    """The fraction of CPU time all cores spent idle over the next ``seconds``."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except OSError:
        return float("nan")
    return (idle1 - idle0) / max(1, total1 - total0)


def _cc_version() -> str:
    try:
        out = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout
    except OSError:
        return "missing"
    return out.splitlines()[0] if out else "unknown"


def rotated(items: list[str], rnd: int) -> list[str]:
    """``items`` rotated by ``rnd``: each round starts with another system."""
    k = rnd % len(items)
    return items[k:] + items[:k]


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    if not n:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
