"""maybeDeferred, DeferredList, gatherResults, race, locks, semaphores and queues."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from torsion import defer
from torsion.defer import (
    Deferred,
    DeferredList,
    DeferredLock,
    DeferredQueue,
    DeferredSemaphore,
    ensureDeferred,
    fail,
    gatherResults,
    maybeDeferred,
    race,
    succeed,
)
from torsion.failure import Failure


def _consume(d: Deferred[Any]) -> None:
    d.addErrback(lambda f: None)


# -- maybeDeferred / execute ----------------------------------------------------------


def test_maybe_deferred_shapes() -> None:
    assert maybeDeferred(lambda: 3).result == 3
    d: Deferred[int] = Deferred()
    assert maybeDeferred(lambda: d) is d
    f = Failure(KeyError())
    failed = maybeDeferred(lambda: f)
    assert failed.result is f
    _consume(failed)

    def boom() -> None:
        raise ValueError("raised")

    raised = maybeDeferred(boom)
    assert raised.result.check(ValueError)
    _consume(raised)

    async def coro(x: int) -> int:
        return x * 2

    assert maybeDeferred(coro, 4).result == 8


def test_execute() -> None:
    assert defer.execute(lambda a, b: a + b, 1, b=2).result == 3

    def boom() -> None:
        raise KeyError()

    d = defer.execute(boom)
    assert d.result.check(KeyError)
    _consume(d)


def test_passthru() -> None:
    marker = object()
    assert defer.passthru(marker) is marker


# -- DeferredList --------------------------------------------------------------------


def test_deferred_list_waits_for_all_in_order() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b])
    b.callback(2)
    assert not dl.called
    a.errback(ValueError("a"))
    result = dl.result
    assert result[1] == (True, 2)
    assert result[0][0] is False and result[0][1].check(ValueError)
    assert isinstance(a.result, Failure)  # not consumed
    _consume(a)


def test_deferred_list_empty_fires_at_once() -> None:
    assert DeferredList([]).result == []
    assert not DeferredList([], fireOnOneCallback=True).called


def test_deferred_list_fire_on_one_callback() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], fireOnOneCallback=True)
    b.callback("b")
    assert dl.result == ("b", 1)
    a.callback("a")  # later results are still recorded, no second fire
    assert dl.resultList[0] == (True, "a")


def test_deferred_list_fire_on_one_errback_consume_errors() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], fireOnOneErrback=True, consumeErrors=True)
    a.errback(KeyError("k"))
    err = dl.result.value
    assert isinstance(err, defer.FirstError)
    assert err.index == 0 and err.subFailure.check(KeyError)
    assert a.result is None  # consumed
    assert repr(err) == "FirstError[#0, KeyError('k')]"
    _consume(dl)


def test_deferred_list_cancel_cancels_members() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    dl = DeferredList([a, b], consumeErrors=True)
    dl.cancel()
    assert [ok for ok, _ in dl.result] == [False, False]
    assert all(r.check(defer.CancelledError) for _, r in dl.result)


def test_gather_results() -> None:
    a: Deferred[int] = Deferred()
    d = gatherResults([a, succeed(2)])
    a.callback(1)
    assert d.result == [1, 2]

    e = gatherResults([succeed(1), fail(ValueError("x"))], consumeErrors=True)
    assert e.result.check(defer.FirstError)
    assert e.result.value.index == 1
    _consume(e)


def test_first_error_equality() -> None:
    f = Failure(ValueError())
    assert defer.FirstError(f, 1) == defer.FirstError(f, 1)
    assert defer.FirstError(f, 1) != defer.FirstError(f, 2)


# -- race ---------------------------------------------------------------------


def test_race_first_success_wins_and_cancels_others() -> None:
    cancelled: list[int] = []
    a: Deferred[int] = Deferred(lambda d: cancelled.append(0))
    b: Deferred[int] = Deferred(lambda d: cancelled.append(1))
    c: Deferred[int] = Deferred(lambda d: cancelled.append(2))
    r = race([a, b, c])
    b.callback(7)
    assert r.result == (1, 7)
    assert cancelled == [0, 2]
    assert a.result is None and c.result is None  # CancelledError consumed


def test_race_failures_before_a_success_are_ignored() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    a.errback(ValueError())
    assert not r.called
    b.callback(3)
    assert r.result == (1, 3)


def test_race_all_fail() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    b.errback(KeyError("2"))
    a.errback(ValueError("1"))
    group = r.result.value
    assert isinstance(group, defer.FailureGroup)
    assert [f.type for f in group.failures] == [ValueError, KeyError]
    _consume(r)


def test_race_cancel() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    r = race([a, b])
    r.cancel()
    assert r.result.check(defer.FailureGroup)
    assert a.called and b.called
    _consume(r)


# -- DeferredLock / DeferredSemaphore ---------------------------------------------------


def test_lock_serialises() -> None:
    lock = DeferredLock()
    order: list[str] = []
    first = lock.acquire()
    assert first.result is lock and lock.locked
    second = lock.acquire()
    second.addCallback(lambda lk: order.append("second"))
    assert order == []
    lock.release()
    assert order == ["second"] and lock.locked
    lock.release()
    assert not lock.locked
    with pytest.raises(AssertionError):
        lock.release()


def test_lock_cancel_waiting_acquire() -> None:
    lock = DeferredLock()
    lock.acquire()
    waiting = lock.acquire()
    waiting.cancel()
    assert waiting.result.check(defer.CancelledError)
    assert lock.waiting == []
    _consume(waiting)


def test_lock_run_releases_after_result() -> None:
    lock = DeferredLock()
    inner: Deferred[str] = Deferred()
    d = lock.run(lambda x: inner, 1)
    assert lock.locked and d.paused  # waiting on inner
    inner.callback("done")
    assert d.result == "done" and not lock.locked

    def boom() -> None:
        raise ValueError()

    e = lock.run(boom)
    assert e.result.check(ValueError) and not lock.locked
    _consume(e)


def test_lock_async_with() -> None:
    lock = DeferredLock()
    held: list[bool] = []

    async def work() -> str:
        async with lock as got:
            held.append(lock.locked)
            assert got is lock
        return "ok"

    assert ensureDeferred(work()).result == "ok"
    assert held == [True] and not lock.locked


def test_semaphore_tokens() -> None:
    sem = DeferredSemaphore(2)
    a, b, c = sem.acquire(), sem.acquire(), sem.acquire()
    assert a.called and b.called and not c.called
    assert sem.tokens == 0
    sem.release()
    assert c.called and sem.tokens == 0
    sem.release()
    sem.release()
    assert sem.tokens == 2
    with pytest.raises(AssertionError):
        sem.release()
    with pytest.raises(ValueError):
        DeferredSemaphore(0)


def test_semaphore_cancel_and_run() -> None:
    sem = DeferredSemaphore(1)
    sem.acquire()
    waiting = sem.acquire()
    waiting.cancel()
    assert sem.waiting == []
    _consume(waiting)
    sem.release()
    assert sem.run(lambda: 5).result == 5 and sem.tokens == 1


# -- DeferredQueue ------------------------------------------------------------------------


def test_queue_put_then_get_and_get_then_put() -> None:
    q: DeferredQueue[int] = DeferredQueue()
    q.put(1)
    assert q.get().result == 1
    d = q.get()
    assert not d.called
    q.put(2)
    assert d.result == 2


def test_queue_limits() -> None:
    q: DeferredQueue[int] = DeferredQueue(size=1, backlog=1)
    q.put(1)
    with pytest.raises(defer.QueueOverflow):
        q.put(2)
    q.get()
    q.get()
    with pytest.raises(defer.QueueUnderflow):
        q.get()


def test_queue_cancel_get() -> None:
    q: DeferredQueue[int] = DeferredQueue()
    d = q.get()
    d.cancel()
    assert q.waiting == []
    q.put(3)
    assert q.pending == [3]
    _consume(d)


def test_timeout_fails_the_deferred_and_is_deprecated() -> None:
    d: Deferred[object] = Deferred()
    with pytest.warns(DeprecationWarning, match=r"torsion\.defer\.timeout was deprecated"):
        defer.timeout(d)
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert failures[0].check(defer.TimeoutError)
    assert failures[0].getErrorMessage() == "Callback timed out"


def test_twisteds_deferredlist_type_names_for_annotations() -> None:
    # Twisted's (private) aliases, which ported annotations import.
    assert defer._DeferredListResultListT[int] == list[tuple[bool, int]]
    assert defer._DeferredListSingleResultT[int] == tuple[int, int]
    assert isinstance(defer._T, TypeVar)
