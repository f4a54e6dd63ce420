"""A seeded fuzz of the web service: hostile and malformed requests over loopback.

Each case is one connection to a real web service listening on 127.0.0.1: a
``WebFactory`` on the test's reactor (so on every backend), and for a sample of
the cases a ``torsion run web`` subprocess.  The client sends the case's bytes,
then half-closes (or resets, for the cases that say so) and reads until the
server closes.  For every case: each answer has a status the case allows (an
error for a malformed request: 4xx or 501), no file from outside the root or
with a hidden name comes back, and the connection ends with a clean close.
After all of them: nothing was logged at WARNING or above on the ``torsion``
loggers (so no traceback), and the server still answers.

The cases are built by ``cases()`` from a fixed seed: the same every run.
"""

from __future__ import annotations

import logging
import os
import random
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("h11")

from _programs import Program
from torsion import defer, error
from torsion.defer import Deferred
from torsion.endpoints import TCP4ClientEndpoint, connectProtocol
from torsion.failure import Failure
from torsion.protocol import Protocol
from torsion.services.web._channel import WebFactory
from torsion.services.web._site import StaticSite

SEED = 20261203
SECRETS = (b"TOPSECRET", b"DOTSECRET")
#: What a malformed request may get.
ERRORS = frozenset({400, 403, 404, 405, 411, 413, 414, 416, 431, 501})
#: What a request that may happen to be well-formed may get.
ANY = ERRORS | {200, 206, 301, 304}
HUGE = "9" * 5000  # past Python's 4,300-digit limit for int()
STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


@dataclass
class Case:
    name: str
    data: list[bytes]  # written in this many pieces
    allowed: frozenset[int] = ERRORS
    exact: list[int] | None = None  # the statuses, in order, when they are known
    reset: bool = False  # abort after writing instead of half-closing

    def check(self, answer: bytes) -> None:
        statuses = [int(s) for s in STATUS.findall(answer)]
        where = f"{self.name}: {statuses[:20]} {answer[:120]!r}"
        for secret in SECRETS:
            assert secret not in answer, where
        if self.exact is not None:
            assert statuses == self.exact, where
        else:
            assert set(statuses) <= self.allowed, where


