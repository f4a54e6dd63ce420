"""The structural interfaces match torsion's real classes, and answer zope's questions."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from _pairs import makePair
from _peers import PKI, scenario
from torsion import interfaces
from torsion.protocol import DatagramProtocol, Factory, Protocol
from torsion.task import Clock

REACTOR_INTERFACES = [
    interfaces.IReactorTime,
    interfaces.IReactorCore,
    interfaces.IReactorThreads,
    interfaces.IReactorFDSet,
    interfaces.IReactorTCP,
    interfaces.IReactorUNIX,
    interfaces.IReactorSSL,
    interfaces.IReactorUDP,
    interfaces.IReactorUNIXDatagram,
    interfaces.IReactorProcess,
    interfaces.IReactorSocket,
    interfaces.IReactorPluggableNameResolver,
    interfaces.IReactorPluggableResolver,
]


def test_reactor_provides_core_interfaces(reactor: Any) -> None:
    for iface in REACTOR_INTERFACES:
        assert isinstance(reactor, iface), iface.__name__


def test_protocols_and_factories() -> None:
    assert isinstance(Protocol(), interfaces.IProtocol)
    assert isinstance(Factory(), interfaces.IProtocolFactory)
    assert not isinstance(Protocol(), interfaces.IHalfCloseableProtocol)
    assert isinstance(Clock(), interfaces.IReactorTime)
    assert isinstance(Clock().callLater(1, print), interfaces.IDelayedCall)


def test_implementer_returns_the_class() -> None:
    @interfaces.implementer(interfaces.IProtocol, interfaces.IPushProducer)
    class P(Protocol):
        pass

    assert P.__name__ == "P" and isinstance(P(), interfaces.IProtocol)


# The methods that take a callable name its parameter as Twisted's reactor does,
# so that keyword calls valid on Twisted are valid here (and no others): a name
# with a leading underscore in Twisted is positional-only in torsion.
_CALL_METHODS = (
    "callLater",
    "callWhenRunning",
    "callFromThread",
    "callInThread",
    "addSystemEventTrigger",
    "removeSystemEventTrigger",
)


def _keywordNames(method: Any) -> list[str]:
    return [
        p.name
        for p in inspect.signature(method).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and not p.name.startswith("_")
    ]


@pytest.mark.twisted_oracle
@pytest.mark.parametrize("name", _CALL_METHODS)
def test_call_methods_take_twisteds_keywords(reactor: Any, name: str) -> None:
    pytest.importorskip("twisted")
    from twisted.internet.epollreactor import EPollReactor

    twisted = _keywordNames(getattr(EPollReactor, name))
    assert _keywordNames(getattr(reactor, name)) == [n for n in twisted if n != "self"]


def test_keywords_after_the_callable_go_to_the_callable(reactor: Any) -> None:
    seen: list[dict[str, Any]] = []
    reactor.callLater(0, lambda **kw: seen.append(kw), f=1)
    reactor.callFromThread(lambda **kw: seen.append(kw), callable=2)
    reactor.callLater(delay=0, callable=lambda: seen.append({"keywords": 3}))
    for _ in range(3):
        reactor.iterate(0)
    assert sorted(map(str, seen)) == ["{'callable': 2}", "{'f': 1}", "{'keywords': 3}"]


def test_call_in_thread_gives_every_keyword_to_the_callable(reactor: Any, run: Any) -> None:
    from torsion.defer import Deferred

    d: Deferred[Any] = Deferred()
    reactor.callInThread(lambda **kw: reactor.callFromThread(d.callback, kw), f=2)
    assert run(d) == {"f": 2}


def test_every_interface_and_method_is_documented() -> None:
    undocumented = []
    for name in interfaces.__all__:
        obj = getattr(interfaces, name)
        if not (obj.__doc__ or "").strip():
            undocumented.append(name)
        for attr, member in vars(obj).items() if isinstance(obj, type) else ():
            if attr.startswith("_"):
                continue
            func = member.fget if isinstance(member, property) else member
            if callable(func) and not (func.__doc__ or "").strip():
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []


# -- zope's questions (torsion._zopecompat) ------------------------------------------


def test_interfaces_stay_typing_protocols() -> None:
    assert all(
        type(i) is interfaces.InterfaceClass and issubclass(type(i), type(typing.Protocol))
        for i in [*REACTOR_INTERFACES, interfaces.IProtocol, interfaces.IAddress]
    )
    assert interfaces.IProtocol.__dict__["_is_protocol"]
    assert isinstance(Protocol(), interfaces.IProtocol)  # runtime_checkable still works

    class Explicit(interfaces.IProtocolFactory):  # inheriting builds instances as usual
        def __init__(self, x: int) -> None:
            self.x = x

    assert Explicit(3).x == 3 and not Explicit.__dict__.get("_is_protocol")
    assert interfaces.IProtocolFactory.providedBy(Explicit(1))  # nominal


def test_real_reactor_provides_its_interfaces(reactor: Any) -> None:
    for iface in REACTOR_INTERFACES:
        assert iface.providedBy(reactor), iface.__name__
        assert iface(reactor) is reactor
        assert interfaces.verifyObject(iface, reactor) is True
    # seconds and callLater are set per reactor (the hot path), the rest are the class's
    assert interfaces.IReactorTCP.implementedBy(type(reactor))
    assert interfaces.verifyClass(interfaces.IReactorTCP, type(reactor)) is True
    assert not interfaces.IReactorTime.implementedBy(type(reactor))
    assert not interfaces.IProtocol.providedBy(reactor)
    assert interfaces.IProtocol(reactor, None) is None
    delayed = reactor.callLater(10, print)
    try:
        assert interfaces.IDelayedCall.providedBy(delayed)
        assert interfaces.verifyObject(interfaces.IDelayedCall, delayed)
    finally:
        delayed.cancel()


@pytest.mark.parametrize("kind", ["tcp", "unix", "tls-tcp", "process"])
def test_real_transports_provide_their_interfaces(
    run: Any, reactor: Any, kind: str, tmp_path: Path
) -> None:
    wanted = [interfaces.ITransport, interfaces.IPushProducer, interfaces.IConsumer]
    wanted += {
        "tcp": [interfaces.ITCPTransport, interfaces.ISystemHandle],
        "unix": [interfaces.ISystemHandle],
        "tls-tcp": [],
        "process": [interfaces.IProcessTransport],
    }[kind]

    async def go() -> None:
        pair = await makePair(kind, reactor, tmp_path, PKI())
        try:
            transport = pair.a.transport
            for iface in wanted:
                assert iface.providedBy(transport), (kind, iface.__name__)
                assert interfaces.verifyObject(iface, transport)
            assert interfaces.IAddress.providedBy(transport.getHost())
            assert interfaces.verifyObject(interfaces.IAddress, transport.getPeer())
            assert interfaces.IProtocol.providedBy(pair.a)
            assert not interfaces.IReactorTCP.providedBy(transport)
            transport.loseConnection()
            await pair.close()
        finally:
            await pair.cleanup()

    scenario(run, go, timeout=20)


def test_listening_ports_provide_ilisteningport(run: Any, reactor: Any, tmp_path: Path) -> None:
    tcp = reactor.listenTCP(0, Factory(), interface="127.0.0.1")
    unix = reactor.listenUNIX(str(tmp_path / "s"), Factory())
    udp = reactor.listenUDP(0, DatagramProtocol(), interface="127.0.0.1")
    try:
        for port in (tcp, unix):
            assert interfaces.IListeningPort.providedBy(port)
            assert interfaces.verifyObject(interfaces.IListeningPort, port)
        assert interfaces.IUDPTransport.providedBy(udp)
        assert interfaces.verifyObject(interfaces.IUDPTransport, udp)
        assert interfaces.IAddress.providedBy(tcp.getHost())
    finally:
        for port in (tcp, unix, udp):
            stopped = port.stopListening()
            if stopped is not None:
                run(stopped)


class Producer:
    def pauseProducing(self) -> None: ...
    def resumeProducing(self) -> None: ...
    def stopProducing(self) -> None: ...


def test_structural_provision_and_its_limits() -> None:
    assert interfaces.IPushProducer.providedBy(Producer())
    assert interfaces.IProducer.providedBy(Producer())
    assert interfaces.IPullProducer.providedBy(Producer())  # resume and stop: it has them
    stopOnly = SimpleNamespace(stopProducing=lambda: None)
    assert interfaces.IProducer.providedBy(stopOnly)
    assert not interfaces.IPushProducer.providedBy(stopOnly)
    assert not interfaces.IPushProducer.providedBy(
        SimpleNamespace(pauseProducing=1, resumeProducing=1, stopProducing=1)
    )
    assert not interfaces.IPushProducer.providedBy(Producer)  # a class: declarations only
    assert interfaces.IPushProducer.implementedBy(Producer)
    assert not interfaces.IAddress.providedBy(object())  # a marker: declarations only
    assert not interfaces.IAddress.providedBy(Producer())
    with pytest.raises(TypeError, match="takes a class"):
        interfaces.IPushProducer.implementedBy(Producer())  # type: ignore[arg-type]


def test_implementer_records_the_declaration() -> None:
    @interfaces.implementer(interfaces.IPushProducer, interfaces.IAddress)
    class Declared:
        pass

    class Sub(Declared):
        pass

    for obj in (Declared(), Sub()):
        assert interfaces.IPushProducer.providedBy(obj)
        assert interfaces.IProducer.providedBy(obj)  # IPushProducer extends it
        assert interfaces.IAddress.providedBy(obj)
        assert not interfaces.IProtocol.providedBy(obj)
    assert interfaces.IPushProducer.implementedBy(Sub)
    assert interfaces.verifyObject(interfaces.IAddress, Sub())
    assert not interfaces.IAddress.providedBy(Declared)  # what instances provide, not the class
    with pytest.raises(interfaces.BrokenImplementation, match="pauseProducing"):
        interfaces.verifyObject(interfaces.IPushProducer, Declared())  # declared, yet lacking
    with pytest.raises(TypeError, match="not an interface"):
        interfaces.implementer(42)


def test_direct_declarations() -> None:
    a, b = SimpleNamespace(), SimpleNamespace()
    interfaces.directlyProvides(a, interfaces.IAddress)
    assert interfaces.IAddress.providedBy(a) and not interfaces.IAddress.providedBy(b)
    interfaces.alsoProvides(a, interfaces.IConsumer)
    assert interfaces.IAddress.providedBy(a) and interfaces.IConsumer.providedBy(a)
    interfaces.directlyProvides(a)
    assert not interfaces.IAddress.providedBy(a)

    @interfaces.provider(interfaces.IAddress)
    class Provider:
        pass

    assert interfaces.IAddress.providedBy(Provider)  # the class itself...
    assert not interfaces.IAddress.providedBy(Provider())  # ...not its instances
    with pytest.raises(TypeError, match="no __dict__"):
        interfaces.directlyProvides(object(), interfaces.IAddress)


def test_adaptation() -> None:
    p = Protocol()
    assert interfaces.IProtocol(p) is p
    assert interfaces.IProtocol(3, None) is None
    marker = object()
    assert interfaces.IPushProducer(p, marker) is marker
    with pytest.raises(TypeError) as caught:
        interfaces.IPushProducer(p)
    assert caught.value.args == ("Could not adapt", p, interfaces.IPushProducer)
    with pytest.raises(TypeError, match="adapts obj"):
        interfaces.IProtocol()


class BadConsumer:
    producer: Any = None

    def registerProducer(self, producer: Any) -> None: ...  # too few arguments
    def unregisterProducer(self, extra: int) -> None: ...  # requires one more

    write = 3  # not a method


def test_verify_names_every_problem() -> None:
    with pytest.raises(interfaces.BrokenImplementation) as caught:
        interfaces.verifyObject(interfaces.IConsumer, BadConsumer())
    message = str(caught.value)
    assert "does not implement IConsumer" in message
    assert "registerProducer() does not accept the interface's 2 positional" in message
    assert "unregisterProducer() requires more arguments" in message
    assert "'write' is not a method" in message
    with pytest.raises(interfaces.BrokenImplementation, match=r"IConsumer.*unregisterProducer"):
        interfaces.verifyClass(interfaces.IConsumer, BadConsumer)
    with pytest.raises(interfaces.BrokenImplementation, match="the method 'connect' is missing"):
        interfaces.verifyObject(interfaces.IStreamClientEndpoint, object())
    with pytest.raises(interfaces.BrokenImplementation, match="attribute 'running'"):
        interfaces.verifyObject(interfaces.IReactorCore, SimpleNamespace(**_methodsOf(Clock)))
    with pytest.raises(interfaces.BrokenImplementation, match="no members to check"):
        interfaces.verifyObject(interfaces.IAddress, object())
    with pytest.raises(TypeError, match="not an interface"):
        interfaces.verifyObject(int, 3)


def _methodsOf(cls: type) -> dict[str, Any]:
    return {n: getattr(cls(), n) for n in dir(cls) if not n.startswith("_")}


def test_verify_accepts_compatible_signatures() -> None:
    class Flexible:
        def registerProducer(self, *args: Any) -> None: ...
        def unregisterProducer(self, optional: int = 0) -> None: ...
        @staticmethod
        def write(data: bytes) -> None: ...

    assert interfaces.verifyObject(interfaces.IConsumer, Flexible())
    assert interfaces.verifyClass(interfaces.IConsumer, Flexible)
    with pytest.raises(interfaces.BrokenImplementation, match=r"\*\*kwargs"):
        interfaces.verifyObject(
            interfaces.IReactorTime,
            SimpleNamespace(
                seconds=lambda: 0.0, callLater=lambda d, f, *a: None, getDelayedCalls=list
            ),
        )


def test_verify_understands_zope_interfaces() -> None:
    zope = pytest.importorskip("zope.interface")

    class IThing(zope.Interface):
        size = zope.Attribute("how big")

        def grow(amount):  # type: ignore[no-untyped-def]
            """zope's methods have no self."""

    class IMarker(zope.Interface):
        pass

    @interfaces.implementer(IMarker)
    class Thing:
        size = 1

        def grow(self, amount: int) -> None: ...

    assert interfaces.verifyObject(IThing, Thing()) and interfaces.verifyClass(IThing, Thing)
    assert interfaces.verifyObject(IMarker, Thing())
    with pytest.raises(interfaces.BrokenImplementation, match="grow"):
        interfaces.verifyObject(IThing, SimpleNamespace(size=1, grow=lambda: None))


def test_implementer_costs_nothing_per_instance() -> None:
    @interfaces.implementer(interfaces.IProtocol)
    class Slotted:
        __slots__ = ("x",)

    assert Slotted.__init__ is object.__init__ and not hasattr(Slotted(), "__dict__")


@typing.runtime_checkable
class IMine(typing.Protocol, metaclass=interfaces.InterfaceClass):
    size: int

    def grow(self, amount: int) -> None: ...


def test_user_interfaces_can_take_the_metaclass() -> None:
    class Mine:
        size = 1

        def grow(self, amount: int) -> None: ...

    mine: IMine = Mine()  # still a structural type
    assert isinstance(mine, IMine) and IMine.providedBy(mine) and IMine(mine) is mine
    assert interfaces.verifyObject(IMine, mine) and IMine.implementedBy(Mine)
    assert IMine.names() == ["grow", "size"]
    assert not IMine.providedBy(SimpleNamespace(grow=print))


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
