"""UDP ports: ``reactor.listenUDP`` and ``reactor.listenMulticast`` (Twisted's ``udp``).

Theory of operation
-------------------
A ``Port`` is a bound datagram socket, a reactor reader, and the transport of
one ``DatagramProtocol``.  Each readiness event reads up to ``readBurst``
datagrams (and at most ``maxThroughput`` bytes) before yielding to the loop,
so one busy port cannot starve the others.  An exception raised by
``datagramReceived`` is logged and the port goes on.

``write`` sends at once with ``sendto`` (``send`` once connected); there is
no queue: when the socket buffer is full the datagram is dropped, as the
network itself may drop it.

Connected UDP (``connect(host, port)``, host an IP literal): an ICMP "port
unreachable" for something we sent makes the kernel fail a later ``recv`` or
``send`` with ECONNREFUSED (and the socket poll as an error, which every
backend reports as readable).  That calls ``protocol.connectionRefused()``
and the port stays open, on every backend.  (Twisted's poll and epoll
reactors drop the port instead.)  Other ICMP errors on a connected socket are
logged and ignored likewise.

``stopListening()`` stops reading at once and closes on the next turn; the
Deferred it returns fires after ``stopProtocol`` and the close.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Any

from torsion import _log, defer, error
from torsion._global import globalReactor
from torsion._logging._legacy import torsionMsg
from torsion._util import (
    checkHost,
    checkPort,
    isIPv4Address,
    isIPv6Address,
    logPrefixOf,
    scopedHost,
    socketAddress,
)
from torsion.address import IPv4Address, IPv6Address

__all__ = ["MulticastPort", "Port", "listenMulticast", "listenUDP"]

_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)
# Transient errors a connected datagram socket reports for an earlier send.
_ICMP_ERRORS = {
    errno.ENETUNREACH,
    errno.EHOSTUNREACH,
    errno.EHOSTDOWN,
    errno.ENETDOWN,
    errno.EMSGSIZE,
    errno.ENOPROTOOPT,
    errno.EPROTO,
}


class _NotThePeer(error.InvalidAddressError, AssertionError):
    """A connected port was asked to send elsewhere (Twisted asserts: AssertionError)."""


class Port:
    """A UDP socket bound to ``interface``:``port`` for a DatagramProtocol."""

    #: Datagrams read per readiness event, at most.
    readBurst = 64
    #: Bytes read per readiness event, at most.
    maxThroughput = 256 * 1024

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
    ) -> None:
        self.port = checkPort(port)
        interface = checkHost(interface, "interface")
        if interface and not (isIPv4Address(interface) or isIPv6Address(interface)):
            raise error.InvalidAddressError(
                f"interface must be an IPv4 or IPv6 address literal, not {interface!r}"
            )
        if isinstance(maxPacketSize, bool) or not isinstance(maxPacketSize, int):
            raise TypeError(f"maxPacketSize must be an int, not {type(maxPacketSize).__name__}")
        if maxPacketSize <= 0:
            raise ValueError(f"maxPacketSize must be positive, got {maxPacketSize}")
        if reactor is None:
            reactor = globalReactor()
        self.interface = interface
        self.protocol = proto
        self.maxPacketSize = maxPacketSize
        self.reactor = reactor
        self.addressFamily = socket.AF_INET6 if isIPv6Address(interface) else socket.AF_INET
        self.socket: socket.socket | None = None
        self.connected = 0
        self.disconnecting = False
        self._fd = -1
        self._connectedAddr: tuple[str, int] | None = None
        self._realPortNumber: Any = None  # (the port number, once listening)
        self._closing: Any = None
        self._stopped: list[defer.Deferred[None]] = []

    def __repr__(self) -> str:
        name = type(self.protocol).__name__
        if self._realPortNumber is not None:
            return f"<{name} on {self._where()}>"
        return f"<{name} (UDP, not listening)>"

    # -- what a family provides (UNIX datagram ports override these) ------------

    def _where(self) -> str:
        """What the port is bound to, for logs and repr."""
        return f"UDP Port {self._realPortNumber}"

    def _boundTo(self, sock: socket.socket) -> Any:
        """What ``_where`` reports, read from the bound socket."""
        return sock.getsockname()[1]

    def _receiver(self) -> Any:
        """The callable each datagram is given to, as ``(data, address)``."""
        return self.protocol.datagramReceived

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return f"{logPrefixOf(self.protocol)} (UDP)"

    def getHandle(self) -> socket.socket:
        """The socket itself."""
        return self._sock()

    def _sock(self) -> socket.socket:
        if self.socket is None:
            raise error.NotListeningError(f"{self!r} is not listening")
        return self.socket

    # -- starting and stopping -------------------------------------------------

    def _createSocket(self) -> socket.socket:
        return socket.socket(self.addressFamily, socket.SOCK_DGRAM)

    def _bindSocket(self) -> socket.socket:
        """A new non-blocking socket bound to the port's address; or CannotListenError."""
        try:
            sock = self._createSocket()
        except OSError as e:
            raise error.CannotListenError(self.interface, self.port, e)
        try:
            sock.setblocking(False)
            sock.bind(socketAddress(self.interface, self.port))
        except (OSError, OverflowError) as e:
            sock.close()
            raise error.CannotListenError(self.interface, self.port, e)
        return sock

    def startListening(self) -> None:
        """Bind, start the protocol, and start reading; CannotListenError if binding fails."""
        if self.connected:
            raise error.AlreadyListened(f"{self!r} is already listening")
        sock = self._bindSocket()
        self.socket = sock
        self._fd = sock.fileno()
        self._realPortNumber = self._boundTo(sock)
        self.connected = 1
        self._announceStart()
        self.protocol.makeConnection(self)
        if self.connected and not self.disconnecting:
            self.reactor.addReader(self)

    def _announceStart(self) -> None:
        torsionMsg(f"{logPrefixOf(self.protocol)} starting on {self._realPortNumber}")

    def stopListening(self) -> defer.Deferred[None]:
        """Stop reading now, close on the next turn; fires once closed."""
        d: defer.Deferred[None] = defer.Deferred()
        if not self.connected:
            d.callback(None)
            return d
        self._stopped.append(d)
        if not self.disconnecting:
            self.disconnecting = True
            self.reactor.removeReader(self)
            self._closing = self.reactor.callLater(0, self.connectionLost, None)
        return d

    loseConnection = stopListening

    def connectionLost(self, reason: Any = None) -> None:
        """Close the socket and stop the protocol (once)."""
        if not self.connected:
            return
        if self._closing is not None:
            if self._closing.active():
                self._closing.cancel()
            self._closing = None
        self.reactor.removeReader(self)
        self.connected = 0
        self.disconnecting = False
        torsionMsg(f"({self._where()} Closed)")
        self._realPortNumber = None
        try:
            self.protocol.doStop()
        except Exception as e:
            _log.log_failure(f"Error in stopProtocol of {self.protocol!r}:", e)
        sock, self.socket = self.socket, None
        self._fd = -1
        if sock is not None:
            sock.close()
        stopped, self._stopped = self._stopped, []
        for d in stopped:
            d.callback(None)

    # -- reading ----------------------------------------------------------------

    def doRead(self) -> None:
        sock = self.socket
        if sock is None:
            return
        recvfrom = sock.recvfrom
        size = self.maxPacketSize
        budget = self.maxThroughput
        received = self._receiver()
        ipv6 = self.addressFamily == socket.AF_INET6
        for _ in range(self.readBurst):
            try:
                data, addr = recvfrom(size)
            except BlockingIOError:
                return
            except OSError as e:
                if not self._readError(e):
                    return
                continue
            if ipv6:
                # (host, port), as Twisted; a link-local sender's host keeps its
                # %scope, so that writing back to it works.
                addr = (scopedHost(addr), addr[1]) if addr[3] else addr[:2]
            try:
                received(data, addr)
            except Exception as e:
                _log.log_failure(f"Unhandled error in datagramReceived of {self.protocol!r}:", e)
            if self.disconnecting or self.socket is not sock:
                return  # the protocol stopped listening
            budget -= len(data)
            if budget <= 0:
                return

    def _readError(self, e: OSError) -> bool:
        """Handle a recv error; True if reading may go on."""
        if e.errno in _AGAIN:
            return e.errno == errno.EINTR
        if e.errno == errno.ECONNREFUSED:
            if self._connectedAddr is not None:
                self._refused()
            return True
        if e.errno in _ICMP_ERRORS:
            _log.logger.info("%s: ignored %s", self.logPrefix(), e)
            return True
        _log.log_failure(f"Error reading from {self!r}:", e)
        return False

    def _refused(self) -> None:
        try:
            self.protocol.connectionRefused()
        except Exception as e:
            _log.log_failure(f"Error in connectionRefused of {self.protocol!r}:", e)

    def doWrite(self) -> None:  # pragma: no cover - never a writer
        pass

    # -- writing ----------------------------------------------------------------

    def _checkAddr(self, addr: Any) -> tuple[Any, ...]:
        if not isinstance(addr, tuple) or len(addr) < 2:
            raise error.InvalidAddressError(
                f"addr must be a (host, port) tuple, not {addr!r}"
                + (" (this port is not connected)" if addr is None else "")
            )
        host = checkHost(addr[0], "host")
        port = checkPort(addr[1])
        if self.addressFamily == socket.AF_INET:
            if host == "<broadcast>":
                return ("<broadcast>", port)
            if isIPv6Address(host):
                raise error.InvalidAddressError(
                    f"cannot send to IPv6 address {host!r} from an IPv4 port"
                )
            if not isIPv4Address(host):
                raise error.InvalidAddressError(
                    f"write() takes an IP address, not a host name: {host!r}"
                )
            return (host, port)
        if isIPv4Address(host) or host == "<broadcast>":
            raise error.InvalidAddressError(
                f"cannot send to IPv4 address {host!r} from an IPv6 port"
            )
        if not isIPv6Address(host):
            raise error.InvalidAddressError(
                f"write() takes an IP address, not a host name: {host!r}"
            )
        if "%" in host and len(addr) < 4:
            return self._scoped(host, port)
        return (host, port, *addr[2:4])

    @staticmethod
    def _scoped(host: str, port: int) -> tuple[Any, ...]:
        """The socket address of a link-local ``host`` with a ``%scope`` (its scope id)."""
        try:
            return socketAddress(host, port)
        except OSError as e:
            raise error.InvalidAddressError(f"bad IPv6 scope in {host!r}: {e}") from None

    def write(self, datagram: bytes, addr: Any = None) -> None:
        """Send one datagram to ``addr`` (``(host, port)``; None once connected)."""
        if datagram.__class__ is not bytes:
            if not isinstance(datagram, (bytearray, memoryview)):
                raise TypeError(
                    f"datagram must be bytes, not {type(datagram).__name__}: {datagram!r:.60}"
                )
            datagram = bytes(datagram)
        sock = self._sock()
        connected = self._connectedAddr
        try:
            if connected is not None:
                if addr is not None and tuple(addr[:2]) != connected:
                    raise _NotThePeer(
                        f"this port is connected to {connected}: cannot send to {addr!r}"
                    )
                sock.send(datagram)
            else:
                sock.sendto(datagram, self._checkAddr(addr))
        except (BlockingIOError, InterruptedError):
            return  # socket buffer full: the datagram is dropped (see module docs)
        except OSError as e:
            if e.errno == errno.EMSGSIZE:
                raise error.MessageLengthError(
                    f"datagram of {len(datagram)} bytes is too long to send"
                ) from None
            if e.errno == errno.ECONNREFUSED:
                if connected is not None:
                    self._refused()
                return
            if e.errno == errno.ENOBUFS:
                return
            raise

    def writeSequence(self, seq: Any, addr: Any = None) -> None:
        """Send the concatenation of ``seq`` as one datagram."""
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """Connect to ``host`` (an IP address) and ``port``: only its datagrams arrive."""
        if self._connectedAddr is not None:
            raise RuntimeError("already connected, reconnecting is not currently supported")
        host = checkHost(host, "host")
        port = checkPort(port)
        if not (isIPv4Address(host) or isIPv6Address(host)):
            raise error.InvalidAddressError(f"not an IPv4 or IPv6 address: {host!r}")
        if (self.addressFamily == socket.AF_INET) != isIPv4Address(host):
            kind = "IPv4" if self.addressFamily == socket.AF_INET else "IPv6"
            raise error.InvalidAddressError(f"cannot connect an {kind} port to {host!r}")
        self._sock().connect(self._scoped(host, port) if "%" in host else (host, port))
        self._connectedAddr = (host, port)

    # -- addresses and options ----------------------------------------------------

    def getHost(self) -> IPv4Address | IPv6Address:
        """The address this port is bound to."""
        addr = self._sock().getsockname()
        if self.addressFamily == socket.AF_INET6:
            return IPv6Address("UDP", scopedHost(addr), addr[1], addr[2], addr[3])
        return IPv4Address("UDP", addr[0], addr[1])

    def getPeer(self) -> IPv4Address | IPv6Address | None:
        """The address connected to, or None."""
        if self._connectedAddr is None:
            return None
        host, port = self._connectedAddr
        if self.addressFamily == socket.AF_INET6:
            return IPv6Address("UDP", host, port)
        return IPv4Address("UDP", host, port)

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """Allow (or forbid) sending to broadcast addresses."""
        self._sock().setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, bool(enabled))

    def getBroadcastAllowed(self) -> bool:
        return bool(self._sock().getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))


