"""Threads and the reactor on every backend: callFromThread, the pool, deferToThread."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from torsion import defer, error, task, threadable, threads
from torsion.defer import Deferred
from torsion.threadpool import ThreadPool


def test_call_from_thread_16_threads_x_10000_each_run_once_in_order(reactor: Any) -> None:
    nthreads, per = 16, 10_000
    seen: dict[int, list[int]] = {t: [] for t in range(nthreads)}
    remaining = [nthreads * per]

    def record(t: int, i: int) -> None:
        seen[t].append(i)
        remaining[0] -= 1
        if remaining[0] == 0:
            reactor.stop()

    def worker(t: int) -> None:
        for i in range(per):
            reactor.callFromThread(record, t, i)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(nthreads)]
    reactor.callWhenRunning(lambda: [w.start() for w in workers])
    guard = reactor.callLater(60, reactor.stop)
    reactor.run(installSignalHandlers=False)
    for w in workers:
        w.join()
    if guard.active():
        guard.cancel()
    for t in range(nthreads):
        assert seen[t] == list(range(per)), f"thread {t}: calls lost, repeated or reordered"


def test_call_from_thread_wakes_a_blocked_loop(reactor: Any) -> None:
    ran: list[str] = []

    def later() -> None:
        ran.append(threading.current_thread().name)
        reactor.stop()

    def start() -> None:
        # The loop has nothing to do: without a wake-up it would block forever.
        threading.Timer(0.05, reactor.callFromThread, (later,)).start()

    reactor.callWhenRunning(start)
    guard = reactor.callLater(10, reactor.stop)
    reactor.run(installSignalHandlers=False)
    guard.cancel()
    assert ran == [threading.main_thread().name]


def test_waker_wakes_again_after_a_wake_up_that_races_its_drain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread's wakeUp() that lands while the reactor drains the waker's pipe
    (made to happen inside the drain's read here) must not leave the waker
    believing it is woken with nothing in the pipe: every later wakeUp()
    would then be skipped while the reactor sleeps."""
    import select

    from torsion._core import waker as wakerModule

    w = wakerModule.Waker()
    realRead = wakerModule.os.read
    raced = []

    def readAfterARacingWakeUp(fd: int, n: int) -> bytes:
        if not raced:
            raced.append(True)
            w.wakeUp()  # another thread, between the reactor's poll and drain
        return realRead(fd, n)

    try:
        w.wakeUp()
        monkeypatch.setattr(wakerModule.os, "read", readAfterARacingWakeUp)
        w.doRead()
        monkeypatch.setattr(wakerModule.os, "read", realRead)
        assert raced
        w.wakeUp()  # a later call from a thread: the sleeping reactor must see it
        readable, _, _ = select.select([w.fileno()], [], [], 0)
        assert readable == [w.fileno()]
    finally:
        import os

        os.close(w.fileno())
        os.close(w.writeFileno)


