"""Endpoints: description parsing, and real connections on every backend."""

from __future__ import annotations

import os
import socket
import ssl
from typing import Any

import pytest

from torsion import defer, error
from torsion.address import HostnameAddress, IPv4Address
from torsion.defer import Deferred
from torsion.endpoints import (
    HostnameEndpoint,
    StandardIOEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    clientFromString,
    connectProtocol,
    quoteStringArgument,
    serverFromString,
)
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol
from torsion.testing import MemoryReactor

# ------------------------------------------------------------ parsing


def server(description: str) -> Any:
    return serverFromString(MemoryReactor(), description)


def client(description: str) -> Any:
    return clientFromString(MemoryReactor(), description)


@pytest.mark.parametrize(
    ("description", "cls", "attrs"),
    [
        ("tcp:8080", TCP4ServerEndpoint, {"_port": 8080, "_backlog": 50, "_interface": ""}),
        (
            "tcp:8080:interface=127.0.0.1:backlog=100",
            TCP4ServerEndpoint,
            {"_port": 8080, "_backlog": 100, "_interface": "127.0.0.1"},
        ),
        ("tcp:port=0", TCP4ServerEndpoint, {"_port": 0}),
        ("TCP:81", TCP4ServerEndpoint, {"_port": 81}),
        ("tcp6:8080", TCP6ServerEndpoint, {"_port": 8080, "_interface": "::"}),
        ("tcp6:8080:interface=\\:\\:1", TCP6ServerEndpoint, {"_interface": "::1"}),
        (
            "unix:/tmp/s.sock:mode=600:backlog=7",
            UNIXServerEndpoint,
            {"_address": "/tmp/s.sock", "_mode": 0o600, "_backlog": 7, "_wantPID": 1},
        ),
        ("unix:/tmp/s.sock:lockfile=0", UNIXServerEndpoint, {"_wantPID": 0}),
        (
            "unix:/tmp/s.sock:600:7:0",
            UNIXServerEndpoint,
            {"_mode": 0o600, "_backlog": 7, "_wantPID": 0},
        ),
        (
            "tcp:interface=127.0.0.1:80",
            TCP4ServerEndpoint,
            {"_port": 80, "_interface": "127.0.0.1"},
        ),
        (
            "tcp:80:127.0.0.1:7",
            TCP4ServerEndpoint,
            {"_port": 80, "_interface": "127.0.0.1", "_backlog": 7},
        ),
        (
            "tcp6:80:7:\\:\\:1",
            TCP6ServerEndpoint,
            {"_port": 80, "_backlog": 7, "_interface": "::1"},
        ),
        ("stdio:", StandardIOEndpoint, {}),
        ("unix:/tmp/a\\:b", UNIXServerEndpoint, {"_address": "/tmp/a:b", "_mode": 0o666}),
        ("unix:address=/x:lockfile=1", UNIXServerEndpoint, {"_address": "/x", "_wantPID": 1}),
        ("unix:/tmp/back\\\\slash", UNIXServerEndpoint, {"_address": "/tmp/back\\slash"}),
    ],
)
def test_server_descriptions(description: str, cls: type, attrs: dict[str, Any]) -> None:
    endpoint = server(description)
    assert type(endpoint) is cls
    for name, value in attrs.items():
        assert getattr(endpoint, name) == value


