"""TLS: the sans-IO wrapper, listenSSL/connectSSL, STARTTLS, verification, ALPN,
client certificates, close_notify, handshake timeouts and producers, on every backend.

Certificates are made at test time with trustme.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl as stdlib_ssl
from typing import Any

import pytest
import trustme

from _peers import PKI, Echo, Peer, PeerLost, Servers, bothLost, check, scenario
from torsion import error
from torsion import ssl as tssl
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import ClientCreator, ClientFactory, Factory, Protocol
from torsion.testing import StringTransport

# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


def listen(reactor: Any, pki: PKI, protocol: type[Peer] = Peer, **options: Any) -> Any:
    factory = Servers(protocol)
    tls = tssl.CertificateOptions(
        privateKey=pki.server.privateKey, certificate=pki.server, **options
    )
    port = reactor.listenSSL(0, factory, tls, interface="127.0.0.1")
    return port, factory


# ------------------------------------------------------- sans-IO (no sockets)


def _pair(
    pki: PKI, clientOptions: Any, serverOptions: Any = None
) -> tuple[Any, Any, Peer, Peer, Any, Any]:
    client, server = Peer(), Peer()
    client.greeting = b"client secret"
    server.greeting = b"server secret"
    ct, st = StringTransport(), StringTransport()
    tls = tssl.TLSMemoryBIOProtocol
    c = tls(tssl.TLSMemoryBIOFactory(clientOptions, True, None), client)
    serverOptions = serverOptions or pki.server.options()
    s = tls(tssl.TLSMemoryBIOFactory(serverOptions, False, None), server)
    c.hostname = "localhost"
    c.makeConnection(ct)
    s.makeConnection(st)
    return c, s, client, server, ct, st


def _records(wire: bytes) -> list[int]:
    """The content types of the TLS records in ``wire``."""
    types = []
    while len(wire) >= 5:
        types.append(wire[0])
        wire = wire[5 + int.from_bytes(wire[3:5], "big") :]
    return types


def _pump(c: Any, s: Any, ct: StringTransport, st: StringTransport) -> None:
    for _ in range(10):
        a, b = ct.value(), st.value()
        ct.clear()
        st.clear()
        if a and not s.disconnected:
            s.dataReceived(a)
        if b and not c.disconnected:
            c.dataReceived(b)


def test_sans_io_no_application_data_before_the_handshake(pki: PKI) -> None:
    c, s, client, server, ct, st = _pair(pki, pki.clientOptions())
    # The greeting written in connectionMade is held back: only a ClientHello.
    assert _records(ct.value()) == [0x16]
    assert client.peerCertAtConnect is None
    _pump(c, s, ct, st)
    assert bytes(server.received) == b"client secret"
    assert bytes(client.received) == b"server secret"
    assert client.handshakes == server.handshakes == 1
    assert c.getPeerCertificate() == pki.server
    assert s.getPeerCertificate() is None


def test_sans_io_wrong_host_name_sends_no_application_data(pki: PKI) -> None:
    c, s, client, server, ct, st = _pair(pki, pki.clientOptions("wrong.example"))
    _pump(c, s, ct, st)
    assert ct.disconnecting  # the client closes the lower transport
    assert c._pending == [b"client secret"]  # never handed to the TLS engine
    c.connectionLost(Failure(error.ConnectionDone()))
    s.connectionLost(Failure(error.ConnectionDone()))
    err = check(client.reason, tssl.HostnameMismatchError)  # type: ignore[arg-type]
    assert "wrong.example" in str(err)
    assert isinstance(err, error.VerifyError) and isinstance(err, error.SSLError)
    assert server.received == b"" and client.received == b""


def test_sans_io_expired_certificate(pki: PKI) -> None:
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    leaf = pki.ca.issue_cert("localhost", not_before=past, not_after=past)
    expired = tssl.PrivateCertificate.loadPEM(
        leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()
    )
    c, s, client, server, ct, st = _pair(pki, pki.clientOptions(), expired.options())
    _pump(c, s, ct, st)
    c.connectionLost(Failure(error.ConnectionDone()))
    s.connectionLost(Failure(error.ConnectionDone()))
    err = check(client.reason, tssl.VerificationError)
    assert type(err) is tssl.VerificationError and "expired" in str(err)
    assert err.verifyCode == 10  # X509_V_ERR_CERT_HAS_EXPIRED
    assert server.received == b""


@pytest.mark.parametrize("tickets", [False, True])
def test_sans_io_the_server_answers_the_clients_finished_at_once(pki: PKI, tickets: bool) -> None:
    """Right after the client's Finished the server sends something (a TLS 1.3
    session ticket) even with session tickets off: that segment carries the ACK
    a client without TCP_NODELAY waits for before its first write leaves (else
    a delayed ACK, about 40 ms, stalls it)."""
    client, server = Peer(), Peer()
    ct, st = StringTransport(), StringTransport()
    c = tssl.TLSMemoryBIOProtocol(
        tssl.TLSMemoryBIOFactory(pki.clientOptions(), True, None), client
    )
    options = tssl.CertificateOptions(
        privateKey=pki.server.privateKey, certificate=pki.server, enableSessionTickets=tickets
    )
    s = tssl.TLSMemoryBIOProtocol(tssl.TLSMemoryBIOFactory(options, False, None), server)
    c.hostname = "localhost"
    c.makeConnection(ct)
    s.makeConnection(st)
    s.dataReceived(ct.value())  # ClientHello -> the server's flight
    ct.clear()
    c.dataReceived(st.value())  # -> the client's Finished
    st.clear()
    assert client.handshakes == 1 and server.handshakes == 0
    assert c.getHandle().version() == "TLSv1.3"
    s.dataReceived(ct.value())
    assert server.handshakes == 1
    answer = st.value()
    assert answer and set(_records(answer)) == {0x17}  # encrypted handshake: the ticket
    c.dataReceived(answer)  # taken in silently
    assert client.received == b"" and not client.lost.called


def test_the_server_speaks_after_the_handshake_to_a_client_without_nodelay(
    reactor: Any, run: Any, pki: PKI
) -> None:
    """Over real sockets: a TLS 1.3 client of the stdlib's, Nagle on, sees the
    server's ticket arrive after its Finished without writing anything."""
    port, servers = listen(reactor, pki)
    context = stdlib_ssl.create_default_context(cadata=pki.caPEM.decode())

    class RawClient(Protocol):
        def __init__(self) -> None:
            self.incoming, self.outgoing = stdlib_ssl.MemoryBIO(), stdlib_ssl.MemoryBIO()
            self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname="localhost")
            self.handshook = False
            self.afterHandshake: Deferred[bytes] = Deferred()
            self.lost: Deferred[None] = Deferred()

        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(False)
            self.step()

        def step(self) -> None:
            try:
                self.tls.do_handshake()
                self.handshook = True
            except stdlib_ssl.SSLWantReadError:
                pass
            data = self.outgoing.read()
            if data:
                self.transport.write(data)

        def dataReceived(self, data: bytes) -> None:
            if self.handshook:
                if not self.afterHandshake.called:
                    self.afterHandshake.callback(data)
                return
            self.incoming.write(data)
            self.step()

        def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
            self.lost.callback(None)

    async def go() -> None:
        client = await ClientCreator(reactor, RawClient).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        ticket = await client.afterHandshake
        assert set(_records(ticket)) == {0x17}
        assert client.tls.version() == "TLSv1.3"
        client.transport.abortConnection()
        await client.lost
        await servers.built[0].lost
        await port.stopListening()

    scenario(run, go, timeout=5)


