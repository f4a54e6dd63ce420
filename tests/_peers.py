"""Recording protocols, async helpers and test certificates shared by the TLS and UNIX tests."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import trustme

from torsion import defer
from torsion import ssl as tssl
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol


def scenario(run: Any, coro: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 10) -> Any:
    """Run the ``run`` fixture's reactor until the coroutine ``coro()`` finishes."""
    return run(defer.ensureDeferred(coro()), timeout)


class Peer(Protocol):
    """Records everything; ``made``/``lost`` fire on connect/disconnect, ``reason``
    is the Failure given to ``connectionLost``.  Writes ``greeting`` on connect."""

    greeting = b""

    def __init__(self) -> None:
        self.received = bytearray()
        self.made: Deferred[Any] = Deferred()
        self.lost: Deferred[None] = Deferred()
        self.reason: Failure | None = None
        self.addr: Any = None
        self.peerCertAtConnect: Any = "unset"
        self.handshakes = 0
        self.handshook: Deferred[None] = Deferred()
        self._waiting: list[tuple[Callable[[Any], bool], Deferred[None]]] = []

    def connectionMade(self) -> None:
        getPeerCertificate = getattr(self.transport, "getPeerCertificate", None)  # not on TCP
        self.peerCertAtConnect = getPeerCertificate() if getPeerCertificate else None
        if self.greeting:
            self.transport.write(self.greeting)
        self.made.callback(self)

    def handshakeCompleted(self) -> None:
        self.handshakes += 1
        self.handshook.callback(None)

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self.changed()

    def waitFor(self, condition: bytes | Callable[[Any], bool]) -> Deferred[None]:
        """Fires once ``received`` is ``condition`` (bytes), or ``condition(self)`` holds;
        fails with PeerLost if the connection ends first."""
        if isinstance(condition, bytes):
            expected = condition
            condition = lambda peer: bytes(peer.received) == expected  # noqa: E731
        d: Deferred[None] = Deferred()
        self._waiting.append((condition, d))
        self.changed()
        return d

    def changed(self) -> None:
        """Fire the ``waitFor`` Deferreds whose condition now holds."""
        for item in list(self._waiting):
            if item[0](self):
                self._waiting.remove(item)
                item[1].callback(None)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.reason = reason
        self.changed()
        waiting, self._waiting = self._waiting, []
        for _, d in waiting:
            d.errback(PeerLost(reason))
        self.lost.callback(None)


class PeerLost(Exception):
    """The connection ended before what ``waitFor`` waited for happened."""


class Echo(Peer):
    def dataReceived(self, data: bytes) -> None:
        super().dataReceived(data)
        self.transport.write(data)


class Servers(Factory):
    """Builds ``protocol`` instances and keeps them; ``first`` fires with the first."""

    def __init__(self, protocol: type[Peer] = Peer) -> None:
        self.protocol = protocol
        self.built: list[Any] = []
        self.first: Deferred[Any] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol()
        p.factory = self
        p.addr = addr
        self.built.append(p)
        if len(self.built) == 1:
            self.first.callback(p)
        return p


async def bothLost(*peers: Any) -> list[Failure]:
    """Wait until each peer's connection is lost; their reasons."""
    for p in peers:
        await p.lost
    return [p.reason for p in peers]


def check(failure: Failure | None, cls: type[BaseException]) -> Any:
    """Assert ``failure`` holds a ``cls``; return the exception."""
    assert failure is not None and isinstance(failure.value, cls), repr(failure)
    return failure.value


class PKI:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""

    def __init__(self) -> None:
        self.ca = trustme.CA()
        self.caPEM = self.ca.cert_pem.bytes()
        self.caCert = tssl.Certificate.loadPEM(self.ca.cert_pem.bytes())
        leaf = self.ca.issue_cert("localhost", "127.0.0.1", common_name="localhost")
        self.serverPEM = leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes()
        self.server = tssl.PrivateCertificate.loadPEM(self.serverPEM)
        alice = self.ca.issue_cert("alice.example", common_name="alice")
        self.client = tssl.PrivateCertificate.loadPEM(
            alice.cert_chain_pems[0].bytes() + alice.private_key_pem.bytes()
        )

    def clientOptions(self, hostname: str = "localhost", **kw: Any) -> tssl.ClientTLSOptions:
        return tssl.optionsForClientTLS(hostname, trustRoot=self.caCert, **kw)
