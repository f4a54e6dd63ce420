"""Time-based helpers: a fake clock for tests, repeating calls, delayed Deferreds.

The Cooperator (``cooperate``, ``coiterate``) lives in ``_cooperator``.

``Clock`` is a ``DelayedCall`` owner (see ``torsion._core.timers``) whose time
only moves when told to.  It keeps its calls in a list sorted by time (with a
parallel list of the times, so bisecting never calls Python code); calls due at
the same time stay in the order they were scheduled, and a rescheduled call
goes after those already due at its new time.

``LoopingCall`` keeps the phase of its start time: each run is scheduled for
the next multiple of ``interval`` after ``starttime``, so a slow call or a late
clock skips intervals instead of drifting.  ``withCount`` tells the function
how many intervals passed since it last ran.
"""

from __future__ import annotations

import bisect
import builtins
import logging
import sys
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from torsion import _global, _log
from torsion._cooperator import (
    CooperativeTask,
    Cooperator,
    NotPaused,
    SchedulerError,
    SchedulerStopped,
    TaskDone,
    TaskFailed,
    TaskFinished,
    TaskStopped,
    _theCooperator,
    coiterate,
    cooperate,
)
from torsion._core.timers import DelayedCall
from torsion.defer import Deferred, ensureDeferred, maybeDeferred
from torsion.failure import Failure

if TYPE_CHECKING:
    from torsion.interfaces import IDelayedCall, IReactorTime

__all__ = [
    "Clock",
    "CooperativeTask",
    "Cooperator",
    "LoopingCall",
    "NotPaused",
    "SchedulerError",
    "SchedulerStopped",
    "TaskDone",
    "TaskFailed",
    "TaskFinished",
    "TaskStopped",
    "_theCooperator",
    "coiterate",
    "cooperate",
    "deferLater",
    "react",
]

_T = TypeVar("_T")

_logger = logging.getLogger("torsion.task")


def _globalReactor() -> Any:
    # Looked up on first use only: the global reactor is installed then.
    return _global.globalReactor()


class Clock:
    """A clock for tests: ``callLater`` works, but time only passes in ``advance``."""

    rightNow = 0.0

    def __init__(self) -> None:
        self.calls: list[DelayedCall] = []
        # Parallel to ``calls``: their times, so that bisect compares floats in C.
        # A call's ``time`` is its queued time until _rescheduleCall changes it.
        self._times: list[float] = []

    def seconds(self) -> float:
        """The current (fake) time."""
        return self.rightNow

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> DelayedCall:
        """Schedule ``callable(*args, **kw)`` to run ``delay`` seconds from now."""
        if not builtins.callable(callable):
            raise TypeError(f"callLater needs a callable, got {callable!r}")
        call = DelayedCall(self.seconds() + delay, callable, args, kw, self)
        self._queue(call)
        return call

    def _queue(self, call: DelayedCall) -> None:
        when = call.time
        i = bisect.bisect_right(self._times, when)
        self._times.insert(i, when)
        self.calls.insert(i, call)

    def _unqueue(self, call: DelayedCall) -> None:
        i = bisect.bisect_left(self._times, call.time)
        calls = self.calls
        while calls[i] is not call:
            i += 1
        del calls[i]
        del self._times[i]

    def _cancelCall(self, call: DelayedCall) -> None:
        self._unqueue(call)

    def _rescheduleCall(self, call: DelayedCall, time: float) -> None:
        self._unqueue(call)
        call.time = time
        self._queue(call)

    def getDelayedCalls(self) -> list[DelayedCall]:
        """The calls still scheduled, soonest first."""
        return self.calls

    def advance(self, amount: float) -> None:
        """Move time forward by ``amount`` and run what is due (exceptions propagate)."""
        self.rightNow += amount
        calls = self.calls
        while calls and self._times[0] <= self.rightNow:
            call = calls.pop(0)
            del self._times[0]
            call.called = 1
            call.func(*call.args, **call.kw)

    def pump(self, timings: Iterable[float]) -> None:
        """``advance`` by each amount in turn."""
        for amount in timings:
            self.advance(amount)


