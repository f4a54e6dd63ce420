"""``listenTCP(..., reusePort=True)``: several sockets listening on one port (every backend)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import trustme

from torsion import error, ssl
from torsion.defer import Deferred
from torsion.endpoints import (
    SSL4ServerEndpoint,
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    serverFromString,
)
from torsion.protocol import Factory
from torsion.testing import MemoryReactor

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT"), reason="the platform has no SO_REUSEPORT"
)


class Refusing(Factory):
    """Counts the connections its port accepts in ``seen``, and closes each at once.

    ``all`` fires once every name in ``wanted`` has accepted one.
    """

    def __init__(self, name: str, seen: dict[str, int], wanted: set[str], all: Deferred[None]):
        self.name = name
        self.seen = seen
        self.wanted = wanted
        self.all = all

    def buildProtocol(self, addr: Any) -> None:
        self.seen[self.name] = self.seen.get(self.name, 0) + 1
        if self.wanted <= set(self.seen) and not self.all.called:
            self.all.callback(None)
        return None


def test_two_ports_share_one_address(reactor: Any, run: Any) -> None:
    seen: dict[str, int] = {}
    both: Deferred[None] = Deferred()
    wanted = {"first", "second"}
    first = reactor.listenTCP(
        0, Refusing("first", seen, wanted, both), interface="127.0.0.1", reusePort=True
    )
    number = first.getHost().port
    second = reactor.listenTCP(
        number, Refusing("second", seen, wanted, both), interface="127.0.0.1", reusePort=True
    )
    assert second.getHost().port == number
    assert first.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    clients = []
    try:
        # The kernel spreads connections by a hash of their addresses: among
        # 64 connections (from 64 source ports) each socket gets some.
        for _ in range(64):
            clients.append(socket.create_connection(("127.0.0.1", number), timeout=5))
        run(both)
        assert seen["first"] + seen["second"] <= 64
    finally:
        for client in clients:
            client.close()
        first.stopListening()
        second.stopListening()


def test_without_reuse_port_the_second_bind_fails(reactor: Any) -> None:
    first = reactor.listenTCP(0, Factory(), interface="127.0.0.1", reusePort=True)
    try:
        with pytest.raises(error.CannotListenError):
            reactor.listenTCP(first.getHost().port, Factory(), interface="127.0.0.1")
    finally:
        first.stopListening()


def test_the_default_does_not_set_the_option(reactor: Any) -> None:
    port = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
    try:
        assert not port.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    finally:
        port.stopListening()


def test_a_platform_without_the_option_says_so(
    reactor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torsion._net import tcp

    monkeypatch.setattr(tcp, "HAVE_REUSEPORT", False)
    with pytest.raises(error.CannotListenError, match="SO_REUSEPORT is not available"):
        reactor.listenTCP(0, Factory(), interface="127.0.0.1", reusePort=True)


def test_ssl_ports_share_one_address(reactor: Any) -> None:
    pem = trustme.CA().issue_cert("localhost").private_key_and_cert_chain_pem.bytes()
    certificate = ssl.PrivateCertificate.loadPEM(pem)
    options = ssl.CertificateOptions(privateKey=certificate.privateKey, certificate=certificate)
    first = reactor.listenSSL(0, Factory(), options, interface="127.0.0.1", reusePort=True)
    try:
        second = reactor.listenSSL(
            first.getHost().port, Factory(), options, interface="127.0.0.1", reusePort=True
        )
        second.stopListening()
    finally:
        first.stopListening()


def test_stop_reading_keeps_the_socket_listening(reactor: Any, run: Any) -> None:
    seen: dict[str, int] = {}
    one: Deferred[None] = Deferred()
    factory = Refusing("only", seen, {"only"}, one)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    port.stopReading()
    assert port not in reactor.getReaders()
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5)
    try:
        assert seen == {}  # queued by the kernel, not accepted
        port.startReading()
        run(one)
        assert seen["only"] == 1
    finally:
        client.close()
        port.stopListening()


# ------------------------------------------------------------------ endpoints


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("tcp:8080", False),
        ("tcp:8080:reusePort=true", True),
        ("tcp:8080:reusePort=1", True),
        ("tcp:8080:reusePort=no", False),
        ("tcp:port=8080:interface=127.0.0.1:reusePort=TRUE", True),
    ],
)
def test_the_description_option(description: str, expected: bool) -> None:
    reactor = MemoryReactor()
    endpoint = serverFromString(reactor, description)
    endpoint.listen(Factory())
    assert reactor.tcpServersReusePort == [expected]
    assert reactor.tcpServers[0][0] == 8080


def test_tcp6_and_ssl_descriptions_take_it(tmp_path: Any) -> None:
    reactor = MemoryReactor()
    serverFromString(reactor, "tcp6:8080:reusePort=true").listen(Factory())
    assert reactor.tcpServersReusePort == [True]
    pem = tmp_path / "server.pem"
    pem.write_bytes(trustme.CA().issue_cert("localhost").private_key_and_cert_chain_pem.bytes())
    serverFromString(reactor, f"ssl:8443:privateKey={pem}:reusePort=true").listen(Factory())
    assert reactor.sslServersReusePort == [True]


@pytest.mark.parametrize("value", ["maybe", ""])
def test_a_bad_value_is_named(value: str) -> None:
    with pytest.raises(ValueError, match="bad reusePort"):
        serverFromString(MemoryReactor(), f"tcp:8080:reusePort={value}")


def test_it_is_not_positional() -> None:
    with pytest.raises(ValueError, match="unexpected extra argument"):
        serverFromString(MemoryReactor(), "tcp:8080:127.0.0.1:50:true")


def test_endpoint_classes_take_the_keyword() -> None:
    reactor = MemoryReactor()
    TCP4ServerEndpoint(reactor, 1, reusePort=True).listen(Factory())
    TCP6ServerEndpoint(reactor, 2, reusePort=True).listen(Factory())
    TCP4ServerEndpoint(reactor, 3).listen(Factory())
    SSL4ServerEndpoint(reactor, 4, object(), reusePort=True).listen(Factory())
    assert reactor.tcpServersReusePort == [True, True, False]
    assert [entry[0] for entry in reactor.tcpServers] == [1, 2, 3]
    assert reactor.sslServersReusePort == [True]


def test_without_it_a_reactor_lacking_the_keyword_still_works() -> None:
    class Plain:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []

        def listenTCP(
            self, port: int, factory: Any, backlog: int = 50, interface: str = ""
        ) -> Any:
            self.calls.append((port, backlog, interface))
            return "port"

    plain = Plain()
    ports: list[Any] = []
    TCP4ServerEndpoint(plain, 80).listen(Factory()).addCallback(ports.append)
    assert ports == ["port"]
    assert plain.calls == [(80, 50, "")]
