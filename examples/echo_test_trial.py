"""Tests for echoserv.py's Echo protocol, written with torsion.trial.

python -m torsion.trial echo_test_trial      (in examples/)
python -m pytest echo_test_trial.py          (pytest runs them too)

Unit tests need no reactor (a StringTransport plays the connection, a
task.Clock plays time); TCP tests return a Deferred or are coroutines, and
TestCase runs the global reactor until they are done.  The janitor fails a
test that leaves a port, connection or timer behind, so each test waits for
both ends to close.
"""

from echoserv import Echo

from torsion import defer, error, protocol, reactor, task
from torsion.testing import StringTransport
from torsion.trial import unittest


class EchoUnitTests(unittest.SynchronousTestCase):
    def test_echoes_what_it_receives(self) -> None:
        echo = Echo()
        transport = StringTransport()
        echo.makeConnection(transport)
        echo.dataReceived(b"hello")
        self.assertEqual(transport.value(), b"hello")

    def test_timeouts_are_tested_with_a_clock(self) -> None:
        clock = task.Clock()
        d: defer.Deferred[None] = defer.Deferred()
        d.addTimeout(30, clock)
        clock.advance(29)
        self.assertNoResult(d)
        clock.advance(1)
        self.failureResultOf(d, defer.TimeoutError)


class Collector(protocol.Protocol):
    """A client that keeps what it receives; ``lost`` fires when it is disconnected."""

    def __init__(self) -> None:
        self.received = b""
        self.lost: defer.Deferred[None] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.received == b"hello":
            self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        self.lost.callback(None)


class TrackedEcho(Echo):
    """The server's end: tells its factory when it has closed."""

    def connectionLost(self, reason: object = None) -> None:
        self.factory.closed.callback(None)


class ServerFactory(protocol.Factory):
    protocol = TrackedEcho

    def __init__(self) -> None:
        self.closed: defer.Deferred[None] = defer.Deferred()


class EchoOverTCPTests(unittest.TestCase):
    timeout = 10  # seconds, for each test (trial's default is 120)

    def setUp(self) -> None:
        self.factory = ServerFactory()
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)  # returns a Deferred: waited for

    async def test_round_trip(self) -> None:
        creator = protocol.ClientCreator(reactor, Collector)
        client = await creator.connectTCP("127.0.0.1", self.port.getHost().port)
        client.transport.write(b"hello")
        await client.lost
        await self.factory.closed
        self.assertEqual(client.received, b"hello")

    def test_refused(self) -> defer.Deferred[object]:
        port = self.port.getHost().port
        creator = protocol.ClientCreator(reactor, Collector)
        d = self.port.stopListening()
        d.addCallback(lambda _: creator.connectTCP("127.0.0.1", port))
        return self.assertFailure(d, error.ConnectionRefusedError)
