"""Interfaces as ``typing.Protocol`` classes (Twisted's ``internet.interfaces``).

Twisted declares interfaces with zope.interface; torsion uses structural
typing instead: a class provides an interface by having its methods, and mypy
checks it.  The interfaces marked ``runtime_checkable`` also work with
``isinstance`` (which checks that the methods exist, not their signatures).

``implementer(*interfaces)`` is a no-op class decorator kept so that ported
code written as ``@implementer(IProtocol)`` runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from torsion.defer import Deferred
    from torsion.failure import Failure

__all__ = [
    "IAddress",
    "IConnector",
    "IConsumer",
    "IDelayedCall",
    "IFileDescriptorReceiver",
    "IHalfCloseableProtocol",
    "IHostResolution",
    "IHostnameResolver",
    "IListeningPort",
    "IProcessProtocol",
    "IProcessTransport",
    "IProducer",
    "IProtocol",
    "IProtocolFactory",
    "IPullProducer",
    "IPushProducer",
    "IReactorCore",
    "IReactorFDSet",
    "IReactorPluggableNameResolver",
    "IReactorPluggableResolver",
    "IReactorProcess",
    "IReactorSSL",
    "IReactorSocket",
    "IReactorTCP",
    "IReactorThreads",
    "IReactorTime",
    "IReactorUDP",
    "IReactorUNIX",
    "IReactorUNIXDatagram",
    "IReadDescriptor",
    "IReadWriteDescriptor",
    "IResolutionReceiver",
    "IResolverSimple",
    "IStreamClientEndpoint",
    "IStreamServerEndpoint",
    "ISystemHandle",
    "ITCPTransport",
    "ITLSTransport",
    "ITransport",
    "IUDPTransport",
    "IWriteDescriptor",
    "implementer",
]

_C = TypeVar("_C")


def implementer(*interfaces: object) -> Callable[[_C], _C]:
    """Accept and ignore interface declarations (structural typing needs none)."""

    def decorate(cls: _C) -> _C:
        return cls

    return decorate


@runtime_checkable
class IAddress(Protocol):
    """An address; torsion's are frozen dataclasses in ``torsion.address``."""


@runtime_checkable
class IDelayedCall(Protocol):
    def getTime(self) -> float: ...
    def cancel(self) -> None: ...
    def delay(self, secondsLater: float) -> None: ...
    def reset(self, secondsFromNow: float) -> None: ...
    def active(self) -> bool: ...


@runtime_checkable
class IReactorTime(Protocol):
    def seconds(self) -> float: ...
    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> IDelayedCall: ...
    def getDelayedCalls(self) -> Sequence[IDelayedCall]: ...


@runtime_checkable
class IReactorCore(Protocol):
    running: bool

    def resolve(self, name: str, timeout: Sequence[int] = ...) -> Deferred[str]: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...
    def crash(self) -> None: ...
    def iterate(self, delay: float = ...) -> None: ...
    def fireSystemEvent(self, eventType: str) -> None: ...
    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any: ...
    def removeSystemEventTrigger(self, triggerID: Any) -> None: ...
    def callWhenRunning(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> Any: ...


@runtime_checkable
class IReactorThreads(Protocol):
    def getThreadPool(self) -> Any: ...
    def callInThread(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None: ...
    def callFromThread(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None: ...
    def suggestThreadPoolSize(self, size: int) -> None: ...


@runtime_checkable
class IReadDescriptor(Protocol):
    def fileno(self) -> int: ...
    def doRead(self) -> Any: ...
    def connectionLost(self, reason: Failure) -> None: ...


@runtime_checkable
class IWriteDescriptor(Protocol):
    def fileno(self) -> int: ...
    def doWrite(self) -> Any: ...
    def connectionLost(self, reason: Failure) -> None: ...


@runtime_checkable
class IReadWriteDescriptor(IReadDescriptor, IWriteDescriptor, Protocol):
    pass


@runtime_checkable
class IReactorFDSet(Protocol):
    def addReader(self, reader: IReadDescriptor) -> None: ...
    def addWriter(self, writer: IWriteDescriptor) -> None: ...
    def removeReader(self, reader: IReadDescriptor) -> None: ...
    def removeWriter(self, writer: IWriteDescriptor) -> None: ...
    def removeAll(self) -> list[Any]: ...
    def getReaders(self) -> list[Any]: ...
    def getWriters(self) -> list[Any]: ...


@runtime_checkable
class IListeningPort(Protocol):
    def startListening(self) -> None: ...
    def stopListening(self) -> Deferred[None] | None: ...
    def getHost(self) -> Any: ...


@runtime_checkable
class IConnector(Protocol):
    def stopConnecting(self) -> None: ...
    def disconnect(self) -> None: ...
    def connect(self) -> None: ...
    def getDestination(self) -> Any: ...


@runtime_checkable
class IReactorTCP(Protocol):
    def listenTCP(
        self, port: int, factory: Any, backlog: int = ..., interface: str = ...
    ) -> IListeningPort: ...
    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = ...,
        bindAddress: tuple[str, int] | None = ...,
    ) -> IConnector: ...


@runtime_checkable
class IReactorUNIX(Protocol):
    def listenUNIX(
        self, address: str, factory: Any, backlog: int = ..., mode: int = ..., wantPID: int = ...
    ) -> IListeningPort: ...
    def connectUNIX(
        self, address: str, factory: Any, timeout: float = ..., checkPID: int = ...
    ) -> IConnector: ...


@runtime_checkable
class IReactorSSL(Protocol):
    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = ...,
        interface: str = ...,
    ) -> IListeningPort: ...
    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = ...,
        bindAddress: tuple[str, int] | None = ...,
    ) -> IConnector: ...


