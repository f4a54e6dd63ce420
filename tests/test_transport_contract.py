"""The stream transport contract, checked on every kind of stream transport and backend.

Every stream transport torsion gives a protocol -- TCP, UNIX (plain reads,
and the recvmsg reads a protocol taking descriptors gets), TLS over TCP and
over UNIX, a child process's pipes, and stdio -- keeps one contract, so each
test here runs over every kind (``_pairs.makePair``) on every backend:

1. Bytes arrive whole and in order, both ways at once, however the writer
   splits them into ``write`` and ``writeSequence`` calls, large ones included.
2. ``loseConnection()`` sends everything written before it, then closes; each
   side's ``connectionLost`` runs exactly once, with ConnectionDone.
3. Half-close (kinds that have it): ``loseWriteConnection()`` flushes and sends
   EOF; the peer's ``readConnectionLost`` runs and it may go on writing; the
   closing side gets ``writeConnectionLost``.  At EOF a protocol without
   ``readConnectionLost`` is closed with ConnectionDone.
4. ``abortConnection()`` closes at once: ConnectionAborted here, nothing
   written after it reaches the peer, and a ``loseConnection()`` after it
   changes nothing.
5. Producers: a streaming producer is paused while the peer does not read and
   resumed once it drains; a pull producer is asked for more each time the
   queue empties, and ``loseConnection()`` waits for it to unregister.
6. After ``connectionLost``, writes are ignored and a producer registered is
   stopped at once.
7. A send error (the peer reset or vanished) is never swallowed: the
   connection fails promptly with ConnectionLost carrying the errno (a
   process reports its exit instead), a registered producer -- push, pull or
   a FileSender -- is stopped, nothing more is accepted, and the closed
   connection is freed without the cycle collector.

Transport-specific behaviour (addresses, options, descriptor passing, TLS
verification, process exit codes ...) is tested in each transport's own file.
"""

from __future__ import annotations

import errno
import gc
import random
import weakref
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from _pairs import KINDS, SOCKET_KINDS, HalfSide, Pair, Side, makePair
from _peers import PKI, scenario
from torsion import error, task
from torsion.protocols.basic import FileSender

CHUNK = b"c" * 65536


@pytest.fixture(scope="module")
def pki() -> PKI:
    return PKI()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Body = Callable[[Pair], Coroutine[Any, Any, None]]


def contract(
    run: Any,
    reactor: Any,
    kind: str,
    tmp_path: Path,
    pki: PKI,
    body: Body,
    aClass: type[Side] = Side,
    bClass: type[Side] = Side,
) -> None:
    """Connect a pair of ``kind``, run ``body(pair)``, then wait for both ends to close."""

    async def go() -> None:
        pair = await makePair(kind, reactor, tmp_path, pki, aClass, bClass)
        try:
            await body(pair)
            await pair.close()
        finally:
            await pair.cleanup()

    scenario(run, go, timeout=20)


def turn(reactor: Any) -> Any:
    """A Deferred that fires on the next turn of the loop."""
    return task.deferLater(reactor, 0)


def assertClean(*sides: Side) -> None:
    for side in sides:
        assert side.reason is not None and side.reason.check(error.ConnectionDone), side.reason
        assert side.lostCalls == 1


def split(data: bytes, seed: int) -> list[list[bytes]]:
    """``data`` cut into random pieces, grouped for write (one) or writeSequence (several)."""
    rnd = random.Random(seed)
    groups, i = [], 0
    while i < len(data):
        group = []
        for _ in range(rnd.choice((1, 1, 3))):
            n = rnd.randint(1, 16384)
            group.append(data[i : i + n])
            i += n
        groups.append(group)
    return groups


def send(transport: Any, groups: list[list[bytes]]) -> None:
    for group in groups:
        if len(group) == 1:
            transport.write(group[0])
        else:
            transport.writeSequence(group)


def hasReceived(n: int) -> Callable[[Side], bool]:
    return lambda side: len(side.received) >= n


# -- 1. order, size, both ways -------------------------------------------------


