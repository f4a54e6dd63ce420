"""Test doubles for code built on torsion (Twisted's ``internet.testing``).

``StringTransport`` stands in for a connection: it records what a protocol
writes and how it asks to close, and lets a test play the peer by calling
``protocol.dataReceived``.  ``MemoryReactor`` stands in for the reactor: it
records ``listenTCP``/``connectTCP``/... calls in lists a test can inspect and
returns inert ports and connectors.  ``MemoryReactorClock`` adds the virtual
time of ``task.Clock``.  ``connectedPair`` joins two protocols through two
string transports and moves their bytes on demand.  The smaller doubles
(``AccumulatingProtocol``, ``RaisingMemoryReactor``, ``EventLoggingObserver``
...) live in ``_testing_helpers``.

Nothing here touches the network, a file descriptor or the wall clock.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from io import BytesIO
from typing import TYPE_CHECKING, Any

from torsion import _log, error
from torsion._testing_helpers import (
    AccumulatingProtocol,
    EventLoggingObserver,
    FakeDatagramTransport,
    LineSendingProtocol,
    NonStreamingProducer,
    RaisingMemoryReactor,
    SynchronousResolver,
    waitUntilAllDisconnected,
)
from torsion._util import isIPv6Address
from torsion.address import IPv4Address, IPv6Address, UNIXAddress
from torsion.defer import Deferred, succeed
from torsion.failure import Failure
from torsion.task import Clock

if TYPE_CHECKING:
    from torsion._core.base import ReactorCore

__all__ = [
    "AccumulatingProtocol",
    "EventLoggingObserver",
    "FakeDatagramTransport",
    "IOPump",
    "LineSendingProtocol",
    "MemoryReactor",
    "MemoryReactorClock",
    "NonStreamingProducer",
    "RaisingMemoryReactor",
    "StringIOWithoutClosing",
    "StringTransport",
    "StringTransportWithDisconnection",
    "SynchronousResolver",
    "_FakeConnector",
    "_FakePort",
    "connectedPair",
    "recordBackendCalls",
    "waitUntilAllDisconnected",
]

_Address = IPv4Address | IPv6Address | UNIXAddress
_TriggerEntry = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_PHASES = ("before", "during", "after")


def _checkBytes(data: object, method: str) -> None:
    if not isinstance(data, bytes):
        raise TypeError(f"{method}() takes bytes, not {type(data).__name__}: {data!r:.60}")


class StringTransport:
    """A transport that keeps what is written in memory and records every request.

    ``value()`` is everything written since the last ``clear()``.
    ``disconnecting`` turns true on ``loseConnection()``, ``disconnected`` on
    ``abortConnection()``; nothing else happens (see
    StringTransportWithDisconnection).  As a consumer it holds one producer
    (``producer``, ``streaming``); as a push producer its state is
    ``producerState``: ``"producing"``, ``"paused"`` or ``"stopped"``.

    ``lenient=False`` makes ``pauseProducing``/``resumeProducing`` after
    ``loseConnection()`` an error, which catches protocols that expect data
    from a closed connection.
    """

    disconnecting: bool = False
    disconnected: bool = False
    producer: Any = None
    streaming: bool | None = None
    hostAddr: Any = None
    peerAddr: Any = None
    producerState: str = "producing"
    #: Set by ``loseWriteConnection()`` (a half-close).
    writeDisconnected: bool = False

    def __init__(
        self, hostAddress: Any = None, peerAddress: Any = None, lenient: bool = False
    ) -> None:
        self.io = BytesIO()
        if hostAddress is not None:
            self.hostAddr = hostAddress
        if peerAddress is not None:
            self.peerAddr = peerAddress
        self.connected = True
        self._lenient = lenient
        self.tcpNoDelay = True
        self.tcpKeepAlive = False

    # Test helpers.

    def clear(self) -> None:
        """Forget what has been written so far."""
        self.io = BytesIO()

    def value(self) -> bytes:
        """Everything written since the transport was made or last cleared."""
        return self.io.getvalue()

    # The transport.

    def write(self, data: bytes) -> None:
        """Record ``data``; anything but ``bytes`` is a TypeError, as on a real transport."""
        _checkBytes(data, "write")
        self.io.write(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """Record each item of ``data`` in order; all must be ``bytes``."""
        items = list(data)
        for item in items:
            _checkBytes(item, "writeSequence")
        self.io.write(b"".join(items))

    def loseConnection(self) -> None:
        """Ask to close: sets ``disconnecting``."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        """Ask to close at once: sets ``disconnected`` and ``disconnecting``."""
        self.disconnected = True
        self.loseConnection()

    def loseWriteConnection(self) -> None:
        """Half-close: sets ``writeDisconnected``."""
        self.writeDisconnected = True

    def getPeer(self) -> Any:
        """The peer address given to ``__init__``, or a fixed IPv4 one."""
        if self.peerAddr is None:
            return IPv4Address("TCP", "192.168.1.1", 54321)
        return self.peerAddr

    def getHost(self) -> Any:
        """The host address given to ``__init__``, or a fixed IPv4 one."""
        if self.hostAddr is None:
            return IPv4Address("TCP", "10.0.0.1", 12345)
        return self.hostAddr

    def setTcpNoDelay(self, enabled: bool) -> None:
        """Record the TCP_NODELAY setting (on by default, as on torsion's TCP transports)."""
        self.tcpNoDelay = bool(enabled)

    def getTcpNoDelay(self) -> bool:
        return self.tcpNoDelay

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """Record the SO_KEEPALIVE setting."""
        self.tcpKeepAlive = bool(enabled)

    def getTcpKeepAlive(self) -> bool:
        return self.tcpKeepAlive

    # The consumer.

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Hold ``producer``; RuntimeError if one is already registered."""
        if self.producer is not None:
            raise RuntimeError(
                f"cannot register producer {producer!r}: {self.producer!r} is already registered"
            )
        self.producer = producer
        self.streaming = streaming

    def unregisterProducer(self) -> None:
        """Drop the producer; RuntimeError if none is registered."""
        if self.producer is None:
            raise RuntimeError("cannot unregister a producer: none is registered")
        self.producer = None
        self.streaming = None

    # The push producer.

    def _checkState(self, what: str) -> None:
        if self.disconnecting and not self._lenient:
            raise RuntimeError(f"cannot {what} a transport after loseConnection()")
        if self.producerState == "stopped":
            raise RuntimeError(f"cannot {what} a stopped transport")

    def pauseProducing(self) -> None:
        self._checkState("pause")
        self.producerState = "paused"

    def resumeProducing(self) -> None:
        self._checkState("resume")
        self.producerState = "producing"

    def stopProducing(self) -> None:
        self.producerState = "stopped"


class StringTransportWithDisconnection(StringTransport):
    """A StringTransport that tells its ``protocol`` the connection is lost when closed.

    Set ``transport.protocol`` before closing.  ``loseConnection()`` calls
    ``protocol.connectionLost`` once with ConnectionDone, ``abortConnection()``
    with ConnectionAborted.
    """

    protocol: Any = None

    def _lose(self, reason: BaseException) -> None:
        self.disconnecting = True
        if self.connected:
            self.connected = False
            self.protocol.connectionLost(Failure(reason))

    def loseConnection(self) -> None:
        self._lose(error.ConnectionDone("Bye."))

    def abortConnection(self) -> None:
        self.disconnected = True
        self._lose(error.ConnectionAborted())


class StringIOWithoutClosing(BytesIO):
    """A BytesIO that ignores ``close()``, so its value can be read afterwards."""

    def close(self) -> None:
        """Do nothing."""


class _FakePort:
    """A listening port that listens on nothing; ``getHost()`` is the address it was given."""

    def __init__(self, hostAddress: Any) -> None:
        self._hostAddress = hostAddress
        self.listening = True

    def startListening(self) -> None:
        self.listening = True

    def stopListening(self) -> Deferred[None]:
        """Mark the port closed; returns an already-fired Deferred, as a real port may."""
        self.listening = False
        return succeed(None)

    def getHost(self) -> Any:
        return self._hostAddress


class _FakeConnector:
    """A connector that never connects; it records what it was asked to do.

    ``state`` starts as ``"connecting"``; ``stopConnecting()`` and
    ``disconnect()`` make it ``"disconnected"``, ``connect()`` makes it
    ``"connecting"`` again and counts the attempt in ``connectAttempts``.
    """

    def __init__(self, address: Any) -> None:
        self._address = address
        self.state = "connecting"
        self.stoppedConnecting = False
        self._disconnected = False
        self.connectAttempts = 1

    def stopConnecting(self) -> None:
        self.stoppedConnecting = True
        self.state = "disconnected"

    def disconnect(self) -> None:
        self._disconnected = True
        self.state = "disconnected"

    def connect(self) -> None:
        self.connectAttempts += 1
        self.state = "connecting"

    def getDestination(self) -> Any:
        return self._address


class _FakeProcess(StringTransport):
    """The process transport ``MemoryReactor.spawnProcess`` returns.

    Writes to the child's stdin land in ``value()``; ``signals`` lists the
    signals sent; ``closedChildFDs`` the descriptors closed.
    """

    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid: int | None = pid
        self.signals: list[str | int] = []
        self.closedChildFDs: set[int] = set()
        self.childWrites: dict[int, bytes] = {}

    def signalProcess(self, signalID: str | int) -> None:
        if self.pid is None:
            raise error.ProcessExitedAlready()
        self.signals.append(signalID)

    def writeToChild(self, childFD: int, data: bytes) -> None:
        _checkBytes(data, "writeToChild")
        if childFD == 0:
            self.write(data)
        else:
            self.childWrites[childFD] = self.childWrites.get(childFD, b"") + data

    def closeChildFD(self, childFD: int) -> None:
        self.closedChildFDs.add(childFD)

    def closeStdin(self) -> None:
        self.closeChildFD(0)

    def closeStdout(self) -> None:
        self.closeChildFD(1)

    def closeStderr(self) -> None:
        self.closeChildFD(2)


class MemoryReactor:
    """A reactor that records what it is asked to do and does none of it.

    Each ``listenXXX``/``connectXXX`` call is appended to a list with its
    arguments (``tcpServers``, ``tcpClients``, ``sslServers``, ``sslClients``,
    ``unixServers``, ``unixClients``, ``udpPorts``, ``processes``) and returns
    a fake port or connector (``tcpServers`` and ``sslServers`` keep
    Twisted's tuples; torsion's ``reusePort`` keyword goes, call by call, to
    ``tcpServersReusePort`` and ``sslServersReusePort``); ``connectXXX`` also calls
    ``factory.startedConnecting(connector)`` and adds the connector to
    ``connectors``.  ``run()`` runs the ``callWhenRunning`` hooks and stops;
    system event triggers are kept in ``triggers[phase][eventType]`` and run by
    ``fireSystemEvent``.
    """

    def __init__(self) -> None:
        self.hasInstalled = False
        self.running = False
        self.hasRun = False
        self.hasStopped = False
        self.hasCrashed = False
        self.whenRunningHooks: list[_TriggerEntry] = []
        self.triggers: dict[str, dict[str, list[_TriggerEntry]]] = {}
        self.tcpServers: list[tuple[int, Any, int, str]] = []
        self.tcpClients: list[tuple[str, int, Any, float, Any]] = []
        self.sslServers: list[tuple[int, Any, Any, int, str]] = []
        self.tcpServersReusePort: list[bool] = []
        self.sslServersReusePort: list[bool] = []
        self.sslClients: list[tuple[str, int, Any, Any, float, Any]] = []
        self.unixServers: list[tuple[str, Any, int, int, int]] = []
        self.unixClients: list[tuple[str, Any, float, int]] = []
        self.udpPorts: list[tuple[int, Any, str, int]] = []
        self.processes: list[
            tuple[Any, str | bytes, tuple[str | bytes, ...], Any, Any, Any, Any, Any, Any]
        ] = []
        self.adoptedPorts: list[tuple[Any, ...]] = []
        self.adoptedStreamConnections: list[tuple[Any, int, Any]] = []
        self.connectors: list[_FakeConnector] = []
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()
        self._nextPID = 1000
        self.nameResolver: Any = SynchronousResolver()

    def install(self) -> None:
        """Pretend to install this reactor as the global one."""
        self.hasInstalled = True

    def installNameResolver(self, resolver: Any) -> Any:
        """Replace ``nameResolver``; returns the previous one."""
        previous, self.nameResolver = self.nameResolver, resolver
        return previous

    def resolve(self, name: str, timeout: Any = 10) -> Any:
        """Not supported: a memory reactor has no resolver."""
        raise NotImplementedError("MemoryReactor cannot resolve host names")

    # The core.

    def run(self) -> None:
        """Run the ``callWhenRunning`` hooks, then stop (as if ``stop()`` had been called)."""
        if self.running:
            raise error.ReactorAlreadyRunning()
        self.running = True
        self.hasRun = True
        hooks, self.whenRunningHooks = self.whenRunningHooks, []
        for f, args, kw in hooks:
            f(*args, **kw)
        self.stop()

    def stop(self) -> None:
        self.running = False
        self.hasStopped = True

    def crash(self) -> None:
        """Stop at once, without shutdown triggers (sets ``hasCrashed``)."""
        self.running = False
        self.hasCrashed = True

    def iterate(self, delay: float = 0) -> None:
        """Not supported: a memory reactor has nothing to iterate over."""
        raise NotImplementedError("MemoryReactor has no event loop to iterate")

    def callWhenRunning(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Call now if ``run()`` has been called, else keep it for ``run()``."""
        if self.running or self.hasRun:
            callable(*args, **kw)
        else:
            self.whenRunningHooks.append((callable, args, kw))

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> tuple[str, str, _TriggerEntry]:
        """Keep a trigger in ``triggers[phase][eventType]``; returns an id for removal."""
        if phase not in _PHASES:
            raise ValueError(f"invalid trigger phase {phase!r}: use 'before', 'during' or 'after'")
        entry: _TriggerEntry = (callable, args, kw)
        self.triggers.setdefault(phase, {}).setdefault(eventType, []).append(entry)
        return (phase, eventType, entry)

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger by the id ``addSystemEventTrigger`` returned."""
        try:
            phase, eventType, entry = triggerID
            entries = self.triggers[phase][eventType]
            index = next(i for i, e in enumerate(entries) if e is entry)
        except (KeyError, StopIteration, TypeError, ValueError):
            raise ValueError(f"no such system event trigger: {triggerID!r}") from None
        del entries[index]

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the ``before``, ``during`` then ``after`` triggers of ``eventType``.

        Unlike a real reactor this does not wait for Deferreds returned by
        ``before`` triggers.  An exception in a trigger is logged and the
        others still run.
        """
        for phase in _PHASES:
            for f, args, kw in list(self.triggers.get(phase, {}).get(eventType, [])):
                try:
                    f(*args, **kw)
                except Exception as e:
                    _log.log_failure(f"Error in {phase!r} {eventType!r} trigger {f!r}:", e)

    # Connections.

    def listenTCP(
        self,
        port: int,
        factory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> _FakePort:
        self.tcpServers.append((port, factory, backlog, interface))
        self.tcpServersReusePort.append(reusePort)
        if isIPv6Address(interface):
            return _FakePort(IPv6Address("TCP", interface, port))
        return _FakePort(IPv4Address("TCP", "0.0.0.0", port))

    def _connector(self, address: Any, factory: Any) -> _FakeConnector:
        connector = _FakeConnector(address)
        factory.startedConnecting(connector)
        self.connectors.append(connector)
        return connector

    def connectTCP(
        self, host: str, port: int, factory: Any, timeout: float = 30, bindAddress: Any = None
    ) -> _FakeConnector:
        self.tcpClients.append((host, port, factory, timeout, bindAddress))
        if isIPv6Address(host):
            return self._connector(IPv6Address("TCP", host, port), factory)
        return self._connector(IPv4Address("TCP", host, port), factory)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> _FakePort:
        self.sslServers.append((port, factory, contextFactory, backlog, interface))
        self.sslServersReusePort.append(reusePort)
        return _FakePort(IPv4Address("TCP", "0.0.0.0", port))

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> _FakeConnector:
        self.sslClients.append((host, port, factory, contextFactory, timeout, bindAddress))
        return self._connector(IPv4Address("TCP", host, port), factory)

    def listenUNIX(
        self,
        address: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> _FakePort:
        self.unixServers.append((address, factory, backlog, mode, wantPID))
        return _FakePort(UNIXAddress(os.fsencode(address)))

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> _FakeConnector:
        self.unixClients.append((address, factory, timeout, checkPID))
        return self._connector(UNIXAddress(os.fsencode(address)), factory)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> _FakePort:
        self.udpPorts.append((port, protocol, interface, maxPacketSize))
        host = interface or "0.0.0.0"
        if isIPv6Address(host):
            return _FakePort(IPv6Address("UDP", host, port))
        return _FakePort(IPv4Address("UDP", host, port))

    def adoptStreamPort(self, fileno: int, addressFamily: int, factory: Any) -> _FakePort:
        self.adoptedPorts.append((fileno, addressFamily, factory))
        return _FakePort(self._adoptedAddress("TCP", addressFamily))

    def adoptStreamConnection(self, fileDescriptor: Any, addressFamily: int, factory: Any) -> None:
        self.adoptedStreamConnections.append((fileDescriptor, addressFamily, factory))

    def adoptDatagramPort(
        self, fileno: int, addressFamily: int, protocol: Any, maxPacketSize: int = 8192
    ) -> _FakePort:
        self.adoptedPorts.append((fileno, addressFamily, protocol, maxPacketSize))
        return _FakePort(self._adoptedAddress("UDP", addressFamily))

    @staticmethod
    def _adoptedAddress(kind: Any, addressFamily: int) -> Any:
        if addressFamily == socket.AF_INET:
            return IPv4Address(kind, "0.0.0.0", 1234)
        if addressFamily == socket.AF_INET6:
            return IPv6Address(kind, "::", 1234)
        raise error.UnsupportedAddressFamily(addressFamily)

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: str | bytes,
        args: Iterable[str | bytes] = (),
        env: Any = None,
        path: Any = None,
        uid: Any = None,
        gid: Any = None,
        usePTY: Any = False,
        childFDs: Any = None,
    ) -> _FakeProcess:
        """Record the call in ``processes`` and connect the protocol to a fake process."""
        args = tuple(args)
        self.processes.append(
            (processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs)
        )
        process = _FakeProcess(self._nextPID)
        self._nextPID += 1
        processProtocol.makeConnection(process)
        return process

    # File descriptors.

    def addReader(self, reader: Any) -> None:
        self.readers.add(reader)

    def removeReader(self, reader: Any) -> None:
        self.readers.discard(reader)

    def addWriter(self, writer: Any) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer: Any) -> None:
        self.writers.discard(writer)

    def getReaders(self) -> list[Any]:
        return list(self.readers)

    def getWriters(self) -> list[Any]:
        return list(self.writers)

    def removeAll(self) -> list[Any]:
        """Forget every reader and writer; returns them."""
        removed = list(self.readers | self.writers)
        self.readers.clear()
        self.writers.clear()
        return removed


class MemoryReactorClock(MemoryReactor, Clock):
    """A MemoryReactor with the virtual time of ``task.Clock`` (``callLater``, ``advance``)."""

    def __init__(self) -> None:
        MemoryReactor.__init__(self)
        Clock.__init__(self)


class IOPump:
    """Moves bytes between two protocols joined by ``connectedPair``, on demand.

    ``pump()`` delivers what each side has written to the other, once;
    ``flush()`` repeats until neither side has anything more to say.  A side
    that called ``loseConnection()`` gets ``connectionLost`` once its output
    has been delivered, and so does its peer.
    """

    def __init__(
        self,
        client: Any,
        server: Any,
        clientTransport: StringTransport,
        serverTransport: StringTransport,
    ) -> None:
        self.client = client
        self.server = server
        self.clientTransport = clientTransport
        self.serverTransport = serverTransport
        self.closed = False

    def pump(self) -> bool:
        """Deliver pending bytes both ways once; returns whether anything moved."""
        if self.closed:
            return False
        moved = False
        for transport, receiver in (
            (self.clientTransport, self.server),
            (self.serverTransport, self.client),
        ):
            data = transport.value()
            if data:
                transport.clear()
                receiver.dataReceived(data)
                moved = True
        if not moved and (
            self.clientTransport.disconnecting or self.serverTransport.disconnecting
        ):
            self._close()
        return moved

    def flush(self, maxTurns: int = 10000) -> None:
        """Pump until quiet; RuntimeError if the two sides are still talking after ``maxTurns``."""
        for _ in range(maxTurns):
            if not self.pump():
                return
        raise RuntimeError(f"connectedPair still busy after {maxTurns} turns")

    def _close(self) -> None:
        self.closed = True
        for transport, peerTransport, protocol in (
            (self.clientTransport, self.serverTransport, self.client),
            (self.serverTransport, self.clientTransport, self.server),
        ):
            transport.connected = False
            reason: BaseException = error.ConnectionDone()
            if transport.disconnected:
                reason = error.ConnectionAborted()
            elif peerTransport.disconnected:
                reason = error.ConnectionLost()
            protocol.connectionLost(Failure(reason))


def connectedPair(
    serverProtocol: Any,
    clientProtocol: Any,
    serverAddress: Any = None,
    clientAddress: Any = None,
) -> IOPump:
    """Connect two protocols through StringTransports and return the IOPump between them.

    Both see ``connectionMade`` (server first); nothing moves until the pump
    is pumped or flushed.
    """
    serverAddress = serverAddress or IPv4Address("TCP", "127.0.0.1", 8080)
    clientAddress = clientAddress or IPv4Address("TCP", "127.0.0.1", 54321)
    serverTransport = StringTransport(hostAddress=serverAddress, peerAddress=clientAddress)
    clientTransport = StringTransport(hostAddress=clientAddress, peerAddress=serverAddress)
    serverProtocol.makeConnection(serverTransport)
    clientProtocol.makeConnection(clientTransport)
    return IOPump(clientProtocol, serverProtocol, clientTransport, serverTransport)


class _BackendSpy:
    """Records the backend calls a reactor makes, and passes them on."""

    def __init__(self, backend: Any, calls: list[tuple[str, int]]) -> None:
        self.backend = backend
        self.calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def register(self, fd: int, mask: int) -> None:
        self.calls.append(("register", fd))
        self.backend.register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self.calls.append(("modify", fd))
        self.backend.modify(fd, mask)

    def unregister(self, fd: int) -> None:
        self.calls.append(("unregister", fd))
        self.backend.unregister(fd)


@contextlib.contextmanager
def recordBackendCalls(reactor: ReactorCore) -> Iterator[list[tuple[str, int]]]:
    """Record, while the block runs, each ``("register" | "modify" | "unregister", fd)``
    call that ``reactor`` makes to its readiness backend (torsion-only).

    For tests of how the reactor drives the backend (how many system calls a
    change of interest costs), without reaching into the reactor's private
    state.  The calls still reach the backend.
    """
    calls: list[tuple[str, int]] = []
    backend = reactor._backend
    reactor._backend = _BackendSpy(backend, calls)
    try:
        yield calls
    finally:
        reactor._backend = backend


if TYPE_CHECKING:
    # mypy checks here that the doubles provide the interfaces they stand in for.
    from torsion import interfaces

    _transport: interfaces.ITCPTransport = StringTransport()
    _consumer: interfaces.IConsumer = StringTransport()
    _producer: interfaces.IPushProducer = StringTransport()
    _process: interfaces.IProcessTransport = _FakeProcess(0)
    _port: interfaces.IListeningPort = _FakePort(None)
    _connector: interfaces.IConnector = _FakeConnector(None)
    _core: interfaces.IReactorCore = MemoryReactor()
    _fds: interfaces.IReactorFDSet = MemoryReactor()
    _tcp: interfaces.IReactorTCP = MemoryReactor()
    _unix: interfaces.IReactorUNIX = MemoryReactor()
    _ssl: interfaces.IReactorSSL = MemoryReactor()
    _udp: interfaces.IReactorUDP = MemoryReactor()
    _spawn: interfaces.IReactorProcess = MemoryReactor()
    _time: interfaces.IReactorTime = MemoryReactorClock()
    _raisingTCP: interfaces.IReactorTCP = RaisingMemoryReactor()
    _raisingUNIX: interfaces.IReactorUNIX = RaisingMemoryReactor()
    _raisingSSL: interfaces.IReactorSSL = RaisingMemoryReactor()
    _accumulating: interfaces.IProtocol = AccumulatingProtocol()
    _pull: interfaces.IPullProducer = NonStreamingProducer(None)
