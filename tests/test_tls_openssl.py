"""Interoperability with real TLS peers: ``openssl s_server`` and ``openssl s_client``
started on loopback, both ways, on every backend.

The child's output is read through the reactor (a reader on its stdout pipe), so
the tests wait on Deferreds for what openssl prints, never on sleeps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from _peers import PKI, Echo, Peer, Servers, bothLost, check, scenario
from torsion import error
from torsion import ssl as tssl
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import ClientCreator, ClientFactory, Factory

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
pytestmark = pytest.mark.skipif(not os.path.exists(OPENSSL), reason="no openssl command")


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


@pytest.fixture(scope="module")
def files(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The PKI as PEM files for the openssl command."""
    d = tmp_path_factory.mktemp("pki")
    paths = {
        "ca": pki.caPEM,
        "cert": pki.server.dump(tssl.FILETYPE_PEM),
        "key": pki.server.privateKey.dump(tssl.FILETYPE_PEM),  # type: ignore[union-attr]
        "clientCert": pki.client.dump(tssl.FILETYPE_PEM),
        "clientKey": pki.client.privateKey.dump(tssl.FILETYPE_PEM),  # type: ignore[union-attr]
    }
    for name, pem in paths.items():
        (d / f"{name}.pem").write_bytes(pem)
    return {name: str(d / f"{name}.pem") for name in paths}


