"""torsion.aio: one loop for Twisted-style and asyncio code, and awaiting across the two."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import socket
import sys
import time
from typing import Any
from unittest import mock

import pytest

import torsion.aio
from torsion import error, reactors
from torsion.defer import CancelledError, Deferred, ensureDeferred, inlineCallbacks
from torsion.protocol import ClientCreator, Factory, Protocol

try:  # uvloop opens a pipe for the whole process with its first loop: not a leak
    import uvloop as _uvloop

    _first = _uvloop.new_event_loop()
    _first.call_soon(_first.stop)
    _first.run_forever()
    _first.close()
except ImportError:
    pass

_cv: contextvars.ContextVar[str] = contextvars.ContextVar("_cv", default="unset")


def aioLoop(reactor: Any) -> Any:
    """The asyncio loop a reactor runs as (EventLoop) or on (the asyncio backend)."""
    return reactor if isinstance(reactor, asyncio.AbstractEventLoop) else reactor.loop


class Echo(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


def test_run_and_loop_factory() -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, torsion.aio.EventLoop)
        await asyncio.sleep(0.01)
        return await loop.run_in_executor(None, sum, [1, 2, 3])

    assert torsion.aio.run(main()) == 6
    with asyncio.Runner(loop_factory=torsion.aio.new_event_loop) as runner:
        assert runner.run(main()) == 6
    if sys.version_info >= (3, 12):
        assert asyncio.run(main(), loop_factory=torsion.aio.new_event_loop) == 6  # type: ignore[call-arg]


def test_install_sets_the_policy() -> None:
    old = asyncio.get_event_loop_policy()
    try:
        torsion.aio.install()
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, torsion.aio.EventLoop)
        finally:
            loop.close()
    finally:
        asyncio.set_event_loop_policy(old)


def test_the_asyncio_backend_under_torsions_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """TORSION_REACTOR=asyncio with torsion.aio installed: the asyncio backend
    runs on a loop from the policy, a native EventLoop (not on itself, forever)."""
    monkeypatch.setenv("TORSION_REACTOR", "asyncio")
    old = asyncio.get_event_loop_policy()
    try:
        torsion.aio.install()
        loop = torsion.aio.new_event_loop()
        assert loop.backendName in reactors.native()
        loop.close()
        reactor = reactors.create()
        try:
            assert reactor.backendName == "asyncio"
            assert isinstance(reactor._loop, torsion.aio.EventLoop)  # type: ignore[attr-defined]
        finally:
            reactor.close()
    finally:
        asyncio.set_event_loop_policy(old)


def test_reactor_run_is_the_running_loop(reactor: Any, run: Any) -> None:
    loop = aioLoop(reactor)

    async def main() -> Any:
        assert asyncio.get_running_loop() is loop
        await asyncio.sleep(0)
        return "ok"

    assert run(Deferred.fromFuture(asyncio.ensure_future(main(), loop=loop))) == "ok"


def test_stop_semantics(reactor: Any) -> None:
    if not isinstance(reactor, asyncio.AbstractEventLoop):
        pytest.skip("the asyncio backend's reactor is not a loop itself")
    with pytest.raises(error.ReactorNotRunning):
        reactor.stop()  # a loop that never ran: Twisted's

    async def main() -> int:
        asyncio.get_running_loop().call_soon(lambda: None)
        return 1

    assert reactor.run_until_complete(main()) == 1  # run_forever's stop is asyncio's


def test_twisted_server_and_asyncio_server_in_one_loop() -> None:
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        port = loop.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")  # type: ignore[attr-defined]

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write((await r.readline()).upper())
            await w.drain()
            w.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        got = []
        for p, line in (
            (port.getHost().port, b"twisted\n"),
            (server.sockets[0].getsockname()[1], b"asyncio\n"),
        ):
            r, w = await asyncio.open_connection("127.0.0.1", p)
            w.write(line)
            got.append(await r.readline())
            w.close()
            await w.wait_closed()
        await port.stopListening()
        server.close()
        await server.wait_closed()
        return got

    assert torsion.aio.run(main()) == [b"twisted\n", b"ASYNCIO\n"]


def test_inline_callbacks_await_asyncio(reactor: Any, run: Any) -> None:
    async def coro() -> Any:
        assert asyncio.current_task() is not None  # a DeferredTask
        await asyncio.sleep(0.01)
        async with asyncio.timeout(5):
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(5)
        except TimeoutError:
            pass
        else:
            raise AssertionError("asyncio.timeout did not expire")
        return await asyncio.get_running_loop().run_in_executor(None, sum, [4, 5])

    @inlineCallbacks
    def gen() -> Any:
        yield asyncio.ensure_future(asyncio.sleep(0.01), loop=aioLoop(reactor))
        result = yield Deferred.fromCoroutine(coro())
        return result + 1

    assert run(gen()) == 10


def test_asyncio_task_awaits_deferred_from_connectTCP(reactor: Any, run: Any) -> None:
    port = reactor.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")

    class Client(Protocol):
        def dataReceived(self, data: bytes) -> None:
            self.received.callback(data)

    async def main() -> bytes:
        _cv.set("task")
        proto = await ClientCreator(reactor, Client).connectTCP("127.0.0.1", port.getHost().port)
        proto.received = Deferred()
        proto.transport.write(b"ping")
        data: bytes = await proto.received
        assert _cv.get() == "task"
        assert asyncio.current_task() is not None
        proto.transport.loseConnection()
        await port.stopListening()
        return data

    assert (
        run(Deferred.fromFuture(asyncio.ensure_future(main(), loop=aioLoop(reactor)))) == b"ping"
    )


def test_cancellation_both_ways(reactor: Any, run: Any) -> None:
    cancelled: list[str] = []

    async def waitFor(d: Deferred[Any]) -> Any:
        return await d

    async def main() -> list[str]:
        d1: Deferred[Any] = Deferred(lambda d: cancelled.append("deferred"))
        t1 = asyncio.ensure_future(waitFor(d1))
        await asyncio.sleep(0)
        t1.cancel()  # the Task's cancel cancels the Deferred
        with pytest.raises(asyncio.CancelledError):
            await t1
        d2: Deferred[Any] = Deferred()
        t2 = asyncio.ensure_future(waitFor(d2))
        await asyncio.sleep(0)
        d2.cancel()  # the Deferred's cancel cancels the Task
        with pytest.raises(asyncio.CancelledError):
            await t2
        assert t2.cancelled()
        # A Deferred-driven coroutine waiting on an asyncio future: cancelling
        # the Deferred cancels the future.
        fut = asyncio.get_running_loop().create_future()
        d3 = ensureDeferred(waitFor(fut))  # type: ignore[arg-type]
        d3.cancel()
        assert fut.cancelled()
        failure: list[Any] = []
        d3.addErrback(failure.append)
        await asyncio.sleep(0)  # a future's callbacks run on the next turn
        assert failure and failure[0].check(asyncio.CancelledError, CancelledError)
        return cancelled

    assert run(Deferred.fromFuture(asyncio.ensure_future(main(), loop=aioLoop(reactor)))) == [
        "deferred"
    ]


def test_no_running_loop_error_names_the_fix() -> None:
    async def coro() -> None:
        await asyncio.sleep(0.1)

    failures: list[Any] = []
    ensureDeferred(coro()).addErrback(failures.append)
    assert "while the torsion reactor runs" in str(failures[0].value)


def test_react_accepts_async_main(reactor: Any) -> None:
    from torsion import task

    async def main(r: Any) -> None:
        assert asyncio.get_running_loop() is aioLoop(r)
        await asyncio.sleep(0.01)

    with pytest.raises(SystemExit) as exit:
        task.react(main, _reactor=reactor)
    assert exit.value.code == 0


def test_asyncio_loop_is_a_reactor_after_asyncio_run() -> None:
    """Under asyncio.run, the reactor's startup and shutdown events fire too."""
    events: list[str] = []

    async def main() -> None:
        loop: Any = asyncio.get_running_loop()
        assert loop.running
        loop.addSystemEventTrigger("before", "shutdown", events.append, "shutdown")
        d = Deferred()
        loop.callLater(0.01, d.callback, None)
        await d
        events.append("main")

    torsion.aio.run(main())
    assert events == ["main", "shutdown"]


