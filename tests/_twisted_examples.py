"""The machinery behind tests/test_twisted_examples.py: Twisted's example
programs, fetched from its sdist, run as they are and ported by their imports.

Theory of operation
    ``sdistDocs`` downloads the sdist of the installed Twisted (the examples
    are not in the wheel) once into pytest's cache and unpacks its
    ``docs/core``.  A ``Run`` is one program (with the files it needs) copied
    into a directory of its own, either as it is (``flavor="twisted"``) or
    with its imports rewritten by the porting table (``twisted_suite.rewrite``)
    and run on one torsion backend.  Hard-coded port numbers are replaced, in
    the copied text only, by free ones (``Run.port`` maps one to the other).

    A torsion run cannot quietly fall back on Twisted: ``sitecustomize`` (put
    first on the program's path) refuses imports of the Twisted modules the
    porting table replaces, so a ported program that still needs one fails.
    Twisted's utility modules the table does not map (``twisted.python.modules``,
    ``twisted.python.filepath``) stay importable.

    ``Proc`` reads a program's output without blocking forever: every wait is
    for a line or a pattern, bounded by a deadline.  ``normalize`` removes
    what legitimately differs between two runs: time stamps, object
    addresses, the run's directory and the ports it was given.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from twisted_suite import ROOT, UVLOOP_SITECUSTOMIZE, rewrite

TIMEOUT = 15.0

# The Twisted modules a ported program must not import (torsion replaces them).
_BLOCKED = (
    "twisted.internet",
    "twisted.protocols.basic",
    "twisted.python.log",
    "twisted.python.failure",
    "twisted.logger",
    "twisted.trial",
    "twisted.test",
)

_SITECUSTOMIZE = f'''\
import sys

_BLOCKED = {_BLOCKED!r}


class _NoTwisted:
    """Refuse the Twisted modules the porting table replaces."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith(tuple(b + "." for b in _BLOCKED)) or name in _BLOCKED:
            raise ImportError(f"ported program imports {{name}}, which torsion replaces")
        return None