@pytest.mark.parametrize(
    ("description", "cls", "attrs"),
    [
        (
            "tcp:host=example.org:port=80:timeout=5",
            TCP4ClientEndpoint,
            {"_host": "example.org", "_port": 80, "_timeout": 5.0, "_bindAddress": None},
        ),
        ("tcp:example.org:80", TCP4ClientEndpoint, {"_host": "example.org", "_timeout": 30}),
        (
            "tcp:h:80:bindAddress=127.0.0.2:timeout=0.5",
            TCP4ClientEndpoint,
            {"_bindAddress": ("127.0.0.2", 0), "_timeout": 0.5},
        ),
        ("tcp6:\\:\\:1:80", TCP6ClientEndpoint, {"_host": "::1", "_port": 80}),
        ("tcp6:host=\\:\\:1:port=80", TCP6ClientEndpoint, {"_host": "::1"}),
        ("unix:path=/p:timeout=5", UNIXClientEndpoint, {"_path": "/p", "_timeout": 5.0}),
        ("unix:/p:checkPID=1", UNIXClientEndpoint, {"_path": "/p", "_checkPID": 1}),
        # Twisted's keyword forms: a lone positional is what host= or port= leaves.
        (
            "tcp:host=example.com:1234:timeout=7:bindAddress=10.0.0.2",
            TCP4ClientEndpoint,
            {
                "_host": "example.com",
                "_port": 1234,
                "_timeout": 7,
                "_bindAddress": ("10.0.0.2", 0),
            },
        ),
        ("tcp:example.com:port=80", TCP4ClientEndpoint, {"_host": "example.com", "_port": 80}),
        ("tcp6:host=\\:\\:1:80", TCP6ClientEndpoint, {"_host": "::1", "_port": 80}),
        (
            "unix:path=/var/foo/bar:lockfile=1:timeout=9",
            UNIXClientEndpoint,
            {"_path": "/var/foo/bar", "_checkPID": 1, "_timeout": 9},
        ),
        ("unix:/var/foo/bar:lockfile=0", UNIXClientEndpoint, {"_checkPID": 0}),
    ],
)
def test_client_descriptions(description: str, cls: type, attrs: dict[str, Any]) -> None:
    endpoint = client(description)
    assert type(endpoint) is cls
    for name, value in attrs.items():
        assert getattr(endpoint, name) == value


SERVER_MISTAKES = [
    ("", "does not start with an endpoint type"),
    (":80", "does not start with an endpoint type"),
    ("port=80", "does not start with an endpoint type"),
    ("tcp", "the port is missing"),
    ("tcp:", "bad port: '' is not a number"),
    ("tcp:abc", "bad port: 'abc' is not a number"),
    ("tcp:-1", "bad port: '-1'"),
    ("tcp:65536", "bad port: '65536'"),
    ("tcp:1_0", "bad port: '1_0'"),
    ("tcp: 80", "bad port: ' 80'"),
    ("foo:80", "unknown server endpoint type 'foo' (known: ssl, stdio, systemd, tcp, tcp6, unix)"),
    ("tcp:80:bogus=1", "unknown option 'bogus' for 'tcp' endpoints"),
    ("tcp:80:interface=::1", "'interface' is given both by position and as interface="),
    ("tcp:80:127.0.0.1:5:6", "unexpected extra argument '6'"),
    ("stdio:x", "unexpected extra argument 'x'"),
    ("systemd:domain=INET", "give exactly one of index= and name="),
    ("systemd:domain=INET:index=0:name=x", "give exactly one of index= and name="),
    ("systemd:domain=APPLETALK:index=0", "domain must be INET, INET6 or UNIX"),
    ("systemd:domain=INET:index=-1", "bad index: '-1' is not a whole number"),
    ("systemd:domain=INET:index=0", "index 0 is out of range: systemd passed 0"),
    ("systemd:domain=INET:name=web", "systemd passed no descriptor named 'web'"),
    ("ssl:8443:sslmethod=SSLv3_METHOD", "bad sslmethod: 'SSLv3_METHOD' is not one torsion"),
    ("tcp:8080\\", "unfinished '\\' escape"),
    ("tcp:80:=x", "option '=x' has no name"),
    ("tcp:80:backlog=1:backlog=2", "option 'backlog' is given twice"),
    ("tcp:80:port=81", "'port' is given both by position and as port="),
    ("tcp:80:backlog=0", "bad backlog: '0' is not a whole number above 0"),
    ("tcp:80:backlog=many", "bad backlog: 'many'"),
    ("unix:/x:mode=99", "bad mode: '99' is not an octal permission"),
    ("unix:/x:mode=rw", "bad mode: 'rw'"),
    ("unix:", "bad address: it is empty"),
    ("unix:/x:lockfile=yes", "bad lockfile: 'yes' is not 0 or 1"),
    ("ssl:8443:privateKey=/nonexistent/key.pem", "cannot read certificate file"),
]
CLIENT_MISTAKES = [
    ("tcp:example.org", "the port is missing"),
    ("tcp:port=80", "the host is missing"),
    ("tcp::80", "bad host: it is empty"),
    ("tcp:h:80:timeout=0", "bad timeout: '0' is not a number of seconds above 0"),
    ("tcp:h:80:timeout=soon", "bad timeout: 'soon'"),
    ("tcp:h:80:timeout=inf", "bad timeout: 'inf'"),
    ("tcp:h:80:timeout=nan", "bad timeout: 'nan'"),
    ("tcp:h:80:bindAddress=", "bad bindAddress: it is empty"),
    ("tcp:h:99999", "bad port"),
    ("tcp:h:80:mode=600", "unknown option 'mode' for 'tcp' endpoints"),
    ("udp:h:53", "unknown client endpoint type 'udp' (known: ssl, tcp, tcp6, tls, unix)"),
    ("unix:", "bad path: it is empty"),
    ("unix:/p:checkPID=2", "bad checkPID"),
    ("unix:/p:checkPID=1:lockfile=1", "lockfile= and checkPID= are one option"),
    ("tcp:host=h:port=80:90", "unexpected extra argument '90'"),
    ("tls:host=h:443", "'host' is given both by position and as host="),
    ("tls:example.org", "the port is missing"),
    ("tls:example.org:443:trustRoots=/nonexistent/ca", "does not exist"),
    ("tls:example.org:443:privateKey=/k.pem", "privateKey needs certificate="),
    ("tls:h:443:certificate=/nonexistent/c.pem", "cannot read certificate file"),
]


