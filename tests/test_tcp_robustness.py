"""TCP when peers misbehave: resets mid-write, vanishing peers, writes after close."""

from __future__ import annotations

import socket
import struct
from typing import Any

from torsion import defer, error
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import ClientCreator, Factory, Protocol


class Watch(Protocol):
    def __init__(self) -> None:
        self.lost: Deferred[Any] = Deferred()
        self.made: Deferred[Any] = Deferred()
        self.received = 0

    def connectionMade(self) -> None:
        self.made.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost.callback([reason])


class Built(Factory):
    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.first: Deferred[Any] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = super().buildProtocol(addr)
        if not self.first.called:
            # Fires once the protocol is connected (its connectionMade ran).
            p.made.chainDeferred(self.first)
        return p


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_peer_reset_while_we_have_queued_data(reactor: Any, run: Any) -> None:
    """The server queues megabytes for a client that resets: the server's
    connection ends with ConnectionLost, nothing spins, the port keeps working."""

    class Flood(Watch):
        def connectionMade(self) -> None:
            self.transport.write(b"z" * (16 * 1024 * 1024))
            super().connectionMade()

    factory = Built(Flood)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    peer = socket.create_connection(("127.0.0.1", port.getHost().port))
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    @defer.inlineCallbacks
    def go() -> Any:
        server = yield factory.first
        assert server.transport._buffered > 0
        _reset(peer)
        (reason,) = yield server.lost
        assert reason.check(error.ConnectionLost)
        assert server.transport._buffered == 0
        # The port still accepts and serves.
        client = yield ClientCreator(reactor, Watch).connectTCP("127.0.0.1", port.getHost().port)
        client.transport.loseConnection()
        yield client.lost
        yield port.stopListening()

    run(go())


def test_peer_vanishes_during_read_gives_connectionlost_or_done(reactor: Any, run: Any) -> None:
    factory = Built(Watch)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    peer = socket.create_connection(("127.0.0.1", port.getHost().port))

    @defer.inlineCallbacks
    def go() -> Any:
        server = yield factory.first
        peer.sendall(b"partial request")
        _reset(peer)
        (reason,) = yield server.lost
        assert reason.check(error.ConnectionLost)
        yield port.stopListening()

    run(go())


def test_half_closed_peer_plain_protocol_still_gets_data_first(reactor: Any, run: Any) -> None:
    factory = Built(Watch)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    peer = socket.create_connection(("127.0.0.1", port.getHost().port))
    peer.sendall(b"x" * 100_000)
    peer.shutdown(socket.SHUT_WR)

    @defer.inlineCallbacks
    def go() -> Any:
        server = yield factory.first
        (reason,) = yield server.lost
        assert server.received == 100_000
        assert reason.check(error.ConnectionDone)
        yield port.stopListening()

    try:
        run(go())
    finally:
        peer.close()


def test_lose_connection_during_connectionmade(reactor: Any, run: Any) -> None:
    class Quick(Watch):
        def connectionMade(self) -> None:
            super().connectionMade()
            self.transport.write(b"bye")
            self.transport.loseConnection()

    port = reactor.listenTCP(0, Factory.forProtocol(Quick), interface="127.0.0.1")

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Watch).connectTCP("127.0.0.1", port.getHost().port)
        (reason,) = yield client.lost
        assert client.received == 3
        assert reason.check(error.ConnectionDone)
        yield port.stopListening()

    run(go())


def test_exception_in_connectionlost_is_logged_and_loop_goes_on(
    reactor: Any, run: Any, caplog: Any
) -> None:
    class Bad(Watch):
        def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
            super().connectionLost(reason)
            raise RuntimeError("connectionLost exploded")

    port = reactor.listenTCP(0, Factory.forProtocol(Watch), interface="127.0.0.1")

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Bad).connectTCP("127.0.0.1", port.getHost().port)
        client.transport.loseConnection()
        yield client.lost
        # The loop is still alive: a timer still runs.
        d: Deferred[None] = Deferred()
        reactor.callLater(0.01, d.callback, None)
        yield d
        yield port.stopListening()

    run(go())
    assert "connectionLost exploded" in caplog.text
