"""The web service's HTTP connections, driven through an in-memory transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("h11")

from torsion.services.web._channel import CHUNK, WebFactory
from torsion.services.web._site import StaticSite
from torsion.testing import MemoryReactorClock, StringTransport

BIG = bytes(range(256)) * 2048  # 512 KiB: streamed, not cached


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def parseResponses(data: bytes, heads: int = 0) -> list[Response]:
    """Split ``data`` into responses (the first ``heads`` answer HEAD requests)."""
    responses = []
    while data:
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if len(responses) < heads or status == 304:
            length = 0
        body, data = data[:length], data[length:]
        responses.append(Response(status, headers, body))
    return responses


class Transport(StringTransport):
    """Pauses its producer once more than ``limit`` bytes are unread, like a real one."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.limit = limit
        self.unread = 0
        self.paused = False

    def write(self, data: bytes) -> None:
        super().write(data)
        self.unread += len(data)
        if self.limit is not None and self.unread > self.limit and not self.paused:
            self.paused = True
            self.producer.pauseProducing()

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    @property
    def closing(self) -> bool:
        """Closed or closing (a lingering close half-closes first)."""
        return self.disconnecting or self.writeDisconnected

    def drain(self) -> None:
        """The peer read everything: resume a paused producer."""
        self.unread = 0
        if self.paused:
            self.paused = False
            if self.producer is not None:
                self.producer.resumeProducing()


@pytest.fixture
def site(tmp_path: Path) -> StaticSite:
    (tmp_path / "hello.txt").write_bytes(b"hello\n")
    (tmp_path / "big.bin").write_bytes(BIG)
    return StaticSite(str(tmp_path))


def connect(site: StaticSite, transport: Transport | None = None, **kw: Any) -> Any:
    """A channel connected to ``transport``; its factory's reactor is a MemoryReactorClock."""
    clock = MemoryReactorClock()
    factory = WebFactory(clock, site, **kw)
    channel = factory.buildProtocol(None)
    channel.factory = factory
    transport = transport or Transport()
    channel.makeConnection(transport)
    return channel, transport


