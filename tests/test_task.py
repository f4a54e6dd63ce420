"""task: Clock, LoopingCall, deferLater, react."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from torsion import defer, error, task
from torsion.defer import Deferred
from torsion.task import Clock, LoopingCall, deferLater

# -- Clock ------------------------------------------------------------------------


def test_clock_runs_calls_in_time_then_scheduling_order() -> None:
    clock = Clock()
    order: list[str] = []
    clock.callLater(2, order.append, "b")
    clock.callLater(1, order.append, "a")
    clock.callLater(2, order.append, "c")
    clock.callLater(3, lambda **kw: order.append(kw["x"]), x="d")
    assert [c.getTime() for c in clock.getDelayedCalls()] == [1, 2, 2, 3]
    clock.advance(1.5)
    assert order == ["a"]
    assert clock.seconds() == 1.5 and clock.rightNow == 1.5
    clock.advance(10)
    assert order == ["a", "b", "c", "d"]
    assert clock.getDelayedCalls() == []


def test_clock_cancel_reset_delay() -> None:
    clock = Clock()
    order: list[str] = []
    a = clock.callLater(1, order.append, "a")
    b = clock.callLater(2, order.append, "b")
    c = clock.callLater(3, order.append, "c")
    b.cancel()
    assert not b.active() and b not in clock.getDelayedCalls()
    a.reset(5)  # now due at 5
    c.delay(-2.5)  # now due at 0.5
    assert [x.getTime() for x in clock.getDelayedCalls()] == [0.5, 5]
    clock.advance(5)
    assert order == ["c", "a"]
    assert a.called and not a.active()
    with pytest.raises(error.AlreadyCalled):
        a.cancel()
    with pytest.raises(error.AlreadyCancelled):
        b.cancel()


def test_clock_calls_scheduled_during_advance_run_if_due() -> None:
    clock = Clock()
    order: list[str] = []

    def first() -> None:
        order.append("first")
        clock.callLater(0, order.append, "now")
        clock.callLater(1, order.append, "later")

    clock.callLater(1, first)
    clock.advance(1)
    assert order == ["first", "now"]
    clock.advance(1)
    assert order == ["first", "now", "later"]


def test_clock_exception_propagates_and_leaves_the_rest() -> None:
    clock = Clock()
    order: list[str] = []
    clock.callLater(1, lambda: 1 // 0)
    clock.callLater(1, order.append, "after")
    with pytest.raises(ZeroDivisionError):
        clock.advance(1)
    assert order == []
    clock.advance(0)
    assert order == ["after"]


def test_clock_pump_and_callable_check() -> None:
    clock = Clock()
    times: list[float] = []
    for t in (1, 2, 3):
        clock.callLater(t, lambda: times.append(clock.seconds()))
    clock.pump([1, 1, 1])
    assert times == [1, 2, 3]
    with pytest.raises(TypeError):
        clock.callLater(1, "not callable")  # type: ignore[arg-type]


# -- LoopingCall -------------------------------------------------------------------


def _looping(f: Callable[..., Any], *a: Any, **kw: Any) -> tuple[LoopingCall, Clock]:
    clock = Clock()
    lc = LoopingCall(f, *a, **kw)
    lc.clock = clock
    return lc, clock


def test_looping_call_runs_every_interval_and_stops() -> None:
    calls: list[float] = []
    lc, clock = _looping(lambda tag: calls.append(clock.seconds()), "tag")
    d = lc.start(2)
    assert lc.running and lc.interval == 2 and lc.deferred is d
    assert calls == [0]
    clock.pump([1, 1, 1, 1])
    assert calls == [0, 2, 4]
    lc.stop()
    assert d.result is lc and not lc.running
    clock.advance(10)
    assert calls == [0, 2, 4]
    assert clock.getDelayedCalls() == []


def test_looping_call_now_false() -> None:
    calls: list[float] = []
    lc, clock = _looping(lambda: calls.append(clock.seconds()))
    lc.start(1, now=False)
    assert calls == []
    clock.advance(1)
    assert calls == [1]
    lc.stop()


def test_looping_call_keeps_phase_and_skips_missed_intervals() -> None:
    calls: list[float] = []
    lc, clock = _looping(lambda: calls.append(clock.seconds()))
    lc.start(1)
    clock.advance(3.5)  # one late call, not three
    assert calls == [0, 3.5]
    assert [c.getTime() for c in clock.getDelayedCalls()] == [4]
    lc.stop()


def test_looping_call_with_count_matches_twisted_counting() -> None:
    counts: list[int] = []
    clock = Clock()
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(1.0)
    clock.advance(1)
    clock.advance(3.5)
    clock.advance(0.5)
    clock.pump([0.25] * 4)
    assert counts == [1, 1, 3, 1, 1]  # what Twisted's LoopingCall reports
    assert [c.getTime() for c in clock.getDelayedCalls()] == [7.0]
    lc.stop()

    counts.clear()
    lc = LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(1.0, now=False)
    clock.advance(2.5)
    assert counts == [2]
    lc.stop()


def test_looping_call_waits_for_returned_deferred() -> None:
    pending: list[Deferred[None]] = []

    def f() -> Deferred[None]:
        d: Deferred[None] = Deferred()
        pending.append(d)
        return d

    lc, clock = _looping(f)
    lc.start(1)
    clock.advance(1)
    clock.advance(1)
    assert len(pending) == 1  # still waiting on the first
    pending[0].callback(None)
    assert [c.getTime() for c in clock.getDelayedCalls()] == [3]
    clock.advance(1)
    assert len(pending) == 2
    done = lc.deferred
    assert done is not None
    lc.stop()
    assert not done.called  # fires once the pending call completes
    pending[1].callback(None)
    assert done.result is lc


def test_looping_call_error_stops_and_errbacks() -> None:
    n: list[int] = []

    def f() -> None:
        n.append(1)
        if len(n) == 2:
            raise ValueError("stop")

    lc, clock = _looping(f)
    d = lc.start(1)
    clock.advance(1)
    assert not lc.running
    assert d.result.check(ValueError)
    clock.advance(5)
    assert len(n) == 2
    d.addErrback(lambda f: None)


def test_looping_call_reset_and_misuse() -> None:
    calls: list[float] = []
    lc, clock = _looping(lambda: calls.append(clock.seconds()))
    with pytest.raises(AssertionError):
        lc.stop()
    with pytest.raises(AssertionError):
        lc.reset()
    with pytest.raises(ValueError):
        lc.start(-1)
    lc.start(2)
    with pytest.raises(AssertionError):
        lc.start(2)
    clock.advance(1.5)
    lc.reset()
    clock.advance(1.5)
    assert calls == [0]
    clock.advance(0.5)
    assert calls == [0, 3.5]
    lc.stop()


def test_looping_call_repr() -> None:
    def tick() -> None:
        pass

    lc = LoopingCall(tick, 1, k=2)
    assert repr(lc) == "LoopingCall<None>(test_looping_call_repr.<locals>.tick, *(1,), **{'k': 2})"


def test_looping_call_default_clock_is_the_global_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    from torsion import _global

    asked: list[str] = []
    fake = object()

    def fake_global() -> object:
        asked.append("global")
        return fake

    monkeypatch.setattr(_global, "globalReactor", fake_global)
    lc = LoopingCall(lambda: None)
    assert asked == []  # nothing looked up until the clock is needed
    assert lc.clock is fake
    assert asked == ["global"]


# -- deferLater -------------------------------------------------------------------


def test_defer_later() -> None:
    clock = Clock()
    d = deferLater(clock, 2, lambda a, b: a + b, 1, b=2)
    clock.advance(1)
    assert not d.called
    clock.advance(1)
    assert d.result == 3
    e = deferLater(clock, 1)
    clock.advance(1)
    assert e.called and e.result is None


def test_defer_later_error_and_cancel() -> None:
    clock = Clock()
    d = deferLater(clock, 1, lambda: 1 // 0)
    clock.advance(1)
    assert d.result.check(ZeroDivisionError)
    d.addErrback(lambda f: None)

    called: list[int] = []
    c = deferLater(clock, 1, called.append, 1)
    c.cancel()
    assert c.result.check(defer.CancelledError)
    assert clock.getDelayedCalls() == []
    clock.advance(2)
    assert called == []
    c.addErrback(lambda f: None)


# -- react ----------------------------------------------------------------------------


class _FakeReactor:
    """Just enough reactor for react(): triggers, callWhenRunning, run/stop on a Clock."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.running = False
        self.stopped = False
        self.whenRunning: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.triggers: list[tuple[str, str, Callable[[], Any]]] = []

    def callLater(self, delay: float, f: Callable[..., Any], *a: Any) -> Any:
        return self.clock.callLater(delay, f, *a)

    def addSystemEventTrigger(self, phase: str, event: str, f: Callable[[], Any]) -> None:
        self.triggers.append((phase, event, f))

    def callWhenRunning(self, f: Callable[..., Any], *a: Any) -> None:
        if self.running:
            f(*a)
        else:
            self.whenRunning.append((f, a))

    def run(self) -> None:
        self.running = True
        for f, a in self.whenRunning:
            f(*a)
        while self.running and self.clock.getDelayedCalls():
            self.clock.advance(self.clock.getDelayedCalls()[0].getTime() - self.clock.seconds())

    def stop(self) -> None:
        if not self.running:
            raise error.ReactorNotRunning()
        for phase, event, f in self.triggers:
            if (phase, event) == ("before", "shutdown"):
                f()
        self.running = False
        self.stopped = True