def test_add_reader_and_sock_methods() -> None:
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        try:
            got: asyncio.Future[bytes] = loop.create_future()
            loop.add_reader(a, lambda: got.set_result(a.recv(10)) if not got.done() else None)
            await loop.sock_sendall(b, b"x" * 5)
            data = await got
            assert loop.remove_reader(a)
            await loop.sock_sendall(a, b"yz")
            return data + await loop.sock_recv(b, 10)
        finally:
            a.close()
            b.close()

    assert torsion.aio.run(main()) == b"xxxxxyz"


def test_every_native_reactor_is_an_event_loop() -> None:
    for name in reactors.native():
        r = reactors.create(name)
        try:
            assert isinstance(r, asyncio.AbstractEventLoop)
        finally:
            r.close()


def test_asyncio_backend_on_a_running_loop() -> None:
    """Embedded: the application's loop runs; the reactor starts on it and stops with stop()."""
    from torsion.protocol import ClientCreator

    async def main() -> bytes:
        r: Any = reactors.create("asyncio")
        assert r.loop is asyncio.get_running_loop()
        r.run()  # returns at once: the loop is the application's
        port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")

        class Client(Protocol):
            def dataReceived(self, data: bytes) -> None:
                self.got.callback(data)

        proto = await ClientCreator(r, Client).connectTCP("127.0.0.1", port.getHost().port)
        proto.got = Deferred()
        proto.transport.write(b"embedded")
        data: bytes = await proto.got
        proto.transport.loseConnection()
        await port.stopListening()
        stopped = Deferred()
        r.addSystemEventTrigger("after", "shutdown", stopped.callback, None)
        r.stop()
        await stopped
        r.close()
        return data

    assert asyncio.run(main()) == b"embedded"


