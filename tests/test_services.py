"""The built-in services over real loopback connections, on every backend."""

from __future__ import annotations

import argparse
import os
import socket
from typing import Any

import pytest

from torsion import defer, error
from torsion.defer import Deferred
from torsion.endpoints import TCP4ClientEndpoint, connectProtocol
from torsion.failure import Failure
from torsion.protocol import Factory, Protocol
from torsion.services import ServiceError, find, known
from torsion.services.portforward import ProxyFactory, targetEndpoint
from torsion.services.simple import Chargen, Daytime, Discard, Echo, _chargenCycle
from torsion.testing import MemoryReactor


class Peer(Protocol):
    """A test client: collects data; ``until(n)`` fires once n bytes have come."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: Deferred[None] = Deferred()
        self.reason: Failure | None = None
        self._want: tuple[int, Deferred[bytes]] | None = None
        self.eof = False

    def until(self, count: int) -> Deferred[bytes]:
        d: Deferred[bytes] = Deferred()
        self._want = (count, d)
        self._check()
        return d

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        self._check()

    def _check(self) -> None:
        if self._want is not None and len(self.data) >= self._want[0]:
            d = self._want[1]
            self._want = None
            d.callback(bytes(self.data))

    def readConnectionLost(self) -> None:
        self.eof = True
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.reason = reason
        self.lost.callback(None)


def listen(reactor: Any, factory: Any) -> Any:
    return reactor.listenTCP(0, factory, interface="127.0.0.1")


async def connect(reactor: Any, port: Any, peer: Peer | None = None) -> Peer:
    peer = peer or Peer()
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), peer)
    return peer


def smallBuffers(transport: Any, option: int) -> None:
    """Keep the kernel from absorbing megabytes, so backpressure shows quickly."""
    transport.socket.setsockopt(socket.SOL_SOCKET, option, 32768)


def wait(reactor: Any, seconds: float) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


def test_echo(reactor: Any, run: Any) -> None:
    port = listen(reactor, Factory.forProtocol(Echo))

    async def scenario() -> None:
        peer = await connect(reactor, port)
        payload = os.urandom(300_000)
        peer.transport.write(payload)
        assert await peer.until(len(payload)) == payload
        peer.transport.loseConnection()
        await peer.lost
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_echo_stops_reading_from_a_client_that_does_not_read(reactor: Any, run: Any) -> None:
    servers: list[Echo] = []

    class Recording(Echo):
        def connectionMade(self) -> None:
            servers.append(self)
            smallBuffers(self.transport, socket.SO_SNDBUF)
            super().connectionMade()

    port = listen(reactor, Factory.forProtocol(Recording))

    async def scenario() -> None:
        peer = await connect(reactor, port)
        smallBuffers(peer.transport, socket.SO_RCVBUF)
        peer.transport.pauseProducing()  # we do not read the echo
        for _ in range(64):
            peer.transport.write(b"x" * 65536)
        while not servers or not servers[0].transport.producerPaused:
            await wait(reactor, 0.01)
        echo = servers[0].transport
        assert echo._buffered <= 2 * 65536 + echo.bufferSize  # bounded, not 4 MiB
        peer.transport.resumeProducing()
        await peer.until(64 * 65536)
        peer.transport.loseConnection()
        await peer.lost
        await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_discard_daytime_chargen(reactor: Any, run: Any) -> None:
    discard = listen(reactor, Factory.forProtocol(Discard))
    daytime = listen(reactor, Factory.forProtocol(Daytime))
    chargen = listen(reactor, Factory.forProtocol(Chargen))

    async def scenario() -> None:
        peer = await connect(reactor, discard)
        peer.transport.write(b"into the void\n" * 1000)
        await wait(reactor, 0.05)
        assert peer.data == b""
        peer.transport.loseConnection()
        await peer.lost

        peer = await connect(reactor, daytime)
        await peer.lost
        line = bytes(peer.data)
        assert line.endswith(b"\r\n") and len(line.split()) == 5  # 'Fri Nov 27 04:59:08 2026'

        peer = await connect(reactor, chargen)
        cycle = _chargenCycle()
        data = await peer.until(3 * len(cycle))
        assert data[: 3 * len(cycle)] == cycle * 3
        # RFC 864's first two lines.
        assert data[:148] == (
            b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n"
            b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n"
        )
        peer.transport.loseConnection()
        await peer.lost
        for port in (discard, daytime, chargen):
            await port.stopListening()

    run(defer.ensureDeferred(scenario()))


def proxyTo(reactor: Any, target: Any, **kw: Any) -> Any:
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", target.getHost().port)
    return listen(reactor, ProxyFactory(endpoint, reactor=reactor, **kw))


def test_portforward_relays_a_megabyte_both_ways(reactor: Any, run: Any) -> None:
    target = listen(reactor, Factory.forProtocol(Echo))
    proxy = proxyTo(reactor, target)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        payload = os.urandom(1024 * 1024)
        peer.transport.write(payload)
        assert await peer.until(len(payload)) == payload
        peer.transport.loseConnection()
        await peer.lost
        await proxy.stopListening()
        await target.stopListening()

    run(defer.ensureDeferred(scenario()))


class Upper(Protocol):
    """Reads until EOF, then answers with everything upper-cased and closes."""

    def connectionMade(self) -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def readConnectionLost(self) -> None:
        self.transport.write(self.received.upper())
        self.transport.loseConnection()


def test_portforward_passes_half_close_on(reactor: Any, run: Any) -> None:
    target = listen(reactor, Factory.forProtocol(Upper))
    proxy = proxyTo(reactor, target, halfCloseTimeout=5)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        peer.transport.write(b"shout this")
        peer.transport.loseWriteConnection()
        assert await peer.until(10) == b"SHOUT THIS"
        await peer.lost
        assert peer.reason is not None and peer.reason.check(error.ConnectionDone)
        await proxy.stopListening()
        await target.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_portforward_holds_back_a_fast_writer(reactor: Any, run: Any) -> None:
    """The target does not read: the proxy stops reading from the client."""
    stalled: list[Protocol] = []

    class Stalled(Protocol):
        def connectionMade(self) -> None:
            stalled.append(self)
            smallBuffers(self.transport, socket.SO_RCVBUF)
            self.transport.pauseProducing()

    target = listen(reactor, Factory.forProtocol(Stalled))
    inbound: list[Any] = []
    factory = ProxyFactory(TCP4ClientEndpoint(reactor, "127.0.0.1", target.getHost().port))
    original = factory.buildProtocol

    def build(addr: Any) -> Any:
        inbound.append(original(addr))
        return inbound[-1]

    factory.buildProtocol = build  # type: ignore[method-assign]
    proxy = listen(reactor, factory)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        chunk = b"y" * 65536
        for _ in range(160):  # 10 MiB, far more than the socket buffers hold
            peer.transport.write(chunk)
        while not inbound or inbound[0].peer is None:
            await wait(reactor, 0.01)
        outbound = inbound[0].peer.transport
        while not outbound.producerPaused:
            await wait(reactor, 0.01)
        await wait(reactor, 0.1)
        assert outbound._buffered <= 2 * 65536 + outbound.bufferSize
        assert inbound[0].transport._reading is False  # the client is held back
        stalled[0].transport.resumeProducing()
        peer.transport.loseConnection()
        await peer.lost
        # The proxy learns of the close a turn or more later: wait for its two
        # sides and the target's to be gone before checking the reactor is clean.
        for transport in (inbound[0].transport, outbound, stalled[0].transport):
            while not transport.disconnected:
                await wait(reactor, 0.01)
        await proxy.stopListening()
        await target.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_portforward_target_down_closes_the_client(reactor: Any, run: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    proxy = listen(reactor, ProxyFactory(TCP4ClientEndpoint(reactor, "127.0.0.1", closed)))

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        peer.transport.write(b"anyone there?")
        await peer.lost
        assert peer.data == b""
        await proxy.stopListening()

    run(defer.ensureDeferred(scenario()))


class PendingEndpoint:
    """A target whose connect never completes on its own: ``release()`` lets it go on."""

    def __init__(self, real: Any = None) -> None:
        self.real = real
        self.cancelled: Deferred[None] = Deferred()
        self._attempt: Deferred[Any] | None = None
        self._factory: Any = None

    def connect(self, factory: Any) -> Deferred[Any]:
        self._factory = factory
        self._attempt = Deferred(lambda d: self.cancelled.callback(None))
        return self._attempt

    def release(self) -> None:
        assert self._attempt is not None
        self.real.connect(self._factory).chainDeferred(self._attempt)


def recordingProxy(reactor: Any, target: Any, **kw: Any) -> tuple[Any, list[Any]]:
    """A listening ProxyFactory for ``target``, and the inbound sides it builds."""
    factory = ProxyFactory(target, reactor=reactor, **kw)
    inbound: list[Any] = []
    original = factory.buildProtocol

    def build(addr: Any) -> Any:
        inbound.append(original(addr))
        return inbound[-1]

    factory.buildProtocol = build  # type: ignore[method-assign]
    return listen(reactor, factory), inbound


async def until(reactor: Any, condition: Any) -> None:
    """Wait (a bounded number of short turns) until ``condition()`` holds."""
    for _ in range(500):
        if condition():
            return
        await wait(reactor, 0.01)
    raise AssertionError("the condition never held")


@pytest.mark.parametrize("leave", ["close", "reset", "reset after data"])
def test_portforward_client_leaving_while_connecting(reactor: Any, run: Any, leave: str) -> None:
    """The client goes before the target answers: the attempt is cancelled at once."""
    pending = PendingEndpoint()
    proxy, inbound = recordingProxy(reactor, pending, halfCloseTimeout=60)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        await until(reactor, lambda: inbound)
        if leave == "close":
            peer.transport.loseConnection()  # an EOF before any data: the client left
        else:
            if leave == "reset after data":
                peer.transport.write(b"hello?")
                await until(reactor, lambda: inbound[0]._earlySize)
            peer.transport.abortConnection()
        await pending.cancelled  # long before the half-close or connect timeouts
        await peer.lost
        await proxy.stopListening()

    run(defer.ensureDeferred(scenario()))


def test_portforward_client_leaving_while_connecting_to_a_real_target(
    reactor: Any, run: Any
) -> None:
    """A target whose backlog is full: the connect attempt is dropped with the client."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    fillers = [socket.socket() for _ in range(8)]
    for f in fillers:
        f.setblocking(False)
        f.connect_ex(silent.getsockname())
    target = TCP4ClientEndpoint(reactor, "127.0.0.1", silent.getsockname()[1])
    proxy, inbound = recordingProxy(reactor, target)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        await until(reactor, lambda: inbound)
        peer.transport.abortConnection()
        await peer.lost
        await until(reactor, lambda: inbound[0]._connecting is None)
        await proxy.stopListening()

    try:
        run(defer.ensureDeferred(scenario()))
    finally:
        for f in fillers:
            f.close()
        silent.close()
    # (The reactor fixture checks that no connect attempt, nor its timeout, is left.)


