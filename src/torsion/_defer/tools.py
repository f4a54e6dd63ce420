"""Tools built on Deferred: calling into them, waiting on many, and sharing access.

``DeferredList`` records each result in its slot as it arrives and fires once
all have (or at the first success/failure when asked to).  ``race`` fires with
the first success and cancels the rest.  ``DeferredLock``, ``DeferredSemaphore``
and ``DeferredQueue`` hand out Deferreds that fire, in request order, when the
resource is available; cancelling a waiting Deferred withdraws its request.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from types import CoroutineType, TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

from torsion import _log
from torsion._defer.core import Deferred, _logger, fail, succeed
from torsion._defer.errors import (
    FailureGroup,
    FirstError,
    QueueOverflow,
    QueueUnderflow,
    TimeoutError,
)
from torsion.failure import Failure

__all__ = [
    "DeferredList",
    "DeferredLock",
    "DeferredQueue",
    "DeferredSemaphore",
    "execute",
    "gatherResults",
    "logError",
    "maybeDeferred",
    "race",
    "timeout",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

SUCCESS = True
FAILURE = False

# DeferredList's result types under Twisted's names, which ported annotations
# use: ``(result, index)`` with fireOnOneCallback, else ``[(success, result)]``.
_DeferredListSingleResultT = tuple[_T, int]
_DeferredListResultItemT = tuple[bool, _T]
_DeferredListResultListT = list[_DeferredListResultItemT[_T]]


def timeout(deferred: Deferred[object]) -> None:
    """Fail ``deferred`` with TimeoutError; deprecated, as in Twisted (use ``addTimeout``)."""
    warnings.warn(
        "torsion.defer.timeout was deprecated in Twisted 17.1.0; "
        "please use torsion.defer.Deferred.addTimeout instead",
        DeprecationWarning,
        stacklevel=2,
    )
    deferred.errback(Failure(TimeoutError("Callback timed out")))


def maybeDeferred(f: Callable[_P, Any], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[Any]:
    """Call ``f`` and return its outcome as a Deferred, whatever it returned or raised.

    A Deferred is returned as it is, a Failure becomes a failed Deferred, a
    coroutine is run with ``Deferred.fromCoroutine``, anything else succeeds.
    """
    try:
        result = f(*args, **kwargs)
    except BaseException:
        return fail(Failure())
    if isinstance(result, Deferred):
        return result
    if isinstance(result, Failure):
        return fail(result)
    if type(result) is CoroutineType:
        return Deferred.fromCoroutine(result)
    return succeed(result)


def execute(callable: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[_T]:
    """Call ``callable`` now; a Deferred of its return value or of what it raised."""
    try:
        result = callable(*args, **kwargs)
    except BaseException:
        return fail()
    return succeed(result)


def logError(err: Failure) -> Failure:
    """Log ``err`` through the ``torsion.defer`` logger and return it (an errback helper)."""
    _log.log_failure("Unhandled Error", err, log=_logger)  # Twisted's text
    return err


class DeferredList(Deferred[Any]):
    """Fires with ``[(success, result), ...]`` once every Deferred given has fired.

    ``fireOnOneCallback``: fire with ``(result, index)`` at the first success.
    ``fireOnOneErrback``: fail with ``FirstError`` at the first failure.
    ``consumeErrors``: failures stop in the list instead of going on down
    each Deferred's chain (where they would be reported as unhandled).
    """

    __slots__ = (
        "_deferredList",
        "consumeErrors",
        "finishedCount",
        "fireOnOneCallback",
        "fireOnOneErrback",
        "resultList",
    )

    def __init__(
        self,
        deferredList: Iterable[Deferred[Any]],
        fireOnOneCallback: bool = False,
        fireOnOneErrback: bool = False,
        consumeErrors: bool = False,
    ) -> None:
        self._deferredList = list(deferredList)
        self.resultList: list[Any] = [None] * len(self._deferredList)
        super().__init__()
        if not self._deferredList and not fireOnOneCallback:
            self.callback([])
        self.fireOnOneCallback = fireOnOneCallback
        self.fireOnOneErrback = fireOnOneErrback
        self.consumeErrors = consumeErrors
        self.finishedCount = 0
        got = self._cbDeferred
        for index, d in enumerate(self._deferredList):
            d.addCallbacks(got, got, (index, SUCCESS), None, (index, FAILURE))

    def _cbDeferred(self, result: Any, index: int, succeeded: bool) -> Any:
        self.resultList[index] = (succeeded, result)
        self.finishedCount += 1
        if not self.called:
            if succeeded and self.fireOnOneCallback:
                self.callback((result, index))
            elif not succeeded and self.fireOnOneErrback:
                self.errback(Failure(FirstError(result, index)))
            elif self.finishedCount == len(self.resultList):
                self.callback(self.resultList)
        if not succeeded and self.consumeErrors:
            return None
        return result

    def cancel(self) -> None:
        """Cancel every Deferred in the list (the list then fires as they fail)."""
        if self.called:
            return
        for d in self._deferredList:
            try:
                d.cancel()
            except Exception:
                _log.log_failure("Exception raised from a canceller:", None, log=_logger)


def _results(resultList: list[tuple[bool, Any]]) -> list[Any]:
    return [result for _, result in resultList]


def gatherResults(
    deferredList: Iterable[Deferred[Any]], consumeErrors: bool = False
) -> Deferred[list[Any]]:
    """Fire with the list of results, or fail with ``FirstError`` at the first failure."""
    d = DeferredList(deferredList, fireOnOneErrback=True, consumeErrors=consumeErrors)
    return d.addCallback(_results)


def race(ds: Sequence[Deferred[_T]]) -> Deferred[tuple[int, _T]]:
    """Fire with ``(index, result)`` of the first success and cancel the others.

    If every one fails, fail with ``FailureGroup`` (failures in the order of
    ``ds``).  Cancelling the result cancels them all.
    """
    ds = list(ds)
    failures: list[Failure | None] = [None] * len(ds)
    failedCount = 0
    won = False

    def cancelAll(_: Deferred[Any]) -> None:
        for d in ds:
            d.cancel()

    final: Deferred[tuple[int, _T]] = Deferred(cancelAll)

    def succeeded(result: _T, index: int) -> None:
        nonlocal won
        if won:
            return
        won = True
        for other, d in enumerate(ds):
            if other != index:
                d.cancel()
        final.callback((index, result))

    def failed(failure: Failure, index: int) -> None:
        nonlocal failedCount
        if won:
            return
        failures[index] = failure
        failedCount += 1
        if failedCount == len(ds):
            final.errback(FailureGroup([f for f in failures if f is not None]))

    for index, d in enumerate(ds):
        d.addCallbacks(succeeded, failed, (index,), None, (index,))
    return final


class _ConcurrencyPrimitive:
    """What DeferredLock and DeferredSemaphore share: ``run`` and ``async with``."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: list[Deferred[Any]] = []

    def acquire(self) -> Deferred[Any]:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def _cancelAcquire(self, d: Deferred[Any]) -> None:
        self.waiting.remove(d)

    def _releaseAndReturn(self, result: _T) -> _T:
        self.release()
        return result

    def run(self, f: Callable[_P, Any], *args: _P.args, **kwargs: _P.kwargs) -> Deferred[Any]:
        """Acquire, call ``f`` (through maybeDeferred), release when its result arrives."""

        def go(_: Any) -> Deferred[Any]:
            return maybeDeferred(f, *args, **kwargs).addBoth(self._releaseAndReturn)

        return self.acquire().addCallback(go)

    def __aenter__(self) -> Deferred[Any]:
        return self.acquire()

    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> Deferred[bool]:
        self.release()
        return succeed(False)

    def _grant(self) -> None:
        self.waiting.pop(0).callback(self)


