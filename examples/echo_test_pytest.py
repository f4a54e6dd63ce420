"""Tests for echoserv.py's Echo protocol, written for pytest with torsion's plugin.

python -m pytest echo_test_pytest.py                          (in examples/)
python -m pytest echo_test_pytest.py --torsion-backends=all   (on select, poll and epoll)

The plugin comes with torsion: the ``reactor`` fixture is a new reactor for
each test (closed after it, failing the test if a timer or connection was
left in it), ``run(d)`` runs it until ``d`` fires, ``clock`` is a
task.Clock and ``memory_reactor`` a fake reactor that records what is
asked of it.  A test that is ``async def`` runs on its reactor until done.
"""

from typing import Any

import pytest
from echoserv import Echo

from torsion import defer, endpoints, error, protocol, task
from torsion.testing import MemoryReactorClock, StringTransport


def test_echoes_what_it_receives() -> None:
    echo = Echo()
    transport = StringTransport()
    echo.makeConnection(transport)
    echo.dataReceived(b"hello")
    assert transport.value() == b"hello"


def test_timeouts_are_tested_with_a_clock(clock: task.Clock) -> None:
    d: defer.Deferred[None] = defer.Deferred()
    d.addTimeout(30, clock)
    clock.advance(30)
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures[0].check(defer.TimeoutError)


def test_the_server_listens_where_asked(memory_reactor: MemoryReactorClock) -> None:
    endpoints.TCP4ServerEndpoint(memory_reactor, 8000).listen(protocol.Factory.forProtocol(Echo))
    port, factory, _backlog, _interface = memory_reactor.tcpServers[0]
    assert (port, factory.protocol) == (8000, Echo)


class Client(protocol.Protocol):
    """Says hello; ``reply`` fires with the answer once the connection has closed."""

    def __init__(self) -> None:
        self.received = b""
        self.reply: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(b"hello")

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if self.received == b"hello":
            self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:
        self.reply.callback(self.received)


async def test_round_trip(reactor: Any) -> None:
    server = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
    port = await server.listen(protocol.Factory.forProtocol(Echo))
    client = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    hello = await endpoints.connectProtocol(client, Client())
    assert await hello.reply == b"hello"
    await port.stopListening()
    # The reactor stops when the test is done, closing the server's end.


def test_refused(reactor: Any, run: Any) -> None:
    with pytest.raises(error.ConnectionRefusedError):
        run(protocol.ClientCreator(reactor, Client).connectTCP("127.0.0.1", 1))