def test_buffer_size_set_on_tls_reaches_the_lower_transport(
    reactor: Any, run: Any, pki: PKI
) -> None:
    port, servers = listen(reactor, pki)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        client.transport.bufferSize = 4096
        assert client.transport.bufferSize == 4096
        assert client.transport.transport.bufferSize == 4096  # the TCP transport's
        client.transport.loseConnection()
        await bothLost(client, servers.built[0])
        await port.stopListening()

    scenario(run, go)


# ----------------------------------------------------------------- echo


def test_tls_echo_through_client_creator(reactor: Any, run: Any, pki: PKI) -> None:
    port, servers = listen(reactor, pki, Echo)

    async def go() -> None:
        creator = ClientCreator(reactor, Peer)
        client = await creator.connectSSL("localhost", port.getHost().port, pki.clientOptions())
        assert client.peerCertAtConnect is None  # connectionMade runs before the handshake
        client.transport.write(b"hello ")
        client.transport.writeSequence([b"TLS ", b"world"])
        await client.waitFor(b"hello TLS world")
        cert = client.transport.getPeerCertificate()
        assert cert == pki.server and cert.getSubject().commonName == b"localhost"
        assert client.transport.getPeer().port == port.getHost().port
        assert client.transport.TLS
        assert client.transport.getHandle().version() in ("TLSv1.2", "TLSv1.3")
        client.transport.loseConnection()
        server = servers.built[0]
        reasons = await bothLost(client, server)
        for r in reasons:
            check(r, error.ConnectionDone)  # close_notify both ways: a clean close
        assert client.handshakes == server.handshakes == 1
        await port.stopListening()

    scenario(run, go)


