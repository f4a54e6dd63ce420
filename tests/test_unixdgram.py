"""UNIX datagram sockets: listenUNIXDatagram and connectUNIXDatagram, on every backend."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest

from torsion import defer, error, interfaces
from torsion.address import UNIXAddress
from torsion.protocol import ConnectedDatagramProtocol, DatagramProtocol


class Server(DatagramProtocol):
    """Replies ``re:<data>`` to senders that have an address; records everything."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, Any]] = []
        self.events: list[str] = []
        self.arrived: defer.Deferred[None] = defer.Deferred()

    def startProtocol(self) -> None:
        self.events.append("start")

    def stopProtocol(self) -> None:
        self.events.append("stop")

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.received.append((data, addr))
        if addr is not None:
            self.transport.write(b"re:" + data, addr)
        if not self.arrived.called:
            self.arrived.callback(None)


class Client(ConnectedDatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[Any, ...]] = []
        self.failures: list[Any] = []
        self.refused = 0
        self.reply: defer.Deferred[None] = defer.Deferred()
        self.refusal: defer.Deferred[None] = defer.Deferred()

    def datagramReceived(self, *args: Any) -> None:  # (data,) on a connected port
        self.received.append(args)
        if not self.reply.called:
            self.reply.callback(None)

    def connectionFailed(self, failure: Any) -> None:
        self.failures.append(failure)

    def connectionRefused(self) -> None:
        self.refused += 1
        if not self.refusal.called:
            self.refusal.callback(None)


def test_the_reactor_provides_ireactorunixdatagram(reactor: Any) -> None:
    assert isinstance(reactor, interfaces.IReactorUNIXDatagram)


def test_listen_connect_and_reply(reactor: Any, run: Any, tmp_path: Any) -> None:
    serverPath = str(tmp_path / "server.sock")
    clientPath = str(tmp_path / "client.sock")
    server = Server()
    port = reactor.listenUNIXDatagram(serverPath, server, mode=0o600)
    assert stat.S_IMODE(os.stat(serverPath).st_mode) == 0o600
    assert port.getHost() == UNIXAddress(serverPath.encode())
    client = Client()
    connected = reactor.connectUNIXDatagram(serverPath, client, bindAddress=clientPath)
    assert connected.getHost() == UNIXAddress(clientPath.encode())
    assert connected.getPeer() == UNIXAddress(serverPath.encode())
    anonymous = reactor.connectUNIXDatagram(serverPath, Client())
    assert anonymous.getHost() == UNIXAddress(None)

    async def scenario() -> None:
        connected.write(b"hello")
        await client.reply
        assert client.received == [(b"re:hello",)]  # no address on a connected port
        anonymous.write(b"anon")
        while len(server.received) < 2:
            server.arrived = defer.Deferred()
            await server.arrived
        assert server.received == [(b"hello", clientPath), (b"anon", None)]
        for p in (connected, anonymous, port):
            await p.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert server.events == ["start", "stop"]
    assert os.listdir(tmp_path) == []  # each port removed the file it bound


def test_write_to_a_path(reactor: Any, run: Any, tmp_path: Any) -> None:
    a, b = Server(), Server()
    pa = reactor.listenUNIXDatagram(str(tmp_path / "a"), a)
    pb = reactor.listenUNIXDatagram(str(tmp_path / "b"), b)
    pa.write(b"to b", str(tmp_path / "b"))
    pa.write(b"as address", UNIXAddress(str(tmp_path / "b").encode()))

    async def scenario() -> None:
        await a.arrived  # b's reply
        assert b.received[0] == (b"to b", str(tmp_path / "a"))
        assert a.received[0] == (b"re:to b", str(tmp_path / "b"))
        with pytest.raises(FileNotFoundError):
            pa.write(b"nobody", str(tmp_path / "nobody"))
        with pytest.raises(error.InvalidAddressError):
            pa.write(b"where?", None)
        with pytest.raises(error.InvalidAddressError):
            pa.connect("127.0.0.1", 80)
        with pytest.raises(error.MessageLengthError):
            pa.write(b"x" * 4_000_000, str(tmp_path / "b"))
        await pa.stopListening()
        await pb.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_connect_failure_goes_to_connection_failed(reactor: Any, tmp_path: Any) -> None:
    client = Client()
    port = reactor.connectUNIXDatagram(str(tmp_path / "missing"), client)
    assert len(client.failures) == 1 and client.failures[0].check(FileNotFoundError)
    assert not port.connected and reactor.getReaders() == []
    assert os.listdir(tmp_path) == []


def test_peer_going_away_is_a_refusal(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "server.sock")
    server = reactor.listenUNIXDatagram(path, Server())
    client = Client()
    connected = reactor.connectUNIXDatagram(path, client)

    async def scenario() -> None:
        await server.stopListening()
        connected.write(b"anyone?")
        await client.refusal
        assert connected.connected  # the port stays open, as for UDP
        await connected.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_path_reuse_and_abstract_names(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "again.sock")

    async def scenario() -> None:
        port = reactor.listenUNIXDatagram(path, Server())
        with pytest.raises(error.CannotListenError):
            reactor.listenUNIXDatagram(path, Server())
        await port.stopListening()
        port = reactor.listenUNIXDatagram(path, Server())  # the file was removed
        await port.stopListening()
        abstract = f"\0torsion-test-{os.getpid()}"
        server = Server()
        port = reactor.listenUNIXDatagram(abstract, server)
        assert port.getHost() == UNIXAddress(abstract.encode())
        client = Client()
        connected = reactor.connectUNIXDatagram(abstract, client, bindAddress=abstract + "-c")
        connected.write(b"abstract")
        await client.reply
        assert client.received == [(b"re:abstract",)]
        await connected.stopListening()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert os.listdir(tmp_path) == []


def test_bad_arguments(reactor: Any, tmp_path: Any) -> None:
    with pytest.raises(TypeError, match="ConnectedDatagramProtocol"):
        reactor.connectUNIXDatagram(str(tmp_path / "x"), DatagramProtocol())
    with pytest.raises(TypeError, match="mode"):
        reactor.listenUNIXDatagram(str(tmp_path / "x"), Server(), mode="666")
    with pytest.raises(TypeError):
        reactor.listenUNIXDatagram(1234, Server())