@pytest.mark.parametrize(
    ("build", "description", "problem"),
    [(server, d, p) for d, p in SERVER_MISTAKES] + [(client, d, p) for d, p in CLIENT_MISTAKES],
    ids=[f"server:{d}" for d, _ in SERVER_MISTAKES] + [f"client:{d}" for d, _ in CLIENT_MISTAKES],
)
def test_malformed_descriptions(build: Any, description: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        build(description)
    message = str(info.value)
    assert message.startswith(f"bad endpoint description {description!r}: ")
    assert problem in message


def test_description_must_be_text() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        serverFromString(MemoryReactor(), b"tcp:80")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["plain", "a:b", "c=d", "back\\slash", ":=\\:", ""])
def test_quoted_arguments_survive_parsing(value: str) -> None:
    endpoint = server(f"unix:{quoteStringArgument(value) or 'x'}:mode=600")
    assert endpoint._address == (value or "x")
    endpoint = client(f"unix:path={quoteStringArgument(value) or 'x'}")
    assert endpoint._path == (value or "x")


def test_tls_client_description_builds_a_verifying_endpoint(tmp_path: Any) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    endpoint = client(f"tls:example.org:443:trustRoots={tmp_path / 'ca.pem'}:timeout=3")
    wrapped = endpoint._wrappedEndpoint
    assert isinstance(wrapped, HostnameEndpoint)
    assert (wrapped._hostText, wrapped._port, wrapped._timeout) == ("example.org", 443, 3.0)
    nested = client("tls:example.org:443:endpoint=tcp\\:127.0.0.1\\:8443")
    assert isinstance(nested._wrappedEndpoint, TCP4ClientEndpoint)
    assert nested._wrappedEndpoint._port == 8443


