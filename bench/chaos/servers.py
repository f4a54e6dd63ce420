"""The servers under test, started as a user starts them, and what /proc says about them.

Each system serves each service the way its users would:

- torsion: ``python -m torsion run SERVICE --listen tcp:PORT:interface=127.0.0.1 ...``
  (from the ``src`` under test: ``--torsion-src``);
- twist: ``python -m twisted --log-format=text web --path DIR --listen ...`` and
  ``... portforward --port ... --host ... --dest_port ...``; ``twist`` has no echo
  or chargen, so those are Twisted's own ``twisted.protocols.wire.Echo`` and
  ``Chargen`` behind ``endpoints.serverFromString`` (twisted_wire.py).

Every server writes its log (stdout and stderr) to a file of its own, which
is searched for tracebacks afterwards.  A ``Target`` is one running server:
its port(s), and snapshots of its descriptors, memory, CPU time and reads.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import common as c

HERE = Path(__file__).resolve().parent
SYSTEMS = ("torsion", "twist")
SERVICES = ("web", "echo", "chargen", "portforward")
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Setup:
    """What a service needs besides its port."""

    root: Path | None = None  # the web root
    pem: Path | None = None  # certificate and key, for an extra ssl: listener (web)
    upstream: int = 0  # portforward's target port on 127.0.0.1
    nofile: int | None = None  # the server's descriptor limit


def _listen(port: int) -> str:
    return f"tcp:{port}:interface={c.HOST}"


def _ssl_listen(port: int, pem: Path) -> str:
    return f"ssl:{port}:privateKey={pem}:interface={c.HOST}"


def command(system: str, service: str, port: int, tls_port: int, setup: Setup) -> list[str]:
    """The command line that serves ``service`` with ``system`` on ``port``."""
    listens = [_listen(port)]
    if tls_port and setup.pem is not None:
        listens.append(_ssl_listen(tls_port, setup.pem))
    if system == "torsion":
        cmd = [c.PYTHON, "-m", "torsion", "run", service]
        cmd += [arg for listen in listens for arg in ("--listen", listen)]
        if service == "web":
            cmd += ["--path", str(setup.root)]
        elif service == "portforward":
            cmd += ["--connect", f"{c.HOST}:{setup.upstream}"]
        return cmd
    if service in ("echo", "chargen"):
        return [c.PYTHON, str(HERE / "twisted_wire.py"), service, *listens]
    twist = [c.PYTHON, "-m", "twisted", "--log-format=text", "--log-file=-"]
    if service == "web":
        return [
            *twist,
            "web",
            "--path",
            str(setup.root),
            *(arg for listen in listens for arg in ("--listen", listen)),
        ]
    return [
        *twist,
        "portforward",
        "--port",
        listens[0],
        "--host",
        c.HOST,
        "--dest_port",
        str(setup.upstream),
    ]


@dataclass
class Snapshot:
    """One look at a process through /proc."""

    fds: int
    rss_kib: int
    hwm_kib: int  # the peak RSS so far
    cpu_s: float  # user + system (from schedstat: nanosecond resolution)
    rchar: int  # bytes returned by read-like calls (files and sockets alike)
    read_bytes: int  # bytes fetched from the storage layer


def snapshot(pid: int) -> Snapshot:
    status = Path(f"/proc/{pid}/status").read_text()
    mem = {
        k: int(v.split()[0])
        for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)
        if k in ("VmRSS", "VmHWM")
    }
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    cpu_ns = int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return Snapshot(
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        rss_kib=mem.get("VmRSS", 0),
        hwm_kib=mem.get("VmHWM", 0),
        cpu_s=cpu_ns / 1e9,
        rchar=int(io["rchar"]),
        read_bytes=int(io["read_bytes"]),
    )


class Target:
    """A server under test: started by ``start()``, stopped with SIGTERM by ``stop()``."""

    def __init__(
        self,
        system: str,
        service: str,
        setup: Setup,
        log_path: Path,
        torsion_src: Path | None = None,
    ) -> None:
        self.system = system
        self.service = service
        self.port = c.free_port()
        self.tls_port = c.free_port() if setup.pem is not None else 0
        env = c.python_env(torsion_src) if system == "torsion" else {}
        self.server = c.LoggedServer(
            f"{system} {service}",
            command(system, service, self.port, self.tls_port, setup),
            env,
            port=self.port,
            log_path=log_path,
            nofile=setup.nofile,
        )
        self.stopped_in: float = float("nan")

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def log_path(self) -> Path:
        assert self.server.log_path is not None
        return self.server.log_path

    def start(self) -> Target:
        self.server.start()
        # Twisted installs its signal handlers once its reactor runs, a moment
        # after it listens; give both the same moment before any signal.
        time.sleep(0.3)
        return self

    def running(self) -> bool:
        return self.server.proc is not None and self.server.proc.poll() is None

    def snapshot(self) -> Snapshot:
        return snapshot(self.pid)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        if self.running():
            os.kill(self.pid, sig)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait up to ``timeout`` (then SIGKILL); the exit status."""
        t0 = time.monotonic()
        self.server.stop(timeout)
        self.stopped_in = time.monotonic() - t0
        return self.server.returncode

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit by itself; its status (None if it is still running)."""
        proc = self.server.proc
        if proc is None:
            return self.server.returncode
        try:
            proc.wait(timeout)
        except Exception:
            return None
        return self.stop()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tracebacks(self) -> list[str]:
        """The last line of each traceback in the log (the exception)."""
        # twist's text log indents every line of an event after the first with a tab.
        lines = [line.removeprefix("\t") for line in self.log().splitlines()]
        found = []
        for i, line in enumerate(lines):
            if TRACEBACK not in line:
                continue
            end = i + 1
            while end < len(lines) and lines[end].startswith("  "):  # File ... / code
                end += 1
            found.append(lines[end].strip() if end < len(lines) else "?")
        return found

    def clean_exit(self, status: int | None) -> bool:
        """Did the process end as its documentation says it does on SIGTERM?

        torsion run exits 0.  twist re-raises the signal once its reactor has
        stopped (so its status is -SIGTERM), after logging "Main loop terminated".
        """
        if self.system == "torsion" or self.service in ("echo", "chargen"):
            return status == 0
        return status == -signal.SIGTERM and "Main loop terminated" in self.log()
