"""``torsion run --workers N``: real supervisor and worker processes on 127.0.0.1.

The tests run ``whoami``, a small service (installed through the
``torsion.services`` entry points, as a third-party package would be) that
greets each client with the pid of the process that accepted it, then echoes.
They wait for log lines and answers, never for a timer.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from tests._programs import environment

from torsion.cli import main

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

WHOAMI = """
import os

from torsion.protocol import Factory, Protocol
from torsion.services import ServiceError


class WhoAmI(Protocol):
    def connectionMade(self):
        self.transport.write(b"%d\\n" % os.getpid())

    def dataReceived(self, data):
        self.transport.write(data)


class Stubborn(WhoAmI):
    def stopGracefully(self):
        pass  # stays open until the grace period is over


class WhoAmIService:
    summary = "say which process answers, then echo"
    defaultListen = "tcp:0:interface=127.0.0.1"

    def addOptions(self, parser):
        parser.add_argument("--fail-in-worker", action="store_true")
        parser.add_argument("--stubborn", action="store_true")

    def makeFactory(self, reactor, options):
        if options.fail_in_worker and options.supervised is not None:
            raise ServiceError("this worker was told to fail")
        return Factory.forProtocol(Stubborn if options.stubborn else WhoAmI)
"""

#: How long any one wait may take (a bound, not a synchronisation).
LIMIT = 15.0


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    info = site / "whoami_service-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: whoami-service\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[torsion.services]\nwhoami = whoami_service:WhoAmIService\n"
    )
    (site / "whoami_service.py").write_text(WHOAMI)
    return site


class Supervised:
    """``torsion run ARGS...`` whose stderr is read line by line, with a deadline."""

    def __init__(self, plugin: Path, *args: str, listening: int = 1) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "torsion", "run", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=environment(extra=plugin),
        )
        assert self.proc.stderr is not None
        self.fd = self.proc.stderr.fileno()
        self.lines: list[str] = []
        self.cursor = 0
        self.buffer = b""
        self.eof = False
        self.ports = [int(self.expect(r"listening on \S+:(\d+)")[1]) for _ in range(listening)]

    def _read(self, timeout: float) -> bool:
        """Read what stderr has within ``timeout``; False at EOF or if nothing came."""
        if self.eof or not select.select([self.fd], [], [], timeout)[0]:
            return False
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        self.lines += [line.decode("utf-8", "replace") for line in complete]
        return True

    def poll(self, pattern: str) -> re.Match[str] | None:
        """The next line matching ``pattern`` among those already read (or readable now)."""
        self._read(0)
        for index in range(self.cursor, len(self.lines)):
            match = re.search(pattern, self.lines[index])
            if match:
                self.cursor = index + 1
                return match
        return None

    def expect(self, pattern: str, timeout: float = LIMIT) -> re.Match[str]:
        """Wait for the next line matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            match = self.poll(pattern)
            if match:
                return match
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not self._read(0)):
                raise AssertionError(f"no line matching {pattern!r} in:\n" + self.text())
            self._read(min(left, 1.0))

    def text(self) -> str:
        return "\n".join(self.lines) + self.buffer.decode("utf-8", "replace")

    def finish(self, sig: int | None = signal.SIGTERM) -> int:
        """Signal it, read stderr to its end, reap it: the exit status."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        deadline = time.monotonic() + LIMIT
        while not self.eof and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        try:
            return self.proc.wait(timeout=LIMIT)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running:\n" + self.text()) from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def start(plugin: Path) -> Iterator[object]:
    started: list[Supervised] = []

    def starter(*args: str, listening: int = 1) -> Supervised:
        program = Supervised(plugin, *args, listening=listening)
        started.append(program)
        return program

    yield starter
    for program in started:
        program.kill()


def ask(address: object, family: int = socket.AF_INET) -> int:
    """Connect, read the pid the service greets with, close."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(LIMIT)
        s.connect(address)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(64)
            assert chunk, f"closed after {data!r}"
            data += chunk
        return int(data)


