"""Adopting sockets made elsewhere: Twisted's ``IReactorSocket``.

``reactor.adoptStreamPort``, ``adoptStreamConnection`` and
``adoptDatagramPort`` take the descriptor of a socket that already exists
(inherited from a parent, received over a UNIX socket, passed by systemd) and
run it like one the reactor made: a listening port, a connection, a UDP port.

Each works on a duplicate of the descriptor (``os.dup``, close-on-exec), so the
caller still owns, and must close, the one it passed; stopping the port closes
only the duplicate, without ``shutdown``, so another process sharing the
socket goes on using it.  The duplicate is made non-blocking, which affects the
caller's descriptor too (the flag belongs to the open file they share); Twisted
requires the caller to have done so.

Checks, each raised where the call is made: an address family the call does
not take is ``UnsupportedAddressFamily``; a closed descriptor or one that is not
a socket is the ``OSError`` of the system (EBADF, ENOTSOCK); a socket of
another family or type than stated, or a stream socket that is not listening,
is ``ValueError``.  Unlike Twisted, stopping an adopted UNIX port leaves its
socket file in place: the file belongs to whoever created the socket.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from torsion import error
from torsion._net import tcp, udp, unix
from torsion._net.listen import ListeningPort
from torsion.address import UNIXAddress

__all__ = ["adoptDatagramPort", "adoptStreamConnection", "adoptStreamPort"]

_STREAM_FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX)
_DATAGRAM_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _adopt(fileDescriptor: int, addressFamily: int, kind: int, families: Any) -> socket.socket:
    """A non-blocking socket object on a duplicate of ``fileDescriptor`` (see module notes)."""
    if addressFamily not in families:
        raise error.UnsupportedAddressFamily(addressFamily)
    if isinstance(fileDescriptor, bool) or not isinstance(fileDescriptor, int):
        raise TypeError(f"a file descriptor must be an int, not {fileDescriptor!r}")
    duplicate = os.dup(fileDescriptor)
    try:
        sock = socket.socket(fileno=duplicate)  # family and type read from the socket
    except BaseException:
        os.close(duplicate)
        raise
    try:
        if sock.family != addressFamily or sock.type != kind:
            raise ValueError(
                f"descriptor {fileDescriptor} is a {sock.family.name} {sock.type.name} socket,"
                f" not {socket.AddressFamily(addressFamily).name}"
                f" {socket.SocketKind(kind).name}"
            )
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _AdoptedPort:
    """What an adopted listening port does instead of binding: use the given socket."""

    _adopted: socket.socket | None

    def _bindSocket(self) -> socket.socket:
        sock, self._adopted = self._adopted, None
        if sock is None:
            raise error.CannotListenError(
                None, None, OSError("an adopted port cannot listen again once stopped")
            )
        return sock


class AdoptedTCPPort(_AdoptedPort, tcp.Port):
    """A TCP port listening on an adopted socket."""

    def __init__(self, sock: socket.socket, factory: Any, reactor: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(port, factory, 50, host, reactor)
        self._adopted = sock

    def _bindSocket(self) -> socket.socket:
        sock = _AdoptedPort._bindSocket(self)
        self._realPortNumber = sock.getsockname()[1]
        return sock


class AdoptedUNIXPort(_AdoptedPort, unix.Port):
    """A UNIX port listening on an adopted socket (its file is left in place)."""

    def __init__(self, sock: socket.socket, factory: Any, reactor: Any) -> None:
        name = sock.getsockname()
        super().__init__(name or b"\0(unnamed)", factory, 50, 0o666, reactor)
        self._adopted = sock

    def connectionLost(self, reason: Any) -> None:
        ListeningPort.connectionLost(self, reason)  # no unlink: not our file


class AdoptedUDPPort(udp.Port):
    """A UDP port on an adopted socket."""

    def __init__(self, sock: socket.socket, protocol: Any, maxPacketSize: int, reactor: Any):
        host, port = sock.getsockname()[:2]
        super().__init__(port, protocol, host, maxPacketSize, reactor)
        self._adopted: socket.socket | None = sock

    def _bindSocket(self) -> socket.socket:
        sock, self._adopted = self._adopted, None
        if sock is None:
            raise error.CannotListenError(
                self.interface, self.port, OSError("an adopted port cannot listen again")
            )
        return sock


def adoptStreamPort(
    reactor: Any, fileDescriptor: int, addressFamily: int, factory: Any
) -> AdoptedTCPPort | AdoptedUNIXPort:
    """``reactor.adoptStreamPort``: accept connections on a listening socket made elsewhere."""
    sock = _adopt(fileDescriptor, addressFamily, socket.SOCK_STREAM, _STREAM_FAMILIES)
    try:
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise ValueError(f"descriptor {fileDescriptor} is not a listening socket")
        port: AdoptedTCPPort | AdoptedUNIXPort
        if addressFamily == socket.AF_UNIX:
            port = AdoptedUNIXPort(sock, factory, reactor)
        else:
            port = AdoptedTCPPort(sock, factory, reactor)
    except BaseException:
        sock.close()
        raise
    port.startListening()
    return port


def adoptStreamConnection(
    reactor: Any, fileDescriptor: int, addressFamily: int, factory: Any
) -> None:
    """``reactor.adoptStreamConnection``: run a connected socket made elsewhere.

    As in Twisted, the factory builds the protocol for the peer's address (a
    UNIX connection: the local address) and is not started; the transport is
    a server-side one with no listening port (``server`` is None).
    """
    sock = _adopt(fileDescriptor, addressFamily, socket.SOCK_STREAM, _STREAM_FAMILIES)
    try:
        peer = sock.getpeername()
        transportClass: Any
        if addressFamily == socket.AF_UNIX:
            addr: Any = UNIXAddress(unix._name(sock.getsockname()))
            transportClass = unix.Server
        else:
            addr = tcp._makeAddress(peer)
            transportClass = tcp.Server
        protocol = factory.buildProtocol(addr)
    except BaseException:
        sock.close()
        raise
    if protocol is None:
        sock.close()
        return
    transport = transportClass(sock, protocol, peer, None, 0, reactor)
    transport._startProtocol()


def adoptDatagramPort(
    reactor: Any,
    fileDescriptor: int,
    addressFamily: int,
    protocol: Any,
    maxPacketSize: int = 8192,
) -> AdoptedUDPPort:
    """``reactor.adoptDatagramPort``: run a bound UDP socket made elsewhere."""
    sock = _adopt(fileDescriptor, addressFamily, socket.SOCK_DGRAM, _DATAGRAM_FAMILIES)
    try:
        port = AdoptedUDPPort(sock, protocol, maxPacketSize, reactor)
    except BaseException:
        sock.close()
        raise
    port.startListening()
    return port
