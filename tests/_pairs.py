"""Connected pairs of stream transports, one maker per kind, for the transport contract.

``makePair(kind, reactor, ...)`` connects two protocols and returns a ``Pair``:
``a`` is the protocol whose transport is checked, ``b`` the one at the other
end.  For the socket kinds both ends are transports of the kind; for
"process" ``a`` speaks to a child process through its pipes (a
``ProcessEndpoint``) and the child relays to ``b``, a UNIX peer in this
process (``tests/_relay.py``); for "stdio" both ends are ``StandardIO``
transports on two pipes.  What a kind cannot do (half-close, abort) and what
its protocols are told when a peer goes away are the ``Pair``'s fields.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _peers import PKI, Peer, Servers
from torsion import error
from torsion import ssl as tssl
from torsion.defer import Deferred, ensureDeferred
from torsion.endpoints import ProcessEndpoint
from torsion.failure import Failure
from torsion.protocol import ClientCreator, ClientFactory, Factory
from torsion.stdio import StandardIO

RELAY = Path(__file__).resolve().parent / "_relay.py"

KINDS = ("tcp", "unix", "unix-fds", "tls-tcp", "tls-unix", "process", "stdio")
#: The kinds whose both ends are sockets: they half-close and abort.
SOCKET_KINDS = ("tcp", "unix", "unix-fds", "tls-tcp", "tls-unix")
TLS_KINDS = ("tls-tcp", "tls-unix")


class Side(Peer):
    """A Peer that counts its ``connectionLost`` calls."""

    def __init__(self) -> None:
        super().__init__()
        self.lostCalls = 0

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lostCalls += 1
        if self.lostCalls == 1:
            super().connectionLost(reason)

    def dropScaffolding(self) -> None:
        """Forget the test doubles' own references back to this peer (cycles): its
        Deferreds, and the list of built protocols its factory keeps."""
        self.made = self.lost = self.handshook = None  # type: ignore[assignment]
        self._waiting = []
        factory = getattr(self, "factory", None)
        if isinstance(factory, Servers):
            factory.built.clear()
        if isinstance(factory, (Servers, Clients)):
            factory.first = None  # type: ignore[assignment]


class HalfSide(Side):
    """A half-closeable Side: records ``readConnectionLost``/``writeConnectionLost``."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.readLost: Deferred[None] = Deferred()
        self.writeLost: Deferred[None] = Deferred()

    def readConnectionLost(self) -> None:
        self.events.append("readConnectionLost")
        self.readLost.callback(None)

    def writeConnectionLost(self) -> None:
        self.events.append("writeConnectionLost")
        self.writeLost.callback(None)


def _withDescriptors(cls: type[Side]) -> type[Side]:
    """``cls`` with ``fileDescriptorReceived``: its UNIX transport reads with recvmsg."""

    def fileDescriptorReceived(self: Any, fd: int) -> None:
        os.close(fd)

    return type(cls.__name__ + "FDs", (cls,), {"fileDescriptorReceived": fileDescriptorReceived})


class Clients(ClientFactory):
    """A client factory building ``protocol``; ``first`` fires with the first built."""

    def __init__(self, protocol: type[Side]) -> None:
        self.protocol = protocol
        self.first: Deferred[Any] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = super().buildProtocol(addr)
        if not self.first.called:
            self.first.callback(p)
        return p


