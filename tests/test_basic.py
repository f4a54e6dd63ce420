"""Tests for torsion.protocols.basic: framing across every split, limits, modes, pausing."""

from __future__ import annotations

import io
import itertools
import random
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from torsion.protocols import basic
from torsion.testing import StringTransport

# Helpers ---------------------------------------------------------------------


def chunkings(data: bytes, maxCuts: int = 2) -> Iterator[list[bytes]]:
    """Every way of cutting ``data`` at up to ``maxCuts`` places (plus one byte at a time)."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for cuts in range(1, maxCuts + 1):
        for points in itertools.combinations(range(1, len(data)), cuts):
            bounds = (0, *points, len(data))
            yield [data[a:b] for a, b in itertools.pairwise(bounds)]


def randomChunks(data: bytes, rng: random.Random, biggest: int = 40) -> list[bytes]:
    """``data`` cut at random places (chunks of 0 to ``biggest`` bytes)."""
    chunks = []
    pos = 0
    while pos < len(data):
        size = rng.randint(0, biggest)
        chunks.append(data[pos : pos + size])
        pos += size
    return chunks


def connect(protocol: Any) -> StringTransport:
    transport = StringTransport()
    protocol.makeConnection(transport)
    return transport


def feed(protocol: Any, chunks: list[bytes]) -> None:
    for chunk in chunks:
        protocol.dataReceived(chunk)


class Lines(basic.LineReceiver):
    """Records lines, raw chunks and length errors."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.raw: list[bytes] = []
        self.exceeded: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def rawDataReceived(self, data: bytes) -> None:
        self.raw.append(data)

    def lineLengthExceeded(self, line: bytes) -> Any:
        self.exceeded.append(line)
        return super().lineLengthExceeded(line)


class OnlyLines(basic.LineOnlyReceiver):
    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.exceeded: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.exceeded.append(line)
        super().lineLengthExceeded(line)


class Strings:
    """Mixin recording strings for the string receivers."""

    strings: list[bytes]

    def stringReceived(self, string: bytes) -> None:
        self.strings.append(string)


class Netstrings(Strings, basic.NetstringReceiver):
    def __init__(self) -> None:
        self.strings = []


class Int32s(Strings, basic.Int32StringReceiver):
    def __init__(self) -> None:
        self.strings = []
        self.exceeded: list[int] = []

    def lengthLimitExceeded(self, length: int) -> None:
        self.exceeded.append(length)
        super().lengthLimitExceeded(length)


class Int16s(Strings, basic.Int16StringReceiver):
    def __init__(self) -> None:
        self.strings = []


class Int8s(Strings, basic.Int8StringReceiver):
    def __init__(self) -> None:
        self.strings = []


def netstring(payload: bytes) -> bytes:
    return b"%d:%b," % (len(payload), payload)


# LineReceiver ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [b"\r\n", b"\n", b"<END>"])
def test_lines_survive_every_split(delimiter: bytes) -> None:
    lines = [b"alpha", b"", b"be\rta", b"\n\n", b"gamma"]
    lines = [line.replace(delimiter, b"") for line in lines]
    data = b"".join(line + delimiter for line in lines) + b"partial"
    for chunks in chunkings(data):
        p = Lines()
        p.delimiter = delimiter
        connect(p)
        feed(p, chunks)
        assert p.lines == lines, chunks
        assert p.clearLineBuffer() == b"partial"


def test_lines_random_chunks() -> None:
    rng = random.Random(1234)
    for _ in range(200):
        lines = [bytes(rng.choices(b"ab\r\n", k=rng.randint(0, 30))) for _ in range(20)]
        lines = [line.replace(b"\r", b"\r ") for line in lines]  # no b"\r\n" inside
        data = b"".join(line + b"\r\n" for line in lines)
        p = Lines()
        connect(p)
        feed(p, randomChunks(data, rng))
        assert p.lines == lines


def test_sendLine_appends_the_delimiter() -> None:
    p = Lines()
    p.delimiter = b"\n"
    t = connect(p)
    p.sendLine(b"hello")
    assert t.value() == b"hello\n"


def test_line_of_exactly_MAX_LENGTH_is_accepted_across_splits() -> None:
    line = b"x" * 10
    for chunks in chunkings(line + b"\r\n" + line + b"\r\n", maxCuts=1):
        p = Lines()
        p.MAX_LENGTH = 10
        t = connect(p)
        feed(p, chunks)
        assert p.lines == [line, line]
        assert not t.disconnecting