@runtime_checkable
class IReactorUDP(Protocol):
    def listenUDP(
        self, port: int, protocol: Any, interface: str = ..., maxPacketSize: int = ...
    ) -> Any: ...


@runtime_checkable
class IReactorUNIXDatagram(Protocol):
    def listenUNIXDatagram(
        self, address: str, protocol: Any, maxPacketSize: int = ..., mode: int = ...
    ) -> IListeningPort: ...
    def connectUNIXDatagram(
        self,
        address: str,
        protocol: Any,
        maxPacketSize: int = ...,
        mode: int = ...,
        bindAddress: str | None = ...,
    ) -> Any: ...


@runtime_checkable
class IReactorSocket(Protocol):
    """Adopt sockets made elsewhere (inherited, passed over a UNIX socket, systemd)."""

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: int, factory: Any
    ) -> IListeningPort: ...
    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: int, factory: Any
    ) -> None: ...
    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: int, protocol: Any, maxPacketSize: int = ...
    ) -> IListeningPort: ...


@runtime_checkable
class IHostResolution(Protocol):
    """A name resolution in progress (``IHostnameResolver.resolveHostName`` returns one)."""

    name: str

    def cancel(self) -> None: ...


@runtime_checkable
class IResolutionReceiver(Protocol):
    """Told of a resolution's progress: began, each address, then complete (always)."""

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None: ...
    def addressResolved(self, address: IAddress) -> None: ...
    def resolutionComplete(self) -> None: ...


@runtime_checkable
class IHostnameResolver(Protocol):
    """Resolves names to addresses (``IPv4Address``/``IPv6Address``) for a receiver."""

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = ...,
        addressTypes: Sequence[type[IAddress]] | None = ...,
        transportSemantics: str = ...,
    ) -> IHostResolution: ...


