"""Differential tests: the same scenario on Twisted's Deferred and torsion's.

Each scenario gets the module pair (defer, task) and an event log; it records
what it observes, failures reduced to (exception name, message).  The logs of
the two implementations must be equal.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator
from typing import Any

import pytest

pytest.importorskip("twisted")

# Twisted's LoopingCall imports (and so installs) its global reactor, which
# opens descriptors: do it at collection, not inside a test.
from twisted.internet import defer as tdefer
from twisted.internet import reactor as _treactor  # noqa: F401
from twisted.internet import task as ttask
from twisted.python import failure as tfailure

from torsion import defer as xdefer
from torsion import failure as xfailure
from torsion import task as xtask

pytestmark = pytest.mark.twisted_oracle

Scenario = Callable[[types.ModuleType, types.ModuleType, list[Any]], None]


def _norm(value: Any) -> Any:
    if isinstance(value, (tfailure.Failure, xfailure.Failure)):
        return ("Failure", value.type.__name__, value.getErrorMessage())
    if isinstance(value, tuple):
        return tuple(_norm(v) for v in value)
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, (tdefer.Deferred, xdefer.Deferred)):
        return "Deferred"
    return value


def _compare(scenario: Scenario) -> list[Any]:
    logs = []
    for defer, task in ((tdefer, ttask), (xdefer, xtask)):
        log: list[Any] = []
        scenario(defer, task, log)
        logs.append([_norm(e) for e in log])
    assert logs[0] == logs[1]
    return logs[1]


def _rec(log: list[Any], tag: str) -> Callable[[Any], Any]:
    def record(result: Any) -> Any:
        log.append((tag, result))
        return result

    return record


def _silence(d: Any) -> None:
    d.addErrback(lambda f: None)


def test_oracle_callback_chain_with_nesting_and_errors() -> None:
    def scenario(defer: Any, task: Any, log: list[Any]) -> None:
        outer = defer.Deferred()
        inner = defer.Deferred()
        outer.addCallback(_rec(log, "cb1"))
        outer.addCallback(lambda r: inner)
        outer.addCallback(_rec(log, "after-inner"))
        outer.addCallback(lambda r: 1 // 0)
        outer.addCallbacks(_rec(log, "skipped"), _rec(log, "eb"))
        outer.addErrback(lambda f: f.trap(ZeroDivisionError) and "recovered")
        outer.addBoth(_rec(log, "both"))
        outer.callback("start")
        log.append(("paused", outer.paused))
        inner.addCallback(_rec(log, "inner-own"))
        inner.callback("from-inner")
        log.append(("outer", outer.result, "inner", inner.result))

    _compare(scenario)


def test_oracle_pause_cancel_and_chain_deferred() -> None:
    def scenario(defer: Any, task: Any, log: list[Any]) -> None:
        d = defer.Deferred(lambda d: log.append("canceller"))
        d.addBoth(_rec(log, "cancelled"))
        d.cancel()
        _silence(d)
        try:
            d.callback(1)
        except defer.AlreadyCalledError:
            log.append("already called")

        a = defer.Deferred()
        b = defer.Deferred()
        b.addCallback(_rec(log, "b"))
        a.chainDeferred(b)
        a.pause()
        a.callback("chained")
        log.append(("b called", b.called))
        a.unpause()
        log.append(("a", a.result))

        c = defer.Deferred()
        c.cancel()
        c.callback("ignored after cancel")
        log.append(("c", c.result))
        _silence(c)

        inner = defer.Deferred(lambda d: log.append("inner canceller"))
        outer = defer.succeed(0)
        outer.addCallback(lambda r: inner)
        outer.cancel()
        log.append(("outer", outer.result))
        _silence(outer)

    _compare(scenario)


def test_oracle_deferred_list_gather_race() -> None:
    def scenario(defer: Any, task: Any, log: list[Any]) -> None:
        a, b, c = defer.Deferred(), defer.Deferred(), defer.Deferred()
        defer.DeferredList([a, b, c], consumeErrors=True).addCallback(_rec(log, "dl"))
        b.errback(ValueError("b"))
        c.callback("c")
        a.callback("a")

        x, y = defer.Deferred(), defer.Deferred()
        g = defer.gatherResults([x, y], consumeErrors=True)
        g.addErrback(lambda f: log.append(("gather", f.value.index, _norm(f.value.subFailure))))
        y.errback(KeyError("y"))
        x.callback(1)

        p = defer.Deferred(lambda d: log.append("p cancelled"))
        q = defer.Deferred(lambda d: log.append("q cancelled"))
        r = defer.race([p, q])
        r.addCallback(_rec(log, "race"))
        q.callback("q wins")
        log.append(("p", p.result))

        s, t = defer.Deferred(), defer.Deferred()
        r2 = defer.race([s, t])
        r2.addErrback(lambda f: log.append(("race failed", [_norm(x) for x in f.value.failures])))
        t.errback(ValueError("t"))
        s.errback(KeyError("s"))

    _compare(scenario)


def test_oracle_inline_callbacks_and_coroutines() -> None:
    def scenario(defer: Any, task: Any, log: list[Any]) -> None:
        gate = defer.Deferred()
        stuck = defer.Deferred()

        @defer.inlineCallbacks
        def gen() -> Generator[Any, Any, Any]:
            x = yield defer.succeed(1)
            log.append(("gen got", x))
            try:
                yield stuck
            except defer.CancelledError:
                log.append("gen saw cancel")
            y = yield gate
            return x + y

        d = gen()
        d.addBoth(_rec(log, "gen result"))
        d.cancel()
        log.append(("called after cancel", d.called))
        gate.callback(41)

        async def coro() -> Any:
            try:
                await defer.fail(ValueError("awaited"))
            except ValueError as e:
                log.append(("coro caught", str(e)))
            return await defer.succeed("coro done")

        defer.ensureDeferred(coro()).addBoth(_rec(log, "coro"))

    _compare(scenario)


def test_oracle_looping_call_and_timeouts() -> None:
    def scenario(defer: Any, task: Any, log: list[Any]) -> None:
        clock = task.Clock()
        lc = task.LoopingCall.withCount(lambda n: log.append(("count", clock.seconds(), n)))
        lc.clock = clock
        lc.start(1.5).addCallback(lambda lc: log.append("stopped"))
        clock.pump([1, 1, 4, 0.25, 2])
        lc.stop()

        d = defer.Deferred()
        d.addTimeout(3, clock)
        d.addErrback(lambda f: log.append(("timeout", f.type.__name__, f.value.args)))
        clock.advance(3)

        later = task.deferLater(clock, 2, lambda: "later")
        later.addCallback(_rec(log, "deferLater"))
        clock.advance(2)
        log.append(("pending", len(clock.getDelayedCalls())))

    _compare(scenario)