def test_asyncio_backend_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    r: Any = reactors.create("asyncio", loop=loop)
    try:
        port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")
        got: list[bytes] = []

        class Client(Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"uv")

            def dataReceived(self, data: bytes) -> None:
                got.append(data)
                self.transport.loseConnection()
                port.stopListening()
                r.stop()

        ClientCreator(r, Client).connectTCP("127.0.0.1", port.getHost().port)
        r.run(installSignalHandlers=False)
        assert got == [b"uv"]
    finally:
        r.close()
        loop.close()


def test_timer_handles_in_the_reactor_queue() -> None:
    loop = torsion.aio.new_event_loop()
    try:
        ran: list[str] = []
        a = loop.call_later(0.01, ran.append, "a")
        b = loop.call_at(a.when(), ran.append, "b")  # the same due time
        loop.call_later(0.01, ran.append, "c")
        assert not b.cancelled()
        b.cancel()
        assert b.cancelled() and not a.cancelled()
        assert loop.getDelayedCalls() == []  # asyncio's timers are not DelayedCalls
        loop.run_until_complete(asyncio.sleep(0.05))
        assert ran == ["a", "c"]
        assert not a.cancelled()
    finally:
        loop.close()


def test_loop_time_is_monotonic_and_reactor_seconds_the_wall_clock() -> None:
    """asyncio code compares ``loop.time()`` with ``time.monotonic()`` (aiohttp's
    connection pool does); Twisted code dates things with ``reactor.seconds()``.
    Timers of both kinds, in one queue, still run in the order they are due."""
    loop = torsion.aio.new_event_loop()
    try:
        before = time.monotonic()
        now = loop.time()
        handle = loop.call_later(10, lambda: None)
        after = time.monotonic()
        assert before <= now <= after
        assert before + 10 <= handle.when() <= after + 10
        handle.cancel()
        call = loop.callLater(10, lambda: None)
        assert abs(call.getTime() - (time.time() + 10)) < 1
        assert abs(loop.seconds() - time.time()) < 1
        call.cancel()
        ran: list[str] = []
        loop.callLater(0.02, ran.append, "callLater 0.02")
        loop.call_later(0.01, ran.append, "call_later 0.01")
        loop.call_at(loop.time() + 0.03, ran.append, "call_at +0.03")
        started = loop.time()
        loop.run_until_complete(asyncio.sleep(0.04))
        assert ran == ["call_later 0.01", "callLater 0.02", "call_at +0.03"]
        assert loop.time() - started >= 0.04
    finally:
        loop.close()