@runtime_checkable
class IResolverSimple(Protocol):
    """Resolves a name to one IPv4 address string (``reactor.resolve`` uses one)."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ...) -> Deferred[str]: ...


@runtime_checkable
class IReactorPluggableNameResolver(Protocol):
    @property
    def nameResolver(self) -> IHostnameResolver: ...
    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver: ...


@runtime_checkable
class IReactorPluggableResolver(Protocol):
    def installResolver(self, resolver: IResolverSimple) -> IResolverSimple: ...


@runtime_checkable
class IReactorProcess(Protocol):
    def spawnProcess(
        self,
        processProtocol: Any,
        executable: str | bytes,
        args: Any = ...,
        env: dict[Any, Any] | None = ...,
        path: str | None = ...,
        uid: int | None = ...,
        gid: int | None = ...,
        usePTY: bool = ...,
        childFDs: dict[int, Any] | None = ...,
    ) -> Any: ...


@runtime_checkable
class IProducer(Protocol):
    def stopProducing(self) -> None: ...


@runtime_checkable
class IPushProducer(IProducer, Protocol):
    def pauseProducing(self) -> None: ...
    def resumeProducing(self) -> None: ...


@runtime_checkable
class IPullProducer(IProducer, Protocol):
    def resumeProducing(self) -> None: ...


@runtime_checkable
class IConsumer(Protocol):
    def registerProducer(self, producer: Any, streaming: bool) -> None: ...
    def unregisterProducer(self) -> None: ...
    def write(self, data: bytes) -> None: ...


@runtime_checkable
class ITransport(Protocol):
    def write(self, data: bytes) -> None: ...
    def writeSequence(self, data: Iterable[bytes]) -> None: ...
    def loseConnection(self) -> None: ...
    def getPeer(self) -> Any: ...
    def getHost(self) -> Any: ...


@runtime_checkable
class ISystemHandle(Protocol):
    """Gives the system object under a transport (the socket of a TCP or UNIX one)."""

    def getHandle(self) -> Any: ...


@runtime_checkable
class ITCPTransport(ITransport, Protocol):
    def loseWriteConnection(self) -> None: ...
    def abortConnection(self) -> None: ...
    def getTcpNoDelay(self) -> bool: ...
    def setTcpNoDelay(self, enabled: bool) -> None: ...
    def getTcpKeepAlive(self) -> bool: ...
    def setTcpKeepAlive(self, enabled: bool) -> None: ...


@runtime_checkable
class ITLSTransport(ITCPTransport, Protocol):
    def startTLS(self, contextFactory: Any) -> None: ...


@runtime_checkable
class IProcessTransport(ITransport, Protocol):
    pid: int | None

    def closeStdin(self) -> None: ...
    def closeStdout(self) -> None: ...
    def closeStderr(self) -> None: ...
    def closeChildFD(self, descriptor: int) -> None: ...
    def writeToChild(self, childFD: int, data: bytes) -> None: ...
    def signalProcess(self, signalID: str | int) -> None: ...


@runtime_checkable
class IUDPTransport(Protocol):
    def write(self, packet: bytes, addr: Any = ...) -> None: ...
    def connect(self, host: str, port: int) -> None: ...
    def getHost(self) -> Any: ...
    def stopListening(self) -> Any: ...


@runtime_checkable
class IProtocol(Protocol):
    def makeConnection(self, transport: Any) -> None: ...
    def connectionMade(self) -> None: ...
    def dataReceived(self, data: bytes) -> None: ...
    def connectionLost(self, reason: Failure) -> None: ...


@runtime_checkable
class IHalfCloseableProtocol(Protocol):
    """A protocol told about each direction's close separately (TCP half-close)."""

    def readConnectionLost(self) -> None: ...
    def writeConnectionLost(self) -> None: ...


@runtime_checkable
class IFileDescriptorReceiver(Protocol):
    def fileDescriptorReceived(self, descriptor: int) -> None: ...


@runtime_checkable
class IProcessProtocol(Protocol):
    def makeConnection(self, process: Any) -> None: ...
    def childDataReceived(self, childFD: int, data: bytes) -> None: ...
    def childConnectionLost(self, childFD: int) -> None: ...
    def processExited(self, reason: Failure) -> None: ...
    def processEnded(self, reason: Failure) -> None: ...


@runtime_checkable
class IProtocolFactory(Protocol):
    def buildProtocol(self, addr: Any) -> Any: ...
    def doStart(self) -> None: ...
    def doStop(self) -> None: ...


@runtime_checkable
class IStreamServerEndpoint(Protocol):
    def listen(self, protocolFactory: Any) -> Deferred[Any]: ...


@runtime_checkable
class IStreamClientEndpoint(Protocol):
    def connect(self, protocolFactory: Any) -> Deferred[Any]: ...


@runtime_checkable
class ILoggingContext(Protocol):
    """Something that names itself in logs (transports, ports, protocols)."""

    def logPrefix(self) -> str: ...


@runtime_checkable
class IHandshakeListener(Protocol):
    """A protocol told when the TLS handshake of its connection has completed."""

    def handshakeCompleted(self) -> None: ...


@runtime_checkable
class IStreamServerEndpointStringParser(Protocol):
    """The shape of Twisted's endpoint-description plugins (torsion loads none)."""

    prefix: str

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any: ...