def test_portforward_holds_what_comes_while_connecting(reactor: Any, run: Any) -> None:
    """Data and a half-close sent before the target answers reach it once it does."""
    target = listen(reactor, Factory.forProtocol(Upper))
    pending = PendingEndpoint(TCP4ClientEndpoint(reactor, "127.0.0.1", target.getHost().port))
    proxy, inbound = recordingProxy(reactor, pending, halfCloseTimeout=5)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        payload = os.urandom(1024 * 1024)  # more than is held: reading stops meanwhile
        peer.transport.write(payload)
        peer.transport.loseWriteConnection()
        await until(reactor, lambda: inbound and inbound[0]._earlySize > 64 * 1024)
        assert inbound[0].transport._reading is False
        pending.release()
        assert await peer.until(len(payload)) == payload.upper()
        await peer.lost
        await proxy.stopListening()
        await target.stopListening()

    run(defer.ensureDeferred(scenario()))


class Silent(Protocol):
    """Never answers, never closes (a half-close from the peer included)."""

    def __init__(self) -> None:
        self.lost: Deferred[None] = Deferred()

    def readConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost.callback(None)


async def halfCloseThroughProxy(reactor: Any, halfCloseTimeout: float | None) -> float:
    """A client sends, half-closes and waits; the target never answers nor closes.

    Returns how long the proxy took to close both of its sides.
    """
    silent: list[Silent] = []
    target = listen(reactor, Factory.forProtocol(lambda: silent.append(Silent()) or silent[-1]))
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", target.getHost().port)
    kw = {} if halfCloseTimeout is None else {"halfCloseTimeout": halfCloseTimeout}
    proxy, inbound = recordingProxy(reactor, endpoint, **kw)
    peer = await connect(reactor, proxy)
    await until(reactor, lambda: inbound and inbound[0].peer)
    outbound = inbound[0].peer
    start = reactor.seconds()
    peer.transport.write(b"one request")
    peer.transport.loseWriteConnection()
    await peer.lost
    await until(reactor, lambda: outbound.transport.disconnected)
    took: float = reactor.seconds() - start
    # The target learns nothing (it neither reads nor writes any more): close it here.
    silent[0].transport.abortConnection()
    await silent[0].lost
    await proxy.stopListening()
    await target.stopListening()
    return took


