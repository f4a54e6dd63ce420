"""Deferred: the callback chain, chaining, pausing, cancelling, timeouts, unhandled errors."""

from __future__ import annotations

import gc
import itertools
import logging
import subprocess
import sys
from typing import Any

import pytest

from torsion import defer
from torsion._defer.core import _reportUnhandledAtShutdown
from torsion.defer import Deferred, fail, succeed
from torsion.failure import Failure
from torsion.task import Clock


def _consume(d: Deferred[Any]) -> None:
    d.addErrback(lambda f: None)


# -- basic chain -------------------------------------------------------------------


def test_callbacks_run_in_order_with_args() -> None:
    d: Deferred[int] = Deferred()
    seen: list[Any] = []
    d.addCallback(lambda r, a, b=0: r + a + b, 10, b=100)
    d.addCallback(lambda r: seen.append(r) or r * 2)
    d.addCallbacks(seen.append, callbackKeywords=None)
    assert seen == []
    d.callback(1)
    assert seen == [111, 222]
    assert d.called and d.result is None


def test_callbacks_added_after_firing_run_at_once() -> None:
    d = succeed(5)
    d.addCallback(lambda r: r + 1)
    assert d.result == 6
    d.addErrback(lambda f: 0)  # a success passes errbacks by
    assert d.result == 6
    d.addBoth(lambda r: ("both", r))
    assert d.result == ("both", 6)


def test_exception_in_callback_goes_to_errback() -> None:
    d: Deferred[int] = Deferred()
    got: list[Failure] = []

    def bad(r: int) -> int:
        raise KeyError(r)

    d.addCallback(bad)
    d.addCallback(lambda r: pytest.fail("callback after a failure"))
    d.addErrback(lambda f: got.append(f) or "recovered")
    d.callback(3)
    assert got[0].check(KeyError)
    assert d.result == "recovered"


def test_errback_forms() -> None:
    d1: Deferred[None] = Deferred()
    d1.errback(ValueError("x"))
    assert isinstance(d1.result, Failure) and d1.result.check(ValueError)
    _consume(d1)

    d2: Deferred[None] = Deferred()
    try:
        raise KeyError("y")
    except KeyError:
        d2.errback()
    assert d2.result.check(KeyError)
    _consume(d2)

    f = Failure(IndexError())
    d3: Deferred[None] = Deferred()
    d3.errback(f)
    assert d3.result is f
    _consume(d3)


def test_failure_passed_to_callback_takes_errback_path() -> None:
    d: Deferred[Any] = Deferred()
    path: list[str] = []
    d.addCallbacks(lambda r: path.append("cb"), lambda f: path.append("eb"))
    d.callback(Failure(ValueError()))
    assert path == ["eb"]


def test_callback_returning_failure_switches_to_errback() -> None:
    d = succeed(1)
    d.addCallback(lambda r: Failure(ValueError("v")))
    assert isinstance(d.result, Failure)
    d.addErrback(lambda f: f.getErrorMessage())
    assert d.result == "v"


def test_errback_returning_value_switches_back() -> None:
    d = fail(ValueError())
    d.addErrback(lambda f: 42)
    d.addCallback(lambda r: r + 1)
    assert d.result == 43


def test_already_called() -> None:
    d = succeed(1)
    with pytest.raises(defer.AlreadyCalledError):
        d.callback(2)
    with pytest.raises(defer.AlreadyCalledError):
        d.errback(ValueError())


def test_callback_with_a_deferred_is_refused() -> None:
    d: Deferred[Any] = Deferred()
    with pytest.raises(TypeError):
        d.callback(Deferred())
    assert not d.called


def test_base_exceptions_from_callbacks_become_failures() -> None:
    d = succeed(1)

    def interrupt(_: object) -> None:
        raise KeyboardInterrupt

    d.addCallback(interrupt)
    assert d.result.check(KeyboardInterrupt)
    _consume(d)