def test_ssl_server_description_loads_the_certificate(tmp_path: Any) -> None:
    trustme = pytest.importorskip("trustme")
    cert = trustme.CA().issue_cert("localhost")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    endpoint = server(
        f"ssl:8443:privateKey={tmp_path / 'key.pem'}:certKey={tmp_path / 'cert.pem'}"
        ":interface=127.0.0.1"
    )
    assert (endpoint._port, endpoint._interface) == (8443, "127.0.0.1")
    assert endpoint._sslContextFactory._maximum is None
    with pytest.raises(ValueError, match="no certificate and private key"):
        server(f"ssl:8443:privateKey={tmp_path / 'cert.pem'}")
    # Twisted's positional order (port, privateKey, certKey, sslmethod, interface).
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    pinned = server(f"ssl:8443:{key}:{cert}:TLSv1_2_METHOD:127.0.0.2")
    assert pinned._interface == "127.0.0.2"
    options = pinned._sslContextFactory
    assert options._minimum == options._maximum == ssl.TLSVersion.TLSv1_2
    with pytest.raises(ValueError, match=r"dhParameters .* does not exist"):
        server(f"ssl:8443:{key}:{cert}:dhParameters={tmp_path / 'no'}")


def test_ssl_client_description_hostname_names_the_server(tmp_path: Any) -> None:
    """``hostname=`` is the name the certificate is checked against (not ``host``)."""
    endpoint = client("ssl:host=127.0.0.1:443:hostname=example.org")
    assert (endpoint._host, endpoint._port) == ("127.0.0.1", 443)
    assert endpoint._sslContextFactory._hostname == "example.org"


# --------------------------------------------------- real connections


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Client(Protocol):
    """Records its events; ``received`` fires once ``expected`` bytes have arrived."""

    def __init__(self, expected: int = 0) -> None:
        self.events: list[str] = []
        self.data = b""
        self.expected = expected
        self.received: Deferred[bytes] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.events.append("made")

    def dataReceived(self, data: bytes) -> None:
        self.events.append("data")
        self.data += data
        if len(self.data) >= self.expected and not self.received.called:
            self.received.callback(self.data)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.events.append("lost")
        self.lost.callback(None)


def echoServer(reactor: Any, interface: str = "127.0.0.1") -> Any:
    """A listening echo port (listened through an endpoint)."""
    d = TCP4ServerEndpoint(reactor, 0, interface=interface).listen(Factory.forProtocol(Echo))
    assert d.called
    ports: list[Any] = []
    d.addCallback(ports.append)
    return ports[0]


def closedPort() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listenEchoOnIPv6Loopback(reactor: Any) -> Any:
    """An echo server on ::1 (the test is skipped where there is no IPv6 loopback)."""
    try:
        return await TCP6ServerEndpoint(reactor, 0, interface="::1").listen(
            Factory.forProtocol(Echo)
        )
    except error.CannotListenError:
        pytest.skip("no IPv6 loopback")


async def roundTrip(endpoint: Any, payload: bytes = b"hello, endpoint") -> Client:
    proto = Client(len(payload))
    connected = await endpoint.connect(Factory.forProtocol(lambda: proto))
    assert connected is proto
    assert proto.events == ["made"]  # the Deferred fires before any data is read
    proto.transport.write(payload)
    assert await proto.received == payload
    proto.transport.loseConnection()
    await proto.lost
    return proto


def test_tcp4_listen_and_connect(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)

    async def scenario() -> None:
        addr = port.getHost()
        await roundTrip(TCP4ClientEndpoint(reactor, "127.0.0.1", addr.port))
        await roundTrip(clientFromString(reactor, f"tcp:127.0.0.1:{addr.port}:timeout=5"))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_server_from_string_listens(reactor: Any, run: Any) -> None:
    async def scenario() -> None:
        endpoint = serverFromString(reactor, "tcp:0:interface=127.0.0.1:backlog=5")
        port = await endpoint.listen(Factory.forProtocol(Echo))
        assert port.getHost().host == "127.0.0.1"
        await roundTrip(TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_listen_failure_is_a_failed_deferred(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)
    d = TCP4ServerEndpoint(reactor, port.getHost().port, interface="127.0.0.1").listen(
        Factory.forProtocol(Echo)
    )
    with pytest.raises(error.CannotListenError):
        run(d)
    port.stopListening()


def test_tcp6_listen_and_connect(reactor: Any, run: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")

    async def scenario() -> None:
        port = await listenEchoOnIPv6Loopback(reactor)
        await roundTrip(TCP6ClientEndpoint(reactor, "::1", port.getHost().port))
        await roundTrip(HostnameEndpoint(reactor, "::1", port.getHost().port))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_refused(reactor: Any, run: Any) -> None:
    d = TCP4ClientEndpoint(reactor, "127.0.0.1", closedPort()).connect(
        Factory.forProtocol(Protocol)
    )
    with pytest.raises(error.ConnectionRefusedError):
        run(d)


def test_connect_protocol(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)

    async def scenario() -> None:
        proto = Client(3)
        got = await connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), proto
        )
        assert got is proto
        proto.transport.write(b"abc")
        assert await proto.received == b"abc"
        proto.transport.loseConnection()
        await proto.lost
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