def test_portforward_closes_an_idle_half_closed_pair(reactor: Any, run: Any) -> None:
    took = run(defer.ensureDeferred(halfCloseThroughProxy(reactor, 0.2)))
    assert 0.2 <= took < 5


def test_portforward_closes_both_sides_at_the_first_eof_as_twisted(reactor: Any, run: Any) -> None:
    took = run(defer.ensureDeferred(halfCloseThroughProxy(reactor, None)))  # the default
    assert took < 0.2


class Trickle(Protocol):
    """After the peer's EOF, answers with five chunks 0.1 s apart, then closes."""

    def readConnectionLost(self) -> None:
        self.left = 5
        self._next()

    def _next(self) -> None:
        self.transport.write(b"chunk")
        self.left -= 1
        if self.left:
            self.transport.reactor.callLater(0.1, self._next)
        else:
            self.transport.loseConnection()


def test_portforward_half_closed_pair_lives_while_data_moves(reactor: Any, run: Any) -> None:
    target = listen(reactor, Factory.forProtocol(Trickle))
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", target.getHost().port)
    proxy, _ = recordingProxy(reactor, endpoint, halfCloseTimeout=0.25)

    async def scenario() -> None:
        peer = await connect(reactor, proxy)
        peer.transport.loseWriteConnection()
        await peer.lost  # 0.4 s in all: longer than the timeout, never idle that long
        assert peer.data == b"chunk" * 5
        assert peer.reason is not None and peer.reason.check(error.ConnectionDone)
        await proxy.stopListening()
        await target.stopListening()

    run(defer.ensureDeferred(scenario()))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("localhost", "expected HOST:PORT"),
        ("localhost:", "expected HOST:PORT"),
        (":80", "expected HOST:PORT"),
        ("host:http", "expected HOST:PORT"),
        ("host:0", "port 0 is not from 1 to 65535"),
        ("host:70000", "port 70000"),
        ("tcp:host=x", "the port is missing"),
    ],
)
def test_portforward_target_errors(text: str, problem: str) -> None:
    with pytest.raises(ServiceError, match=problem):
        targetEndpoint(MemoryReactor(), text)