def test_overlong_delimited_line_closes_the_connection() -> None:
    p = Lines()
    p.MAX_LENGTH = 5
    t = connect(p)
    p.dataReceived(b"ok\r\n123456\r\nafter\r\n")
    assert p.lines == [b"ok"]
    assert p.exceeded == [b"123456\r\nafter\r\n"]
    assert t.disconnecting
    p.dataReceived(b"more\r\n")
    assert p.lines == [b"ok"]


@pytest.mark.parametrize("cls", [Lines, OnlyLines])
def test_overlong_undelimited_line_closes_once_it_cannot_be_valid(cls: type[Any]) -> None:
    p = cls()
    p.MAX_LENGTH = 5
    t = connect(p)
    for byte in b"123456":
        p.dataReceived(bytes([byte]))
        assert not t.disconnecting  # 6 bytes could still be 5 + b"\r"
    p.dataReceived(b"7")
    assert t.disconnecting
    assert p.exceeded == [b"1234567"]
    assert p.lines == []


@pytest.mark.parametrize("cls", [Lines, OnlyLines])
@pytest.mark.parametrize("close", [True, False])
def test_endless_line_keeps_memory_bounded(cls: type[Any], close: bool) -> None:
    p = cls()
    if not close:
        p.lineLengthExceeded = p.exceeded.append
    t = connect(p)
    chunk = b"a" * 1000
    for _ in range(2000):
        p.dataReceived(chunk)
        assert p._partsLen + len(p._buffer) <= p.MAX_LENGTH + len(chunk)
    assert p.lines == []
    assert p.exceeded
    assert t.disconnecting is close


def test_lineLengthExceeded_that_keeps_the_connection_resumes_parsing() -> None:
    p = Lines()
    p.MAX_LENGTH = 3
    p.lineLengthExceeded = p.exceeded.append  # type: ignore[method-assign]
    connect(p)
    p.dataReceived(b"toolong\r\n")
    p.dataReceived(b"ok\r\n")
    assert p.exceeded == [b"toolong\r\n"]
    assert p.lines == [b"ok"]


