"""Protocols and the factories that build them (Twisted's ``internet.protocol``).

A Factory builds one protocol per connection (``buildProtocol``) and is told
about the life of its connections; a Protocol receives the connection's data.
``doStart``/``doStop`` count how many ports or connectors use a factory so
``startFactory``/``stopFactory`` run once at the edges.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from torsion import error
from torsion._filewrapper import ConsumerToProtocolAdapter, FileWrapper, ProtocolToConsumerAdapter
from torsion._global import globalReactor
from torsion._logging._legacy import torsionMsg
from torsion._logging._logger import Logger as _Logger
from torsion._logging._publisher import publisherAtStdlibLevel as _atStdlibLevel
from torsion.failure import Failure

if TYPE_CHECKING:
    from typing import Protocol as _Protocol

    from torsion.defer import Deferred
    from torsion.interfaces import (
        IAddress,
        IConnector,
        IDelayedCall,
        IReactorSSL,
        IReactorTCP,
        IReactorTime,
        IReactorUNIX,
        ITransport,
    )

    class _ConnectingReactor(IReactorTime, IReactorTCP, IReactorUNIX, IReactorSSL, _Protocol):
        """What ClientCreator needs of a reactor: connecting, and ``callLater``."""


__all__ = [
    "AbstractDatagramProtocol",
    "BaseProtocol",
    "ClientCreator",
    "ClientFactory",
    "ConnectedDatagramProtocol",
    "ConsumerToProtocolAdapter",
    "DatagramProtocol",
    "Factory",
    "FileWrapper",
    "ProcessProtocol",
    "Protocol",
    "ProtocolToConsumerAdapter",
    "ReconnectingClientFactory",
    "ServerFactory",
    "connectionDone",
]

#: The reason a protocol's connection ends when it ends cleanly.
connectionDone: Failure = Failure(error.ConnectionDone())
connectionDone.cleanFailure()

_P = TypeVar("_P", bound="Protocol")


_factoryEvents = _atStdlibLevel(logging.DEBUG)


class BaseProtocol:
    """What every protocol has: a transport and a connected flag."""

    connected: int = 0
    # Any, not ITransport | None: protocols call the methods of their own kind of
    # transport (abortConnection, getPeer().host, writeToChild...) without a check.
    transport: Any = None

    def makeConnection(self, transport: ITransport) -> None:
        """Attach ``transport`` and call ``connectionMade``."""
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        """Called once the connection is established; override it."""


class Protocol(BaseProtocol):
    """A stream protocol: override ``dataReceived`` and ``connectionLost``."""

    factory: Any = None

    def logPrefix(self) -> str:
        return self.__class__.__name__

    def dataReceived(self, data: bytes) -> None:
        """Called with each chunk of bytes as it arrives; chunk boundaries mean nothing."""

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Called once when the connection ends, with a Failure saying why."""


