"""Running code in threads and calling into the reactor from them.

``deferToThread`` runs a blocking function in the reactor's thread pool and
gives its result back as a Deferred fired in the reactor thread;
``blockingCallFromThread`` does the reverse: a worker thread waits for a call
(which may return a Deferred) to finish in the reactor thread.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from torsion import defer
from torsion._global import globalReactor
from torsion.failure import Failure

if TYPE_CHECKING:
    from torsion._core.base import ReactorCore  # blockingCallFromThread asks its I/O thread
    from torsion.interfaces import IReactorThreads
    from torsion.threadpool import ThreadPool

__all__ = [
    "blockingCallFromThread",
    "callMultipleInThread",
    "deferToThread",
    "deferToThreadPool",
]

_T = TypeVar("_T")


def deferToThreadPool(
    reactor: IReactorThreads,
    threadpool: ThreadPool,
    f: Callable[..., _T],
    *args: Any,
    **kwargs: Any,
) -> defer.Deferred[_T]:
    """Run ``f`` in ``threadpool``; the Deferred fires in the reactor thread."""
    d: defer.Deferred[_T] = defer.Deferred()

    def onResult(success: bool, result: Any) -> None:
        if success:
            reactor.callFromThread(d.callback, result)
        else:
            reactor.callFromThread(d.errback, result)

    threadpool.callInThreadWithCallback(onResult, f, *args, **kwargs)
    return d


def deferToThread(f: Callable[..., _T], *args: Any, **kwargs: Any) -> defer.Deferred[_T]:
    """Run ``f`` in the global reactor's thread pool; return a Deferred of its result."""
    reactor = globalReactor()
    return deferToThreadPool(reactor, reactor.getThreadPool(), f, *args, **kwargs)


def _runMultiple(
    tupleList: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]],
) -> None:
    for f, args, kwargs in tupleList:
        f(*args, **kwargs)


def callMultipleInThread(
    tupleList: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]],
) -> None:
    """Run each ``(f, args, kwargs)`` in order, in one thread of the global pool."""
    globalReactor().callInThread(_runMultiple, tupleList)


def blockingCallFromThread(reactor: ReactorCore, f: Callable[..., Any], *a: Any, **kw: Any) -> Any:
    """From a non-reactor thread: run ``f`` in the reactor thread and wait for its result.

    If ``f`` returns a Deferred, wait for it to fire.  Exceptions are re-raised
    in the calling thread.  Calling this from the reactor thread would deadlock,
    so it raises RuntimeError instead.
    """
    from torsion._core.base import currentThreadIsIO

    if currentThreadIsIO(reactor):
        raise RuntimeError("blockingCallFromThread called from the reactor thread: it would hang")
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def inReactor() -> None:
        d = defer.maybeDeferred(f, *a, **kw)
        d.addBoth(results.put)

    reactor.callFromThread(inReactor)
    result = results.get()
    if isinstance(result, Failure):
        result.raiseException()
    return result