def test_callback_added_during_callback_runs_after() -> None:
    d: Deferred[int] = Deferred()
    order: list[str] = []

    def first(r: int) -> int:
        d.addCallback(lambda r: order.append(f"added:{r}"))
        order.append("first")
        return r + 1

    d.addCallback(first)
    d.addCallback(lambda r: order.append(f"second:{r}") or r)
    d.callback(0)
    assert order == ["first", "second:1", "added:1"]

    e = succeed(0)

    def nested(r: int) -> int:
        e.addCallback(lambda r: order.append(f"nested:{r}"))
        return r + 5

    order.clear()
    e.addCallback(nested)
    assert order == ["nested:5"]


def test_callback_returning_its_own_deferred_fails() -> None:
    d: Deferred[Any] = Deferred()
    d.addCallback(lambda r: d)
    d.callback(1)
    assert d.result.check(TypeError)
    _consume(d)


# -- chaining ------------------------------------------------------------------------


def test_callback_returning_unfired_deferred_pauses_chain() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    seen: list[int] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(seen.append)
    outer.callback(1)
    assert seen == []
    assert outer.paused == 1
    assert f"waiting on Deferred at {id(inner):#x}" in repr(outer)
    inner.callback(7)
    assert seen == [7]
    assert outer.paused == 0
    assert inner.result is None


def test_callback_returning_fired_deferred_takes_its_result() -> None:
    d = succeed(1)
    inner = succeed(10)
    d.addCallback(lambda r: inner)
    assert d.result == 10
    assert inner.result is None


def test_inner_failure_travels_to_outer() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    outer.addCallback(lambda r: inner)
    outer.callback(1)
    inner.errback(ValueError("inner"))
    assert outer.result.getErrorMessage() == "inner"
    assert inner.result is None
    _consume(outer)


def test_callbacks_added_to_inner_after_chaining_run_after_outer() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    order: list[str] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(lambda r: order.append(f"outer:{r}"))
    outer.callback(0)
    inner.addCallback(lambda r: order.append(f"inner:{r}"))
    inner.callback(5)
    assert order == ["outer:5", "inner:None"]


def test_fired_deferred_callback_returning_pending_deferred_waits() -> None:
    d = succeed(1)
    pending: Deferred[int] = Deferred()
    d.addCallback(lambda r: pending)
    d.addCallback(lambda r: r * 2)
    assert d.paused == 1
    pending.callback(21)
    assert d.result == 42 and not d.paused


