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

    def drain(self) -> None:
        """The peer read everything: resume a paused producer."""
        self.unread = 0
        if self.paused and self.producer is not None:
            self.paused = False
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
    assert not transport.disconnecting


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
    assert transport.disconnecting
    channel, transport = connect(site)
    channel.dataReceived(b"GET /hello.txt HTTP/1.0\r\n\r\n")
    assert parseResponses(transport.value())[0].body == b"hello\n"
    assert transport.disconnecting


def test_other_methods_are_refused(site: StaticSite) -> None:
    channel, transport = connect(site)
    channel.dataReceived(get("/hello.txt", "Content-Length: 3", method="POST") + b"abc")
    response = parseResponses(transport.value())[0]
    assert response.status == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert not transport.disconnecting  # the body was read: the connection goes on


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
    assert transport.disconnecting


def test_chunked_body_over_the_limit(site: StaticSite) -> None:
    channel, transport = connect(site, maxBodyBytes=10)
    channel.dataReceived(get("/", "Transfer-Encoding: chunked", method="POST"))
    channel.dataReceived(b"8\r\n12345678\r\n8\r\n12345678\r\n")
    assert parseResponses(transport.value())[0].status == 413
    assert transport.disconnecting


def test_idle_connection_is_closed(site: StaticSite) -> None:
    channel, transport = connect(site, timeout=5)
    clock = channel.factory.reactor
    channel.dataReceived(get("/hello.txt"))
    clock.advance(4)
    assert not transport.disconnecting
    channel.dataReceived(get("/hello.txt"))  # progress: the timer starts again
    clock.advance(4)
    assert not transport.disconnecting
    clock.advance(2)
    assert transport.disconnecting
    assert [r.status for r in parseResponses(transport.value())] == [200, 200]


def test_trickled_request_times_out_with_408(site: StaticSite) -> None:
    channel, transport = connect(site, timeout=5)
    clock = channel.factory.reactor
    for byte in get("/hello.txt")[:20]:
        channel.dataReceived(bytes([byte]))
        clock.advance(1)  # bytes arrive, but no request completes
    assert transport.disconnecting
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
    assert transport.disconnecting  # idle: closed at once
    transport = Transport(limit=CHUNK)
    channel, transport = connect(site, transport)
    channel.dataReceived(get("/big.bin"))
    channel.stopGracefully()
    assert not transport.disconnecting  # the response goes on
    while transport.paused:
        transport.drain()
    assert parseResponses(transport.value())[0].body == BIG
    assert transport.disconnecting


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