sys.meta_path.insert(0, _NoTwisted())
'''


#: The flavor that runs a program on torsion's asyncio backend over uvloop.
UVLOOP = "asyncio+uvloop"


def reactorName(flavor: str) -> str:
    """``TORSION_REACTOR`` for a torsion flavor (a backend, or ``UVLOOP``)."""
    return "asyncio" if flavor == UVLOOP else flavor


def twistedVersion() -> str:
    from importlib.metadata import version

    return version("twisted")


def sdistDocs(cache: Path) -> Path:
    """``docs/core`` of the installed Twisted's sdist, downloaded once into ``cache``."""
    version = twistedVersion()
    unpacked = cache / f"twisted-{version}"
    docs = unpacked / "docs" / "core"
    if docs.is_dir():
        return docs
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"twisted-{version}.tar.gz"
    if not archive.exists():
        command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:"]
        command += ["--no-deps", f"twisted=={version}", "-d", str(cache), "-q"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            pytest.skip(f"downloading Twisted {version}'s sdist timed out")
        if done.returncode or not archive.exists():
            pytest.skip(f"cannot download Twisted {version}'s sdist: {done.stderr[-500:]}")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/docs/core/" in m.name]
        tar.extractall(cache, members=members, filter="data")
    assert docs.is_dir(), f"no docs/core in {archive}"
    return docs


def freePort(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proc:
    """A running program, its stdout read with deadlines (stderr collected at the end)."""

    def __init__(self, args: list[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.out = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def _readSome(self, deadline: float) -> bool:
        """Read what stdout has (waiting until ``deadline``); False at its end."""
        assert self.proc.stdout is not None
        left = deadline - time.monotonic()
        if left <= 0 or not self._selector.select(left):
            raise AssertionError(f"timed out; output so far: {self.out!r}")
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        self.out += chunk
        return bool(chunk)

    def expect(self, pattern: str | bytes, count: int = 1, timeout: float = TIMEOUT) -> None:
        """Wait until stdout holds ``count`` occurrences of ``pattern``."""
        wanted = pattern.encode() if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while self.out.count(wanted) < count:
            if not self._readSome(deadline):
                raise AssertionError(f"{wanted!r} never came: {self.out!r} {self._err()}")

    def _err(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")

    def connect(self, port: int, host: str = "127.0.0.1") -> socket.socket:
        """A TCP connection to this (server) program, retried until it listens."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        deadline = time.monotonic() + TIMEOUT
        while True:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(TIMEOUT)
            try:
                s.connect((host, port))
                return s
            except ConnectionRefusedError:
                s.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"not listening: {self.finish()}") from None
                time.sleep(0.02)  # polling a port that is not listening yet

    def accept(self, server: socket.socket) -> socket.socket:
        """The connection this (client) program makes to ``server``."""
        try:
            conn, _ = server.accept()
        except TimeoutError:
            raise AssertionError(f"no connection from the program: {self.finish()}") from None
        conn.settimeout(TIMEOUT)
        return conn

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def closeStdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def finish(self, sig: int | None = None, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        """Signal it (if ``sig``), wait for its end: status, stdout, stderr."""
        try:
            if sig is not None and self.proc.poll() is None:
                self.proc.send_signal(sig)
            deadline = time.monotonic() + timeout
            while self._readSome(deadline):
                pass
            assert self.proc.stderr is not None
            err = self.proc.stderr.read()
            code = self.proc.wait(timeout=timeout)
        finally:
            self.kill()
        return code, self.out.decode(errors="replace"), err.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        self._selector.close()


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[+-]\d{4}|\.\d+|Z)?")
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


class Run:
    """One program run: a directory with its files, a flavor, its ports."""

    def __init__(
        self,
        docs: Path,
        where: Path,
        flavor: str,
        files: Iterable[str],
        ports: Iterable[int] = (),
        replace: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.flavor = flavor
        self.dir = where
        self.port = {number: freePort() for number in ports}
        self.aliases: dict[str, str] = {str(new): str(old) for old, new in self.port.items()}
        for name in files:
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not name.endswith(".py"):
                shutil.copy(docs / name, target)
                continue
            text = self._ported(docs / name)
            for old, new in self.port.items():
                text = re.sub(rf"\b{old}\b", str(new), text)
            for before, after in replace:
                text = text.replace(before, after)
            target.write_text(text)
        self.procs: list[Proc] = []
        site = where / "_site"
        site.mkdir(exist_ok=True)
        if flavor != "twisted":
            extra = "\n" + UVLOOP_SITECUSTOMIZE if flavor == UVLOOP else ""
            (site / "sitecustomize.py").write_text(_SITECUSTOMIZE + extra)

    def _ported(self, path: Path) -> str:
        text = path.read_text()
        return text if self.flavor == "twisted" else rewrite(text)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TORSION"))}
        env["PYTHONPATH"] = os.pathsep.join([str(self.dir / "_site"), str(ROOT / "src")])
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        if self.flavor != "twisted":
            env["TORSION_REACTOR"] = reactorName(self.flavor)
        env.update(extra)
        return env

    def start(self, program: str, *args: str, **env: str) -> Proc:
        """``python PROGRAM ARGS`` in the program's own directory."""
        path = self.dir / program
        proc = Proc([sys.executable, path.name, *args], path.parent, self.env(**env))
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        """Kill what is still running (after a failure)."""
        for proc in self.procs:
            proc.kill()

    def complete(self, program: str, *args: str, **env: str) -> tuple[int, str, str]:
        """Run it to its end."""
        return self.start(program, *args, **env).finish()

    def alias(self, value: object, name: str) -> None:
        """Show ``value`` (a port, a path) as ``name`` in the normalized output."""
        self.aliases[str(value)] = name

    def normalize(self, text: str) -> str:
        text = text.replace(str(self.dir), "DIR")
        text = _TIMESTAMP.sub("TIME", text)
        text = _ADDRESS.sub(" at 0xADDR", text)
        for value, name in sorted(self.aliases.items(), key=lambda kv: -len(kv[0])):
            text = re.sub(rf"(?<![\w.]){re.escape(value)}(?![\w])", name, text)
        return text


def udpExchange(
    port: int, datagrams: list[bytes], host: str = "127.0.0.1", timeout: float = TIMEOUT
) -> tuple[list[bytes], int]:
    """Send each datagram to a UDP echo program and read its answer (the first one
    is repeated until the program is up); the answers and the local port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    answers = []
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        deadline = time.monotonic() + timeout
        while not answers:
            s.send(datagrams[0])
            s.settimeout(0.1)
            try:
                answers.append(s.recv(65536))
            except (ConnectionRefusedError, TimeoutError):
                assert time.monotonic() < deadline, "no answer"
        s.settimeout(timeout)
        for datagram in datagrams[1:]:
            s.send(datagram)
            answers.append(s.recv(65536))
        return answers, int(s.getsockname()[1])


def recvAll(s: socket.socket) -> bytes:
    """Everything until the peer closes."""
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    return data


def recvUntil(s: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = s.recv(65536)
        assert chunk, f"closed before {end!r}: {data!r}"
        data += chunk
    return data


def listener(port: int, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A peer for a client program, on the port it was given."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", port))
    if kind == socket.SOCK_STREAM:
        s.listen(5)
    s.settimeout(TIMEOUT)
    return s


__all__ = ["Proc", "Run", "listener", "recvAll", "recvUntil", "sdistDocs", "signal"]
