"""A TCP port forwarder: every accepted connection is relayed to one target.

Theory of operation
-------------------
Each accepted connection (the *inbound* side) stops reading, connects to the
target (the *outbound* side) and, once connected, pairs the two: each
transport is registered as the other's streaming producer.  When one side's
write queue passes its high-water mark, that transport pauses its producer --
the other side's transport -- which stops reading from its peer; when the
queue drains, reading resumes.  So a slow reader on either end slows the
writer on the other end instead of growing memory: at most about one queue
plus one read is held per direction.

Closing follows the peers: an EOF from one side becomes a half-close
(``loseWriteConnection``) of the other, so request/response exchanges that
rely on half-close work; a connection lost on one side closes the other once
what is queued for it has been sent.  Before either, the producer
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
from torsion.services import ServiceError

__all__ = ["ProxyFactory", "service"]

_log = logging.getLogger("torsion.portforward")


class _ProxySide(Protocol):
    """One end of a relayed connection; ``peer`` is the other end (None until paired)."""

    peer: _ProxySide | None = None

    def dataReceived(self, data: bytes) -> None:
        self.peer.transport.write(data)  # type: ignore[union-attr]

    def readConnectionLost(self) -> None:
        """Our peer sent EOF: pass it on as a half-close of the other connection."""
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.unregisterProducer()
            peer.transport.loseWriteConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        peer, self.peer = self.peer, None
        if peer is not None and peer.transport is not None:
            peer.peer = None
            peer.transport.unregisterProducer()
            peer.transport.loseConnection()


class _Outbound(_ProxySide):
    """The connection to the target."""

    def __init__(self, inbound: _Inbound) -> None:
        self.peer = inbound


class _Inbound(_ProxySide):
    """An accepted connection: connect to the target, then relay."""

    factory: ProxyFactory
    _connecting: Any = None

    def connectionMade(self) -> None:
        self.transport.pauseProducing()  # nothing is read until the target answers
        d = self.factory.connectOut(_Outbound(self))
        self._connecting = d
        d.addCallbacks(self._connected, self._failed)

    def _connected(self, outbound: _Outbound) -> None:
        self._connecting = None
        self.peer = outbound
        self.transport.registerProducer(outbound.transport, True)
        outbound.transport.registerProducer(self.transport, True)
        self.transport.resumeProducing()

    def _failed(self, failure: Failure) -> None:
        self._connecting = None
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
        if self._connecting is not None:
            d, self._connecting = self._connecting, None
            d.cancel()
        super().connectionLost(reason)


class ProxyFactory(Factory):
    """Builds the inbound side of each relayed connection; ``target`` is a client endpoint."""

    protocol = _Inbound
    noisy = False

    def __init__(self, target: Any, description: str = "") -> None:
        self.target = target
        self.description = description or repr(target)

    def describeTarget(self) -> str:
        return self.description

    def connectOut(self, outbound: _Outbound) -> Any:
        return connectProtocol(self.target, outbound)


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

    def makeFactory(self, reactor: Any, options: argparse.Namespace) -> ProxyFactory:
        return ProxyFactory(targetEndpoint(reactor, options.connect), options.connect)


service = _PortForwardService()