# ------------------------------------------------------------ verification


@pytest.mark.parametrize("case", ["wrong host name", "untrusted CA"])
def test_verification_failure_refuses_the_connection_with_no_data(
    reactor: Any, run: Any, pki: PKI, case: str
) -> None:
    class Talker(Peer):
        greeting = b"secret from the server"

    port, servers = listen(reactor, pki, Talker)
    if case == "wrong host name":
        options = pki.clientOptions("wrong.example")
        expected: type[BaseException] = tssl.HostnameMismatchError
    else:
        options = tssl.optionsForClientTLS(
            "localhost", trustRoot=tssl.Certificate.loadPEM(trustme.CA().cert_pem.bytes())
        )
        expected = tssl.UntrustedCertificateError

    class Client(Peer):
        greeting = b"secret from the client"

    async def go() -> None:
        client = await ClientCreator(reactor, Client).connectSSL(
            "127.0.0.1", port.getHost().port, options
        )
        server = await servers.first
        clientReason, serverReason = await bothLost(client, server)
        err = check(clientReason, expected)
        assert isinstance(err, tssl.VerificationError) and err.verifyMessage in str(err)
        if case == "wrong host name":
            assert "wrong.example" in str(err)
        else:
            assert "not signed by a trusted authority" in str(err)
        serverErr = check(serverReason, tssl.TLSError)
        assert "alert" in str(serverErr)
        assert server.received == b"" and client.received == b""
        assert client.handshakes == server.handshakes == 0
        await port.stopListening()

    scenario(run, go)


def test_client_certificate_options_verify_by_default(reactor: Any, run: Any, pki: PKI) -> None:
    """A bare CertificateOptions() client checks the system store and the connect host."""
    port, servers = listen(reactor, pki, Echo)

    async def attempt(host: str, options: Any) -> Failure | bytes:
        client = await ClientCreator(reactor, Peer).connectSSL(host, port.getHost().port, options)
        client.transport.write(b"ping")
        try:
            await client.waitFor(b"ping")
        except PeerLost:
            return client.reason  # type: ignore[return-value]
        got = bytes(client.received)
        client.transport.loseConnection()
        await client.lost
        return got

    async def go() -> None:
        untrusted = await attempt("127.0.0.1", tssl.CertificateOptions())
        check(untrusted, tssl.UntrustedCertificateError)  # type: ignore[arg-type]
        trusted = await attempt("127.0.0.1", tssl.CertificateOptions(trustRoot=pki.caCert))
        assert trusted == b"ping"  # the certificate names 127.0.0.1 too
        insecure = await attempt("127.0.0.1", tssl.CertificateOptions(verify=False))
        assert insecure == b"ping"
        for server in servers.built:
            await server.lost
        await port.stopListening()

    scenario(run, go)


def test_host_name_is_checked_against_the_connect_host(reactor: Any, run: Any, pki: PKI) -> None:
    leaf = pki.ca.issue_cert("other.example")
    other = tssl.PrivateCertificate.loadPEM(
        leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()
    )
    factory = Servers(Peer)
    port = reactor.listenSSL(0, factory, other.options(), interface="127.0.0.1")

    async def go() -> None:
        options = tssl.CertificateOptions(trustRoot=pki.caCert)
        creator = ClientCreator(reactor, Peer)
        client = await creator.connectSSL("127.0.0.1", port.getHost().port, options)
        reason, _ = await bothLost(client, await factory.first)
        err = check(reason, tssl.HostnameMismatchError)
        assert "127.0.0.1" in str(err)
        await port.stopListening()

    scenario(run, go)