class CountingFactory(Factory):
    def __init__(self, build: Any) -> None:
        self.build = build
        self.starts = 0
        self.stops = 0

    def startFactory(self) -> None:
        self.starts += 1

    def stopFactory(self) -> None:
        self.stops += 1

    def buildProtocol(self, addr: Any) -> Any:
        return self.build()


def test_factory_building_no_protocol(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)
    factory = CountingFactory(lambda: None)
    d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(factory)
    with pytest.raises(error.NoProtocol):
        run(d)
    assert (factory.starts, factory.stops) == (1, 1)
    port.stopListening()


def test_factory_raising_in_build_protocol(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)

    def broken() -> Protocol:
        raise ZeroDivisionError("no protocol today")

    d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
        CountingFactory(broken)
    )
    with pytest.raises(ZeroDivisionError, match="no protocol today"):
        run(d)
    port.stopListening()


def test_cancel_while_connecting(reactor: Any, run: Any) -> None:
    factory = CountingFactory(Client)
    d = TCP4ClientEndpoint(reactor, "127.0.0.1", closedPort()).connect(factory)
    d.cancel()
    with pytest.raises(defer.CancelledError) as info:
        run(d)
    assert isinstance(info.value, error.ConnectingCancelledError)
    assert info.value.address == IPv4Address("TCP", "127.0.0.1", info.value.address.port)
    assert (factory.starts, factory.stops) == (1, 1)


def test_cancel_after_connecting_closes_the_connection(reactor: Any, run: Any) -> None:
    """Cancelled in the turn between connecting and delivery: the connection is dropped."""
    port = echoServer(reactor)
    protocols: list[Client] = []

    def build() -> Client:
        protocols.append(Client())
        reactor.callLater(0, d.cancel)  # runs before the delivery scheduled after this
        return protocols[-1]

    d = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port).connect(
        CountingFactory(build)
    )

    async def scenario() -> None:
        with pytest.raises(error.ConnectingCancelledError):
            await d
        await protocols[0].lost
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert protocols[0].events == ["made", "lost"]


def test_hostname_endpoint_resolves_localhost(reactor: Any, run: Any) -> None:
    port = echoServer(reactor)

    async def scenario() -> None:
        await roundTrip(HostnameEndpoint(reactor, b"localhost", port.getHost().port))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def fakeResolver(monkeypatch: Any, answer: Any) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, *a: Any) -> Any:
        calls.append((host, port, family))
        if isinstance(answer, BaseException):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", addr) for addr in answer(port)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def test_hostname_endpoint_lookup_failure(reactor: Any, run: Any, monkeypatch: Any) -> None:
    calls = fakeResolver(monkeypatch, socket.gaierror(socket.EAI_NONAME, "Name not known"))
    d = HostnameEndpoint(reactor, "nowhere.invalid", 80).connect(Factory.forProtocol(Protocol))
    with pytest.raises(error.DNSLookupError, match=r"nowhere\.invalid"):
        run(d)
    assert calls == [("nowhere.invalid", 80, socket.AF_UNSPEC)]