class LoopingCall:
    """Call ``f(*a, **kw)`` every ``interval`` seconds once started.

    ``start()`` returns a Deferred that fires with this LoopingCall when
    ``stop()`` is called, or fails with whatever ``f`` raised.  If ``f``
    returns a Deferred, the next call waits for it.
    """

    call: IDelayedCall | None = None
    running = False
    interval: float | None = None
    starttime: float | None = None
    _deferred: Deferred[LoopingCall] | None = None
    _runAtStart = False
    _realLastTime: float | None = None
    _clock: IReactorTime | None = None

    def __init__(self, f: Callable[..., Any], *a: Any, **kw: Any) -> None:
        self.f = f
        self.a = a
        self.kw = kw

    @property
    def clock(self) -> IReactorTime:
        """What provides ``seconds()`` and ``callLater``; the global reactor by default."""
        if self._clock is None:
            self._clock = _globalReactor()
        return self._clock

    @clock.setter
    def clock(self, value: IReactorTime) -> None:
        self._clock = value

    @property
    def deferred(self) -> Deferred[LoopingCall] | None:
        """The Deferred returned by ``start()`` while running."""
        return self._deferred

    @classmethod
    def withCount(cls, countCallable: Callable[[int], Any]) -> LoopingCall:
        """A LoopingCall that calls ``countCallable(n)``, ``n`` being the intervals elapsed.

        ``n`` is more than 1 when calls were skipped because the clock jumped
        or a call took too long.
        """

        def counter() -> Any:
            now = self.clock.seconds()
            interval = self.interval
            if not interval:
                self._realLastTime = now
                return countCallable(1)
            last = self._realLastTime
            if last is None:
                assert self.starttime is not None
                last = self.starttime
                if self._runAtStart:
                    last -= interval
            count = self._intervalOf(now) - self._intervalOf(last)
            if count > 0:
                self._realLastTime = now
                return countCallable(count)
            return None

        self = cls(counter)
        return self

    def _intervalOf(self, t: float) -> int:
        assert self.starttime is not None and self.interval
        return int((t - self.starttime) / self.interval)

    def start(self, interval: float, now: bool = True) -> Deferred[LoopingCall]:
        """Start calling every ``interval`` seconds (first call right away if ``now``)."""
        if self.running:
            raise AssertionError("Tried to start an already running LoopingCall.")
        if interval < 0:
            raise ValueError(f"interval must be >= 0, got {interval!r}")
        self.running = True
        d: Deferred[LoopingCall] = Deferred()
        self._deferred = d
        self.starttime = self.clock.seconds()
        self.interval = interval
        self._runAtStart = now
        if now:
            self()
        else:
            self._scheduleFrom(self.starttime)
        return d

    def stop(self) -> None:
        """Stop; the Deferred from ``start()`` fires with this LoopingCall."""
        if not self.running:
            raise AssertionError("Tried to stop a LoopingCall that was not running.")
        self.running = False
        if self.call is not None:
            self.call.cancel()
            self.call = None
            self._fireDeferred(self)

    def reset(self) -> None:
        """Restart the interval from now (the next call is ``interval`` from now)."""
        if not self.running:
            raise AssertionError("Tried to reset a LoopingCall that was not running.")
        if self.call is not None:
            self.call.cancel()
            self.call = None
            self.starttime = self.clock.seconds()
            self._scheduleFrom(self.starttime)

    def _fireDeferred(self, result: LoopingCall | Failure) -> None:
        d, self._deferred = self._deferred, None
        if d is not None:
            d.callback(result)

    def __call__(self) -> None:
        def succeeded(_: object) -> None:
            if self.running:
                self._scheduleFrom(self.clock.seconds())
            else:
                self._fireDeferred(self)

        def failed(failure: Failure) -> None:
            self.running = False
            self._fireDeferred(failure)

        self.call = None
        maybeDeferred(self.f, *self.a, **self.kw).addCallbacks(succeeded, failed)

    def _scheduleFrom(self, when: float) -> None:
        interval = self.interval
        assert interval is not None and self.starttime is not None
        if interval == 0:
            delay = 0.0
        else:
            delay = interval - ((when - self.starttime) % interval)
            if when + delay == when:
                delay = interval  # too small to move a float this large
        self.call = self.clock.callLater(delay, self)

    def __repr__(self) -> str:
        func = getattr(self.f, "__qualname__", None) or repr(self.f)
        return f"LoopingCall<{self.interval!r}>({func}, *{self.a!r}, **{self.kw!r})"


def deferLater(
    clock: IReactorTime,
    delay: float,
    callable: Callable[..., _T] | None = None,
    *args: Any,
    **kw: Any,
) -> Deferred[_T]:
    """A Deferred that fires with ``callable(*args, **kw)`` after ``delay`` seconds.

    Without ``callable`` it fires with None.  Cancelling it cancels the call.
    """

    def cancel(_: Deferred[Any]) -> None:
        call.cancel()

    def run(_: object) -> Any:
        return None if callable is None else callable(*args, **kw)

    d: Deferred[Any] = Deferred(cancel)
    d.addCallback(run)
    call = clock.callLater(delay, d.callback, None)
    return d


def react(
    main: Callable[..., Deferred[Any] | Coroutine[Any, Any, Any]],
    argv: Iterable[object] = (),
    _reactor: Any = None,
) -> NoReturn:
    """Run ``main(reactor, *argv)`` under the reactor, stop it when that is done, and exit.

    Exits (``SystemExit``) with 0 on success, 1 after logging a failure, or the
    code of a ``SystemExit`` raised by ``main``.
    """
    from torsion.error import ReactorNotRunning

    reactor = _globalReactor() if _reactor is None else _reactor
    started = main(reactor, *argv)
    if not hasattr(started, "send"):
        finished = ensureDeferred(started)
    else:
        # A coroutine (``async def main``) takes its first step once the
        # reactor runs, so asyncio code in it finds the running loop.
        finished = Deferred()
        reactor.callWhenRunning(lambda: ensureDeferred(started).chainDeferred(finished))
    code: Any = 0
    stopping = False

    def shuttingDown() -> None:
        nonlocal stopping
        stopping = True

    reactor.addSystemEventTrigger("before", "shutdown", shuttingDown)

    def stop(result: object, stopReactor: bool) -> None:
        nonlocal code
        if stopReactor:
            try:
                reactor.stop()
            except ReactorNotRunning:
                pass
        if isinstance(result, Failure):
            if result.check(SystemExit) is not None:
                code = getattr(result.value, "code", 1)
            else:
                _log.log_failure("main function encountered error", result, log=_logger)
                code = 1

    def done(result: object) -> None:
        if stopping:
            stop(result, False)
        else:
            reactor.callWhenRunning(stop, result, True)

    finished.addBoth(done)
    reactor.run()
    sys.exit(code)