# -------------------------------------------------------------- STARTTLS


class StartTLSServer(Protocol):
    options: Any = None

    def __init__(self) -> None:
        self.buffer = b""
        self.tls = False
        self.received = b""
        self.lost: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        if self.tls:
            self.received += data
            self.transport.write(data.upper())
            return
        self.buffer += data
        if self.buffer == b"STARTTLS\r\n":
            self.transport.write(b"GO AHEAD\r\n")  # sent in the clear, before the handshake
            self.transport.startTLS(self.options)
            self.tls = True

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.reason = reason
        self.lost.callback(None)


class StartTLSClient(Protocol):
    options: Any = None

    def __init__(self) -> None:
        self.buffer = b""
        self.done: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()
        self.tlsData = b""

    def connectionMade(self) -> None:
        self.transport.write(b"STARTTLS\r\n")

    def dataReceived(self, data: bytes) -> None:
        if self.buffer != b"GO AHEAD\r\n":
            self.buffer += data
            if self.buffer == b"GO AHEAD\r\n":
                self.transport.startTLS(self.options)
                self.transport.write(b"now private")
            return
        self.tlsData += data
        if self.tlsData == b"NOW PRIVATE":
            self.done.callback(self.tlsData)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.reason = reason
        self.lost.callback(None)


@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_starttls_upgrades_a_live_connection(
    reactor: Any, run: Any, pki: PKI, family: str, tmp_path: Any
) -> None:
    StartTLSServer.options = pki.server.options()
    servers: list[StartTLSServer] = []

    class F(Factory):
        def buildProtocol(self, addr: Any) -> StartTLSServer:
            p = StartTLSServer()
            servers.append(p)
            return p

    creator = ClientCreator(reactor, StartTLSClient)
    if family == "tcp":
        port = reactor.listenTCP(0, F(), interface="127.0.0.1")
        StartTLSClient.options = pki.clientOptions("localhost")
        connecting = creator.connectTCP("localhost", port.getHost().port)
    else:
        path = str(tmp_path / "starttls.sock")
        port = reactor.listenUNIX(path, F())
        StartTLSClient.options = pki.clientOptions("localhost")
        connecting = creator.connectUNIX(path)

    async def go() -> None:
        client = await connecting
        assert await client.done == b"NOW PRIVATE"
        server = servers[0]
        assert server.received == b"now private"
        assert isinstance(client.transport, tssl.TLSMemoryBIOProtocol)
        assert client.transport.getPeerCertificate() == pki.server
        with pytest.raises(RuntimeError, match="already started"):
            server.transport.transport.startTLS(StartTLSServer.options)
        client.transport.loseConnection()
        for reason in await bothLost(client, server):
            check(reason, error.ConnectionDone)
        await port.stopListening()

    scenario(run, go)


# ------------------------------------------------------------------ ALPN


@pytest.mark.parametrize(
    ("offered", "expected"),
    [([b"http/1.1", b"h2"], b"h2"), ([b"http/1.1"], b"http/1.1"), ([b"spdy/1"], None)],
)
def test_alpn(
    reactor: Any, run: Any, pki: PKI, offered: list[bytes], expected: bytes | None
) -> None:
    port, servers = listen(reactor, pki, Peer, acceptableProtocols=[b"h2", b"http/1.1"])

    async def go() -> None:
        options = pki.clientOptions(acceptableProtocols=offered)
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, options
        )
        assert client.transport.negotiatedProtocol is None  # not yet
        await client.handshook
        assert client.transport.negotiatedProtocol == expected
        server = await servers.first
        await server.handshook
        assert server.transport.negotiatedProtocol == expected
        client.transport.loseConnection()
        await bothLost(client, server)
        await port.stopListening()

    scenario(run, go)


# ---------------------------------------------------------- client certificates


