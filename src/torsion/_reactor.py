"""The reactor: the loop of ``torsion._core`` plus the methods that create transports.

This is the assembly layer (Twisted's ``posixbase`` over ``base``; asyncio's
``selector_events`` over ``base_events``): ``ReactorCore`` knows descriptors,
timers, triggers and threads; ``Reactor`` adds ``listenTCP`` ...
``spawnProcess`` and ``resolve``.  Each transport module is imported on first
use, so importing the reactor stays cheap and a program pays only for the
transports it uses.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from torsion import error
from torsion._core.base import ReactorCore
from torsion._util import isIPv4Address

if TYPE_CHECKING:
    from torsion.defer import Deferred

__all__ = ["Reactor"]


class Reactor(ReactorCore):
    """An event loop with Twisted's reactor API, on one readiness backend."""

    def resolve(self, name: str, timeout: Any = (1, 3, 11, 45)) -> Deferred[str]:
        """Resolve a host name to an IPv4 address string (in a thread)."""
        from torsion import defer, threads

        if not isinstance(name, str):
            return defer.fail(TypeError(f"host name must be str, got {type(name).__name__}"))
        if not name:
            return defer.succeed("0.0.0.0")
        if isIPv4Address(name):
            return defer.succeed(name)

        def lookup() -> str:
            try:
                return socket.gethostbyname(name)
            except (OSError, UnicodeError) as e:
                raise error.DNSLookupError(f"address {name!r} not found: {e}")

        d = threads.deferToThreadPool(self, self.getThreadPool(), lookup)
        total = sum(timeout) if isinstance(timeout, (tuple, list)) else timeout
        if total:

            def timedOut(failure: Any, _t: float) -> Any:
                failure.trap(defer.TimeoutError)
                raise error.DNSLookupError(f"address {name!r} not found: timed out")

            d.addTimeout(total, self, onTimeoutCancel=None)
            d.addErrback(timedOut, total)
        return d

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        """Listen for TCP connections on ``interface``:``port`` (0: any free port)."""
        from torsion._net.tcp import Port

        p = Port(port, factory, backlog, interface, self)
        p.startListening()
        return p

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        """Connect to ``host``:``port`` with a client factory; returns the Connector."""
        from torsion._net.tcp import Connector

        c = Connector(host, port, factory, timeout, bindAddress, self)
        c.connect()
        return c

    def listenUNIX(
        self, address: str, factory: Any, backlog: int = 50, mode: int = 0o666, wantPID: int = 0
    ) -> Any:
        """Listen on the UNIX socket ``address`` (a leading NUL: Linux abstract name)."""
        from torsion._net.unix import listenUNIX

        return listenUNIX(self, address, factory, backlog, mode, wantPID)

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: int = 0
    ) -> Any:
        """Connect to the UNIX socket ``address``; returns the Connector."""
        from torsion._net.unix import connectUNIX

        return connectUNIX(self, address, factory, timeout, checkPID)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> Any:
        """Listen for TLS connections on ``interface``:``port``."""
        from torsion._net.tls import listenSSL

        return listenSSL(self, port, factory, contextFactory, backlog, interface)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        """Connect over TLS to ``host``:``port``; returns the Connector."""
        from torsion._net.tls import connectSSL

        return connectSSL(self, host, port, factory, contextFactory, timeout, bindAddress)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        """Bind a UDP port for a DatagramProtocol."""
        from torsion._net.udp import listenUDP

        return listenUDP(self, port, protocol, interface, maxPacketSize)

    def listenMulticast(
        self,
        port: int,
        protocol: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        listenMultiple: bool = False,
    ) -> Any:
        """Bind a UDP port able to join multicast groups."""
        from torsion._net.udp import listenMulticast

        return listenMulticast(self, port, protocol, interface, maxPacketSize, listenMultiple)

    def spawnProcess(
        self,
        processProtocol: Any,
        executable: str | bytes,
        args: Any = (),
        env: dict[Any, Any] | None = {},  # noqa: B006 - Twisted's default: an empty environment
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool = False,
        childFDs: dict[int, Any] | None = None,
    ) -> Any:
        """Start a child process talking to ``processProtocol``; returns its transport."""
        from torsion._process.transport import spawnProcess

        return spawnProcess(
            self, processProtocol, executable, args, env, path, uid, gid, usePTY, childFDs
        )
