"""Interfaces as ``typing.Protocol`` classes (Twisted's ``internet.interfaces``).

Twisted declares interfaces with zope.interface; torsion uses structural
typing instead: a class provides an interface by having its methods, and mypy
checks it.  The interfaces marked ``runtime_checkable`` also work with
``isinstance`` (which checks that the methods exist, not their signatures).

``implementer(*interfaces)`` records a declaration, and each interface also
answers zope's questions for ported code: ``IFoo.providedBy(obj)`` (declared,
or structurally), ``IFoo.implementedBy(cls)``, adaptation ``IFoo(obj[,
default])``, and ``verifyObject``/``verifyClass`` (see ``torsion._zopecompat``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    # Type-only imports, and only of rooms below this one (see docs/architecture.md):
    # the interfaces must not pull in an implementation at run time.
    from torsion.defer import Deferred
    from torsion.failure import Failure
    from torsion.threadpool import ThreadPool

__all__ = [
    "IAddress",
    "IClientFactory",
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
    """Class decorator: record that the class's instances provide ``interfaces``.

    Recorded once, at class creation (``IFoo.providedBy`` reads it); mypy
    checks the methods themselves structurally.  See ``torsion._zopecompat``.
    """
    from torsion import _zopecompat

    return _zopecompat.implementer(*interfaces)


@runtime_checkable
class IAddress(Protocol):
    """Where one end of a connection is; torsion's are frozen dataclasses in ``torsion.address``.

    It has no members: any object can serve as an address.
    """


@runtime_checkable
class IDelayedCall(Protocol):
    """A call scheduled by ``callLater``, which can be moved or cancelled until it runs."""

    def getTime(self) -> float:
        """The time (on the scheduling clock) at which the call is due."""
        ...

    def cancel(self) -> None:
        """Drop the call; raises AlreadyCalled or AlreadyCancelled if it is too late."""
        ...

    def delay(self, secondsLater: float) -> None:
        """Move the due time ``secondsLater`` seconds further away."""
        ...

    def reset(self, secondsFromNow: float) -> None:
        """Make the call due ``secondsFromNow`` seconds from the clock's present time."""
        ...

    def active(self) -> bool:
        """Whether the call is still pending: neither run nor cancelled."""
        ...


# The callables passed to callLater, callWhenRunning, callInThread, callFromThread
# and addSystemEventTrigger are positional-only here: implementations name them
# differently (Twisted's reactor says ``f``, ``_callable`` and ``callable``), and
# keyword arguments after them belong to the callable, not to the method.


@runtime_checkable
class IReactorTime(Protocol):
    """A clock that can run calls later (the reactor, or ``task.Clock`` in tests)."""

    def seconds(self) -> float:
        """The clock's current time, in seconds."""
        ...

    def callLater(
        self, delay: float, callable: Callable[..., Any], /, *args: Any, **kw: Any
    ) -> IDelayedCall:
        """Run ``callable(*args, **kw)`` once, ``delay`` seconds from now."""
        ...

    def getDelayedCalls(self) -> Sequence[IDelayedCall]:
        """The calls scheduled and still pending."""
        ...


@runtime_checkable
class IReactorCore(Protocol):
    """The reactor's lifecycle: run and stop, system events and their triggers."""

    running: bool
    """True from the end of startup until the loop stops."""

    def resolve(self, name: str, timeout: Sequence[int] = ...) -> Deferred[str]:
        """Look up one IPv4 address for host ``name``; the Deferred fires with it."""
        ...

    def run(self) -> None:
        """Start the loop; returns once it has stopped (after ``stop()``)."""
        ...

    def stop(self) -> None:
        """Ask the running loop to shut down: the shutdown triggers run, then it ends."""
        ...

    def crash(self) -> None:
        """End the loop at once, running no shutdown triggers (for tests)."""
        ...

    def iterate(self, delay: float = ...) -> None:
        """Run one turn of the loop, waiting at most ``delay`` seconds for I/O."""
        ...

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the before, during and after triggers of ``eventType``."""
        ...

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable[..., Any], /, *args: Any, **kw: Any
    ) -> Any:
        """Call ``callable`` in ``phase`` (before, during, after) of ``eventType``.

        Returns an opaque ID for ``removeSystemEventTrigger`` (its shape differs
        between reactors, hence ``Any``).  A Deferred returned by a ``before``
        trigger holds the event back until it fires.
        """
        ...

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger by the ID that ``addSystemEventTrigger`` returned."""
        ...

    def callWhenRunning(self, callable: Callable[..., Any], /, *args: Any, **kw: Any) -> Any:
        """Call now if the reactor runs, else once it has started.

        Returns a trigger ID when the call was deferred, else None.
        """
        ...