def test_client_certificates(reactor: Any, run: Any, pki: PKI) -> None:
    factory = Servers(Echo)
    port = reactor.listenSSL(0, factory, pki.server.options(pki.caCert), interface="127.0.0.1")

    async def go() -> None:
        # With a certificate: the server sees who the client is.
        options = pki.clientOptions(clientCertificate=pki.client)
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, options
        )
        client.transport.write(b"hi")
        await client.waitFor(b"hi")
        server = factory.built[0]
        cert = server.transport.getPeerCertificate()
        assert cert == pki.client and cert.getSubject().CN == b"alice"
        assert tssl.Certificate.peerFromTransport(server.transport) == pki.client
        client.transport.loseConnection()
        await bothLost(client, server)

        # Without one: refused, and the server's application hears nothing.
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        client.transport.write(b"let me in")
        server = factory.built[1]
        clientReason, serverReason = await bothLost(client, server)
        check(clientReason, tssl.TLSError)
        assert "alert" in str(clientReason.value)
        check(serverReason, tssl.TLSError)
        assert server.received == b""
        await port.stopListening()

    scenario(run, go)


# ----------------------------------------------------------------- closing


def test_close_notify_versus_truncation(reactor: Any, run: Any, pki: PKI) -> None:
    port, servers = listen(reactor, pki, Echo)

    async def connect() -> tuple[Peer, Peer]:
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        client.transport.write(b"x")
        await client.waitFor(b"x")
        return client, servers.built[-1]

    async def go() -> None:
        # loseConnection sends close_notify: the server sees a clean close.
        client, server = await connect()
        client.transport.loseConnection()
        client.transport.write(b"dropped: written after loseConnection")
        reasons = await bothLost(client, server)
        check(reasons[0], error.ConnectionDone)
        check(reasons[1], error.ConnectionDone)
        assert server.received == b"x"

        # Closing the TCP connection under TLS is a truncation: ConnectionLost.
        client, server = await connect()
        client.transport.transport.loseConnection()
        reasons = await bothLost(client, server)
        err = check(reasons[1], error.ConnectionLost)
        assert "close_notify" in str(err)

        # abortConnection: ConnectionAborted here, a lost connection there.
        client, server = await connect()
        client.transport.abortConnection()
        reasons = await bothLost(client, server)
        check(reasons[0], error.ConnectionAborted)
        check(reasons[1], error.ConnectionLost)
        await port.stopListening()

    scenario(run, go)


def test_write_then_lose_connection_before_the_handshake(reactor: Any, run: Any, pki: PKI) -> None:
    """A server that greets and hangs up in connectionMade: the greeting arrives."""

    class Greeter(Peer):
        def connectionMade(self) -> None:
            self.transport.write(b"welcome, ")
            self.transport.writeSequence([b"and ", b"goodbye"])
            self.transport.loseConnection()
            self.transport.write(b" (dropped)")
            super().connectionMade()

    port, servers = listen(reactor, pki, Greeter)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        reasons = await bothLost(client, await servers.first)
        assert bytes(client.received) == b"welcome, and goodbye"
        check(reasons[0], error.ConnectionDone)
        check(reasons[1], error.ConnectionDone)
        await port.stopListening()

    scenario(run, go)


def test_abort_in_connection_made_and_errors_in_data_received(
    reactor: Any, run: Any, pki: PKI
) -> None:
    class Fragile(Peer):
        def dataReceived(self, data: bytes) -> None:
            super().dataReceived(data)
            raise ZeroDivisionError("application bug")

    port, servers = listen(reactor, pki, Fragile)

    class Impatient(Peer):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.transport.abortConnection()

    async def go() -> None:
        # Aborted before the handshake starts: nothing is sent at all.
        client = await ClientCreator(reactor, Impatient).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        await client.lost
        check(client.reason, error.ConnectionAborted)
        await (await servers.first).lost
        # An exception in dataReceived drops that connection, with that reason.
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        client.transport.write(b"boom")
        server = servers.built[1]
        reasons = await bothLost(server, client)
        check(reasons[0], ZeroDivisionError)
        assert server.received == b"boom"
        await port.stopListening()

    scenario(run, go)