class MulticastPort(Port):
    """A UDP port that can join multicast groups (IPv4, and IPv6 on an IPv6 interface)."""

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
        listenMultiple: bool = False,
    ) -> None:
        super().__init__(port, proto, interface, maxPacketSize, reactor)
        self.listenMultiple = listenMultiple

    def _createSocket(self) -> socket.socket:
        sock = super()._createSocket()
        if self.listenMultiple:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                except OSError as e:
                    if e.errno != errno.ENOPROTOOPT:
                        sock.close()
                        raise
        return sock

    @property
    def _v6(self) -> bool:
        return self.addressFamily == socket.AF_INET6

    def _opt(self, v4: int, v6: int) -> tuple[int, int]:
        if self._v6:
            return socket.IPPROTO_IPV6, v6
        return socket.IPPROTO_IP, v4

    def getLoopbackMode(self) -> bool:
        """Whether our own multicast datagrams come back to us."""
        level, opt = self._opt(socket.IP_MULTICAST_LOOP, socket.IPV6_MULTICAST_LOOP)
        return bool(self._sock().getsockopt(level, opt))

    def setLoopbackMode(self, mode: Any) -> None:
        level, opt = self._opt(socket.IP_MULTICAST_LOOP, socket.IPV6_MULTICAST_LOOP)
        self._sock().setsockopt(level, opt, int(bool(mode)))

    def getTTL(self) -> int:
        """The time-to-live (hop limit) of outgoing multicast datagrams."""
        level, opt = self._opt(socket.IP_MULTICAST_TTL, socket.IPV6_MULTICAST_HOPS)
        return int(self._sock().getsockopt(level, opt))

    def setTTL(self, ttl: int) -> None:
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 255:
            raise ValueError(f"ttl must be an int in 0..255, not {ttl!r}")
        level, opt = self._opt(socket.IP_MULTICAST_TTL, socket.IPV6_MULTICAST_HOPS)
        if self._v6:
            self._sock().setsockopt(level, opt, ttl)
        else:
            self._sock().setsockopt(level, opt, struct.pack("B", ttl))

    def getOutgoingInterface(self) -> str | int:
        """The interface multicast goes out on: an IPv4 address, or an IPv6 interface index."""
        sock = self._sock()
        if self._v6:
            return int(sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF))
        return socket.inet_ntoa(sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))

    def setOutgoingInterface(self, addr: str | int) -> defer.Deferred[int]:
        """Send multicast out of ``addr`` (IPv4 address or name; IPv6: index or name)."""
        if self._v6:
            try:
                index = self._ifindex(addr)
                self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            except Exception:
                return defer.fail()
            return defer.succeed(1)

        def set4(ip: str) -> int:
            self._sock().setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, self._pack4(ip))
            return 1

        return self._resolve(addr).addCallback(set4)

    def _resolve(self, name: Any) -> defer.Deferred[str]:
        if not isinstance(name, str):
            return defer.fail(TypeError(f"an address must be a str, not {name!r}"))
        if isIPv4Address(name) or isIPv6Address(name):
            return defer.succeed(name)
        d: defer.Deferred[str] = self.reactor.resolve(name)
        return d

    @staticmethod
    def _pack4(ip: str) -> bytes:
        try:
            return socket.inet_aton(ip)
        except OSError:
            raise error.MulticastJoinError(f"not an IPv4 address: {ip!r}")

    @staticmethod
    def _ifindex(interface: Any) -> int:
        if isinstance(interface, int) and not isinstance(interface, bool):
            return interface
        if interface in ("", "::", None):
            return 0
        if isinstance(interface, str):
            try:
                return socket.if_nametoindex(interface)
            except OSError:
                raise error.MulticastJoinError(f"no such network interface: {interface!r}")
        raise TypeError(f"an IPv6 interface is an index or a name, not {interface!r}")

    def joinGroup(self, addr: str, interface: str = "") -> defer.Deferred[None]:
        """Join multicast group ``addr`` on ``interface`` (default: the kernel's choice)."""
        return self._joinLeave(addr, interface, True)

    def leaveGroup(self, addr: str, interface: str = "") -> defer.Deferred[None]:
        """Leave multicast group ``addr``."""
        return self._joinLeave(addr, interface, False)

    def _joinLeave(self, addr: str, interface: Any, join: bool) -> defer.Deferred[None]:
        what = "join" if join else "leave"

        def apply(request: bytes, level: int, opt: int) -> None:
            try:
                self._sock().setsockopt(level, opt, request)
            except OSError as e:
                where = interface or "the default interface"
                raise error.MulticastJoinError(
                    f"could not {what} group {addr!r} on {where!r}: {e.strerror or e}"
                ) from e

        if self._v6:
            try:
                group = socket.inet_pton(socket.AF_INET6, checkHost(addr, "group"))
                request = group + struct.pack("@I", self._ifindex(interface))
            except OSError:
                return defer.fail(error.MulticastJoinError(f"not an IPv6 group address: {addr!r}"))
            except Exception:
                return defer.fail()
            opt = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
            try:
                apply(request, socket.IPPROTO_IPV6, opt)
            except Exception:
                return defer.fail()
            return defer.succeed(None)

        opt = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP

        def withGroup(group: str) -> defer.Deferred[None]:
            def withLocal(local: str) -> None:
                apply(self._pack4(group) + self._pack4(local), socket.IPPROTO_IP, opt)

            return self._resolve(interface or "0.0.0.0").addCallback(withLocal)

        return self._resolve(addr).addCallback(withGroup)


def listenUDP(reactor: Any, port: int, protocol: Any, interface: str, maxPacketSize: int) -> Port:
    """``reactor.listenUDP``: bind and start ``protocol``; returns the Port."""
    p = Port(port, protocol, interface, maxPacketSize, reactor)
    p.startListening()
    return p


def listenMulticast(
    reactor: Any,
    port: int,
    protocol: Any,
    interface: str,
    maxPacketSize: int,
    listenMultiple: bool,
) -> MulticastPort:
    """``reactor.listenMulticast``: a UDP port able to join multicast groups."""
    p = MulticastPort(port, protocol, interface, maxPacketSize, reactor, listenMultiple)
    p.startListening()
    return p