def get(path: str, *extra: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_get_and_keep_alive(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt"))
    channel.dataReceived(get("/hello.txt"))
    first, second = parseResponses(transport.value())
    assert (first.status, first.body) == (200, b"hello\n")
    assert first.headers["content-type"] == "text/plain"
    assert first.headers["server"].startswith("torsion/")
    assert "date" in first.headers and "last-modified" in first.headers
    assert second.body == b"hello\n"
    assert not transport.closing


def test_pipelined_requests_answered_in_order(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt") + get("/missing") + get("/hello.txt", method="HEAD"))
    responses = parseResponses(transport.value())
    assert [r.status for r in responses] == [200, 404, 200]
    assert responses[2].body == b""
    assert responses[2].headers["content-length"] == "6"


def test_request_split_across_reads(site: StaticSite) -> None:
    channel, transport = connect(site)
    request = get("/hello.txt")
    for i in range(len(request)):
        channel.dataReceived(request[i : i + 1])
    assert parseResponses(transport.value())[0].body == b"hello\n"


def test_connection_close_and_http10(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt", "Connection: close"))
    assert parseResponses(transport.value())[0].headers["connection"] == "close"
    assert transport.closing
    channel, transport = connect(site)
    channel.dataReceived(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert parseResponses(transport.value())[0].body == b"hello\n"
    assert transport.closing


def test_other_methods_are_refused(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt", "Content-Length: 3", method="POST") + b"abc")
    response = parseResponses(transport.value())[0]
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert not transport.closing  # the body was read: the connection goes on


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/", "Content-Length: 99999999", method="POST"), 413),
        (get("/", "X-Big: " + "x" * 20000), 431),
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
    ],
)
def test_bad_requests_get_a_final_error(
    site: StaticSite, request_bytes: bytes, status: int
) -> None:
    channel, transport = connect(site)
    channel.dataReceived(request_bytes)
    response = parseResponses(transport.value())[0]
    assert response.status == status
    assert response.headers["connection"] == "close"
    assert transport.closing


def test_chunked_body_over_the_limit(site: StaticSite) -> None:
    channel, transport = connect(site, maxBodyBytes=10)
    channel.dataReceived(get("/", "Transfer-Encoding: chunked", method="POST"))
    channel.dataReceived(b"8\r\n12345678\r\n8\r\n12345678\r\n")
    assert parseResponses(transport.value())[0].status == 413
    assert transport.closing


def test_idle_connection_is_closed(site: StaticSite) -> None:
    channel, transport = connect(site, timeout=5)
    clock = channel.factory.reactor
    channel.dataReceived(get("/hello.txt"))
    clock.advance(4)
    assert not transport.closing
    channel.dataReceived(get("/hello.txt"))  # progress: the timer starts again
    clock.advance(4)
    assert not transport.closing
    clock.advance(2)
    assert transport.closing
    assert [r.status for r in parseResponses(transport.value())] == [200, 200]


def test_trickled_request_times_out_with_408(site: StaticSite) -> None:
    channel, transport = connect(site, timeout=5)
    clock = channel.factory.reactor
    for byte in get("/hello.txt")[:20]:
        channel.dataReceived(bytes([byte]))
        clock.advance(1)  # bytes arrive, but no request completes
    assert transport.closing
    assert parseResponses(transport.value())[0].status == 408


def test_large_file_streams_under_backpressure(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    channel.dataReceived(get("/big.bin") + get("/hello.txt"))
    assert transport.paused
    assert len(transport.value()) < 3 * CHUNK  # the rest waits on disk
    rounds = 0
    while transport.paused:
        transport.drain()
        rounds += 1
    assert rounds >= 3
    big, hello = parseResponses(transport.value())
    assert big.body == BIG
    assert big.headers["content-length"] == str(len(BIG))
    assert hello.body == b"hello\n"  # the pipelined request waited its turn
    assert transport.producer is channel


def test_range_and_head_of_a_streamed_file(site: StaticSite) -> None:
    channel, transport = connect(site)

    def ask(request: bytes, heads: int = 0) -> Response:
        transport.clear()
        channel.dataReceived(request)
        return parseResponses(transport.value(), heads)[0]

    partial = ask(get("/big.bin", "Range: bytes=1000-1999"))
    head = ask(get("/big.bin", method="HEAD"), heads=1)
    unsatisfiable = ask(get("/big.bin", "Range: bytes=999999999-"))
    assert partial.status == 206
    assert partial.body == BIG[1000:2000]
    assert partial.headers["content-range"] == f"bytes 1000-1999/{len(BIG)}"
    assert head.status == 200 and head.body == b""
    assert head.headers["content-length"] == str(len(BIG))
    assert unsatisfiable.status == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{len(BIG)}"


def test_not_modified(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt"))
    first = parseResponses(transport.value())[0]
    transport.clear()
    channel.dataReceived(get("/hello.txt", f"If-Modified-Since: {first.headers['last-modified']}"))
    channel.dataReceived(get("/hello.txt", f"If-None-Match: {first.headers['etag']}"))
    responses = parseResponses(transport.value())
    assert [r.status for r in responses] == [304, 304]
    assert all(r.body == b"" and "content-length" not in r.headers for r in responses)


def test_graceful_stop(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.stopGracefully()
    assert transport.closing  # idle: closed at once
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    channel.dataReceived(get("/big.bin"))
    channel.stopGracefully()
    assert not transport.closing  # the response goes on
    while transport.paused:
        transport.drain()
    assert parseResponses(transport.value())[0].body == BIG
    assert transport.closing


def test_stalled_reader_is_dropped_after_the_timeout(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport, timeout=5)
    clock = channel.factory.reactor
    channel.dataReceived(get("/big.bin"))
    clock.advance(6)
    assert transport.disconnected  # aborted: the peer stopped reading


def test_connection_lost_mid_stream_closes_the_file(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    clock = channel.factory.reactor
    channel.dataReceived(get("/big.bin"))
    body = channel._body
    assert body is not None
    channel.connectionLost(None)
    assert body.file.closed
    assert not clock.getDelayedCalls()


def streamingSite(tmp_path: Path) -> StaticSite:
    """Every file is streamed from disk (none is kept in memory)."""
    return StaticSite(str(tmp_path), maxCachedFile=-1)


def test_many_pipelined_streamed_files_are_answered_without_recursion(
    tmp_path: Path, site: StaticSite
) -> None:
    site = streamingSite(tmp_path)
    channel, transport = connect(site)  # a transport that never pauses
    count = 2000  # each streamed response used to nest a few frames deeper
    channel.dataReceived(get("/hello.txt") * count)
    for _ in range(count):
        if channel._later is None:
            break
        channel.factory.reactor.advance(0)
    responses = parseResponses(transport.value())
    assert len(responses) == count
    assert all(r.status == 200 and r.body == b"hello\n" for r in responses)
    assert not transport.closing
    assert channel._body is None


def test_pipelined_requests_behind_a_paused_response(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport, maxPipelined=4)
    channel.dataReceived(get("/big.bin"))
    assert transport.paused
    assert transport.producerState == "producing"  # still reading: a reset would be seen
    channel.dataReceived(get("/hello.txt") * 3)
    assert transport.producerState == "producing"
    channel.dataReceived(get("/hello.txt"))
    assert transport.producerState == "paused"  # 4 wait: read no more
    while transport.paused:
        transport.drain()
    responses = parseResponses(transport.value())
    assert [r.status for r in responses] == [200] * 5
    assert responses[0].body == BIG and responses[4].body == b"hello\n"
    assert transport.producerState == "producing"  # all answered: reading again


def test_read_ahead_is_bounded_in_bytes_too(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport, maxHeaderBytes=1000)
    channel.dataReceived(get("/big.bin"))
    channel.dataReceived(get("/", "Content-Length: 1000", method="POST") + b"x" * 1000)
    assert transport.producerState == "paused"
    while transport.paused:
        transport.drain()
    assert [r.status for r in parseResponses(transport.value())] == [200, 405]
    assert transport.producerState == "producing"


def test_half_closed_peer_gets_every_answer(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    channel.dataReceived(get("/big.bin") + get("/hello.txt"))
    channel.readConnectionLost()
    assert not transport.closing
    while transport.paused:
        transport.drain()
    big, hello = parseResponses(transport.value())
    assert big.body == BIG and hello.body == b"hello\n"
    assert transport.closing  # then it closes
    channel, transport = connect(site)
    channel.readConnectionLost()  # nothing asked
    assert transport.closing and transport.value() == b""


def test_half_close_in_the_middle_of_a_request(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(b"GET /hello.txt HTTP/1.1\r\nHo")
    channel.readConnectionLost()
    assert parseResponses(transport.value())[0].status == 400
    assert transport.closing


@pytest.mark.parametrize(
    ("method", "status"),
    [
        *[(m, 405) for m in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH")],
        ("BREW", 501),
        ("M-SEARCH", 501),
    ],
)
def test_methods_other_than_get_and_head(site: StaticSite, method: str, status: int) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt", method=method) + get("/hello.txt"))
    refused, served = parseResponses(transport.value())
    assert refused.status == status
    assert ("allow" in refused.headers) == (status == 405)
    assert served.body == b"hello\n"  # the connection goes on
    assert not transport.closing


def test_connect_is_refused_and_the_connection_closed(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(
        b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n\x16\x03\x01tls"
    )
    (response,) = parseResponses(transport.value())
    assert response.status == 405
    assert response.headers["connection"] == "close"
    assert transport.closing


def test_unsupported_http_version(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(b"GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n")
    assert parseResponses(transport.value())[0].status == 400
    assert transport.closing


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/hello.txt", *[f"X-{i}: {i}" for i in range(10)]), 200),
        (get("/hello.txt", *[f"X-{i}: {i}" for i in range(11)]), 431),
        (get("/hello.txt?" + "a" * 60), 200),
        (get("/hello.txt?" + "a" * 100), 414),
        (b"GET /" + b"a" * 300, 414),  # a line still arriving, past the head's limit
        (get("/hello.txt", "X: " + "a" * 300), 431),
    ],
)
def test_header_count_and_request_line_limits(
    site: StaticSite, request_bytes: bytes, status: int
) -> None:
    channel, transport = connect(
        site, maxHeaderCount=11, maxRequestLine=100, maxHeaderBytes=256
    )  # (Host is one of the headers)
    channel.dataReceived(request_bytes)
    assert parseResponses(transport.value())[0].status == status
    assert transport.closing == (status != 200)


@pytest.mark.parametrize(
    ("header", "status", "span"),
    [
        ("bytes=" + "9" * 5000 + "-", 416, None),
        ("bytes=100-" + "9" * 5000, 206, (100, len(BIG) - 1)),
        ("bytes=-" + "9" * 5000, 206, (0, len(BIG) - 1)),
    ],
)
def test_huge_range_numbers(
    site: StaticSite, header: str, status: int, span: tuple[int, int] | None
) -> None:
    channel, transport = connect(site, maxHeaderBytes=64 * 1024)
    channel.dataReceived(get("/big.bin", f"Range: {header}"))
    response = parseResponses(transport.value())[0]
    assert response.status == status
    if span is not None:
        assert response.body == BIG[span[0] : span[1] + 1]
    assert not transport.closing


def test_stop_producing_drops_the_body(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    channel.dataReceived(get("/big.bin") + get("/hello.txt"))
    body = channel._body
    channel.stopProducing()  # the transport failed
    assert body.file.closed
    transport.drain()  # nothing more is written
    assert len(parseResponses(transport.value())) == 1


def test_closing_lingers(site: StaticSite) -> None:
    channel, transport = connect(site, linger=2)
    clock = channel.factory.reactor
    channel.dataReceived(get("/hello.txt", "Connection: close") + get("/hello.txt"))
    assert transport.writeDisconnected and not transport.disconnecting  # half-closed
    channel.dataReceived(get("/hello.txt") * 100)  # discarded
    assert len(parseResponses(transport.value())) == 1
    channel.writeConnectionLost()  # the response went out: the peer has 2 s to close
    clock.advance(1.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting
    channel.connectionLost(None)
    assert not clock.getDelayedCalls()


def test_lingering_ends_at_the_peers_eof(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(b"BAD REQUEST LINE\r\n\r\n")
    assert transport.writeDisconnected and not transport.disconnecting
    channel.writeConnectionLost()
    channel.readConnectionLost()
    assert transport.disconnecting
    channel.connectionLost(None)
    assert not channel.factory.reactor.getDelayedCalls()


def test_a_stalled_lingering_close_is_aborted(site: StaticSite) -> None:
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport, timeout=5)
    channel.dataReceived(get("/big.bin", "Connection: close"))
    while transport.paused:
        transport.drain()  # the body is written; the transport still holds it
    assert transport.writeDisconnected and not transport.disconnected
    channel.factory.reactor.advance(6)  # the peer takes none of it
    assert transport.disconnected


def test_one_turn_answers_a_bounded_number_of_requests(site: StaticSite) -> None:
    channel, transport = connect(site)  # a transport that never pauses
    clock = channel.factory.reactor
    channel.dataReceived(get("/hello.txt") * 150)
    assert len(parseResponses(transport.value())) == 64  # the rest in later turns
    assert len(clock.getDelayedCalls()) == 2  # the idle timer, and the next turn
    channel.dataReceived(get("/hello.txt"))  # waits its turn, in order
    assert len(parseResponses(transport.value())) == 64
    clock.advance(0)  # (runs the turns that follow too)
    assert len(parseResponses(transport.value())) == 151
    assert channel._later is None and len(clock.getDelayedCalls()) == 1


def test_one_turn_sends_a_bounded_part_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "large.bin").write_bytes(b"z" * (100 * CHUNK))
    channel, transport = connect(StaticSite(str(tmp_path)))
    channel.dataReceived(get("/large.bin"))
    head = len(transport.value()) - 64 * CHUNK
    try:
        assert 0 < head < 1000  # 64 chunks, the rest in a later turn
    finally:
        channel.factory.reactor.advance(0)
    assert len(transport.value()) == head + 100 * CHUNK
    assert channel._body is None


def test_connection_lost_cancels_the_next_turn(site: StaticSite) -> None:
    channel, _ = connect(site)
    channel.dataReceived(get("/hello.txt") * 100)
    assert channel._later is not None
    channel.connectionLost(None)
    assert not channel.factory.reactor.getDelayedCalls()
