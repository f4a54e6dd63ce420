"""IReactorSocket: adopting listening, connected and datagram sockets made elsewhere."""

from __future__ import annotations

import errno
import os
import socket
from typing import Any

import pytest

from torsion import defer, error, interfaces
from torsion.address import IPv4Address, IPv6Address, UNIXAddress
from torsion.protocol import ClientCreator, DatagramProtocol, Factory, Protocol


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    """Collects data; ``got(n)`` fires once ``n`` bytes have arrived."""

    def __init__(self) -> None:
        self.data = b""
        self._want: tuple[int, defer.Deferred[bytes]] | None = None

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        self._check()

    def got(self, n: int) -> defer.Deferred[bytes]:
        d: defer.Deferred[bytes] = defer.Deferred()
        self._want = (n, d)
        self._check()
        return d

    def _check(self) -> None:
        if self._want is not None and len(self.data) >= self._want[0]:
            d = self._want[1]
            self._want = None
            d.callback(self.data)


class Recording(Factory):
    protocol = Echo

    def __init__(self) -> None:
        self.addresses: list[Any] = []

    def buildProtocol(self, addr: Any) -> Any:
        self.addresses.append(addr)
        return super().buildProtocol(addr)


class Remember(Factory):
    """Builds a Client per connection and keeps ``(address, protocol)`` in ``built``."""

    def __init__(self) -> None:
        self.built: list[tuple[Any, Client]] = []

    def buildProtocol(self, addr: Any) -> Any:
        p = Client()
        self.built.append((addr, p))
        return p


def listening(family: int = socket.AF_INET, address: Any = ("127.0.0.1", 0)) -> socket.socket:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind(address)
    s.listen(5)
    s.setblocking(False)
    return s


def test_the_reactor_provides_ireactorsocket(reactor: Any) -> None:
    assert isinstance(reactor, interfaces.IReactorSocket)


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_adopt_stream_port(reactor: Any, run: Any, family: int) -> None:
    original = listening(family, ("::1", 0) if family == socket.AF_INET6 else ("127.0.0.1", 0))
    factory = Recording()
    port = reactor.adoptStreamPort(original.fileno(), family, factory)
    assert port.fileno() != original.fileno()  # a duplicate
    host = port.getHost()
    kind = IPv6Address if family == socket.AF_INET6 else IPv4Address
    assert isinstance(host, kind) and host.port == original.getsockname()[1]

    async def scenario() -> None:
        client = await ClientCreator(reactor, Client).connectTCP(host.host, host.port)
        client.transport.write(b"hello")
        assert await client.got(5) == b"hello"
        assert factory.addresses[0] == client.transport.getHost()
        client.transport.loseConnection()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    # Stopping closed the duplicate only, without shutdown: the original
    # still accepts (EAGAIN, where a shut-down socket gives EINVAL).
    with pytest.raises(BlockingIOError):
        original.accept()
    original.close()


def test_adopt_unix_stream_port_leaves_the_file(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "adopted.sock")
    original = listening(socket.AF_UNIX, path)
    port = reactor.adoptStreamPort(original.fileno(), socket.AF_UNIX, Factory.forProtocol(Echo))
    assert port.getHost() == UNIXAddress(path.encode())

    async def scenario() -> None:
        client = await ClientCreator(reactor, Client).connectUNIX(path)
        client.transport.write(b"unix")
        assert await client.got(4) == b"unix"
        client.transport.loseConnection()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert os.path.exists(path)  # it is the creator's file
    original.close()


def test_adopt_stream_port_refuses_bad_descriptors(reactor: Any) -> None:
    f = Factory.forProtocol(Echo)
    probe = socket.socket()
    closed = probe.fileno()
    probe.close()
    with pytest.raises(OSError) as info:
        reactor.adoptStreamPort(closed, socket.AF_INET, f)
    assert info.value.errno == errno.EBADF
    s = listening()
    with pytest.raises(error.UnsupportedAddressFamily):
        reactor.adoptStreamPort(s.fileno(), 2**16 + 7, f)
    with pytest.raises(ValueError, match="AF_INET SOCK_STREAM socket, not AF_INET6"):
        reactor.adoptStreamPort(s.fileno(), socket.AF_INET6, f)
    notListening = socket.socket()
    with pytest.raises(ValueError, match="not a listening socket"):
        reactor.adoptStreamPort(notListening.fileno(), socket.AF_INET, f)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with pytest.raises(ValueError, match="SOCK_DGRAM"):
        reactor.adoptStreamPort(udp.fileno(), socket.AF_INET, f)
    with open(os.devnull) as devnull:
        with pytest.raises(OSError) as info:
            reactor.adoptStreamPort(devnull.fileno(), socket.AF_INET, f)
        assert info.value.errno == errno.ENOTSOCK
    for sock in (s, notListening, udp):
        sock.close()