def request(method: str, target: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {version}", "Host: fuzz", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def cases() -> list[Case]:
    rng = random.Random(SEED)
    out: list[Case] = []

    def add(name: str, data: bytes | list[bytes], allowed: Any = ERRORS, **kw: Any) -> None:
        pieces = data if isinstance(data, list) else [data]
        out.append(Case(name, pieces, frozenset(allowed), **kw))

    # Every method, on every kind of target.
    methods = [
        *("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"),
        *("PROPFIND", "MKCOL", "LOCK", "BREW", "M-SEARCH", "PRI", "get", "Get", "X" * 300),
        *("G\tET", "GET\x00", "G\xc3\x89T", ""),
    ]
    targets = ["/hello.txt", "/big.bin", "/", "*", "http://fuzz/hello.txt", "example.org:443"]
    for method in methods:
        for target in targets:
            add(f"method {method[:10]!r} {target}", request(method, target), ANY)
    for method in ("POST", "PUT", "PATCH", "BREW"):
        add(
            f"{method} with a body, then a GET",
            request(method, "/hello.txt", "Content-Length: 5") + b"12345" + request("GET", "/"),
            exact=[501 if method == "BREW" else 405, 200],
        )
    add(
        "CONNECT, then tunnel bytes",
        request("CONNECT", "example.org:443") + b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        exact=[405],
    )

    # Traversal, encoded dots, symbolic links, hidden names, NUL, bad encodings.
    for target in [
        *("/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt"),
        *("/sub/..%2f..%2fsecret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/..", "/.%2e/"),
        *("/%252e%252e/secret.txt", "/%c0%ae%c0%ae/secret.txt", "/..%5csecret.txt"),
        *("/escape.txt", "/escape-dir/secret.txt", "/escape-dir/", "//escape.txt"),
        *("/.env", "/%2eenv", "/%2Eenv", "/./.env", "/.//.env", "/sub/../.env", "/.git/config"),
        *("/%2egit/config", "/.git%2fconfig", "/.git/", "/.git", "/sub/.hidden", "/sub/%2ehidden"),
        *("/dotlink", "/gitlink/config", "/gitlink/", "http://fuzz/.env", "/.env?x=/hello.txt"),
        *("/%00", "/hello.txt%00", "/%00/../secret.txt", "/nul%00.txt", "/hello.txt?%00"),
        *("/%", "/%%", "/%zz", "/%2", "/%ff%fe", "/%u002e%u002e/secret.txt", "/%e2%80%ae"),
        *("/hello.txt%20", "/hello.txt%0d%0aX: y", "/a b%c.txt", "/a%20b%25c.txt", "//"),
        *("/" + "a/" * 2000, "/" + "%2e" * 1000, "/" + "x" * 300, "/sub/" + "../" * 50),
    ]:
        add(f"target {target[:40]}", request("GET", target), ANY)
    for raw in (b"/\x00", b"/\xff\xfe", b"/\x7f", b"/a\tb", b"/\x1b[0m", b"/a b"):
        add(f"raw target {raw!r}", b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\n\r\n", ANY)

    # Huge numbers wherever the protocol has numbers.
    for value in (f"bytes={HUGE}-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", f"bytes={HUGE}-{HUGE}"):
        for target in ("/hello.txt", "/big.bin"):
            add(f"Range {value[:12]} {target}", request("GET", target, f"Range: {value}"), ANY)
    add("Range past the end", request("GET", "/big.bin", f"Range: bytes={HUGE}-"), exact=[416])
    for header in [
        f"Content-Length: {HUGE}",
        "Content-Length: -1",
        "Content-Length: 1, 2",
        "Content-Length: 0x10",
        f"If-Modified-Since: Sun, 06 Nov {HUGE} 08:49:37 GMT",
        f"If-Modified-Since: {HUGE}",
        f"If-None-Match: {HUGE}",
        f"If-Range: {HUGE}",
        f"Host: fuzz:{HUGE}",
        "Transfer-Encoding: gzip",
        "Transfer-Encoding: chunked, chunked",
        "Expect: 100-continue",
        "Range: bytes=0-1,2-3,4-5",
        "Range: bytes=--5",
        "Range: bytes=\xff-",
        "Connection: upgrade\r\nUpgrade: websocket",
        "Connection: close, keep-alive",
    ]:
        add(f"header {header[:30]}", request("GET", "/big.bin", header), ANY)
    add(
        "chunk size of 5000 hex digits",
        request("POST", "/", "Transfer-Encoding: chunked") + b"f" * 5000 + b"\r\n",
        exact=[400],
    )
    add(f"HTTP/1.{HUGE[:50]}", request("GET", "/", version="HTTP/1." + HUGE[:50]), exact=[400])

    # Versions, line ends, header syntax.
    for version in ("HTTP/2.0", "HTTP/0.9", "HTTP/9.9", "HTTP/1.x", "HTTP/ 1.1", "http/1.1", ""):
        add(f"version {version!r}", request("GET", "/hello.txt", version=version))
    add("HTTP/1.0", request("GET", "/hello.txt", version="HTTP/1.0"), exact=[200])
    add("bare LF", b"GET /hello.txt HTTP/1.1\nHost: x\n\n", exact=[200])
    add("bare CR", b"GET /hello.txt HTTP/1.1\rHost: x\r\r", ANY)
    add("no Host", b"GET /hello.txt HTTP/1.1\r\n\r\n", exact=[400])
    add("two Hosts", request("GET", "/hello.txt", "Host: other"), exact=[400])
    add("header without colon", request("GET", "/", "NoColon"), exact=[400])
    add("header with NUL", request("GET", "/", "X: a\x00b"), exact=[400])
    add("obsolete folding", request("GET", "/", "X: a", " folded"), ANY)
    add("space before colon", request("GET", "/", "X : a"), exact=[400])
    add("empty header name", request("GET", "/", ": a"), exact=[400])
    add("only blank lines", b"\r\n" * 20000)
    add("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256)))
    add("nothing", b"")
    add("one byte at a time", [bytes([b]) for b in request("GET", "/hello.txt")], exact=[200])

    # Over-long lines and heads, too many headers, large bodies.
    add("request line of 9 KiB", request("GET", "/" + "a" * 9000), exact=[414])
    add("request line of 20 KiB", request("GET", "/" + "a" * 20000), {414, 431})
    add("a 1 MiB line, no end", [b"GET /" + b"a" * 65536] * 16, exact=[414])
    add("a 1 MiB header", [request("GET", "/")[:-2] + b"X: " + b"a" * (1 << 20)], exact=[431])
    add("header of 20 KiB", request("GET", "/", "X: " + "a" * 20000), exact=[431])
    add("200 headers", request("GET", "/", *[f"X-{i}: {i}" for i in range(200)]), exact=[431])
    add("50 headers", request("GET", "/hello.txt", *[f"X-{i}: {i}" for i in range(50)]), [200])
    big = request("POST", "/", "Transfer-Encoding: chunked") + b"10000\r\n" + b"x" * 65536
    add("a 2 MiB chunked body", [big] + [b"\r\n10000\r\n" + b"x" * 65536] * 31, exact=[413])
    add("Content-Length of 2 MiB", request("POST", "/", "Content-Length: 2097152"), exact=[413])

    # Pipelined floods.
    add("500 pipelined GETs", request("GET", "/hello.txt") * 500, exact=[200] * 500)
    add("40 pipelined large files", request("GET", "/big.bin") * 40, exact=[200] * 40)
    mix = [request("GET", t) for t in ("/hello.txt", "/missing", "/sub/", "/sub", "/.env")]
    add("300 mixed, then garbage", b"".join(mix) * 60 + b"BAD\r\n\r\n", ANY)
    add("1000 without Host", b"GET / HTTP/1.1\r\n\r\n" * 1000, exact=[400])
    add("HEAD flood", request("HEAD", "/big.bin") * 300, exact=[200] * 300)
    add("Range flood", request("GET", "/big.bin", "Range: bytes=-10") * 300, exact=[206] * 300)
    for n in (10, 300):
        add(f"{n} large files, then a reset", request("GET", "/big.bin") * n, ANY, reset=True)
    add("a reset at once", request("GET", "/big.bin"), ANY, reset=True)
    add("half a request, then a reset", request("GET", "/hello.txt")[:10], ANY, reset=True)

    # Mutations of well-formed requests (bit flips, cuts, splices).
    seeds = [
        request("GET", "/hello.txt"),
        request("GET", "/big.bin", "Range: bytes=100-200"),
        request("HEAD", "/sub/inner.txt", "If-None-Match: *"),
        request("GET", "/sub", "Connection: close"),
        request("POST", "/", "Content-Length: 3") + b"abc",
        request("POST", "/", "Transfer-Encoding: chunked") + b"3\r\nabc\r\n0\r\n\r\n",
    ]
    tokens = [b"\r\n", b"\n", b"\x00", b"%00", b"%2e%2e/", b"../", b".", b" ", b":", b"\xff"]
    tokens += [HUGE.encode(), b"\r\n\r\n", b"GET / HTTP/1.1\r\n", b"%", b"-", b","]
    for i in range(180):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            op = rng.randrange(4)
            if op == 0 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif op == 1:
                data[at:at] = rng.choice(tokens)
            elif op == 2:
                del data[at : at + rng.randint(1, 8)]
            else:
                data[at:at] = data[rng.randrange(len(data) + 1) :][: rng.randint(1, 40)]
        add(f"mutation {i}", bytes(data), ANY)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A served folder with hidden files, and links out of it and to hidden names."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.txt").write_bytes(b"hello fuzz\n")
    (site / "big.bin").write_bytes(bytes(range(256)) * 1200)  # 300 KiB: streamed
    (site / "a b%c.txt").write_bytes(b"odd name\n")
    (site / "sub").mkdir()
    (site / "sub" / "inner.txt").write_bytes(b"inner\n")
    (site / "sub" / ".hidden").write_bytes(b"DOTSECRET hidden\n")
    (site / ".env").write_bytes(b"DOTSECRET=env\n")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_bytes(b"DOTSECRET git config\n")
    (tmp_path / "secret.txt").write_bytes(b"TOPSECRET outside the root\n")
    os.symlink(tmp_path / "secret.txt", site / "escape.txt")
    os.symlink(tmp_path, site / "escape-dir")
    os.symlink(site / ".env", site / "dotlink")
    os.symlink(site / ".git", site / "gitlink")
    return site


class Recorder(logging.Handler):
    """Keeps the records of WARNING and above, and any with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.exc_info:
            self.records.append(record)


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    recorder = Recorder()
    logger = logging.getLogger("torsion")
    logger.addHandler(recorder)
    try:
        yield recorder.records
    finally:
        logger.removeHandler(recorder)


class Client(Protocol):
    """Sends a case, half-closes (or resets), and collects the answer until the close."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.answer = bytearray()
        self.reason: Failure | None = None
        self.done: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        for piece in self.case.data:
            self.transport.write(piece)
        if self.case.reset:
            self.transport.abortConnection()
        else:
            self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.answer += data

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.reason = reason
        self.done.callback(None)


class Counting(WebFactory):
    """A WebFactory that tells when its connections open, read and close."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.open = 0
        self.channels: list[Any] = []
        self.waiting: list[Deferred[None]] = []
        self.arrivals: list[Deferred[Any]] = []
        self.reads: list[Deferred[None]] = []

    def buildProtocol(self, addr: Any) -> Any:
        channel = super().buildProtocol(addr)
        made, received, lost = channel.connectionMade, channel.dataReceived, channel.connectionLost
        self.open += 1

        def connectionMade() -> None:
            made()
            self.channels.append(channel)
            fire(self.arrivals, channel)

        def dataReceived(data: bytes) -> None:
            received(data)
            fire(self.reads, None)

        def connectionLost(reason: Any = None) -> None:
            lost(reason)
            self.open -= 1
            if not self.open:
                fire(self.waiting, None)

        channel.connectionMade = connectionMade
        channel.dataReceived = dataReceived
        channel.connectionLost = connectionLost
        return channel

    def arrival(self) -> Deferred[Any]:
        """Fires with the next channel once it is connected."""
        d: Deferred[Any] = Deferred()
        self.arrivals.append(d)
        return d

    def read(self) -> Deferred[None]:
        """Fires once a channel has handled the next bytes it reads."""
        d: Deferred[None] = Deferred()
        self.reads.append(d)
        return d

    def allClosed(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self.open:
            self.waiting.append(d)
        else:
            d.callback(None)
        return d


def fire(waiting: list[Deferred[Any]], result: Any) -> None:
    ready = waiting[:]
    del waiting[:]
    for d in ready:
        d.callback(result)


async def play(reactor: Any, port: int, case: Case) -> None:
    client = Client(case)
    await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
    await client.done
    reason = client.reason
    if case.reset:
        return
    assert reason is not None and reason.check(error.ConnectionDone), (case.name, reason)
    case.check(bytes(client.answer))


def test_cases_are_many_and_the_same_every_run() -> None:
    first, second = cases(), cases()
    assert len(first) >= 300
    assert [(c.name, c.data) for c in first] == [(c.name, c.data) for c in second]


def test_fuzz(reactor: Any, run: Any, root: Path, logged: list[logging.LogRecord]) -> None:
    factory = Counting(reactor, StaticSite(str(root)), timeout=10)
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    port = listening.getHost().port
    every = cases()

    async def scenario() -> None:
        for start in range(0, len(every), 25):  # 25 connections at a time
            batch = [defer.ensureDeferred(play(reactor, port, c)) for c in every[start:][:25]]
            await defer.gatherResults(batch, consumeErrors=True)
        # Still up, and every connection of the fuzz is closed.
        after = Case("after", [request("GET", "/hello.txt")], exact=[200])
        await play(reactor, port, after)
        await factory.allClosed()
        await listening.stopListening()

    run(defer.ensureDeferred(scenario()), timeout=60)
    assert not logged, [r.getMessage() for r in logged[:5]]


def test_listing_hides_hidden_names(reactor: Any, run: Any, root: Path) -> None:
    factory = Counting(reactor, StaticSite(str(root)))
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")

    async def scenario() -> bytes:
        client = Client(Case("listing", [request("GET", "/")]))
        await connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", listening.getHost().port), client
        )
        await client.done
        await factory.allClosed()
        await listening.stopListening()
        return bytes(client.answer)

    listing = run(defer.ensureDeferred(scenario()))
    assert listing.startswith(b"HTTP/1.1 200 ")
    assert b'href="hello.txt"' in listing
    for name in (b".env", b".git", b"dotlink", b"gitlink", b"escape", b".hidden"):
        assert name not in listing


# ------------------------------------------------------- torsion run web


def exchange(port: int, case: Case) -> bytes:
    """Play ``case`` with a blocking socket: send, half-close, read to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        for piece in case.data:
            s.sendall(piece)
        s.shutdown(socket.SHUT_WR)
        answer = bytearray()
        while chunk := s.recv(1 << 20):
            answer += chunk
        return bytes(answer)


def test_fuzz_against_the_command(root: Path) -> None:
    server = Program(
        *("-m", "torsion", "run", "web", "--path", str(root)),
        *("--listen", "tcp:0:interface=127.0.0.1", "--log-level", "debug"),
        listening=1,
    )
    try:
        sample = [c for c in cases() if not c.reset][::5]
        for case in sample:
            case.check(exchange(server.port, case))
        assert exchange(server.port, Case("after", [])) == b""
        status, _, log = server.finish(signal.SIGTERM)
    finally:
        server.kill()
    assert status == 0, log
    assert "Traceback" not in log and "ERROR" not in log and "WARNING" not in log, log


def test_hidden_names_and_limits_of_the_command(root: Path) -> None:
    options = ("--max-header-count", "5", "--max-request-line", "100", "--idle-timeout", "0.5")
    server = Program(
        *("-m", "torsion", "run", "web", "--path", str(root), *options),
        *("--listen", "tcp:0:interface=127.0.0.1"),
        listening=1,
    )
    dotted = Program(
        *("-m", "torsion", "run", "web", "--path", str(root), "--allow-dotfiles"),
        *("--listen", "tcp:0:interface=127.0.0.1"),
        listening=1,
    )
    try:

        def status(program: Program, data: bytes) -> int:
            answer = exchange(program.port, Case("", [data]))
            return int(STATUS.findall(answer)[0])

        assert status(server, request("GET", "/.git/config")) == 404
        assert status(dotted, request("GET", "/.git/config")) == 200
        assert status(server, request("GET", "/hello.txt", *["X: 1"] * 4)) == 200
        assert status(server, request("GET", "/hello.txt", *["X: 1"] * 5)) == 431
        assert status(server, request("GET", "/" + "a" * 100)) == 414
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
            s.sendall(b"GET /hello.txt HTTP/1.1\r\n")  # and no more
            assert s.recv(100).startswith(b"HTTP/1.1 408 ")  # after the idle timeout
        for program in (server, dotted):
            assert program.finish(signal.SIGTERM)[0] == 0
    finally:
        server.kill()
        dotted.kill()


# ------------------------------------------------ resets during a download


class Peer(Protocol):
    """A client the test drives; ``lost`` fires when its connection ends."""

    def __init__(self) -> None:
        self.received = 0
        self.lost: Deferred[None] = Deferred()
        self.reading: Deferred[None] | None = None

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if self.reading is not None:
            d, self.reading = self.reading, None
            d.callback(None)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.lost.callback(None)


@pytest.fixture
def bodies(monkeypatch: Any) -> list[Any]:
    """Every file body the web service streams, kept to see how much was read."""
    from torsion.services.web import _channel

    made: list[Any] = []

    class Recorded(_channel._FileBody):
        __slots__ = ()

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(_channel, "_FileBody", Recorded)
    return made


HUGE_FILE = 64 * 1024 * 1024


def pause(reactor: Any, seconds: float) -> Deferred[None]:
    d: Deferred[None] = Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d


async def download(reactor: Any, tmp_path: Path) -> tuple[Counting, Any, Peer, Any]:
    """A server for a 64 MiB file, a client connected to it, and the server's channel."""
    with open(tmp_path / "huge.bin", "wb") as f:
        f.truncate(HUGE_FILE)
    factory = Counting(reactor, StaticSite(str(tmp_path)))
    listening = reactor.listenTCP(0, factory, interface="127.0.0.1")
    arrival = factory.arrival()
    peer = Peer()
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", listening.getHost().port)
    await connectProtocol(endpoint, peer)
    channel = await arrival
    return factory, listening, peer, channel


async def closeAll(factory: Counting, listening: Any, peer: Peer, channel: Any) -> None:
    channel.transport.abortConnection()
    peer.transport.abortConnection()
    await peer.lost
    await factory.allClosed()
    await listening.stopListening()


def test_a_reset_during_a_paused_download_is_seen_at_once(
    reactor: Any, run: Any, tmp_path: Path, bodies: list[Any]
) -> None:
    """The client stops reading, then resets: the server stops reading the file."""

    async def scenario() -> None:
        factory, listening, peer, channel = await download(reactor, tmp_path)
        peer.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        peer.reading = Deferred()
        peer.transport.write(request("GET", "/huge.bin"))
        await peer.reading
        peer.transport.pauseProducing()  # and read no more
        for _ in range(500):  # until the server's queue is full (bounded)
            if channel._paused:
                break
            await pause(reactor, 0.01)
        assert channel._paused
        peer.transport.abortConnection()
        await peer.lost
        await factory.allClosed()  # at once: not after the idle timeout
        await listening.stopListening()

    run(defer.ensureDeferred(scenario()), timeout=10)
    (body,) = bodies
    assert body.file.closed
    assert HUGE_FILE - body.remaining < 16 * 1024 * 1024


def test_a_send_error_during_a_download_costs_a_turn_or_two(
    reactor: Any, run: Any, tmp_path: Path, bodies: list[Any]
) -> None:
    """Every send fails: the server reads a turn's share of the file or two, not 64 MiB."""
    from torsion.services.web._channel import _BURST, CHUNK

    async def scenario() -> None:
        factory, listening, peer, channel = await download(reactor, tmp_path)
        channel.transport.socket.shutdown(socket.SHUT_WR)  # each send now fails
        peer.transport.write(request("GET", "/huge.bin"))
        await factory.allClosed()
        await peer.lost
        await listening.stopListening()

    run(defer.ensureDeferred(scenario()), timeout=10)
    (body,) = bodies
    assert body.file.closed
    assert HUGE_FILE - body.remaining <= 2 * _BURST * CHUNK


def test_a_send_error_during_a_download_stops_reading_the_file(
    reactor: Any, run: Any, tmp_path: Path, bodies: list[Any]
) -> None:
    """Every send fails (EPIPE): the server must stop at the first, not read 64 MiB."""

    async def scenario() -> None:
        factory, listening, peer, channel = await download(reactor, tmp_path)
        channel.transport.socket.shutdown(socket.SHUT_WR)  # each send now fails
        handled = factory.read()
        peer.transport.write(request("GET", "/huge.bin"))
        await handled
        await closeAll(factory, listening, peer, channel)

    run(defer.ensureDeferred(scenario()), timeout=10)
    (body,) = bodies
    assert HUGE_FILE - body.remaining <= 2 * 128 * 1024