def pidsServing(address: object, wanted: set[int], family: int = socket.AF_INET) -> set[int]:
    """Connect (at most 400 times) until every pid in ``wanted`` has answered."""
    seen: set[int] = set()
    for _ in range(400):
        seen.add(ask(address, family))
        if wanted <= seen:
            break
    return seen


def test_both_workers_serve(start: object) -> None:
    server = start("whoami", "--workers", "2")  # type: ignore[operator]
    pids = workerPids(server)
    assert sorted(pids) == [0, 1]
    assert server.proc.pid not in pids.values()
    seen = pidsServing(("127.0.0.1", server.ports[0]), set(pids.values()))
    assert seen == set(pids.values())
    assert server.finish() == 0
    assert sum("listening on" in line for line in server.lines) == 1
    assert "Traceback" not in server.text()


def workerPids(server: Supervised) -> dict[int, int]:
    """``{slot: pid}`` of the workers reported ready before "listening on"."""
    found = {}
    for line in server.lines:
        match = re.search(r"worker (\d+) \(pid (\d+)\) ready", line)
        if match:
            found[int(match[1])] = int(match[2])
    return found


def test_a_killed_worker_is_replaced(start: object) -> None:
    server = start("whoami", "--workers", "2")  # type: ignore[operator]
    pids = workerPids(server)
    victim = pids[1]
    os.kill(victim, signal.SIGKILL)
    server.expect(
        rf"worker 1 \(pid {victim}\) was killed by signal 9 \(SIGKILL\); restarting it in 0\.1s"
    )
    replacement = int(server.expect(r"worker 1 \(pid (\d+)\) ready")[1])
    assert replacement != victim
    seen = pidsServing(("127.0.0.1", server.ports[0]), {pids[0], replacement})
    assert seen == {pids[0], replacement}
    assert server.finish() == 0


def test_sighup_replaces_the_workers_without_refusing_a_connection(start: object) -> None:
    server = start("whoami", "--workers", "2")  # type: ignore[operator]
    old = set(workerPids(server).values())
    address = ("127.0.0.1", server.ports[0])
    server.proc.send_signal(signal.SIGHUP)
    answered = 0
    deadline = time.monotonic() + LIMIT
    while not server.poll(r"replacement done"):
        assert time.monotonic() < deadline, server.text()
        ask(address)  # a refused or reset connection fails the test here
        answered += 1
    new = {int(m[1]) for m in re.finditer(r"\(pid (\d+)\) ready", server.text())} - old
    assert len(new) == 2
    assert answered > 0, answered
    for pid in old:
        server.cursor = 0  # in any order, maybe before "replacement done"
        server.expect(rf"\(pid {pid}\) exited with status 0")
    # (Not before: "replacement done" comes once the old workers are told to
    # stop, and one may take a connection or two before it reads that.)
    assert pidsServing(address, new) == new  # only the new workers answer now
    assert server.finish() == 0
    assert "Traceback" not in server.text()


def test_graceful_stop_with_open_connections(start: object) -> None:
    server = start("whoami", "--workers", "2", "--grace", "5")  # type: ignore[operator]
    clients = []
    try:
        for _ in range(6):
            client = socket.create_connection(("127.0.0.1", server.ports[0]), timeout=LIMIT)
            client.recv(64)
            client.sendall(b"ping")
            assert client.recv(64) == b"ping"
            clients.append(client)
        began = time.monotonic()
        assert server.finish() == 0
        assert time.monotonic() - began < 5
        for client in clients:
            assert client.recv(64) == b""  # closed by its worker, not reset
    finally:
        for client in clients:
            client.close()
    assert "Traceback" not in server.text()
    assert len(re.findall(r"exited with status 0", server.text())) == 2


