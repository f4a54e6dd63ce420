"""Pluggable name resolution: reactor.nameResolver, installNameResolver, installResolver.

The reactor's resolvers (Twisted's ``IHostnameResolver`` and ``IResolverSimple``)
are used by ``HostnameEndpoint``, ``reactor.resolve`` and ``connectTCP`` of a
host name; installing one shape installs the other as an adapter.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from torsion import defer, error, interfaces
from torsion.address import IPv4Address, IPv6Address
from torsion.endpoints import HostnameEndpoint
from torsion.protocol import ClientCreator, Factory, Protocol
from torsion.testing import MemoryReactor, SynchronousResolver


class Receiver:
    """Records a resolution; ``done`` fires with the addresses once it completes."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.addresses: list[Any] = []
        self.done: defer.Deferred[list[Any]] = defer.Deferred()

    def resolutionBegan(self, resolution: Any) -> None:
        self.events.append(("began", resolution.name))

    def addressResolved(self, address: Any) -> None:
        self.events.append("address")
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.events.append("complete")
        self.done.callback(self.addresses)


class MapResolver:
    """An IHostnameResolver answering from a dict (synchronously), recording its calls."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.calls: list[tuple[Any, ...]] = []

    def resolveHostName(
        self,
        receiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        self.calls.append((hostName, portNumber, addressTypes))
        resolution = SynchronousResolver().resolveHostName(Receiver(), hostName)
        receiver.resolutionBegan(resolution)
        for host in self.names.get(hostName, []):
            kind = IPv6Address if ":" in host else IPv4Address
            if addressTypes is None or kind in addressTypes:
                receiver.addressResolved(kind("TCP", host, portNumber))
        receiver.resolutionComplete()
        return resolution


def fakeGetaddrinfo(answers: dict[str, Any]) -> Any:
    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, *a: Any) -> Any:
        answer = answers[host]
        if isinstance(answer, BaseException):
            raise answer
        return [
            (socket.AF_INET6, type, 6, "", (ip, port, 0, 0))
            if ":" in ip
            else (socket.AF_INET, type, 6, "", (ip, port))
            for ip in answer
        ]

    return getaddrinfo


def echoPort(reactor: Any, interface: str = "127.0.0.1") -> Any:
    return reactor.listenTCP(0, Factory.forProtocol(Protocol), interface=interface)


# ----------------------------------------------------------- the default


def test_the_reactor_provides_the_resolver_interfaces(reactor: Any) -> None:
    assert isinstance(reactor, interfaces.IReactorPluggableNameResolver)
    assert isinstance(reactor, interfaces.IReactorPluggableResolver)
    assert isinstance(reactor.nameResolver, interfaces.IHostnameResolver)
    assert isinstance(reactor.resolver, interfaces.IResolverSimple)
    assert isinstance(MemoryReactor(), interfaces.IReactorPluggableNameResolver)


def test_default_resolver_looks_names_up_in_a_thread(
    reactor: Any, run: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", fakeGetaddrinfo({"two.test": ["192.0.2.1", "2001:db8::1"]})
    )
    r = Receiver()
    resolution = reactor.nameResolver.resolveHostName(r, "two.test", 443)
    assert resolution.name == "two.test"
    assert r.events == [("began", "two.test")]  # the rest comes later, from the thread
    assert run(r.done) == [
        IPv4Address("TCP", "192.0.2.1", 443),
        IPv6Address("TCP", "2001:db8::1", 443, 0, 0),
    ]
    assert r.events[-1] == "complete"


def test_default_resolver_passes_family_and_socket_type(
    reactor: Any, run: Any, monkeypatch: Any
) -> None:
    calls: list[tuple[Any, ...]] = []
    real = fakeGetaddrinfo({"x.test": ["192.0.2.7"]})

    def spy(host: Any, port: Any, family: int = 0, type: int = 0, *a: Any) -> Any:
        calls.append((host, port, family, type))
        return real(host, port, family, type)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    r = Receiver()
    reactor.nameResolver.resolveHostName(r, "x.test", 53, [IPv4Address], "UDP")
    assert run(r.done) == [IPv4Address("UDP", "192.0.2.7", 53)]
    assert calls == [("x.test", 53, socket.AF_INET, socket.SOCK_DGRAM)]


def test_address_literals_are_delivered_at_once_with_their_scope() -> None:
    from torsion._net.resolver import GAIResolver

    resolver = GAIResolver(None)  # no thread needed for a literal
    index = socket.if_nametoindex("lo")
    for host, types, expected in [
        ("127.0.0.1", None, [IPv4Address("TCP", "127.0.0.1", 80)]),
        ("fe80::1%lo", None, [IPv6Address("TCP", "fe80::1", 80, 0, index)]),
        ("::1", [IPv4Address], []),
        ("127.0.0.1", [IPv6Address], []),
    ]:
        r = Receiver()
        resolver.resolveHostName(r, host, 80, types)
        assert r.done.called and r.addresses == expected, host


def test_unknown_names_complete_with_no_address(reactor: Any, run: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        fakeGetaddrinfo({"nowhere.test": socket.gaierror(socket.EAI_NONAME, "unknown")}),
    )
    r = Receiver()
    reactor.nameResolver.resolveHostName(r, "nowhere.test")
    assert run(r.done) == []


def test_unexpected_lookup_errors_are_logged_and_complete(
    reactor: Any, run: Any, monkeypatch: Any, caplog: Any
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", fakeGetaddrinfo({"odd.test": RuntimeError("boom")}))
    r = Receiver()
    with caplog.at_level(logging.ERROR, logger="torsion"):
        reactor.nameResolver.resolveHostName(r, "odd.test")
        assert run(r.done) == []
    assert "boom" in caplog.text and "odd.test" in caplog.text


def test_bad_arguments_are_refused(reactor: Any) -> None:
    with pytest.raises(ValueError, match="transportSemantics"):
        reactor.nameResolver.resolveHostName(Receiver(), "x", 0, None, "SCTP")
    with pytest.raises(ValueError, match="addressTypes"):
        reactor.nameResolver.resolveHostName(Receiver(), "x", 0, [str])
    with pytest.raises(TypeError):
        reactor.installNameResolver(object())
    with pytest.raises(TypeError):
        reactor.installResolver(object())


def test_a_resolution_cannot_be_cancelled(reactor: Any) -> None:
    r = Receiver()
    resolution = reactor.nameResolver.resolveHostName(r, "127.0.0.1")
    with pytest.raises(NotImplementedError):
        resolution.cancel()


# ----------------------------------------------------- installing resolvers


def test_installed_name_resolver_serves_resolve_connect_and_endpoints(
    reactor: Any, run: Any
) -> None:
    port = echoPort(reactor)
    number = port.getHost().port
    resolver = MapResolver({"server.test": ["::1", "127.0.0.1"], "v6only.test": ["::1"]})
    previous = reactor.installNameResolver(resolver)
    assert previous is not resolver and hasattr(previous, "resolveHostName")
    assert reactor.nameResolver is resolver

    async def scenario() -> None:
        # resolve: the first IPv4 address, asked for IPv4 only.
        assert await reactor.resolve("server.test") == "127.0.0.1"
        assert resolver.calls[-1] == ("server.test", 0, [IPv4Address])
        with pytest.raises(error.DNSLookupError):
            await reactor.resolve("v6only.test")
        # connectTCP to a name goes through reactor.resolve.
        proto = await ClientCreator(reactor, Protocol).connectTCP("server.test", number)
        assert proto.transport.getPeer().host == "127.0.0.1"
        proto.transport.loseConnection()
        # HostnameEndpoint asks the name resolver, with the port.
        proto = await HostnameEndpoint(reactor, "server.test", number).connect(
            Factory.forProtocol(Protocol)
        )
        assert resolver.calls[-1] == ("server.test", number, None)
        proto.transport.loseConnection()
        with pytest.raises(error.DNSLookupError, match=r"nothing\.test"):
            await HostnameEndpoint(reactor, "nothing.test", number).connect(
                Factory.forProtocol(Protocol)
            )
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


class SimpleResolver:
    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.calls: list[tuple[str, Any]] = []

    def getHostByName(self, name: str, timeout: Any = (1, 3, 11, 45)) -> defer.Deferred[str]:
        self.calls.append((name, timeout))
        answer = self.names.get(name, error.DNSLookupError(name))
        if isinstance(answer, BaseException):
            return defer.fail(answer)
        return defer.succeed(answer)


def test_installed_simple_resolver_serves_endpoints_too(
    reactor: Any, run: Any, caplog: Any
) -> None:
    port = echoPort(reactor)
    number = port.getHost().port
    simple = SimpleResolver({"server.test": "127.0.0.1", "broken.test": RuntimeError("bad")})
    previous = reactor.installResolver(simple)
    assert hasattr(previous, "getHostByName")
    assert reactor.resolver is simple

    async def scenario() -> None:
        assert await reactor.resolve("server.test", (2,)) == "127.0.0.1"
        assert simple.calls[-1] == ("server.test", (2,))
        proto = await HostnameEndpoint(reactor, "server.test", number).connect(
            Factory.forProtocol(Protocol)
        )
        assert proto.transport.getPeer() == IPv4Address("TCP", "127.0.0.1", number)
        proto.transport.loseConnection()
        # A DNSLookupError is "no address"; any other error is logged as well.
        for name in ("missing.test", "broken.test"):
            with pytest.raises(error.DNSLookupError):
                await HostnameEndpoint(reactor, name, number).connect(
                    Factory.forProtocol(Protocol)
                )
        # A non-ASCII name reaches the simple resolver IDNA-encoded.
        r = Receiver()
        reactor.nameResolver.resolveHostName(r, "bücher.test")
        await r.done
        assert simple.calls[-1][0] == "xn--bcher-kva.test"
        await port.stopListening()

    with caplog.at_level(logging.ERROR, logger="torsion"):
        run(defer.ensureDeferred(scenario()))
    assert "broken.test" in caplog.text and "missing.test" not in caplog.text


def test_resolve_times_out(reactor: Any, run: Any) -> None:
    class Silent:
        def resolveHostName(self, receiver: Any, hostName: str, *a: Any, **k: Any) -> Any:
            receiver.resolutionBegan(None)

    reactor.installNameResolver(Silent())
    with pytest.raises(error.DNSLookupError, match=r"slow\.test"):
        run(reactor.resolve("slow.test", (0.01, 0.02)))


def test_resolve_shortcuts(reactor: Any, run: Any) -> None:
    reactor.installNameResolver(MapResolver({}))
    assert run(reactor.resolve("")) == "0.0.0.0"
    assert run(reactor.resolve("10.1.2.3")) == "10.1.2.3"


# ------------------------------------------------- HostnameEndpoint's host


def test_memory_reactor_resolves_everything_to_the_loopback() -> None:
    r = MemoryReactor()
    HostnameEndpoint(r, "anything.test", 8080, timeout=7).connect(Factory.forProtocol(Protocol))
    host, port, _factory, timeout, bind = r.tcpClients[0]
    assert (host, port, timeout, bind) == ("127.0.0.1", 8080, 7, None)
    mapped = MapResolver({"anything.test": ["::2"]})
    assert isinstance(r.installNameResolver(mapped), SynchronousResolver)
    HostnameEndpoint(r, "anything.test", 8080).connect(Factory.forProtocol(Protocol))
    assert r.tcpClients[1][0] == "::2"


@pytest.mark.parametrize(
    ("host", "asBytes", "asText", "shown"),
    [
        ("example.com", b"example.com", "example.com", "example.com:80"),
        ("b\xfccher.ch", b"xn--bcher-kva.ch", "b\xfccher.ch", "xn--bcher-kva.ch:80"),
        ("bu\u0308cher.ch", b"xn--bcher-kva.ch", "b\xfccher.ch", "xn--bcher-kva.ch:80"),  # NFD
        (b"xn--bcher-kva.ch", b"xn--bcher-kva.ch", "b\xfccher.ch", "xn--bcher-kva.ch:80"),
        (b"::1", b"::1", "::1", "[::1]:80"),
        ("fe80::1%eth0", b"fe80::1%eth0", "fe80::1%eth0", "[fe80::1%eth0]:80"),
        ("under_score.lan", b"under_score.lan", "under_score.lan", "under_score.lan:80"),
    ],
)
def test_host_as_text_and_bytes(host: Any, asBytes: bytes, asText: str, shown: str) -> None:
    endpoint = HostnameEndpoint(MemoryReactor(), host, 80)
    assert (endpoint._hostBytes, endpoint._hostText) == (asBytes, asText)
    assert repr(endpoint) == f"<HostnameEndpoint {shown}>"


@pytest.mark.parametrize(
    ("host", "escaped"),
    [(b"\xff-garbage-\xff", "\\xff-garbage-\\xff"), ("\u2ff0-garbage-\u2ff0", "\\u2ff0")],
)
def test_bad_host_fails_at_connect_not_construction(host: Any, escaped: str) -> None:
    endpoint = HostnameEndpoint(MemoryReactor(), host, 80)  # does not raise
    assert escaped in repr(endpoint)
    failures: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addErrback(failures.append)
    assert failures[0].check(ValueError) and escaped in str(failures[0].value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", 0)),
        (b"1.2.3.4", ("1.2.3.4", 0)),
        ((b"1.2.3.4", 1234), ("1.2.3.4", 1234)),
        (("1.2.3.4", 1234), ("1.2.3.4", 1234)),
        (None, None),
    ],
)
def test_bind_address_forms(given: Any, expected: Any) -> None:
    r = MemoryReactor()
    HostnameEndpoint(r, "x.test", 80, bindAddress=given).connect(Factory.forProtocol(Protocol))
    assert r.tcpClients[0][4] == expected


def test_simple_hostname_resolver_over_a_callable(caplog: Any) -> None:
    """Twisted's _SimpleHostnameResolver: getaddrinfo-shaped results from a callable."""
    from torsion.endpoints import _SimpleHostnameResolver

    answers: dict[str, defer.Deferred[Any]] = {}

    def lookup(host: str, port: int) -> defer.Deferred[Any]:
        answers[host] = d = defer.Deferred[Any]()
        return d

    resolver = _SimpleHostnameResolver(lookup)
    assert isinstance(resolver, interfaces.IHostnameResolver)
    ok, bad = Receiver(), Receiver()
    resolver.resolveHostName(ok, "good.test", 80)
    resolver.resolveHostName(bad, "bad.test", 80)
    assert ok.events == [("began", "good.test")] and not ok.done.called
    answers["good.test"].callback(
        [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.1", 80)),
            (socket.AF_UNIX, socket.SOCK_STREAM, 0, "", "/ignored"),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::1", 80, 0, 0)),
        ]
    )
    assert ok.addresses == [
        IPv4Address("TCP", "192.0.2.1", 80),
        IPv6Address("TCP", "2001:db8::1", 80, 0, 0),
    ]
    with caplog.at_level(logging.ERROR, logger="torsion"):
        answers["bad.test"].errback(RuntimeError("lookup broke"))
    assert bad.done.called and bad.addresses == []
    assert "lookup broke" in caplog.text and "bad.test" in caplog.text


def test_raising_memory_reactor() -> None:
    from torsion.testing import RaisingMemoryReactor

    listenError, connectError = error.CannotListenError("", 80, OSError()), error.ConnectError()
    r = RaisingMemoryReactor(listenError, connectError)
    f = Factory.forProtocol(Protocol)
    for call in (
        lambda: r.listenTCP(80, f),
        lambda: r.listenUNIX("/x", f),
        lambda: r.adoptStreamPort(3, socket.AF_INET, f),
    ):
        with pytest.raises(error.CannotListenError):
            call()
    for call in (
        lambda: r.connectTCP("h", 80, f),
        lambda: r.connectUNIX("/x", f),
        lambda: r.adoptStreamConnection(3, socket.AF_INET, f),
        lambda: r.adoptDatagramPort(3, socket.AF_INET, f, 8192),
    ):
        with pytest.raises(error.ConnectError):
            call()
    failures: list[Any] = []
    HostnameEndpoint(r, "x.test", 80).connect(f).addErrback(failures.append)
    assert failures[0].value is connectError
    assert isinstance(r.installNameResolver(MapResolver({})), SynchronousResolver)