class DeferredLock(_ConcurrencyPrimitive):
    """A lock: ``acquire()`` fires (with the lock) once every earlier holder released it."""

    __slots__ = ("locked",)

    def __init__(self) -> None:
        super().__init__()
        self.locked = False

    def acquire(self) -> Deferred[DeferredLock]:
        d: Deferred[DeferredLock] = Deferred(self._cancelAcquire)
        if self.locked:
            self.waiting.append(d)
        else:
            self.locked = True
            d.callback(self)
        return d

    def release(self) -> None:
        if not self.locked:
            raise AssertionError("Tried to release an unlocked lock")
        if self.waiting:
            self._grant()
        else:
            self.locked = False


class DeferredSemaphore(_ConcurrencyPrimitive):
    """At most ``tokens`` holders at a time; others wait in order."""

    __slots__ = ("limit", "tokens")

    def __init__(self, tokens: int) -> None:
        if tokens < 1:
            raise ValueError(f"DeferredSemaphore needs at least one token, got {tokens!r}")
        super().__init__()
        self.tokens = tokens
        self.limit = tokens

    def acquire(self) -> Deferred[DeferredSemaphore]:
        d: Deferred[DeferredSemaphore] = Deferred(self._cancelAcquire)
        if self.tokens:
            self.tokens -= 1
            d.callback(self)
        else:
            self.waiting.append(d)
        return d

    def release(self) -> None:
        if self.tokens >= self.limit:
            raise AssertionError("DeferredSemaphore released more times than acquired")
        if self.waiting:
            self._grant()
        else:
            self.tokens += 1


class DeferredQueue(Generic[_T]):
    """A queue whose ``get()`` returns a Deferred.

    ``size`` bounds the items held (``put`` beyond it raises QueueOverflow);
    ``backlog`` bounds the waiting ``get`` calls (beyond it: QueueUnderflow).
    """

    __slots__ = ("backlog", "pending", "size", "waiting")

    def __init__(self, size: int | None = None, backlog: int | None = None) -> None:
        self.waiting: list[Deferred[_T]] = []
        self.pending: list[_T] = []
        self.size = size
        self.backlog = backlog

    def _cancelGet(self, d: Deferred[_T]) -> None:
        self.waiting.remove(d)

    def put(self, obj: _T) -> None:
        """Give ``obj`` to the oldest waiting ``get``, or keep it."""
        if self.waiting:
            self.waiting.pop(0).callback(obj)
        elif self.size is None or len(self.pending) < self.size:
            self.pending.append(obj)
        else:
            raise QueueOverflow(f"DeferredQueue is full ({self.size} items)")

    def get(self) -> Deferred[_T]:
        """A Deferred of the next item (cancel it to stop waiting)."""
        if self.pending:
            return succeed(self.pending.pop(0))
        if self.backlog is None or len(self.waiting) < self.backlog:
            d: Deferred[_T] = Deferred(self._cancelGet)
            self.waiting.append(d)
            return d
        raise QueueUnderflow(f"DeferredQueue already has {self.backlog} waiting get() calls")
