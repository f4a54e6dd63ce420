"""The smaller doubles of torsion.testing (twisted.internet.testing's whole list)."""

from __future__ import annotations

import unittest
from typing import Any

import pytest

from torsion import defer, error, logger
from torsion.address import IPv4Address
from torsion.failure import Failure
from torsion.protocol import ClientCreator, Factory, Protocol
from torsion.task import Clock
from torsion.testing import (
    AccumulatingProtocol,
    EventLoggingObserver,
    FakeDatagramTransport,
    LineSendingProtocol,
    MemoryReactor,
    NonStreamingProducer,
    RaisingMemoryReactor,
    StringTransport,
    SynchronousResolver,
    connectedPair,
    waitUntilAllDisconnected,
)


def _results(d: defer.Deferred[Any]) -> list[Any]:
    out: list[Any] = []
    d.addBoth(out.append)
    return out


@pytest.mark.twisted_oracle
def test_every_name_of_twisted_internet_testing_is_here() -> None:
    twtesting = pytest.importorskip("twisted.internet.testing")
    import torsion.testing

    assert [n for n in twtesting.__all__ if not hasattr(torsion.testing, n)] == []


def test_accumulating_protocol_records_and_fires_its_deferreds() -> None:
    factory = Factory.forProtocol(AccumulatingProtocol)
    made: defer.Deferred[AccumulatingProtocol] = defer.Deferred()
    factory.protocolConnectionMade = made
    p = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert isinstance(p, AccumulatingProtocol)
    p.makeConnection(StringTransport())
    assert p.made == 1 and _results(made) == [p]
    assert factory.protocolConnectionMade is None
    p.dataReceived(b"ab")
    p.dataReceived(b"c")
    assert p.data == b"abc"
    closed: defer.Deferred[None] = defer.Deferred()
    p.closedDeferred = closed
    reason = Failure(error.ConnectionDone())
    p.connectionLost(reason)
    assert p.closed == 1 and p.closedReason is reason
    assert _results(closed) == [None] and p.closedDeferred is None


def test_accumulating_protocol_without_a_factory() -> None:
    p = AccumulatingProtocol()
    p.makeConnection(StringTransport())
    assert p.made == 1


@pytest.mark.parametrize("start", [True, False])
def test_line_sending_protocol(start: bool) -> None:
    sender = LineSendingProtocol([b"one", b"two"], start=start)
    peer = LineSendingProtocol([b"hello"], start=True)
    pump = connectedPair(sender, peer)
    pump.flush()
    assert peer.response == [b"one", b"two"]
    assert sender.response == [b"hello"]
    assert not sender.lostConn
    sender.transport.loseConnection()
    pump.flush()
    assert sender.lostConn and peer.lostConn


def test_fake_datagram_transport_records_writes() -> None:
    t = FakeDatagramTransport()
    t.write(b"a", ("127.0.0.1", 9))
    t.write(b"b")
    assert t.written == [(b"a", ("127.0.0.1", 9)), (b"b", FakeDatagramTransport.noAddr)]


def test_non_streaming_producer_writes_ten_counts_then_unregisters() -> None:
    consumer = StringTransport()
    producer = NonStreamingProducer(consumer)
    done = _results(producer.result)
    consumer.registerProducer(producer, False)
    for _ in range(10):
        producer.resumeProducing()
    assert consumer.value() == b"0123456789"
    assert consumer.producer is None and done == [None]
    with pytest.raises(RuntimeError, match="resume after unregister"):
        producer.resumeProducing()
    with pytest.raises(RuntimeError, match="pause should never"):
        producer.pauseProducing()


def test_non_streaming_producer_stop() -> None:
    producer = NonStreamingProducer(StringTransport())
    done = _results(producer.result)
    producer.stopProducing()
    assert producer.stopped and done == [None]


