"""A TCP port forwarder: every accepted connection is relayed to one target.

Theory of operation
-------------------
Each accepted connection (the *inbound* side) connects to the target (the
*outbound* side) and, once connected, pairs the two: each transport is
registered as the other's streaming producer.  When one side's write queue
passes its high-water mark, that transport pauses its producer -- the other
side's transport -- which stops reading from its peer; when the queue
drains, reading resumes.  So a slow reader on either end slows the writer on
the other end instead of growing memory: at most about one queue plus one
read is held per direction.

While the target connection is pending, the inbound side goes on reading:
what the client sends is held (up to ``_EARLY_LIMIT`` bytes, then reading
stops) and written once the target answers, and a client that goes away is
seen at once: a reset, or an EOF before it sent anything, cancels the
pending connect.

Closing follows the peers: a connection lost on one side closes the other
once what is queued for it has been sent, as in Twisted.  An EOF from one
side closes both sides at once by default, as Twisted's forwarder does, so a
peer that never closes its side cannot hold the pair (two descriptors).
With ``halfCloseTimeout`` > 0 the EOF is passed on as a half-close
(``loseWriteConnection``) of the other side instead, so request/response
exchanges that rely on half-close (``nc -N``, a client that sends, shuts
down its side and reads the answer) work; the half-closed pair is then
bounded in time: once nothing has been read on either side for
``halfCloseTimeout`` seconds, both sides are aborted.  Before closing, the producer
registration is dropped, since a transport waits for its producer otherwise.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from torsion.defer import CancelledError
from torsion.endpoints import connectProtocol
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol
from torsion.services import ServiceError, seconds

__all__ = ["ProxyFactory", "service"]

_log = logging.getLogger("torsion.portforward")

#: Bytes held from the client while the target connection is pending.
_EARLY_LIMIT = 64 * 1024


class _HalfOpen:
    """The time bound of a half-closed pair (see the module notes)."""

    __slots__ = ("call", "moved", "reactor", "sides", "timeout")

    def __init__(self, reactor: Any, timeout: float, sides: list[_ProxySide]) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.sides = sides
        self.moved = False
        for side in sides:
            side.halfOpen = self
        self.call: Any = reactor.callLater(timeout, self._check)

    def _check(self) -> None:
        if self.moved:
            self.moved = False
            self.call = self.reactor.callLater(self.timeout, self._check)
            return
        self.call = None
        for side in self.sides:
            if side.transport is not None:
                side.transport.abortConnection()

    def cancel(self) -> None:
        call, self.call = self.call, None
        if call is not None and call.active():
            call.cancel()


class _ProxySide(Protocol):
    """One end of a relayed connection; ``peer`` is the other end (None until paired)."""

    peer: _ProxySide | None = None
    halfOpen: _HalfOpen | None = None
    factory: ProxyFactory

    def dataReceived(self, data: bytes) -> None:
        self.peer.transport.write(data)  # type: ignore[union-attr]
        if self.halfOpen is not None:
            self.halfOpen.moved = True

    def readConnectionLost(self) -> None:
        """Our peer sent EOF: pass it on as a half-close of the other connection."""
        peer = self.peer
        if peer is not None and peer.transport is not None:
            if not self.factory.halfCloseTimeout:
                self.transport.unregisterProducer()
                self.transport.loseConnection()  # Twisted's way: close both
                return
            peer.transport.unregisterProducer()
            peer.transport.loseWriteConnection()
            self._watchHalfOpen(peer)

    def _watchHalfOpen(self, peer: _ProxySide | None) -> None:
        if self.halfOpen is None:
            sides = [self] if peer is None else [self, peer]
            _HalfOpen(self.factory.clock(self.transport), self.factory.halfCloseTimeout, sides)

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self.halfOpen is not None:
            self.halfOpen.cancel()
        peer, self.peer = self.peer, None
        if peer is not None and peer.transport is not None:
            peer.peer = None
            peer.transport.unregisterProducer()
            peer.transport.loseConnection()


class _Outbound(_ProxySide):
    """The connection to the target."""

    def __init__(self, inbound: _Inbound) -> None:
        self.peer = inbound
        self.factory = inbound.factory


class _Inbound(_ProxySide):
    """An accepted connection: connect to the target, then relay."""

    _connecting: Any = None
    _early: list[bytes] | None = None
    _earlySize = 0
    _eof = False

    def connectionMade(self) -> None:
        self._early = []
        d = self.factory.connectOut(_Outbound(self))
        self._connecting = d
        d.addCallbacks(self._connected, self._failed)

    def dataReceived(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None:
            peer.transport.write(data)
            if self.halfOpen is not None:
                self.halfOpen.moved = True
            return
        early = self._early
        if early is None:
            return  # the connect failed: closing
        early.append(data)
        self._earlySize += len(data)
        if self._earlySize > _EARLY_LIMIT:
            self.transport.pauseProducing()  # until the target answers

    def readConnectionLost(self) -> None:
        if self.peer is not None:
            super().readConnectionLost()
            return
        # The target has not answered yet.
        self._eof = True
        if not self._earlySize or not self.factory.halfCloseTimeout:
            self.transport.loseConnection()  # the client left: cancel the connect
        else:
            self._watchHalfOpen(None)  # the half-close goes on once connected

    def _connected(self, outbound: _Outbound) -> None:
        self._connecting = None
        early, self._early = self._early, None
        self.peer = outbound
        if self.halfOpen is not None:
            self.halfOpen.sides.append(outbound)
            outbound.halfOpen = self.halfOpen
        if early:
            outbound.transport.write(b"".join(early))
        if self._eof:
            outbound.transport.loseWriteConnection()
        else:
            outbound.transport.registerProducer(self.transport, True)
            self.transport.resumeProducing()
        self.transport.registerProducer(outbound.transport, True)

    def _failed(self, failure: Failure) -> None:
        self._connecting = None
        self._early = None
        if not failure.check(CancelledError):  # else: we went away first
            _log.warning(
                "portforward: cannot connect to %s for %s: %s",
                self.factory.describeTarget(),
                self.transport.getPeer(),
                failure.getErrorMessage(),
            )
            self.transport.loseConnection()

    def stopGracefully(self) -> None:
        """Send what is queued, then close (the target connection follows)."""
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._early = None
        if self._connecting is not None:
            d, self._connecting = self._connecting, None
            d.cancel()
        super().connectionLost(reason)


class ProxyFactory(Factory):
    """Builds the inbound side of each relayed connection; ``target`` is a client endpoint.

    ``halfCloseTimeout`` > 0 passes half-closes on and bounds a half-closed
    pair to that many idle seconds (0, the default: close both sides at the
    first EOF, as Twisted does); ``reactor`` runs that timer (by default,
    the connection's own, else the global reactor).
    """

    protocol = _Inbound
    noisy = False

    def __init__(
        self,
        target: Any,
        description: str = "",
        *,
        halfCloseTimeout: float = 0.0,
        reactor: Any = None,
    ) -> None:
        self.target = target
        self.description = description or repr(target)
        self.halfCloseTimeout = halfCloseTimeout
        self.reactor = reactor

    def describeTarget(self) -> str:
        return self.description

    def connectOut(self, outbound: _Outbound) -> Any:
        return connectProtocol(self.target, outbound)

    def clock(self, transport: Any) -> Any:
        """The reactor that times half-closed pairs."""
        if self.reactor is None:
            from torsion import reactors

            self.reactor = getattr(transport, "reactor", None) or reactors.getGlobal()
        return self.reactor


_CLIENT_SCHEMES = ("tcp:", "tcp6:", "unix:", "tls:", "ssl:")


def targetEndpoint(reactor: Any, text: str) -> Any:
    """``HOST:PORT`` (``[v6addr]:PORT`` too) or a client endpoint description."""
    from torsion import endpoints

    if text.lower().startswith(_CLIENT_SCHEMES):
        try:
            return endpoints.clientFromString(reactor, text)
        except ValueError as e:
            raise ServiceError(f"--connect: {e}") from None
    host, sep, portText = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not (portText.isascii() and portText.isdigit()):
        raise ServiceError(
            f"--connect {text!r}: expected HOST:PORT (such as localhost:8080) "
            "or a client endpoint such as tcp:host=example.org:port=80"
        )
    port = int(portText)
    if not 0 < port <= 65535:
        raise ServiceError(f"--connect {text!r}: port {port} is not from 1 to 65535")
    return endpoints.HostnameEndpoint(reactor, host, port)


class _PortForwardService:
    name = "portforward"
    summary = "relay every connection to --connect HOST:PORT, with backpressure both ways"
    defaultListen = "tcp:8000"

    def addOptions(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--connect",
            required=True,
            metavar="HOST:PORT",
            help="where to relay connections: HOST:PORT or a client endpoint "
            "such as tcp:host=example.org:port=80 or unix:path=/run/app.sock",
        )
        parser.add_argument(
            "--half-close-timeout",
            type=seconds,
            default=0.0,
            metavar="SECONDS",
            help="when one side shuts down its sending side, pass that on and close both "
            "sides once nothing has moved for this long; 0 (the default) closes both "
            "sides at once, as Twisted does",
        )

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> ProxyFactory:
        return ProxyFactory(
            targetEndpoint(reactor, options.connect),
            options.connect,
            halfCloseTimeout=options.half_close_timeout,
            reactor=reactor,
        )


service = _PortForwardService()
