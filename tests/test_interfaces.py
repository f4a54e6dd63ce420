"""The structural interfaces match torsion's real classes."""

from __future__ import annotations

from typing import Any

from torsion import interfaces
from torsion.protocol import Factory, Protocol
from torsion.task import Clock


def test_reactor_provides_core_interfaces(reactor: Any) -> None:
    for iface in (
        interfaces.IReactorTime,
        interfaces.IReactorCore,
        interfaces.IReactorThreads,
        interfaces.IReactorFDSet,
        interfaces.IReactorTCP,
        interfaces.IReactorUNIX,
        interfaces.IReactorSSL,
        interfaces.IReactorUDP,
        interfaces.IReactorProcess,
    ):
        assert isinstance(reactor, iface), iface.__name__


def test_protocols_and_factories() -> None:
    assert isinstance(Protocol(), interfaces.IProtocol)
    assert isinstance(Factory(), interfaces.IProtocolFactory)
    assert not isinstance(Protocol(), interfaces.IHalfCloseableProtocol)
    assert isinstance(Clock(), interfaces.IReactorTime)
    assert isinstance(Clock().callLater(1, print), interfaces.IDelayedCall)


def test_implementer_is_a_no_op_decorator() -> None:
    @interfaces.implementer(interfaces.IProtocol, interfaces.IPushProducer)
    class P(Protocol):
        pass

    assert P.__name__ == "P" and isinstance(P(), interfaces.IProtocol)


def test_logging_context_tls_and_parser_interfaces(reactor: Any) -> None:
    # Twisted's ILoggingContext: protocols, factories, ports and transports name
    # themselves with logPrefix().
    port = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
    try:
        for obj in (Protocol(), Factory(), port):
            assert isinstance(obj, interfaces.ILoggingContext), obj
    finally:
        port.stopListening()

    class Listener:
        def handshakeCompleted(self) -> None:
            pass

    class Parser:
        prefix = "mine"

        def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:
            return None

    assert isinstance(Listener(), interfaces.IHandshakeListener)
    assert not isinstance(Protocol(), interfaces.IHandshakeListener)
    assert isinstance(Parser(), interfaces.IStreamServerEndpointStringParser)