def test_waker_reports_signal_numbers_and_survives_a_failing_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The drain hands each signal number it reads (the C-level handler
    writes them) to ``onSignal``, skips its own zero bytes, and goes on past
    a handler that raises: the error is logged and the waker still wakes."""
    import os
    import select
    import signal

    from torsion._core.waker import Waker

    w = Waker()
    seen: list[int] = []

    def onSignal(signum: int) -> None:
        seen.append(signum)
        if signum == signal.SIGUSR1:
            raise RuntimeError("handler boom")

    w.onSignal = onSignal
    try:
        w.wakeUp()
        os.write(w.writeFileno, bytes([signal.SIGUSR1, signal.SIGUSR2]))
        with caplog.at_level(logging.ERROR, logger="torsion"):
            w.doRead()
        assert seen == [signal.SIGUSR1, signal.SIGUSR2]
        assert "handler boom" in caplog.text
        assert not w.woken
        w.wakeUp()
        assert select.select([w.fileno()], [], [], 0)[0] == [w.fileno()]
    finally:
        w.close()


def test_call_from_thread_exception_is_logged(
    reactor: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def bad() -> None:
        raise KeyError("thread call boom")

    reactor.callFromThread(bad)
    reactor.callFromThread(reactor.stop)
    with caplog.at_level(logging.ERROR, logger="torsion"):
        reactor.run(installSignalHandlers=False)
    assert "thread call boom" in caplog.text


def test_call_in_thread_and_defer_to_thread_pool(reactor: Any, run: Any) -> None:
    main = threading.get_ident()

    def blocking(x: int) -> tuple[int, bool]:
        return x * 2, threading.get_ident() != main

    d = threads.deferToThreadPool(reactor, reactor.getThreadPool(), blocking, 21)
    assert run(d) == (42, True)


def test_defer_to_thread_pool_failure(reactor: Any, run: Any) -> None:
    def blocking() -> None:
        raise ValueError("in a thread")

    d = threads.deferToThreadPool(reactor, reactor.getThreadPool(), blocking)
    with pytest.raises(ValueError, match="in a thread"):
        run(d)


def test_call_in_thread_runs_in_pool(reactor: Any, run: Any) -> None:
    d: Deferred[str] = Deferred()
    reactor.suggestThreadPoolSize(3)
    assert reactor.getThreadPool().max == 3
    reactor.callInThread(
        lambda: reactor.callFromThread(d.callback, threading.current_thread().name)
    )
    assert run(d).startswith("torsion.threadpool")


def test_blocking_call_from_thread(reactor: Any, run: Any) -> None:
    def inReactor(x: int) -> Deferred[int]:
        assert threading.current_thread() is threading.main_thread()
        d: Deferred[int] = Deferred()
        reactor.callLater(0.01, d.callback, x + 1)
        return d

    def failing() -> None:
        raise LookupError("from the reactor")

    def worker() -> tuple[int, str]:
        value = threads.blockingCallFromThread(reactor, inReactor, 1)
        try:
            threads.blockingCallFromThread(reactor, failing)
        except LookupError as e:
            return value, str(e)
        return value, "no error"

    d = threads.deferToThreadPool(reactor, reactor.getThreadPool(), worker)
    assert run(d) == (2, "from the reactor")


def test_blocking_call_from_reactor_thread_refuses(reactor: Any, run: Any) -> None:
    def inside() -> None:
        threads.blockingCallFromThread(reactor, lambda: None)

    d: Deferred[Any] = Deferred()
    reactor.callWhenRunning(lambda: d.callback(None))
    d.addCallback(lambda _: inside())
    with pytest.raises(RuntimeError, match="would hang"):
        run(d)


def test_thread_pool_stops_at_shutdown(reactor: Any) -> None:
    started = threading.Event()
    reactor.callInThread(started.set)
    reactor.callWhenRunning(lambda: reactor.callLater(0.05, reactor.stop))
    reactor.run(installSignalHandlers=False)
    assert started.is_set()
    assert reactor.threadpool is None
    assert not [t for t in threading.enumerate() if t.name.startswith("torsion.threadpool")]


def test_threadpool_directly() -> None:
    pool = ThreadPool(0, 4, "unit")
    results: list[tuple[bool, Any]] = []
    done = threading.Event()
    for i in range(10):
        pool.callInThreadWithCallback(
            lambda ok, r: (results.append((ok, r)), len(results) == 11 and done.set()),
            lambda i=i: i * i,
        )
    pool.callInThreadWithCallback(
        lambda ok, r: (results.append((ok, r.type)), len(results) == 11 and done.set()),
        lambda: 1 / 0,
    )
    pool.start()
    assert done.wait(10)
    pool.stop()
    assert sorted(r for ok, r in results if ok) == [i * i for i in range(10)]
    assert (False, ZeroDivisionError) in results
    assert pool.workers == 0
    with pytest.raises(ValueError):
        ThreadPool(5, 2)


def test_resolve(reactor: Any, run: Any) -> None:
    @defer.inlineCallbacks
    def go() -> Any:
        assert (yield reactor.resolve("127.0.0.1")) == "127.0.0.1"
        assert (yield reactor.resolve("localhost")) == "127.0.0.1"
        with pytest.raises(error.DNSLookupError):
            yield reactor.resolve("no-such-host.invalid")
        with pytest.raises(TypeError):
            yield reactor.resolve(b"bytes")

    run(go())


def test_defer_to_thread_uses_global_reactor_pool() -> None:
    # deferToThread works against the global reactor; exercise it in a subprocess
    # so the global reactor's pool does not outlive this test.
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).resolve().parent.parent / "src"
    code = (
        "from torsion import reactor, threads\n"
        "def show(r):\n"
        "    print(r); reactor.stop()\n"
        "threads.deferToThread(sum, [1, 2, 3]).addCallback(show)\n"
        "reactor.run()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == "6", out.stderr


def test_threadpool_current_thread_is_deprecated_as_in_twisted() -> None:
    with pytest.warns(DeprecationWarning) as caught:
        assert ThreadPool.currentThread() is threading.current_thread()
    assert str(caught[0].message) == (
        "torsion.threadpool.ThreadPool.currentThread was deprecated in Twisted 22.1.0; "
        "please use threading.current_thread instead"
    )


def test_a_running_reactor_registers_its_thread_as_the_io_thread(
    reactor: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As Twisted's reactors do with twisted.python.threadable.
    monkeypatch.setattr(threadable, "ioThread", None)
    assert not threadable.isInIOThread()

    @defer.inlineCallbacks
    def go() -> Any:
        inLoop = yield task.deferLater(reactor, 0, threadable.isInIOThread)
        pool = reactor.getThreadPool()
        inPool = yield threads.deferToThreadPool(reactor, pool, threadable.isInIOThread)
        return inLoop, inPool

    assert run(go()) == (True, False)
    assert threadable.getThreadID() == threading.get_ident()
