"""inlineCallbacks and coroutines: drive a generator/coroutine with Deferreds.

Theory of operation
-------------------
A ``_Runner`` owns one generator (or coroutine) and the Deferred that reports
its outcome.  ``_step`` sends a value (or throws a Failure's exception) into
the generator and looks at what it yields:

* a Deferred that has already fired: its result is taken on the spot and sent
  straight back in (a loop, not recursion);
* a Deferred still pending: the runner adds ``_resume`` to it and returns;
  ``_resume`` runs ``_step`` again when the Deferred fires;
* a coroutine or a generator: run by a runner of its own (as Twisted does),
  whose Deferred is then handled as above;
* an asyncio Future (only if asyncio is already imported): wrapped with
  ``Deferred.fromFuture``;
* anything else is sent straight back, as Twisted does.

The generator's outcome (its return value, or a Failure) is delivered once the
``except`` clause that caught it is left, so that exceptions raised further on
by the callbacks it runs carry no ``StopIteration`` as their ``__context__``.
``returnValue`` called by a helper function rather than by the generator itself
ends the generator all the same, with Twisted's DeprecationWarning.

``await d`` on a fired Deferred never reaches the runner at all: ``__await__``
takes the result itself.  Each runner runs its generator inside its own copy of
the ``contextvars`` context, so context variables set by the coroutine stay
with it across suspensions.

Cancelling the runner's Deferred cancels the Deferred the generator waits on.
The generator then sees ``CancelledError`` and decides: if it lets it through,
the runner's Deferred fails with it; if it carries on, the runner's Deferred
is marked fired and waits on a fresh Deferred that gets the later result.
"""

from __future__ import annotations

import contextvars
import sys
import warnings
from collections.abc import Callable, Coroutine, Generator
from functools import wraps
from types import CoroutineType, GeneratorType
from typing import Any, NoReturn, ParamSpec, TypeVar

from torsion._defer import bridge
from torsion._defer.core import _KEEP_WAITING, Deferred, _adopt, _caught, _take
from torsion._defer.errors import NotACoroutineError
from torsion.failure import Failure