class OpenSSL:
    """An ``openssl`` child whose output the reactor reads as it comes."""

    def __init__(self, reactor: Any, *args: str) -> None:
        self.reactor = reactor
        self.proc = subprocess.Popen(
            [OPENSSL, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self.output = b""
        self._waiting: list[tuple[re.Pattern[bytes], Deferred[re.Match[bytes]]]] = []
        self.closed: Deferred[None] = Deferred()
        reactor.addReader(self)

    # The reactor's side: a reader on the stdout pipe.

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "openssl"

    def doRead(self) -> Any:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return None
        if not data:
            return error.ConnectionDone()
        self.output += data
        for item in list(self._waiting):
            match = item[0].search(self.output)
            if match:
                self._waiting.remove(item)
                item[1].callback(match)
        return None

    def connectionLost(self, reason: Failure) -> None:
        waiting, self._waiting = self._waiting, []
        for pattern, d in waiting:
            d.errback(AssertionError(f"openssl ended without {pattern.pattern!r}:\n{self.text}"))
        if not self.closed.called:
            self.closed.callback(None)

    # The test's side.

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def expect(self, pattern: bytes) -> Deferred[re.Match[bytes]]:
        """Fires with the first match of ``pattern`` in the output (so far or to come)."""
        d: Deferred[re.Match[bytes]] = Deferred()
        regex = re.compile(pattern)
        match = regex.search(self.output)
        if match:
            d.callback(match)
        elif self.closed.called:
            d.errback(AssertionError(f"openssl ended without {pattern!r}:\n{self.text}"))
        else:
            self._waiting.append((regex, d))
        return d

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def closeStdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def exited(self) -> int:
        await self.closed
        return self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        self.reactor.removeReader(self)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()


def withOpenSSL(reactor: Any, run: Any, args: list[str], test: Any, timeout: float = 15) -> None:
    """Start openssl with ``args``, run ``await test(openssl)``, and always clean up."""
    child = OpenSSL(reactor, *args)
    try:
        scenario(run, lambda: test(child), timeout)
    finally:
        child.cleanup()


async def serverPort(child: OpenSSL) -> int:
    match = await child.expect(rb"ACCEPT [^\n]*:(\d+)\s")
    return int(match.group(1))


def sServer(files: dict[str, str], *extra: str) -> list[str]:
    return [
        "s_server",
        "-accept",
        "127.0.0.1:0",
        "-cert",
        files["cert"],
        "-key",
        files["key"],
        "-rev",
        "-naccept",
        "1",
        *extra,
    ]


# ------------------------------------------------- torsion client, s_server


@pytest.mark.parametrize("version", ["TLS 1.3", "TLS 1.2"])
def test_client_against_s_server(
    reactor: Any, run: Any, pki: PKI, files: dict[str, str], version: str
) -> None:
    extra = ["-alpn", "h2,http/1.1"] + (["-tls1_2"] if version == "TLS 1.2" else [])

    async def go(child: OpenSSL) -> None:
        port = await serverPort(child)
        options = pki.clientOptions(acceptableProtocols=[b"http/1.1"])
        client = await ClientCreator(reactor, Peer).connectSSL("localhost", port, options)
        client.transport.write(b"hello openssl\n")
        await client.waitFor(b"lssnepo olleh\n")  # -rev
        assert client.transport.negotiatedProtocol == b"http/1.1"
        expected = "TLSv1.3" if version == "TLS 1.3" else "TLSv1.2"
        assert client.transport.getHandle().version() == expected
        assert client.transport.getPeerCertificate() == pki.server
        client.transport.loseConnection()
        await client.lost
        check(client.reason, error.ConnectionDone)
        await child.expect(b"CONNECTION CLOSED")  # s_server saw our close_notify
        assert await child.exited() == 0

    withOpenSSL(reactor, run, sServer(files, *extra), go)


def test_client_certificate_to_s_server(
    reactor: Any, run: Any, pki: PKI, files: dict[str, str]
) -> None:
    args = sServer(files, "-Verify", "1", "-CAfile", files["ca"], "-verify_return_error")

    async def go(child: OpenSSL) -> None:
        port = await serverPort(child)
        options = pki.clientOptions(clientCertificate=pki.client)
        client = await ClientCreator(reactor, Peer).connectSSL("127.0.0.1", port, options)
        client.transport.write(b"abc\n")
        await client.waitFor(b"cba\n")
        client.transport.loseConnection()
        await client.lost
        await child.expect(rb"CN\s*=\s*alice")  # s_server verified and shows who we are
        assert await child.exited() == 0

    withOpenSSL(reactor, run, args, go)


def test_client_refuses_an_untrusted_s_server(
    reactor: Any, run: Any, pki: PKI, files: dict[str, str]
) -> None:
    async def go(child: OpenSSL) -> None:
        port = await serverPort(child)
        stranger = tssl.Certificate.loadPEM(PKI().caPEM)  # not the CA that signed it
        options = tssl.optionsForClientTLS("localhost", trustRoot=stranger)
        client = await ClientCreator(reactor, Peer).connectSSL("127.0.0.1", port, options)
        client.transport.write(b"must not be sent\n")
        await client.lost
        check(client.reason, tssl.UntrustedCertificateError)
        await child.exited()
        assert b"tsen eb ton tsum" not in child.output and client.received == b""
        assert "alert" in child.text.lower()  # s_server got our alert

    withOpenSSL(reactor, run, sServer(files), go)


# ------------------------------------------------- s_client, torsion server


def sClient(files: dict[str, str], port: int, *extra: str) -> list[str]:
    return [
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        "localhost",
        "-verify_hostname",
        "localhost",
        "-verify_return_error",
        "-quiet",
        "-no_ign_eof",
        *extra,
    ]


def test_s_client_against_server(reactor: Any, run: Any, pki: PKI, files: dict[str, str]) -> None:
    servers = Servers(Echo)
    options = tssl.CertificateOptions(
        privateKey=pki.server.privateKey,
        certificate=pki.server,
        acceptableProtocols=[b"h2", b"http/1.1"],
    )
    port = reactor.listenSSL(0, servers, options, interface="127.0.0.1")
    args = sClient(files, port.getHost().port, "-CAfile", files["ca"], "-alpn", "http/1.1")

    async def go(child: OpenSSL) -> None:
        child.send(b"ping from s_client\n")
        await child.expect(b"ping from s_client\n")
        server = servers.built[0]
        assert server.transport.negotiatedProtocol == b"http/1.1"
        child.closeStdin()  # s_client sends close_notify and exits
        await server.lost
        check(server.reason, error.ConnectionDone)
        assert await child.exited() == 0
        await port.stopListening()

    withOpenSSL(reactor, run, args, go)


def test_s_client_with_client_certificate(
    reactor: Any, run: Any, pki: PKI, files: dict[str, str]
) -> None:
    servers = Servers(Echo)
    port = reactor.listenSSL(0, servers, pki.server.options(pki.caCert), interface="127.0.0.1")
    args = sClient(
        files,
        port.getHost().port,
        "-CAfile",
        files["ca"],
        "-cert",
        files["clientCert"],
        "-key",
        files["clientKey"],
    )

    async def go(child: OpenSSL) -> None:
        child.send(b"who am I\n")
        await child.expect(b"who am I\n")
        server = servers.built[0]
        assert server.transport.getPeerCertificate().getSubject().commonName == b"alice"
        child.closeStdin()
        await server.lost
        assert await child.exited() == 0
        await port.stopListening()

    withOpenSSL(reactor, run, args, go)


def test_s_client_refuses_an_untrusted_server(
    reactor: Any, run: Any, pki: PKI, files: dict[str, str], tmp_path: Path
) -> None:
    servers = Servers(Peer)
    port = reactor.listenSSL(0, servers, pki.server.options(), interface="127.0.0.1")
    strangerCA = tmp_path / "stranger.pem"
    strangerCA.write_bytes(PKI().caPEM)
    args = sClient(files, port.getHost().port, "-CAfile", str(strangerCA))

    async def go(child: OpenSSL) -> None:
        child.send(b"never delivered\n")
        server = await servers.first
        await bothLost(server)
        err = check(server.reason, tssl.TLSError)
        assert "alert" in str(err)
        assert server.received == b""
        assert await child.exited() != 0
        assert "verify" in child.text.lower()
        await port.stopListening()

    withOpenSSL(reactor, run, args, go)


# ------------------------------------------- Twisted's STARTTLS how-to, as written


@pytest.fixture(scope="module")
def selfSigned(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A self-signed certificate for example.com and its key, made by openssl."""
    d = tmp_path_factory.mktemp("selfsigned")
    subprocess.run(
        [
            *(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "2", "-subj", "/CN=example.com"),
            *("-addext", "subjectAltName=DNS:example.com"),
            *("-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")),
        ],
        check=True,
        capture_output=True,
    )
    return (d / "cert.pem").read_bytes() + (d / "key.pem").read_bytes()


def test_twisted_starttls_howto(reactor: Any, run: Any, selfSigned: bytes) -> None:
    """Twisted's STARTTLS example: the server's own (self-signed) PrivateCertificate
    is the client's trust root, and the client closes right after starting TLS."""
    from torsion.protocols.basic import LineReceiver

    received: list[bytes] = []
    done: Deferred[None] = Deferred()

    class TLSServer(LineReceiver):
        def lineReceived(self, line: bytes) -> None:
            received.append(line)
            if line == b"STARTTLS":
                self.sendLine(b"READY")
                self.transport.startTLS(self.factory.options)

        def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
            done.callback(None)

    class StartTLSClient(LineReceiver):
        def connectionMade(self) -> None:
            self.sendLine(b"plain text")
            self.sendLine(b"STARTTLS")

        def lineReceived(self, line: bytes) -> None:
            if line == b"READY":
                self.transport.startTLS(self.factory.options)
                self.sendLine(b"secure text")
                self.transport.loseConnection()

    cert = tssl.PrivateCertificate.loadPEM(selfSigned)
    serverFactory = Factory.forProtocol(TLSServer)
    serverFactory.options = cert.options()
    port = reactor.listenTCP(0, serverFactory, interface="127.0.0.1")
    clientFactory = ClientFactory.forProtocol(StartTLSClient)
    clientFactory.options = tssl.optionsForClientTLS("example.com", cert)

    async def go() -> None:
        reactor.connectTCP("127.0.0.1", port.getHost().port, clientFactory)
        await done
        assert received == [b"plain text", b"STARTTLS", b"secure text"]
        await port.stopListening()

    scenario(run, go)
