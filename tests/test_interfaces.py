"""The structural interfaces match torsion's real classes."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

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
