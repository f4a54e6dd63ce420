"""Tests for chatserver.py without a socket: torsion.testing's StringTransport.

python -m pytest examples/chatserver_test.py

Each protocol is connected to a StringTransport, which records what the
protocol writes; the test plays the peer by calling ``dataReceived``.
"""

from chatserver import ChatFactory

from torsion.testing import StringTransport


def connect(factory: ChatFactory) -> tuple[object, StringTransport]:
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def test_lines_reach_the_other_users() -> None:
    factory = ChatFactory()
    alice, aliceSees = connect(factory)
    bob, bobSees = connect(factory)
    alice.dataReceived(b"alice\n")
    bob.dataReceived(b"bob\n")
    aliceSees.clear()
    bob.dataReceived(b"hi alice\n")
    assert aliceSees.value() == b"<bob> hi alice\n"
    assert bobSees.value().endswith(b"Welcome, bob!\n")


def test_names_are_unique() -> None:
    factory = ChatFactory()
    first, _ = connect(factory)
    second, secondSees = connect(factory)
    first.dataReceived(b"carol\n")
    secondSees.clear()
    second.dataReceived(b"carol\n")
    assert secondSees.value() == b"That name is taken (or empty); try another.\n"


def test_leaving_is_announced() -> None:
    factory = ChatFactory()
    dave, _ = connect(factory)
    erin, erinSees = connect(factory)
    dave.dataReceived(b"dave\n")
    erin.dataReceived(b"erin\n")
    erinSees.clear()
    dave.connectionLost(None)
    assert erinSees.value() == b"* dave left\n"
    assert list(factory.users) == ["erin"]
