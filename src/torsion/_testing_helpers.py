"""The smaller test doubles of ``twisted.internet.testing``, re-exported by ``torsion.testing``.

Protocols that record what they get (``AccumulatingProtocol``,
``LineSendingProtocol``), a producer and a datagram transport that record what
they do, a reactor whose every listen/connect raises, a resolver that answers
127.0.0.1 at once, and an observer that keeps the log events it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

from torsion._net.resolver import HostResolution
from torsion.address import IPv4Address
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import Protocol
from torsion.protocols.basic import LineReceiver
from torsion.task import LoopingCall

__all__ = [
    "AccumulatingProtocol",
    "EventLoggingObserver",
    "FakeDatagramTransport",
    "LineSendingProtocol",
    "NonStreamingProducer",
    "RaisingMemoryReactor",
    "SynchronousResolver",
    "waitUntilAllDisconnected",
]


class AccumulatingProtocol(Protocol):
    """Keeps all it receives in ``data``; notes ``made``, ``closed`` and ``closedReason``.

    If its factory has a ``protocolConnectionMade`` Deferred, the first
    connection fires it with the protocol (and clears it);
    ``closedDeferred``, if set, fires on ``connectionLost``.
    """

    made = 0
    closed = 0
    closedReason: Failure | None = None
    closedDeferred: Deferred[None] | None = None
    data = b""

    def connectionMade(self) -> None:
        self.made = 1
        factory = self.factory
        d = getattr(factory, "protocolConnectionMade", None)
        if d is not None:
            factory.protocolConnectionMade = None
            d.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.closed = 1
        self.closedReason = reason
        d, self.closedDeferred = self.closedDeferred, None
        if d is not None:
            d.callback(None)


class LineSendingProtocol(LineReceiver):
    """Sends ``lines`` on connecting (with ``start``) or after the first line received.

    Lines received are kept in ``response``; ``lostConn`` turns true when the
    connection is lost.
    """

    lostConn = False

    def __init__(self, lines: Sequence[bytes], start: bool = True) -> None:
        self.lines = list(lines)
        self.response: list[bytes] = []
        self.start = start

    def connectionMade(self) -> None:
        if self.start:
            for line in self.lines:
                self.sendLine(line)

    def lineReceived(self, line: bytes) -> None:
        if not self.start:
            for toSend in self.lines:
                self.sendLine(toSend)
            self.lines = []
        self.response.append(line)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lostConn = True


class FakeDatagramTransport:
    """A datagram transport that records ``(packet, addr)`` for each ``write`` in ``written``."""

    noAddr = object()

    def __init__(self) -> None:
        self.written: list[tuple[bytes, Any]] = []

    def write(self, packet: bytes, addr: Any = noAddr) -> None:
        self.written.append((packet, addr))


class NonStreamingProducer:
    """A pull producer that writes ``b"0"`` to ``b"9"``, one per ``resumeProducing``.

    After the tenth it unregisters itself; ``result`` fires when it is done or
    stopped.  A resume after that, or any pause, is a RuntimeError (a bug in
    the consumer under test).
    """

    counter = 0
    stopped = False

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.result: Deferred[None] = Deferred()

    def resumeProducing(self) -> None:
        if self.consumer is None or self.counter >= 10:
            raise RuntimeError("BUG: resume after unregister/stop.")
        self.consumer.write(b"%d" % (self.counter,))
        self.counter += 1
        if self.counter == 10:
            self.consumer.unregisterProducer()
            self._done()

    def pauseProducing(self) -> None:
        raise RuntimeError("BUG: pause should never be called.")

    def _done(self) -> None:
        self.consumer = None
        d = self.result
        del self.result
        d.callback(None)

    def stopProducing(self) -> None:
        self.stopped = True
        self._done()


def waitUntilAllDisconnected(reactor: Any, protocols: Iterable[Any]) -> Deferred[Any]:
    """A Deferred that fires once no protocol's transport is connected (checked every 10 ms)."""
    protocols = list(protocols)

    def check() -> None:
        if not any(p.transport.connected for p in protocols):
            loop.stop()

    loop = LoopingCall(check)
    loop.clock = reactor
    return loop.start(0.01, now=True)


class SynchronousResolver:
    """A host name resolver that answers every name with 127.0.0.1 (TCP) before returning."""

    def resolveHostName(
        self,
        resolutionReceiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> HostResolution:
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        resolutionReceiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


class RaisingMemoryReactor:
    """A reactor whose listen and adopt-port methods raise ``listenException`` and
    whose connect methods (and ``adoptDatagramPort``, ``adoptStreamConnection``)
    raise ``connectException``."""

    def __init__(
        self,
        listenException: BaseException | None = None,
        connectException: BaseException | None = None,
    ) -> None:
        self._listenException = listenException
        self._connectException = connectException
        self.nameResolver: Any = SynchronousResolver()

    def installNameResolver(self, nameResolver: Any) -> Any:
        """Use ``nameResolver``; returns the one it replaces."""
        previous, self.nameResolver = self.nameResolver, nameResolver
        return previous

    def _raise(self, exception: BaseException | None) -> Any:
        if exception is None:
            raise TypeError("RaisingMemoryReactor was given no exception to raise here")
        raise exception

    def adoptStreamPort(self, fileno: int, addressFamily: int, factory: Any) -> Any:
        return self._raise(self._listenException)

    def listenTCP(
        self,
        port: int,
        factory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> Any:
        return self._raise(self._listenException)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> Any:
        return self._raise(self._listenException)

    def listenUNIX(
        self, address: str, factory: Any, backlog: int = 50, mode: int = 0o666, wantPID: int = 0
    ) -> Any:
        return self._raise(self._listenException)

    def connectTCP(
        self, host: str, port: int, factory: Any, timeout: float = 30, bindAddress: Any = None
    ) -> Any:
        return self._raise(self._connectException)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> Any:
        return self._raise(self._connectException)

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> Any:
        return self._raise(self._connectException)

    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: int, protocol: Any, maxPacketSize: int = 8192
    ) -> Any:
        return self._raise(self._connectException)

    def adoptStreamConnection(self, fileDescriptor: int, addressFamily: int, factory: Any) -> Any:
        return self._raise(self._connectException)


class EventLoggingObserver(Sequence[dict[str, Any]]):
    """A log observer that keeps the events it sees; it is the (read-only) list of them."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | Sequence[dict[str, Any]]:
        return self._events[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._events)

    def __call__(self, event: dict[str, Any]) -> None:
        self._events.append(event)

    @classmethod
    def createWithCleanup(cls, testInstance: Any, publisher: Any) -> EventLoggingObserver:
        """An observer added to ``publisher`` and removed by ``testInstance.addCleanup``.

        ``testInstance`` is a unittest/trial TestCase, or anything with
        ``addCleanup(f)`` (pytest's ``request`` works: ``request.addfinalizer``
        is used when there is no ``addCleanup``).
        """
        observer = cls()
        publisher.addObserver(observer)
        remove: Callable[[], None] = lambda: publisher.removeObserver(observer)  # noqa: E731
        addCleanup = getattr(testInstance, "addCleanup", None)
        if addCleanup is None:
            addCleanup = testInstance.addfinalizer
        addCleanup(remove)
        return observer
