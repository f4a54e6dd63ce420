"""Tests for the test doubles in torsion.testing."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from torsion import error
from torsion.address import IPv4Address, IPv6Address, UNIXAddress
from torsion.failure import Failure
from torsion.protocol import ClientFactory, Factory, ProcessProtocol, Protocol, connectionDone
from torsion.protocols.basic import LineReceiver
from torsion.testing import (
    MemoryReactor,
    MemoryReactorClock,
    StringIOWithoutClosing,
    StringTransport,
    StringTransportWithDisconnection,
    connectedPair,
)

# StringTransport -------------------------------------------------------------------


def test_write_and_writeSequence_accumulate_until_clear() -> None:
    t = StringTransport()
    t.write(b"ab")
    t.writeSequence([b"c", b"", b"de"])
    t.writeSequence(iter([b"f"]))
    assert t.value() == b"abcdef"
    assert t.io.getvalue() == b"abcdef"
    t.clear()
    assert t.value() == b""
    t.write(b"g")
    assert t.value() == b"g"


@pytest.mark.parametrize("bad", ["text", bytearray(b"x"), memoryview(b"x"), 3, None])
def test_write_rejects_non_bytes(bad: Any) -> None:
    t = StringTransport()
    with pytest.raises(TypeError, match=type(bad).__name__):
        t.write(bad)
    with pytest.raises(TypeError, match="writeSequence"):
        t.writeSequence([b"ok", bad])
    assert t.value() == b""


def test_default_and_given_addresses() -> None:
    t = StringTransport()
    assert t.getPeer() == IPv4Address("TCP", "192.168.1.1", 54321)
    assert t.getHost() == IPv4Address("TCP", "10.0.0.1", 12345)
    host, peer = IPv6Address("TCP", "::1", 1), UNIXAddress(b"/sock")
    t = StringTransport(hostAddress=host, peerAddress=peer)
    assert t.getHost() is host
    assert t.getPeer() is peer


def test_loseConnection_abortConnection_and_half_close() -> None:
    t = StringTransport()
    assert (t.connected, t.disconnecting, t.disconnected) == (True, False, False)
    t.loseWriteConnection()
    assert t.writeDisconnected
    assert not t.disconnecting
    t.loseConnection()
    assert t.disconnecting
    assert not t.disconnected
    t = StringTransport()
    t.abortConnection()
    assert t.disconnecting
    assert t.disconnected


def test_socket_options_are_recorded() -> None:
    t = StringTransport()
    assert t.getTcpNoDelay() is True
    assert t.getTcpKeepAlive() is False
    t.setTcpNoDelay(False)
    t.setTcpKeepAlive(1)  # type: ignore[arg-type]
    assert t.getTcpNoDelay() is False
    assert t.getTcpKeepAlive() is True


def test_register_and_unregister_producer() -> None:
    t = StringTransport()
    producer = object()
    t.registerProducer(producer, True)
    assert (t.producer, t.streaming) == (producer, True)
    with pytest.raises(RuntimeError, match="already registered"):
        t.registerProducer(object(), False)
    t.unregisterProducer()
    assert (t.producer, t.streaming) == (None, None)
    with pytest.raises(RuntimeError, match="none is registered"):
        t.unregisterProducer()


def test_producer_state_machine() -> None:
    t = StringTransport()
    assert t.producerState == "producing"
    t.pauseProducing()
    assert t.producerState == "paused"
    t.resumeProducing()
    assert t.producerState == "producing"
    t.stopProducing()
    assert t.producerState == "stopped"
    with pytest.raises(RuntimeError, match="stopped"):
        t.resumeProducing()
    with pytest.raises(RuntimeError, match="stopped"):
        t.pauseProducing()


def test_resume_after_loseConnection_is_an_error_unless_lenient() -> None:
    t = StringTransport()
    t.loseConnection()
    with pytest.raises(RuntimeError, match="loseConnection"):
        t.resumeProducing()
    lenient = StringTransport(lenient=True)
    lenient.loseConnection()
    lenient.pauseProducing()
    lenient.resumeProducing()
    assert lenient.producerState == "producing"


class Recorder(Protocol):
    def __init__(self) -> None:
        self.reasons: list[Failure] = []
        self.data: list[bytes] = []
        self.made = 0

    def connectionMade(self) -> None:
        self.made += 1

    def dataReceived(self, data: bytes) -> None:
        self.data.append(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reasons.append(reason)


def test_string_transport_with_disconnection_reports_connection_lost_once() -> None:
    t = StringTransportWithDisconnection()
    p = Recorder()
    t.protocol = p
    p.makeConnection(t)
    t.loseConnection()
    t.loseConnection()
    assert len(p.reasons) == 1
    assert p.reasons[0].check(error.ConnectionDone)
    assert t.disconnecting
    assert not t.connected


def test_string_transport_with_disconnection_abort() -> None:
    t = StringTransportWithDisconnection()
    p = Recorder()
    t.protocol = p
    p.makeConnection(t)
    t.abortConnection()
    assert [r.type for r in p.reasons] == [error.ConnectionAborted]
    assert t.disconnected


def test_string_io_without_closing() -> None:
    f = StringIOWithoutClosing()
    f.write(b"kept")
    f.close()
    assert f.getvalue() == b"kept"


# MemoryReactor -----------------------------------------------------------------------


class RecordingClientFactory(ClientFactory):
    def __init__(self) -> None:
        self.connectors: list[Any] = []

    def startedConnecting(self, connector: Any) -> None:
        self.connectors.append(connector)


def test_listen_calls_are_recorded_with_their_arguments() -> None:
    r = MemoryReactor()
    f = Factory()
    tcp = r.listenTCP(8080, f)
    tcp6 = r.listenTCP(8081, f, backlog=5, interface="::1")
    ssl = r.listenSSL(443, f, "ctx", interface="127.0.0.1")
    unix = r.listenUNIX("/tmp/sock", f, mode=0o600)
    udp = r.listenUDP(53, "proto", interface="10.0.0.2")
    assert r.tcpServers == [(8080, f, 50, ""), (8081, f, 5, "::1")]
    assert r.sslServers == [(443, f, "ctx", 50, "127.0.0.1")]
    assert r.unixServers == [("/tmp/sock", f, 50, 0o600, False)]
    assert r.udpPorts == [(53, "proto", "10.0.0.2", 8192)]
    assert tcp.getHost() == IPv4Address("TCP", "0.0.0.0", 8080)
    assert tcp6.getHost() == IPv6Address("TCP", "::1", 8081)
    assert ssl.getHost() == IPv4Address("TCP", "0.0.0.0", 443)
    assert unix.getHost() == UNIXAddress(b"/tmp/sock")
    assert udp.getHost() == IPv4Address("UDP", "10.0.0.2", 53)


def test_fake_port_stopListening_returns_a_fired_deferred() -> None:
    port = MemoryReactor().listenTCP(1, Factory())
    assert port.listening
    results: list[object] = []
    port.stopListening().addCallback(results.append)
    assert results == [None]
    assert not port.listening
    port.startListening()
    assert port.listening


def test_connect_calls_are_recorded_and_return_connectors() -> None:
    r = MemoryReactor()
    f = RecordingClientFactory()
    c1 = r.connectTCP("example.com", 80, f)
    c2 = r.connectTCP("::1", 81, f, timeout=5, bindAddress=("", 0))
    c3 = r.connectSSL("example.com", 443, f, "ctx")
    c4 = r.connectUNIX("/tmp/sock", f, checkPID=True)
    assert r.tcpClients == [("example.com", 80, f, 30, None), ("::1", 81, f, 5, ("", 0))]
    assert r.sslClients == [("example.com", 443, f, "ctx", 30, None)]
    assert r.unixClients == [("/tmp/sock", f, 30, True)]
    assert r.connectors == [c1, c2, c3, c4]
    assert f.connectors == [c1, c2, c3, c4]
    assert c1.getDestination() == IPv4Address("TCP", "example.com", 80)
    assert c2.getDestination() == IPv6Address("TCP", "::1", 81)
    assert c4.getDestination() == UNIXAddress(b"/tmp/sock")


def test_fake_connector_state() -> None:
    c = MemoryReactor().connectTCP("h", 1, ClientFactory())
    assert c.state == "connecting"
    c.stopConnecting()
    assert c.stoppedConnecting
    assert c.state == "disconnected"
    c.connect()
    assert c.state == "connecting"
    assert c.connectAttempts == 2
    c.disconnect()
    assert c.state == "disconnected"


def test_adopt_calls_are_recorded() -> None:
    r = MemoryReactor()
    f = Factory()
    port = r.adoptStreamPort(7, socket.AF_INET6, f)
    r.adoptStreamConnection(8, socket.AF_INET, f)
    dgram = r.adoptDatagramPort(9, socket.AF_INET, "proto")
    assert port.getHost() == IPv6Address("TCP", "::", 1234)
    assert dgram.getHost() == IPv4Address("UDP", "0.0.0.0", 1234)
    assert r.adoptedPorts == [(7, socket.AF_INET6, f), (9, socket.AF_INET, "proto", 8192)]
    assert r.adoptedStreamConnections == [(8, socket.AF_INET, f)]
    with pytest.raises(error.UnsupportedAddressFamily):
        r.adoptStreamPort(10, socket.AF_UNIX, f)


def test_run_runs_hooks_then_stops() -> None:
    r = MemoryReactor()
    calls: list[tuple[Any, ...]] = []
    r.callWhenRunning(lambda *a, **kw: calls.append((a, kw)), 1, k=2)
    assert calls == []
    assert not r.hasRun
    r.run()
    assert calls == [((1,), {"k": 2})]
    assert r.hasRun
    assert r.hasStopped
    assert r.running is False
    r.callWhenRunning(calls.append, "now")
    assert calls[-1] == "now"


def test_crash_and_install() -> None:
    r = MemoryReactor()
    r.install()
    r.crash()
    assert r.hasInstalled
    assert r.hasCrashed
    assert r.running is False


def test_system_event_triggers_run_in_phase_order_and_can_be_removed() -> None:
    r = MemoryReactor()
    order: list[str] = []
    r.addSystemEventTrigger("after", "shutdown", order.append, "after")
    r.addSystemEventTrigger("before", "shutdown", order.append, "before")
    removed = r.addSystemEventTrigger("during", "shutdown", order.append, "removed")
    r.addSystemEventTrigger("during", "shutdown", order.append, "during")
    r.addSystemEventTrigger("during", "startup", order.append, "other event")
    assert [e[1] for e in r.triggers["during"]["shutdown"]] == [("removed",), ("during",)]
    r.removeSystemEventTrigger(removed)
    with pytest.raises(ValueError, match="no such"):
        r.removeSystemEventTrigger(removed)
    r.fireSystemEvent("shutdown")
    assert order == ["before", "during", "after"]


def test_bad_trigger_phase_and_failing_trigger(caplog: pytest.LogCaptureFixture) -> None:
    r = MemoryReactor()
    with pytest.raises(ValueError, match="phase"):
        r.addSystemEventTrigger("sometime", "shutdown", print)
    ran: list[int] = []
    r.addSystemEventTrigger("before", "shutdown", lambda: 1 / 0)
    r.addSystemEventTrigger("after", "shutdown", ran.append, 1)
    r.fireSystemEvent("shutdown")
    assert ran == [1]
    assert "ZeroDivisionError" in caplog.text


def test_readers_and_writers() -> None:
    r = MemoryReactor()
    r.addReader("a")
    r.addReader("b")
    r.addWriter("b")
    r.addWriter("c")
    r.removeReader("a")
    r.removeWriter("missing")
    assert sorted(r.getReaders()) == ["b"]
    assert sorted(r.getWriters()) == ["b", "c"]
    assert sorted(r.removeAll()) == ["b", "c"]
    assert r.getReaders() == r.getWriters() == []


def test_unsupported_operations_say_so() -> None:
    r = MemoryReactor()
    with pytest.raises(NotImplementedError, match="resolve"):
        r.resolve("example.com")
    with pytest.raises(NotImplementedError, match="iterate"):
        r.iterate()


def test_spawnProcess_records_and_connects_a_fake_process() -> None:
    class Child(ProcessProtocol):
        out = b""

        def outReceived(self, data: bytes) -> None:
            self.out += data

    r = MemoryReactor()
    child = Child()
    process = r.spawnProcess(child, "/bin/echo", ["echo", "hi"], env={"A": "1"})
    assert r.processes == [
        (child, "/bin/echo", ("echo", "hi"), {"A": "1"}, None, None, None, False, None)
    ]
    assert child.transport is process
    assert process.pid == 1000
    process.write(b"stdin data")
    process.writeToChild(3, b"x")
    process.signalProcess("TERM")
    process.closeStdin()
    assert process.value() == b"stdin data"
    assert process.childWrites == {3: b"x"}
    assert process.signals == ["TERM"]
    assert process.closedChildFDs == {0}
    child.childDataReceived(1, b"out")
    assert child.out == b"out"
    process.pid = None
    with pytest.raises(error.ProcessExitedAlready):
        process.signalProcess("KILL")
    assert r.spawnProcess(Child(), "x").pid == 1001


# MemoryReactorClock ------------------------------------------------------------------


def test_memory_reactor_clock_has_virtual_time() -> None:
    r = MemoryReactorClock()
    fired: list[float] = []
    r.callLater(2, lambda: fired.append(r.seconds()))
    call = r.callLater(1, fired.append, -1.0)
    call.cancel()
    assert len(r.getDelayedCalls()) == 1
    r.advance(1.5)
    assert fired == []
    r.advance(0.5)
    assert fired == [2.0]
    assert r.seconds() == 2.0
    r.listenTCP(1, Factory())
    assert len(r.tcpServers) == 1


# connectedPair -------------------------------------------------------------------------


class Echo(LineReceiver):
    def lineReceived(self, line: bytes) -> None:
        if line == b"bye":
            self.transport.loseConnection()
        else:
            self.sendLine(line.upper())


class Client(LineReceiver):
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.reasons: list[Failure] = []

    def connectionMade(self) -> None:
        self.sendLine(b"hello")
        self.sendLine(b"world")

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)
        if len(self.lines) == 2:
            self.sendLine(b"bye")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.reasons.append(reason)


def test_connectedPair_moves_bytes_and_closes_both_sides() -> None:
    server, client = Echo(), Client()
    pump = connectedPair(server, client)
    assert client.lines == []
    assert pump.serverTransport.getPeer() == pump.clientTransport.getHost()
    assert pump.pump()
    pump.flush()
    assert client.lines == [b"HELLO", b"WORLD"]
    assert pump.closed
    assert [r.type for r in client.reasons] == [error.ConnectionDone]
    assert not pump.pump()


def test_connectedPair_abort_gives_connection_lost_to_the_peer() -> None:
    server, client = Recorder(), Client()
    pump = connectedPair(server, client)
    pump.serverTransport.abortConnection()
    pump.flush()
    assert server.data == [b"hello\r\nworld\r\n"]
    assert [r.type for r in server.reasons] == [error.ConnectionAborted]
    assert [r.type for r in client.reasons] == [error.ConnectionLost]


def test_connectedPair_flush_gives_up_on_endless_chatter() -> None:
    class Chatty(Protocol):
        def connectionMade(self) -> None:
            self.transport.write(b"x")

        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    pump = connectedPair(Chatty(), Chatty())
    with pytest.raises(RuntimeError, match="still busy"):
        pump.flush(maxTurns=50)