def test_hostname_endpoint_tries_the_next_address(
    reactor: Any, run: Any, monkeypatch: Any
) -> None:
    """The first address refuses; the second (127.0.0.1) answers."""
    port = echoServer(reactor)
    refused = closedPort()
    fakeResolver(monkeypatch, lambda p: [("127.0.0.1", refused), ("127.0.0.1", p)])

    async def scenario() -> None:
        endpoint = HostnameEndpoint(reactor, "twice.example", port.getHost().port)
        proto = await roundTrip(endpoint)
        assert proto.events[0] == "made"
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_hostname_endpoint_races_a_silent_address(
    reactor: Any, run: Any, monkeypatch: Any
) -> None:
    """An attempt that neither connects nor fails is overtaken after attemptDelay."""
    port = echoServer(reactor)
    # A listening socket whose backlog is full never completes new connections.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    fillers = []
    for _ in range(8):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(silent.getsockname())
        fillers.append(f)
    silentPort = silent.getsockname()[1]
    fakeResolver(monkeypatch, lambda p: [("127.0.0.1", silentPort), ("127.0.0.1", p)])
    try:

        async def scenario() -> None:
            endpoint = HostnameEndpoint(
                reactor, "race.example", port.getHost().port, attemptDelay=0.05
            )
            await roundTrip(endpoint)
            await port.stopListening()

        run(defer.ensureDeferred(scenario()))
    finally:
        for f in fillers:
            f.close()
        silent.close()


def test_hostname_endpoint_all_fail(reactor: Any, run: Any, monkeypatch: Any) -> None:
    a, b = closedPort(), closedPort()
    fakeResolver(monkeypatch, lambda p: [("127.0.0.1", a), ("127.0.0.1", b)])
    d = HostnameEndpoint(reactor, "nobody.example", 1).connect(Factory.forProtocol(Protocol))
    with pytest.raises(error.ConnectionRefusedError):
        run(d)


def test_hostname_endpoint_cancel_while_resolving(reactor: Any, run: Any) -> None:
    d = HostnameEndpoint(reactor, "localhost", closedPort()).connect(Factory.forProtocol(Protocol))
    d.cancel()
    with pytest.raises(error.ConnectingCancelledError) as info:
        run(d)
    assert isinstance(info.value.address, HostnameAddress)
    assert info.value.address.hostname == b"localhost"


def test_unix_endpoints(reactor: Any, run: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "echo.sock")

    async def scenario() -> None:
        port = await serverFromString(reactor, f"unix:{path}:mode=600").listen(
            Factory.forProtocol(Echo)
        )
        await roundTrip(clientFromString(reactor, f"unix:path={path}:timeout=5"))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_unix_connect_to_a_missing_path(reactor: Any, run: Any, tmp_path: Any) -> None:
    d = UNIXClientEndpoint(reactor, str(tmp_path / "missing.sock")).connect(
        Factory.forProtocol(Protocol)
    )
    with pytest.raises(error.ConnectError):
        run(d)