@runtime_checkable
class IReactorThreads(Protocol):
    """Work handed between the reactor thread and a pool of threads."""

    def getThreadPool(self) -> ThreadPool:
        """The pool that ``callInThread`` uses (made on first use)."""
        ...

    def callInThread(self, callable: Callable[..., Any], /, *args: Any, **kw: Any) -> None:
        """Run ``callable(*args, **kw)`` in a pool thread."""
        ...

    def callFromThread(self, callable: Callable[..., Any], /, *args: Any, **kw: Any) -> None:
        """Run ``callable(*args, **kw)`` in the reactor thread soon; safe from any thread."""
        ...

    def suggestThreadPoolSize(self, size: int) -> None:
        """Let the pool grow to ``size`` threads."""
        ...


@runtime_checkable
class IReadDescriptor(Protocol):
    """Something with a descriptor that the reactor watches for readability."""

    def fileno(self) -> int:
        """The descriptor to watch (-1 once closed)."""
        ...

    def doRead(self) -> BaseException | Failure | None:
        """Called when the descriptor is readable.

        None means all is well; anything else (an exception or a Failure) is
        why the object is dropped: the reactor then calls ``connectionLost``.
        """
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The reactor no longer watches this object; ``reason`` says why."""
        ...


@runtime_checkable
class IWriteDescriptor(Protocol):
    """Something with a descriptor that the reactor watches for writability."""

    def fileno(self) -> int:
        """The descriptor to watch (-1 once closed)."""
        ...

    def doWrite(self) -> BaseException | Failure | None:
        """Called when the descriptor is writable; returns as ``doRead`` does."""
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The reactor no longer watches this object; ``reason`` says why."""
        ...


@runtime_checkable
class IReadWriteDescriptor(IReadDescriptor, IWriteDescriptor, Protocol):
    """A descriptor watched both ways (a connected socket)."""


@runtime_checkable
class IReactorFDSet(Protocol):
    """The reactor's set of watched descriptors."""

    def addReader(self, reader: IReadDescriptor) -> None:
        """Call ``reader.doRead()`` each time its descriptor is readable."""
        ...

    def addWriter(self, writer: IWriteDescriptor) -> None:
        """Call ``writer.doWrite()`` each time its descriptor is writable."""
        ...

    def removeReader(self, reader: IReadDescriptor) -> None:
        """Stop watching ``reader`` (nothing happens if it was not watched)."""
        ...

    def removeWriter(self, writer: IWriteDescriptor) -> None:
        """Stop watching ``writer`` (nothing happens if it was not watched)."""
        ...

    def removeAll(self) -> list[Any]:
        """Stop watching everything but the reactor's own descriptors; return what was removed."""
        ...

    def getReaders(self) -> list[Any]:
        """The readers now watched (not the reactor's own)."""
        ...

    def getWriters(self) -> list[Any]:
        """The writers now watched (not the reactor's own)."""
        ...


@runtime_checkable
class IListeningPort(Protocol):
    """A socket that accepts connections or datagrams on behalf of a factory or protocol."""

    def startListening(self) -> None:
        """Bind and start accepting (``listenTCP`` and friends have done it already)."""
        ...

    def stopListening(self) -> Deferred[None] | None:
        """Stop accepting; a Deferred, when returned, fires once the socket is closed."""
        ...

    def getHost(self) -> IAddress:
        """The address the port is bound to (with the real port number when 0 was asked)."""
        ...


