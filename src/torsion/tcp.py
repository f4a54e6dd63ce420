"""TCP: listening ports, server and client transports, and the Connector.

``Port`` is a reactor reader on its listening socket; each readiness event
accepts up to ``acceptBurst`` connections, builds a protocol for each from the
factory and starts a ``Server`` transport.  When the process runs out of
descriptors (EMFILE/ENFILE/ENOBUFS/ENOMEM) the port stops reading and tries
again after a short, growing pause, so the loop does not spin on a listening
socket that stays readable; accepting resumes by itself once descriptors free
up.

``Connector`` (``reactor.connectTCP``) makes a ``Client`` transport per
attempt; the client resolves the host name (through ``reactor.resolve``) on
the next turn of the loop, then connects without blocking.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any

from torsion import _log, error
from torsion._stream import BaseConnector, ClientConnection, StreamConnection
from torsion.address import IPv4Address, IPv6Address
from torsion.failure import Failure

__all__ = ["Client", "Connector", "Port", "Server"]

_NODELAY_INHERITED = sys.platform == "linux"
_ACCEPT_PAUSE_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_SKIP_ERRNOS = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR}


def _isIPv6(host: str) -> bool:
    if ":" not in host:
        return False
    try:
        socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except (OSError, ValueError):
        return False
    return True


def _isIPv4(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError):
        return False
    return True


def _makeAddress(sockaddr: Any) -> IPv4Address | IPv6Address:
    if len(sockaddr) == 4:
        host, port, flow, scope = sockaddr
        return IPv6Address("TCP", host, port, flow, scope)
    return IPv4Address("TCP", sockaddr[0], sockaddr[1])


def checkPort(port: Any, what: str = "port") -> int:
    """Return ``port`` as an int in 0..65535, or raise a clear error."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{what} must be an int, not {type(port).__name__}: {port!r}")
    if not 0 <= port <= 65535:
        raise error.InvalidAddressError(f"{what} must be in 0..65535, got {port}")
    return port


def checkHost(host: Any, what: str = "host") -> str:
    if isinstance(host, bytes):
        host = host.decode("ascii")
    if not isinstance(host, str):
        raise TypeError(f"{what} must be a str, not {type(host).__name__}: {host!r}")
    if "\x00" in host:
        raise error.InvalidAddressError(f"{what} contains a NUL byte: {host!r}")
    return host


class TCPConnection(StreamConnection):
    """What TCP transports add to a stream: addresses and TCP options."""

    __slots__ = ()

    def getHost(self) -> IPv4Address | IPv6Address:
        """The local address."""
        return _makeAddress(self.socket.getsockname())

    def getPeer(self) -> IPv4Address | IPv6Address:
        """The remote address."""
        return _makeAddress(self.socket.getpeername())

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(bool(enabled)))

    def getTcpNoDelay(self) -> bool:
        return bool(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def setTcpKeepAlive(self, enabled: bool) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(bool(enabled)))

    def getTcpKeepAlive(self) -> bool:
        return bool(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))


class Server(TCPConnection):
    """The transport of a connection accepted by a ``Port``."""

    __slots__ = ("_peer", "server", "sessionno")

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        peer: Any,
        server: Port,
        sessionno: int,
        reactor: Any,
    ) -> None:
        super().__init__(sock, protocol, reactor)
        self._peer = peer
        self.server = server
        self.sessionno = sessionno

    def getPeer(self) -> IPv4Address | IPv6Address:
        return _makeAddress(self._peer)