def test_tls_endpoints_verify(reactor: Any, run: Any, tmp_path: Any) -> None:
    """ssl: server string and tls: client string, with a CA the client trusts."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))

    async def scenario() -> None:
        port = await serverFromString(
            reactor,
            f"ssl:0:interface=127.0.0.1:privateKey={tmp_path / 'key.pem'}"
            f":certKey={tmp_path / 'cert.pem'}",
        ).listen(Factory.forProtocol(Echo))
        number = port.getHost().port
        await roundTrip(
            clientFromString(reactor, f"tls:localhost:{number}:trustRoots={tmp_path / 'ca.pem'}")
        )
        await roundTrip(
            clientFromString(reactor, f"ssl:localhost:{number}:caCertsDir={tmp_path / 'ca.pem'}")
        )
        # A client that does not trust the server's CA gets no data through.
        proto = Client(1)
        await clientFromString(
            reactor, f"tls:localhost:{number}:trustRoots={tmp_path / 'other.pem'}"
        ).connect(Factory.forProtocol(lambda: proto))
        proto.transport.write(b"secret")
        await proto.lost
        assert proto.data == b""
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_wrapped_tls_endpoints(reactor: Any, run: Any) -> None:
    """wrapServerTLS over a TCP server endpoint, wrapClientTLS over a TCP client
    endpoint (both with the clock argument Twisted's examples pass)."""
    trustme = pytest.importorskip("trustme")
    from torsion import ssl as tssl
    from torsion.endpoints import wrapClientTLS, wrapServerTLS

    ca = trustme.CA()
    cert = ca.issue_cert("example.com")
    server = tssl.PrivateCertificate.loadPEM(
        cert.private_key_pem.bytes() + cert.cert_chain_pems[0].bytes()
    )
    authority = tssl.Certificate.loadPEM(ca.cert_pem.bytes())

    async def scenario() -> None:
        endpoint = wrapServerTLS(
            server.options(), TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), reactor
        )
        port = await endpoint.listen(Factory.forProtocol(Echo))
        options = tssl.optionsForClientTLS("example.com", trustRoot=authority)
        tcp = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        await roundTrip(wrapClientTLS(options, tcp, reactor))
        await roundTrip(wrapClientTLS(options, tcp))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_tcp6_client_resolves_names_to_ipv6(reactor: Any, run: Any, monkeypatch: Any) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    families: list[int] = []

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, *a: Any) -> Any:
        families.append(family)
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    async def scenario() -> None:
        port = await listenEchoOnIPv6Loopback(reactor)
        await roundTrip(TCP6ClientEndpoint(reactor, "six.example", port.getHost().port))
        cancelled = TCP6ClientEndpoint(reactor, "six.example", port.getHost().port).connect(
            Factory.forProtocol(Protocol)
        )
        cancelled.cancel()  # while resolving
        with pytest.raises(error.ConnectingCancelledError):
            await cancelled
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    assert families[0] == socket.AF_INET6


# ------------------------------------------------ adopted sockets, systemd


def test_adopted_stream_server_endpoint(reactor: Any, run: Any) -> None:
    """It adopts the descriptor, closes it, and listens only once."""
    from torsion.endpoints import AdoptedStreamServerEndpoint

    original = socket.create_server(("127.0.0.1", 0))
    fd = os.dup(original.fileno())
    number = original.getsockname()[1]
    original.close()
    endpoint = AdoptedStreamServerEndpoint(reactor, fd, socket.AF_INET)

    async def scenario() -> None:
        port = await endpoint.listen(Factory.forProtocol(Echo))
        with pytest.raises(OSError):
            os.fstat(fd)  # the endpoint closed the descriptor it was given
        assert port.getHost().port == number
        await roundTrip(TCP4ClientEndpoint(reactor, "127.0.0.1", number))
        with pytest.raises(error.AlreadyListened):
            await endpoint.listen(Factory.forProtocol(Echo))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_systemd_description_adopts_an_inherited_socket(
    reactor: Any, run: Any, monkeypatch: Any
) -> None:
    from torsion._endpoints import adopted

    web = socket.create_server(("127.0.0.1", 0))
    admin = socket.create_server(("127.0.0.1", 0))
    fds = [os.dup(web.fileno()), os.dup(admin.fileno())]
    monkeypatch.setattr(adopted, "_inherited", (fds, ["web", "admin"]))
    byName = serverFromString(reactor, "systemd:domain=INET:name=admin")
    byIndex = serverFromString(reactor, "systemd:INET:0")
    assert (byName.fileno, byName.addressFamily) == (fds[1], socket.AF_INET)
    assert byIndex.fileno == fds[0]

    async def scenario() -> None:
        port = await byName.listen(Factory.forProtocol(Echo))
        await roundTrip(TCP4ClientEndpoint(reactor, "127.0.0.1", admin.getsockname()[1]))
        await port.stopListening()
        port = await byIndex.listen(Factory.forProtocol(Echo))
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))
    web.close()
    admin.close()