@runtime_checkable
class IConnector(Protocol):
    """One outgoing connection attempt and its reconnections (``connectTCP`` returns it)."""

    def stopConnecting(self) -> None:
        """Give up an attempt in progress; the factory hears ``clientConnectionFailed``."""
        ...

    def disconnect(self) -> None:
        """Close the connection, or give up the attempt if not yet connected."""
        ...

    def connect(self) -> None:
        """Try again (from ``clientConnectionLost``/``Failed``, for instance)."""
        ...

    def getDestination(self) -> IAddress:
        """Where this connector connects to."""
        ...


@runtime_checkable
class IProtocolFactory(Protocol):
    """Makes a protocol for each connection, and hears when it starts and stops serving."""

    def buildProtocol(self, addr: IAddress) -> IProtocol | None:
        """A protocol for a connection with ``addr``, or None to refuse the connection."""
        ...

    def doStart(self) -> None:
        """Called before the first port or connector starts using the factory."""
        ...

    def doStop(self) -> None:
        """Called after the last port or connector has stopped using the factory."""
        ...


@runtime_checkable
class IClientFactory(IProtocolFactory, Protocol):
    """A factory for outgoing connections (Twisted's ``ClientFactory``, as a type).

    Twisted has no interface for it; torsion names one so that ``connectTCP``
    and friends can say what their factory needs.
    """

    def startedConnecting(self, connector: IConnector) -> None:
        """An attempt through ``connector`` has begun."""
        ...

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """The attempt failed; ``connector.connect()`` tries again."""
        ...

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """An established connection ended; ``connector.connect()`` reconnects."""
        ...


@runtime_checkable
class IReactorTCP(Protocol):
    """TCP ports and connections."""

    def listenTCP(
        self, port: int, factory: IProtocolFactory, backlog: int = ..., interface: str = ...
    ) -> IListeningPort:
        """Accept TCP connections on ``interface``:``port`` (port 0: any free one)."""
        ...

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: IClientFactory,
        timeout: float = ...,
        bindAddress: tuple[str, int] | None = ...,
    ) -> IConnector:
        """Connect to ``host``:``port``, giving up after ``timeout`` seconds."""
        ...


@runtime_checkable
class IReactorUNIX(Protocol):
    """UNIX stream sockets, by path (or Linux abstract name, a leading NUL)."""

    def listenUNIX(
        self,
        address: str,
        factory: IProtocolFactory,
        backlog: int = ...,
        mode: int = ...,
        wantPID: int = ...,
    ) -> IListeningPort:
        """Accept connections on the socket ``address`` (created with ``mode``)."""
        ...

    def connectUNIX(
        self, address: str, factory: IClientFactory, timeout: float = ..., checkPID: int = ...
    ) -> IConnector:
        """Connect to the socket ``address``."""
        ...


@runtime_checkable
class IReactorSSL(Protocol):
    """TLS over TCP: ports and connections that encrypt."""

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: Any,
        backlog: int = ...,
        interface: str = ...,
    ) -> IListeningPort:
        """Accept TLS connections on ``interface``:``port``, set up by ``contextFactory``."""
        ...

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: IClientFactory,
        contextFactory: Any,
        timeout: float = ...,
        bindAddress: tuple[str, int] | None = ...,
    ) -> IConnector:
        """Connect over TLS to ``host``:``port``, set up by ``contextFactory``."""
        ...


@runtime_checkable
class IReactorUDP(Protocol):
    """UDP ports."""

    def listenUDP(
        self, port: int, protocol: Any, interface: str = ..., maxPacketSize: int = ...
    ) -> IListeningPort:
        """Bind a UDP port for a DatagramProtocol (port 0: any free one)."""
        ...


@runtime_checkable
class IReactorUNIXDatagram(Protocol):
    """UNIX datagram sockets."""

    def listenUNIXDatagram(
        self, address: str, protocol: Any, maxPacketSize: int = ..., mode: int = ...
    ) -> IListeningPort:
        """Bind a datagram socket at ``address`` for a DatagramProtocol."""
        ...

    def connectUNIXDatagram(
        self,
        address: str,
        protocol: Any,
        maxPacketSize: int = ...,
        mode: int = ...,
        bindAddress: str | None = ...,
    ) -> IListeningPort:
        """Connect a ConnectedDatagramProtocol to the datagram socket ``address``."""
        ...


