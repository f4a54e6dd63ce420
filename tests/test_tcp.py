"""TCP on every backend: listening, connecting, transports, flow control, closing."""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
from typing import Any

import pytest

from torsion import defer, error, tcp
from torsion.address import IPv4Address, IPv6Address
from torsion.defer import Deferred
from torsion.failure import Failure
from torsion.protocol import (
    ClientCreator,
    ClientFactory,
    Factory,
    Protocol,
    ReconnectingClientFactory,
)
from torsion.testing import recordBackendCalls


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Reason:
    """A connectionLost reason, carried through a Deferred's callback path.

    (A Failure given to ``callback`` would take the errback path.)
    """

    def __init__(self, failure: Failure) -> None:
        self.failure = failure
        self.type = failure.type
        self.value = failure.value

    def check(self, *types: Any) -> Any:
        return self.failure.check(*types)


class Recorder(Protocol):
    """Collects what it receives; ``done`` fires with the close reason."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.made: Deferred[Recorder] = Deferred()
        self.done: Deferred[Reason] = Deferred()
        self.events: list[str] = []

    def connectionMade(self) -> None:
        self.events.append("made")
        self.made.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.events.append("lost")
        self.done.callback(Reason(reason))

    def received(self) -> bytes:
        return b"".join(self.data)


def listen(reactor: Any, factory: Any, interface: str = "127.0.0.1") -> Any:
    return reactor.listenTCP(0, factory, interface=interface)


def serverFactory(protocol: type[Protocol] = Echo) -> Factory:
    return Factory.forProtocol(protocol)


class CapturingFactory(Factory):
    """A server factory remembering each protocol it built."""

    def __init__(self, protocol: Any = Recorder) -> None:
        self.protocol = protocol
        self.built: list[Any] = []
        self.first: Deferred[Any] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        p = super().buildProtocol(addr)
        self.built.append(p)
        if not self.first.called:
            self.first.callback(p)
        return p


def test_echo_through_clientcreator(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory())

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        assert client.events == ["made"]
        client.transport.write(b"hello ")
        client.transport.writeSequence([b"wor", b"ld"])
        while client.received() != b"hello world":
            yield deferLater(reactor, 0.001)
        client.transport.loseConnection()
        reason = yield client.done
        assert reason.check(error.ConnectionDone)
        yield port.stopListening()

    run(go())


def deferLater(reactor: Any, delay: float) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    reactor.callLater(delay, d.callback, None)
    return d


class OrderFactory(ClientFactory):
    """Records the factory/connector events, with the connector's state at each."""

    protocol = Recorder

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.finished: Deferred[list[tuple[str, str]]] = Deferred()
        self.connector: Any = None

    def startFactory(self) -> None:
        self.log.append(("startFactory", ""))

    def stopFactory(self) -> None:
        self.log.append(("stopFactory", ""))
        self.finished.callback(self.log)

    def startedConnecting(self, connector: Any) -> None:
        self.log.append(("startedConnecting", connector.state))

    def buildProtocol(self, addr: Any) -> Any:
        self.log.append(("buildProtocol", self.connector.state))
        p = super().buildProtocol(addr)
        p.made.addCallback(lambda _: p.transport.loseConnection())
        return p

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.log.append(("clientConnectionFailed:" + reason.type.__name__, connector.state))

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.log.append(("clientConnectionLost:" + reason.type.__name__, connector.state))


def test_factory_and_connector_event_order(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory())
    f = OrderFactory()
    connector = reactor.connectTCP("127.0.0.1", port.getHost().port, f)
    f.connector = connector
    assert connector.state == "connecting"
    assert connector.getDestination() == IPv4Address("TCP", "127.0.0.1", port.getHost().port)
    with pytest.raises(RuntimeError):
        connector.connect()
    log = run(f.finished)
    assert log == [
        ("startFactory", ""),
        ("startedConnecting", "connecting"),
        ("buildProtocol", "connected"),
        ("clientConnectionLost:ConnectionDone", "disconnected"),
        ("stopFactory", ""),
    ]
    assert connector.state == "disconnected"
    port.stopListening()


def _refusedPort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused(reactor: Any, run: Any) -> None:
    f = OrderFactory()
    f.connector = reactor.connectTCP("127.0.0.1", _refusedPort(), f)
    log = run(f.finished)
    assert log == [
        ("startFactory", ""),
        ("startedConnecting", "connecting"),
        ("clientConnectionFailed:ConnectionRefusedError", "disconnected"),
        ("stopFactory", ""),
    ]


