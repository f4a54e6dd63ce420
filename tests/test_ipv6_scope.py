"""IPv6 addresses with a scope (``"fe80::1%eth0"``): listen, connect and UDP, as Twisted.

A link-local address is only usable with its scope id; the socket module drops
the ``%scope`` of a 2-tuple, so each transport resolves it.  The end-to-end
tests need a link-local address on some interface (read from
``/proc/net/if_inet6``) and are skipped on machines without one.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from torsion import defer, error
from torsion.protocol import ClientCreator, DatagramProtocol, Factory, Protocol


def linkLocal() -> str | None:
    """A usable link-local address with its scope (``"fe80::...%eth0"``), or None."""
    try:
        with open("/proc/net/if_inet6") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        hexaddr, _index, _plen, scope, flags, name = line.split()
        if int(scope, 16) != 0x20 or int(flags, 16) & 0x48:  # link scope; not tentative/failed
            continue
        packed = bytes.fromhex(hexaddr)
        host = f"{socket.inet_ntop(socket.AF_INET6, packed)}%{name}"
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(socket.getaddrinfo(host, 0, 0, 0, 0, socket.AI_NUMERICHOST)[0][4])
        except OSError:
            continue
        return host
    return None


LINK_LOCAL = linkLocal()
needsLinkLocal = pytest.mark.skipif(LINK_LOCAL is None, reason="no usable link-local address")


class Collector(DatagramProtocol):
    def __init__(self) -> None:
        self.got: defer.Deferred[tuple[bytes, Any]] = defer.Deferred()

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        if not self.got.called:
            self.got.callback((data, addr))


class Echo(DatagramProtocol):
    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.transport.write(data, addr)


@needsLinkLocal
def test_tcp_listen_and_connect_on_a_scoped_link_local_address(reactor: Any, run: Any) -> None:
    assert LINK_LOCAL is not None
    built: list[Any] = []

    class Server(Factory):
        protocol = Protocol

        def buildProtocol(self, addr: Any) -> Any:
            built.append(addr)
            return super().buildProtocol(addr)

    port = reactor.listenTCP(0, Server(), interface=LINK_LOCAL)
    host = port.getHost()
    assert host.host == LINK_LOCAL
    assert host.scopeID == socket.if_nametoindex(LINK_LOCAL.split("%")[1])

    async def scenario() -> None:
        creator = ClientCreator(reactor, Protocol)
        proto = await creator.connectTCP(LINK_LOCAL, host.port, timeout=5)
        peer = proto.transport.getPeer()
        assert (peer.host, peer.port, peer.scopeID) == (LINK_LOCAL, host.port, host.scopeID)
        assert proto.transport.getHost().host == LINK_LOCAL
        assert built[0].host == LINK_LOCAL and built[0].scopeID == host.scopeID
        proto.transport.loseConnection()
        # The client may bind to a scoped address too.
        bound = await creator.connectTCP(
            LINK_LOCAL, host.port, timeout=5, bindAddress=(LINK_LOCAL, 0)
        )
        assert bound.transport.getHost().host == LINK_LOCAL
        bound.transport.loseConnection()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


@needsLinkLocal
def test_udp_on_a_scoped_link_local_address(reactor: Any, run: Any) -> None:
    """Listen, send, and reply to the sender's address (which keeps its scope)."""
    assert LINK_LOCAL is not None
    echo = reactor.listenUDP(0, Echo(), interface=LINK_LOCAL)
    assert echo.getHost().host == LINK_LOCAL
    echoPort = echo.getHost().port

    async def scenario() -> None:
        client = Collector()
        port = reactor.listenUDP(0, client, interface=LINK_LOCAL)
        port.write(b"ping", (LINK_LOCAL, echoPort))
        assert await client.got == (b"ping", (LINK_LOCAL, echoPort))
        await port.stopListening()
        connected = Collector()
        port = reactor.listenUDP(0, connected, interface=LINK_LOCAL)
        port.connect(LINK_LOCAL, echoPort)
        port.write(b"again")
        assert (await connected.got)[0] == b"again"
        await port.stopListening()
        await echo.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_unknown_scope_is_refused_clearly(reactor: Any, run: Any) -> None:
    with pytest.raises(error.CannotListenError):
        reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="fe80::1%nosuchif0")
    with pytest.raises(error.CannotListenError):
        reactor.listenUDP(0, DatagramProtocol(), interface="fe80::1%nosuchif0")
    with pytest.raises(error.InvalidAddressError, match="scope"):
        reactor.connectTCP("fe80::1%nosuchif0", 80, Factory.forProtocol(Protocol))
    port = reactor.listenUDP(0, DatagramProtocol(), interface="::1")
    with pytest.raises(error.InvalidAddressError, match="scope"):
        port.write(b"x", ("fe80::1%nosuchif0", 9))
    with pytest.raises(error.InvalidAddressError, match="scope"):
        port.connect("fe80::1%nosuchif0", 9)
    run(port.stopListening())


def test_numeric_scope_on_the_loopback(reactor: Any, run: Any) -> None:
    """``::1%1`` (a scope given by interface index) listens and connects."""
    index = socket.if_nametoindex("lo")
    port = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface=f"::1%{index}")

    async def scenario() -> None:
        creator = ClientCreator(reactor, Protocol)
        proto = await creator.connectTCP(f"::1%{index}", port.getHost().port, timeout=5)
        assert proto.transport.getPeer().port == port.getHost().port
        proto.transport.loseConnection()
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_socket_address_resolves_the_scope() -> None:
    """The helper every transport uses: no lookup, the scope id from the suffix."""
    from torsion._util import socketAddress

    index = socket.if_nametoindex("lo")
    assert socketAddress("fe80::1%lo", 80) == ("fe80::1%lo", 80, 0, index)
    assert socketAddress(f"fe80::1%{index}", 80) == ("fe80::1%lo", 80, 0, index)
    assert socketAddress("::1", 80) == ("::1", 80, 0, 0)
    assert socketAddress("127.0.0.1", 80) == ("127.0.0.1", 80)
    assert socketAddress("", 80) == ("", 80)
    with pytest.raises(socket.gaierror):
        socketAddress("fe80::1%nosuchif0", 80)
