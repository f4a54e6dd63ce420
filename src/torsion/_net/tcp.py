"""TCP: listening ports, server and client transports, and the Connector.

``Port`` (``reactor.listenTCP``) is a ``ListeningPort`` (the accept loop of
``torsion._net.listen``) on an IPv4 or IPv6 socket; each connection it
accepts gets a ``Server`` transport.  With ``reusePort`` it sets
SO_REUSEPORT before binding, so several sockets (in one process or many) can
listen on the same address and the kernel spreads new connections among them;
where the platform lacks the option, asking for it is ``CannotListenError``.

``Connector`` (``reactor.connectTCP``) makes a ``Client`` transport per
attempt; the client resolves the host name (through ``reactor.resolve``) on
the next turn of the loop, then connects without blocking.
"""

from __future__ import annotations

import errno
import socket
import sys
from typing import Any

from torsion import error
from torsion._net.client import BaseConnector, ClientConnection
from torsion._net.listen import AcceptedConnection, ListeningPort
from torsion._net.stream import StreamConnection
from torsion._util import (
    checkHost,
    checkPort,
    isIPv4Address,
    isIPv6Address,
    scopedHost,
    socketAddress,
)
from torsion.address import IPv4Address, IPv6Address
from torsion.failure import Failure

__all__ = ["HAVE_REUSEPORT", "Client", "Connector", "Port", "Server"]

_NODELAY_INHERITED = sys.platform == "linux"

#: Whether sockets can share a port (``listenTCP(..., reusePort=True)``).
HAVE_REUSEPORT = hasattr(socket, "SO_REUSEPORT")


def _makeAddress(sockaddr: Any) -> IPv4Address | IPv6Address:
    if len(sockaddr) == 4:
        host, port, flow, scope = sockaddr
        if scope:
            host = scopedHost(sockaddr)  # "fe80::1%eth0", as Twisted reports it
        return IPv6Address("TCP", host, port, flow, scope)
    return IPv4Address("TCP", sockaddr[0], sockaddr[1])


class Connection(StreamConnection):
    """What TCP transports add to a stream: addresses and TCP options (the base
    of ``Server`` and ``Client``, as Twisted's ``tcp.Connection``)."""

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


class Server(Connection, AcceptedConnection):
    """The transport of a connection accepted by a ``Port``."""

    __slots__ = ()

    def getPeer(self) -> IPv4Address | IPv6Address:
        return _makeAddress(self._peer)


class Client(ClientConnection, Connection):
    """The transport of an outgoing TCP connection (made by a ``Connector``)."""

    __slots__ = ()

    def __init__(
        self, host: str, port: int, bindAddress: Any, connector: Connector, reactor: Any = None
    ) -> None:
        family = socket.AF_INET6 if isIPv6Address(host) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        super().__init__(sock, connector, reactor)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        failure: BaseException | None = None
        if bindAddress is not None:
            try:
                sock.bind(socketAddress(bindAddress[0], bindAddress[1]))
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
            try:
                address = socketAddress(host, port)  # with the scope id of "fe80::1%eth0"
            except OSError as e:
                self.failIfNotConnected(error.ConnectError(string=f"{host!r}: {e}"))
                return
            self._connectTo(address)
        elif isIPv4Address(host):
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
        reactor: Any = None,
    ) -> None:
        host = checkHost(host)
        if "%" in host and isIPv6Address(host):
            try:
                socketAddress(host, 0)
            except OSError as e:
                raise error.InvalidAddressError(f"bad IPv6 scope in {host!r}: {e}") from None
        if isinstance(port, str):
            try:
                port = socket.getservbyname(port, "tcp")
            except OSError as e:
                raise error.ServiceNameUnknownError(string=f"{e} ({port!r})") from None
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
        if isIPv6Address(self.host):
            return IPv6Address("TCP", self.host, self.port)
        return IPv4Address("TCP", self.host, self.port)


class Port(ListeningPort):
    """A listening TCP socket (``reactor.listenTCP``): see ``torsion._net.listen``."""

    transport: Any = Server
    _type = "TCP"

    def __init__(
        self,
        port: int,
        factory: Any,
        backlog: int = 50,
        interface: str = "",
        reactor: Any = None,
        reusePort: bool = False,
    ) -> None:
        self.port = checkPort(port)
        self.interface = checkHost(interface, "interface")
        if reusePort and not HAVE_REUSEPORT:
            raise error.CannotListenError(
                self.interface,
                self.port,
                OSError(errno.ENOPROTOOPT, "SO_REUSEPORT is not available on this platform"),
            )
        self.reusePort = bool(reusePort)
        super().__init__(factory, backlog, reactor)
        self._realPortNumber: int | None = None

    def _where(self) -> Any:
        return self._realPortNumber

    def _family(self) -> int:
        return socket.AF_INET6 if ":" in self.interface else socket.AF_INET

    def _bindSocket(self) -> socket.socket:
        family = self._family()
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as e:
            raise error.CannotListenError(self.interface, self.port, e)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reusePort:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self._prepareListening(sock)
            sock.bind(socketAddress(self.interface, self.port))
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
        """Set up a just-accepted socket (on Linux: nothing, see ``_prepareListening``)."""
        if not _NODELAY_INHERITED:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def _peerAddress(self, peer: Any) -> Any:
        return _makeAddress(peer)

    def getHost(self) -> IPv4Address | IPv6Address:
        """The address this port listens on (with the real port number)."""
        if self.socket is None:
            raise error.NotListeningError("this port is not listening")
        return _makeAddress(self.socket.getsockname())

    def _closed(self) -> None:
        self._realPortNumber = None