def test_lose_connection_after_a_half_close(reactor: Any, run: Any, pki: PKI) -> None:
    class Quiet(Peer):
        def readConnectionLost(self) -> None:
            self.readClosed.callback(None)  # and keeps its side open

    port, servers = listen(reactor, pki, Quiet)

    async def go() -> None:
        client = await ClientCreator(reactor, Peer).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        server = await servers.first
        server.readClosed = Deferred()
        client.transport.loseWriteConnection()
        await server.readClosed
        client.transport.loseConnection()  # closes the read side too
        await client.lost
        check(client.reason, error.ConnectionDone)
        server.transport.loseConnection()
        await server.lost
        await port.stopListening()

    scenario(run, go)


def test_handshake_timeout_client_side(reactor: Any, run: Any, pki: PKI) -> None:
    silent = Servers(Peer)
    port = reactor.listenTCP(0, silent, interface="127.0.0.1")  # never answers a ClientHello

    async def go() -> None:
        options = pki.clientOptions(extraCertificateOptions={"handshakeTimeout": 0.2})
        client = await ClientCreator(reactor, Peer).connectSSL(
            "127.0.0.1", port.getHost().port, options
        )
        started = reactor.seconds()
        reason, _ = await bothLost(client, await silent.first)
        err = check(reason, tssl.HandshakeTimeoutError)
        assert isinstance(err, error.TimeoutError) and "0.2s" in str(err)
        assert 0.15 < reactor.seconds() - started < 5
        await port.stopListening()

    scenario(run, go)


def test_handshake_timeout_server_side(reactor: Any, run: Any, pki: PKI) -> None:
    factory = Servers(Peer)
    options = tssl.CertificateOptions(
        privateKey=pki.server.privateKey, certificate=pki.server, handshakeTimeout=0.2
    )
    port = reactor.listenSSL(0, factory, options, interface="127.0.0.1")

    async def go() -> None:
        plain = await ClientCreator(reactor, Peer).connectTCP("127.0.0.1", port.getHost().port)
        server = await factory.first
        serverReason, plainReason = await bothLost(server, plain)
        check(serverReason, tssl.HandshakeTimeoutError)
        check(plainReason, error.ConnectionLost)
        await port.stopListening()

    scenario(run, go)


# --------------------------------------------------------------- producers


class CountingSink(Peer):
    """Counts bytes; pauses reading now and then so the sender's buffers fill."""

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if len(self.received) % 7 == 0:
            self.transport.pauseProducing()
            self.transport.reactor.callLater(0.01, self.transport.resumeProducing)


def test_streaming_producer_through_tls(reactor: Any, run: Any, pki: PKI) -> None:
    total = 3 * 1024 * 1024
    chunk = b"p" * 65536
    port, servers = listen(reactor, pki, Peer)

    class PushClient(Peer):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.sent = 0
            self.pauses = 0
            self.paused = False
            self.finished: Deferred[None] = Deferred()
            self.backpressure: Deferred[None] = Deferred()
            # Small fixed buffers, so that the transport's own queue fills.
            self.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
            self.transport.registerProducer(self, True)  # before the handshake
            reactor.callLater(0, self.produce)

        def produce(self) -> None:
            while not self.paused and self.sent < total:
                self.transport.write(chunk)
                self.sent += len(chunk)
            if self.sent >= total:
                self.transport.unregisterProducer()
                self.transport.loseConnection()
                self.finished.callback(None)

        def pauseProducing(self) -> None:
            self.paused = True
            self.pauses += 1
            if self.transport.handshakeDone and not self.backpressure.called:
                self.backpressure.callback(None)  # paused by the TCP transport's queue

        def resumeProducing(self) -> None:
            self.paused = False
            reactor.callLater(0, self.produce)

        def stopProducing(self) -> None:
            self.paused = True

    async def go() -> None:
        client = await ClientCreator(reactor, PushClient).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        server = await servers.first
        server.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        await server.handshook
        server.transport.pauseProducing()  # stop reading: the client's buffers fill
        await client.backpressure
        server.transport.resumeProducing()
        await client.finished
        reasons = await bothLost(client, server)
        check(reasons[1], error.ConnectionDone)
        assert len(server.received) == total
        assert client.pauses >= 1
        await port.stopListening()

    scenario(run, go, timeout=30)


