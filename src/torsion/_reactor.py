"""The reactor: the loop of ``torsion._core`` plus the methods that create transports.

This is the assembly layer (Twisted's ``posixbase`` over ``base``; asyncio's
``selector_events`` over ``base_events``): ``ReactorCore`` knows descriptors,
timers, triggers and threads; ``Reactor`` adds ``listenTCP`` ...
``spawnProcess`` and ``resolve``.  Each transport module is imported on first
use, so importing the reactor stays cheap and a program pays only for the
transports it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from torsion._core.base import ReactorCore
from torsion._util import isIPv4Address

if TYPE_CHECKING:
    # The public (facade) names, so that reactor.pyi shows the paths users import.
    from torsion import process, ssl, tcp, udp, unix
    from torsion._net.adopt import AdoptedTCPPort, AdoptedUDPPort, AdoptedUNIXPort
    from torsion._net.unixdgram import ConnectedDatagramPort, DatagramPort
    from torsion.defer import Deferred
    from torsion.interfaces import (
        IClientFactory,
        IHostnameResolver,
        IProcessProtocol,
        IProtocolFactory,
        IResolverSimple,
    )
    from torsion.protocol import ConnectedDatagramProtocol, DatagramProtocol

__all__ = ["Reactor"]


class Reactor(ReactorCore):
    """An event loop with Twisted's reactor API, on one readiness backend."""

    # ------------------------------------------------------- name resolution
    # (see torsion._net.resolver: two resolver shapes, each installable)

    _nameResolver: IHostnameResolver | None = None
    _resolver: IResolverSimple | None = None

    @property
    def nameResolver(self) -> IHostnameResolver:
        """The ``IHostnameResolver`` that ``HostnameEndpoint`` uses (getaddrinfo by default)."""
        if self._nameResolver is None:
            from torsion._net.resolver import GAIResolver

            self._nameResolver = GAIResolver(self)
        return self._nameResolver

    @property
    def resolver(self) -> IResolverSimple:
        """The ``IResolverSimple`` that ``resolve`` (and so ``connectTCP``) uses."""
        if self._resolver is None:
            from torsion._net.resolver import ComplexResolverSimplifier

            self._resolver = ComplexResolverSimplifier(self.nameResolver, self)
        return self._resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """Use ``resolver`` for every name lookup (``resolve`` too); returns the previous one."""
        from torsion._net.resolver import ComplexResolverSimplifier

        if not callable(getattr(resolver, "resolveHostName", None)):
            raise TypeError(f"a name resolver needs a resolveHostName method: {resolver!r}")
        previous = self.nameResolver
        self._nameResolver = resolver
        self._resolver = ComplexResolverSimplifier(resolver, self)
        return previous

    def installResolver(self, resolver: IResolverSimple) -> IResolverSimple:
        """Use the simple ``resolver`` (``getHostByName``) for every name lookup; returns
        the previous one."""
        from torsion._net.resolver import SimpleResolverComplexifier

        if not callable(getattr(resolver, "getHostByName", None)):
            raise TypeError(f"a resolver needs a getHostByName method: {resolver!r}")
        previous = self.resolver
        self._resolver = resolver
        self._nameResolver = SimpleResolverComplexifier(resolver)
        return previous

    def resolve(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        """Resolve a host name to an IPv4 address string, with the installed resolver."""
        from torsion import defer

        if not isinstance(name, str):
            return defer.fail(TypeError(f"host name must be str, got {type(name).__name__}"))
        if not name:
            return defer.succeed("0.0.0.0")
        if isIPv4Address(name):
            return defer.succeed(name)
        try:
            return self.resolver.getHostByName(name, timeout)
        except Exception:
            return defer.fail()

    def listenTCP(
        self,
        port: int,
        factory: IProtocolFactory,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> tcp.Port:
        """Listen for TCP connections on ``interface``:``port`` (0: any free port).

        ``reusePort=True`` (torsion only) sets SO_REUSEPORT, so that other
        sockets, here or in other processes, may listen on the same address
        and share its connections; ``CannotListenError`` where the platform
        lacks it.
        """
        from torsion._net.tcp import Port

        p = Port(port, factory, backlog, interface, self, reusePort)
        p.startListening()
        return p

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: IClientFactory,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> tcp.Connector:
        """Connect to ``host``:``port`` with a client factory; returns the Connector."""
        from torsion._net.tcp import Connector

        c = Connector(host, port, factory, timeout, bindAddress, self)
        c.connect()
        return c

    def listenUNIX(
        self,
        address: str,
        factory: IProtocolFactory,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> unix.Port:
        """Listen on the UNIX socket ``address`` (a leading NUL: Linux abstract name)."""
        from torsion._net.unix import listenUNIX

        return listenUNIX(self, address, factory, backlog, mode, wantPID)

    def connectUNIX(
        self, address: str, factory: IClientFactory, timeout: float = 30, checkPID: int = 0
    ) -> unix.Connector:
        """Connect to the UNIX socket ``address``; returns the Connector."""
        from torsion._net.unix import connectUNIX

        return connectUNIX(self, address, factory, timeout, checkPID)

    def listenUNIXDatagram(
        self,
        address: str,
        protocol: DatagramProtocol,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
    ) -> DatagramPort:
        """Bind a UNIX datagram socket at ``address`` for a DatagramProtocol."""
        from torsion._net.unixdgram import listenUNIXDatagram

        return listenUNIXDatagram(self, address, protocol, maxPacketSize, mode)

    def connectUNIXDatagram(
        self,
        address: str,
        protocol: ConnectedDatagramProtocol,
        maxPacketSize: int = 8192,
        mode: int = 0o666,
        bindAddress: str | None = None,
    ) -> ConnectedDatagramPort:
        """Connect a ConnectedDatagramProtocol to the UNIX datagram socket ``address``."""
        from torsion._net.unixdgram import connectUNIXDatagram

        return connectUNIXDatagram(self, address, protocol, maxPacketSize, mode, bindAddress)

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
        *,
        reusePort: bool = False,
    ) -> ssl.Port:
        """Listen for TLS connections on ``interface``:``port`` (``reusePort``: as listenTCP)."""
        from torsion._net.tls import listenSSL

        return listenSSL(self, port, factory, contextFactory, backlog, interface, reusePort)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: IClientFactory,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> ssl.Connector:
        """Connect over TLS to ``host``:``port``; returns the Connector."""
        from torsion._net.tls import connectSSL

        return connectSSL(self, host, port, factory, contextFactory, timeout, bindAddress)

    def listenUDP(
        self,
        port: int,
        protocol: DatagramProtocol,
        interface: str = "",
        maxPacketSize: int = 8192,
    ) -> udp.Port:
        """Bind a UDP port for a DatagramProtocol."""
        from torsion._net.udp import listenUDP

        return listenUDP(self, port, protocol, interface, maxPacketSize)

    def listenMulticast(
        self,
        port: int,
        protocol: DatagramProtocol,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> udp.MulticastPort:
        """Bind a UDP port able to join multicast groups."""
        from torsion._net.udp import listenMulticast

        return listenMulticast(self, port, protocol, interface, maxPacketSize, listenMultiple)

    # ------------------------------------------------- adopted sockets (IReactorSocket)

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: int, factory: IProtocolFactory
    ) -> AdoptedTCPPort | AdoptedUNIXPort:
        """Accept connections on a listening socket made elsewhere (TCP or UNIX).

        The reactor uses a duplicate of ``fileDescriptor``: close yours when
        you no longer need it.
        """
        from torsion._net.adopt import adoptStreamPort

        return adoptStreamPort(self, fileDescriptor, addressFamily, factory)

    def adoptStreamConnection(
        self, fileDescriptor: int, addressFamily: int, factory: IProtocolFactory
    ) -> None:
        """Run a connected stream socket made elsewhere with a protocol from ``factory``."""
        from torsion._net.adopt import adoptStreamConnection

        adoptStreamConnection(self, fileDescriptor, addressFamily, factory)

    def adoptDatagramPort(
        self,
        fileDescriptor: int,
        addressFamily: int,
        protocol: DatagramProtocol,
        maxPacketSize: int = 8192,
    ) -> AdoptedUDPPort:
        """Run a bound UDP socket made elsewhere for a DatagramProtocol."""
        from torsion._net.adopt import adoptDatagramPort

        return adoptDatagramPort(self, fileDescriptor, addressFamily, protocol, maxPacketSize)

    def spawnProcess(
        self,
        processProtocol: IProcessProtocol,
        executable: str | bytes,
        args: Any = (),
        env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool = False,
        childFDs: dict[int, Any] | None = None,
    ) -> process.Process | process.PTYProcess:
        """Start a child process talking to ``processProtocol``; returns its transport."""
        from torsion._process.transport import spawnProcess

        return spawnProcess(
            self, processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs
        )