class Pair:
    """Two connected protocols and what their kind can do."""

    def __init__(self, kind: str, a: Side, b: Side) -> None:
        self.kind = kind
        self.a = a
        self.b = b
        #: What ``b`` is told when ``a`` aborts: a UNIX peer just sees EOF.
        self.abortSeen: tuple[type[BaseException], ...] = (
            (error.ConnectionDone,) if kind in ("unix", "unix-fds") else (error.ConnectionLost,)
        )
        #: What ``a`` is told when ``b`` vanishes and ``a`` then writes: the
        #: send error, except for a process, whose end is the child's exit.
        self.goneSeen: tuple[type[BaseException], ...] = (
            (error.ConnectionDone, error.ProcessTerminated)
            if kind == "process"
            else (error.ConnectionLost,)
        )
        #: A send error carries its errno (a process reports its exit instead).
        self.sendErrno = kind != "process"
        self._cleanups: list[Callable[[], Any]] = []
        self._fds: set[int] = set()

    # -- descriptors the pair owns (stdio) ----------------------------------

    def _own(self, *fds: int) -> None:
        self._fds.update(fds)

    def _close(self, *fds: int) -> None:
        for fd in fds:
            if fd in self._fds:
                self._fds.discard(fd)
                os.close(fd)

    # -- what tests call ----------------------------------------------------

    def breakPeer(self) -> Deferred[None]:
        """Make ``b`` vanish abruptly (a reset); fires once ``b`` is lost."""
        if self.kind == "stdio":
            # A process killed: both its descriptors close at once.
            self.b.transport.connectionLost(Failure(error.ConnectionAborted()))
            self._close(*self._bFDs)
        else:
            self.b.transport.abortConnection()
        return self.b.lost

    async def close(self) -> None:
        """Wait until both ends are lost (closing what is still open), then clean up."""
        for side in (self.a, self.b):
            if not side.lost.called:
                await side.lost
        await self.cleanup()

    async def cleanup(self) -> None:
        for f in reversed(self._cleanups):
            result = f()
            if isinstance(result, Deferred):
                await result
        self._cleanups.clear()
        self._close(*list(self._fds))

    _bFDs: tuple[int, ...] = ()


async def _make(
    kind: str, reactor: Any, tmp: Path, pki: PKI, aClass: type[Side], bClass: type[Side]
) -> Pair:
    if kind == "unix-fds":
        aClass, bClass = _withDescriptors(aClass), _withDescriptors(bClass)
    if kind == "stdio":
        return _stdio(reactor, aClass, bClass)
    servers = Servers(bClass)
    path = str(tmp / "contract.sock")
    if kind == "tcp":
        port = reactor.listenTCP(0, servers, interface="127.0.0.1")
        a = await ClientCreator(reactor, aClass).connectTCP("127.0.0.1", port.getHost().port)
    elif kind in ("unix", "unix-fds"):
        port = reactor.listenUNIX(path, servers)
        a = await ClientCreator(reactor, aClass).connectUNIX(path)
    elif kind == "tls-tcp":
        port = reactor.listenSSL(0, servers, pki.server.options(), interface="127.0.0.1")
        clients = Clients(aClass)
        reactor.connectSSL("127.0.0.1", port.getHost().port, clients, pki.clientOptions())
        a = await clients.first
    elif kind == "tls-unix":
        port = reactor.listenUNIX(
            path, tssl.TLSMemoryBIOFactory(pki.server.options(), False, servers)
        )
        clients = Clients(aClass)
        reactor.connectUNIX(path, tssl.TLSMemoryBIOFactory(pki.clientOptions(), True, clients))
        a = await clients.first
    elif kind == "process":
        port = reactor.listenUNIX(path, servers)
        python = sys.executable
        endpoint = ProcessEndpoint(reactor, python, [python, "-I", "-S", str(RELAY), path])
        a = await endpoint.connect(Factory.forProtocol(aClass))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    b = await servers.first
    await b.made
    await a.made
    if kind in TLS_KINDS:
        await a.handshook
        await b.handshook
    pair = Pair(kind, a, b)
    pair._cleanups.append(port.stopListening)
    return pair


def _stdio(reactor: Any, aClass: type[Side], bClass: type[Side]) -> Pair:
    """Two StandardIO transports on two pipes: a's stdout is b's stdin and back.

    StandardIO borrows its descriptors; the pair plays the process that owns
    them: it closes a side's stdout once that side is lost (the peer then sees
    EOF), and the rest at the end.
    """
    aIn, bOut = os.pipe()
    bIn, aOut = os.pipe()
    a, b = aClass(), bClass()
    pair = Pair("stdio", a, b)
    pair._own(aIn, bOut, bIn, aOut)
    pair._bFDs = (bIn, bOut)
    StandardIO(a, stdin=aIn, stdout=aOut, reactor=reactor)
    StandardIO(b, stdin=bIn, stdout=bOut, reactor=reactor)
    a.lost.addCallback(lambda _: pair._close(aOut))
    b.lost.addCallback(lambda _: pair._close(bOut))
    return pair


def makePair(
    kind: str,
    reactor: Any,
    tmp: Path,
    pki: PKI,
    aClass: type[Side] = Side,
    bClass: type[Side] = Side,
) -> Deferred[Pair]:
    """Connect an ``aClass`` and a ``bClass`` protocol over a transport of ``kind``."""
    return ensureDeferred(_make(kind, reactor, tmp, pki, aClass, bClass))