@runtime_checkable
class IReactorSocket(Protocol):
    """Adopt sockets made elsewhere (inherited, passed over a UNIX socket, systemd)."""

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: int, factory: IProtocolFactory
    ) -> IListeningPort:
        """Accept connections on the listening socket ``fileDescriptor`` (a duplicate of it)."""
        ...

    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: int, factory: IProtocolFactory
    ) -> None:
        """Serve the connected socket ``fileDescriptor`` with a protocol from ``factory``."""
        ...

    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: int, protocol: Any, maxPacketSize: int = ...
    ) -> IListeningPort:
        """Serve the bound datagram socket ``fileDescriptor`` with ``protocol``."""
        ...


@runtime_checkable
class IHostResolution(Protocol):
    """A name resolution in progress (``IHostnameResolver.resolveHostName`` returns one)."""

    name: str
    """The name being resolved."""

    def cancel(self) -> None:
        """Stop the resolution; the receiver is told it is complete."""
        ...


@runtime_checkable
class IResolutionReceiver(Protocol):
    """Told of a resolution's progress: began, each address, then complete (always)."""

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """The resolution has started; ``resolutionInProgress`` can cancel it."""
        ...

    def addressResolved(self, address: IAddress) -> None:
        """One more address for the name."""
        ...

    def resolutionComplete(self) -> None:
        """No more addresses will come (also after a failure or a cancel)."""
        ...


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
    ) -> IHostResolution:
        """Start resolving ``hostName``; results go to ``resolutionReceiver``.

        ``addressTypes`` limits the families (None: all); ``transportSemantics``
        is ``"TCP"`` or ``"UDP"``.
        """
        ...