@pytest.mark.parametrize(
    ("environ", "descriptors", "names"),
    [
        ({"LISTEN_PID": "{pid}", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a:b"}, [3, 4], ["a", "b"]),
        ({"LISTEN_PID": "{pid}", "LISTEN_FDS": "2"}, [3, 4], []),
        ({"LISTEN_PID": "{pid}", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "a:b"}, [3], []),
        ({"LISTEN_PID": "1", "LISTEN_FDS": "2"}, [], []),  # meant for another process
        ({"LISTEN_PID": "{pid}", "LISTEN_FDS": "many"}, [], []),
        ({}, [], []),
    ],
)
def test_systemd_environment(environ: dict[str, str], descriptors: Any, names: Any) -> None:
    from torsion._endpoints.adopted import _readEnvironment

    env = {k: v.format(pid=os.getpid()) for k, v in environ.items()}
    env["OTHER"] = "kept"
    assert _readEnvironment(env) == (descriptors, names)
    if descriptors:  # read once: children must not believe they were passed them
        assert env == {"OTHER": "kept"}


def test_wrapper_endpoint_connects_through_the_wrapper_and_fires_with_the_inner_protocol() -> None:
    # Twisted's private _WrapperEndpoint, which wrapClientTLS is made of.
    from torsion.endpoints import _WrapperEndpoint

    class Wrapper(Protocol):
        def __init__(self, wrappedProtocol: Any) -> None:
            self.wrappedProtocol = wrappedProtocol

    class WrapperFactory(Factory):
        def __init__(self, wrapped: Any) -> None:
            self.wrapped = wrapped

        def buildProtocol(self, addr: Any) -> Any:
            return Wrapper(self.wrapped.buildProtocol(addr))

    class Endpoint:
        def connect(self, factory: Any) -> Deferred[Any]:
            self.factory = factory
            return defer.succeed(factory.buildProtocol(None))

    inner = Endpoint()
    factory = Factory.forProtocol(Protocol)
    results: list[Any] = []
    _WrapperEndpoint(inner, WrapperFactory).connect(factory).addCallback(results.append)
    assert isinstance(inner.factory, WrapperFactory) and inner.factory.wrapped is factory
    assert type(results[0]) is Protocol and results[0].factory is factory


def test_twisteds_server_parser_classes_build_what_the_descriptions_build() -> None:
    # Twisted's plugin-shaped parsers (private names its tests use); torsion
    # loads no plugins, these only wrap serverFromString.
    from torsion.endpoints import (
        StandardIOEndpoint,
        TCP6ServerEndpoint,
        _StandardIOParser,
        _SystemdParser,
        _TCP6ServerParser,
    )
    from torsion.interfaces import IStreamServerEndpointStringParser

    reactor = MemoryReactor()
    parsers = (_SystemdParser(), _TCP6ServerParser(), _StandardIOParser())
    assert [p.prefix for p in parsers] == ["systemd", "tcp6", "stdio"]
    assert all(isinstance(p, IStreamServerEndpointStringParser) for p in parsers)
    tcp6 = _TCP6ServerParser().parseStreamServer(reactor, "8080", interface="::1")
    assert isinstance(tcp6, TCP6ServerEndpoint)
    assert (tcp6._port, tcp6._interface) == (8080, "::1")
    assert isinstance(_StandardIOParser().parseStreamServer(reactor), StandardIOEndpoint)
    with pytest.raises(ValueError, match="domain"):
        _SystemdParser().parseStreamServer(reactor, index="0")


def test_process_endpoint_spawns_with_twisteds_wrapping_process_protocol() -> None:
    # endpoints._WrapIProtocol: Twisted's (private) name of the process
    # protocol that drives the stream protocol, which its tests check for.
    from torsion.endpoints import ProcessEndpoint, StandardErrorBehavior, _WrapIProtocol

    reactor = MemoryReactor()
    ep = ProcessEndpoint(reactor, b"/bin/true", errFlag=StandardErrorBehavior.DROP)
    protocols: list[Any] = []
    ep.connect(Factory.forProtocol(Protocol)).addCallback(protocols.append)
    wrapper = reactor.processes[0][0]
    assert isinstance(wrapper, _WrapIProtocol)
    assert wrapper.protocol is protocols[0] and wrapper.executable == b"/bin/true"
    assert wrapper.errFlag is StandardErrorBehavior.DROP
