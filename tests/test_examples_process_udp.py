"""examples/process_cat.py and examples/udp_echo.py, run as a user would, on every backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BACKENDS = ["select", "poll", "epoll"]


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["TORSION_REACTOR"] = backend
    return env


@pytest.mark.parametrize("backend", BACKENDS)
def test_process_cat(backend: str) -> None:
    payload = os.urandom(60 * 1024)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "process_cat.py")],
        input=payload,
        capture_output=True,
        env=_env(backend),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == payload


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_udp_echo(backend: str, sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "udp_echo.py"), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(backend),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("udp echo on 127.0.0.1:"), line + (
            proc.stderr.read() if proc.stderr else ""
        )
        port = int(line.rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            for i in range(20):
                datagram = b"datagram %d " % i + os.urandom(100)
                s.sendto(datagram, ("127.0.0.1", port))
                assert s.recvfrom(2048) == (datagram, ("127.0.0.1", port))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