def test_portforward_targets() -> None:
    reactor = MemoryReactor()
    ep = targetEndpoint(reactor, "[::1]:8080")
    assert (ep._hostText, ep._port) == ("::1", 8080)
    ep = targetEndpoint(reactor, "example.org:80")
    assert (ep._hostText, ep._port) == ("example.org", 80)
    ep = targetEndpoint(reactor, "unix:path=/run/app.sock")
    assert ep._path == "/run/app.sock"


def test_service_registry() -> None:
    services = known()
    assert list(services)[:6] == ["echo", "discard", "chargen", "daytime", "portforward", "web"]
    for name in services:
        service = services[name].load()
        assert service.summary and service.defaultListen.startswith("tcp:")
        parser = argparse.ArgumentParser()
        service.addOptions(parser)
    with pytest.raises(ServiceError, match="unknown service 'nope': choose one of"):
        find("nope")


def test_web_service_without_h11(monkeypatch: Any, tmp_path: Any) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "h11", None)
    web = find("web").load()
    parser = argparse.ArgumentParser()
    web.addOptions(parser)
    options = parser.parse_args(["--path", str(tmp_path)])
    with pytest.raises(ServiceError, match=r"pip install 'torsion\[web\]'"):
        web.makeFactory(MemoryReactor(), options)


def test_web_service_checks_its_folder(tmp_path: Any) -> None:
    web = find("web").load()
    parser = argparse.ArgumentParser()
    web.addOptions(parser)
    options = parser.parse_args(["--path", str(tmp_path / "missing")])
    with pytest.raises(ServiceError, match="is not a folder"):
        web.makeFactory(MemoryReactor(), options)


def webOptions(*args: str) -> tuple[Any, argparse.Namespace]:
    pytest.importorskip("h11")
    web = find("web").load()
    parser = argparse.ArgumentParser()
    web.addOptions(parser)
    return web, parser.parse_args(list(args))


def test_web_service_limits_reach_the_factory(tmp_path: Any) -> None:
    web, options = webOptions(
        *("--path", str(tmp_path), "--allow-dotfiles", "--idle-timeout", "2.5"),
        *("--max-header-size", "1000", "--max-header-count", "7", "--max-request-line", "300"),
        *("--max-body-size", "99", "--max-pipelined", "3"),
    )
    factory = web.makeFactory(MemoryReactor(), options)
    assert factory.site.dotfiles
    assert (factory.timeout, factory.maxHeaderBytes, factory.maxHeaderCount) == (2.5, 1000, 7)
    assert (factory.maxRequestLine, factory.maxBodyBytes, factory.maxPipelined) == (300, 99, 3)
    web, options = webOptions("--path", str(tmp_path))
    factory = web.makeFactory(MemoryReactor(), options)
    assert not factory.site.dotfiles
    assert (factory.timeout, factory.maxHeaderBytes, factory.maxHeaderCount) == (60, 16384, 100)
    assert (factory.maxRequestLine, factory.maxBodyBytes, factory.maxPipelined) == (
        8192,
        1024 * 1024,
        16,
    )


@pytest.mark.parametrize(
    "args", [["--max-pipelined", "0"], ["--max-header-count", "x"], ["--idle-timeout", "-1"]]
)
def test_web_service_limits_must_be_positive(args: list[str], capsys: Any) -> None:
    with pytest.raises(SystemExit):
        webOptions(*args)
    assert "is not a number above 0" in capsys.readouterr().err