def test_bytes_arrive_whole_and_in_order_both_ways_at_once(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    rnd = random.Random(kind)
    there, back = rnd.randbytes(1 << 20), rnd.randbytes(1 << 20)

    async def body(pair: Pair) -> None:
        send(pair.a.transport, split(there, 1))
        send(pair.b.transport, split(back, 2))
        await pair.b.waitFor(hasReceived(len(there)))
        await pair.a.waitFor(hasReceived(len(back)))
        assert bytes(pair.b.received) == there
        assert bytes(pair.a.received) == back
        pair.a.transport.loseConnection()

    contract(run, reactor, kind, tmp_path, pki, body)


def test_write_refuses_what_is_not_bytes(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        t = pair.a.transport
        with pytest.raises(TypeError, match="must be bytes, not str"):
            t.write("text")
        with pytest.raises(TypeError, match=r"^Data must be bytes$"):  # Twisted's text
            t.writeSequence([b"ok", "text"])
        with pytest.raises(TypeError):
            t.write(12)
        t.write(bytearray(b"ba"))
        t.write(memoryview(b"mv"))
        await pair.b.waitFor(b"bamv")
        t.loseConnection()

    contract(run, reactor, kind, tmp_path, pki, body)


# -- 2. loseConnection ----------------------------------------------------------


@pytest.mark.parametrize("closer", ["a", "b"])
def test_lose_connection_sends_everything_then_closes_both_once(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI, closer: str
) -> None:
    big = random.Random(0).randbytes(4 << 20)

    async def body(pair: Pair) -> None:
        side, other = (pair.a, pair.b) if closer == "a" else (pair.b, pair.a)
        side.transport.write(big)
        side.transport.writeSequence([b"the ", b"end"])
        side.transport.loseConnection()
        side.transport.loseConnection()  # twice: no harm
        await pair.close()
        assert bytes(other.received) == big + b"the end"
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body)


# -- 3. half-close --------------------------------------------------------------


@pytest.mark.parametrize("kind", SOCKET_KINDS)
@pytest.mark.parametrize("closer", ["a", "b"])
def test_half_close(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI, closer: str
) -> None:
    async def body(pair: Pair) -> None:
        side, other = (pair.a, pair.b) if closer == "a" else (pair.b, pair.a)
        assert isinstance(side, HalfSide) and isinstance(other, HalfSide)
        side.transport.write(b"ping")
        side.transport.loseWriteConnection()
        side.transport.write(b" dropped?")  # queued before the EOF, or dropped: never after it
        await other.readLost
        assert bytes(other.received) in (b"ping", b"ping dropped?")
        await side.writeLost
        other.transport.write(b"pong")  # the other way stays open
        await side.waitFor(b"pong")
        assert not side.lost.called and not other.lost.called
        other.transport.loseConnection()
        await pair.close()
        assertClean(side, other)
        assert side.events[0] == "writeConnectionLost"
        assert other.events == ["readConnectionLost"]

    contract(run, reactor, kind, tmp_path, pki, body, HalfSide, HalfSide)


@pytest.mark.parametrize("kind", SOCKET_KINDS)
def test_eof_closes_a_protocol_that_cannot_half_close(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        pair.b.transport.write(b"last words")
        pair.b.transport.loseWriteConnection()
        await pair.a.lost  # a (plain) is closed at EOF, after the data
        assert bytes(pair.a.received) == b"last words"
        await pair.close()
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body, Side, HalfSide)


# -- 4. abortConnection ---------------------------------------------------------


@pytest.mark.parametrize("kind", SOCKET_KINDS)
@pytest.mark.parametrize("then", ["nothing", "loseConnection"])
def test_abort(reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI, then: str) -> None:
    async def body(pair: Pair) -> None:
        t = pair.a.transport
        t.write(b"X" * 1000)
        t.abortConnection()
        t.write(b"Y" * 10000)
        t.writeSequence([b"Y" * 100])
        if then == "loseConnection":
            t.loseConnection()
        t.abortConnection()  # twice: no harm
        await pair.close()
        assert pair.a.reason is not None and pair.a.reason.check(error.ConnectionAborted)
        assert pair.b.reason is not None and pair.b.reason.check(*pair.abortSeen), pair.b.reason
        assert b"Y" not in pair.b.received
        assert pair.a.lostCalls == pair.b.lostCalls == 1

    contract(run, reactor, kind, tmp_path, pki, body)


# -- 5. producers ---------------------------------------------------------------


class PushProducer:
    """A streaming producer shaped like a file server's: it writes until paused.

    ``chunks`` chunks of ``CHUNK`` are its whole "file"; ``written`` counts
    what it wrote, ``events`` what it was told.
    """

    def __init__(self, transport: Any, chunks: int) -> None:
        self.transport = transport
        self.left = chunks
        self.written = 0
        self.paused = False
        self.stopped = 0
        self.events: list[str] = []

    def pump(self) -> None:
        while not self.paused and not self.stopped and self.left:
            self.left -= 1
            self.written += len(CHUNK)
            self.transport.write(CHUNK)

    def pauseProducing(self) -> None:
        self.events.append("pause")
        self.paused = True

    def resumeProducing(self) -> None:
        self.events.append("resume")
        self.paused = False
        self.pump()

    def stopProducing(self) -> None:
        self.events.append("stop")
        self.stopped += 1


class PullProducer:
    """A pull producer writing one chunk of ``data`` per ``resumeProducing``."""

    def __init__(self, transport: Any, chunks: list[bytes], finish: bool = True) -> None:
        self.transport = transport
        self.chunks = list(chunks)
        self.finish = finish
        self.resumed = 0
        self.stopped = 0

    def resumeProducing(self) -> None:
        self.resumed += 1
        if self.chunks:
            self.transport.write(self.chunks.pop(0))
        elif self.finish:
            self.done()

    def done(self) -> None:
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def pauseProducing(self) -> None:
        raise AssertionError("a pull producer is never paused")

    def stopProducing(self) -> None:
        self.stopped += 1


def test_push_producer_is_paused_while_the_peer_does_not_read(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        pair.b.transport.pauseProducing()  # b stops reading
        producer = PushProducer(pair.a.transport, chunks=1024)  # 64 MiB at most
        pair.a.transport.registerProducer(producer, True)
        producer.pump()
        assert producer.events == ["pause"] and producer.left  # paused before the end
        # The kernel's buffers may take a little more (a pause and a resume or
        # two), then the producer stays paused: it does not run to the end.
        still, turns = 0, 0
        while still < 5:
            written = producer.written
            await turn(reactor)
            still = still + 1 if producer.written == written and producer.paused else 0
            turns += 1
            assert turns < 500 and producer.left, "the producer was never held back"
        resumes = producer.events.count("resume")
        pair.b.transport.resumeProducing()
        await pair.b.waitFor(hasReceived(written))
        while producer.events.count("resume") == resumes:
            await turn(reactor)
        pair.a.transport.unregisterProducer()
        pair.a.transport.loseConnection()
        await pair.close()
        assert len(pair.b.received) == producer.written
        assert producer.stopped == 0
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body)


def test_pull_producer_is_asked_for_more_as_the_queue_empties(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    rnd = random.Random(3)
    chunks = [rnd.randbytes(20000) for _ in range(20)]

    async def body(pair: Pair) -> None:
        producer = PullProducer(pair.a.transport, chunks)
        pair.a.transport.registerProducer(producer, False)
        await pair.close()
        assert bytes(pair.b.received) == b"".join(chunks)
        assert producer.resumed == len(chunks) + 1 and producer.stopped == 0
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body)


def test_lose_connection_waits_for_the_pull_producer(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        producer = PullProducer(pair.a.transport, [b"one", b"two"], finish=False)
        pair.a.transport.registerProducer(producer, False)
        pair.a.transport.loseConnection()
        await pair.b.waitFor(b"onetwo")
        for _ in range(3):
            await turn(reactor)
        assert not pair.a.lost.called  # the producer is still registered
        pair.a.transport.write(b"three")
        pair.a.transport.unregisterProducer()
        await pair.close()
        assert bytes(pair.b.received) == b"onetwothree"
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body)


def test_a_second_producer_is_refused(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        t = pair.a.transport
        first = PushProducer(t, chunks=0)
        t.registerProducer(first, True)
        with pytest.raises(RuntimeError, match="still registered"):
            t.registerProducer(PushProducer(t, chunks=0), True)
        t.unregisterProducer()
        t.registerProducer(PullProducer(t, [b"after"]), False)  # fine once unregistered
        await pair.close()
        assert bytes(pair.b.received) == b"after"
        assert first.events == []

    contract(run, reactor, kind, tmp_path, pki, body)


# -- 6. after the close ---------------------------------------------------------


def test_writes_after_the_close_are_ignored(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    async def body(pair: Pair) -> None:
        pair.a.transport.write(b"before")
        pair.a.transport.loseConnection()
        await pair.close()
        t = pair.a.transport
        t.write(b"after")
        t.writeSequence([b"after"])
        producer = PushProducer(t, chunks=1)
        t.registerProducer(producer, True)
        assert producer.events == ["stop"]
        assert bytes(pair.b.received) == b"before"
        assertClean(pair.a, pair.b)

    contract(run, reactor, kind, tmp_path, pki, body)


# -- 7. send errors -------------------------------------------------------------


def checkGone(pair: Pair, bySend: bool = True) -> None:
    """``a`` was told of the peer's end as its kind reports it, once; by the
    send error, with its errno, if ``bySend`` (else it may have noticed first:
    a pipe's writer sees its reader go away)."""
    reason = pair.a.reason
    assert reason is not None and reason.check(*pair.goneSeen), reason
    assert pair.a.lostCalls == 1
    if bySend and pair.sendErrno and isinstance(reason.value, error.ConnectionLost):
        (detail,) = reason.value.args
        assert isinstance(detail, OSError) and detail.errno in (errno.EPIPE, errno.ECONNRESET)
        assert detail.__traceback__ is None


def test_a_send_error_fails_the_connection_and_stops_the_producer(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    """The peer resets; this side, not reading, writes before it could learn of it."""

    async def body(pair: Pair) -> None:
        t = pair.a.transport
        t.pauseProducing()  # a does not read: only a write can tell it
        await pair.breakPeer()
        producer = PushProducer(t, chunks=10_000)  # 640 MiB of "file"
        t.registerProducer(producer, True)
        producer.pump()
        t.write(b"and more")
        if kind == "process":
            t.resumeProducing()  # a process ends once its output is read
        await pair.a.lost
        assert producer.stopped == 1
        # The error stopped the producer at once: no more than a socket
        # buffer's worth was written, never the whole file.
        assert producer.left > 10_000 - 64, producer.written
        checkGone(pair)

    contract(run, reactor, kind, tmp_path, pki, body)


@pytest.mark.parametrize("producerKind", ["push", "pull", "FileSender"])
def test_peer_reset_while_streaming(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI, producerKind: str
) -> None:
    """The peer resets in the middle of a stream: the producer stops, the file is not read on."""
    fileSize = 32 << 20
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(fileSize)

    async def body(pair: Pair) -> None:
        t = pair.a.transport
        t.pauseProducing()  # a only writes: it learns of the reset by writing
        if producerKind == "push":
            push = PushProducer(t, chunks=4096)
            t.registerProducer(push, True)
            reactor.callLater(0, push.pump)
        elif producerKind == "pull":
            pull = PullProducer(t, [CHUNK] * 4096)
            t.registerProducer(pull, False)
        else:
            sent = FileSender().beginFileTransfer(source, t)
            sent.addBoth(outcome.append)
        await pair.b.waitFor(hasReceived(1 << 20))  # streaming well
        await pair.breakPeer()
        if kind == "process":
            t.resumeProducing()  # a process ends once its output is read
        await pair.a.lost
        checkGone(pair, bySend=kind != "stdio")
        if producerKind == "push":
            assert push.stopped == 1 and push.left > 0
        elif producerKind == "pull":
            assert pull.stopped == 1 and pull.chunks
        else:
            assert source.tell() < fileSize  # not read to the end
            (failure,) = outcome
            assert "stop producing" in str(failure.value)

    outcome: list[Any] = []
    with open(path, "rb") as source:
        contract(run, reactor, kind, tmp_path, pki, body)


def test_a_failed_connection_is_freed_without_the_cycle_collector(
    reactor: Any, run: Any, kind: str, tmp_path: Path, pki: PKI
) -> None:
    """The stored send error must not tie the connection into a reference cycle."""
    refs: list[weakref.ref[Any]] = []

    async def go() -> None:
        pair = await makePair(kind, reactor, tmp_path, pki)
        t = pair.a.transport
        t.pauseProducing()
        await pair.breakPeer()
        t.write(CHUNK)
        t.write(CHUNK)
        if kind == "process":
            t.resumeProducing()  # a process ends once its output is read
        await pair.close()
        checkGone(pair)
        for side in (pair.a, pair.b):
            t = side.transport
            lower = getattr(t, "transport", None) or getattr(t, "_process", None)  # TLS, process
            refs.extend(weakref.ref(x) for x in (side, t, lower) if x is not None)
            side.dropScaffolding()  # the test double's own cycles

    gc.collect()
    gc.disable()
    try:
        scenario(run, go, timeout=20)
        alive = [r() for r in refs if r() is not None]
        assert not alive, alive
    finally:
        gc.enable()