def test_fast_path_failure_is_reported_at_gc(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        d = succeed(0)
        d.addCallback(lambda r: 1 // r)  # runs at once, outside the chain runner
        del d
        gc.collect()
    assert len(caplog.records) == 1
    assert "ZeroDivisionError" in caplog.records[0].getMessage()


def test_inner_keeps_running_after_handing_result_to_idle_waiter() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    outer.addCallback(lambda r: inner)
    outer.callback(0)
    seen: list[Any] = []
    inner.addCallback(seen.append)
    inner.addCallback(lambda r: seen.append("second"))
    inner.callback(8)
    assert outer.result == 8 and not outer.paused
    assert seen == [None, "second"]
    assert inner.callbacks == []


def test_ten_thousand_deep_chain_of_unfired_deferreds() -> None:
    depth = 10_000
    ds: list[Deferred[int]] = [Deferred() for _ in range(depth)]
    for outer, inner in itertools.pairwise(ds):
        outer.addCallback(lambda r, inner=inner: inner)
    for d in ds[:-1]:
        d.callback(0)
    result: list[int] = []
    ds[0].addCallback(result.append)
    ds[-1].callback(99)
    assert result == [99]


def test_ten_thousand_deep_chain_fired_innermost_first() -> None:
    depth = 10_000
    inner = succeed(1)
    for _ in range(depth):
        outer: Deferred[int] = Deferred()
        outer.addCallback(lambda r, inner=inner: inner)
        outer.callback(0)
        inner = outer
    assert inner.result == 1


def test_ten_thousand_deep_chain_deferred() -> None:
    depth = 10_000
    ds: list[Deferred[int]] = [Deferred() for _ in range(depth)]
    for a, b in itertools.pairwise(ds):
        a.chainDeferred(b)
    got: list[int] = []
    ds[-1].addCallback(got.append)
    ds[0].callback(3)
    assert got == [3]
    assert ds[0].result is None


def test_ten_thousand_callbacks_on_one_deferred() -> None:
    d: Deferred[int] = Deferred()
    for _ in range(10_000):
        d.addCallback(lambda r: r + 1)
    d.callback(0)
    assert d.result == 10_000


def test_chain_deferred() -> None:
    a: Deferred[int] = Deferred()
    b: Deferred[int] = Deferred()
    a.chainDeferred(b)
    seen: list[int] = []
    b.addCallback(seen.append)
    a.callback(4)
    assert seen == [4]
    assert a.result is None

    c: Deferred[int] = Deferred()
    e: Deferred[int] = Deferred()
    c.chainDeferred(e)
    c.errback(ValueError())
    assert e.result.check(ValueError)
    _consume(e)


def test_chained_deferred_forgets_its_source_once_resolved() -> None:
    # As Twisted: the chain is recorded (repr shows what it waits on) until
    # the source fires, then dropped.
    a: Deferred[None] = Deferred()
    b: Deferred[None] = Deferred()
    b.chainDeferred(a)
    assert a._chainedTo is b
    assert f"waiting on Deferred at {id(b):#x}" in repr(a)
    b.callback(None)
    assert a._chainedTo is None
    assert "waiting on" not in repr(a)


def test_chain_deferred_to_already_fired_target_fails() -> None:
    a: Deferred[int] = Deferred()
    b = succeed(1)
    a.chainDeferred(b)
    a.callback(2)
    assert a.result.check(defer.AlreadyCalledError)
    _consume(a)


# -- pause ----------------------------------------------------------------------------


def test_pause_and_unpause() -> None:
    d: Deferred[int] = Deferred()
    seen: list[int] = []
    d.addCallback(seen.append)
    d.pause()
    d.pause()
    d.callback(1)
    assert seen == [] and d.paused == 2
    d.unpause()
    assert seen == []
    d.unpause()
    assert seen == [1]


def test_addcallback_while_paused_waits() -> None:
    d = succeed(1)
    d.pause()
    seen: list[int] = []
    d.addCallback(seen.append)
    assert seen == []
    d.unpause()
    assert seen == [1]


# -- cancellation ----------------------------------------------------------------------


def test_cancel_without_canceller_errbacks_and_suppresses_later_fire() -> None:
    d: Deferred[int] = Deferred()
    d.cancel()
    assert d.result.check(defer.CancelledError)
    d.callback(1)  # the producer still fires it: ignored once
    with pytest.raises(defer.AlreadyCalledError):
        d.callback(2)
    _consume(d)


def test_cancel_calls_canceller() -> None:
    calls: list[Deferred[Any]] = []
    d: Deferred[int] = Deferred(calls.append)
    d.cancel()
    assert calls == [d]
    assert d.result.check(defer.CancelledError)
    with pytest.raises(defer.AlreadyCalledError):
        d.callback(1)
    _consume(d)


def test_canceller_that_fires_wins() -> None:
    d: Deferred[str] = Deferred(lambda d: d.callback("handled"))
    d.cancel()
    assert d.result == "handled"


def test_cancel_after_firing_does_nothing() -> None:
    d = succeed(1)
    d.cancel()
    assert d.result == 1


def test_cancel_outer_cancels_inner() -> None:
    cancelled: list[Deferred[Any]] = []
    inner: Deferred[int] = Deferred(cancelled.append)
    outer: Deferred[int] = Deferred()
    outer.addCallback(lambda r: inner)
    outer.callback(0)
    outer.cancel()
    assert cancelled == [inner]
    assert outer.result.check(defer.CancelledError)
    _consume(outer)


# -- timeouts ---------------------------------------------------------------------


def test_add_timeout_times_out() -> None:
    clock = Clock()
    d: Deferred[int] = Deferred()
    d.addTimeout(5, clock)
    clock.advance(4.9)
    assert not d.called
    clock.advance(0.2)
    err = d.result
    assert err.check(defer.TimeoutError)
    assert err.value.args == (5, "Deferred")
    assert clock.getDelayedCalls() == []
    _consume(d)


def test_add_timeout_fired_in_time_cancels_timer() -> None:
    clock = Clock()
    d: Deferred[int] = Deferred()
    d.addTimeout(5, clock)
    d.callback(3)
    assert d.result == 3
    assert clock.getDelayedCalls() == []


def test_add_timeout_custom_handler_and_other_errors() -> None:
    clock = Clock()
    d: Deferred[int] = Deferred()
    d.addTimeout(1, clock, onTimeoutCancel=lambda result, timeout: ("late", timeout))
    clock.advance(1)
    assert d.result == ("late", 1)

    e: Deferred[int] = Deferred()
    e.addTimeout(1, clock)
    e.errback(KeyError())  # a failure before the timeout is left alone
    assert e.result.check(KeyError)
    _consume(e)


# -- repr, debugging ------------------------------------------------------------------


def test_repr() -> None:
    d: Deferred[int] = Deferred()
    assert repr(d) == f"<Deferred at {id(d):#x}>"
    d.callback(3)
    assert repr(d) == f"<Deferred at {id(d):#x} current result: 3>"
    assert str(d) == repr(d)


def test_debugging_records_creator_and_invoker() -> None:
    assert defer.getDebugging() is False
    defer.setDebugging(True)
    try:
        assert defer.getDebugging() and Deferred.debug
        d = succeed(1)
        with pytest.raises(defer.AlreadyCalledError) as info:
            d.callback(2)
        text = str(info.value)
        assert "C: Deferred was created" in text and "I: First Invoker was" in text
        assert "test_debugging_records_creator_and_invoker" in text
    finally:
        defer.setDebugging(False)
    assert not Deferred.debug


def test_generic_subscription() -> None:
    d = Deferred[int]()
    d.callback(1)
    assert d.result == 1


# -- unhandled errors ------------------------------------------------------------------


def _make_unhandled() -> None:
    d: Deferred[int] = Deferred()
    d.addCallback(lambda r: 1 // r)
    d.callback(0)


def test_unhandled_error_logged_at_garbage_collection(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        _make_unhandled()
        gc.collect()
    records = [r for r in caplog.records if r.name == "torsion.defer"]
    assert len(records) == 1
    text = records[0].getMessage()
    assert text.startswith("Unhandled error in Deferred:")
    assert "ZeroDivisionError" in text and "1 // r" in text


def test_unhandled_error_in_a_cycle_logged_at_gc(caplog: pytest.LogCaptureFixture) -> None:
    def make() -> None:
        d: Deferred[int] = Deferred()

        def bad(r: int, keep: Deferred[int] = d) -> int:
            raise ValueError("cyclic")  # the traceback's frame refers to d

        d.addCallback(bad)
        d.callback(0)

    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        make()
        gc.collect()
    assert any("cyclic" in r.getMessage() for r in caplog.records)


def test_handled_error_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        d = fail(ValueError())
        d.addErrback(lambda f: None)
        outer: Deferred[int] = Deferred()
        inner = fail(KeyError())
        outer.addCallback(lambda r, inner=inner: inner)
        outer.callback(0)
        outer.addErrback(lambda f: None)
        del d, outer, inner
        gc.collect()
    assert [r for r in caplog.records if r.name == "torsion.defer"] == []


def test_failure_handed_to_waiting_deferred_is_not_reported_for_inner(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        outer: Deferred[int] = Deferred()
        inner: Deferred[int] = Deferred()
        outer.addCallback(lambda r, inner=inner: inner)
        outer.callback(0)
        inner.errback(ValueError("once"))
        del inner
        gc.collect()
        assert caplog.records == []
        del outer
        gc.collect()
    assert len([r for r in caplog.records if "once" in r.getMessage()]) == 1


def test_report_unhandled_at_shutdown(caplog: pytest.LogCaptureFixture) -> None:
    gc.collect()
    _reportUnhandledAtShutdown()  # anything left by earlier tests
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        held = [fail(ValueError("held1")), fail(KeyError("held2"))]
        handled = fail(IndexError())
        handled.addErrback(lambda f: None)
        assert _reportUnhandledAtShutdown() == 2
        assert _reportUnhandledAtShutdown() == 0
        messages = [r.getMessage() for r in caplog.records]
        assert len(messages) == 2
        assert "held1" in messages[0] and "held2" in messages[1]
        del held
        gc.collect()  # already reported: not logged again
    assert len(caplog.records) == 2


def test_unhandled_logged_again_if_reraised_after_handling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        d = fail(ValueError("first"))
        d.addErrback(lambda f: f.trap(KeyError))  # does not handle it
        del d
        gc.collect()
    assert len(caplog.records) == 1


def test_import_does_not_load_asyncio() -> None:
    code = "import sys, torsion.defer, torsion.task; print('asyncio' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


# -- the hand-over fast path and the runner's exact-type shortcuts ---------------------


def test_chained_target_repr_shows_result_once_fired() -> None:
    source: Deferred[int] = Deferred()
    target: Deferred[int] = Deferred()
    source.chainDeferred(target)
    assert f"waiting on Deferred at {id(source):#x}" in repr(target)
    source.callback(1)
    assert repr(target) == f"<Deferred at {id(target):#x} current result: 1>"


def test_inner_failure_handed_to_waiter_without_callbacks_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def make() -> None:
        outer: Deferred[int] = Deferred()
        inner: Deferred[int] = Deferred()
        outer.addCallback(lambda r: inner)
        outer.callback(0)
        inner.errback(ZeroDivisionError("handed over"))
        assert inner.result is None and isinstance(outer.result, Failure)

    with caplog.at_level(logging.ERROR, logger="torsion.defer"):
        make()
        gc.collect()
    records = [r for r in caplog.records if r.name == "torsion.defer"]
    assert len(records) == 1 and "handed over" in records[0].getMessage()


def test_paused_inner_hands_over_only_when_unpaused() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    seen: list[Any] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(seen.append)
    outer.callback(0)
    inner.pause()
    inner.callback(4)
    assert seen == [] and outer.paused
    inner.unpause()
    assert seen == [4] and inner.result is None and not outer.paused


def test_inner_hands_over_then_runs_its_own_entries() -> None:
    outer: Deferred[int] = Deferred()
    inner: Deferred[int] = Deferred()
    seen: list[Any] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(lambda r: seen.append(("outer", r)))
    outer.callback(0)
    inner.addCallback(lambda r: seen.append(("inner", r)))
    inner.callback(5)
    assert seen == [("outer", 5), ("inner", None)]
    assert outer.callbacks == [] and inner.callbacks == []


# After an inner Deferred hands its result over, the outer's next callback runs
# at once (the fast path of chaining): each way that callback can end.


def _waiting_outer(next_step: Any) -> tuple[Deferred[Any], Deferred[Any], list[Any]]:
    outer: Deferred[Any] = Deferred()
    inner: Deferred[Any] = Deferred()
    seen: list[Any] = []
    outer.addCallback(lambda r: inner)
    outer.addCallback(next_step)
    outer.addCallbacks(lambda r: seen.append(("ok", r)), lambda f: seen.append(("err", f)))
    outer.callback(0)
    return outer, inner, seen


def test_after_hand_over_a_raising_callback_takes_the_errback_path() -> None:
    def boom(r: int) -> None:
        raise ValueError(f"boom {r}")

    outer, inner, seen = _waiting_outer(boom)
    inner.callback(3)  # must not raise here: the failure belongs to outer's chain
    [(kind, failure)] = seen
    assert kind == "err" and failure.check(ValueError) and str(failure.value) == "boom 3"
    assert inner.result is None and outer.result is None and not outer.paused


def test_after_hand_over_a_callback_returning_a_fired_deferred_takes_its_result() -> None:
    outer, inner, seen = _waiting_outer(lambda r: succeed(r * 10))
    inner.callback(3)
    assert seen == [("ok", 30)]
    assert not outer.paused


def test_after_hand_over_a_callback_returning_a_pending_deferred_waits_again() -> None:
    second: Deferred[int] = Deferred()
    outer, inner, seen = _waiting_outer(lambda r: second)
    inner.callback(3)
    assert seen == [] and outer.paused
    assert f"waiting on Deferred at {id(second):#x}" in repr(outer)
    second.callback(4)
    assert seen == [("ok", 4)] and not outer.paused


def test_after_hand_over_a_callback_returning_its_own_deferred_fails() -> None:
    box: list[Deferred[Any]] = []
    outer, inner, seen = _waiting_outer(lambda r: box[0])
    box.append(outer)
    inner.callback(3)
    [(kind, failure)] = seen
    assert kind == "err" and failure.check(TypeError)
    assert not outer.paused


def test_after_hand_over_a_callback_returning_a_failure_takes_the_errback_path() -> None:
    outer, inner, seen = _waiting_outer(lambda r: Failure(KeyError(r)))
    inner.callback(3)
    [(kind, failure)] = seen
    assert kind == "err" and failure.check(KeyError)
    assert outer.callbacks == [] and outer.result is None


def test_a_waiting_deferred_paused_by_its_user_runs_nothing_until_unpaused() -> None:
    ran: list[Any] = []
    outer, inner, seen = _waiting_outer(lambda r: ran.append(r) or r)
    outer.pause()
    inner.callback(3)
    assert ran == [] and seen == []
    outer.unpause()
    assert ran == [3] and seen == [("ok", 3)]


def test_waiting_on_subclass_and_subclass_waiting() -> None:
    class Sub(Deferred[Any]):
        pass

    for outer, inner in ((Sub(), Deferred()), (Deferred(), Sub())):
        seen: list[Any] = []
        outer.addCallback(lambda r, inner=inner: inner)
        outer.addCallback(seen.append)
        outer.callback(0)
        assert f"waiting on Deferred at {id(inner):#x}" in repr(outer)
        inner.callback(7)
        assert seen == [7]


def test_results_of_builtin_subclasses_and_failures_are_recognised() -> None:
    class MyInt(int):
        pass

    d: Deferred[Any] = Deferred()
    seen: list[Any] = []
    d.addCallback(lambda r: MyInt(r))
    d.addCallback(lambda r: Failure(KeyError(r)))
    d.addCallback(seen.append)  # skipped: a Failure is on the chain
    d.addErrback(lambda f: seen.append(f.type) or "ok")
    d.callback(3)
    assert seen == [KeyError] and d.result == "ok"


def test_pause_after_several_callbacks_keeps_the_rest_in_line() -> None:
    outer: Deferred[int] = Deferred()
    inners = [Deferred[int]() for _ in range(3)]
    seen: list[Any] = []
    outer.addCallback(lambda r: r + 1)
    outer.addCallback(lambda r: r + 1)
    for inner in inners:
        outer.addCallback(lambda r, inner=inner: inner)
        outer.addCallback(lambda r: seen.append(r) or r)
    outer.callback(0)
    assert len(outer.callbacks) == 5
    for i, inner in enumerate(inners):
        inner.callback(i * 10)
    assert seen == [0, 10, 20] and outer.callbacks == []