def test_client_buildprotocol_raising_fails_the_attempt(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Raising(OrderFactory):
        def buildProtocol(self, addr: Any) -> Any:
            raise ZeroDivisionError("no protocol today")

    port = listen(reactor, serverFactory())
    f = Raising()
    f.connector = reactor.connectTCP("127.0.0.1", port.getHost().port, f)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        log = run(f.finished)
    assert log[2] == ("clientConnectionFailed:ConnectError", "disconnected")
    assert "no protocol today" in caplog.text
    port.stopListening()


def test_a_connected_client_socket_goes_from_writer_to_reader_in_one_call(
    reactor: Any, run: Any
) -> None:
    port = listen(reactor, serverFactory())
    seen: dict[str, Any] = {}

    def made(p: Recorder) -> Any:
        fd = p.transport.fileno()
        seen["calls"] = [op for op, f in calls if f == fd]
        seen["reading"] = reactor.getReaders().count(p.transport)
        seen["writers"] = list(reactor.getWriters())
        p.transport.loseConnection()
        return p.done

    with recordBackendCalls(reactor) as calls:
        d = ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", port.getHost().port)
        reason = run(d.addCallback(made))
    assert seen == {"calls": ["register", "modify"], "reading": 1, "writers": []}
    assert reason.check(error.ConnectionDone)
    port.stopListening()


def test_clientcreator_refused_errbacks(reactor: Any, run: Any) -> None:
    d = ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", _refusedPort())
    with pytest.raises(error.ConnectionRefusedError):
        run(d)


def test_connect_timeout_uses_calllater(reactor: Any, run: Any, monkeypatch: Any) -> None:
    # A name whose lookup never finishes: only the timeout can end the attempt.
    monkeypatch.setattr(reactor, "resolve", lambda name, timeout=None: Deferred())
    f = OrderFactory()
    f.connector = reactor.connectTCP("never.invalid", 80, f, timeout=0.05)
    calls = [c for c in reactor.getDelayedCalls() if c.getTime() > reactor.seconds() + 0.01]
    assert any(getattr(c.func, "__name__", "") == "failIfNotConnected" for c in calls)
    log = run(f.finished)
    assert ("clientConnectionFailed:TimeoutError", "disconnected") in log


def test_disconnect_while_connecting_gives_usererror(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory())
    f = OrderFactory()
    f.connector = reactor.connectTCP("127.0.0.1", port.getHost().port, f)
    f.connector.disconnect()
    log = run(f.finished)
    assert log[2] == ("clientConnectionFailed:UserError", "disconnected")
    with pytest.raises(error.NotConnectingError):
        f.connector.stopConnecting()
    port.stopListening()


def test_cancel_clientcreator_attempt(reactor: Any, run: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(reactor, "resolve", lambda name, timeout=None: Deferred())
    d = ClientCreator(reactor, Recorder).connectTCP("never.invalid", 80)
    reactor.callLater(0.01, d.cancel)
    with pytest.raises(defer.CancelledError):
        run(d)
    assert reactor.getReaders() == [] and reactor.getWriters() == []


def test_cancel_clientcreator_after_connect_closes_connection(reactor: Any, run: Any) -> None:
    server = CapturingFactory()
    port = listen(reactor, server)
    d = ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", port.getHost().port)

    def cancelOnceServerSeesIt(serverProto: Any) -> Any:
        d.cancel()
        return serverProto.done

    reason = run(server.first.addCallback(cancelOnceServerSeesIt))
    assert reason.check(error.ConnectionDone)
    with pytest.raises(defer.CancelledError):
        run_sync(d)
    port.stopListening()


def run_sync(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def test_port_in_use(reactor: Any) -> None:
    port = listen(reactor, serverFactory())
    with pytest.raises(error.CannotListenError) as info:
        reactor.listenTCP(port.getHost().port, serverFactory(), interface="127.0.0.1")
    assert str(port.getHost().port) in str(info.value)
    assert "127.0.0.1" in str(info.value)
    assert info.value.socketError.errno == errno.EADDRINUSE
    port.stopListening()


def test_stop_listening_refuses_new_connections(reactor: Any, run: Any) -> None:
    factory = serverFactory()
    port = listen(reactor, factory)
    number = port.getHost().port
    assert factory.numPorts == 1
    d = port.stopListening()
    assert factory.numPorts == 0
    run(d)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", number), timeout=2).close()


def test_stop_listening_from_build_protocol_ends_the_accept_burst(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Five connections wait in the backlog; the first buildProtocol stops the port:
    the burst ends there, with no accept() on the closed socket and nothing logged."""

    class StopAtFirst(CapturingFactory):
        def buildProtocol(self, addr: Any) -> Any:
            port.stopListening()
            return super().buildProtocol(addr)

    factory = StopAtFirst(Recorder)
    port = listen(reactor, factory)
    peers = [socket.create_connection(("127.0.0.1", port.getHost().port)) for _ in range(5)]
    try:

        @defer.inlineCallbacks
        def go() -> Any:
            server = yield factory.first
            yield server.made
            yield deferLater(reactor, 0)
            server.transport.loseConnection()
            yield server.done

        with caplog.at_level(logging.DEBUG):
            run(go())
        assert len(factory.built) == 1
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    finally:
        for peer in peers:
            peer.close()


def test_stop_listening_fails_its_deferred_when_stop_factory_raises(
    reactor: Any, run: Any
) -> None:
    class Raising(Factory):
        protocol = Echo

        def stopFactory(self) -> None:
            raise ValueError("stopFactory failed")

    port = listen(reactor, Raising())
    number = port.getHost().port
    d = port.stopListening()  # returns, as in Twisted; the Deferred carries the error
    with pytest.raises(ValueError, match="stopFactory failed"):
        run(d)
    assert not port.connected
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", number), timeout=2).close()


def test_buffer_size_is_settable_per_transport(reactor: Any, run: Any) -> None:
    """``transport.bufferSize`` (where a streaming producer is paused) is per
    transport: set high, the producer is paused only after that much more."""
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)

    class Producer:
        paused = False

        def pauseProducing(self) -> None:
            self.paused = True

        def resumeProducing(self) -> None: ...
        def stopProducing(self) -> None: ...

    def writtenUntilPaused(transport: Any, bufferSize: int) -> int:
        transport.bufferSize = bufferSize
        assert transport.bufferSize == bufferSize
        producer = Producer()
        transport.registerProducer(producer, True)
        written = 0
        while not producer.paused:
            transport.write(b"x" * 1000)
            written += 1000
        transport.unregisterProducer()
        return written

    @defer.inlineCallbacks
    def go() -> Any:
        clients = []
        for _ in range(2):
            clients.append(
                (
                    yield ClientCreator(reactor, Recorder).connectTCP(
                        "127.0.0.1", port.getHost().port
                    )
                )
            )
        yield deferLater(reactor, 0)
        for s in server.built:
            s.transport.pauseProducing()  # the readers stall
        small = writtenUntilPaused(clients[0].transport, 1)
        large = writtenUntilPaused(clients[1].transport, 8 * 1024 * 1024)
        assert large > small + 7 * 1024 * 1024
        assert server.built[0].transport.bufferSize == 65536  # the others keep theirs
        for p in [*clients, *server.built]:
            p.transport.abortConnection()
            yield p.done
        yield port.stopListening()

    run(go())


def test_ipv6(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory(), interface="::1")
    host = port.getHost()
    assert isinstance(host, IPv6Address) and host.host == "::1" and host.type == "TCP"

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP("::1", host.port)
        assert isinstance(client.transport.getPeer(), IPv6Address)
        client.transport.write(b"six")
        while client.received() != b"six":
            yield deferLater(reactor, 0.001)
        client.transport.loseConnection()
        yield client.done
        yield port.stopListening()

    run(go())


@defer.inlineCallbacks
def connectedPair(reactor: Any, port: Any, server: CapturingFactory) -> Any:
    """A Recorder connected to ``port``, and the protocol ``server`` built for it."""
    client = yield ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", port.getHost().port)
    serverProto = yield server.first
    return client, serverProto


def test_addresses_and_tcp_options(reactor: Any, run: Any) -> None:
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)

    @defer.inlineCallbacks
    def go() -> Any:
        client, serverProto = yield connectedPair(reactor, port, server)
        t = client.transport
        assert t.getPeer() == IPv4Address("TCP", "127.0.0.1", port.getHost().port)
        assert serverProto.transport.getPeer() == t.getHost()
        # Both ends are Twisted's tcp.Connection (Server and Client).
        assert isinstance(t, tcp.Client) and isinstance(serverProto.transport, tcp.Server)
        assert isinstance(t, tcp.Connection) and isinstance(serverProto.transport, tcp.Connection)
        # Twisted's forms for a server connection: repr and log string; the
        # port numbers its connections from 0, as Twisted's does.
        assert serverProto.transport.sessionno == 0
        assert port.sessionno == 1
        assert str(serverProto.transport) == f"<Recorder #0 on {port.getHost().port}>"
        assert serverProto.transport.logstr == "Recorder,0,127.0.0.1"
        assert t.getTcpNoDelay() is True
        t.setTcpNoDelay(False)
        assert t.getTcpNoDelay() is False
        assert t.getTcpKeepAlive() is False
        t.setTcpKeepAlive(True)
        assert t.getTcpKeepAlive() is True
        t.loseConnection()
        yield client.done
        yield port.stopListening()

    run(go())


def test_unknown_service_name_says_what_the_system_said(reactor: Any) -> None:
    # Twisted's text: the error of getservbyname, then the name.
    with pytest.raises(error.ServiceNameUnknownError) as caught:
        reactor.connectTCP("127.0.0.1", "invalid-port", ClientFactory())
    assert str(caught.value) == (
        "Service name given as port is unknown: service/proto not found ('invalid-port')."
    )


@pytest.mark.parametrize(
    ("port", "exc", "match"),
    [
        ("80", TypeError, "port must be an int, not str"),
        (70000, error.InvalidAddressError, "0..65535"),
        (-1, error.InvalidAddressError, "0..65535"),
        (None, TypeError, "port must be an int"),
        (True, TypeError, "port must be an int"),
    ],
)
def test_bad_ports_are_refused_clearly(reactor: Any, port: Any, exc: Any, match: str) -> None:
    with pytest.raises(exc, match=match):
        reactor.listenTCP(port, serverFactory())
    f = ClientFactory()
    if isinstance(port, str):
        # connectTCP takes service names, as Twisted does; "80" is not one.
        with pytest.raises(error.ServiceNameUnknownError):
            reactor.connectTCP("127.0.0.1", port, f)
    else:
        with pytest.raises(exc, match=match):
            reactor.connectTCP("127.0.0.1", port, f)
    assert f.numPorts == 0


def test_bad_hosts(reactor: Any, run: Any) -> None:
    with pytest.raises(TypeError, match="host must be a str"):
        reactor.connectTCP(1234, 80, ClientFactory())
    with pytest.raises(error.CannotListenError):
        reactor.listenTCP(0, serverFactory(), interface="not an address")
    d = ClientCreator(reactor, Recorder).connectTCP("no-such-host.invalid", 80)
    with pytest.raises(error.DNSLookupError):
        run(d)


def test_hostname_is_resolved(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory())

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "localhost", port.getHost().port
        )
        assert client.transport.getPeer().host == "127.0.0.1"
        client.transport.loseConnection()
        yield client.done
        yield port.stopListening()

    run(go())


def test_bind_address_is_honoured(reactor: Any, run: Any) -> None:
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = s.getsockname()[1]

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "127.0.0.1", port.getHost().port, bindAddress=("127.0.0.1", local)
        )
        assert client.transport.getHost().port == local
        serverProto = yield server.first
        assert serverProto.transport.getPeer().port == local
        client.transport.loseConnection()
        yield client.done
        yield port.stopListening()

    run(go())


def test_raising_datareceived_drops_only_that_connection(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Fragile(Echo):
        def dataReceived(self, data: bytes) -> None:
            if data.startswith(b"boom"):
                raise ValueError("fragile protocol exploded")
            super().dataReceived(data)

    port = listen(reactor, serverFactory(Fragile))

    @defer.inlineCallbacks
    def go() -> Any:
        good = yield ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", port.getHost().port)
        bad = yield ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", port.getHost().port)
        bad.transport.write(b"boom")
        yield bad.done
        good.transport.write(b"still here")
        while good.received() != b"still here":
            yield deferLater(reactor, 0.001)
        good.transport.loseConnection()
        yield good.done
        yield port.stopListening()

    with caplog.at_level(logging.ERROR, logger="torsion"):
        run(go())
    assert "fragile protocol exploded" in caplog.text


def test_raising_connectionmade_drops_only_that_connection(
    reactor: Any, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Grumpy(Protocol):
        def connectionMade(self) -> None:
            raise RuntimeError("no thanks")

    port = listen(reactor, serverFactory(Grumpy))

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        reason = yield client.done
        assert reason.check(error.ConnectionDone, error.ConnectionLost)
        assert port.connected
        yield port.stopListening()

    with caplog.at_level(logging.ERROR, logger="torsion"):
        run(go())
    assert "no thanks" in caplog.text


def test_buildprotocol_none_closes_connection(reactor: Any, run: Any) -> None:
    class Refuser(Factory):
        def buildProtocol(self, addr: Any) -> None:
            return None

    port = listen(reactor, Refuser())

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        reason = yield client.done
        assert reason.check(error.ConnectionDone, error.ConnectionLost)
        yield port.stopListening()

    run(go())


def test_two_hundred_concurrent_clients(reactor: Any, run: Any) -> None:
    port = listen(reactor, serverFactory())
    n = 200

    @defer.inlineCallbacks
    def one(i: int) -> Any:
        client = yield ClientCreator(reactor, Recorder).connectTCP(
            "127.0.0.1", port.getHost().port
        )
        msg = b"client %d " % i * 50
        client.transport.write(msg)
        while client.received() != msg:
            yield deferLater(reactor, 0.002)
        client.transport.loseConnection()
        yield client.done
        return i

    @defer.inlineCallbacks
    def go() -> Any:
        results = yield defer.gatherResults([one(i) for i in range(n)])
        assert sorted(results) == list(range(n))
        yield port.stopListening()

    run(go(), timeout=30)


def test_reconnecting_client_factory(reactor: Any, run: Any) -> None:
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)
    number = port.getHost().port
    done: Deferred[None] = Deferred()

    class Client(Protocol):
        def connectionMade(self) -> None:
            self.factory.connections += 1
            self.factory.resetDelay()
            if self.factory.connections < 3:
                self.transport.loseConnection()
            else:
                self.factory.stopTrying()
                self.transport.loseConnection()

    class Reconnector(ReconnectingClientFactory):
        protocol = Client
        initialDelay = 0.01
        maxDelay = 0.05
        connections = 0
        failures = 0

        def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
            self.failures += 1
            super().clientConnectionFailed(connector, reason)

        def stopFactory(self) -> None:
            # As in Twisted, the factory is stopped between attempts too.
            self.stops = getattr(self, "stops", 0) + 1
            if not self.continueTrying:
                done.callback(None)

    f = Reconnector()
    f.clock = reactor
    reactor.connectTCP("127.0.0.1", number, f)
    run(done)
    assert f.connections == 3
    assert f.stops == 3
    assert len(server.built) == 3
    assert f.continueTrying == 0
    port.stopListening()


def test_reconnecting_factory_retries_after_refusal_then_gives_up(reactor: Any, run: Any) -> None:
    done: Deferred[None] = Deferred()

    class Reconnector(ReconnectingClientFactory):
        protocol = Recorder
        initialDelay = 0.001
        maxDelay = 0.01
        maxRetries = 3
        attempts = 0

        def startedConnecting(self, connector: Any) -> None:
            self.attempts += 1

        def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
            super().clientConnectionFailed(connector, reason)
            if self.retries > self.maxRetries:
                done.callback(None)

    f = Reconnector()
    f.clock = reactor
    reactor.connectTCP("127.0.0.1", _refusedPort(), f)
    run(done)
    assert f.attempts == 4


def test_reactor_shutdown_closes_connections_and_ports(reactor: Any) -> None:
    factory = serverFactory()
    port = listen(reactor, factory)
    s = socket.create_connection(("127.0.0.1", port.getHost().port))
    reactor.callLater(0.05, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert factory.numPorts == 0
    assert s.recv(10) == b""
    s.close()


def test_accept_survives_emfile_without_spinning(reactor: Any, run: Any) -> None:
    """Out of descriptors, the port pauses accepting; it resumes once they free up."""
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hog: list[int] = []
    client = socket.socket()
    client.setblocking(False)
    iterations = [0]
    realDoIteration = reactor.doIteration

    def countingDoIteration(timeout: Any) -> None:
        iterations[0] += 1
        realDoIteration(timeout)

    reactor.doIteration = countingDoIteration

    def release() -> None:
        for fd in hog:
            os.close(fd)
        hog.clear()

    def exhaust() -> None:
        # From inside the running loop: a loop may need descriptors of its
        # own to start running (uvloop's signal socketpair).
        client.connect_ex(("127.0.0.1", port.getHost().port))
        while True:
            try:
                hog.append(os.open("/dev/null", os.O_RDONLY))
            except OSError:
                break
        reactor.callLater(0.3, release)

    try:
        reactor.callLater(0, exhaust)
        proto = run(server.first)
        proto.transport.loseConnection()
        run(proto.done)
    finally:
        for fd in hog:
            os.close(fd)
        client.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        port.stopListening()
    # Spinning would mean thousands of turns in 0.3 s.
    assert iterations[0] < 200


class ActionProducer:
    """A producer that records what the transport asks of it."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def pauseProducing(self) -> None:
        self.actions.append("pause")

    def resumeProducing(self) -> None:
        self.actions.append("resume")

    def stopProducing(self) -> None:
        self.actions.append("stop")


def test_a_large_write_pauses_a_streaming_producer_until_writable(reactor: Any, run: Any) -> None:
    # As in Twisted (whose transports queue every write until the next turn):
    # more than bufferSize bytes handed over at once pause a streaming
    # producer, even when the kernel took them all, and it is resumed once
    # the socket is writable again.
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)

    @defer.inlineCallbacks
    def go() -> Any:
        client, serverProto = yield connectedPair(reactor, port, server)
        t = client.transport
        producer = ActionProducer()
        t.registerProducer(producer, True)
        t.bufferSize = 500
        t.write(b"y" * 400)  # within bufferSize: no pause
        assert producer.actions == []
        t.writeSequence([b"x" * 50] * 20)
        assert producer.actions == ["pause"]
        for _ in range(100):
            if producer.actions != ["pause"]:
                break
            yield deferLater(reactor, 0)
        assert producer.actions == ["pause", "resume"]
        while len(serverProto.received()) < 1400:
            yield deferLater(reactor, 0.001)
        t.unregisterProducer()
        t.loseConnection()
        yield client.done
        yield port.stopListening()

    run(go())


def test_stop_consuming_unregisters_the_producer_and_closes(reactor: Any, run: Any) -> None:
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)

    @defer.inlineCallbacks
    def go() -> Any:
        client, serverProto = yield connectedPair(reactor, port, server)
        t = client.transport
        producer = ActionProducer()
        t.registerProducer(producer, False)
        assert producer.actions == ["resume"]
        t.write(b"last")
        t.stopConsuming()
        assert t.producer is None
        reason = yield client.done
        assert reason.check(error.ConnectionDone)
        assert producer.actions == ["resume"]  # unregistered: neither resumed nor stopped
        yield serverProto.done
        assert serverProto.received() == b"last"
        yield port.stopListening()

    run(go())


def test_transport_classes_default_to_the_global_reactor(
    reactor: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Twisted's tcp.Port, Connector and Connection take reactor=None: the global one.
    from torsion import _global

    monkeypatch.setattr(_global, "globalReactor", lambda: reactor)
    server = CapturingFactory(Recorder)
    port = tcp.Port(0, server, interface="127.0.0.1")
    assert port.reactor is reactor
    port.startListening()
    connector = tcp.Connector("127.0.0.1", port.getHost().port, ClientFactory(), 30, None)
    assert connector.reactor is reactor
    a, b = socket.socketpair()
    try:
        assert tcp.Connection(a, Protocol()).reactor is reactor
    finally:
        a.close()
        b.close()

    @defer.inlineCallbacks
    def go() -> Any:
        client, serverProto = yield connectedPair(reactor, port, server)
        client.transport.loseConnection()
        yield serverProto.done
        yield port.stopListening()

    run(go())


def test_client_logstr_and_port_disconnected_as_twisteds(reactor: Any, run: Any) -> None:
    server = CapturingFactory(Recorder)
    port = listen(reactor, server)
    assert port.disconnected is False
    made: Deferred[Any] = Deferred()

    class Client(Recorder):
        def connectionMade(self) -> None:
            made.callback(self)

    class Factory_(ClientFactory):
        protocol = Client

    connector = reactor.connectTCP("127.0.0.1", port.getHost().port, Factory_())
    assert connector.transport.logstr == "Uninitialized"

    @defer.inlineCallbacks
    def go() -> Any:
        client = yield made
        assert client.transport.logstr == "Client,client"
        client.transport.loseConnection()
        yield (yield server.first).done
        yield port.stopListening()
        assert port.disconnected is True

    run(go())