def test_a_second_signal_is_ignored_and_a_third_stops_waiting(start: object) -> None:
    server = start("whoami", "--workers", "2", "--stubborn", "--grace", "60")  # type: ignore[operator]
    clients = []
    try:
        for _ in range(8):
            client = socket.create_connection(("127.0.0.1", server.ports[0]), timeout=LIMIT)
            client.recv(64)
            clients.append(client)
        server.proc.send_signal(signal.SIGTERM)
        server.expect(r"waiting up to 60s for \d+ open connection")
        server.proc.send_signal(signal.SIGINT)
        server.expect(r"Received SIGINT again while shutting down: ignored")
        assert server.proc.poll() is None
        server.proc.send_signal(signal.SIGTERM)
        server.expect(r"Received SIGTERM a third time")
        assert server.finish(None) == 0  # well before the 60 s of grace
        for client in clients:
            assert client.recv(64) == b""
    finally:
        for client in clients:
            client.close()
    assert "Traceback" not in server.text()


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfds")
def test_workers_stop_when_the_supervisor_dies(start: object) -> None:
    server = start("whoami", "--workers", "2")  # type: ignore[operator]
    pids = set(workerPids(server).values())
    server.proc.kill()
    for _ in pids:
        server.expect(r"the supervisor is gone; stopping")
    server.finish(None)  # stderr reaches EOF once every worker has exited
    assert server.eof
    for pid in pids:
        assert exited(pid)


def exited(pid: int) -> bool:
    """Whether ``pid`` (not our child) exits within the time limit."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], LIMIT)[0])  # readable once it has exited
    finally:
        os.close(fd)


def test_tls_workers(start: object, tmp_path: Path) -> None:
    ca = trustme.CA()
    pem = tmp_path / "server.pem"
    pem.write_bytes(ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.bytes())
    server = start(  # type: ignore[operator]
        "whoami", "--workers", "2", "--listen", f"ssl:0:interface=127.0.0.1:privateKey={pem}"
    )
    assert f"listening on ssl:127.0.0.1:{server.ports[0]}" in server.text()
    context = ssl.create_default_context()
    ca.configure_trust(context)
    pids = set(workerPids(server).values())
    seen: set[int] = set()
    for _ in range(400):
        raw = socket.create_connection(("127.0.0.1", server.ports[0]), timeout=LIMIT)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            seen.add(int(tls.recv(64)))
        if seen == pids:
            break
    assert seen == pids
    assert server.finish() == 0


def test_one_worker_is_a_single_process(start: object) -> None:
    server = start("whoami", "--workers", "1")  # type: ignore[operator]
    assert ask(("127.0.0.1", server.ports[0])) == server.proc.pid
    assert "worker" not in server.text()
    assert server.finish() == 0


def test_a_unix_socket_is_shared(start: object, tmp_path: Path) -> None:
    path = str(tmp_path / "whoami.sock")
    server = start(  # type: ignore[operator]
        "whoami", "--workers", "2", "--listen", f"unix:{path}", listening=0
    )
    server.expect(rf"listening on unix:{re.escape(path)}")
    pids = set(workerPids(server).values())
    assert len(pids) == 2
    assert pidsServing(path, pids, socket.AF_UNIX) == pids
    assert server.finish() == 0
    assert not os.path.exists(path)


def test_a_worker_that_cannot_start_stops_the_run(plugin: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "torsion", "run", "whoami", "--workers", "2", "--fail-in-worker"],
        capture_output=True,
        text=True,
        env=environment(extra=plugin),
        timeout=LIMIT,
    )
    assert proc.returncode == 1, proc.stderr
    assert "before it was ready" in proc.stderr
    assert "listening on" not in proc.stderr


def test_a_bad_listen_fails_before_any_worker(plugin: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "torsion", "run", "whoami", "--workers", "2", "--listen", "tcp:x"],
        capture_output=True,
        text=True,
        env=environment(extra=plugin),
        timeout=LIMIT,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--listen" in proc.stderr
    assert "worker" not in proc.stderr


@pytest.mark.parametrize("count", ["0", "-1", "abc", "1.5"])
def test_bad_worker_counts_are_usage_errors(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "echo", f"--workers={count}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"--workers: {count!r} is not a number above 0 or 'auto'" in err


def test_auto_is_one_per_core(monkeypatch: pytest.MonkeyPatch) -> None:
    from torsion import cli

    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    assert cli._workerCount("auto") == 3
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert cli._workerCount("AUTO") == 1
