"""examples/tls_echo.py, examples/starttls.py and examples/unix_echo.py, run as a user
would, on every backend."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from test_examples import EXAMPLES, _env
from torsion import reactors

BACKENDS = reactors.available()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CA and a certificate for ``localhost`` only, as PEM files."""
    d = tmp_path_factory.mktemp("certs")
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(d / "key.pem"))
    return {name: str(d / f"{name}.pem") for name in ("ca", "cert", "key")}


class Server:
    """An example run as a server: started, its first line read, stopped by a signal."""

    def __init__(self, backend: str, script: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(backend),
        )
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()
        assert self.banner, self.proc.stderr.read() if self.proc.stderr else "no output"

    @property
    def port(self) -> str:
        return self.banner.rsplit(":", 1)[1].strip()

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.proc.send_signal(sig)
        _, err = self.proc.communicate(timeout=10)
        assert self.proc.returncode == 0, err
        return err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def _client(backend: str, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "client", *args],
        capture_output=True,
        text=True,
        env=_env(backend),
        timeout=30,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_tls_echo(backend: str, certs: dict[str, str]) -> None:
    server = Server(backend, "tls_echo.py", "server", certs["cert"], certs["key"], "0")
    try:
        assert server.banner.startswith("tls echo server on 127.0.0.1:")
        ok = _client(backend, "tls_echo.py", "localhost", server.port, certs["ca"], "hi there")
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout == "hi there\n"
        # The certificate names localhost only: asking for 127.0.0.1 must fail, saying why.
        bad = _client(backend, "tls_echo.py", "127.0.0.1", server.port, certs["ca"], "secret")
        assert bad.returncode == 1
        assert "HostnameMismatchError" in bad.stderr and "not valid for '127.0.0.1'" in bad.stderr
        assert "secret" not in bad.stdout
        server.stop()
    finally:
        server.kill()


@pytest.mark.parametrize("backend", BACKENDS)
def test_starttls(backend: str, certs: dict[str, str]) -> None:
    server = Server(backend, "starttls.py", "server", certs["cert"], certs["key"], "0")
    try:
        assert server.banner.startswith("starttls server on 127.0.0.1:")
        ok = _client(backend, "starttls.py", "localhost", server.port, certs["ca"], "psst")
        assert ok.returncode == 0, ok.stderr
        lines = ok.stdout.splitlines()
        assert lines[0] == "SECURE psst"
        assert lines[1] in ("(over TLSv1.3, server verified)", "(over TLSv1.2, server verified)")
        server.stop(signal.SIGINT)
    finally:
        server.kill()


@pytest.mark.parametrize("backend", BACKENDS)
def test_unix_echo(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "echo.sock"
    server = Server(backend, "unix_echo.py", str(path), "600")
    try:
        assert server.banner == f"unix echo server on {path} (mode 600)\n"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        payload = os.urandom(200_000)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(str(path))
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                assert chunk
                got += chunk
        assert got == payload
        server.stop()
        assert not path.exists()  # removed on exit
    finally:
        server.kill()
