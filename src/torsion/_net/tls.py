"""TLS over stream sockets: ``reactor.listenSSL`` and ``reactor.connectSSL``.

A TLS port is a TCP port whose accepted transports wrap the application's
protocol in ``TLSMemoryBIOProtocol`` (see ``torsion._tls.protocol``); a TLS
connector is a TCP connector that wraps the protocol as soon as the
connection is made.  The TLS policy (context factories, certificates, trust)
lives in ``torsion._tls``.
"""

from __future__ import annotations

from typing import Any

from torsion._net import tcp
from torsion._tls.protocol import TLSMemoryBIOFactory, TLSMemoryBIOProtocol

__all__ = ["Connector", "Port", "connectSSL", "listenSSL"]


class _TLSServer(tcp.Server):
    """A TCP server transport whose protocol is wrapped in TLS."""

    __slots__ = ()

    def __init__(
        self, sock: Any, protocol: Any, peer: Any, server: Port, sessionno: int, reactor: Any
    ) -> None:
        wrapped = TLSMemoryBIOProtocol(server._tlsFactory, protocol)
        super().__init__(sock, wrapped, peer, server, sessionno, reactor)


class Port(tcp.Port):
    """``reactor.listenSSL``'s port: TCP, with TLS on each accepted connection."""

    transport = _TLSServer
    _type = "TLS"

    def __init__(
        self,
        port: int,
        factory: Any,
        ctxFactory: Any,
        backlog: int = 50,
        interface: str = "",
        reactor: Any = None,
        reusePort: bool = False,
    ) -> None:
        super().__init__(port, factory, backlog, interface, reactor, reusePort)
        self.ctxFactory = ctxFactory
        self._tlsFactory = TLSMemoryBIOFactory(ctxFactory, False, factory, reactor)

    def logPrefix(self) -> str:
        return f"{type(self.factory).__name__} (TLS)"


class Connector(tcp.Connector):
    """``reactor.connectSSL``'s connector: TCP, then TLS as soon as it connects."""

    def __init__(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float | None,
        bindAddress: Any,
        reactor: Any,
    ) -> None:
        super().__init__(host, port, factory, timeout, bindAddress, reactor)
        self.contextFactory = contextFactory
        self._tlsFactory = TLSMemoryBIOFactory(contextFactory, True, factory, reactor)

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        if protocol is None:
            return None
        tls = TLSMemoryBIOProtocol(self._tlsFactory, protocol)
        tls.hostname = self.host
        return tls


def listenSSL(
    reactor: Any,
    port: int,
    factory: Any,
    contextFactory: Any,
    backlog: int = 50,
    interface: str = "",
    reusePort: bool = False,
) -> Port:
    """``reactor.listenSSL``: accept TLS connections on ``interface``:``port``."""
    p = Port(port, factory, contextFactory, backlog, interface, reactor, reusePort)
    p.startListening()
    return p


def connectSSL(
    reactor: Any,
    host: str,
    port: int,
    factory: Any,
    contextFactory: Any,
    timeout: float | None = 30,
    bindAddress: Any = None,
) -> Connector:
    """``reactor.connectSSL``: connect to ``host``:``port`` and start TLS as its client."""
    c = Connector(host, port, factory, contextFactory, timeout, bindAddress, reactor)
    c.connect()
    return c