class Client(ClientConnection, TCPConnection):
    """The transport of an outgoing TCP connection (made by a ``Connector``)."""

    __slots__ = ()

    def __init__(
        self, host: str, port: int, bindAddress: Any, connector: Connector, reactor: Any
    ) -> None:
        family = socket.AF_INET6 if _isIPv6(host) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        super().__init__(sock, connector, reactor)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        failure: BaseException | None = None
        if bindAddress is not None:
            try:
                sock.bind(tuple(bindAddress))
            except (OSError, OverflowError, TypeError, ValueError) as e:
                failure = error.ConnectBindError(getattr(e, "errno", None), str(e))
        if failure is not None:
            self._pendingCall = reactor.callLater(0, self.failIfNotConnected, failure)
        else:
            self._pendingCall = reactor.callLater(0, self._resolve, host, port, family)

    def _resolve(self, host: str, port: int, family: int) -> None:
        self._pendingCall = None
        if self.connector is None:
            return
        if family == socket.AF_INET6:
            self._connectTo(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)[0][4])
        elif _isIPv4(host):
            self._connectTo((host, port))
        else:
            d = self.reactor.resolve(host)
            d.addCallbacks(lambda ip: self._connectTo((ip, port)), self._resolveFailed)

    def _connectedPeer(self) -> IPv4Address | IPv6Address:
        return _makeAddress(self.realAddress)

    def _resolveFailed(self, failure: Failure) -> None:
        err = failure.value
        if not isinstance(err, error.DNSLookupError):
            err = error.DNSLookupError(str(err))
        self.failIfNotConnected(err)


class Connector(BaseConnector):
    """``reactor.connectTCP``'s connector (see ``BaseConnector``)."""

    def __init__(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float | None,
        bindAddress: Any,
        reactor: Any,
    ) -> None:
        host = checkHost(host)
        if isinstance(port, str):
            try:
                port = socket.getservbyname(port, "tcp")
            except OSError:
                raise error.ServiceNameUnknownError(string=f"unknown TCP service {port!r}")
        self.host = host
        self.port = checkPort(port)
        if bindAddress is not None:
            if not isinstance(bindAddress, (tuple, list)) or len(bindAddress) != 2:
                raise TypeError(f"bindAddress must be a (host, port) tuple, got {bindAddress!r}")
            checkHost(bindAddress[0], "bindAddress host")
            checkPort(bindAddress[1], "bindAddress port")
        self.bindAddress = bindAddress
        super().__init__(factory, timeout, reactor)

    def _makeTransport(self) -> Client:
        return Client(self.host, self.port, self.bindAddress, self, self.reactor)

    def getDestination(self) -> IPv4Address | IPv6Address:
        if _isIPv6(self.host):
            return IPv6Address("TCP", self.host, self.port)
        return IPv4Address("TCP", self.host, self.port)