def test_pull_producer_through_tls(reactor: Any, run: Any, pki: PKI) -> None:
    chunks = [os.urandom(50_000) for _ in range(40)]
    port, servers = listen(reactor, pki, CountingSink)

    class PullClient(Peer):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.pending = list(chunks)
            self.calls = 0
            self.transport.registerProducer(self, False)

        def resumeProducing(self) -> None:
            self.calls += 1
            if self.pending:
                self.transport.write(self.pending.pop(0))
            else:
                self.transport.unregisterProducer()
                self.transport.loseConnection()

        def stopProducing(self) -> None:
            pass

    async def go() -> None:
        client = await ClientCreator(reactor, PullClient).connectSSL(
            "localhost", port.getHost().port, pki.clientOptions()
        )
        reasons = await bothLost(client, await servers.first)
        check(reasons[1], error.ConnectionDone)
        assert bytes(servers.built[0].received) == b"".join(chunks)
        assert client.calls == len(chunks) + 1
        await port.stopListening()

    scenario(run, go, timeout=30)


# ------------------------------------------------------- other context factories


def test_stdlib_context_and_wrapping_factories(reactor: Any, run: Any, pki: PKI) -> None:
    """An ssl.SSLContext works as a context factory; TLSMemoryBIOFactory wraps any factory."""
    serverContext = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    pki.ca.issue_cert("localhost").configure_cert(serverContext)
    inner = Servers(Echo)
    port = reactor.listenTCP(
        0, tssl.TLSMemoryBIOFactory(serverContext, False, inner), interface="127.0.0.1"
    )
    clientContext = stdlib_ssl.create_default_context(cadata=pki.ca.cert_pem.bytes().decode())

    class Client(ClientFactory):
        protocol = Peer

        def __init__(self) -> None:
            self.built: Deferred[Peer] = Deferred()

        def buildProtocol(self, addr: Any) -> Peer:
            p = Peer()
            self.built.callback(p)
            return p

    async def go() -> None:
        client = Client()
        reactor.connectTCP(
            "localhost", port.getHost().port, tssl.TLSMemoryBIOFactory(clientContext, True, client)
        )
        peer = await client.built
        await peer.made
        peer.transport.write(b"over plain TCP")
        await peer.waitFor(b"over plain TCP")
        assert peer.transport.getPeerCertificate() is not None
        peer.transport.loseConnection()
        await bothLost(peer, inner.built[0])
        await port.stopListening()

    scenario(run, go)


def test_connect_ssl_refused_fails_the_deferred(reactor: Any, run: Any, pki: PKI) -> None:
    port = reactor.listenTCP(0, Factory.forProtocol(Peer), interface="127.0.0.1")
    number = port.getHost().port

    async def go() -> None:
        await port.stopListening()
        with pytest.raises(error.ConnectionRefusedError):
            await ClientCreator(reactor, Peer).connectSSL("127.0.0.1", number, pki.clientOptions())

    scenario(run, go)


# ------------------------------------------------- certificates and options


def test_certificate_objects(pki: PKI) -> None:
    cert = tssl.Certificate.loadPEM(pki.serverPEM)
    assert cert == pki.server and hash(cert) == hash(tssl.Certificate(pki.server.dump()))
    assert tssl.Certificate.load(cert.dump()) == cert
    assert tssl.Certificate.load(cert.dumpPEM(), tssl.FILETYPE_PEM) == cert
    assert cert.getSubject().commonName == b"localhost"
    assert cert.getIssuer().organizationName == pki.caCert.getSubject().O
    assert cert.serialNumber() > 0
    assert len(cert.digest("sha256").split(b":")) == 32
    assert "localhost" in cert.inspect() and "CN=localhost" in repr(cert)
    assert pki.server.dumpPEM().count(b"-----BEGIN") == 2
    again = tssl.PrivateCertificate.loadPEM(pki.server.dumpPEM())
    assert again == pki.server and again.privateKey == pki.server.privateKey
    key = pki.server.privateKey
    assert key is not None
    assert tssl.KeyPair.load(key.dump()) == key  # DER round trip
    assert tssl.KeyPair.load(key.dump(tssl.FILETYPE_PEM), tssl.FILETYPE_PEM) == key
    made = tssl.PrivateCertificate.fromCertificateAndKeyPair(cert, key)
    assert made.privateKey == key
    dn = tssl.DistinguishedName(commonName="x", O="org")
    assert dn.CN == b"x" and dn.organizationName == b"org" and dn.OU is None