__all__ = ["ensureDeferred", "inlineCallbacks", "returnValue"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class _DefGen_Return(BaseException):
    """Carries the value of ``returnValue`` out of a generator."""

    def __init__(self, value: Any) -> None:
        super().__init__(value)
        self.value = value


def returnValue(val: object) -> NoReturn:
    """Return ``val`` from an ``inlineCallbacks`` generator (a plain ``return`` also works)."""
    raise _DefGen_Return(val)


class _Runner:
    __slots__ = ("context", "deferred", "gen", "task", "waitingOn")

    def __init__(self, gen: Any) -> None:
        self.gen = gen
        self.waitingOn: Deferred[Any] | None = None
        self.context = contextvars.copy_context()
        self.deferred: Deferred[Any] = Deferred(self._cancel)
        self.task: Any = None  # asyncio's current task during our steps (see _defer.bridge)

    def _step(self, result: Any) -> None:
        token = bridge.enter(self)
        if token is None:
            self._advance(result)
            return
        try:
            self._advance(result)
        finally:
            bridge.leave(token)

    def _advance(self, result: Any) -> None:
        gen = self.gen
        run = self.context.run
        while True:
            # Each outcome leaves its ``except`` clause with ``break`` and is
            # delivered after the loop (see the module comment).
            try:
                if isinstance(result, Failure):
                    yielded = run(gen.throw, result.value.with_traceback(result.tb))
                else:
                    yielded = run(gen.send, result)
            except StopIteration as e:
                outcome = e.value
                break
            except _DefGen_Return as e:
                _warnIfNonLocal(gen, e)
                outcome = e.value
                break
            except BaseException as e:
                clearer = bridge.noLoopError(e)
                if clearer is not None:
                    clearer.__cause__ = e
                    e = clearer
                outcome = _caught(e)
                break
            if not isinstance(yielded, Deferred):
                if isinstance(yielded, (CoroutineType, GeneratorType)):
                    yielded = _run(yielded)  # as Twisted does: run it, send its result
                elif _isFuture(yielded):
                    yielded = Deferred.fromFuture(yielded)
                else:
                    result = yielded
                    continue
            if yielded.called and not (yielded.paused or yielded._runningCallbacks):
                result = _take(yielded)
                continue
            self.waitingOn = yielded
            yielded.addBoth(self._resume)
            return
        self._finish(outcome)

    def _resume(self, result: Any) -> None:
        self.waitingOn = None
        self._step(result)

    def _finish(self, result: Any) -> None:
        d = self.deferred
        d._canceller = None  # break the runner <-> Deferred cycle
        self.gen = None
        if d.called:
            return  # cancelled while the generator was running; its result has no taker
        if isinstance(result, Deferred):
            result.chainDeferred(d)
        else:
            d.callback(result)

    def _cancel(self, d: Deferred[Any]) -> Any:
        waitingOn = self.waitingOn
        if waitingOn is None:
            return None  # the generator cancelled itself: plain CancelledError
        waitingOn.cancel()
        if not d.called:
            # The generator caught the cancellation and carries on.  As in
            # Twisted, ``d`` now counts as fired, waiting on a fresh Deferred
            # that gets the generator's eventual result.
            fresh: Deferred[Any] = Deferred(self._cancel)
            self.deferred = fresh
            d._canceller = None
            d.called = True
            d.result = _adopt(d, fresh)
        return _KEEP_WAITING


def _warnIfNonLocal(gen: Any, exc: _DefGen_Return) -> None:
    """Warn (as Twisted does) when ``returnValue`` was called below the generator it ends.

    The traceback runs from ``_step`` through the generator's frame to
    ``returnValue``'s; any frame in between is a function that called
    ``returnValue`` on the generator's behalf.
    """
    code = getattr(gen, "gi_code", None) or getattr(gen, "cr_code", None)
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code is not code:
        tb = tb.tb_next
    if tb is None or tb.tb_next is None or tb.tb_next.tb_next is None:
        return  # returnValue was called by the generator itself
    caller = tb.tb_next
    while caller.tb_next is not None and caller.tb_next.tb_next is not None:
        caller = caller.tb_next
    warnings.warn_explicit(
        f"returnValue() in {caller.tb_frame.f_code.co_name!r} causing "
        f"{tb.tb_frame.f_code.co_name!r} to exit: returnValue should only be invoked "
        "by functions decorated with inlineCallbacks",
        DeprecationWarning,
        caller.tb_frame.f_code.co_filename,
        caller.tb_lineno,
    )


def _isFuture(obj: object) -> bool:
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(obj, asyncio.Future)


def _startCoroutine(coro: Any) -> Deferred[Any]:
    if not isinstance(coro, (CoroutineType, GeneratorType)) and not (
        hasattr(coro, "send") and hasattr(coro, "throw")
    ):
        raise NotACoroutineError(f"{coro!r} is not a coroutine or a generator")
    return _run(coro)


def _run(gen: Any) -> Deferred[Any]:
    runner = _Runner(gen)
    d = runner.deferred
    runner._step(None)
    return d


def ensureDeferred(
    coro: Deferred[_T] | Coroutine[Any, Any, _T] | Generator[Any, Any, _T],
) -> Deferred[_T]:
    """Return ``coro`` if it is a Deferred, else run it as ``Deferred.fromCoroutine`` does."""
    if isinstance(coro, Deferred):
        return coro
    return _startCoroutine(coro)


def inlineCallbacks(
    f: Callable[_P, Generator[Any, Any, _T]],
) -> Callable[_P, Deferred[_T]]:
    """Decorate a generator function so that ``yield d`` waits for Deferred ``d``.

    The decorated function returns a Deferred that fires with the generator's
    return value (or its exception).
    """

    @wraps(f)
    def unwindGenerator(*args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
        try:
            gen = f(*args, **kwargs)
        except _DefGen_Return:
            raise TypeError(
                f"inlineCallbacks requires {f!r} to produce a generator; "
                "it called returnValue without being one"
            ) from None
        if not isinstance(gen, GeneratorType):
            raise TypeError(
                f"inlineCallbacks requires {f!r} to produce a generator; instead got {gen!r}"
            )
        return _run(gen)

    return unwindGenerator
