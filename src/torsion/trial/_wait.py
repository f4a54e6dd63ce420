"""Running a reactor until a Deferred fires, and saying where a test waits.

``spin(reactor, d)`` drives the reactor's loop until ``d`` has fired, then
*crashes* it (stops the loop without the shutdown event), as trial does: the
reactor keeps its connections and can run again, so one reactor (the global
one) serves test after test.  While it spins, ``reactor.stop()`` only crashes
it, so code under test that stops the reactor ends the wait instead of
killing the reactor for every later test.

``runUntil(reactor, d, timeout)`` is the other way, for a reactor that lives
for one test: it ``run()``s the reactor until ``d`` fires and then ``stop()``s
it, so the shutdown event runs (connections close, the thread pool stops).

``whereWaiting(d, coro)`` describes where a test that did not finish is
suspended: the innermost frame of its coroutine or ``inlineCallbacks``
generator outside torsion itself, with its source line, and the Deferred it
awaits.
"""

from __future__ import annotations

import linecache
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from torsion import error
from torsion.defer import Deferred
from torsion.failure import Failure

if TYPE_CHECKING:
    from torsion._core.base import ReactorCore

_T = TypeVar("_T")

__all__ = ["ReactorTimeout", "runUntil", "spin", "whereWaiting"]

_TORSION_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ReactorTimeout(AssertionError):
    """A Deferred did not fire within the time given to ``runUntil``."""


def spin(reactor: Any, d: Deferred[Any]) -> bool:
    """Run ``reactor`` until ``d`` fires (see the module comment); did it fire?

    Returns False when the loop ended for another reason (a ``crash()``).
    """
    if reactor.running:
        raise RuntimeError(
            "cannot wait for a Deferred inside a running reactor "
            "(is this test itself running on the reactor?)"
        )
    fired: list[bool] = []

    def done(result: Any) -> Any:
        fired.append(True)
        reactor.crash()
        return result

    d.addBoth(done)
    if fired:
        return True
    reactor.stop = reactor.crash
    try:
        reactor.startRunning(installSignalHandlers=False)
        reactor.mainLoop()
    finally:
        del reactor.stop
    return bool(fired)


def runUntil(reactor: ReactorCore, d: Deferred[_T], timeout: float = 10.0) -> _T:
    """Run ``reactor`` until ``d`` fires, then stop it; ``d``'s result or its exception.

    Fails with ``ReactorTimeout`` (naming where the wait was) if ``d`` has not
    fired after ``timeout`` seconds.
    """
    outcome: list[Any] = []

    def stop() -> None:
        try:
            reactor.stop()
        except error.ReactorNotRunning:
            pass  # already stopping

    def done(result: Any) -> None:
        outcome.append(result)
        stop()

    def expire() -> None:
        where = whereWaiting(d)
        outcome.append(
            Failure(ReactorTimeout(f"Deferred did not fire within {timeout}s: {where}"))
        )
        stop()

    guard = reactor.callLater(timeout, expire)
    d.addBoth(done)
    if not outcome:
        reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    if not outcome:
        raise RuntimeError("the reactor stopped before the Deferred fired")
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    fired: _T = result
    return fired


# -- where is it waiting? -------------------------------------------------------


def _runnerOf(d: Deferred[Any]) -> Any:
    """The inlineCallbacks/coroutine runner feeding ``d``, if it is one (best effort)."""
    canceller = getattr(d, "_canceller", None)
    runner = getattr(canceller, "__self__", None)
    return runner if hasattr(runner, "gen") else None


def _frames(gen: Any) -> list[Any]:
    """The frames of ``gen`` and of what it awaits, outermost first."""
    frames = []
    while gen is not None:
        frame = getattr(gen, "cr_frame", None) or getattr(gen, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        gen = getattr(gen, "cr_await", None) or getattr(gen, "gi_yieldfrom", None)
    return frames


def _describeFrame(frame: Any) -> str:
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    text = f"{code.co_filename}:{frame.f_lineno} in {code.co_name}"
    return f"{text}: {line}" if line else text


def whereWaiting(d: Deferred[Any], coro: Any = None) -> str:
    """A description of where the work behind ``d`` (or ``coro``) is suspended."""
    runner = _runnerOf(d)
    gen = coro if coro is not None else getattr(runner, "gen", None)
    frames = _frames(gen)
    awaited: Any = getattr(runner, "waitingOn", None)
    ours = [f for f in frames if not f.f_code.co_filename.startswith(_TORSION_DIR)]
    if frames and frames[-1] not in ours:
        # The innermost frame is torsion's Deferred.__await__: what it awaits.
        awaited = frames[-1].f_locals.get("self", awaited)
    parts = []
    if ours:
        parts.append("waiting at " + _describeFrame(ours[-1]))
    if isinstance(awaited, Deferred):
        parts.append(f"on {awaited!r}")
    elif not ours:
        parts.append(f"waiting on {d!r}")
    return " ".join(parts)


def describeCall(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or repr(f)