def test_certificate_errors(pki: PKI) -> None:
    with pytest.raises(error.CertificateError, match="no PEM certificate"):
        tssl.Certificate.loadPEM(b"not a certificate")
    with pytest.raises(error.CertificateError, match=r"not a DER X\.509"):
        tssl.Certificate(b"\x30\x03\x02\x01\x00")
    with pytest.raises(error.CertificateError, match="no PEM private key"):
        tssl.PrivateCertificate.loadPEM(pki.caCert.dumpPEM())
    with pytest.raises(error.VerifyError, match="do not match"):
        tssl.PrivateCertificate.fromCertificateAndKeyPair(pki.caCert, pki.server.privateKey)  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="cannot generate keys"):
        tssl.KeyPair.generate()


def test_options_validation(reactor: Any, pki: PKI, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="neither or both"):
        tssl.CertificateOptions(privateKey=pki.server.privateKey)
    with pytest.raises(TypeError, match="trustRoot replaces"):
        tssl.CertificateOptions(trustRoot=pki.caCert, verify=True)
    with pytest.raises(ValueError, match="needs caCerts"):
        tssl.CertificateOptions(verify=True)
    with pytest.raises(TypeError, match="ALPN"):
        tssl.CertificateOptions(acceptableProtocols=["h2"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not bytes"):
        tssl.optionsForClientTLS(b"localhost")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="trustRoot must be"):
        tssl.CertificateOptions(trustRoot=42)
    with pytest.raises(ValueError, match="needs a certificate"):
        reactor.listenSSL(0, Factory.forProtocol(Peer), tssl.CertificateOptions())
    with pytest.raises(TypeError, match="for clients"):
        reactor.listenSSL(0, Factory.forProtocol(Peer), pki.clientOptions())
    with pytest.raises(TypeError, match="a TLS client needs"):
        reactor.connectSSL("localhost", 443, ClientFactory(), object())
    # Paths and PEM text work where objects do; contexts are built once.
    keyFile, certFile = tmp_path / "key.pem", tmp_path / "cert.pem"
    keyFile.write_bytes(pki.server.privateKey.dump(tssl.FILETYPE_PEM))  # type: ignore[union-attr]
    certFile.write_bytes(pki.server.dumpPEM())
    fromPaths = tssl.DefaultOpenSSLContextFactory(str(keyFile), str(certFile))
    assert fromPaths.getContext() is fromPaths.getContext()
    assert fromPaths.getContext().minimum_version == stdlib_ssl.TLSVersion.TLSv1_2
    caFile = tmp_path / "ca.pem"
    caFile.write_bytes(pki.caCert.dumpPEM())
    client = tssl.CertificateOptions(trustRoot=str(caFile), raiseMinimumTo=tssl.TLSVersion.TLSv1_3)
    assert client.getContext().minimum_version == stdlib_ssl.TLSVersion.TLSv1_3
    assert client.getContext().verify_mode == stdlib_ssl.CERT_REQUIRED
    assert client.getContext().check_hostname
    assert tssl.platformTrust() is not None and tssl.trustRootFromCertificates([pki.caCert])
    with pytest.raises(TypeError, match="Certificate objects"):
        tssl.trustRootFromCertificates([b"pem"])  # type: ignore[list-item]


def test_wrapper_write_type_errors(pki: PKI) -> None:
    c, _, _, _, ct, _ = _pair(pki, pki.clientOptions())
    with pytest.raises(TypeError, match="must be bytes"):
        c.write("text")
    with pytest.raises(TypeError, match=r"^Data must be bytes$"):  # Twisted's text
        c.writeSequence([b"ok", "text"])
    assert c.getPeer() == ct.getPeer() and c.getHost() == ct.getHost()
    assert c.getTcpNoDelay() == ct.getTcpNoDelay()  # forwarded to the lower transport
    assert not hasattr(c, "sendFileDescriptor")  # but descriptors cannot pass through TLS
    assert "TLS" in repr(c) and c.logPrefix() == "Peer (TLS)"


def test_tls_is_supported() -> None:
    # Twisted's ssl.supported (false there without pyOpenSSL): torsion's TLS is
    # the standard library's, always present.
    assert tssl.supported is True