class Framed(basic.LineReceiver):
    """Lines ``n`` announce ``n`` raw bytes, then lines again (like HTTP chunking)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []
        self.remaining = 0

    def lineReceived(self, line: bytes) -> None:
        self.events.append(("line", line))
        if line.isdigit() and int(line):
            self.remaining = int(line)
            self.setRawMode()

    def rawDataReceived(self, data: bytes) -> None:
        body, rest = data[: self.remaining], data[self.remaining :]
        self.remaining -= len(body)
        if self.events and self.events[-1][0] == "raw":
            body = self.events.pop()[1] + body
        self.events.append(("raw", body))
        if not self.remaining:
            self.setLineMode(rest)


def test_mode_switching_from_callbacks_across_every_split() -> None:
    data = b"hello\r\n3\r\nabc0\r\n5\r\n\r\n\r\nx\r\nbye\r\n"
    expected = [
        ("line", b"hello"),
        ("line", b"3"),
        ("raw", b"abc"),
        ("line", b"0"),
        ("line", b"5"),
        ("raw", b"\r\n\r\nx"),
        ("line", b""),
        ("line", b"bye"),
    ]
    for chunks in chunkings(data):
        p = Framed()
        connect(p)
        feed(p, chunks)
        assert p.events == expected, chunks


def test_raw_mode_delivers_the_rest_of_the_chunk() -> None:
    class Switch(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            self.setRawMode()

    p = Switch()
    connect(p)
    p.dataReceived(b"head\r\nraw\r\nbytes")
    p.dataReceived(b"more")
    assert p.lines == [b"head"]
    assert p.raw == [b"raw\r\nbytes", b"more"]


def test_setLineMode_from_outside_parses_buffered_extra() -> None:
    p = Lines()
    connect(p)
    p.setRawMode()
    p.dataReceived(b"a\r\nb")
    assert p.raw == [b"a\r\nb"]
    p.setLineMode(b"c\r\nd")
    p.dataReceived(b"\r\n")
    assert p.lines == [b"c", b"d"]


def test_pause_and_resume_from_lineReceived() -> None:
    class Pausing(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"pause":
                self.pauseProducing()

    p = Pausing()
    t = connect(p)
    p.dataReceived(b"one\r\npause\r\ntwo\r\nthree")
    assert p.lines == [b"one", b"pause"]
    assert t.producerState == "paused"
    p.dataReceived(b"\r\nfour\r\n")
    assert p.lines == [b"one", b"pause"]
    p.resumeProducing()
    assert t.producerState == "producing"
    assert p.lines == [b"one", b"pause", b"two", b"three", b"four"]


def test_pause_from_outside_with_a_partial_line_buffered() -> None:
    p = Lines()
    connect(p)
    p.dataReceived(b"par")
    p.pauseProducing()
    p.dataReceived(b"tial\r\nnext\r\n")
    assert p.lines == []
    p.resumeProducing()
    assert p.lines == [b"partial", b"next"]


def test_resume_from_inside_a_callback_keeps_order() -> None:
    class Bouncy(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            self.pauseProducing()
            self.resumeProducing()

    p = Bouncy()
    connect(p)
    p.dataReceived(b"a\r\nb\r\nc\r\n")
    assert p.lines == [b"a", b"b", b"c"]


def test_stopProducing_stops_delivery_and_the_transport() -> None:
    p = Lines()
    t = connect(p)
    p.stopProducing()
    p.dataReceived(b"a\r\n")
    assert p.lines == []
    assert t.producerState == "stopped"


def test_clearLineBuffer_inside_lineReceived_takes_the_rest() -> None:
    class Clearing(Lines):
        taken = b""

        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            self.taken = self.clearLineBuffer()

    p = Clearing()
    connect(p)
    p.dataReceived(b"first\r\nsecond\r\nthi")
    assert p.lines == [b"first"]
    assert p.taken == b"second\r\nthi"
    p.dataReceived(b"x\r\n")
    assert p.lines == [b"first", b"x"]


def test_loseConnection_inside_lineReceived_stops_lines() -> None:
    class Quitter(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"quit":
                self.transport.loseConnection()

    for cls in (Quitter,):
        p = cls()
        t = connect(p)
        p.dataReceived(b"a\r\nquit\r\nb\r\n")
        p.dataReceived(b"c\r\n")
        assert p.lines == [b"a", b"quit"]
        assert t.disconnecting


def test_reentrant_dataReceived_is_queued_in_order() -> None:
    class Injector(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"inject":
                self.dataReceived(b"injected\r\n")

    p = Injector()
    connect(p)
    p.dataReceived(b"inject\r\nnext\r\n")
    assert p.lines == [b"inject", b"next", b"injected"]


def test_true_return_value_stops_parsing_the_chunk() -> None:
    class Stopper(Lines):
        def lineReceived(self, line: bytes) -> Any:
            super().lineReceived(line)
            return "stop" if line == b"stop" else None

    p = Stopper()
    connect(p)
    assert p.dataReceived(b"a\r\nstop\r\nb\r\n") == "stop"
    assert p.lines == [b"a", b"stop"]
    assert p.clearLineBuffer() == b"b\r\n"


def test_exception_in_lineReceived_keeps_the_rest_buffered() -> None:
    class Boom(Lines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            if line == b"boom":
                raise ValueError(line)

    p = Boom()
    connect(p)
    with pytest.raises(ValueError):
        p.dataReceived(b"boom\r\nafter\r\n")
    p.dataReceived(b"")
    assert p.lines == [b"boom", b"after"]


def test_lineReceived_must_be_overridden() -> None:
    p = basic.LineReceiver()
    connect(p)
    with pytest.raises(NotImplementedError):
        p.dataReceived(b"x\r\n")


# LineOnlyReceiver ----------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [b"\r\n", b"\n", b"+++"])
def test_line_only_every_split(delimiter: bytes) -> None:
    lines = [b"one", b"", b"two\r", b"three"]
    data = b"".join(line + delimiter for line in lines) + b"tail"
    for chunks in chunkings(data):
        p = OnlyLines()
        p.delimiter = delimiter
        connect(p)
        feed(p, chunks)
        assert p.lines == lines, chunks


def test_line_only_sendLine_and_close_on_long_line() -> None:
    p = OnlyLines()
    p.MAX_LENGTH = 4
    t = connect(p)
    p.sendLine(b"hi")
    assert t.value() == b"hi\r\n"
    p.dataReceived(b"ok\r\ntoolong\r\nlater\r\n")
    assert p.lines == [b"ok"]
    assert p.exceeded == [b"toolong"]
    assert t.disconnecting
    p.dataReceived(b"x\r\n")
    assert p.lines == [b"ok"]


def test_line_only_stops_after_loseConnection() -> None:
    class Quitter(OnlyLines):
        def lineReceived(self, line: bytes) -> None:
            super().lineReceived(line)
            self.transport.loseConnection()

    p = Quitter()
    connect(p)
    p.dataReceived(b"a\r\nb\r\n")
    assert p.lines == [b"a"]


# NetstringReceiver -----------------------------------------------------------------


def test_netstrings_every_split() -> None:
    payloads = [b"hello", b"", b"a,b:c", b"9" * 12]
    data = b"".join(netstring(p) for p in payloads)
    for chunks in chunkings(data):
        p = Netstrings()
        t = connect(p)
        feed(p, chunks)
        assert p.strings == payloads, chunks
        assert not t.disconnecting


def test_netstrings_random_chunks() -> None:
    rng = random.Random(99)
    payloads = [rng.randbytes(rng.randint(0, 300)) for _ in range(300)]
    data = b"".join(netstring(p) for p in payloads)
    for _ in range(20):
        p = Netstrings()
        connect(p)
        feed(p, randomChunks(data, rng, biggest=500))
        assert p.strings == payloads


def test_sendString_writes_a_netstring() -> None:
    p = Netstrings()
    t = connect(p)
    p.sendString(b"abc")
    p.sendString(b"")
    assert t.value() == b"3:abc,0:,"


@pytest.mark.parametrize(
    "bad",
    [
        b"x:abc,",
        b":abc,",
        b"01:a,",
        b"00:,",
        b"-1:a,",
        b" 3:abc,",
        b"3 :abc,",
        b"3:abcd",
        b"3:abc;",
        b"100000:",
        b"1234567890",
        b"\xd9\xa3:abc,",  # a non-ASCII digit
    ],
)
def test_malformed_netstring_closes_the_connection(bad: bytes) -> None:
    data = netstring(b"good") + bad + netstring(b"never")
    for chunks in chunkings(data, maxCuts=1):
        p = Netstrings()
        t = connect(p)
        feed(p, chunks)
        assert p.strings == [b"good"], chunks
        assert t.disconnecting
        assert p.brokenPeer
        assert isinstance(p.parseError, basic.NetstringParseError)
        assert str(p.parseError)


def test_netstring_length_over_MAX_LENGTH_fails_before_the_payload() -> None:
    p = Netstrings()
    p.MAX_LENGTH = 50
    t = connect(p)
    p.dataReceived(b"51")
    assert t.disconnecting
    assert "51" in str(p.parseError)
    assert "MAX_LENGTH" in str(p.parseError)


def test_netstring_at_MAX_LENGTH_is_accepted() -> None:
    p = Netstrings()
    p.MAX_LENGTH = 50
    t = connect(p)
    p.dataReceived(netstring(b"z" * 50))
    assert p.strings == [b"z" * 50]
    assert not t.disconnecting


def test_endless_netstring_header_is_rejected_early() -> None:
    p = Netstrings()
    t = connect(p)
    for _ in range(1000):
        p.dataReceived(b"1")
        assert p._partsLen + len(p._buffer) <= 6
    assert t.disconnecting


def test_netstring_payload_buffer_is_bounded() -> None:
    p = Netstrings()
    connect(p)
    p.dataReceived(b"99999:")
    for _ in range(200):
        p.dataReceived(b"a" * 1000)
        assert p._partsLen + len(p._buffer) <= 99999 + 1000
    assert p.strings == []
    assert p.brokenPeer


# Int-prefixed receivers -----------------------------------------------------------


@pytest.mark.parametrize(("cls", "fmt"), [(Int32s, "!I"), (Int16s, "!H"), (Int8s, "!B")])
def test_int_prefixed_every_split(cls: type[Any], fmt: str) -> None:
    payloads = [b"abc", b"", b"\x00\x01\x02", b"q" * 9]
    data = b"".join(struct.pack(fmt, len(p)) + p for p in payloads)
    for chunks in chunkings(data):
        p = cls()
        connect(p)
        feed(p, chunks)
        assert p.strings == payloads, chunks


def test_int32_random_chunks_and_sendString_roundtrip() -> None:
    rng = random.Random(7)
    sender = Int32s()
    out = connect(sender)
    payloads = [rng.randbytes(rng.randint(0, 2000)) for _ in range(200)]
    for payload in payloads:
        sender.sendString(payload)
    p = Int32s()
    connect(p)
    feed(p, randomChunks(out.value(), rng, biggest=3000))
    assert p.strings == payloads


def test_int32_length_over_MAX_LENGTH_closes_and_ignores_the_rest() -> None:
    p = Int32s()
    p.MAX_LENGTH = 10
    t = connect(p)
    p.dataReceived(struct.pack("!I", 2) + b"ok" + struct.pack("!I", 11) + b"x" * 11)
    assert p.strings == [b"ok"]
    assert p.exceeded == [11]
    assert t.disconnecting
    p.dataReceived(struct.pack("!I", 1) + b"y")
    assert p.strings == [b"ok"]
    assert p.recvd == b""


@pytest.mark.parametrize("cls", [basic.Int32StringReceiver, basic.Int8StringReceiver])
def test_recvd_holds_the_offending_frame_during_lengthLimitExceeded(cls: type[Any]) -> None:
    # As in Twisted: recvd is everything not yet parsed, the too-long frame first.
    seen: list[tuple[int, bytes]] = []

    class Receiver(cls):  # type: ignore[misc, valid-type]
        MAX_LENGTH = 7

        def stringReceived(self, string: bytes) -> None:
            seen.append((-1, string))

        def lengthLimitExceeded(self, length: int) -> None:
            seen.append((length, self.recvd))
            super().lengthLimitExceeded(length)

    fmt = "!" + cls.structFormat.lstrip("!")
    ok, tooLong = struct.pack(fmt, 2) + b"ok", struct.pack(fmt, 8) + b"too long"
    p = Receiver()
    t = connect(p)
    p.dataReceived(ok + tooLong + b"more")
    assert seen == [(-1, b"ok"), (8, tooLong + b"more")]
    assert t.disconnecting and p.recvd == b""
    # The prefix completed by a later read: recvd holds what has arrived.
    seen.clear()
    p = Receiver()
    t = connect(p)
    split = cls.prefixLength - 1  # the prefix is complete with the second read
    p.dataReceived(ok + tooLong[:split])
    p.dataReceived(tooLong[split:6])
    assert seen == [(-1, b"ok"), (8, tooLong[:6])]
    assert t.disconnecting and p.recvd == b""


def test_int32_huge_prefix_never_waits_for_the_payload() -> None:
    p = Int32s()
    t = connect(p)
    p.dataReceived(b"\xff\xff")
    assert not t.disconnecting
    p.dataReceived(b"\xff\xff")
    assert t.disconnecting
    assert p.exceeded == [0xFFFFFFFF]


def test_int16_sendString_too_long() -> None:
    p = Int16s()
    t = connect(p)
    p.sendString(b"a" * 0xFFFF)
    assert t.value()[:2] == b"\xff\xff"
    with pytest.raises(basic.StringTooLongError) as caught:
        p.sendString(b"a" * 0x10000)
    assert "65536" in str(caught.value)


def test_int8_sendString_limits() -> None:
    p = Int8s()
    t = connect(p)
    p.sendString(b"x" * 255)
    assert t.value() == b"\xff" + b"x" * 255
    with pytest.raises(basic.StringTooLongError):
        p.sendString(b"x" * 256)


def test_recvd_shows_and_replaces_unparsed_input() -> None:
    class Rewriter(Int8s):
        seen: list[bytes]

        def stringReceived(self, string: bytes) -> None:
            super().stringReceived(string)
            self.seen.append(self.recvd)
            if string == b"swap":
                self.recvd = b"\x03new"

    p = Rewriter()
    p.seen = []
    connect(p)
    p.dataReceived(b"\x04swap\x03old\x02")
    assert p.strings == [b"swap", b"new"]
    assert p.seen == [b"\x03old\x02", b""]
    p.dataReceived(b"\x01z")
    assert p.strings == [b"swap", b"new", b"z"]
    p.dataReceived(b"\x05ab")
    assert p.recvd == b"\x05ab"


def test_int_prefixed_pausing() -> None:
    class Pausing(Int8s):
        def stringReceived(self, string: bytes) -> None:
            super().stringReceived(string)
            if string == b"p":
                self.pauseProducing()

    p = Pausing()
    t = connect(p)
    p.dataReceived(b"\x01a\x01p\x01b")
    assert p.strings == [b"a", b"p"]
    assert t.producerState == "paused"
    p.dataReceived(b"\x01c\x02d")
    p.resumeProducing()
    assert p.strings == [b"a", b"p", b"b", b"c"]
    p.dataReceived(b"e")
    assert p.strings == [b"a", b"p", b"b", b"c", b"de"]


def test_custom_struct_format() -> None:
    class LittleEndian(Strings, basic.IntNStringReceiver):
        structFormat = "<I"
        prefixLength = 4

        def __init__(self) -> None:
            self.strings = []

    p = LittleEndian()
    t = connect(p)
    p.dataReceived(b"\x02\x00\x00\x00hi")
    p.sendString(b"yo")
    assert p.strings == [b"hi"]
    assert t.value() == b"\x02\x00\x00\x00yo"


def test_int_prefixed_buffer_is_bounded_by_MAX_LENGTH() -> None:
    p = Int32s()
    connect(p)
    p.dataReceived(struct.pack("!I", p.MAX_LENGTH))
    for _ in range(200):
        p.dataReceived(b"a" * 1000)
        assert p._partsLen + len(p._buffer) <= 4 + p.MAX_LENGTH + 1000
    assert len(p.strings) == 1


# StatefulStringProtocol and FileSender ---------------------------------------------


def test_stateful_string_protocol_dispatches_and_closes_on_done() -> None:
    class Chat(basic.StatefulStringProtocol, Netstrings):
        def proto_init(self, string: bytes) -> str:
            self.strings.append(b"init:" + string)
            return "talk"

        def proto_talk(self, string: bytes) -> str:
            self.strings.append(b"talk:" + string)
            return "done" if string == b"bye" else "talk"

    p = Chat()
    t = connect(p)
    p.dataReceived(netstring(b"hi") + netstring(b"yo") + netstring(b"bye"))
    assert p.strings == [b"init:hi", b"talk:yo", b"talk:bye"]
    assert t.disconnecting


def test_file_sender_writes_the_file_and_fires() -> None:
    pytest.importorskip("torsion.defer")
    consumer = StringTransport()
    data = bytes(range(256)) * 200
    sender = basic.FileSender()
    sender.CHUNK_SIZE = 1000
    d = sender.beginFileTransfer(io.BytesIO(data), consumer, lambda b: b.upper())
    results: list[bytes] = []
    d.addCallback(results.append)
    assert consumer.producer is sender
    assert consumer.streaming is False
    while consumer.producer is not None:
        sender.resumeProducing()
    assert consumer.value() == data.upper()
    assert results == [data.upper()[-1:]]


def test_file_sender_stopProducing_fails_the_deferred() -> None:
    pytest.importorskip("torsion.defer")
    consumer = StringTransport()
    sender = basic.FileSender()
    d = sender.beginFileTransfer(io.BytesIO(b"abc"), consumer)
    errors: list[Any] = []
    d.addErrback(errors.append)
    sender.stopProducing()
    assert len(errors) == 1
    assert "stop" in errors[0].getErrorMessage()


# Differential test against Twisted --------------------------------------------------


def _twistedClasses() -> Any:
    twisted_basic = pytest.importorskip("twisted.protocols.basic")
    twisted_testing = pytest.importorskip("twisted.internet.testing")
    return twisted_basic, twisted_testing.StringTransport


def _recorder(base: type[Any], callback: str) -> type[Any]:
    """A subclass of ``base`` recording frames delivered while the transport is open."""

    def record(self: Any, frame: bytes) -> None:
        if not self.transport.disconnecting:
            self.frames.append(frame)

    return type("Recorder", (base,), {callback: record, "frames": None})


def _run(cls: type[Any], transportClass: type[Any], chunks: list[bytes]) -> tuple[Any, ...]:
    p = cls()
    p.frames = []
    p.MAX_LENGTH = 64
    transport = transportClass()
    p.makeConnection(transport)
    for chunk in chunks:
        p.dataReceived(chunk)
    return p.frames, transport.disconnecting


def _randomStream(kind: str, rng: random.Random) -> bytes:
    pieces = []
    for _ in range(rng.randint(1, 30)):
        size = rng.choice([0, 1, 5, 20, 63, 64, 65, 70])
        payload = bytes(rng.choices(b"ab\r\n:,0123456789", k=size))
        if kind == "line":
            pieces.append(payload.replace(b"\r\n", b"") + b"\r\n")
        elif kind == "int32":
            pieces.append(struct.pack("!I", len(payload)) + payload)
        else:
            pieces.append(netstring(payload))
        if rng.random() < 0.05:  # occasional garbage
            pieces.append(bytes(rng.choices(b"x:,5\r\n\xff", k=rng.randint(1, 6))))
    return b"".join(pieces)


@pytest.mark.twisted_oracle
@pytest.mark.parametrize(
    ("kind", "name", "callback"),
    [
        ("line", "LineReceiver", "lineReceived"),
        ("int32", "Int32StringReceiver", "stringReceived"),
        ("netstring", "NetstringReceiver", "stringReceived"),
    ],
)
def test_matches_twisted(kind: str, name: str, callback: str) -> None:
    twisted_basic, TwistedTransport = _twistedClasses()
    ours = _recorder(getattr(basic, name), callback)
    theirs = _recorder(getattr(twisted_basic, name), callback)
    rng = random.Random(f"{kind}-2024")
    closed = 0
    for _ in range(300):
        stream = _randomStream(kind, rng)
        chunks = randomChunks(stream, rng, biggest=rng.choice([1, 3, 17, 100]))
        expected = _run(theirs, TwistedTransport, chunks)
        assert _run(ours, StringTransport, chunks) == expected, (stream, chunks)
        closed += expected[1]
    assert 0 < closed < 300  # both outcomes were exercised


def _scripted(base: type[Any]) -> type[Any]:
    """A LineReceiver that pauses on lines starting with ``p`` and reads ``N`` raw bytes
    after a line of digits ``N``: the same script run on torsion's and Twisted's class."""

    class Scripted(base):  # type: ignore[misc, valid-type]
        def connectionMade(self) -> None:
            self.events: list[tuple[str, bytes]] = []
            self.remaining = 0

        def lineReceived(self, line: bytes) -> None:
            self.events.append(("line", line))
            if line.startswith(b"p"):
                self.pauseProducing()
            elif line.isdigit() and int(line):
                self.remaining = int(line)
                self.setRawMode()

        def rawDataReceived(self, data: bytes) -> None:
            body, rest = data[: self.remaining], data[self.remaining :]
            self.remaining -= len(body)
            self.events.append(("raw", body))
            if not self.remaining:
                self.setLineMode(rest)

    return Scripted


@pytest.mark.twisted_oracle
def test_pausing_and_mode_switching_match_twisted() -> None:
    twisted_basic, TwistedTransport = _twistedClasses()
    rng = random.Random("script")
    pieces = [b"a\r\n", b"pause\r\n", b"3\r\nxyz", b"12\r\n\r\n\r\np\r\n1234", b"\r\n", b"zz"]

    def run(cls: type[Any], transportClass: type[Any], chunks: list[bytes]) -> Any:
        p = cls()
        transport = transportClass()
        p.makeConnection(transport)
        for chunk in chunks:
            p.dataReceived(chunk)
            if p.paused and rng.random() < 0.7:
                p.resumeProducing()
        while p.paused:
            p.resumeProducing()
        # Raw chunks may be cut differently; compare them joined.
        merged: list[tuple[str, bytes]] = []
        for kind, data in p.events:
            if merged and kind == "raw" == merged[-1][0]:
                merged[-1] = ("raw", merged[-1][1] + data)
            else:
                merged.append((kind, data))
        return merged

    for _ in range(300):
        stream = b"".join(rng.choices(pieces, k=rng.randint(1, 25)))
        chunks = randomChunks(stream, rng, biggest=rng.choice([1, 4, 30]))
        state = rng.getstate()
        expected = run(_scripted(twisted_basic.LineReceiver), TwistedTransport, chunks)
        rng.setstate(state)  # the same resume decisions for both
        assert run(_scripted(basic.LineReceiver), StringTransport, chunks) == expected, chunks
