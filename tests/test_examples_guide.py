"""The guide's examples, run as a reader would run them, on every backend.

Also checks that each complete program shown in docs/guide.md is, byte for
byte, the file in examples/ that this module runs, and runs the README's
ten-line echo server.  Servers report their address on a first line of
output (or a "listening on" log line), which is what the tests wait for.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _programs import ROOT, Program, environment
from torsion import reactors

EXAMPLES = ROOT / "examples"
BACKENDS = reactors.available()


@pytest.fixture
def programs() -> Iterator[list[Program]]:
    started: list[Program] = []
    yield started
    for program in started:
        program.kill()


def start(programs: list[Program], *args: str, **kw: Any) -> Program:
    program = Program(*args, **kw)
    programs.append(program)
    return program


def echoServer(programs: list[Program], listen: str = "tcp:0:interface=127.0.0.1") -> Program:
    return start(programs, "-m", "torsion", "run", "echo", "--listen", listen, listening=1)


def example(name: str) -> str:
    return str(EXAMPLES / name)


def run(*args: str, backend: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=environment(backend),
        timeout=30,
    )


# ----------------------------------------------------------- the examples


@pytest.mark.parametrize("backend", BACKENDS)
def test_echoclient(programs: list[Program], backend: str) -> None:
    server = echoServer(programs)
    result = run(
        example("echoclient.py"), "127.0.0.1", str(server.port), "round trip", backend=backend
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "round trip\n", "")


def test_echoclient_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run(example("echoclient.py"), "127.0.0.1", str(port))
    assert result.returncode == 1
    assert "ConnectionRefusedError" in result.stderr


@pytest.mark.parametrize("backend", BACKENDS)
def test_chatserver(programs: list[Program], backend: str) -> None:
    server = start(programs, example("chatserver.py"), "0", backend=backend)
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=20) as a,
        socket.create_connection(("127.0.0.1", server.port), timeout=20) as b,
    ):
        aLines, bLines = a.makefile("rb"), b.makefile("rb")
        assert aLines.readline() == bLines.readline() == b"What is your name?\n"
        a.sendall(b"ann\n")
        assert aLines.readline() == b"Welcome, ann!\n"
        b.sendall(b"ann\n")
        assert bLines.readline() == b"That name is taken (or empty); try another.\n"
        b.sendall(b"ben\n")
        assert bLines.readline() == b"Welcome, ben!\n"
        assert aLines.readline() == b"* ben joined\n"
        b.sendall(b"hello, ann\n")
        assert aLines.readline() == b"<ben> hello, ann\n"
        b.close()
        bLines.close()
        assert aLines.readline() == b"* ben left\n"
        aLines.close()
    status, _, err = server.finish(signal.SIGTERM)
    assert status == 0, err


def test_chatserver_tests_pass() -> None:
    result = run("-m", "pytest", "-q", "-p", "no:cacheprovider", example("chatserver_test.py"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_lineclient(programs: list[Program], backend: str) -> None:
    server = echoServer(programs)
    lines = ["first line", "second line", "third"]
    result = run(example("lineclient.py"), "127.0.0.1", str(server.port), *lines, backend=backend)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines


@pytest.mark.parametrize("backend", BACKENDS)
def test_reconnecting_client(programs: list[Program], backend: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = start(
        programs, example("reconnecting_client.py"), "127.0.0.1", str(port), "3", backend=backend
    )
    assert client.seen[0].startswith("connection failed")  # no server yet: it retries
    echoServer(programs, f"tcp:{port}:interface=127.0.0.1")
    status, out, err = client.finish()
    assert status == 0, err
    assert out.splitlines()[-3:] == ["got hello #1", "got hello #2", "got hello #3"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_portforward_example(programs: list[Program], backend: str) -> None:
    server = echoServer(programs)
    forwarder = start(
        programs,
        example("portforward.py"),
        "0",
        "localhost",
        str(server.port),
        backend=backend,
    )
    assert forwarder.seen[0].endswith(f"to localhost:{server.port}\n")
    payload = os.urandom(100_000)
    with socket.create_connection(("127.0.0.1", forwarder.port), timeout=20) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        assert s.makefile("rb").read() == payload
    status, _, err = forwarder.finish(signal.SIGINT)
    assert status == 0, err


def test_hello_service_plugin(programs: list[Program], tmp_path: Path) -> None:
    info = tmp_path / "hello_service-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-service\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[torsion.services]\nhello = hello_service:HelloService\n"
    )
    sitePath = tmp_path
    (sitePath / "hello_service.py").write_text((EXAMPLES / "hello_service.py").read_text())
    server = start(
        programs,
        "-m",
        "torsion",
        "run",
        "hello",
        "--greeting",
        "Howdy",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        extra=sitePath,
        listening=1,
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        assert s.makefile("rb").read() == b"Howdy, 127.0.0.1!\r\n"
    status, _, err = server.finish(signal.SIGTERM)
    assert status == 0, err


# ---------------------------------------------------- docs match examples


def fencedBlocks(text: str) -> list[tuple[str, str]]:
    """(marker, code) for each ```python block preceded by <!-- example: PATH -->."""
    pattern = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```\n", re.S)
    return pattern.findall(text)


def test_guide_programs_are_the_examples() -> None:
    guide = (ROOT / "docs" / "guide.md").read_text()
    blocks = fencedBlocks(guide)
    shown = {path for path, _ in blocks}
    for name in (
        "echoserv.py",
        "echoclient.py",
        "chatserver.py",
        "chatserver_test.py",
        "lineclient.py",
        "reconnecting_client.py",
        "portforward.py",
        "hello_service.py",
    ):
        assert f"examples/{name}" in shown, f"the guide does not show examples/{name}"
    for path, code in blocks:
        assert code == (ROOT / path).read_text(), f"docs/guide.md's copy of {path} differs"


def readmeEchoServer() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A ten-line echo server", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_echo_server(programs: list[Program], tmp_path: Path) -> None:
    code = readmeEchoServer()
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    script = tmp_path / "echo.py"
    script.write_text(code.replace("8000", "0"))
    server = start(programs, str(script))
    port = int(server.seen[0].split()[-1])
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(b"from the README")
        assert s.recv(100) == b"from the README"
    status, _, err = server.finish(signal.SIGTERM)
    assert status == 0, err
