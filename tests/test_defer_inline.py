"""inlineCallbacks, coroutines and asyncio interop."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Generator
from typing import Any

import pytest

from torsion import defer
from torsion.defer import Deferred, ensureDeferred, fail, inlineCallbacks, returnValue, succeed
from torsion.failure import Failure
from torsion.task import Clock, deferLater

# -- inlineCallbacks ---------------------------------------------------------------


def test_inline_callbacks_plain_return_and_yielded_results() -> None:
    pending: Deferred[int] = Deferred()

    @inlineCallbacks
    def gen(a: int) -> Generator[Any, Any, int]:
        x = yield succeed(a)
        y = yield pending
        z = yield 5  # not a Deferred: sent straight back
        return x + y + z

    d = gen(1)
    assert not d.called
    pending.callback(10)
    assert d.result == 16


def test_inline_callbacks_return_value_compat() -> None:
    @inlineCallbacks
    def gen() -> Generator[Any, Any, None]:
        yield succeed(None)
        returnValue("old style")

    assert gen().result == "old style"


def test_inline_callbacks_catches_failures() -> None:
    @inlineCallbacks
    def gen() -> Generator[Any, Any, str]:
        try:
            yield fail(KeyError("k"))
        except KeyError as e:
            return f"caught {e.args[0]}"
        return "no"

    assert gen().result == "caught k"


def test_inline_callbacks_requires_a_generator() -> None:
    @inlineCallbacks  # type: ignore[arg-type]
    def notgen() -> int:
        return 1

    with pytest.raises(TypeError, match="generator"):
        notgen()


def test_inline_callbacks_runs_synchronously_until_first_wait() -> None:
    steps: list[str] = []

    @inlineCallbacks
    def gen() -> Generator[Any, Any, None]:
        steps.append("start")
        yield Deferred()
        steps.append("never")

    gen()
    assert steps == ["start"]


def test_inline_callbacks_many_fired_yields_do_not_recurse() -> None:
    @inlineCallbacks
    def gen() -> Generator[Any, Any, int]:
        total = 0
        for i in range(20_000):
            total += yield succeed(i)
        return total

    assert gen().result == sum(range(20_000))


def test_yielded_deferred_is_consumed() -> None:
    d = succeed(3)

    @inlineCallbacks
    def gen() -> Generator[Any, Any, int]:
        return (yield d)

    assert gen().result == 3
    assert d.result is None


def test_cancel_inline_callbacks_cancels_awaited_deferred() -> None:
    cancelled: list[Deferred[Any]] = []
    inner: Deferred[int] = Deferred(cancelled.append)

    @inlineCallbacks
    def gen() -> Generator[Any, Any, int]:
        return (yield inner)

    d = gen()
    d.cancel()
    assert cancelled == [inner]
    assert d.result.check(defer.CancelledError)
    d.addErrback(lambda f: None)


def test_cancelled_generator_may_recover() -> None:
    later: Deferred[str] = Deferred()

    @inlineCallbacks
    def gen() -> Generator[Any, Any, str]:
        try:
            yield Deferred()
        except defer.CancelledError:
            return (yield later)
        return "not cancelled"

    d = gen()
    d.cancel()
    assert d.called and d.paused  # the generator chose to carry on: d waits for it
    later.callback("recovered")
    assert d.result == "recovered"


def test_nested_inline_callbacks_cancel_propagates() -> None:
    leaf: Deferred[int] = Deferred()

    @inlineCallbacks
    def inner() -> Generator[Any, Any, int]:
        return (yield leaf)

    @inlineCallbacks
    def outer() -> Generator[Any, Any, int]:
        return (yield inner())

    d = outer()
    d.cancel()
    assert leaf.result is None  # handed on to inner()
    assert d.result.check(defer.CancelledError)
    d.addErrback(lambda f: None)


# -- tracebacks --------------------------------------------------------------------


def _names(f: Failure) -> list[str]:
    return [frame[0] for frame in f.frames]


def test_traceback_through_nested_inline_callbacks() -> None:
    gate: Deferred[None] = Deferred()

    @inlineCallbacks
    def level_three() -> Generator[Any, Any, None]:
        yield gate
        raise ValueError("deep")

    @inlineCallbacks
    def level_two() -> Generator[Any, Any, None]:
        yield level_three()

    @inlineCallbacks
    def level_one() -> Generator[Any, Any, None]:
        yield level_two()

    d = level_one()
    gate.callback(None)
    failure = d.result
    d.addErrback(lambda f: None)
    names = _names(failure)
    for name in ("level_one", "level_two", "level_three"):
        assert name in names
    assert names.index("level_one") < names.index("level_two") < names.index("level_three")
    text = failure.getTraceback()
    assert 'raise ValueError("deep")' in text


def test_traceback_through_nested_coroutines() -> None:
    gate: Deferred[None] = Deferred()

    async def coro_three() -> None:
        await gate
        raise KeyError("deep")

    async def coro_two() -> None:
        await ensureDeferred(coro_three())

    async def coro_one() -> None:
        await Deferred.fromCoroutine(coro_two())

    d = ensureDeferred(coro_one())
    gate.callback(None)
    failure = d.result
    d.addErrback(lambda f: None)
    names = _names(failure)
    assert names.index("coro_one") < names.index("coro_two") < names.index("coro_three")


def test_traceback_through_already_failed_awaits() -> None:
    async def thrower() -> None:
        raise IndexError("sync")

    async def awaiter() -> None:
        await ensureDeferred(thrower())

    d = ensureDeferred(awaiter())
    names = _names(d.result)
    d.addErrback(lambda f: None)
    assert "awaiter" in names and "thrower" in names


# -- coroutines ------------------------------------------------------------------


def test_coroutine_awaits_deferreds() -> None:
    clock = Clock()

    async def work(n: int) -> int:
        a = await succeed(n)
        b = await deferLater(clock, 1, lambda: 10)
        return a + b

    d = ensureDeferred(work(1))
    assert not d.called
    clock.advance(1)
    assert d.result == 11


def test_coroutine_catches_failed_deferred() -> None:
    async def work() -> str:
        try:
            await fail(ValueError("nope"))
        except ValueError as e:
            return str(e)
        return "no"

    assert Deferred.fromCoroutine(work()).result == "nope"


def test_coroutine_exception_becomes_failure() -> None:
    async def work() -> None:
        raise RuntimeError("bad")

    d = ensureDeferred(work())
    assert d.result.check(RuntimeError)
    d.addErrback(lambda f: None)


def test_ensure_deferred_passes_deferreds_and_rejects_others() -> None:
    d: Deferred[int] = Deferred()
    assert ensureDeferred(d) is d
    with pytest.raises(defer.NotACoroutineError):
        ensureDeferred(1)  # type: ignore[arg-type]
    with pytest.raises(defer.NotACoroutineError):
        Deferred.fromCoroutine(lambda: None)  # type: ignore[arg-type]


def test_cancel_coroutine_cancels_awaited() -> None:
    cancelled: list[Deferred[Any]] = []

    async def work() -> None:
        await Deferred(cancelled.append)

    d = ensureDeferred(work())
    d.cancel()
    assert len(cancelled) == 1
    assert d.result.check(defer.CancelledError)
    d.addErrback(lambda f: None)


def test_coroutine_returning_a_deferred_is_chained() -> None:
    inner: Deferred[int] = Deferred()

    async def work() -> Deferred[int]:
        return inner

    d = ensureDeferred(work())
    inner.callback(4)
    assert d.result == 4


def test_context_variables_stay_with_the_coroutine() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="outside")
    gate: Deferred[None] = Deferred()
    seen: list[str] = []

    async def work() -> None:
        var.set("inside")
        await gate
        seen.append(var.get())

    ensureDeferred(work())
    assert var.get() == "outside"
    gate.callback(None)
    assert seen == ["inside"]


def test_await_same_pending_deferred_twice_in_sequence() -> None:
    gate: Deferred[int] = Deferred()

    async def work() -> tuple[int, Any]:
        first = await gate
        again = await gate  # consumed: Twisted gives None
        return first, again

    d = ensureDeferred(work())
    gate.callback(1)
    assert d.result == (1, None)


# -- asyncio interop ---------------------------------------------------------------


def test_as_future_success_and_failure() -> None:
    async def main() -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        d: Deferred[int] = Deferred()
        loop.call_soon(d.callback, 5)
        value = await d.asFuture(loop)
        e: Deferred[int] = Deferred()
        loop.call_soon(e.errback, ValueError("async-fail"))
        try:
            await e.asFuture(loop)
        except ValueError as err:
            return value, str(err)
        return value, "no"

    assert asyncio.run(main()) == (5, "async-fail")


def test_as_future_cancel_cancels_deferred() -> None:
    cancelled: list[Deferred[Any]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        d: Deferred[int] = Deferred(cancelled.append)
        fut = d.asFuture(loop)
        fut.cancel()
        await asyncio.sleep(0)
        d.addErrback(lambda f: None)

    asyncio.run(main())
    assert len(cancelled) == 1


def test_from_future_and_cancel() -> None:
    async def main() -> tuple[Any, Any, Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        d = Deferred.fromFuture(fut)
        fut.set_result(9)
        await asyncio.sleep(0)
        bad: asyncio.Future[int] = loop.create_future()
        e = Deferred.fromFuture(bad)
        bad.set_exception(KeyError("k"))
        await asyncio.sleep(0)
        slow: asyncio.Future[int] = loop.create_future()
        c = Deferred.fromFuture(slow)
        c.cancel()
        await asyncio.sleep(0)
        results = (d.result, e.result.check(KeyError), c.result.check(asyncio.CancelledError))
        e.addErrback(lambda f: None)
        c.addErrback(lambda f: None)
        return (*results, slow.cancelled())  # type: ignore[return-value]

    value, failed, cancelled, *rest = asyncio.run(main())
    assert value == 9 and failed is KeyError and cancelled is asyncio.CancelledError
    assert rest == [True]


def test_coroutine_awaiting_asyncio_future_under_ensure_deferred() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()

        async def inner() -> int:
            fut: asyncio.Future[int] = loop.create_future()
            loop.call_soon(fut.set_result, 21)
            return (await fut) * 2

        return await ensureDeferred(inner()).asFuture(loop)

    assert asyncio.run(main()) == 42