@runtime_checkable
class IResolverSimple(Protocol):
    """Resolves a name to one IPv4 address string (``reactor.resolve`` uses one)."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ...) -> Deferred[str]:
        """Look ``name`` up, retrying after each of the ``timeout`` seconds."""
        ...


@runtime_checkable
class IReactorPluggableNameResolver(Protocol):
    """A reactor whose name resolver can be replaced."""

    @property
    def nameResolver(self) -> IHostnameResolver:
        """The resolver in use."""
        ...

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """Use ``resolver`` from now on; returns the one it replaces."""
        ...


@runtime_checkable
class IReactorPluggableResolver(Protocol):
    """A reactor whose simple (IPv4, one address) resolver can be replaced."""

    def installResolver(self, resolver: IResolverSimple) -> IResolverSimple:
        """Use ``resolver`` from now on; returns the one it replaces."""
        ...


@runtime_checkable
class IReactorProcess(Protocol):
    """Child processes."""

    def spawnProcess(
        self,
        processProtocol: IProcessProtocol,
        executable: str | bytes,
        args: Any = ...,
        env: dict[Any, Any] | None = ...,
        path: str | None = ...,
        uid: int | None = ...,
        gid: int | None = ...,
        usePTY: bool = ...,
        childFDs: dict[int, Any] | None = ...,
    ) -> IProcessTransport:
        """Start ``executable`` with ``args`` and connect it to ``processProtocol``.

        ``env`` is the whole environment (Twisted's default is an empty one),
        ``path`` the working directory; ``childFDs`` maps child descriptors to
        ``"r"``, ``"w"`` or a parent descriptor to share.
        """
        ...


@runtime_checkable
class IProducer(Protocol):
    """A source of data written to a consumer."""

    def stopProducing(self) -> None:
        """Stop for good: the consumer will take no more."""
        ...


@runtime_checkable
class IPushProducer(IProducer, Protocol):
    """A producer that writes on its own until paused (streaming)."""

    def pauseProducing(self) -> None:
        """Stop writing until ``resumeProducing`` (the consumer's buffer is full)."""
        ...

    def resumeProducing(self) -> None:
        """Writing may go on."""
        ...


@runtime_checkable
class IPullProducer(IProducer, Protocol):
    """A producer that writes one piece each time it is asked."""

    def resumeProducing(self) -> None:
        """Write the next piece to the consumer."""
        ...


@runtime_checkable
class IConsumer(Protocol):
    """Takes data, and regulates a producer that feeds it."""

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """Attach ``producer``: a push producer if ``streaming``, else a pull producer."""
        ...

    def unregisterProducer(self) -> None:
        """Detach the producer."""
        ...

    def write(self, data: bytes) -> None:
        """Take ``data``."""
        ...


@runtime_checkable
class ITransport(Protocol):
    """The protocol's side of a connection: write bytes, close, ask the addresses."""

    def write(self, data: bytes) -> None:
        """Send ``data`` (queued when the peer is slow; never lost before a close)."""
        ...

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Send each piece of ``data`` in order, as one write."""
        ...

    def loseConnection(self) -> None:
        """Close once everything written has been sent."""
        ...

    def getPeer(self) -> IAddress:
        """The other end's address."""
        ...

    def getHost(self) -> IAddress:
        """This end's address."""
        ...


@runtime_checkable
class ISystemHandle(Protocol):
    """Gives the system object under a transport (the socket of a TCP or UNIX one)."""

    def getHandle(self) -> Any:
        """The socket (or other object) the transport drives; its type varies."""
        ...


@runtime_checkable
class ITCPTransport(ITransport, Protocol):
    """A stream-socket transport: half-close, abort and socket options."""

    def loseWriteConnection(self) -> None:
        """Close the sending direction once the queued data has gone; reading goes on."""
        ...

    def abortConnection(self) -> None:
        """Close now, dropping whatever is still queued."""
        ...

    def getTcpNoDelay(self) -> bool:
        """Whether Nagle's algorithm is off (TCP_NODELAY)."""
        ...

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Turn TCP_NODELAY on or off."""
        ...

    def getTcpKeepAlive(self) -> bool:
        """Whether SO_KEEPALIVE is on."""
        ...

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Turn SO_KEEPALIVE on or off."""
        ...


@runtime_checkable
class ITLSTransport(ITCPTransport, Protocol):
    """A TCP transport that can switch to TLS mid-stream."""

    def startTLS(self, contextFactory: Any) -> None:
        """Start TLS after what has been written so far, set up by ``contextFactory``."""
        ...


@runtime_checkable
class IProcessTransport(ITransport, Protocol):
    """The parent's side of a child process: its pipes and its signals."""

    pid: int | None
    """The child's process ID, None once it has been reaped."""

    def closeStdin(self) -> None:
        """Close the child's standard input (after what was written to it)."""
        ...

    def closeStdout(self) -> None:
        """Close the pipe from the child's standard output."""
        ...

    def closeStderr(self) -> None:
        """Close the pipe from the child's standard error."""
        ...

    def closeChildFD(self, descriptor: int) -> None:
        """Close the parent's end of the pipe to child descriptor ``descriptor``."""
        ...

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """Write ``data`` to the pipe read by the child as ``childFD``."""
        ...

    def signalProcess(self, signalID: str | int) -> None:
        """Send a signal: a number, or ``"KILL"``, ``"TERM"``, ``"INT"``... (ProcessExitedAlready
        once it is gone)."""
        ...


@runtime_checkable
class IUDPTransport(Protocol):
    """A UDP port as its protocol sees it."""

    def write(self, packet: bytes, addr: Any = ...) -> None:
        """Send one datagram to ``addr`` (a ``(host, port)``; omitted when connected)."""
        ...

    def connect(self, host: str, port: int) -> None:
        """Talk to one peer only: ``write`` needs no address and others are ignored."""
        ...

    def getHost(self) -> IAddress:
        """The address the port is bound to."""
        ...

    def stopListening(self) -> Deferred[None] | None:
        """Close the port; a Deferred, when returned, fires once it is closed."""
        ...

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """Allow or forbid sending to broadcast addresses (SO_BROADCAST)."""
        ...

    def getBroadcastAllowed(self) -> bool:
        """Whether sending to broadcast addresses is allowed."""
        ...


@runtime_checkable
class IProtocol(Protocol):
    """What a stream connection calls: made, data, lost."""

    def makeConnection(self, transport: ITransport) -> None:
        """Attach ``transport`` and call ``connectionMade``."""
        ...

    def connectionMade(self) -> None:
        """The connection is up; ``self.transport`` can write."""
        ...

    def dataReceived(self, data: bytes) -> None:
        """Bytes from the peer, in pieces of any size."""
        ...

    def connectionLost(self, reason: Failure) -> None:
        """The connection is closed; ``reason`` says how (ConnectionDone when cleanly)."""
        ...


@runtime_checkable
class IHalfCloseableProtocol(Protocol):
    """A protocol told about each direction's close separately (TCP half-close)."""

    def readConnectionLost(self) -> None:
        """The peer will send no more; this side may still write."""
        ...

    def writeConnectionLost(self) -> None:
        """This side's sending direction is closed (after ``loseWriteConnection``)."""
        ...


@runtime_checkable
class IFileDescriptorReceiver(Protocol):
    """A protocol on a UNIX socket that receives descriptors (SCM_RIGHTS)."""

    def fileDescriptorReceived(self, descriptor: int) -> None:
        """A descriptor arrived; the protocol now owns it and must close it."""
        ...


@runtime_checkable
class IProcessProtocol(Protocol):
    """What a child process's transport calls: output, closed pipes, exit."""

    def makeConnection(self, process: IProcessTransport) -> None:
        """Attach the process transport and call ``connectionMade``."""
        ...

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        """The child wrote ``data`` on its descriptor ``childFD``."""
        ...

    def childConnectionLost(self, childFD: int) -> None:
        """The pipe for the child's descriptor ``childFD`` has closed."""
        ...

    def processExited(self, reason: Failure) -> None:
        """The child has exited (its pipes may still be open); ProcessDone or
        ProcessTerminated."""
        ...

    def processEnded(self, reason: Failure) -> None:
        """The child has exited and every pipe has closed: the last call."""
        ...


@runtime_checkable
class IStreamServerEndpoint(Protocol):
    """Where to listen, described once (``serverFromString`` builds one)."""

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """Start listening; the Deferred fires with the listening port."""
        ...


@runtime_checkable
class IStreamClientEndpoint(Protocol):
    """Where to connect, described once (``clientFromString`` builds one)."""

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """Connect; the Deferred fires with the protocol the factory built."""
        ...


# zope.interface's class API for the interfaces above: IFoo.providedBy(obj),
# IFoo.implementedBy(cls), adaptation IFoo(obj[, default]), verifyObject and
# verifyClass; each Protocol class becomes an InterfaceClass (see torsion._zopecompat).
@runtime_checkable
class ILoggingContext(Protocol):
    """Something that names itself in logs (protocols, factories, transports)."""

    def logPrefix(self) -> str:
        """The short name log lines about this object start with."""
        ...


@runtime_checkable
class IHandshakeListener(Protocol):
    """A protocol told when the TLS handshake of its connection has completed."""

    def handshakeCompleted(self) -> None:
        """Called once, when the TLS handshake has completed (certificates are known)."""
        ...


@runtime_checkable
class IStreamServerEndpointStringParser(Protocol):
    """The shape of Twisted's endpoint-description plugins (torsion loads none)."""

    prefix: str

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:
        """The server endpoint for a description's arguments (after ``prefix:``)."""
        ...


from torsion import address as _addresses  # noqa: E402
from torsion._zopecompat import (  # noqa: E402
    BrokenImplementation,
    InterfaceClass,
    alsoProvides,
    declareInterfaces,
    directlyProvides,
    provider,
    verifyClass,
    verifyObject,
)

declareInterfaces(globals())
for _name in _addresses.__all__:  # IAddress has no members: torsion's addresses declare it
    implementer(IAddress)(getattr(_addresses, _name))
__all__ += [
    "BrokenImplementation",
    "IHandshakeListener",
    "ILoggingContext",
    "IStreamServerEndpointStringParser",
    "InterfaceClass",
    "alsoProvides",
    "directlyProvides",
    "provider",
    "verifyClass",
    "verifyObject",
]