class Factory:
    """Builds protocols.  Set ``protocol`` to a class or use ``forProtocol``."""

    protocol: Any = None
    numPorts: int = 0
    noisy: bool = True

    @classmethod
    def forProtocol(cls, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        """Create a factory of this class for ``protocol``, passing other args to ``__init__``."""
        factory = cls(*args, **kwargs)
        factory.protocol = protocol
        return factory

    def logPrefix(self) -> str:
        return self.__class__.__name__

    def doStart(self) -> None:
        """Called by each port or connector that starts using this factory."""
        if not self.numPorts:
            if self.noisy:
                self._announce("Starting factory {factory!r}")
            self.startFactory()
        self.numPorts += 1

    def doStop(self) -> None:
        """Called by each port or connector that stops using this factory."""
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        if not self.numPorts:
            if self.noisy:
                self._announce("Stopping factory {factory!r}")
            self.stopFactory()

    def _announce(self, format: str) -> None:
        # An info event for torsion.log/torsion.logger observers, as in
        # Twisted; the stdlib logger ``torsion`` has it at DEBUG (one per
        # client connection would flood INFO).
        _Logger(namespace="torsion", source=self, observer=_factoryEvents).info(
            format, factory=self
        )

    def startFactory(self) -> None:
        """Called once before the first port or connector uses the factory."""

    def stopFactory(self) -> None:
        """Called once after the last port or connector stops using the factory."""

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        """Return a protocol for the connection from/to ``addr``, or None to refuse it."""
        p: Protocol = self.protocol()
        p.factory = self
        return p


class ServerFactory(Factory):
    """A factory for servers (no extra behaviour, kept for Twisted compatibility)."""


class ClientFactory(Factory):
    """A factory for clients: told when connecting starts, fails, or a connection is lost."""

    def startedConnecting(self, connector: IConnector) -> None:
        """Called when a connection attempt starts."""

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """Called when an attempt fails; ``connector.connect()`` from here retries."""

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """Called when an established connection is lost; ``connector.connect()`` reconnects."""


class ReconnectingClientFactory(ClientFactory):
    """A client factory that reconnects with exponential back-off and jitter.

    Each failure or loss schedules the next attempt after ``delay`` seconds,
    with Gaussian jitter (standard deviation ``delay * jitter``), then
    multiplies ``delay`` by ``factor`` (capped at ``maxDelay``) for the one
    after: the first retry comes after about ``initialDelay``, as in Twisted.
    ``resetDelay()`` (call it from ``buildProtocol`` or ``connectionMade``)
    starts over at ``initialDelay``.
    """

    maxDelay: float = 3600
    initialDelay: float = 1.0
    factor: float = 2.7182818284590451
    jitter: float = 0.119626565582
    delay: float = initialDelay
    retries: int = 0
    maxRetries: int | None = None
    _callID: IDelayedCall | None = None
    connector: IConnector | None = None
    clock: IReactorTime | None = None
    continueTrying: int = 1

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def clientConnectionLost(self, connector: IConnector, unused_reason: Failure) -> None:
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def retry(self, connector: IConnector | None = None) -> None:
        """Schedule the next connection attempt after the back-off delay."""
        if not self.continueTrying:
            if self.noisy:
                torsionMsg(f"Abandoning {connector} on explicit request")
            return
        if connector is None:
            if self.connector is None:
                raise ValueError("no connector to retry with")
            connector = self.connector
        self.retries += 1
        if self.maxRetries is not None and self.retries > self.maxRetries:
            if self.noisy:
                torsionMsg(f"Abandoning {connector} after {self.retries} retries.")
            return
        if self.jitter:
            self.delay = random.normalvariate(self.delay, self.delay * self.jitter)
        if self.noisy:
            torsionMsg(f"{connector} will retry in {int(self.delay)} seconds")

        def reconnector() -> None:
            self._callID = None
            connector.connect()

        if self.clock is None:
            self.clock = globalReactor()
        # (max: callLater refuses a negative delay, which jitter could give.)
        self._callID = self.clock.callLater(max(self.delay, 0.0), reconnector)
        self.delay = min(self.delay * self.factor, self.maxDelay)

    def stopTrying(self) -> None:
        """Stop reconnecting: cancel a pending attempt and stop one in progress."""
        if self._callID is not None:
            self._callID.cancel()
            self._callID = None
        self.continueTrying = 0
        if self.connector is not None:
            try:
                self.connector.stopConnecting()
            except error.NotConnectingError:
                pass

    def resetDelay(self) -> None:
        """Start the back-off again from ``initialDelay``."""
        self.delay = self.initialDelay
        self.retries = 0
        self._callID = None
        self.continueTrying = 1

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("connector", "retries", "delay", "continueTrying", "_callID", "clock"):
            state.pop(key, None)
        return state


class _InstanceFactory(ClientFactory):
    """The one-shot factory behind ClientCreator: fires a Deferred with its protocol."""

    noisy = False
    pending: Any = None

    def __init__(self, reactor: IReactorTime, instance: Protocol, deferred: Deferred[Any]) -> None:
        self.reactor = reactor
        self.instance = instance
        self.deferred: Deferred[Any] | None = deferred

    def __repr__(self) -> str:
        return f"<ClientCreator factory: {self.instance!r}>"

    def buildProtocol(self, addr: IAddress) -> Protocol:
        # Fire on the next turn of the loop, once makeConnection has finished,
        # so the user's callback sees a protocol with connectionMade done.
        self.pending = self.reactor.callLater(0, self._fire, self.deferred, self.instance)
        self.deferred = None
        return self.instance

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        self.pending = self.reactor.callLater(0, self._fire, self.deferred, reason)
        self.deferred = None

    def _fire(self, deferred: Deferred[Any], value: Any) -> None:
        self.pending = None
        if isinstance(value, Failure):
            deferred.errback(value)
        else:
            deferred.callback(value)


class ClientCreator(Generic[_P]):
    """Connect a single protocol instance, without writing a factory.

    ``ClientCreator(reactor, MyProtocol, *args, **kw).connectTCP(host, port)``
    returns a Deferred that fires with the connected ``MyProtocol(*args, **kw)``;
    cancelling it stops the attempt (the Deferred errbacks with CancelledError).
    """

    def __init__(
        self, reactor: _ConnectingReactor, protocolClass: type[_P], *args: Any, **kwargs: Any
    ) -> None:
        self.reactor = reactor
        self.protocolClass = protocolClass
        self.args = args
        self.kwargs = kwargs

    def _connect(self, method: Any, *args: Any, **kwargs: Any) -> Deferred[_P]:
        from torsion.defer import Deferred

        def cancelConnect(deferred: Deferred[_P]) -> None:
            connector.disconnect()
            if factory.pending is not None:
                factory.pending.cancel()
                factory.pending = None

        deferred: Deferred[_P] = Deferred(cancelConnect)
        factory = _InstanceFactory(
            self.reactor, self.protocolClass(*self.args, **self.kwargs), deferred
        )
        connector = method(*args, factory=factory, **kwargs)
        return deferred

    def connectTCP(
        self, host: str, port: int, timeout: float = 30, bindAddress: Any = None
    ) -> Deferred[_P]:
        """Connect over TCP; the Deferred fires with the protocol instance."""
        return self._connect(
            self.reactor.connectTCP, host, port, timeout=timeout, bindAddress=bindAddress
        )

    def connectUNIX(
        self, address: str, timeout: float = 30, checkPID: bool = False
    ) -> Deferred[_P]:
        """Connect to a UNIX socket; the Deferred fires with the protocol instance."""
        return self._connect(self.reactor.connectUNIX, address, timeout=timeout, checkPID=checkPID)

    def connectSSL(
        self,
        host: str,
        port: int,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> Deferred[_P]:
        """Connect over TLS; the Deferred fires with the protocol instance."""
        return self._connect(
            self.reactor.connectSSL,
            host,
            port,
            contextFactory=contextFactory,
            timeout=timeout,
            bindAddress=bindAddress,
        )


class AbstractDatagramProtocol:
    """The base of datagram protocols: ``startProtocol``/``stopProtocol`` bracket use."""

    transport: Any = None
    numPorts: int = 0
    noisy: bool = True

    def logPrefix(self) -> str:
        return self.__class__.__name__

    def doStart(self) -> None:
        if not self.numPorts:
            self.startProtocol()
        self.numPorts += 1

    def doStop(self) -> None:
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        self.transport = None
        if not self.numPorts:
            self.stopProtocol()

    def startProtocol(self) -> None:
        """Called when the transport is connected (listening)."""

    def stopProtocol(self) -> None:
        """Called when the transport is disconnected."""

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.doStart()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """Called with each datagram and the address it came from."""


class DatagramProtocol(AbstractDatagramProtocol):
    """A UDP protocol; ``connectionRefused`` is called for connected UDP sockets."""

    def connectionRefused(self) -> None:
        """A datagram we sent on a connected socket was refused (ICMP port unreachable)."""


class ConnectedDatagramProtocol(DatagramProtocol):
    """Kept for Twisted compatibility; use DatagramProtocol with ``transport.connect``."""

    def connectionFailed(self, failure: Failure) -> None:
        """Connecting failed."""


class ProcessProtocol(BaseProtocol):
    """Talks to a child process: per-descriptor data and close events, then exit."""

    transport: Any = None

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 1:
            self.outReceived(data)
        elif childFD == 2:
            self.errReceived(data)

    def outReceived(self, data: bytes) -> None:
        """Data arrived on the child's stdout."""

    def errReceived(self, data: bytes) -> None:
        """Data arrived on the child's stderr."""

    def childConnectionLost(self, childFD: int) -> None:
        if childFD == 0:
            self.inConnectionLost()
        elif childFD == 1:
            self.outConnectionLost()
        elif childFD == 2:
            self.errConnectionLost()

    def inConnectionLost(self) -> None:
        """The child's stdin was closed."""

    def outConnectionLost(self) -> None:
        """The child closed its stdout."""

    def errConnectionLost(self) -> None:
        """The child closed its stderr."""

    def processExited(self, reason: Failure) -> None:
        """The child exited (its descriptors may still be open)."""

    def processEnded(self, reason: Failure) -> None:
        """The child exited and all its descriptors are closed."""