class Port:
    """A listening TCP socket that accepts connections for ``factory``.

    Other stream families (UNIX sockets) reuse the accept loop and the
    listening life-cycle by overriding ``_bindSocket``, ``_prepareAccepted``,
    ``_peerAddress``, ``_where``, ``getHost`` and the ``transport`` class.
    """

    #: The transport class built for each accepted connection.
    transport: Any = Server
    _type = "TCP"
    acceptBurst = 128
    _pauseMin = 0.05
    _pauseMax = 1.0

    def __init__(
        self, port: int, factory: Any, backlog: int = 50, interface: str = "", reactor: Any = None
    ) -> None:
        self.port = checkPort(port)
        self.interface = checkHost(interface, "interface")
        if isinstance(backlog, bool) or not isinstance(backlog, int):
            raise TypeError(f"backlog must be an int, not {type(backlog).__name__}")
        self.factory = factory
        self.backlog = backlog
        self.reactor = reactor
        self.socket: socket.socket | None = None
        self.connected = False
        self.disconnecting = False
        self._fd = -1
        self._sessionno = 0
        self._paused: Any = None
        self._pause = self._pauseMin
        self._realPortNumber: int | None = None

    def __repr__(self) -> str:
        if self.connected:
            return f"<{type(self.factory).__name__} on {self._where()}>"
        return f"<{type(self.factory).__name__} (not listening)>"

    def _where(self) -> Any:
        """What this port listens on, for logs and repr."""
        return self._realPortNumber

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return type(self.factory).__name__

    def _family(self) -> int:
        return socket.AF_INET6 if ":" in self.interface else socket.AF_INET

    def startListening(self) -> None:
        """Bind and listen; raises CannotListenError if that fails."""
        if self.connected:
            raise error.AlreadyListened(f"already listening on {self.getHost()}")
        sock = self._bindSocket()
        self.socket = sock
        self._fd = sock.fileno()
        _log.logger.info("%s starting on %s", type(self.factory).__name__, self._where())
        self.factory.doStart()
        self.connected = True
        self.disconnecting = False
        self.reactor.addReader(self)

    def _bindSocket(self) -> socket.socket:
        """A new non-blocking socket, bound and listening; or CannotListenError."""
        family = self._family()
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            raise error.CannotListenError(self.interface, self.port, e)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._prepareListening(sock)
            sock.bind((self.interface, self.port))
            sock.listen(self.backlog)
            sock.setblocking(False)
        except (OSError, OverflowError, ValueError) as e:
            sock.close()
            raise error.CannotListenError(self.interface, self.port, e)
        self._realPortNumber = sock.getsockname()[1]
        return sock

    def _prepareListening(self, sock: socket.socket) -> None:
        """Set options on the listening socket that accepted sockets inherit.

        TCP: no Nagle delay, as asyncio does.  Linux copies TCP_NODELAY to each
        accepted socket, which saves a system call per connection.
        """
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def _prepareAccepted(self, sock: socket.socket) -> None:
        """Set up a just-accepted socket (TCP on Linux: nothing, see ``_prepareListening``)."""
        if not _NODELAY_INHERITED:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def _peerAddress(self, peer: Any) -> Any:
        """The address object given to ``buildProtocol`` for ``accept()``'s peer."""
        return _makeAddress(peer)

    def doRead(self) -> None:
        listening = self.socket
        assert listening is not None
        # socket.accept() would build a family enum per call; _accept() gives
        # the raw descriptor and address.
        accept = listening._accept  # type: ignore[attr-defined]
        family = int(listening.family)
        newSocket = socket.socket
        factory = self.factory
        reactor = self.reactor
        prepare = self._prepareAccepted
        peerAddress = self._peerAddress
        transportClass = self.transport
        for _ in range(self.acceptBurst):
            try:
                fd, peer = accept()
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in _ACCEPT_PAUSE_ERRNOS:
                    self._pauseAccepting(e)
                    return
                if e.errno in _ACCEPT_SKIP_ERRNOS:
                    continue
                _log.log_failure(f"Error accepting on {self!r}:", e)
                return
            self._pause = self._pauseMin
            sock = newSocket(family, socket.SOCK_STREAM, 0, fd)
            sock.setblocking(False)
            prepare(sock)
            try:
                protocol = factory.buildProtocol(peerAddress(peer))
            except Exception as e:
                _log.log_failure(f"Error in buildProtocol of {factory!r}:", e)
                protocol = None
            if protocol is None:
                sock.close()
                continue
            self._sessionno += 1
            transport = transportClass(sock, protocol, peer, self, self._sessionno, reactor)
            transport._startProtocol()

    def _pauseAccepting(self, e: OSError) -> None:
        _log.logger.warning(
            "%r: out of resources accepting (%s); pausing accept for %.2fs",
            self,
            e.strerror,
            self._pause,
        )
        self.reactor.removeReader(self)
        self._paused = self.reactor.callLater(self._pause, self._resumeAccepting)
        self._pause = min(self._pause * 2, self._pauseMax)

    def _resumeAccepting(self) -> None:
        self._paused = None
        if self.connected:
            self.reactor.addReader(self)

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    def getHost(self) -> IPv4Address | IPv6Address:
        """The address this port listens on (with the real port number)."""
        if self.socket is None:
            raise error.NotListeningError("this port is not listening")
        return _makeAddress(self.socket.getsockname())

    def stopListening(self) -> Any:
        """Stop listening; returns a Deferred that fires once the socket is closed."""
        from torsion import defer

        self.loseConnection()
        return defer.succeed(None)

    def loseConnection(self, connDone: Any = None) -> None:
        if not self.connected:
            return
        self.disconnecting = True
        self.reactor.removeReader(self)
        self.connectionLost(Failure(error.ConnectionDone()))

    def connectionLost(self, reason: Any) -> None:
        if not self.connected:
            return
        self.connected = False
        self.disconnecting = False
        if self._paused is not None:
            self._paused.cancel()
            self._paused = None
        self.reactor.removeReader(self)
        sock, self.socket = self.socket, None
        self._fd = -1
        if sock is not None:
            sock.close()
        _log.logger.info("(%s Port %s Closed)", self._type, self._where())
        self._realPortNumber = None
        self.factory.doStop()