def test_react_success_exits_zero() -> None:
    reactor = _FakeReactor()
    seen: list[Any] = []

    def main(r: _FakeReactor, *argv: str) -> Deferred[None]:
        seen.append(argv)
        return deferLater(r.clock, 1)

    with pytest.raises(SystemExit) as info:
        task.react(main, ["a", "b"], _reactor=reactor)
    assert info.value.code == 0
    assert seen == [("a", "b")] and reactor.stopped


def test_react_failure_logs_and_exits_one(caplog: pytest.LogCaptureFixture) -> None:
    reactor = _FakeReactor()

    async def main(r: _FakeReactor) -> None:
        await deferLater(r.clock, 1)
        raise KeyError("main broke")

    with caplog.at_level(logging.ERROR, logger="torsion.task"), pytest.raises(SystemExit) as info:
        task.react(main, _reactor=reactor)
    assert info.value.code == 1
    assert "main broke" in caplog.text


def test_react_system_exit_code_and_synchronous_result() -> None:
    reactor = _FakeReactor()

    def main(r: _FakeReactor) -> Deferred[None]:
        return defer.fail(SystemExit(7))

    with pytest.raises(SystemExit) as info:
        task.react(main, _reactor=reactor)
    assert info.value.code == 7
    assert reactor.stopped