def test_adopt_tcp_connection(reactor: Any, run: Any) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, peer = server.accept()
    accepted.setblocking(False)
    remember = Remember()
    assert reactor.adoptStreamConnection(accepted.fileno(), socket.AF_INET, remember) is None
    accepted.close()  # the reactor works on its own duplicate
    addr, proto = remember.built[0]
    assert addr == IPv4Address("TCP", *peer)
    assert proto.transport.getPeer() == addr
    assert proto.transport.getHost() == IPv4Address("TCP", *server.getsockname())
    # Twisted's repr: no listening port, so the local port number.
    name = type(proto).__name__
    port = server.getsockname()[1]
    assert repr(proto.transport) == f"<{name} #{proto.transport.sessionno} on {port}>"

    async def scenario() -> None:
        client.sendall(b"ping")
        assert await proto.got(4) == b"ping"
        proto.transport.write(b"pong")
        proto.transport.loseConnection()

    run(defer.ensureDeferred(scenario()))
    client.settimeout(5)
    assert client.recv(10) == b"pong"
    client.close()
    server.close()


def test_adopt_unix_connection_and_get_handle(reactor: Any, run: Any) -> None:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    remember = Remember()
    reactor.adoptStreamConnection(theirs.fileno(), socket.AF_UNIX, remember)
    theirs.close()
    addr, proto = remember.built[0]
    assert isinstance(addr, UNIXAddress)
    handle = proto.transport.getHandle()
    assert isinstance(handle, socket.socket) and handle.fileno() == proto.transport.fileno()

    async def scenario() -> None:
        mine.sendall(b"over unix")
        assert await proto.got(9) == b"over unix"
        proto.transport.loseConnection()

    run(defer.ensureDeferred(scenario()))
    mine.close()


def test_adopt_connection_factory_declines(reactor: Any) -> None:
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    class Nothing(Factory):
        def buildProtocol(self, addr: Any) -> Any:
            return None

    reactor.adoptStreamConnection(theirs.fileno(), socket.AF_UNIX, Nothing())
    assert reactor.getReaders() == []
    with pytest.raises(error.UnsupportedAddressFamily):
        reactor.adoptStreamConnection(theirs.fileno(), 2**16 + 7, Nothing())
    mine.close()
    theirs.close()


class Datagrams(DatagramProtocol):
    def __init__(self) -> None:
        self.got: defer.Deferred[tuple[bytes, Any]] = defer.Deferred()

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        if not self.got.called:
            self.got.callback((data, addr))
            self.transport.write(b"re:" + data, addr)


def test_adopt_datagram_port(reactor: Any, run: Any) -> None:
    original = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    original.bind(("127.0.0.1", 0))
    original.setblocking(False)
    protocol = Datagrams()
    port = reactor.adoptDatagramPort(original.fileno(), socket.AF_INET, protocol, 1024)
    assert port.getHost() == IPv4Address("UDP", *original.getsockname())
    assert port.maxPacketSize == 1024
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.sendto(b"dgram", original.getsockname())

    async def scenario() -> None:
        assert await protocol.got == (b"dgram", peer.getsockname())
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    peer.settimeout(5)
    assert peer.recv(100) == b"re:dgram"
    with pytest.raises(BlockingIOError):  # still open and usable
        original.recv(10)
    original.close()
    peer.close()


def test_adopt_datagram_port_refuses_bad_descriptors(reactor: Any) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed = probe.fileno()
    probe.close()
    with pytest.raises(OSError) as info:
        reactor.adoptDatagramPort(closed, socket.AF_INET, DatagramProtocol())
    assert info.value.errno == errno.EBADF
    unixDgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with pytest.raises(error.UnsupportedAddressFamily):
        reactor.adoptDatagramPort(unixDgram.fileno(), socket.AF_UNIX, DatagramProtocol())
    unixDgram.close()


def test_get_handle_on_tcp_transports(reactor: Any, run: Any) -> None:
    handles: list[Any] = []

    class Handle(Protocol):
        def connectionMade(self) -> None:
            handles.append(self.transport.getHandle())

    port = reactor.listenTCP(0, Factory.forProtocol(Handle), interface="127.0.0.1")

    async def scenario() -> None:
        client = await ClientCreator(reactor, Handle).connectTCP("127.0.0.1", port.getHost().port)
        assert isinstance(client.transport, interfaces.ISystemHandle)
        assert client.transport.getHandle().getpeername()[1] == port.getHost().port
        client.transport.loseConnection()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert len(handles) == 2 and all(isinstance(h, socket.socket) for h in handles)