def test_connection_lost_comes_in_a_callback_of_its_own() -> None:
    """As with asyncio's transports: the EOF's close reports connection_lost after
    what eof_received scheduled, and a close() reports it on the next turn."""
    order: list[str] = []

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def eof_received(self) -> None:
            order.append("eof")
            asyncio.get_running_loop().call_soon(order.append, "scheduled by eof_received")

        def connection_lost(self, exc: BaseException | None) -> None:
            order.append("lost")
            lost.set_result(exc)

    async def main() -> None:
        server = await loop.create_server(Server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write_eof()
        assert await lost is None
        assert order == ["eof", "scheduled by eof_received", "lost"]
        # close(): connection_lost on the next turn, so drain() after close()
        # sees the connection lost once asyncio.sleep(0) has let a turn pass.
        writer.close()
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        with pytest.raises(ConnectionResetError):
            writer.write(b"late")
            await writer.drain()
        server.close()
        await server.wait_closed()

    loop = torsion.aio.new_event_loop()
    try:
        lost: asyncio.Future[BaseException | None] = loop.create_future()
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_close_while_paused_still_resumes_writing() -> None:
    """A protocol paused by a full write queue gets resume_writing() after close(),
    and what it writes then still reaches the peer before the close (as with
    asyncio's transports: SSLProtocol sends its close_notify that way)."""
    big = b"x" * (4 << 20)
    events: list[str] = []

    class Writer(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transport.write(big)  # far above the high-water mark: paused
            assert events == ["pause_writing"]
            transport.close()

        def pause_writing(self) -> None:
            events.append("pause_writing")

        def resume_writing(self) -> None:
            events.append("resume_writing")
            self.transport.write(b"trailer")

        def connection_lost(self, exc: BaseException | None) -> None:
            events.append("lost")

    async def main() -> bytes:
        server = await loop.create_server(Writer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = await reader.read()  # until EOF
        writer.close()
        server.close()
        await server.wait_closed()
        return data

    loop = torsion.aio.new_event_loop()
    try:
        data = loop.run_until_complete(main())
    finally:
        loop.close()
    assert len(data) == len(big) + len(b"trailer")
    assert data.endswith(b"xtrailer")
    assert events == ["pause_writing", "resume_writing", "lost"]


def test_tiny_timeouts_do_not_spin() -> None:
    """CPython's test_timeout_rounding, on torsion's turn (it counts
    ``BaseEventLoop._run_once``, which torsion's loop does not call): sleeps of
    10 ms down to 0.1 ns take a handful of turns, not a busy loop."""
    loop = torsion.aio.new_event_loop()
    turns = [0]

    class CountedPolls:
        def __init__(self, backend: Any) -> None:
            self.backend = backend

        def poll(self, timeout: float | None) -> Any:
            turns[0] += 1
            return self.backend.poll(timeout)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.backend, name)

    loop._backend = CountedPolls(loop._backend)  # one poll a turn

    async def wait() -> None:
        for delay in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10):
            await asyncio.sleep(delay)

    try:
        loop.run_until_complete(wait())
    finally:
        loop.close()
    assert 0 < turns[0] <= 20, turns[0]


def test_create_future_and_get_debug_fast_paths_keep_asyncio_semantics() -> None:
    loop = torsion.aio.new_event_loop()
    try:
        future = loop.create_future()
        assert isinstance(future, asyncio.Future) and future.get_loop() is loop
        assert loop.get_debug() is False
        loop.set_debug(True)
        assert loop.get_debug() is True
        # A debug loop's Futures record where they were made (the C Future asks get_debug()).
        assert loop.create_future()._source_traceback  # type: ignore[attr-defined]
        loop.set_debug(False)
        assert loop.get_debug() is False
        assert not loop.create_future()._source_traceback  # type: ignore[attr-defined]
    finally:
        loop.close()

    class Custom(torsion.aio.EventLoop):
        def create_future(self) -> Any:
            return "mine"

        def get_debug(self) -> bool:
            return True

    custom = torsion.aio.new_event_loop()
    custom.close()
    loop = Custom(custom._backend.__class__())
    try:
        assert loop.create_future() == "mine"
        assert loop.get_debug() is True
    finally:
        loop.close()


def test_a_write_to_a_reset_peer_closes_the_transport_at_once() -> None:
    """The send that meets a reset makes is_closing() true before write() returns,
    and connection_lost gets the OSError (asyncio's transports do the same)."""
    import struct

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            made.set_result(transport)

        def connection_lost(self, exc: BaseException | None) -> None:
            lost.set_result(exc)

    async def main() -> None:
        server = await loop.create_server(Server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        transport = await made
        transport.pause_reading()  # so that only the write can notice the reset
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # a reset, delivered before close() returns on loopback
        transport.write(b"into the void")
        assert transport.is_closing()
        transport.write(b"and more")  # dropped, no error
        exc = await lost
        assert isinstance(exc, (ConnectionResetError, BrokenPipeError)), exc
        server.close()
        await server.wait_closed()

    loop = torsion.aio.new_event_loop()
    try:
        made: asyncio.Future[Any] = loop.create_future()
        lost: asyncio.Future[BaseException | None] = loop.create_future()
        loop.run_until_complete(main())
    finally:
        loop.close()


async def _closingServer() -> tuple[Any, Any]:
    """A streams server that closes each connection at the peer's EOF; and a
    coroutine function that waits for those closes, then closes the server."""
    handlers: list[asyncio.Future[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done = asyncio.get_running_loop().create_future()
        handlers.append(done)
        await reader.read()
        writer.close()
        await writer.wait_closed()
        done.set_result(None)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)

    async def close() -> None:
        await asyncio.gather(*handlers)
        server.close()
        await server.wait_closed()

    return server, close


LOOPS = pytest.mark.parametrize(
    "newLoop",
    [torsion.aio.new_event_loop, asyncio.new_event_loop],
    ids=["torsion.aio", "asyncio (the oracle)"],
)


@LOOPS
def test_handles_scheduled_before_a_poll_run_before_the_io_it_finds(newLoop: Any) -> None:
    """asyncio's order within a turn: callbacks already scheduled when the loop
    polls run before the I/O callbacks of that poll (a task woken by
    create_connection's waiter runs before the new connection's first read)."""
    loop = newLoop()
    r, w = socket.socketpair()
    order: list[str] = []
    done = loop.create_future()

    def io() -> None:
        order.append("io")
        loop.remove_reader(r)
        done.set_result(None)

    def first() -> None:
        w.send(b"x")  # readable at the next poll
        loop.add_reader(r, io)
        loop.call_soon(order.append, "soon")  # scheduled before that poll

    try:
        loop.call_soon(first)
        loop.run_until_complete(done)
    finally:
        loop.close()
        r.close()
        w.close()
    assert order == ["soon", "io"]


@LOOPS
def test_stream_protocol_callbacks_run_in_their_connections_context(newLoop: Any) -> None:
    """A server's protocol factory and callbacks see the context serving started
    in, a client's the context create_connection was called in; what a
    callback sets stays with its connection."""
    seen: list[tuple[str, str, str]] = []

    class Server(asyncio.Protocol):
        def __init__(self) -> None:
            seen.append(("server", "factory", _cv.get()))

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            seen.append(("server", "made", _cv.get()))
            _cv.set("set by connection_made")  # not seen by later callbacks

        def data_received(self, data: bytes) -> None:
            seen.append(("server", "data", _cv.get()))
            _cv.set("set by data_received")  # seen by the next one
            self.transport.write(data)

        def eof_received(self) -> None:
            seen.append(("server", "eof", _cv.get()))

        def connection_lost(self, exc: Exception | None) -> None:
            seen.append(("server", "lost", _cv.get()))

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.echoed = asyncio.get_running_loop().create_future()
            self.lost = asyncio.get_running_loop().create_future()

        def connection_made(self, transport: Any) -> None:
            seen.append(("client", "made", _cv.get()))

        def data_received(self, data: bytes) -> None:
            seen.append(("client", "data", _cv.get()))
            if not self.echoed.done():
                self.echoed.set_result(data)

        def connection_lost(self, exc: Exception | None) -> None:
            seen.append(("client", "lost", _cv.get()))
            self.lost.set_result(exc)

    async def serve() -> Any:
        _cv.set("server")
        return await asyncio.get_running_loop().create_server(Server, "127.0.0.1", 0)

    async def connect(port: int) -> None:
        _cv.set("client")
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_connection(Client, "127.0.0.1", port)
        transport.write(b"one")
        await client.echoed
        client.echoed = loop.create_future()
        transport.write(b"two")
        await client.echoed
        transport.write_eof()
        await client.lost

    async def main() -> None:
        server = await asyncio.get_running_loop().create_task(serve())
        port = server.sockets[0].getsockname()[1]
        await asyncio.get_running_loop().create_task(connect(port))
        server.close()
        await server.wait_closed()
        assert _cv.get() == "unset"  # nothing leaked into the caller's context

    loop = newLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    server = [(what, value) for side, what, value in seen if side == "server"]
    assert server == [
        ("factory", "server"),
        ("made", "server"),
        ("data", "server"),
        ("data", "set by data_received"),
        ("eof", "set by data_received"),
        ("lost", "set by data_received"),
    ]
    client = [(what, value) for side, what, value in seen if side == "client"]
    assert client == [
        ("made", "client"),
        ("data", "client"),
        ("data", "client"),
        ("lost", "client"),
    ]


@LOOPS
def test_an_exception_in_connection_made_is_reported_and_the_connection_goes_on(
    newLoop: Any,
) -> None:
    reported: list[dict[str, Any]] = []

    class Broken(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            raise ZeroDivisionError("in connection_made")

        def connection_lost(self, exc: Exception | None) -> None:
            self.lostWith = exc
            lost.set_result(None)

    async def main() -> Broken:
        loop = asyncio.get_running_loop()
        server, closeServer = await _closingServer()
        port = server.sockets[0].getsockname()[1]
        transport, protocol = await loop.create_connection(Broken, "127.0.0.1", port)
        assert not transport.is_closing()
        transport.close()
        await lost
        await closeServer()
        return protocol

    loop = newLoop()
    loop.set_exception_handler(lambda loop, context: reported.append(context))
    lost = loop.create_future()
    try:
        protocol = loop.run_until_complete(main())
    finally:
        loop.close()
    assert protocol.lostWith is None
    [context] = reported
    assert isinstance(context["exception"], ZeroDivisionError)
    assert context["message"].startswith("Exception in callback")


def test_debug_mode_reports_like_asyncio(caplog: pytest.LogCaptureFixture) -> None:
    """Debug mode: a handle's source traceback ends at the code that scheduled
    it, and a timer callback that runs slow is reported as a ready one is."""
    import time

    loop = torsion.aio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.05
    try:
        soon = loop.call_soon(lambda: None)
        later = loop.call_later(0.001, lambda: time.sleep(0.06))
        here = sys._getframe().f_code.co_name
        assert soon._source_traceback[-1].name == here  # type: ignore[attr-defined]
        assert later._source_traceback[-1].name == here  # type: ignore[attr-defined]
        assert repr(later).startswith("<TimerHandle when=")
        with caplog.at_level("WARNING", logger="asyncio"):
            loop.run_until_complete(asyncio.sleep(0.01))
    finally:
        loop.close()
    assert any(
        r.getMessage().startswith("Executing <TimerHandle") and "took" in r.getMessage()
        for r in caplog.records
    ), caplog.records


def test_writing_str_to_a_stream_transport_names_asyncio_s_type_error() -> None:
    async def main() -> None:
        server, closeServer = await _closingServer()
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        with pytest.raises(
            TypeError, match="data argument must be a bytes-like object, not 'str'"
        ):
            writer.write("text")  # type: ignore[arg-type]
        writer.close()
        await writer.wait_closed()
        await closeServer()

    torsion.aio.run(main())


@LOOPS
def test_a_large_write_that_went_out_whole_leaves_flow_control_on(newLoop: Any) -> None:
    """A write bigger than the high-water mark that the kernel takes at once
    must not switch flow control off: once data queues past the mark,
    pause_writing comes (anyio sets the mark to 0 and relies on it)."""
    events: list[str] = []

    class Writer(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transport.set_write_buffer_limits(high=1024)

        def pause_writing(self) -> None:
            events.append("pause")

        def resume_writing(self) -> None:
            events.append("resume")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_unix_connection(Writer, sock=mine)
        transport.write(b"x" * 4096)  # taken whole by the kernel
        assert events == []
        assert transport.get_write_buffer_size() == 0
        written = 4096
        while not events and written < 64 * 1024 * 1024:
            transport.write(b"x" * 65536)  # the peer never reads
            written += 65536
        queued = transport.get_write_buffer_size()
        transport.abort()
        return queued

    mine, peer = socket.socketpair()
    loop = newLoop()
    try:
        queued = loop.run_until_complete(main())
    finally:
        loop.close()
        peer.close()
    assert events == ["pause"]
    assert 1024 < queued <= 65536


@LOOPS
def test_lowering_the_high_water_mark_under_a_queue_pauses_then_resumes(newLoop: Any) -> None:
    events: list[str] = []

    class Writer(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            transport.set_write_buffer_limits(high=1 << 30)

        def pause_writing(self) -> None:
            events.append("pause")

        def resume_writing(self) -> None:
            events.append("resume")
            resumed.set_result(None)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_unix_connection(Writer, sock=mine)
        while not transport.get_write_buffer_size():
            transport.write(b"x" * 65536)  # until the kernel's buffer is full
        assert events == []
        transport.set_write_buffer_limits(high=0)
        assert events == ["pause"]
        drained = loop.run_in_executor(None, drain)
        await asyncio.wait_for(resumed, 10)
        transport.close()
        await drained

    def drain() -> None:
        while peer.recv(1 << 20):
            pass

    mine, peer = socket.socketpair()
    loop = newLoop()
    resumed = loop.create_future()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        peer.close()
    assert events == ["pause", "resume"]


@LOOPS
def test_a_timer_far_in_the_future_does_not_overflow_the_poller(newLoop: Any) -> None:
    """asyncio.sleep(math.inf) and call_later(1e10): the turn waits at most a
    day at a time (before, epoll's timeout overflowed)."""
    import math
    import time

    async def main() -> None:
        loop = asyncio.get_running_loop()
        far = loop.call_later(1e10, lambda: None)
        sleeper = asyncio.ensure_future(asyncio.sleep(math.inf))
        # Woken by a thread, not a timer: the far ones are the next due.
        await loop.run_in_executor(None, time.sleep, 0.02)
        assert not sleeper.done()
        sleeper.cancel()
        far.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper

    loop = newLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@LOOPS
def test_remove_reader_of_a_socket_closed_since(newLoop: Any) -> None:
    """remove_reader/remove_writer given the socket object that was watched,
    now closed (fileno() is -1): found by identity and removed, as asyncio's
    selector finds it."""
    loop = newLoop()
    a, b = socket.socketpair()
    never = socket.socket()
    never.close()
    try:
        loop.add_reader(a, lambda: None)
        loop.add_writer(b, lambda: None)
        fd = a.fileno()
        a.close()
        b.close()
        assert loop.remove_reader(a) is True
        assert loop.remove_writer(b) is True
        assert loop.remove_reader(fd) is False
        with pytest.raises(ValueError, match="Invalid file descriptor"):
            loop.remove_reader(never)
    finally:
        loop.close()


@LOOPS
def test_create_connection_turns_nagle_off(newLoop: Any) -> None:
    async def main() -> int:
        server, closeServer = await _closingServer()
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        nodelay = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        writer.close()
        await writer.wait_closed()
        await closeServer()
        return int(nodelay)

    loop = newLoop()
    try:
        assert loop.run_until_complete(main()) != 0
    finally:
        loop.close()


@LOOPS
def test_a_failed_sock_connect_leaves_no_cycle_through_its_exception(newLoop: Any) -> None:
    """The connect error's traceback must not hold the future that holds the
    error (CPython gh-124859): only the GC would free them."""
    import gc

    async def main() -> OSError:
        loop = asyncio.get_running_loop()
        port = socket.socket()
        port.bind(("127.0.0.1", 0))  # bound, not listening: refused
        address = port.getsockname()
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as e:
            return e
        finally:
            sock.close()
            port.close()
        raise AssertionError("connected to a port nobody listens on")

    loop = newLoop()
    try:
        exc = loop.run_until_complete(main())
    finally:
        loop.close()
    assert isinstance(exc, ConnectionRefusedError)
    assert not [r for r in gc.get_referrers(exc) if isinstance(r, asyncio.Future)]


def test_lowering_the_high_water_mark_after_close_with_a_queue_is_harmless() -> None:
    """After close() the transport is no longer its stream's producer: new
    limits then change nothing, and the queue still drains before the close."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_unix_connection(asyncio.Protocol, sock=mine)
        while not transport.get_write_buffer_size():
            transport.write(b"x" * 65536)
        queued = transport.get_write_buffer_size()
        transport.close()
        transport.set_write_buffer_limits(high=0)
        received = await loop.run_in_executor(None, drain)
        return queued, received

    def drain() -> int:
        total = 0
        while chunk := peer.recv(1 << 20):
            total += len(chunk)
        return total

    mine, peer = socket.socketpair()
    loop = torsion.aio.new_event_loop()
    try:
        queued, received = loop.run_until_complete(main())
    finally:
        loop.close()
        peer.close()
    assert received > queued > 0


@LOOPS
def test_stop_before_run_forever_runs_one_turn(newLoop: Any) -> None:
    """asyncio's idiom for flushing what is scheduled (aiohttp's test teardowns
    use it): ``stop()`` on a loop that never ran, then ``run_forever()``."""
    loop = newLoop()
    try:
        ran: list[str] = []
        loop.call_soon(ran.append, "scheduled before")
        loop.stop()
        loop.run_forever()
        assert ran == ["scheduled before"]
        assert not loop.is_running()
        loop.call_soon(ran.append, "and again")
        loop.stop()
        loop.run_forever()
        assert ran == ["scheduled before", "and again"]
    finally:
        loop.close()


def test_a_unix_server_whose_stale_check_fails_closes_its_socket(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale-socket check (an ``os.stat``) raising must not leak the socket.

    (The stock loop leaks it when the error is not an OSError: aiohttp's
    blocking-call detector raises one there.)"""
    loop = torsion.aio.new_event_loop()
    path = str(tmp_path / "s")

    class Refused(Exception):
        pass

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Refused

    try:
        with monkeypatch.context() as patch:
            patch.setattr(os, "stat", refuse)
            with pytest.raises(Refused):
                loop.run_until_complete(loop.create_unix_server(asyncio.Protocol, path))
    finally:
        loop.close()


@LOOPS
def test_a_stream_transports_methods_can_be_patched(newLoop: Any) -> None:
    """Tests patch a transport's ``write`` (aiohttp's make it raise a reset),
    and libraries set attributes of their own on transports."""
    loop = newLoop()
    a, b = socket.socketpair()

    async def main() -> None:
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, a)
        transport.note = "mine"
        patched = mock.patch.object(transport, "write", side_effect=ConnectionResetError)
        with patched as write, pytest.raises(ConnectionResetError):
            transport.write(b"x")
        write.assert_called_once_with(b"x")
        transport.write(b"y")  # the transport's own again
        assert transport.note == "mine"
        transport.close()

    try:
        loop.run_until_complete(main())
        assert b.recv(10) == b"y"
    finally:
        loop.close()
        b.close()


def _signalLoops() -> list[Any]:
    loops: list[Any] = [
        pytest.param(lambda name=name: reactors.create(name), id=f"torsion.aio-{name}")
        for name in reactors.native()
    ]
    loops.append(pytest.param(asyncio.new_event_loop, id="asyncio (the oracle)"))
    if "_uvloop" in globals():
        loops.append(pytest.param(_uvloop.new_event_loop, id="uvloop (the oracle)"))
    return loops


@pytest.mark.parametrize("newLoop", _signalLoops())
def test_a_signal_handler_runs_when_its_python_handler_was_replaced(newLoop: Any) -> None:
    """The loop learns of a signal from the wakeup descriptor, not from the
    Python-level handler: code that puts its own handler in place for a while
    (uvicorn's server does, restoring the old one afterwards) leaves the
    loop's callback running too, once per signal, as on asyncio's loop and
    uvloop."""
    loop = newLoop()
    got: list[str] = []
    waiters: list[asyncio.Future[None]] = []

    def onSignal() -> None:
        got.append("loop")
        waiters.pop().set_result(None)

    async def raiseAndWait() -> None:
        waiters.append(loop.create_future())
        signal.raise_signal(signal.SIGUSR1)
        await asyncio.wait_for(waiters[-1], 10)

    async def main() -> None:
        loop.add_signal_handler(signal.SIGUSR1, onSignal)
        ours = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append("python"))
        try:
            await raiseAndWait()
            await raiseAndWait()
        finally:
            signal.signal(signal.SIGUSR1, ours)
        assert got == ["python", "loop", "python", "loop"]
        await raiseAndWait()  # with the loop's own Python-level handler back
        assert got == ["python", "loop", "python", "loop", "loop"]
        assert loop.remove_signal_handler(signal.SIGUSR1)

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)  # uvloop leaves its own behind


@LOOPS
def test_write_eof_while_paused_sends_the_eof_once_the_queue_drains(newLoop: Any) -> None:
    """``write_eof()`` after writes that paused the protocol: the peer gets
    every byte, then the EOF (asyncssh's forwarding tests do this)."""
    loop = newLoop()
    size = 1 << 20
    events: list[str] = []

    class Sink(asyncio.Protocol):
        received = 0

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.received += len(data)

        def eof_received(self) -> None:
            self.transport.write(b"%d" % self.received)
            self.transport.close()

    class Source(asyncio.Protocol):
        def __init__(self) -> None:
            self.reply = b""
            self.lost = loop.create_future()

        def pause_writing(self) -> None:
            events.append("paused")

        def resume_writing(self) -> None:
            events.append("resumed")

        def data_received(self, data: bytes) -> None:
            self.reply += data

        def connection_lost(self, exc: BaseException | None) -> None:
            self.lost.set_result(exc)

    async def main() -> bytes:
        server = await loop.create_server(Sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, source = await loop.create_connection(Source, "127.0.0.1", port)
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        transport.write(b"\0" * size)
        transport.write_eof()
        assert events == ["paused"]
        try:
            await asyncio.wait_for(asyncio.shield(source.lost), 10)
        finally:
            transport.close()
            server.close()
            await server.wait_closed()
        return source.reply

    try:
        assert loop.run_until_complete(main()) == b"%d" % size
    finally:
        loop.close()
    assert events == ["paused", "resumed"]