def test_raising_memory_reactor() -> None:
    listen, connect = OSError("no listening"), ValueError("no connecting")
    r = RaisingMemoryReactor(listen, connect)
    f = Factory()
    for call, exc in [
        (lambda: r.listenTCP(80, f), listen),
        (lambda: r.listenSSL(443, f, None), listen),
        (lambda: r.listenUNIX("/s", f), listen),
        (lambda: r.adoptStreamPort(3, 2, f), listen),
        (lambda: r.connectTCP("h", 80, f), connect),
        (lambda: r.connectSSL("h", 443, f, None), connect),
        (lambda: r.connectUNIX("/s", f), connect),
        (lambda: r.adoptDatagramPort(3, 2, f), connect),
        (lambda: r.adoptStreamConnection(3, 2, f), connect),
    ]:
        with pytest.raises(type(exc)) as info:
            call()
        assert info.value is exc
    mine = object()
    assert isinstance(r.installNameResolver(mine), SynchronousResolver)
    assert r.nameResolver is mine
    with pytest.raises(TypeError, match="no exception"):
        RaisingMemoryReactor().listenTCP(1, f)


class _Receiver:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def resolutionBegan(self, resolution: Any) -> None:
        self.calls.append(("began", resolution.name))

    def addressResolved(self, address: Any) -> None:
        self.calls.append(("address", address))

    def resolutionComplete(self) -> None:
        self.calls.append(("complete",))


def test_memory_reactor_resolves_every_name_to_localhost() -> None:
    r = MemoryReactor()
    receiver = _Receiver()
    resolution = r.nameResolver.resolveHostName(receiver, "example.com", 443)
    assert resolution.name == "example.com"
    assert receiver.calls == [
        ("began", "example.com"),
        ("address", IPv4Address("TCP", "127.0.0.1", 443)),
        ("complete",),
    ]
    other = object()
    old = r.installNameResolver(other)
    assert isinstance(old, SynchronousResolver) and r.nameResolver is other


def test_waitUntilAllDisconnected_on_a_clock() -> None:
    clock = Clock()
    protocols = [Protocol(), Protocol()]
    for p in protocols:
        p.makeConnection(StringTransport())
    done = _results(waitUntilAllDisconnected(clock, protocols))
    clock.advance(0.01)
    assert done == []
    for p in protocols:
        p.transport.connected = False
    clock.advance(0.01)
    assert len(done) == 1 and clock.getDelayedCalls() == []


def test_waitUntilAllDisconnected_on_a_reactor(reactor: Any, run: Any) -> None:
    factory = Factory.forProtocol(AccumulatingProtocol)
    factory.protocolConnectionMade = defer.Deferred()
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    client = ClientCreator(reactor, Protocol).connectTCP("127.0.0.1", port.getHost().port)

    def connected(protocols: list[Any]) -> defer.Deferred[Any]:
        for p in protocols:
            p.transport.loseConnection()
        return waitUntilAllDisconnected(reactor, protocols)

    d = defer.gatherResults([factory.protocolConnectionMade, client])
    d.addCallback(connected)
    d.addCallback(lambda _: port.stopListening())
    run(d)


def test_event_logging_observer_with_a_unittest_case() -> None:
    class Case(unittest.TestCase):
        def runTest(self) -> None:
            pass

    case = Case()
    publisher = logger.LogPublisher()
    observer = EventLoggingObserver.createWithCleanup(case, publisher)
    logger.Logger(namespace="n", observer=publisher).info("one {x}", x=1)
    assert len(observer) == 1 and logger.formatEvent(observer[0]) == "one 1"
    assert list(observer) == list(observer[:]) and observer[-1]["x"] == 1
    case.doCleanups()
    logger.Logger(namespace="n", observer=publisher).info("two")
    assert len(observer) == 1


def test_event_logging_observer_sees_torsion_errors(request: pytest.FixtureRequest) -> None:
    observer = EventLoggingObserver.createWithCleanup(request, logger.globalLogPublisher)
    defer.logError(Failure(KeyError("k")))
    [event] = observer
    event["log_failure"].trap(KeyError)
