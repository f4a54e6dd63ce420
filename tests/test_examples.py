"""Every example in examples/ is run here, as a user would run it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from torsion import reactors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _env(backend: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["TORSION_REACTOR"] = backend
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(script: str, *args: str, backend: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(backend),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return proc


@pytest.mark.parametrize("backend", reactors.available())
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_echoserv_echoes_and_stops_on_signal(backend: str, sig: int) -> None:
    port = _free_port()
    proc = _start("echoserv.py", str(port), backend=backend)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            payload = os.urandom(100_000)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                assert chunk
                got += chunk
            assert got == payload
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("aio_one_loop.py", ["twisted-style echo: hello", "asyncio shouter: HELLO"]),
        ("aio_await_both_ways.py", ["echoed: ping", "inlineCallbacks result: 42"]),
        ("aio_on_uvloop.py", ["echoed: hello from "]),
    ],
)
def test_asyncio_examples(script: str, expected: list[str]) -> None:
    """docs/asyncio.md's examples: run to completion and print what they say."""
    env = _env("epoll")
    del env["TORSION_REACTOR"]
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(expected), proc.stdout
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), proc.stdout
